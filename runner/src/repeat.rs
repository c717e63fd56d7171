//! `--repeat N`: the same selection booted N times, one verdict. Counts
//! add up: the table, JUnit and JSON hold each run's results (a test that
//! ran in 3 runs counts 3 times), and the exit code is the highest of the
//! runs' codes (so a single failing or crashing run is never hidden by the
//! others passing).

use crate::ktap::Report;
use crate::verdict::Verdict;

/// One report with every run's suites merged by name, in first-seen order
/// (each merged suite holds the runs' cases one after the other).
pub fn merge(reports: &[Report]) -> Report {
    let mut merged = Report::default();
    for report in reports {
        for suite in &report.suites {
            match merged.suites.iter_mut().find(|kept| kept.name == suite.name) {
                Some(kept) => {
                    kept.extend_children(suite.children.iter().cloned());
                    if suite.status.is_failure() {
                        kept.status = suite.status;
                    }
                }
                None => merged.suites.push(suite.clone()),
            }
        }
        merged.problems.extend(report.problems.iter().cloned());
        merged.top_level_diagnostics.extend(report.top_level_diagnostics.iter().cloned());
        merged.crash = merged.crash.take().or_else(|| report.crash.clone());
        merged.cut_at = merged.cut_at.take().or_else(|| report.cut_at.clone());
        merged.unfinished = merged.unfinished.take().or_else(|| report.unfinished.clone());
        merged.header_seen |= report.header_seen;
    }
    merged.plan = Some(merged.suites.len());
    merged
}

/// The verdict of all runs: the highest code, and why, naming the run; and
/// that run's index (its log is the one to read).
pub fn combine(verdicts: &[Verdict], planned: u32) -> (Verdict, usize) {
    let Some((worst_run, worst)) = verdicts.iter().enumerate().max_by_key(|(run, verdict)| {
        // The highest code; among equals, the first run that had it.
        (verdict.code.code(), std::cmp::Reverse(*run))
    }) else {
        return (Verdict { code: crate::verdict::ExitCode::SetupError, reason: "no run took place".to_string() }, 0);
    };
    let passed = verdicts.iter().filter(|verdict| verdict.code.code() == 0).count();
    let ran = if verdicts.len() as u32 == planned {
        format!("{planned} runs")
    } else {
        format!("{} of {planned} runs", verdicts.len())
    };
    let reason = if passed == verdicts.len() {
        format!("{ran}: all passed ({})", worst.reason)
    } else {
        format!("{ran}: {passed} passed; run {}: {}", worst_run + 1, worst.reason)
    };
    (Verdict { code: worst.code, reason }, worst_run)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ktap::{Status, TestNode};
    use crate::verdict::ExitCode;

    fn leaf(number: usize, name: &str, status: Status) -> TestNode {
        TestNode::new(number, name, status, vec![])
    }

    fn run_with(status: Status) -> Report {
        let suite = TestNode::new(1, "boot", status, vec![leaf(1, "a", Status::Pass), leaf(2, "b", status)]);
        Report { suites: vec![suite], header_seen: true, plan: Some(1), ..Report::default() }
    }

    #[test]
    fn counts_add_up_across_runs() {
        let merged = merge(&[run_with(Status::Pass), run_with(Status::Fail), run_with(Status::Pass)]);
        let counts = merged.counts();
        assert_eq!((counts.pass, counts.fail, counts.total()), (5, 1, 6));
        assert_eq!(merged.suites.len(), 1);
        assert_eq!(merged.suites[0].status, Status::Fail);
        assert!(merged.has_failure());
    }

    #[test]
    fn the_highest_code_wins_and_names_its_run() {
        let pass = Verdict { code: ExitCode::Pass, reason: "all tests passed or were skipped".to_string() };
        let fail = Verdict { code: ExitCode::Fail, reason: "1 of 2 tests failed".to_string() };
        let crash = Verdict { code: ExitCode::CrashOrMalformed, reason: "kernel crashed".to_string() };
        let (all, _) = combine(&[pass.clone(), pass.clone()], 2);
        assert_eq!(
            (all.code, all.reason.as_str()),
            (ExitCode::Pass, "2 runs: all passed (all tests passed or were skipped)")
        );
        let (mixed, worst) = combine(&[pass.clone(), fail.clone(), crash, fail], 4);
        assert_eq!(worst, 2);
        assert_eq!(
            (mixed.code, mixed.reason.as_str()),
            (ExitCode::CrashOrMalformed, "4 runs: 1 passed; run 3: kernel crashed")
        );
        let (cut, _) = combine(&[pass], 3);
        assert_eq!(cut.reason, "1 of 3 runs: all passed (all tests passed or were skipped)");
    }
}
