//! The reports as their readers see them: JUnit XML through the
//! `junit-parser` crate (what a CI system does), and the JSON through
//! `serde_json`, checked against the fields of kunit.py's JSON
//! (tools/testing/kunit/kunit_json.py in Linux: each group has `name`,
//! `sub_groups`, `test_cases`, `misc` and KernelCI's common fields; each
//! test case `name` and `status`). On the real kernel logs of
//! `tests/ktap-corpus/` and on random KTAP trees (proptest; the count is
//! printed with `-- --nocapture`).

use std::collections::BTreeSet;
use std::time::Duration;

use junit_parser::{TestCase, TestSuites};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use runner::ktap::{parse, Parser, Report, Status};
use runner::report::{json, junit, leaves};
use serde_json::{Map, Value};

/// Random trees each property tries.
const TREES: u32 = 500;

fn read_junit(report: &Report, run_error: Option<&str>) -> TestSuites {
    let xml = junit::to_xml(report, "aarch64", run_error);
    junit_parser::from_reader(xml.as_bytes()).unwrap_or_else(|e| panic!("JUnit reader: {e}\n{xml}"))
}

fn cases(suites: &TestSuites) -> Vec<&TestCase> {
    suites.suites.iter().flat_map(|suite| &suite.cases).collect()
}

/// Checks `text` against kunit.py's JSON fields; returns the root's counts.
fn read_kunit_json(text: &str) -> Map<String, Value> {
    let value: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("JSON reader: {e}\n{text}"));
    assert_eq!(value["name"], "KUnit Test Group");
    check_group(&value);
    value["misc"].as_object().expect("misc").clone()
}

const GROUP_FIELDS: [&str; 11] = [
    "name",
    "sub_groups",
    "test_cases",
    "misc",
    "arch",
    "defconfig",
    "build_environment",
    "lab_name",
    "kernel",
    "job",
    "git_branch",
];
const MISC_FIELDS: [&str; 6] = ["tests", "passed", "failed", "crashed", "skipped", "errors"];
/// Fields we add; readers of kunit.py's JSON ignore them.
const EXTRA_FIELDS: [&str; 3] = ["message", "log_excerpt", "duration"];

fn keys(value: &Value) -> BTreeSet<&str> {
    value.as_object().expect("an object").keys().map(String::as_str).collect()
}

/// A group has kunit.py's fields (plus ours), and its `misc` counts are
/// the sums of its test cases' statuses and its sub-groups' counts.
fn check_group(group: &Value) -> [u64; 5] {
    let fields = keys(group);
    assert!(GROUP_FIELDS.iter().all(|f| fields.contains(f)), "group fields {fields:?}");
    assert!(fields.iter().all(|f| GROUP_FIELDS.contains(f) || EXTRA_FIELDS.contains(f)), "{fields:?}");
    assert_eq!(group["git_branch"], "kselftest");
    assert!(group["name"].is_string());
    let mut sums = [0u64; 5];
    for sub in group["sub_groups"].as_array().expect("sub_groups") {
        sums.iter_mut().zip(check_group(sub)).for_each(|(sum, more)| *sum += more);
    }
    for case in group["test_cases"].as_array().expect("test_cases") {
        let fields = keys(case);
        assert!(fields.contains("name") && fields.contains("status"), "{fields:?}");
        assert!(fields.iter().all(|f| ["name", "status"].contains(f) || EXTRA_FIELDS.contains(f)), "{fields:?}");
        let index =
            ["PASS", "FAIL", "ERROR", "SKIP"].iter().position(|s| case["status"] == *s).expect("a kunit status");
        sums[0] += 1;
        sums[index + 1] += 1;
    }
    let misc = &group["misc"];
    assert_eq!(keys(misc), MISC_FIELDS.into_iter().collect::<BTreeSet<_>>());
    let counted: Vec<u64> = MISC_FIELDS[..5].iter().map(|f| misc[f].as_u64().expect("a count")).collect();
    assert_eq!(counted, sums, "misc of {}", group["name"]);
    sums
}

