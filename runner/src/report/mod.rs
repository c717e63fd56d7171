//! What the runner says after a run: the summary table and failure lines
//! ([`summary`]), JUnit XML ([`junit`]) and kunit.py-style JSON ([`json`]).

pub mod json;
pub mod junit;
pub mod summary;
#[cfg(test)]
mod tests;

use crate::ktap::{ProblemKind, Report, Status, TestNode};

/// One leaf result with the name people type in `--filter`:
/// `suite.case`, `suite.case[variant]`, or `suite` for a suite without cases.
pub struct Leaf<'a> {
    pub suite: &'a str,
    pub display_name: String,
    /// The name below the suite (`case` or `case[variant]`), for XML/JSON.
    pub case_name: String,
    pub node: &'a TestNode,
}

impl Leaf<'_> {
    /// The one-line reason a failure gives: its directive, else its first
    /// diagnostic, else just "not ok".
    pub fn reason(&self) -> String {
        self.node
            .reason
            .clone()
            .or_else(|| self.node.diagnostics.first().cloned())
            .unwrap_or_else(|| "not ok".to_string())
    }
}

pub fn leaves(report: &Report) -> Vec<Leaf<'_>> {
    let mut leaves = Vec::new();
    for suite in &report.suites {
        let mut path = Vec::new();
        suite.for_each_leaf(&mut path, &mut |path, node| {
            let display_name = name_of(path);
            let case_name = match display_name.strip_prefix(path[0]).and_then(|rest| rest.strip_prefix('.')) {
                Some(below_suite) => below_suite.to_string(),
                None => display_name.clone(),
            };
            leaves.push(Leaf { suite: path[0], display_name, case_name, node })
        });
    }
    leaves
}

/// `a` / `a.b` / `a.b[c]` / `a.b.c[d]`: the innermost of three or more names is the variant.
fn name_of(path: &[&str]) -> String {
    match path {
        [] => String::new(),
        [only] => (*only).to_string(),
        [head @ .., last] if path.len() >= 3 => format!("{}[{last}]", head.join(".")),
        _ => path.join("."),
    }
}

/// Lines saying why the run was bad, one per failure, crash and problem.
/// `cut_short` says the log was expected to stop early (the runner killed
/// QEMU, or the kernel rejected its command line): then the missing end of
/// the log is not reported again as a problem.
pub fn failure_lines(report: &Report, cut_short: bool) -> Vec<String> {
    let mut lines: Vec<String> = leaves(report)
        .iter()
        .filter(|leaf| leaf.node.status.is_failure())
        .map(|leaf| format!("FAIL {}: {}", leaf.display_name, leaf.reason()))
        .collect();
    if let Some(crash) = &report.crash {
        lines.push(format!("CRASH in {}: {}", crash.position.describe(), crash.reason));
    }
    let expect_cut = cut_short || report.crash.is_some();
    for problem in &report.problems {
        let is_missing_end = matches!(
            problem.kind,
            ProblemKind::Truncated { .. } | ProblemKind::MissingPlan { .. } | ProblemKind::NoHeader
        ) && problem.line == 0;
        if !(expect_cut && is_missing_end) {
            lines.push(format!("MALFORMED {problem}"));
        }
    }
    lines
}

pub(crate) fn status_word(status: Status) -> &'static str {
    match status {
        Status::Pass => "PASS",
        Status::Fail => "FAIL",
        Status::Skip => "SKIP",
        Status::Timeout => "TIMEOUT",
    }
}
