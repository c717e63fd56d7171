//! Line-by-line KTAP parser. It is fed while QEMU runs, so a `# CRASH:` is
//! known at once, and finished at the end of the log, where truncation shows.
//! It never stops at the first problem: every problem is recorded, and the
//! results around it are kept for the summary.

use std::mem;

use super::{Counts, Crash, Position, PrintedCounts, Problem, ProblemKind, Report, Status, TestNode};

/// KUnit indents each nesting level by four spaces.
const INDENT: usize = 4;
const VERSION_LINE: &str = "KTAP version 1";

/// A test list whose result line has not been seen yet.
struct OpenGroup {
    level: usize,
    name: Option<String>,
    saw_version: bool,
    plan: Option<usize>,
    children: Vec<TestNode>,
    /// Diagnostics since the last result; they belong to the next result.
    pending: Vec<String>,
    last_number: usize,
}

impl OpenGroup {
    fn new(level: usize, name: Option<String>, saw_version: bool) -> OpenGroup {
        OpenGroup { level, name, saw_version, plan: None, children: Vec::new(), pending: Vec::new(), last_number: 0 }
    }

    fn label(&self) -> String {
        match (&self.name, self.level) {
            (Some(name), _) => format!("subtest `{name}`"),
            (None, 0) => "the top level".to_string(),
            (None, level) => format!("the unnamed subtest at level {level}"),
        }
    }
}

struct ResultLine {
    is_ok: bool,
    number: usize,
    name: String,
    directive: Option<String>,
}

/// Incremental parser: [`Parser::feed`] each line, then [`Parser::finish`].
pub struct Parser {
    line_no: usize,
    stack: Vec<OpenGroup>,
    report: Report,
    /// The last `# <name>: pass:..` line, checked when `<name>`'s result comes.
    last_counts: Option<(String, PrintedCounts, usize)>,
    totals: Option<(PrintedCounts, usize)>,
    last_result: Option<String>,
}

impl Default for Parser {
    fn default() -> Self {
        Parser::new()
    }
}

