//! Parser tests on handwritten logs in the shape the kernel prints.

use super::*;

/// A log in the project's KTAP shape: a failing leaf suite, a suite with
/// variant subtests (one skipped, one detects_bug group) and totals.
const GOOD: &str = "\
KTAP version 1
# lazymmu: arch=aarch64 flavours=all inject=none filter=*
1..2
    KTAP version 1
    # Subtest: boot
    1..2
    ok 1 rodata_store_faults
    # wx_text_not_writable: expected a WriteProtected fault at va:0x40081000, saw none (kernel/src/boot_suite.rs:42)
    not ok 2 wx_text_not_writable # expected a WriteProtected fault at va:0x40081000, saw none
# boot: pass:1 fail:1 skip:0 total:2
not ok 1 boot
    KTAP version 1
    # Subtest: lazy_batch
    1..2
        KTAP version 1
        # Subtest: barriers_batched
        1..3
        ok 1 none # SKIP not applicable: arm64 flavour only
        ok 2 arm64
        ok 3 queued # SKIP not applicable: arm64 flavour only
    # barriers_batched: pass:1 fail:0 skip:2 total:3
    ok 1 barriers_batched
        KTAP version 1
        # Subtest: barriers_batched.detects_bug
        1..2
        # INFO: a log line inside a case
        ok 1 none
        # deferred-pte: caught by counters: 512 barrier pairs inside lazy, expected 1
        ok 2 deferred-pte
    # barriers_batched.detects_bug: pass:2 fail:0 skip:0 total:2
    ok 2 barriers_batched.detects_bug
# lazy_batch: pass:3 fail:0 skip:2 total:5
ok 2 lazy_batch
# Totals: pass:4 fail:1 skip:2 total:7
";

fn kinds(report: &Report) -> Vec<&ProblemKind> {
    report.problems.iter().map(|p| &p.kind).collect()
}

#[test]
fn nested_suites_cases_and_variants() {
    let report = parse(GOOD);
    assert_eq!(report.problems, vec![]);
    assert!(report.header_seen);
    assert_eq!(report.plan, Some(2));
    assert_eq!(report.suites.len(), 2);
    let boot = &report.suites[0];
    assert_eq!((boot.name.as_str(), boot.status), ("boot", Status::Fail));
    assert_eq!(boot.children[1].reason.as_deref(), Some("expected a WriteProtected fault at va:0x40081000, saw none"));
    assert!(boot.children[1].diagnostics[0].starts_with("wx_text_not_writable: expected"));
    let lazy = &report.suites[1];
    assert_eq!(lazy.children.len(), 2);
    assert_eq!(lazy.children[0].children.len(), 3);
    assert_eq!(lazy.children[1].children[1].name, "deferred-pte");
    assert_eq!(report.counts(), Counts { pass: 4, fail: 1, skip: 2, ..Counts::default() });
    assert!(report.has_failure());
    assert!(!report.has_timeout());
    assert_eq!(report.crash, None);
    assert_eq!(report.top_level_diagnostics[0], "lazymmu: arch=aarch64 flavours=all inject=none filter=*");
}

#[test]
fn skip_keeps_its_reason_without_the_keyword() {
    let report = parse(GOOD);
    let none = &report.suites[1].children[0].children[0];
    assert_eq!(none.status, Status::Skip);
    assert_eq!(none.reason.as_deref(), Some("not applicable: arm64 flavour only"));
}

#[test]
fn timeout_directive_is_its_own_status() {
    let log = "KTAP version 1\n1..1\n    KTAP version 1\n    # Subtest: s\n    1..2\n    \
               not ok 1 spin # TIMEOUT after 100 ms\n    ok 2 other\nnot ok 1 s\n";
    let report = parse(log);
    assert_eq!(report.problems, vec![]);
    let spin = &report.suites[0].children[0];
    assert_eq!(spin.status, Status::Timeout);
    assert_eq!(spin.reason.as_deref(), Some("TIMEOUT after 100 ms"));
    assert!(report.has_timeout());
    assert_eq!(report.counts(), Counts { pass: 1, fail: 1, timeout: 1, ..Counts::default() });
}

#[test]
fn all_skipped_parent_is_skip() {
    let log = "KTAP version 1\n1..1\n    KTAP version 1\n    # Subtest: s\n    1..1\n    \
               ok 1 a # SKIP no\nok 1 s # SKIP all variants skipped\n";
    let report = parse(log);
    assert_eq!(report.problems, vec![]);
    assert_eq!(report.suites[0].status, Status::Skip);
    assert!(!report.has_failure());
}

