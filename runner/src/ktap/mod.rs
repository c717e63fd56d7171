//! KTAP v1 as lazymmu's kernel prints it (KUnit's shape; docs/design.md, "The
//! harness"): the result tree, the problems that make a log
//! malformed, and the crash report. The parser lives in [`parser`].
//!
//! Everything here is linear in the log: no result is visited more than a
//! fixed number of times, nothing recurses with the nesting depth (a node's
//! counts are kept on it, trees are walked and dropped with explicit
//! stacks), so a hostile log nested thousands deep parses as fast as it reads.

mod counts;
mod line;
mod parser;
mod path;
#[cfg(test)]
mod tests;

use std::fmt;
use std::time::Duration;

pub use counts::{Counts, PrintedCounts};
pub use parser::{parse, Parser};

/// The outcome of one `ok` / `not ok` line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Pass,
    Fail,
    Skip,
    /// `not ok N name # TIMEOUT ...`: the kernel's watchdog ended the test.
    Timeout,
    /// The log stopped while this test ran (a `# CRASH:`, or QEMU killed):
    /// only the tests of [`Report::unfinished`] have it. kunit.py's "crashed".
    Crashed,
}

impl Status {
    /// A `not ok` result (the kernel's own verdict; a crash is not one).
    pub fn is_failure(self) -> bool {
        matches!(self, Status::Fail | Status::Timeout)
    }
}

/// One result line and, for a subtest, the results nested inside it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestNode {
    pub number: usize,
    pub name: String,
    pub status: Status,
    /// The text after ` # ` on the result line, without a SKIP/TIMEOUT keyword.
    pub reason: Option<String>,
    /// `#` lines printed just before this result (without the `# `).
    pub diagnostics: Vec<String>,
    /// The results nested in this one. Add to it with
    /// [`TestNode::extend_children`], which keeps the counts right.
    pub children: Vec<TestNode>,
    /// 1-based line number of the result line in the log (for a crashed
    /// test, the line where the log stopped).
    pub line: usize,
    /// Host time from the end of the previous test in the same group (or
    /// the group's start) to this result line reaching the runner; `None`
    /// for a log that was not timed as it streamed (see [`Parser::feed_at`]).
    pub time: Option<Duration>,
    /// Leaf counts of this subtree, summed once when the node is made.
    counts: Counts,
}

impl TestNode {
    /// A result made outside the parser (no diagnostics, line or time),
    /// counted from `children`.
    pub fn new(number: usize, name: impl Into<String>, status: Status, children: Vec<TestNode>) -> TestNode {
        let mut node = TestNode {
            number,
            name: name.into(),
            status,
            reason: None,
            diagnostics: Vec::new(),
            children,
            line: 0,
            time: None,
            counts: Counts::default(),
        };
        node.count(0);
        node
    }

    /// Appends `more` to the children and adds their counts.
    pub fn extend_children(&mut self, more: impl IntoIterator<Item = TestNode>) {
        for child in more {
            if self.children.is_empty() {
                // A leaf becoming a group stops counting as one test.
                self.counts = Counts { errors: self.counts.errors, ..Counts::default() };
            }
            self.counts = self.counts + child.counts;
            self.children.push(child);
        }
    }

    /// Leaf counts below (and including, for a leaf) this node: a case
    /// without variants counts once, each variant counts once.
    pub fn leaf_counts(&self) -> Counts {
        self.counts
    }

