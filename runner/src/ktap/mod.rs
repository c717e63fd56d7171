//! KTAP v1 as lazymmu's kernel prints it (KUnit's shape; docs/design.md, "The
//! harness"): the result tree, the problems that make a log
//! malformed, and the crash report. The parser lives in [`parser`].

mod parser;
#[cfg(test)]
mod tests;

use std::fmt;

pub use parser::{parse, Parser};

/// The outcome of one `ok` / `not ok` line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Pass,
    Fail,
    Skip,
    /// `not ok N name # TIMEOUT ...`: the kernel's watchdog ended the test.
    Timeout,
}

impl Status {
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
    pub children: Vec<TestNode>,
    /// 1-based line number of the result line in the log.
    pub line: usize,
}

impl TestNode {
    /// Leaf counts below (and including, for a leaf) this node: a case
    /// without variants counts once, each variant counts once.
    pub fn leaf_counts(&self) -> Counts {
        if self.children.is_empty() {
            return Counts::of(self.status);
        }
        self.children.iter().map(TestNode::leaf_counts).sum()
    }

    /// Calls `visit` for each leaf with the names from this node down to it.
    pub fn for_each_leaf<'a>(&'a self, path: &mut Vec<&'a str>, visit: &mut dyn FnMut(&[&'a str], &'a TestNode)) {
        path.push(&self.name);
        if self.children.is_empty() {
            visit(path, self);
        } else {
            for child in &self.children {
                child.for_each_leaf(path, visit);
            }
        }
        path.pop();
    }
}

/// Leaf result counts. `fail` includes `timeout`, as the kernel's
/// `# name: pass:.. fail:..` lines count a TIMEOUT as a `not ok`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub pass: usize,
    pub fail: usize,
    pub skip: usize,
    pub timeout: usize,
}

impl Counts {
    pub fn of(status: Status) -> Counts {
        let mut counts = Counts::default();
        match status {
            Status::Pass => counts.pass = 1,
            Status::Fail => counts.fail = 1,
            Status::Skip => counts.skip = 1,
            Status::Timeout => {
                counts.fail = 1;
                counts.timeout = 1;
            }
        }
        counts
    }

    pub fn total(&self) -> usize {
        self.pass + self.fail + self.skip
    }
}

impl std::ops::Add for Counts {
    type Output = Counts;
    fn add(self, other: Counts) -> Counts {
        Counts {
            pass: self.pass + other.pass,
            fail: self.fail + other.fail,
            skip: self.skip + other.skip,
            timeout: self.timeout + other.timeout,
        }
    }
}

impl std::iter::Sum for Counts {
    fn sum<I: Iterator<Item = Counts>>(iter: I) -> Counts {
        iter.fold(Counts::default(), |a, b| a + b)
    }
}

/// The counts a `# <name>: pass:P fail:F skip:S total:T` line printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrintedCounts {
    pub pass: usize,
    pub fail: usize,
    pub skip: usize,
    pub total: usize,
}

impl PrintedCounts {
    fn matches(&self, counts: &Counts) -> bool {
        self.pass == counts.pass && self.fail == counts.fail && self.skip == counts.skip && self.total == counts.total()
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
}

impl Report {
    pub fn counts(&self) -> Counts {
        self.suites.iter().map(TestNode::leaf_counts).sum()
    }

    /// True if any result line in the tree is `not ok`.
    pub fn has_failure(&self) -> bool {
        fn any_failed(node: &TestNode) -> bool {
            node.status.is_failure() || node.children.iter().any(any_failed)
        }
        self.suites.iter().any(any_failed)
    }

    pub fn has_timeout(&self) -> bool {
        self.counts().timeout > 0
    }
}
