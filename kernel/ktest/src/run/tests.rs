//! The runner against the fake platform: KTAP structure, counts, skips,
//! failures, timeouts, unexpected faults, the detects_bug inversion, inject,
//! list mode and selection.

use std::string::String;
use std::vec::Vec;

use mm::Flavour;

use super::run_cases;
use crate::case::{Applies, BuggyExpect, Case, Judge, Order, Plan};
use crate::cmdline::Options;
use crate::ctx::{Ctx, MAX_KEPT_FAILURES};
use crate::fake::{parse_ktap, serialise_runs, FakePlatform, Node};
use crate::target::Target;
use crate::{kcheck, kcheck_eq};

mod selection;

const fn case(suite: &'static str, name: &'static str, variants: &'static [Flavour], run: fn(&mut Ctx)) -> Case {
    Case { suite, name, variants, desc: "", run, plan: None, file: file!(), line: line!() }
}

const fn described(case: Case) -> Case {
    Case { desc: "one barrier pair per section", ..case }
}

const fn planned(case: Case, plan: crate::PlanFn) -> Case {
    Case { plan: Some(plan), ..case }
}

static PASSES: Case = case("boot", "passes", &[], |ctx| {
    kcheck!(ctx, Judge::Mmu, ctx.variant().is_none(), "a case without variants has no variant");
});
static FAILS: Case = case("boot", "fails", &[], |ctx| {
    kcheck_eq!(ctx, Judge::Mmu, 0, 1, "faults at va:{:#x}", 0x1000);
    kcheck!(ctx, Judge::State, false, "second check");
});
static SKIPS: Case = case("boot", "skips", &[], |ctx| ctx.skip("no second CPU"));
static HANGS: Case = case("boot", "hangs", &[], |_| {});
static CRASHES: Case = case("boot", "crashes", &[], |_| {});

const FLAVOURS: &[Flavour] = &[Flavour::None, Flavour::Arm64, Flavour::Queued];

/// arm64: caught by exactly the counters; queued: harmless; none: not applicable.
fn batched_plan(flavour: Flavour, _target: Target) -> Plan {
    match flavour {
        Flavour::Arm64 => {
            Plan { fixed: Applies::Yes, buggy: BuggyExpect::Caught { judges: &[Judge::Counters], rules: &[] } }
        }
        Flavour::Queued => Plan { fixed: Applies::Yes, buggy: BuggyExpect::Harmless("queued writes land in order") },
        _ => Plan { fixed: Applies::No("arm64 flavour only"), buggy: BuggyExpect::NotApplicable("no barriers") },
    }
}
static BATCHED: Case = planned(
    described(case("lazy_batch", "batched", FLAVOURS, |ctx| {
        if ctx.order() == Order::Buggy && ctx.variant() == Some(Flavour::Arm64) {
            kcheck_eq!(ctx, Judge::Counters, 512, 1, "barrier pairs inside lazy");
        }
    })),
    batched_plan,
);

fn mmu_plan(_flavour: Flavour, _target: Target) -> Plan {
    Plan { fixed: Applies::Yes, buggy: BuggyExpect::Caught { judges: &[Judge::Mmu], rules: &[] } }
}
static TOOTHLESS: Case = planned(case("lazy_batch", "toothless", &[Flavour::Arm64], |_| {}), mmu_plan);
static WRONG_JUDGE: Case = planned(
    case("lazy_batch", "wrong_judge", &[], |ctx| {
        if ctx.order() == Order::Buggy {
            ctx.fail(Judge::State, format_args!("in_lazy still true"));
        }
    }),
    mmu_plan,
);

fn harmless_plan(_flavour: Flavour, _target: Target) -> Plan {
    Plan { fixed: Applies::Yes, buggy: BuggyExpect::Harmless("the flush is idempotent") }
}
static HARMFUL: Case = planned(
    case("lazy_batch", "harmful", &[], |ctx| {
        if ctx.order() == Order::Buggy {
            ctx.fail(Judge::Mmu, format_args!("stale read"));
        }
    }),
    harmless_plan,
);

fn nowhere_plan(_flavour: Flavour, _target: Target) -> Plan {
    Plan { fixed: Applies::No("needs two CPUs"), buggy: BuggyExpect::NotApplicable("needs two CPUs") }
}
static NOWHERE: Case = planned(case("nesting", "nowhere", &[Flavour::None, Flavour::Queued], |_| {}), nowhere_plan);

static ALL: [&Case; 10] =
    [&PASSES, &FAILS, &SKIPS, &HANGS, &CRASHES, &BATCHED, &TOOTHLESS, &WRONG_JUDGE, &HARMFUL, &NOWHERE];

