//! The `detects_bug` verdict is exact: the judges a plan names, and for the
//! sanitizer the rules it names, must all report, and nobody else may. The
//! judge table list mode prints says the same.

use core::panic::Location;
use std::string::String;
use std::vec::Vec;

use mm::{Flavour, Rule};

use super::run_cases;
use crate::case::{Applies, BuggyExpect, Case, Judge, Order, Plan};
use crate::cmdline::{Flavours, LogLevel, Mode, Options};
use crate::ctx::{Ctx, MAX_KEPT_FAILURES};
use crate::fake::{parse_ktap, serialise_runs, FakePlatform, Node};
use crate::target::{Arch, Target};

const fn planned(name: &'static str, run: fn(&mut Ctx), plan: crate::PlanFn) -> Case {
    Case { suite: "apply_range", name, desc: "", variants: &[], run, plan: Some(plan), file: file!(), line: line!() }
}

/// Exactly the MMU and the sanitizer's "allocation in lazy mode".
fn alloc_plan(_flavour: Flavour, _target: Target) -> Plan {
    Plan {
        fixed: Applies::Yes,
        buggy: BuggyExpect::Caught { judges: &[Judge::Mmu, Judge::Sanitizer], rules: &[Rule::AllocInLazy] },
    }
}

fn report(ctx: &mut Ctx, rule: Rule) {
    ctx.fail_rule(rule, Location::caller(), format_args!("sanitizer: {} on cpu0", rule.name()));
}

/// The buggy form allocates in a section (as planned) and, in `also_state`,
/// also trips the state judge.
fn buggy_allocates(ctx: &mut Ctx, other_rule: Option<Rule>, alloc_rule: bool, also_state: bool) {
    if ctx.order() != Order::Buggy {
        return;
    }
    ctx.fail(Judge::Mmu, format_args!("stale read"));
    if alloc_rule {
        report(ctx, Rule::AllocInLazy);
    }
    if let Some(rule) = other_rule {
        report(ctx, rule);
    }
    if also_state {
        ctx.fail(Judge::State, format_args!("in_lazy still true"));
    }
}

static EXACT: Case = planned("exact", |ctx| buggy_allocates(ctx, None, true, false), alloc_plan);
static RULE_MISSING: Case =
    planned("rule_missing", |ctx| buggy_allocates(ctx, Some(Rule::SectionLeftOpen), false, false), alloc_plan);
static EXTRA_RULE: Case =
    planned("extra_rule", |ctx| buggy_allocates(ctx, Some(Rule::SectionLeftOpen), true, false), alloc_plan);
static EXTRA_JUDGE: Case = planned("extra_judge", |ctx| buggy_allocates(ctx, None, true, true), alloc_plan);

fn detects_bug(case: &'static Case) -> Node {
    let _serial = serialise_runs();
    let platform = FakePlatform::default();
    let options = Options { filter: vec![String::from("*.detects_bug")], ..Options::default() };
    run_cases(&platform, &options, &(), &[case]);
    let (mut nodes, _) = parse_ktap(&platform.output());
    let mut suite = nodes.remove(0);
    suite.children.remove(0)
}

#[test]
fn exactly_the_planned_judges_and_rules_pass() {
    let leaf = detects_bug(&EXACT);
    assert!(leaf.ok, "{leaf:?}");
    assert_eq!(
        leaf.diags,
        [
            "exact.detects_bug: caught by mmu",
            "  stale read",
            "exact.detects_bug: caught by sanitizer(allocation in lazy mode)",
            "  sanitizer: allocation in lazy mode on cpu0",
        ]
    );
}

#[test]
fn a_planned_rule_missing_fails_even_when_another_rule_fires() {
    let leaf = detects_bug(&RULE_MISSING);
    assert!(!leaf.ok);
    assert_eq!(leaf.directive.as_deref(), Some("not caught by the expected sanitizer(allocation in lazy mode)"));
    assert_eq!(
        leaf.diags[2..4],
        [
            "rule_missing.detects_bug: also caught by sanitizer(section left open), which the plan does not name",
            "  sanitizer: section left open on cpu0"
        ]
    );
}

