//! Line-by-line KTAP parser. It is fed while QEMU runs, so a `# CRASH:` is
//! known at once, and finished at the end of the log, where truncation shows.
//! It never stops at the first problem: every problem is recorded, and the
//! results around it are kept for the summary. Each line costs time in its
//! own length, never in the nesting depth or the number of results so far.

use std::mem;
use std::time::{Duration, Instant};

use super::line::{parse_counts, parse_result, shorten, status_of, ResultLine};
use super::path::{self, Path};
use super::{Counts, Crash, Position, PrintedCounts, Problem, ProblemKind, Report, TestNode};

mod group;
mod unfinished;

use group::OpenGroup;
#[cfg(test)]
pub(super) use unfinished::running_name;

/// KUnit indents each nesting level by four spaces.
const INDENT: usize = 4;
const VERSION_LINE: &str = "KTAP version 1";

/// Incremental parser: [`Parser::feed`] each line, then [`Parser::finish`].
pub struct Parser {
    line_no: usize,
    stack: Vec<OpenGroup>,
    report: Report,
    /// The last `# <name>: pass:..` line, checked when `<name>`'s result comes.
    last_counts: Option<(String, PrintedCounts, usize)>,
    totals: Option<(PrintedCounts, usize)>,
    /// The result printed last.
    last_result: Path,
    /// Set by [`Parser::timed`]: each fed line is stamped with its age.
    clock: Option<Instant>,
    /// When the line being parsed arrived.
    now: Option<Duration>,
}

impl Default for Parser {
    fn default() -> Self {
        Parser::new()
    }
}

/// Parses a whole log at once (untimed: a saved log has no arrival times).
pub fn parse(text: &str) -> Report {
    let mut parser = Parser::new();
    for line in text.lines() {
        parser.feed(line);
    }
    parser.finish()
}

impl Parser {
    pub fn new() -> Parser {
        Parser {
            line_no: 0,
            stack: Vec::new(),
            report: Report::default(),
            last_counts: None,
            totals: None,
            last_result: None,
            clock: None,
            now: None,
        }
    }

    /// A parser fed as lines stream in: each test's [`TestNode::time`] is
    /// the host time between its start and its result line reaching us.
    pub fn timed() -> Parser {
        Parser { clock: Some(Instant::now()), ..Parser::new() }
    }

    /// What has been parsed so far (results of suites still open are not in it).
    pub fn report(&self) -> &Report {
        &self.report
    }

    /// Parses one line, stamped with the clock of [`Parser::timed`] if any.
    pub fn feed(&mut self, line: &str) {
        let at = self.clock.map(|clock| clock.elapsed());
        self.feed_line(line, at);
    }

    /// Parses one line that arrived `at` after the start of the run.
    pub fn feed_at(&mut self, line: &str, at: Duration) {
        self.feed_line(line, Some(at));
    }

    fn feed_line(&mut self, line: &str, at: Option<Duration>) {
        self.line_no += 1;
        self.now = at;
        let line = line.trim_end();
        if line.is_empty() {
            return;
        }
        let spaces = leading_spaces(line);
        let body = &line[spaces..];
        if let Some(comment) = body.strip_prefix('#') {
            self.comment(spaces, comment.trim());
            return;
        }
        if self.stack.is_empty() {
            // Firmware or boot noise before the header is not KTAP's business.
            if spaces == 0 && body == VERSION_LINE && !self.report.header_seen {
                self.report.header_seen = true;
                self.stack.push(OpenGroup::new(0, None, None, true, self.now));
            }
            return;
        }
        if !spaces.is_multiple_of(INDENT) {
            self.problem(ProblemKind::BadIndent { text: shorten(line) });
            return;
        }
        let level = spaces / INDENT;
        if body == VERSION_LINE {
            self.version(level, line);
        } else if let Some(planned) = body.strip_prefix("1..").and_then(|n| n.parse().ok()) {
            self.plan(level, planned, line);
        } else if let Some(result) = parse_result(body) {
            self.result(level, result, line);
        } else {
            self.problem(ProblemKind::Garbage { text: shorten(line) });
        }
    }