#[test]
fn subtest_line_before_version_line_is_accepted() {
    let log = "KTAP version 1\n1..1\n    # Subtest: s\n    KTAP version 1\n    1..1\n    ok 1 a\nok 1 s\n";
    assert_eq!(parse(log).problems, vec![]);
}

#[test]
fn crash_records_reason_and_the_running_case() {
    let log = "\
KTAP version 1
1..2
    KTAP version 1
    # Subtest: paging
    1..3
    ok 1 first
# ELR_EL1 0xffff000040081234
#   bt #0 0x40081234
# CRASH: data abort at 0xdead (DFSC 0x07 translation fault, level 3)
";
    let report = parse(log);
    let crash = report.crash.as_ref().expect("crash seen");
    assert_eq!(crash.reason, "data abort at 0xdead (DFSC 0x07 translation fault, level 3)");
    assert_eq!(crash.position.open_subtests, vec!["paging".to_string()]);
    assert_eq!(crash.position.running_number, 2);
    assert_eq!(crash.position.describe(), "paging test #2, after paging.first");
    assert_eq!(report.cut_at, Some(crash.position.clone()));
    assert!(kinds(&report).iter().any(|k| matches!(k, ProblemKind::Truncated { .. })));
}

#[test]
fn crash_before_the_header() {
    let report = parse("# x86_64: tsc 2100 MHz\n# CRASH: unexpected page fault\n");
    let crash = report.crash.as_ref().expect("crash seen");
    assert_eq!(crash.position.describe(), "boot, before the KTAP header");
    assert_eq!(report.problems.iter().map(|p| &p.kind).collect::<Vec<_>>(), vec![&ProblemKind::NoHeader]);
}

#[test]
fn crash_is_visible_while_feeding() {
    let mut parser = Parser::new();
    for line in ["KTAP version 1", "1..1", "# CRASH: kernel panic"] {
        parser.feed(line);
    }
    assert_eq!(parser.report().crash.as_ref().map(|c| c.reason.as_str()), Some("kernel panic"));
}

#[test]
fn list_mode_collects_cases() {
    let log = "KTAP version 1\n# case: boot.rodata_store_faults\n\
               # case: lazy_batch.barriers_batched [variants: none,arm64]\n1..0\n";
    let report = parse(log);
    assert_eq!(report.problems, vec![]);
    assert_eq!(
        report.listed_cases,
        vec!["boot.rodata_store_faults", "lazy_batch.barriers_batched [variants: none,arm64]"]
    );
}

#[test]
fn noise_before_the_header_and_crlf_are_tolerated() {
    let log = "SeaBIOS (version 1.16)\r\nBooting from ROM..\r\nKTAP version 1\r\n1..1\r\nok 1 only\r\n";
    let report = parse(log);
    assert_eq!(report.problems, vec![]);
    assert_eq!(report.suites[0].name, "only");
}

#[test]
fn hash_lines_at_any_indentation() {
    let log = "KTAP version 1\n1..1\n    KTAP version 1\n    # Subtest: s\n    1..1\n# INFO: column 0\n  # odd indent\n    ok 1 a\nok 1 s\n";
    let report = parse(log);
    assert_eq!(report.problems, vec![]);
    assert_eq!(report.suites[0].children[0].diagnostics, vec!["INFO: column 0", "odd indent"]);
}

#[test]
fn missing_header() {
    assert_eq!(kinds(&parse("ok 1 a\n")), vec![&ProblemKind::NoHeader]);
    assert_eq!(kinds(&parse("")), vec![&ProblemKind::NoHeader]);
}

#[test]
fn missing_plan() {
    let report = parse("KTAP version 1\nok 1 a\n");
    assert!(matches!(kinds(&report)[..], [ProblemKind::MissingPlan { .. }]));
    let nested = parse("KTAP version 1\n1..1\n    KTAP version 1\n    # Subtest: s\n    ok 1 a\nok 1 s\n");
    assert_eq!(kinds(&nested), vec![&ProblemKind::MissingPlan { group: "subtest `s`".to_string() }]);
}

#[test]
fn mismatching_plan() {
    let nested = parse("KTAP version 1\n1..1\n    KTAP version 1\n    # Subtest: s\n    1..3\n    ok 1 a\nok 1 s\n");
    assert_eq!(
        kinds(&nested),
        vec![&ProblemKind::PlanMismatch { group: "subtest `s`".to_string(), planned: 3, seen: 1 }]
    );
    let top = parse("KTAP version 1\n1..1\nok 1 a\nok 2 b\n");
    assert!(matches!(kinds(&top)[..], [ProblemKind::PlanMismatch { planned: 1, seen: 2, .. }]));
}

