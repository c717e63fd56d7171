//! JUnit XML (testsuites / testsuite / testcase with failure, error and
//! skipped elements), the shape CI systems read. A run that did not end
//! cleanly (crash, malformed log, timeout, bad input) adds a `run` suite
//! with one errored test case, so the report never looks greener than the
//! exit code.

use super::{leaves, Leaf};
use crate::ktap::{Report, Status};

/// `run_error` is the runner's verdict when the run itself went wrong.
pub fn to_xml(report: &Report, arch: &str, run_error: Option<&str>) -> String {
    let all = leaves(report);
    let mut suites = String::new();
    let (mut tests, mut failures, mut skipped, mut errors) = (0, 0, 0, 0);
    for suite in &report.suites {
        let cases: Vec<&Leaf> = all.iter().filter(|leaf| leaf.suite == suite.name).collect();
        let counts = suite.leaf_counts();
        tests += counts.total();
        failures += counts.fail;
        skipped += counts.skip;
        suites.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\">\n",
            escape(&suite.name),
            counts.total(),
            counts.fail,
            counts.skip
        ));
        for leaf in cases {
            suites.push_str(&testcase(leaf, arch));
        }
        suites.push_str("  </testsuite>\n");
    }
    if let Some(message) = run_error {
        tests += 1;
        errors += 1;
        let position = report.crash.as_ref().map(|crash| &crash.position).or(report.cut_at.as_ref());
        let detail = position.map(|position| format!("running {}", position.describe())).unwrap_or_default();
        suites.push_str(&format!(
            "  <testsuite name=\"run\" tests=\"1\" failures=\"0\" errors=\"1\" skipped=\"0\">\n    \
             <testcase classname=\"{arch}.run\" name=\"run\">\n      \
             <error message=\"{}\">{}</error>\n    </testcase>\n  </testsuite>\n",
            escape(message),
            escape(&detail)
        ));
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"lazymmu-{arch}\" tests=\"{tests}\" \
         failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\">\n{suites}</testsuites>\n"
    )
}

fn testcase(leaf: &Leaf, arch: &str) -> String {
    let open = format!(
        "    <testcase classname=\"{}.{}\" name=\"{}\"",
        escape(arch),
        escape(leaf.suite),
        escape(&leaf.case_name)
    );
    let body = match leaf.node.status {
        Status::Pass => return format!("{open}/>\n"),
        Status::Skip => {
            format!("      <skipped message=\"{}\"/>\n", escape(leaf.node.reason.as_deref().unwrap_or("")))
        }
        Status::Fail | Status::Timeout => format!(
            "      <failure type=\"{}\" message=\"{}\">{}</failure>\n",
            if leaf.node.status == Status::Timeout { "timeout" } else { "failure" },
            escape(&leaf.reason()),
            escape(&leaf.node.diagnostics.join("\n"))
        ),
    };
    format!("{open}>\n{body}    </testcase>\n")
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
