//! JUnit XML (testsuites / testsuite / testcase with failure, error,
//! skipped and system-out elements), the shape CI systems read. A test case
//! is named `suite.case.flavour` in class `<arch>.<suite>`; its `time` is
//! [`TestNode::time`](crate::ktap::TestNode::time) (host seconds under
//! QEMU TCG, not hardware time), absent for an untimed log. The kernel's
//! lines for a case go in `system-out` (a pass keeps its "caught by"
//! evidence), or in the body of its failure. The test a crash or a killed
//! QEMU stopped in is an `error`; a run that went wrong outside any test
//! (bad input, a malformed log, a crash at boot) adds a `run` suite with
//! one errored case, so the report never looks greener than the exit code.

use std::fmt::Write;
use std::time::Duration;

use super::{leaves_of, Leaf};
use crate::ktap::{Report, Status};

/// `run_error` is the runner's verdict when the run itself went wrong.
pub fn to_xml(report: &Report, arch: &str, run_error: Option<&str>) -> String {
    let mut suites = String::new();
    let (mut tests, mut failures, mut skipped, mut errors) = (0, 0, 0, 0);
    let mut time = Some(Duration::ZERO);
    let mut error_told = false;
    for suite in report.all_suites() {
        let counts = suite.leaf_counts();
        tests += counts.total();
        failures += counts.fail;
        skipped += counts.skip;
        errors += counts.crashed;
        error_told |= counts.crashed > 0;
        time = time.zip(suite.time).map(|(sum, more)| sum + more);
        let _ = writeln!(
            suites,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\"{}>",
            escape(&suite.name),
            counts.total(),
            counts.fail,
            counts.crashed,
            counts.skip,
            seconds(suite.time)
        );
        for leaf in leaves_of(suite) {
            testcase(&mut suites, &leaf, arch, run_error);
        }
        suites.push_str("  </testsuite>\n");
    }
    if let Some(message) = run_error.filter(|_| !error_told) {
        tests += 1;
        errors += 1;
        let position = report.crash.as_ref().map(|crash| &crash.position).or(report.cut_at.as_ref());
        let detail = position.map(|position| format!("running {}", position.describe())).unwrap_or_default();
        let _ = write!(
            suites,
            "  <testsuite name=\"run\" tests=\"1\" failures=\"0\" errors=\"1\" skipped=\"0\">\n    \
             <testcase classname=\"{arch}.run\" name=\"run\">\n      \
             <error message=\"{}\">{}</error>\n    </testcase>\n  </testsuite>\n",
            escape(message),
            cdata(&detail)
        );
    }
    let time = if report.suites.is_empty() && report.unfinished.is_none() { None } else { time };
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"lazymmu-{arch}\" tests=\"{tests}\" \
         failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\"{}>\n{suites}</testsuites>\n",
        seconds(time)
    )
}

fn testcase(out: &mut String, leaf: &Leaf, arch: &str, run_error: Option<&str>) {
    let node = leaf.node;
    let _ = write!(
        out,
        "    <testcase classname=\"{}.{}\" name=\"{}\"{}",
        escape(arch),
        escape(leaf.suite),
        escape(&leaf.name),
        seconds(node.time)
    );
    let lines = cdata(&node.diagnostics.join("\n"));
    let verdict = match node.status {
        Status::Pass => None,
        Status::Skip => Some(format!("<skipped message=\"{}\"/>", escape(node.reason.as_deref().unwrap_or("")))),
        Status::Fail | Status::Timeout => {
            let kind = if node.status == Status::Timeout { "timeout" } else { "failure" };
            Some(format!("<failure type=\"{kind}\" message=\"{}\">{lines}</failure>", escape(&leaf.reason())))
        }
        Status::Crashed => {
            let message = node.reason.clone().or(run_error.map(str::to_string)).unwrap_or_else(|| leaf.reason());
            Some(format!("<error type=\"crash\" message=\"{}\">{lines}</error>", escape(&message)))
        }
    };
    // A failure's lines are its element's body; anyone else's are its output.
    let output = (matches!(node.status, Status::Pass | Status::Skip) && !lines.is_empty())
        .then(|| format!("<system-out>{lines}</system-out>"));
    if verdict.is_none() && output.is_none() {
        out.push_str("/>\n");
        return;
    }
    out.push_str(">\n");
    for element in verdict.iter().chain(&output) {
        let _ = writeln!(out, "      {element}");
    }
    out.push_str("    </testcase>\n");
}

/// ` time="S"` in seconds, or nothing for an untimed test.
fn seconds(time: Option<Duration>) -> String {
    time.map_or(String::new(), |time| format!(" time=\"{:.3}\"", time.as_secs_f64()))
}

/// Text as a CDATA section (the kernel's lines stay readable in the file;
/// some readers drop entity references in element text), or nothing for
/// no text. `]]>` is split across two sections; control characters other
/// than tab and newline are not allowed in XML at all, so they are dropped.
fn cdata(text: &str) -> String {
    if text.is_empty() {
        return String::new();
    }
    let allowed: String = text.chars().filter(|&c| c >= ' ' || c == '\n' || c == '\t').collect();
    format!("<![CDATA[{}]]>", allowed.replace("]]>", "]]]]><![CDATA[>"))
}

/// XML 1.0 text and attribute escaping; control characters other than tab
/// and newline are not allowed in XML at all, so they are dropped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\t' => out.push_str("&#9;"),
            c if (c as u32) < 0x20 => {}
            c => out.push(c),
        }
    }
    out
}