    pub fn finish(mut self) -> Report {
        if !self.report.header_seen {
            self.problem_at_end(ProblemKind::NoHeader);
            return self.report;
        }
        let truncated = self.stack.len() > 1;
        if truncated {
            self.report.cut_at = Some(self.position());
            let open: Vec<String> = self.stack[1..].iter().rev().map(OpenGroup::label).collect();
            self.problem_at_end(ProblemKind::Truncated { detail: format!("no result for {}", open.join(" in ")) });
            self.report.unfinished = Some(self.close_unfinished());
        }
        let root = self.stack.swap_remove(0);
        let seen = root.children.len();
        match root.plan {
            None => self.problem_at_end(ProblemKind::MissingPlan { group: root.label() }),
            Some(planned) if seen < planned && !truncated => self.problem_at_end(ProblemKind::Truncated {
                detail: format!("the top level planned 1..{planned} but has {seen} results"),
            }),
            Some(planned) if seen > planned => {
                self.problem_at_end(ProblemKind::PlanMismatch { group: root.label(), planned, seen })
            }
            Some(_) => {}
        }
        self.report.suites = root.children;
        if let Some((printed, line)) = self.totals {
            let counted = self.report.counts();
            if !printed.matches(&counted) {
                self.problem_on(line, ProblemKind::CountsMismatch { name: "Totals".to_string(), printed, counted });
            }
        }
        self.report
    }

    fn comment(&mut self, spaces: usize, text: &str) {
        if let Some(name) = text.strip_prefix("Subtest:") {
            self.subtest(spaces, name.trim());
        } else if let Some(reason) = text.strip_prefix("CRASH:") {
            self.crash(reason.trim());
        } else if let Some(case) = text.strip_prefix("case:") {
            self.report.listed_cases.push(case.trim().to_string());
        } else if let Some((name, printed)) = parse_counts(text) {
            if name == "Totals" {
                self.totals = Some((printed, self.line_no));
            } else {
                self.last_counts = Some((name.to_string(), printed, self.line_no));
            }
        } else {
            if self.stack.len() <= 1 {
                self.report.top_level_diagnostics.push(text.to_string());
            }
            if let Some(top) = self.stack.last_mut() {
                top.pending.push(text.to_string());
            }
        }
    }

    fn subtest(&mut self, spaces: usize, name: &str) {
        let depth = self.stack.len();
        let parent_path = match depth {
            2.. => self.stack[depth - 2].path.clone(),
            _ => None,
        };
        let now = self.now;
        let Some(top) = self.stack.last_mut() else { return };
        let level = spaces / INDENT;
        if spaces.is_multiple_of(INDENT) && level == top.level + 1 {
            // Lines between tests are about the run, not about the next result.
            top.pending.clear();
            let path = path::child(&top.path, name);
            self.stack.push(OpenGroup::new(level, Some(name.to_string()), path, false, now));
        } else if spaces.is_multiple_of(INDENT)
            && level == top.level
            && depth > 1
            && top.name.is_none()
            && top.plan.is_none()
            && top.children.is_empty()
        {
            top.name = Some(name.to_string());
            top.path = path::child(&parent_path, name);
        } else {
            let text = shorten(&format!("{}# Subtest: {name}", " ".repeat(spaces)));
            self.problem(ProblemKind::BadNesting { text });
        }
    }

    fn version(&mut self, level: usize, line: &str) {
        let now = self.now;
        let top = self.stack.last_mut().expect("called with the top level open");
        if level == top.level + 1 {
            top.pending.clear();
            let path = top.path.clone();
            self.stack.push(OpenGroup::new(level, None, path, true, now));
        } else if level == top.level && !top.saw_version && top.plan.is_none() && top.children.is_empty() {
            // `# Subtest:` came first, as older KUnit prints it.
            top.saw_version = true;
        } else {
            self.problem(ProblemKind::BadNesting { text: shorten(line) });
        }
    }

    fn plan(&mut self, level: usize, planned: usize, line: &str) {
        let depth = self.stack.len();
        let top = self.stack.last_mut().expect("called with the top level open");
        if level != top.level {
            self.problem(ProblemKind::BadNesting { text: shorten(line) });
            return;
        }
        let label = top.label();
        let had_plan = top.plan.replace(planned).is_some();
        let after_results = !top.children.is_empty();
        if depth == 1 {
            self.report.plan = Some(planned);
        }
        if had_plan {
            self.problem(ProblemKind::DuplicatePlan { group: label });
        } else if after_results {
            self.problem(ProblemKind::PlanAfterResults { group: label });
        }
    }

    fn result(&mut self, level: usize, result: ResultLine, line: &str) {
        let mut top_level = self.stack.last().expect("called with the top level open").level;
        if level == top_level {
            let group = self.stack.last_mut().expect("checked above");
            let diagnostics = mem::take(&mut group.pending);
            self.push_result(result, diagnostics, Vec::new(), 0);
            return;
        }
        if level > top_level {
            self.problem(ProblemKind::BadNesting { text: shorten(line) });
            return;
        }
        // Subtests deeper than this result's own never got their result line.
        while self.stack.len() > 1 && top_level > level + 1 {
            let lost = self.stack.pop().expect("checked above");
            self.problem(ProblemKind::UnclosedSubtest { name: lost.name.unwrap_or_default() });
            top_level = self.stack.last().expect("root stays").level;
        }
        if self.stack.len() == 1 || top_level != level + 1 {
            self.problem(ProblemKind::BadNesting { text: shorten(line) });
            return;
        }
        self.close(result);
    }