#[test]
fn the_corpus_logs_read_back() {
    let fail = parse(include_str!("ktap-corpus/fail.log"));
    let counts = fail.counts();
    let suites = read_junit(&fail, None);
    assert_eq!(
        (suites.tests, suites.failures, suites.skipped) as (u64, u64, u64),
        (counts.total() as u64, counts.fail as u64, counts.skip as u64)
    );
    let names: Vec<&str> = cases(&suites).iter().map(|c| c.original_name.as_str()).collect();
    let expected: Vec<String> = leaves(&fail).iter().map(|leaf| leaf.name.clone()).collect();
    assert_eq!(names, expected);
    let evidence = cases(&suites)
        .into_iter()
        .find(|c| c.original_name == "lazy_batch.barriers_batched.detects_bug.arm64")
        .expect("the detects_bug leaf");
    assert!(evidence.status.is_success());
    assert!(evidence.system_out.as_deref().is_some_and(|out| out.contains("caught by counters")), "{evidence:?}");
    let misc = read_kunit_json(&json::to_json(&fail, "aarch64", "/b"));
    assert_eq!(misc["failed"], counts.fail);

    let crash = parse(include_str!("ktap-corpus/crash.log"));
    let suites = read_junit(&crash, Some("kernel crashed"));
    assert_eq!((suites.tests, suites.errors), (1, 1));
    let crashed = &suites.suites[0].cases[0];
    assert_eq!(crashed.original_name, "crash.wild_pointer");
    assert!(crashed.status.error_as_ref().text.contains("ESR 0x0000000096000004"));
    let misc = read_kunit_json(&json::to_json(&crash, "aarch64", "/b"));
    assert_eq!(misc["crashed"], 1);
}

/// One result of a random tree: its kind and the `#` lines before it.
#[derive(Clone, Debug)]
struct Result {
    outcome: usize,
    lines: Vec<String>,
}

const OUTCOMES: [&str; 4] = [
    "ok {n} {name}",
    "not ok {n} {name} # expected <0x1>, saw \"&\"",
    "ok {n} {name} # SKIP not here",
    "not ok {n} {name} # TIMEOUT after 5 ms",
];

/// Suites of cases; a case is a leaf or has variants.
type Tree = Vec<Vec<Vec<Result>>>;

fn tree() -> impl Strategy<Value = Tree> {
    let line = proptest::string::string_regex("[a-z <>&\"'é:.0-9]{0,20}").expect("regex");
    let result = (0..OUTCOMES.len(), proptest::collection::vec(line, 0..3))
        .prop_map(|(outcome, lines)| Result { outcome, lines });
    let case = proptest::collection::vec(result, 1..4);
    proptest::collection::vec(proptest::collection::vec(case, 1..4), 1..4)
}

/// The `#` lines and the result line of `result`, numbered `number`.
fn result_lines(level: usize, number: usize, name: &str, result: &Result) -> Vec<String> {
    let pad = "    ".repeat(level);
    let mut lines: Vec<String> = result.lines.iter().map(|line| format!("{pad}# {line}")).collect();
    let text = OUTCOMES[result.outcome].replace("{n}", &number.to_string()).replace("{name}", name);
    lines.push(format!("{pad}{text}"));
    lines
}

fn failed(result: &Result) -> bool {
    result.outcome == 1 || result.outcome == 3
}

/// The tree as the kernel would print it, and its leaf names in order.
fn render(tree: &Tree) -> (Vec<String>, Vec<String>) {
    let mut log = vec!["KTAP version 1".to_string(), format!("1..{}", tree.len())];
    let mut names = Vec::new();
    let verdict = |failed: bool| if failed { "not ok" } else { "ok" };
    for (s, suite) in tree.iter().enumerate() {
        log.extend([
            "    KTAP version 1".to_string(),
            format!("    # Subtest: s{s}"),
            format!("    1..{}", suite.len()),
        ]);
        for (c, case) in suite.iter().enumerate() {
            if let [leaf] = case.as_slice() {
                log.extend(result_lines(1, c + 1, &format!("c{c}"), leaf));
                names.push(format!("s{s}.c{c}"));
                continue;
            }
            log.extend([
                "        KTAP version 1".to_string(),
                format!("        # Subtest: c{c}"),
                format!("        1..{}", case.len()),
            ]);
            for (v, variant) in case.iter().enumerate() {
                log.extend(result_lines(2, v + 1, &format!("v{v}"), variant));
                names.push(format!("s{s}.c{c}.v{v}"));
            }
            log.push(format!("    {} {} c{c}", verdict(case.iter().any(failed)), c + 1));
        }
        log.push(format!("{} {} s{s}", verdict(suite.iter().flatten().any(failed)), s + 1));
    }
    (log, names)
}