#[test]
fn an_extra_rule_or_judge_is_named_and_fails() {
    let leaf = detects_bug(&EXTRA_RULE);
    assert!(!leaf.ok);
    assert_eq!(
        leaf.directive.as_deref(),
        Some("also caught by sanitizer(section left open), which the plan does not name")
    );
    let leaf = detects_bug(&EXTRA_JUDGE);
    assert!(!leaf.ok);
    assert_eq!(leaf.directive.as_deref(), Some("also caught by state, which the plan does not name"));
    assert_eq!(
        leaf.diags[leaf.diags.len() - 2..],
        ["extra_judge.detects_bug: also caught by state, which the plan does not name", "  in_lazy still true"]
    );
}

#[test]
fn a_judge_past_the_cap_on_kept_failures_still_counts() {
    fn floods_then_state(ctx: &mut Ctx) {
        if ctx.order() == Order::Buggy {
            for page in 0..MAX_KEPT_FAILURES + 4 {
                ctx.fail(Judge::Mmu, format_args!("page {page} stale"));
            }
            report(ctx, Rule::AllocInLazy);
            ctx.fail(Judge::State, format_args!("in_lazy still true"));
        }
    }
    static FLOODS: Case = planned("floods", floods_then_state, alloc_plan);
    let leaf = detects_bug(&FLOODS);
    assert!(!leaf.ok, "{leaf:?}");
    assert_eq!(leaf.directive.as_deref(), Some("also caught by state, which the plan does not name"));
    let caught =
        leaf.diags.iter().position(|diag| diag == "floods.detects_bug: caught by sanitizer(allocation in lazy mode)");
    assert_eq!(
        caught.map(|at| leaf.diags[at + 1].as_str()),
        Some("  sanitizer: allocation in lazy mode on cpu0"),
        "{leaf:?}"
    );
}

#[test]
fn a_malformed_plan_fails_without_running_the_buggy_form() {
    fn sanitizer_without_rules(_flavour: Flavour, _target: Target) -> Plan {
        Plan { fixed: Applies::Yes, buggy: BuggyExpect::Caught { judges: &[Judge::Sanitizer], rules: &[] } }
    }
    static MALFORMED: Case = planned("malformed", |ctx| report(ctx, Rule::AllocInLazy), sanitizer_without_rules);
    let leaf = detects_bug(&MALFORMED);
    assert!(!leaf.ok);
    assert_eq!(
        leaf.directive.as_deref(),
        Some("malformed plan: the sanitizer judge and its rules must be named together")
    );
    let malformed = [
        BuggyExpect::Caught { judges: &[], rules: &[] },
        BuggyExpect::Caught { judges: &[Judge::Mmu], rules: &[Rule::AllocInLazy] },
        BuggyExpect::Caught { judges: &[Judge::Mmu, Judge::Mmu], rules: &[] },
        BuggyExpect::Caught { judges: &[Judge::Sanitizer], rules: &[Rule::AllocInLazy, Rule::AllocInLazy] },
    ];
    assert!(malformed.iter().all(|expect| expect.malformed().is_some()));
    assert_eq!(BuggyExpect::Harmless("no harm").malformed(), None);
    assert_eq!(alloc_plan(Flavour::None, Target::qemu(Arch::X86_64)).buggy.malformed(), None);
}

#[test]
fn the_judge_row_names_the_rules() {
    let rows = crate::judge_rows(&[&EXACT], Target::qemu(Arch::Aarch64));
    let shown: Vec<String> = rows.iter().map(ToString::to_string).collect();
    assert_eq!(shown, ["aarch64 apply_range.exact - fixed=yes buggy=caught:mmu,sanitizer(allocation in lazy mode)"]);
    let two = BuggyExpect::Caught {
        judges: &[Judge::State, Judge::Sanitizer],
        rules: &[Rule::DisableWithoutEnable, Rule::LeaveWithoutEnter],
    };
    assert_eq!(two.to_string(), "buggy=caught:state,sanitizer(disable without enable; leave without enter)");
}

