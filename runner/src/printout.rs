//! What the runner prints after a run (and `parse` after reading a log):
//! the table, one coloured line per failure, the reports, and the verdict
//! line with the exit code the process really ends with. Every line is a
//! checked write; the reports are written before the verdict line so a
//! report that could not be written changes the code that line shows.

use std::path::Path;

use crate::display::{paint, tone_of_result_line, Colour, Tone};
use crate::ktap::Report;
use crate::outcome::{say, Stop};
use crate::report::{failure_lines, json, junit, summary};

/// The table (or the listed-case count) and the failure lines.
/// `cut_short`: the log was expected to stop early (see `failure_lines`).
pub fn results(report: &Report, list_mode: bool, cut_short: bool, colour: Colour) -> Result<(), Stop> {
    say("")?;
    if list_mode || !report.listed_cases.is_empty() {
        say(&format!("{} runnable cases", report.listed_cases.len()))?;
    } else if !report.suites.is_empty() {
        for line in summary::table(report).lines() {
            say(line)?;
        }
    }
    for line in failure_lines(report, cut_short) {
        match tone_of_result_line(&line) {
            Some(tone) => say(&paint(&line, tone, colour))?,
            None => say(&line)?,
        }
    }
    Ok(())
}

/// `lazymmu-run: <reason> (exit N); log: <path>`, green for a pass, yellow
/// for a timeout, red otherwise.
pub fn verdict_line(reason: &str, code: i32, log: Option<&Path>, colour: Colour) -> Result<(), Stop> {
    let tone = match code {
        0 => Tone::Good,
        3 => Tone::Warning,
        _ => Tone::Bad,
    };
    let log = log.map(|path| format!("; log: {}", path.display())).unwrap_or_default();
    say(&paint(&format!("lazymmu-run: {reason} (exit {code}){log}"), tone, colour))
}

/// The reports a run or a parsed log asked for.
pub struct Reports<'a> {
    pub junit: Option<&'a Path>,
    pub json: Option<&'a Path>,
    pub arch: &'a str,
    /// kunit.py's `build_environment`.
    pub build_dir: &'a str,
}

/// Writes each report; the first failure is one line naming the option,
/// the path and the OS error (exit 4).
pub fn write_reports(reports: &Reports, report: &Report, run_error: Option<&str>) -> Result<(), String> {
    if let Some(path) = reports.junit {
        std::fs::write(path, junit::to_xml(report, reports.arch, run_error))
            .map_err(|e| format!("--junit {}: {e}", path.display()))?;
    }
    if let Some(path) = reports.json {
        std::fs::write(path, json::to_json(report, reports.arch, reports.build_dir))
            .map_err(|e| format!("--json {}: {e}", path.display()))?;
    }
    Ok(())
}