/// Parses a whole log at once.
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
        }
    }

    /// What has been parsed so far (results of suites still open are not in it).
    pub fn report(&self) -> &Report {
        &self.report
    }

    pub fn feed(&mut self, line: &str) {
        self.line_no += 1;
        let line = line.trim_end();
        if line.is_empty() {
            return;
        }
        let spaces = line.len() - line.trim_start_matches(' ').len();
        let body = &line[spaces..];
        if let Some(comment) = body.strip_prefix('#') {
            self.comment(spaces, comment.trim());
            return;
        }
        if self.stack.is_empty() {
            // Firmware or boot noise before the header is not KTAP's business.
            if spaces == 0 && body == VERSION_LINE && !self.report.header_seen {
                self.report.header_seen = true;
                self.stack.push(OpenGroup::new(0, None, true));
            }
            return;
        }
        if !spaces.is_multiple_of(INDENT) {
            self.problem(ProblemKind::BadIndent { text: line.to_string() });
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
        let mut truncated = false;
        if self.stack.len() > 1 {
            truncated = true;
            self.report.cut_at = Some(self.position());
            let open: Vec<String> = self.stack[1..].iter().rev().map(OpenGroup::label).collect();
            self.problem_at_end(ProblemKind::Truncated { detail: format!("no result for {}", open.join(" in ")) });
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
        let Some(top) = self.stack.last_mut() else { return };
        let level = spaces / INDENT;
        if spaces.is_multiple_of(INDENT) && level == top.level + 1 {
            // Lines between tests are about the run, not about the next result.
            top.pending.clear();
            self.stack.push(OpenGroup::new(level, Some(name.to_string()), false));
        } else if spaces.is_multiple_of(INDENT)
            && level == top.level
            && depth > 1
            && top.name.is_none()
            && top.plan.is_none()
            && top.children.is_empty()
        {
            top.name = Some(name.to_string());
        } else {
            self.problem(ProblemKind::BadNesting { text: format!("{}# Subtest: {name}", " ".repeat(spaces)) });
        }
    }

    fn version(&mut self, level: usize, line: &str) {
        let top = self.stack.last_mut().expect("called with the top level open");
        if level == top.level + 1 {
            top.pending.clear();
            self.stack.push(OpenGroup::new(level, None, true));
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
            self.push_result(result, diagnostics, Vec::new());
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
        let name = result.name.clone();
        let counted: Counts = group.children.iter().map(TestNode::leaf_counts).sum();
        if let Some((counts_name, printed, line)) = self.last_counts.take() {
            if counts_name == name && !printed.matches(&counted) {
                self.problem_on(line, ProblemKind::CountsMismatch { name, printed, counted });
            }
        }
        self.push_result(result, diagnostics, group.children);
    }

    fn push_result(&mut self, result: ResultLine, diagnostics: Vec<String>, children: Vec<TestNode>) {
        let line = self.line_no;
        let group = self.stack.last_mut().expect("root stays");
        let expected = group.last_number + 1;
        let problem = if result.number == expected {
            None
        } else if group.children.iter().any(|c| c.number == result.number) {
            Some(ProblemKind::DuplicateNumber { group: group.label(), number: result.number })
        } else {
            Some(ProblemKind::OutOfOrder { group: group.label(), expected, seen: result.number })
        };
        group.last_number = result.number;
        let (status, reason) = status_of(result.is_ok, result.directive);
        group.children.push(TestNode {
            number: result.number,
            name: result.name,
            status,
            reason,
            diagnostics,
            children,
            line,
        });
        let mut path: Vec<&str> = self.stack[1..].iter().filter_map(|g| g.name.as_deref()).collect();
        let innermost = self.stack.last().and_then(|g| g.children.last()).map(|c| c.name.as_str());
        path.extend(innermost);
        self.last_result = Some(path.join("."));
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
            last_result: self.last_result.clone(),
        }
    }

    fn problem(&mut self, kind: ProblemKind) {
        self.problem_on(self.line_no, kind);
    }

    fn problem_on(&mut self, line: usize, kind: ProblemKind) {
        self.report.problems.push(Problem { line, kind });
    }

    fn problem_at_end(&mut self, kind: ProblemKind) {
        self.problem_on(0, kind);
    }
}

fn parse_result(body: &str) -> Option<ResultLine> {
    let (is_ok, rest) =
        if let Some(rest) = body.strip_prefix("not ok ") { (false, rest) } else { (true, body.strip_prefix("ok ")?) };
    let (number, rest) = rest.split_once(' ').unwrap_or((rest, ""));
    let number = number.parse().ok()?;
    let rest = rest.strip_prefix("- ").unwrap_or(rest);
    let (name, directive) = match rest.split_once(" # ") {
        Some((name, directive)) => (name, Some(directive.trim().to_string())),
        None => (rest, None),
    };
    Some(ResultLine { is_ok, number, name: name.trim().to_string(), directive })
}

/// SKIP wins over ok/not ok (as in KUnit); TIMEOUT only on a `not ok`.
fn status_of(is_ok: bool, directive: Option<String>) -> (Status, Option<String>) {
    let plain = if is_ok { Status::Pass } else { Status::Fail };
    let Some(directive) = directive else { return (plain, None) };
    if let Some(reason) = strip_keyword(&directive, "SKIP") {
        let reason = reason.trim();
        (Status::Skip, (!reason.is_empty()).then(|| reason.to_string()))
    } else if !is_ok && strip_keyword(&directive, "TIMEOUT").is_some() {
        (Status::Timeout, Some(directive))
    } else {
        (plain, Some(directive))
    }
}

fn strip_keyword<'a>(text: &'a str, keyword: &str) -> Option<&'a str> {
    let head = text.get(..keyword.len())?;
    let rest = &text[keyword.len()..];
    (head.eq_ignore_ascii_case(keyword) && (rest.is_empty() || rest.starts_with(char::is_whitespace))).then_some(rest)
}

/// `<name>: pass:P fail:F skip:S total:T`
fn parse_counts(text: &str) -> Option<(&str, PrintedCounts)> {
    let (name, rest) = text.split_once(": pass:")?;
    let mut values = [0usize; 4];
    let keys = ["pass", "fail", "skip", "total"];
    let mut count = 0;
    for (index, field) in rest.split_whitespace().enumerate() {
        let (key, value) = if index == 0 { ("pass", field) } else { field.split_once(':')? };
        if index >= keys.len() || key != keys[index] {
            return None;
        }
        values[index] = value.parse().ok()?;
        count += 1;
    }
    (count == keys.len())
        .then_some((name, PrintedCounts { pass: values[0], fail: values[1], skip: values[2], total: values[3] }))
}

fn shorten(line: &str) -> String {
    const MAX: usize = 100;
    match line.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}...", &line[..cut]),
        None => line.to_string(),
    }
}