    /// A result one level up ends the innermost subtest.
    fn close(&mut self, result: ResultLine) {
        let group = self.stack.pop().expect("caller checked the depth");
        let label = group.label();
        match group.plan {
            None => self.problem(ProblemKind::MissingPlan { group: label }),
            Some(planned) if planned != group.children.len() => {
                self.problem(ProblemKind::PlanMismatch { group: label, planned, seen: group.children.len() })
            }
            Some(_) => {}
        }
        if let Some(name) = &group.name {
            if *name != result.name {
                self.problem(ProblemKind::NameMismatch { subtest: name.clone(), result: result.name.clone() });
            }
        }
        let children_failed = group.children.iter().any(|c| c.status.is_failure());
        if result.is_ok == children_failed {
            self.problem(ProblemKind::ParentDisagrees { name: result.name.clone(), parent_ok: result.is_ok });
        }
        let mut diagnostics = group.pending;
        let parent = self.stack.last_mut().expect("root stays");
        diagnostics.append(&mut parent.pending);
        let counted: Counts = group.children.iter().map(TestNode::leaf_counts).sum();
        if let Some((counts_name, printed, line)) = self.last_counts.take() {
            if counts_name == result.name && !printed.matches(&counted) {
                self.problem_on(line, ProblemKind::CountsMismatch { name: counts_name, printed, counted });
            }
        }
        self.push_result(result, diagnostics, group.children, group.errors);
    }

    fn push_result(&mut self, result: ResultLine, diagnostics: Vec<String>, children: Vec<TestNode>, errors: usize) {
        let (line, now) = (self.line_no, self.now);
        let group = self.stack.last_mut().expect("root stays");
        let expected = group.last_number + 1;
        let problem = if result.number == expected {
            None
        } else if group.numbers.contains(&result.number) {
            Some(ProblemKind::DuplicateNumber { group: group.label(), number: result.number })
        } else {
            Some(ProblemKind::OutOfOrder { group: group.label(), expected, seen: result.number })
        };
        group.numbers.insert(result.number);
        group.last_number = result.number;
        let time = elapsed(group.mark, now);
        group.mark = now;
        let (status, reason) = status_of(result.is_ok, result.directive);
        let mut node = TestNode {
            number: result.number,
            name: result.name,
            status,
            reason,
            diagnostics,
            children,
            line,
            time,
            counts: Counts::default(),
        };
        node.count(errors);
        self.last_result = path::child(&group.path, &node.name);
        group.children.push(node);
        if let Some(kind) = problem {
            self.problem(kind);
        }
    }

    fn crash(&mut self, reason: &str) {
        if self.report.crash.is_some() {
            // A crash while crashing: the first reason is the one that matters.
            return;
        }
        self.report.crash = Some(Crash { reason: reason.to_string(), line: self.line_no, position: self.position() });
    }

    fn position(&self) -> Position {
        Position {
            open_subtests: self
                .stack
                .iter()
                .skip(1)
                .map(|g| g.name.clone().unwrap_or_else(|| "?".to_string()))
                .collect(),
            running_number: self.stack.last().map_or(0, |g| g.last_number + 1),
            last_result: self.last_result.as_ref().map(|_| path::dotted(&self.last_result)),
        }
    }

    fn problem(&mut self, kind: ProblemKind) {
        self.problem_on(self.line_no, kind);
    }

    fn problem_on(&mut self, line: usize, kind: ProblemKind) {
        self.report.problems.push(Problem { line, kind });
        if let Some(group) = self.stack.last_mut() {
            group.errors += 1;
        }
    }

    fn problem_at_end(&mut self, kind: ProblemKind) {
        self.problem_on(0, kind);
    }
}

/// The indentation of `line`, a block at a time: a deep log is mostly spaces.
fn leading_spaces(line: &str) -> usize {
    const BLOCK: [u8; 64] = [b' '; 64];
    let bytes = line.as_bytes();
    let blocks = bytes.chunks_exact(BLOCK.len()).take_while(|chunk| *chunk == BLOCK).count() * BLOCK.len();
    blocks + bytes[blocks..].iter().take_while(|&&byte| byte == b' ').count()
}

fn elapsed(since: Option<Duration>, now: Option<Duration>) -> Option<Duration> {
    Some(now?.saturating_sub(since?))
}