struct Run {
    platform: FakePlatform,
    summary: super::Summary,
    nodes: Vec<Node>,
    trailer: Vec<String>,
}

fn run_with(options: &Options, cases: &[&'static Case]) -> Run {
    let _serial = serialise_runs();
    let platform = FakePlatform::default();
    platform.hang.borrow_mut().push("hangs");
    platform.crash.borrow_mut().push("crashes");
    let summary = run_cases(&platform, options, &(), cases);
    let (nodes, trailer) = parse_ktap(&platform.output());
    Run { platform, summary, nodes, trailer }
}

fn top<'n>(nodes: &'n [Node], name: &str) -> &'n Node {
    nodes.iter().find(|node| node.name == name).unwrap_or_else(|| panic!("no suite {name}"))
}

/// (pass, fail, skip) over the leaves under `nodes`.
fn leaf_counts(nodes: &[Node]) -> (usize, usize, usize) {
    let mut counts = (0, 0, 0);
    for node in nodes {
        if node.children.is_empty() {
            let skipped = node.directive.as_deref().is_some_and(|d| d.starts_with("SKIP"));
            match (node.ok, skipped) {
                (true, false) => counts.0 += 1,
                (false, _) => counts.1 += 1,
                (true, true) => counts.2 += 1,
            }
        } else {
            let (pass, fail, skip) = leaf_counts(&node.children);
            counts = (counts.0 + pass, counts.1 + fail, counts.2 + skip);
        }
    }
    counts
}

fn counts_line(name: &str, (pass, fail, skip): (usize, usize, usize)) -> String {
    format!("{name}: pass:{pass} fail:{fail} skip:{skip} total:{}", pass + fail + skip)
}

#[test]
fn tree_has_a_node_per_suite_case_and_variant() {
    let run = run_with(&Options::default(), &ALL);
    let names: Vec<&str> = run.nodes.iter().map(|node| node.name.as_str()).collect();
    assert_eq!(names, ["boot", "lazy_batch", "nesting"]);
    let boot: Vec<&str> = top(&run.nodes, "boot").children.iter().map(|node| node.name.as_str()).collect();
    assert_eq!(boot, ["passes", "fails", "skips", "hangs", "crashes"]);
    let lazy = top(&run.nodes, "lazy_batch");
    let batched_variants: Vec<&str> = lazy.child("batched").children.iter().map(|n| n.name.as_str()).collect();
    let flavour_names: Vec<&str> = FLAVOURS.iter().map(|flavour| flavour.name()).collect();
    assert_eq!(batched_variants, flavour_names);
    assert_eq!(lazy.child("batched.detects_bug").children.len(), FLAVOURS.len());
    assert!(lazy.child("wrong_judge.detects_bug").children.is_empty(), "a case without variants is a leaf");
}

#[test]
fn counts_lines_and_summary_agree_with_the_leaves() {
    let run = run_with(&Options::default(), &ALL);
    for suite in &run.nodes {
        let expected = counts_line(&suite.name, leaf_counts(&suite.children));
        assert_eq!(suite.diags.last(), Some(&expected), "suite {}", suite.name);
        for case in suite.children.iter().filter(|case| !case.children.is_empty()) {
            let expected = counts_line(&case.name, leaf_counts(&case.children));
            assert_eq!(case.diags.last(), Some(&expected), "case {}", case.name);
        }
    }
    let (pass, fail, skip) = leaf_counts(&run.nodes);
    assert_eq!(run.trailer, [format!("# {}", counts_line("Totals", (pass, fail, skip)))]);
    let summary = run.summary;
    assert_eq!((summary.pass, summary.fail, summary.skip), (pass, fail, skip));
    assert_eq!(summary.total, pass + fail + skip);
    assert_eq!(summary.timeouts, 1);
    assert!(!summary.passed());
}

#[test]
fn parents_are_ok_iff_no_child_failed() {
    let run = run_with(&Options::default(), &ALL);
    assert!(!top(&run.nodes, "boot").ok);
    let lazy = top(&run.nodes, "lazy_batch");
    assert!(lazy.child("batched").ok);
    assert!(lazy.child("batched.detects_bug").ok);
    assert!(!lazy.child("toothless.detects_bug").ok);
    let nowhere = top(&run.nodes, "nesting");
    assert!(nowhere.ok);
    assert_eq!(nowhere.directive.as_deref(), Some("SKIP all cases skipped"));
    assert_eq!(nowhere.child("nowhere").directive.as_deref(), Some("SKIP all variants skipped"));
}