#[test]
fn duplicate_and_second_plan() {
    let report = parse("KTAP version 1\n1..2\n1..2\nok 1 a\nok 2 b\n");
    assert!(matches!(kinds(&report)[..], [ProblemKind::DuplicatePlan { .. }]));
    let late = parse("KTAP version 1\nok 1 a\n1..1\n");
    assert!(matches!(kinds(&late)[..], [ProblemKind::PlanAfterResults { .. }]));
}

#[test]
fn duplicate_number() {
    let report = parse("KTAP version 1\n1..2\nok 1 a\nok 1 b\n");
    assert!(matches!(kinds(&report)[..], [ProblemKind::DuplicateNumber { number: 1, .. }]));
}

#[test]
fn out_of_order_number() {
    let report = parse("KTAP version 1\n1..2\nok 2 a\nok 1 b\n");
    assert!(matches!(
        kinds(&report)[..],
        [ProblemKind::OutOfOrder { expected: 1, seen: 2, .. }, ProblemKind::OutOfOrder { expected: 3, seen: 1, .. }]
    ));
}

#[test]
fn truncated_log() {
    let mid_suite = parse("KTAP version 1\n1..2\n    KTAP version 1\n    # Subtest: s\n    1..2\n    ok 1 a\n");
    assert!(matches!(kinds(&mid_suite)[..], [ProblemKind::Truncated { .. }]));
    let between = parse("KTAP version 1\n1..2\nok 1 a\n");
    assert!(matches!(kinds(&between)[..], [ProblemKind::Truncated { .. }]));
}

#[test]
fn garbage_inside_the_body() {
    let report = parse("KTAP version 1\n1..1\nBUG: unable to handle\nok 1 a\n");
    assert_eq!(kinds(&report), vec![&ProblemKind::Garbage { text: "BUG: unable to handle".to_string() }]);
    let indent = parse("KTAP version 1\n1..1\n  ok 1 a\n");
    assert!(matches!(kinds(&indent)[..], [ProblemKind::BadIndent { .. }, ProblemKind::Truncated { .. }]));
}

#[test]
fn result_name_must_match_subtest() {
    let report = parse("KTAP version 1\n1..1\n    KTAP version 1\n    # Subtest: s\n    1..1\n    ok 1 a\nok 1 t\n");
    assert_eq!(kinds(&report), vec![&ProblemKind::NameMismatch { subtest: "s".to_string(), result: "t".to_string() }]);
}

#[test]
fn parent_status_must_follow_children() {
    let ok_parent =
        parse("KTAP version 1\n1..1\n    KTAP version 1\n    # Subtest: s\n    1..1\n    not ok 1 a\nok 1 s\n");
    assert_eq!(kinds(&ok_parent), vec![&ProblemKind::ParentDisagrees { name: "s".to_string(), parent_ok: true }]);
    let failed_parent =
        parse("KTAP version 1\n1..1\n    KTAP version 1\n    # Subtest: s\n    1..1\n    ok 1 a\nnot ok 1 s\n");
    assert_eq!(kinds(&failed_parent), vec![&ProblemKind::ParentDisagrees { name: "s".to_string(), parent_ok: false }]);
}

#[test]
fn printed_counts_must_match_results() {
    let log = GOOD.replace("# Totals: pass:4 fail:1 skip:2 total:7", "# Totals: pass:5 fail:1 skip:2 total:8");
    let report = parse(&log);
    assert!(matches!(&kinds(&report)[..], [ProblemKind::CountsMismatch { name, .. }] if name == "Totals"));
    let suite = GOOD.replace("# boot: pass:1 fail:1", "# boot: pass:2 fail:0");
    assert!(matches!(&kinds(&parse(&suite))[..], [ProblemKind::CountsMismatch { name, .. }] if name == "boot"));
}

#[test]
fn nesting_errors() {
    let deep = parse("KTAP version 1\n1..1\n        ok 1 a\n");
    assert!(matches!(kinds(&deep)[0], ProblemKind::BadNesting { .. }));
    let unclosed = parse(
        "KTAP version 1\n1..1\n    KTAP version 1\n    # Subtest: s\n    1..1\n        KTAP version 1\n        \
         # Subtest: c\n        1..1\n        ok 1 v\nok 1 s\n",
    );
    assert!(kinds(&unclosed).contains(&&ProblemKind::UnclosedSubtest { name: "c".to_string() }));
}

