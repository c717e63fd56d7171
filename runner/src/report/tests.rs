//! Report tests: names, failure lines, the table, and what a JUnit reader
//! (the `junit-parser` crate) and a JSON reader (`serde_json`) find in what
//! we write. `tests/report_readers.rs` checks the shapes on random logs.

use std::time::Duration;

use serde_json::Value;

use super::*;
use crate::ktap::{parse, Parser};

const LOG: &str = "\
KTAP version 1
1..2
    KTAP version 1
    # Subtest: boot
    1..2
    ok 1 rodata_store_faults
    # wx: expected a fault, saw none (boot.rs:1)
    not ok 2 wx_text_not_writable # expected a fault at va:0x1000, saw none
not ok 1 boot
    KTAP version 1
    # Subtest: lazy_batch
    1..2
        KTAP version 1
        # Subtest: barriers_batched
        1..3
        ok 1 none # SKIP not applicable <here>
        ok 2 arm64
        not ok 3 queued # TIMEOUT after 100 ms
    not ok 1 barriers_batched
        KTAP version 1
        # Subtest: barriers_batched.detects_bug
        1..1
        # arm64: caught by counters: barriers before leave: expected 0, saw 512
        ok 1 arm64
    ok 2 barriers_batched.detects_bug
not ok 2 lazy_batch
";

/// A log cut by a crash in `lazy_batch.barriers_batched[queued]`.
const CRASHED: &str = "\
KTAP version 1
1..2
    KTAP version 1
    # Subtest: lazy_batch
    1..1
        KTAP version 1
        # Subtest: barriers_batched
        1..3
        ok 1 none
        ok 2 arm64
# EXCEPTION: data abort
#   bt #0 0x4008a354
# CRASH: unexpected exception: data abort (in lazy_batch.barriers_batched[queued])
";

/// `log` fed line by line, line N arriving N * 10 ms after the start.
fn timed(log: &str) -> crate::ktap::Report {
    let mut parser = Parser::new();
    for (index, line) in log.lines().enumerate() {
        parser.feed_at(line, Duration::from_millis(10 * index as u64));
    }
    parser.finish()
}

fn junit(report: &crate::ktap::Report, run_error: Option<&str>) -> junit_parser::TestSuites {
    let xml = junit::to_xml(report, "x86_64", run_error);
    junit_parser::from_reader(xml.as_bytes()).unwrap_or_else(|e| panic!("{e}:\n{xml}"))
}

fn json(report: &crate::ktap::Report) -> Value {
    serde_json::from_str(&json::to_json(report, "x86_64", "/b")).expect("valid JSON")
}

#[test]
fn leaf_names_and_failure_lines() {
    let report = parse(LOG);
    assert_eq!(report.problems, vec![]);
    let names: Vec<String> = leaves(&report).iter().map(|l| l.name.clone()).collect();
    assert_eq!(
        names,
        [
            "boot.rodata_store_faults",
            "boot.wx_text_not_writable",
            "lazy_batch.barriers_batched.none",
            "lazy_batch.barriers_batched.arm64",
            "lazy_batch.barriers_batched.queued",
            "lazy_batch.barriers_batched.detects_bug.arm64",
        ]
    );
    assert_eq!(
        failure_lines(&report, false),
        [
            "FAIL boot.wx_text_not_writable: expected a fault at va:0x1000, saw none",
            "FAIL lazy_batch.barriers_batched.queued: TIMEOUT after 100 ms"
        ]
    );
}

#[test]
fn crash_and_problems_in_failure_lines() {
    let crashed =
        parse("KTAP version 1\n1..1\n    KTAP version 1\n    # Subtest: s\n    1..2\n    ok 1 a\n# CRASH: boom\n");
    assert_eq!(failure_lines(&crashed, false), ["CRASH in s test #2, after s.a: boom"]);
    let named = parse(CRASHED);
    assert_eq!(
        failure_lines(&named, false),
        ["CRASH in lazy_batch.barriers_batched.queued: unexpected exception: data abort \
          (in lazy_batch.barriers_batched[queued])"]
    );
    let garbage = parse("KTAP version 1\n1..1\nxyz\nok 1 a\n");
    assert_eq!(failure_lines(&garbage, false), ["MALFORMED line 3: not KTAP: `xyz`"]);
    let killed = parse("KTAP version 1\n1..2\nok 1 a\n");
    assert_eq!(failure_lines(&killed, false).len(), 1);
    assert_eq!(failure_lines(&killed, true), Vec::<String>::new());
}

#[test]
fn summary_table_counts_leaves() {
    let table = summary::table(&parse(LOG));
    let rows: Vec<Vec<&str>> = table.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(rows[0], ["suite", "pass", "fail", "skip", "timeout", "total"]);
    assert_eq!(rows[1], ["boot", "1", "1", "0", "0", "2"]);
    assert_eq!(rows[2], ["lazy_batch", "2", "0", "1", "1", "4"]);
    assert_eq!(rows[3], ["total", "3", "1", "1", "1", "6"]);
}