#[test]
fn failing_leaf_prints_its_checks_before_the_result() {
    let run = run_with(&Options::default(), &ALL);
    let fails = top(&run.nodes, "boot").child("fails");
    assert!(!fails.ok);
    assert_eq!(fails.directive.as_deref(), Some("faults at va:0x1000: expected 1, saw 0"));
    assert_eq!(fails.diags.len(), 4, "a header and a detail line per check: {:?}", fails.diags);
    assert!(fails.diags[0].starts_with("fails: mmu check failed at kernel/ktest/src/run/tests.rs:"));
    assert_eq!(fails.diags[1], "  faults at va:0x1000: expected 1, saw 0");
    assert!(fails.diags[2].starts_with("fails: state check failed at kernel/ktest/src/run/tests.rs:"));
    assert_eq!(fails.diags[3], "  second check");
    let passes = top(&run.nodes, "boot").child("passes");
    assert!(passes.ok && passes.directive.is_none() && passes.diags.is_empty());
}

#[test]
fn skip_timeout_and_unexpected_fault() {
    let run = run_with(&Options::default(), &ALL);
    let boot = top(&run.nodes, "boot");
    let skips = boot.child("skips");
    assert!(skips.ok);
    assert_eq!(skips.directive.as_deref(), Some("SKIP no second CPU"));
    let hangs = boot.child("hangs");
    assert!(!hangs.ok);
    assert_eq!(hangs.directive.as_deref(), Some("TIMEOUT after 10000 ms"));
    assert!(hangs.diags[0].starts_with("hangs: still running after 10000 ms, abandoned ("));
    let crashes = boot.child("crashes");
    assert!(!crashes.ok);
    assert!(crashes
        .directive
        .as_deref()
        .is_some_and(|d| d.starts_with("unexpected write fault (write-protected) at 0x40081000")));
    assert!(crashes.diags[0].starts_with("crashes: unexpected write fault (write-protected) at 0x40081000"));
    let hooks = run.platform.hooks.borrow();
    let after_hang = hooks.iter().position(|hook| hook == "before boot.hangs - Fixed").expect("hangs ran");
    assert_eq!(hooks[after_hang + 1], "after boot.hangs", "after_case runs after a timeout too");
}

#[test]
fn run_goes_on_after_a_timeout() {
    let run = run_with(&Options::default(), &[&HANGS, &PASSES]);
    let boot = top(&run.nodes, "boot");
    assert!(!boot.child("hangs").ok);
    assert!(boot.child("passes").ok);
}

#[test]
fn not_applicable_variants_are_skipped_with_the_reason() {
    let run = run_with(&Options::default(), &ALL);
    let batched = top(&run.nodes, "lazy_batch").child("batched");
    assert_eq!(batched.child("none").directive.as_deref(), Some("SKIP not applicable: arm64 flavour only"));
    assert!(batched.child("arm64").ok && batched.child("arm64").directive.is_none());
}

#[test]
fn detects_bug_inverts_the_verdict() {
    let run = run_with(&Options::default(), &ALL);
    let lazy = top(&run.nodes, "lazy_batch");
    let detects = lazy.child("batched.detects_bug");
    let arm64 = detects.child("arm64");
    assert!(arm64.ok, "caught by an expected judge passes");
    assert_eq!(arm64.diags, ["arm64: caught by counters", "  barrier pairs inside lazy: expected 1, saw 512"]);
    let queued = detects.child("queued");
    assert!(queued.ok, "a harmless bug that stays silent passes");
    assert_eq!(queued.diags, ["queued: harmless: queued writes land in order"]);
    assert_eq!(detects.child("none").directive.as_deref(), Some("SKIP not applicable: no barriers"));

    let toothless = lazy.child("toothless.detects_bug").child("arm64");
    assert!(!toothless.ok, "a buggy form no judge catches fails");
    assert_eq!(toothless.directive.as_deref(), Some("buggy form passed every judge (expected mmu)"));

    let wrong_judge = lazy.child("wrong_judge.detects_bug");
    assert!(!wrong_judge.ok, "caught by another judge only fails");
    assert_eq!(wrong_judge.directive.as_deref(), Some("not caught by the expected mmu"));
    assert_eq!(
        wrong_judge.diags[..2],
        ["wrong_judge.detects_bug: also caught by state, which the plan does not name", "  in_lazy still true"]
    );
    assert!(wrong_judge.diags[2]
        .starts_with("wrong_judge.detects_bug: not caught by the expected mmu (kernel/ktest/src/run/tests.rs:"));

    let harmful = lazy.child("harmful.detects_bug");
    assert!(!harmful.ok, "a bug expected harmless that a judge catches fails");
    assert_eq!(harmful.directive.as_deref(), Some("expected harmless, but caught by mmu: stale read"));
}

