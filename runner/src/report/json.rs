//! kunit.py's JSON result shape (tools/testing/kunit/kunit_json.py in
//! Linux): a group has `name`, `sub_groups` (tests with subtests),
//! `test_cases` (leaves: `name` and `status`, one of PASS / FAIL / SKIP /
//! ERROR), `misc` (the counts: tests, passed, failed, crashed, skipped,
//! errors) and KernelCI's common fields. A test case adds, when it has
//! them, `message` (why it failed, was skipped or crashed), `log_excerpt`
//! (the kernel's lines for it) and `duration` (seconds, as JUnit's `time`);
//! a timed group adds `duration` too. Consumers of kunit.py's JSON ignore
//! fields they do not know.
//!
//! Written by hand, in one pass over the tree with an explicit stack, into
//! one buffer; indentation stops deepening past [`MAX_INDENT`] levels, so the
//! output is linear in the number of tests whatever the nesting depth.

use std::fmt::Write;
use std::time::Duration;

use crate::ktap::{Counts, Report, Status, TestNode};

/// Nesting levels that are indented; the kernel's reports use 7.
const MAX_INDENT: usize = 16;

pub fn to_json(report: &Report, arch: &str, build_dir: &str) -> String {
    let common = [
        ("arch", string(arch)),
        ("defconfig", "null".to_string()),
        ("build_environment", string(build_dir)),
        ("lab_name", "null".to_string()),
        ("kernel", "null".to_string()),
        ("job", "null".to_string()),
        ("git_branch", "\"kselftest\"".to_string()),
    ];
    let mut counts: Counts = report.all_suites().map(TestNode::leaf_counts).sum();
    counts.errors = report.problems.len();
    let root = Group { name: "KUnit Test Group", children: report.all_suites().collect(), counts, time: None };
    let mut out = String::new();
    let mut steps = vec![Step::Open(root, 0, true)];
    while let Some(step) = steps.pop() {
        match step {
            Step::Open(group, depth, first) => {
                item_start(&mut out, depth, first);
                out.push('{');
                field(&mut out, depth + 1, true, "name", &string(group.name));
                field(&mut out, depth + 1, false, "sub_groups", "[");
                let subgroups: Vec<&TestNode> =
                    group.children.iter().copied().filter(|c| !c.children.is_empty()).collect();
                let has_subgroups = !subgroups.is_empty();
                steps.push(Step::Close(group, depth, has_subgroups));
                for (index, node) in subgroups.into_iter().enumerate().rev() {
                    steps.push(Step::Open(Group::of(node), depth + 2, index == 0));
                }
            }
            Step::Close(group, depth, has_subgroups) => {
                list_end(&mut out, depth + 1, has_subgroups);
                field(&mut out, depth + 1, false, "test_cases", "[");
                let mut cases = group.children.iter().filter(|c| c.children.is_empty()).peekable();
                let has_cases = cases.peek().is_some();
                for (index, case) in cases.enumerate() {
                    test_case(&mut out, case, depth + 2, index == 0);
                }
                list_end(&mut out, depth + 1, has_cases);
                field(&mut out, depth + 1, false, "misc", &misc(&group.counts));
                if let Some(time) = group.time {
                    field(&mut out, depth + 1, false, "duration", &duration(time));
                }
                for (key, value) in &common {
                    field(&mut out, depth + 1, false, key, value);
                }
                newline(&mut out, depth);
                out.push('}');
            }
        }
    }
    out.push('\n');
    out
}

/// A JSON group: the root or a test with subtests.
struct Group<'a> {
    name: &'a str,
    children: Vec<&'a TestNode>,
    counts: Counts,
    time: Option<Duration>,
}

impl<'a> Group<'a> {
    fn of(node: &'a TestNode) -> Group<'a> {
        Group {
            name: &node.name,
            children: node.children.iter().collect(),
            counts: node.leaf_counts(),
            time: node.time,
        }
    }
}

/// Writing a group takes two steps: up to its sub-groups, then the rest.
enum Step<'a> {
    /// The group, its depth, and whether it is first in its list.
    Open(Group<'a>, usize, bool),
    /// The group, its depth, and whether it had sub-groups.
    Close(Group<'a>, usize, bool),
}

fn test_case(out: &mut String, node: &TestNode, depth: usize, first: bool) {
    item_start(out, depth, first);
    out.push('{');
    field(out, depth + 1, true, "name", &string(&node.name));
    let (status, message) = match node.status {
        Status::Pass => ("PASS", None),
        Status::Skip => ("SKIP", node.reason.clone()),
        // kunit_json maps everything but PASS, SKIP and a crash to FAIL.
        Status::Fail | Status::Timeout => ("FAIL", node.reason.clone().or_else(|| node.diagnostics.first().cloned())),
        Status::Crashed => {
            ("ERROR", Some(node.reason.clone().unwrap_or_else(|| "the log stopped in this test".into())))
        }
    };
    field(out, depth + 1, false, "status", &format!("\"{status}\""));
    if let Some(message) = message {
        field(out, depth + 1, false, "message", &string(&message));
    }
    if !node.diagnostics.is_empty() {
        field(out, depth + 1, false, "log_excerpt", &string(&node.diagnostics.join("\n")));
    }
    if let Some(time) = node.time {
        field(out, depth + 1, false, "duration", &duration(time));
    }
    newline(out, depth);
    out.push('}');
}

/// kunit.py's counts object, on one line.
fn misc(counts: &Counts) -> String {
    format!(
        "{{\"tests\": {}, \"passed\": {}, \"failed\": {}, \"crashed\": {}, \"skipped\": {}, \"errors\": {}}}",
        counts.total(),
        counts.pass,
        counts.fail,
        counts.crashed,
        counts.skip,
        counts.errors
    )
}

fn duration(time: Duration) -> String {
    format!("{:.3}", time.as_secs_f64())
}

fn newline(out: &mut String, depth: usize) {
    out.push('\n');
    for _ in 0..depth.min(MAX_INDENT) {
        out.push_str("    ");
    }
}

/// A list item's comma (unless first) and indentation.
fn item_start(out: &mut String, depth: usize, first: bool) {
    if !first {
        out.push(',');
    }
    if depth > 0 {
        newline(out, depth);
    }
}

/// `"key": value` on its own line; `value` may open a list.
fn field(out: &mut String, depth: usize, first: bool, key: &str, value: &str) {
    item_start(out, depth, first);
    let _ = write!(out, "\"{key}\": {value}");
}

/// Closes a list opened by [`field`]: `[]` when it stayed empty.
fn list_end(out: &mut String, depth: usize, had_items: bool) {
    if had_items {
        newline(out, depth);
    }
    out.push(']');
}

/// A JSON string literal.
pub fn string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