    /// Calls `visit` for each leaf, in log order, with the names from this
    /// node down to it. Walks with its own stack: depth costs no recursion.
    pub fn for_each_leaf<'a>(&'a self, visit: &mut dyn FnMut(&[&'a str], &'a TestNode)) {
        let mut path: Vec<&'a str> = Vec::new();
        let mut pending: Vec<(usize, &'a TestNode)> = vec![(0, self)];
        while let Some((depth, node)) = pending.pop() {
            path.truncate(depth);
            path.push(&node.name);
            if node.children.is_empty() {
                visit(&path, node);
            } else {
                pending.extend(node.children.iter().rev().map(|child| (depth + 1, child)));
            }
        }
    }

    /// Sets the node's counts from its children (or its own status, for a
    /// leaf) plus the `errors` found while its own lines were read.
    fn count(&mut self, errors: usize) {
        let own = if self.children.is_empty() { Counts::of(self.status) } else { Counts::default() };
        self.counts = self.children.iter().map(TestNode::leaf_counts).fold(own, |a, b| a + b);
        self.counts.errors += errors;
    }

    /// True if this node or any node below it is `not ok`.
    pub fn has_failure(&self) -> bool {
        let mut pending = vec![self];
        while let Some(node) = pending.pop() {
            if node.status.is_failure() {
                return true;
            }
            pending.extend(&node.children);
        }
        false
    }
}

/// Dropping a deep tree node by node would recurse once per level.
impl Drop for TestNode {
    fn drop(&mut self) {
        let mut pending = std::mem::take(&mut self.children);
        while let Some(mut node) = pending.pop() {
            pending.append(&mut node.children);
        }
    }
}

/// Why a log is not well-formed KTAP (runner exit 2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProblemKind {
    NoHeader,
    MissingPlan {
        group: String,
    },
    DuplicatePlan {
        group: String,
    },
    PlanAfterResults {
        group: String,
    },
    PlanMismatch {
        group: String,
        planned: usize,
        seen: usize,
    },
    DuplicateNumber {
        group: String,
        number: usize,
    },
    OutOfOrder {
        group: String,
        expected: usize,
        seen: usize,
    },
    NameMismatch {
        subtest: String,
        result: String,
    },
    /// A parent's ok/not ok disagrees with its children.
    ParentDisagrees {
        name: String,
        parent_ok: bool,
    },
    CountsMismatch {
        name: String,
        printed: PrintedCounts,
        counted: Counts,
    },
    BadIndent {
        text: String,
    },
    BadNesting {
        text: String,
    },
    UnclosedSubtest {
        name: String,
    },
    Truncated {
        detail: String,
    },
    Garbage {
        text: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// 1-based log line, 0 for problems found at the end of the log.
    pub line: usize,
    pub kind: ProblemKind,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "line {}: ", self.line)?;
        } else {
            write!(f, "end of log: ")?;
        }
        match &self.kind {
            ProblemKind::NoHeader => write!(f, "no `KTAP version 1` header"),
            ProblemKind::MissingPlan { group } => write!(f, "{group} has no plan line"),
            ProblemKind::DuplicatePlan { group } => write!(f, "{group} has a second plan line"),
            ProblemKind::PlanAfterResults { group } => write!(f, "{group}'s plan comes after its results"),
            ProblemKind::PlanMismatch { group, planned, seen } => {
                write!(f, "{group} planned 1..{planned} but has {seen} results")
            }
            ProblemKind::DuplicateNumber { group, number } => write!(f, "{group} has test number {number} twice"),
            ProblemKind::OutOfOrder { group, expected, seen } => {
                write!(f, "{group} expected test number {expected}, saw {seen}")
            }
            ProblemKind::NameMismatch { subtest, result } => {
                write!(f, "subtest `{subtest}` ends with a result named `{result}`")
            }
            ProblemKind::ParentDisagrees { name, parent_ok: true } => {
                write!(f, "`{name}` is ok but one of its tests failed")
            }
            ProblemKind::ParentDisagrees { name, parent_ok: false } => {
                write!(f, "`{name}` is not ok but none of its tests failed")
            }
            ProblemKind::CountsMismatch { name, printed, counted } => write!(
                f,
                "`# {name}:` counts pass:{} fail:{} skip:{} total:{} but the results give pass:{} fail:{} skip:{} total:{}",
                printed.pass,
                printed.fail,
                printed.skip,
                printed.total,
                counted.pass,
                counted.fail,
                counted.skip,
                counted.total()
            ),
            ProblemKind::BadIndent { text } => write!(f, "indentation is not a multiple of 4: `{text}`"),
            ProblemKind::BadNesting { text } => write!(f, "line at an unexpected nesting level: `{text}`"),
            ProblemKind::UnclosedSubtest { name } => write!(f, "subtest `{name}` has no result line"),
            ProblemKind::Truncated { detail } => write!(f, "log is truncated: {detail}"),
            ProblemKind::Garbage { text } => write!(f, "not KTAP: `{text}`"),
        }
    }
}

/// Where in the tree the kernel was at some line: the subtests still open
/// and the number the next result in the innermost one would carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Position {
    /// Names of the open subtests, outermost first (suite, case with variants).
    pub open_subtests: Vec<String>,
    pub running_number: usize,
    /// The result printed last, as a dotted path.
    pub last_result: Option<String>,
}

impl Position {
    /// "suite.case test #3, after suite.case.prev"
    pub fn describe(&self) -> String {
        let mut text = if self.running_number == 0 {
            "boot, before the KTAP header".to_string()
        } else if self.open_subtests.is_empty() {
            format!("top-level test #{}", self.running_number)
        } else {
            format!("{} test #{}", self.open_subtests.join("."), self.running_number)
        };
        if let Some(last) = &self.last_result {
            text.push_str(&format!(", after {last}"));
        }
        text
    }
}

/// A `# CRASH:` line and where the kernel was when it crashed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Crash {
    pub reason: String,
    pub line: usize,
    pub position: Position,
}

/// Everything the parser learned from one log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub header_seen: bool,
    pub plan: Option<usize>,
    /// Level-1 results (the suites).
    pub suites: Vec<TestNode>,
    pub problems: Vec<Problem>,
    pub crash: Option<Crash>,
    /// `# case: <suite>.<case> [variants: ...]` lines of list mode.
    pub listed_cases: Vec<String>,
    /// `#` lines at the top level that are not results (the kernel's log,
    /// its command-line errors), in order.
    pub top_level_diagnostics: Vec<String>,
    /// Where the log stopped if it ended inside a subtest.
    pub cut_at: Option<Position>,
    /// The suite the log stopped in, with the results it finished and its
    /// open subtests down to the test that was running, all [`Status::Crashed`]
    /// (the running test named as the kernel's `# CRASH: ... (in NAME)` names
    /// it, else `#N`). Not in `suites` or [`Report::counts`]: no result line
    /// said how it ended.
    pub unfinished: Option<TestNode>,
}

impl Report {
    /// Leaf counts of the finished suites.
    pub fn counts(&self) -> Counts {
        self.suites.iter().map(TestNode::leaf_counts).sum()
    }

    /// True if any result line in the tree is `not ok`.
    pub fn has_failure(&self) -> bool {
        self.suites.iter().any(TestNode::has_failure)
    }

    /// The finished suites, then the unfinished one: every test a report lists.
    pub fn all_suites(&self) -> impl Iterator<Item = &TestNode> {
        self.suites.iter().chain(&self.unfinished)
    }

    pub fn has_timeout(&self) -> bool {
        self.counts().timeout > 0
    }
}