#[test]
fn detects_bug_runs_the_buggy_order_and_plain_runs_the_fixed_one() {
    let run = run_with(&Options::default(), &[&BATCHED]);
    let hooks = run.platform.hooks.borrow();
    let befores: Vec<&str> = hooks.iter().filter(|hook| hook.starts_with("before")).map(String::as_str).collect();
    assert_eq!(
        befores,
        [
            "before lazy_batch.batched arm64 Fixed",
            "before lazy_batch.batched queued Fixed",
            "before lazy_batch.batched arm64 Buggy",
            "before lazy_batch.batched queued Buggy",
        ]
    );
}

#[test]
fn an_unexpected_fault_in_the_buggy_form_counts_as_the_mmu_catching_it() {
    static FAULTING: Case = planned(case("flush_order", "crashes", &[], |_| {}), mmu_plan);
    let run = run_with(&Options::default(), &[&FAULTING]);
    let detects = top(&run.nodes, "flush_order").child("crashes.detects_bug");
    assert!(detects.ok);
    assert_eq!(detects.diags[0], "crashes.detects_bug: caught by mmu");
    assert!(detects.diags[1].starts_with("  unexpected write fault (write-protected)"));
}

#[test]
fn inject_runs_the_plain_form_buggy_so_the_run_fails() {
    let options = Options { inject: Some(BATCHED.id()), ..Options::default() };
    let run = run_with(&options, &[&PASSES, &BATCHED]);
    let batched = top(&run.nodes, "lazy_batch").child("batched");
    assert!(!batched.ok);
    assert_eq!(batched.child("arm64").directive.as_deref(), Some("barrier pairs inside lazy: expected 1, saw 512"));
    assert!(batched.child("queued").ok, "harmless where the plan says so");
    assert!(top(&run.nodes, "lazy_batch").child("batched.detects_bug").ok);
    assert!(!run.summary.passed());
    assert!(run.platform.output().contains("inject=lazy_batch.batched"));
}

#[test]
fn sanitizer_reports_from_after_case_fail_the_case() {
    let _serial = serialise_runs();
    let platform = FakePlatform::default();
    platform.sanitizer_reports.borrow_mut().push("passes");
    let summary = run_cases(&platform, &Options::default(), &(), &[&PASSES]);
    let (nodes, _) = parse_ktap(&platform.output());
    let passes = top(&nodes, "boot").child("passes");
    assert_eq!(passes.directive.as_deref(), Some("lazy section left open"));
    assert_eq!(summary.fail, 1);
}

#[test]
fn a_flood_of_failures_is_capped() {
    static FLOODS: Case = case("boot", "floods", &[], |ctx| {
        for page in 0..40 {
            kcheck!(ctx, Judge::Mmu, false, "page {page} stale");
        }
    });
    let run = run_with(&Options::default(), &[&FLOODS]);
    let floods = top(&run.nodes, "boot").child("floods");
    assert_eq!(floods.diags.len(), 2 * MAX_KEPT_FAILURES + 1, "two lines per kept failure, one for the rest");
    assert_eq!(floods.diags.last().map(String::as_str), Some("floods: 24 more failed checks not shown"));
    assert_eq!(floods.directive.as_deref(), Some("page 0 stale"));
}

#[test]
fn a_reason_never_carries_a_directive_word() {
    static SAYS_SKIP: Case = case("boot", "says_skip", &[], |ctx| {
        ctx.fail(Judge::State, format_args!("SKIP list and TODO\nand TIMEOUT"));
    });
    let run = run_with(&Options::default(), &[&SAYS_SKIP]);
    let leaf = top(&run.nodes, "boot").child("says_skip");
    assert!(!leaf.ok);
    assert_eq!(leaf.directive.as_deref(), Some("skip list and todo"));
}

#[test]
fn current_case_names_the_running_body() {
    static ASKS: Case = case("boot", "asks", &[Flavour::Arm64], |ctx| {
        let running = crate::current().expect("a case is running");
        kcheck_eq!(ctx, Judge::State, crate::current_case(), Some(("boot", "asks")), "current_case");
        kcheck_eq!(ctx, Judge::State, running.variant, Some(Flavour::Arm64), "current variant");
        kcheck_eq!(ctx, Judge::State, running.order, Order::Fixed, "current order");
    });
    let run = run_with(&Options::default(), &[&ASKS]);
    assert!(run.summary.passed(), "{}", run.platform.output());
    assert_eq!(run.summary.total, 1);
    let _serial = serialise_runs();
    assert_eq!(crate::current_case(), None);
}