#[test]
fn problems_display_with_line_numbers() {
    let report = parse("KTAP version 1\n1..1\nBUG\nok 1 a\n");
    assert_eq!(report.problems[0].to_string(), "line 3: not KTAP: `BUG`");
    let truncated = parse("KTAP version 1\n1..2\nok 1 a\n");
    assert_eq!(
        truncated.problems[0].to_string(),
        "end of log: log is truncated: the top level planned 1..2 but has 1 results"
    );
}

#[test]
fn the_kernels_crash_line_names_the_running_test() {
    use super::parser::running_name;
    let open = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
    let name = |reason: &str, names: &[&str]| running_name(reason, &open(names));
    assert_eq!(name("data abort (in crash.wild_pointer[-])", &["crash"]).as_deref(), Some("wild_pointer"));
    assert_eq!(name("oops (in s.c[arm64])", &["s", "c"]).as_deref(), Some("arm64"));
    assert_eq!(name("oops (in s.c[arm64])", &["s", "c.detects_bug"]).as_deref(), Some("arm64"));
    assert_eq!(name("oops (in s.c.detects_bug.arm64)", &["s", "c.detects_bug"]).as_deref(), Some("arm64"));
    assert_eq!(name("oops (in s.c.queued)", &["s", "c"]).as_deref(), Some("queued"));
    assert_eq!(name("oops (in other.c[arm64])", &["s", "c"]), None);
    assert_eq!(name("oops (in s.c[-])", &[]), None);
    assert_eq!(name("kernel panic at x.rs:1", &["s"]), None);
}

#[test]
fn an_unfinished_suite_keeps_its_results_and_the_running_test() {
    let log = "\
KTAP version 1
1..2
    KTAP version 1
    # Subtest: s
    1..2
    ok 1 first
        KTAP version 1
        # Subtest: c
        1..3
        ok 1 none
# EXCEPTION: data abort
# CRASH: data abort (in s.c[arm64])
";
    let report = parse(log);
    assert!(report.suites.is_empty());
    let suite = report.unfinished.as_ref().expect("the open suite");
    assert_eq!((suite.name.as_str(), suite.number, suite.status), ("s", 1, Status::Crashed));
    assert_eq!(suite.children[0].status, Status::Pass);
    let case = &suite.children[1];
    assert_eq!((case.name.as_str(), case.number, case.status), ("c", 2, Status::Crashed));
    let running = &case.children[1];
    assert_eq!((running.name.as_str(), running.number, running.status), ("arm64", 2, Status::Crashed));
    assert_eq!(running.reason.as_deref(), Some("data abort (in s.c[arm64])"));
    assert_eq!(running.diagnostics, ["EXCEPTION: data abort"]);
    assert_eq!(running.line, 12);
    let counts = suite.leaf_counts();
    assert_eq!((counts.pass, counts.crashed, counts.total()), (2, 1, 3));
    assert_eq!(report.counts().total(), 0, "only finished suites count for the verdict");
}

#[test]
fn a_subtest_cut_after_its_last_test_is_itself_the_unfinished_one() {
    let report = parse("KTAP version 1\n1..1\n    KTAP version 1\n    # Subtest: s\n    1..1\n    ok 1 a\n# x\n");
    let suite = report.unfinished.as_ref().expect("the open suite");
    assert_eq!(suite.children.len(), 1);
    assert_eq!(suite.diagnostics, ["x"]);
    let unnamed = parse("KTAP version 1\n1..1\n    KTAP version 1\n    1..2\n");
    let running = &unnamed.unfinished.as_ref().expect("open").children[0];
    assert_eq!((running.name.as_str(), running.status), ("#1", Status::Crashed));
}

#[test]
fn fed_lines_time_each_test_from_the_previous_result() {
    let mut parser = Parser::new();
    let lines = ["KTAP version 1", "1..2", "ok 1 a", "# slow", "ok 2 b"];
    for (line, at_ms) in lines.iter().zip([5, 6, 20, 21, 70]) {
        parser.feed_at(line, std::time::Duration::from_millis(at_ms));
    }
    let report = parser.finish();
    let times: Vec<_> = report.suites.iter().map(|node| node.time.map(|t| t.as_millis())).collect();
    assert_eq!(times, [Some(15), Some(50)]);
    assert!(parse(GOOD).suites.iter().all(|suite| suite.time.is_none()));
}