/// Counters on the arm64 flavour; the host model also sees the lost barrier.
fn batched_plan(flavour: Flavour, target: Target) -> Plan {
    match flavour {
        Flavour::Arm64 if target.on_host_model() => {
            Plan { fixed: Applies::Yes, buggy: BuggyExpect::Caught { judges: &[Judge::HostModel], rules: &[] } }
        }
        Flavour::Arm64 => {
            Plan { fixed: Applies::Yes, buggy: BuggyExpect::Caught { judges: &[Judge::Counters], rules: &[] } }
        }
        Flavour::Queued => Plan { fixed: Applies::Yes, buggy: BuggyExpect::Harmless("queued writes land in order") },
        _ => Plan { fixed: Applies::No("arm64 flavour only"), buggy: BuggyExpect::NotApplicable("no barriers") },
    }
}

fn judge_lines(target: Target, options: &Options) -> Vec<String> {
    static BATCHED: Case = Case {
        suite: "lazy_batch",
        name: "batched",
        desc: "",
        variants: &[Flavour::None, Flavour::Arm64, Flavour::Queued],
        run: |_| {},
        plan: Some(batched_plan),
        file: file!(),
        line: line!(),
    };
    let _serial = serialise_runs();
    let platform = FakePlatform::default();
    platform.target.set(Some(target));
    run_cases(&platform, options, &(), &[&BATCHED, &EXACT]);
    assert!(platform.hooks.borrow().is_empty(), "list runs nothing");
    platform.output().lines().filter(|line| line.starts_with("# judge")).map(String::from).collect()
}

#[test]
fn verbose_list_prints_the_judge_table_for_the_target_and_its_model() {
    let options = Options { mode: Mode::List, verbose: true, ..Options::default() };
    let lines = judge_lines(Target::qemu(Arch::X86_64), &options);
    assert_eq!(
        lines,
        [
            "# judge flavours: none arm64 queued tlb-batch deferred-pte",
            "# judge: x86_64 lazy_batch.batched none fixed=no:arm64 flavour only buggy=n/a:no barriers",
            "# judge: x86_64 lazy_batch.batched arm64 fixed=yes buggy=caught:counters",
            "# judge: x86_64 lazy_batch.batched queued fixed=yes buggy=harmless:queued writes land in order",
            "# judge: x86_64 apply_range.exact - fixed=yes buggy=caught:mmu,sanitizer(allocation in lazy mode)",
            "# judge: x86_64-model lazy_batch.batched none fixed=no:arm64 flavour only buggy=n/a:no barriers",
            "# judge: x86_64-model lazy_batch.batched arm64 fixed=yes buggy=caught:host-model",
            "# judge: x86_64-model lazy_batch.batched queued fixed=yes buggy=harmless:queued writes land in order",
            "# judge: x86_64-model apply_range.exact - fixed=yes buggy=caught:mmu,sanitizer(allocation in lazy mode)",
        ]
    );
    // On the model itself, its rows once; a selected flavour keeps its column
    // and the cases without variants.
    let options = Options {
        mode: Mode::List,
        log: LogLevel::Debug,
        flavour: Flavours::of(&[Flavour::Arm64]),
        ..Options::default()
    };
    let lines = judge_lines(Target::host_model(Arch::Aarch64), &options);
    assert_eq!(
        lines,
        [
            "# judge flavours: arm64",
            "# judge: aarch64-model lazy_batch.batched arm64 fixed=yes buggy=caught:host-model",
            "# judge: aarch64-model apply_range.exact - fixed=yes buggy=caught:mmu,sanitizer(allocation in lazy mode)",
        ]
    );
}

#[test]
fn plain_list_prints_no_judge_table() {
    let options = Options { mode: Mode::List, ..Options::default() };
    assert!(judge_lines(Target::qemu(Arch::Aarch64), &options).is_empty());
}