#[test]
fn junit_counts_names_times_and_output() {
    let suites = junit(&timed(LOG), None);
    assert_eq!((suites.tests, suites.failures, suites.skipped, suites.errors), (6, 2, 1, 0));
    let cases: Vec<&junit_parser::TestCase> = suites.suites.iter().flat_map(|s| &s.cases).collect();
    let names: Vec<&str> = cases.iter().map(|c| c.original_name.as_str()).collect();
    assert_eq!(names[4..], ["lazy_batch.barriers_batched.queued", "lazy_batch.barriers_batched.detects_bug.arm64"]);
    assert_eq!(cases[4].classname.as_deref(), Some("x86_64.lazy_batch"));
    // Line 20 (`not ok 3 queued`) came 10 ms after line 19 (`ok 2 arm64`).
    assert!((cases[4].time - 0.010).abs() < 1e-9, "{}", cases[4].time);
    let suite_time = suites.suites[1].time;
    assert!((suite_time - 0.170).abs() < 1e-9, "lazy_batch: from boot's result, line 9, to line 26: {suite_time}");
    let timeout = cases[4].status.failure_as_ref();
    assert_eq!((timeout.failure_type.as_str(), timeout.message.as_str()), ("timeout", "TIMEOUT after 100 ms"));
    assert_eq!(cases[2].status.skipped_as_ref().message, "not applicable <here>");
    // A pass keeps its evidence; a failure carries its lines in the failure.
    let evidence = cases[5].system_out.as_deref();
    assert_eq!(evidence, Some("arm64: caught by counters: barriers before leave: expected 0, saw 512"));
    assert_eq!(cases[1].status.failure_as_ref().text, "wx: expected a fault, saw none (boot.rs:1)");
    assert!(cases[0].system_out.is_none());
    let untimed = junit(&parse(LOG), None);
    assert!(untimed.suites.iter().flat_map(|s| &s.cases).all(|c| c.time == 0.0));
}

#[test]
fn junit_puts_a_crash_on_the_running_case() {
    let suites = junit(&timed(CRASHED), Some("kernel crashed: data abort"));
    assert_eq!((suites.tests, suites.errors, suites.failures), (3, 1, 0));
    assert!(suites.suites.iter().all(|suite| suite.name != "run"));
    let crashed = &suites.suites[0].cases[2];
    assert_eq!(crashed.original_name, "lazy_batch.barriers_batched.queued");
    let error = crashed.status.error_as_ref();
    assert_eq!(error.message, "unexpected exception: data abort (in lazy_batch.barriers_batched[queued])");
    assert_eq!(error.text, "EXCEPTION: data abort\nbt #0 0x4008a354");
    assert!((crashed.time - 0.030).abs() < 1e-9, "lines 11 to 14: {}", crashed.time);
}

#[test]
fn junit_records_a_run_that_failed_outside_any_test() {
    let report = parse("KTAP version 1\n1..1\n# CRASH: page fault \"quoted\" & <odd>\x01\n");
    let xml = junit::to_xml(&report, "aarch64", Some("kernel crashed: page fault"));
    assert!(!xml.contains('\x01'));
    let suites = junit_parser::from_reader(xml.as_bytes()).expect("valid JUnit");
    assert_eq!((suites.tests, suites.errors), (1, 1));
    let run = &suites.suites[0].cases[0];
    assert_eq!(
        (run.original_name.as_str(), run.status.error_as_ref().message.as_str()),
        ("run", "kernel crashed: page fault")
    );
}

#[test]
fn junit_text_survives_cdata_ends_and_control_characters() {
    let report = parse("KTAP version 1\n1..1\n# a ]]> b\x01 & <c>\nok 1 t\n");
    let suites = junit(&report, None);
    assert_eq!(suites.suites[0].cases[0].system_out.as_deref(), Some("a ]]> b & <c>"));
}

#[test]
fn json_is_kunit_shaped_with_counts_and_messages() {
    let value = json(&timed(LOG));
    assert_eq!(value["name"], "KUnit Test Group");
    assert_eq!(
        value["misc"],
        serde_json::json!({"tests": 6, "passed": 3, "failed": 2, "crashed": 0, "skipped": 1, "errors": 0})
    );
    let boot = &value["sub_groups"][0];
    assert_eq!(boot["name"], "boot");
    assert_eq!(boot["test_cases"][1]["status"], "FAIL");
    assert_eq!(boot["test_cases"][1]["message"], "expected a fault at va:0x1000, saw none");
    assert_eq!(boot["test_cases"][1]["log_excerpt"], "wx: expected a fault, saw none (boot.rs:1)");
    assert_eq!(boot["test_cases"][1]["duration"], 0.02);
    let batched = &value["sub_groups"][1]["sub_groups"][0];
    let statuses: Vec<&Value> = batched["test_cases"].as_array().expect("cases").iter().map(|c| &c["status"]).collect();
    assert_eq!(statuses, ["SKIP", "PASS", "FAIL"]);
    assert_eq!(batched["misc"]["tests"], 3);
    assert_eq!(value["arch"], "x86_64");
    assert!(parse_and_get(&parse(LOG), "/sub_groups/0/test_cases/0/duration").is_none());
}

fn parse_and_get(report: &crate::ktap::Report, pointer: &str) -> Option<Value> {
    json(report).pointer(pointer).cloned()
}

#[test]
fn json_escapes_and_marks_a_crash() {
    let value = json(&parse(CRASHED));
    assert_eq!(value["misc"]["crashed"], 1);
    let case = &value["sub_groups"][0]["sub_groups"][0]["test_cases"][2];
    assert_eq!(case["name"], "queued");
    assert_eq!(case["status"], "ERROR");
    assert_eq!(case["log_excerpt"], "EXCEPTION: data abort\nbt #0 0x4008a354");
    let odd = parse("KTAP version 1\n1..1\n    KTAP version 1\n    # Subtest: s\"\\\n    1..1\n# CRASH: x\n");
    let value: Value = serde_json::from_str(&json::to_json(&odd, "aarch64", "C:\\b\n")).expect("valid JSON");
    assert_eq!(value["sub_groups"][0]["name"], "s\"\\");
    assert_eq!(value["sub_groups"][0]["test_cases"][0]["status"], "ERROR");
    assert_eq!(value["build_environment"], "C:\\b\n");
}
