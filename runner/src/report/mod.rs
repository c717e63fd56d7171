//! What the runner says after a run: the summary table and failure lines
//! ([`summary`]), JUnit XML ([`junit`]) and kunit.py-style JSON ([`json`]).
//! Every form names a leaf as kunit.py does, `suite.case.flavour`
//! (`suite.case.detects_bug.flavour` for the buggy order), the name
//! `--filter` takes. Each writer is linear in the report it writes.

pub mod json;
pub mod junit;
pub mod summary;
#[cfg(test)]
mod tests;

use crate::ktap::{ProblemKind, Report, Status, TestNode};

/// One leaf result with its full name.
pub struct Leaf<'a> {
    pub suite: &'a str,
    /// `suite.case.flavour`, `suite.case`, or `suite` for a suite without cases.
    pub name: String,
    pub node: &'a TestNode,
}

impl Leaf<'_> {
    /// The one-line reason a failure gives: its directive, else its first
    /// diagnostic, else just "not ok".
    pub fn reason(&self) -> String {
        self.node.reason.clone().or_else(|| self.node.diagnostics.first().cloned()).unwrap_or_else(|| {
            match self.node.status {
                Status::Crashed => "the log stopped in this test".to_string(),
                _ => "not ok".to_string(),
            }
        })
    }
}

/// The leaves of one suite, in log order.
pub fn leaves_of(suite: &TestNode) -> Vec<Leaf<'_>> {
    let mut leaves = Vec::new();
    suite.for_each_leaf(&mut |path, node| leaves.push(Leaf { suite: path[0], name: path.join("."), node }));
    leaves
}

/// Every leaf of the report: the finished suites', then the unfinished one's.
pub fn leaves(report: &Report) -> Vec<Leaf<'_>> {
    report.all_suites().flat_map(leaves_of).collect()
}

/// Lines saying why the run was bad, one per failure, crash and problem.
/// `cut_short` says the log was expected to stop early (the runner killed
/// QEMU, or the kernel rejected its command line): then the missing end of
/// the log is not reported again as a problem.
pub fn failure_lines(report: &Report, cut_short: bool) -> Vec<String> {
    let all = leaves(report);
    let mut lines: Vec<String> = all
        .iter()
        .filter(|leaf| leaf.node.status.is_failure())
        .map(|leaf| format!("FAIL {}: {}", leaf.name, leaf.reason()))
        .collect();
    if let Some(crash) = &report.crash {
        // The running test, when the kernel named it; else where the log was.
        let named = all.iter().find(|leaf| leaf.node.status == Status::Crashed && !leaf.node.name.starts_with('#'));
        let place = named.map_or_else(|| crash.position.describe(), |leaf| leaf.name.clone());
        lines.push(format!("CRASH in {place}: {}", crash.reason));
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
