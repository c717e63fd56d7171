//! kunit.py's JSON result shape (tools/testing/kunit/kunit_json.py): a group
//! has `name`, `sub_groups` (tests with subtests) and `test_cases` (leaves,
//! `{name, status}` with PASS / FAIL / SKIP / ERROR), plus KernelCI's common
//! fields. Written by hand to keep the runner's dependencies few.

use super::status_word;
use crate::ktap::{Report, Status, TestNode};

pub fn to_json(report: &Report, arch: &str, build_dir: &str) -> String {
    let common = Common { arch, build_dir };
    let mut test_cases: Vec<String> = Vec::new();
    let mut sub_groups: Vec<String> = Vec::new();
    for suite in &report.suites {
        push_node(suite, &common, 2, &mut sub_groups, &mut test_cases);
    }
    if let Some(crash) = &report.crash {
        // kunit.py marks the test a crash interrupted as ERROR.
        let name = match crash.position.open_subtests.as_slice() {
            [] => "run".to_string(),
            open => open.join("."),
        };
        test_cases.push(test_case(&name, "ERROR", 2));
    }
    group("KUnit Test Group", &common, &sub_groups, &test_cases, 1)
}

struct Common<'a> {
    arch: &'a str,
    build_dir: &'a str,
}

fn push_node(node: &TestNode, common: &Common, depth: usize, groups: &mut Vec<String>, cases: &mut Vec<String>) {
    if node.children.is_empty() {
        cases.push(test_case(&node.name, kunit_status(node.status), depth));
        return;
    }
    let mut sub_groups = Vec::new();
    let mut test_cases = Vec::new();
    for child in &node.children {
        push_node(child, common, depth + 1, &mut sub_groups, &mut test_cases);
    }
    groups.push(group(&node.name, common, &sub_groups, &test_cases, depth));
}

/// kunit_json maps everything but PASS, SKIP and a crash to FAIL.
fn kunit_status(status: Status) -> &'static str {
    match status {
        Status::Pass | Status::Skip => status_word(status),
        Status::Fail | Status::Timeout => "FAIL",
    }
}

fn test_case(name: &str, status: &str, depth: usize) -> String {
    let pad = "    ".repeat(depth);
    format!("{pad}{{\n{pad}    \"name\": {},\n{pad}    \"status\": \"{status}\"\n{pad}}}", string(name))
}

fn group(name: &str, common: &Common, sub_groups: &[String], test_cases: &[String], depth: usize) -> String {
    let pad = "    ".repeat(depth - 1);
    let field = format!("{pad}    ");
    let list = |items: &[String]| {
        if items.is_empty() {
            "[]".to_string()
        } else {
            format!("[\n{}\n{field}]", items.join(",\n"))
        }
    };
    let fields = [
        format!("\"name\": {}", string(name)),
        format!("\"arch\": {}", string(common.arch)),
        "\"defconfig\": null".to_string(),
        format!("\"build_environment\": {}", string(common.build_dir)),
        format!("\"sub_groups\": {}", list(sub_groups)),
        format!("\"test_cases\": {}", list(test_cases)),
        "\"lab_name\": null".to_string(),
        "\"kernel\": null".to_string(),
        "\"job\": null".to_string(),
        "\"git_branch\": \"kselftest\"".to_string(),
    ];
    let body: Vec<String> = fields.iter().map(|f| format!("{field}{f}")).collect();
    format!("{pad}{{\n{}\n{pad}}}", body.join(",\n"))
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
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