fn run_trees(name: &str, test: impl Fn(Tree, usize) -> std::result::Result<(), TestCaseError>) {
    let config = Config { cases: TREES, failure_persistence: None, ..Config::default() };
    let tried = std::cell::Cell::new(0u32);
    let result = TestRunner::new(config).run(&(tree(), any::<usize>()), |(tree, pick)| {
        tried.set(tried.get() + 1);
        test(tree, pick)
    });
    eprintln!("report readers ({name}): {} trees tried, {result:?}", tried.get());
    if let Err(failure) = result {
        panic!("report readers ({name}) failed: {failure}");
    }
}

#[test]
fn every_leaf_reads_back_with_its_name_status_and_lines() {
    run_trees("whole logs", |tree, _| {
        let (log, names) = render(&tree);
        let mut parser = Parser::new();
        for (index, line) in log.iter().enumerate() {
            parser.feed_at(line, Duration::from_millis(index as u64));
        }
        let report = parser.finish();
        prop_assert!(report.problems.is_empty(), "{:?}\n{}", report.problems, log.join("\n"));
        let suites = read_junit(&report, None);
        let read = cases(&suites);
        let read_names: Vec<&str> = read.iter().map(|c| c.original_name.as_str()).collect();
        prop_assert_eq!(&read_names, &names);
        let results = tree.iter().flatten().flatten();
        for (case, result) in read.iter().zip(results) {
            let lines = result.lines.iter().map(|l| l.trim()).collect::<Vec<_>>().join("\n");
            let (status_ok, text) = match result.outcome {
                0 => (case.status.is_success(), case.system_out.clone()),
                2 => (case.status.is_skipped(), case.system_out.clone()),
                _ => (case.status.is_failure(), Some(case.status.failure_as_ref().text.clone())),
            };
            prop_assert!(status_ok, "{}: {:?}", case.original_name, case.status);
            prop_assert_eq!(text.unwrap_or_default(), lines);
            prop_assert!(case.time > 0.0);
        }
        let misc = read_kunit_json(&json::to_json(&report, "aarch64", "/b"));
        prop_assert_eq!(misc["tests"].as_u64(), Some(names.len() as u64));
        Ok(())
    });
}

#[test]
fn a_log_cut_anywhere_puts_one_error_on_the_test_it_stopped_in() {
    run_trees("cut logs", |tree, pick| {
        let (mut log, _) = render(&tree);
        log.truncate(3 + pick % (log.len() - 3));
        log.push("# CRASH: unexpected exception".to_string());
        let report = parse(&log.join("\n"));
        let suites = read_junit(&report, Some("kernel crashed"));
        let all = leaves(&report);
        let crashed: Vec<&str> =
            all.iter().filter(|l| l.node.status == Status::Crashed).map(|l| l.name.as_str()).collect();
        prop_assert!(crashed.len() <= 1, "{:?}", crashed);
        // The running test carries the error; with none, a `run` case does.
        let errored: Vec<&str> =
            cases(&suites).iter().filter(|c| c.status.is_error()).map(|c| c.original_name.as_str()).collect();
        prop_assert_eq!(errored, [crashed.first().copied().unwrap_or("run")], "{}", log.join("\n"));
        prop_assert_eq!(suites.tests as usize, all.len() - crashed.len() + 1);
        let misc = read_kunit_json(&json::to_json(&report, "aarch64", "/b"));
        prop_assert_eq!(misc["crashed"].as_u64(), Some(crashed.len() as u64));
        Ok(())
    });
}
