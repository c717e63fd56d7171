//! mm/tests/lazy_mmu_mode_kunit.c (ee628d9cc8d5, v6 patch 14/14,
//! 20251215150323.2218608-15-kevin.brodsky@arm.com) as a case, and the
//! v7.0 rules of include/linux/pgtable.h it rests on: pause masks every
//! call, interrupt context is a no-op, the `u8` counts warn at `U8_MAX`.

use ktest::{kcheck_eq, ktest_case, Applies, BuggyExpect, Ctx, Judge, Order, Plan, Target};
use mm::{Flavour, InjectedBug, NestingPolicy, Rule, Switch};

use super::EVERY_FLAVOUR;
use crate::support::{check_report_rules, env};

fn state_plan(_flavour: Flavour, _target: Target) -> Plan {
    Plan { fixed: Applies::Yes, buggy: BuggyExpect::Caught { judges: &[Judge::State], rules: &[] } }
}

/// The KUnit test's steps: after each call, whether lazy mode is active.
/// Fixed: v7.0's counter; buggy: arm64's flag (1ef3095b1405), under which
/// the nested disable ends the section.
fn kunit_lazy_mmu_mode_active(ctx: &mut Ctx) {
    let mm = env(ctx).mm();
    if ctx.order() == Order::Buggy {
        mm.set_nesting_policy(NestingPolicy::PermissiveFlag);
    }
    type Step = (&'static str, fn(&crate::KernelMm), bool);
    let steps: [Step; 9] = [
        ("enable", |mm| mm.lazy_mmu_mode_enable(), true),
        ("nested enable", |mm| mm.lazy_mmu_mode_enable(), true),
        ("nested disable", |mm| mm.lazy_mmu_mode_disable(), true),
        ("pause", |mm| mm.lazy_mmu_mode_pause(), false),
        ("enable in pause", |mm| mm.lazy_mmu_mode_enable(), false),
        ("disable in pause", |mm| mm.lazy_mmu_mode_disable(), false),
        ("nested pause", |mm| mm.lazy_mmu_mode_pause(), false),
        ("nested resume", |mm| mm.lazy_mmu_mode_resume(), false),
        ("resume", |mm| mm.lazy_mmu_mode_resume(), true),
    ];
    kcheck_eq!(ctx, Judge::State, mm.is_lazy_mmu_mode_active(), false, "kunit: active before enable");
    for (name, call, active) in steps {
        call(mm);
        kcheck_eq!(ctx, Judge::State, mm.is_lazy_mmu_mode_active(), active, "kunit: active after {name}");
    }
    // Close whatever is still open so the case ends quiescent either way.
    while mm.lazy_state(mm.cpu_id()).enable_count > 0 {
        mm.lazy_mmu_mode_disable();
    }
    kcheck_eq!(ctx, Judge::State, mm.is_lazy_mmu_mode_active(), false, "kunit: active after disable");
}

ktest_case!(
    upstream,
    kunit_lazy_mmu_mode_active,
    desc = "the KUnit test's steps: whether lazy mode is active after each call (v7.0 counter)",
    plan = state_plan,
    variants = EVERY_FLAVOUR,
    kunit_lazy_mmu_mode_active
);

fn pause_plan(_flavour: Flavour, _target: Target) -> Plan {
    // The disable inside the pause ends the section: the last disable
    // underflows.
    Plan {
        fixed: Applies::Yes,
        buggy: BuggyExpect::Caught { judges: &[Judge::State, Judge::Sanitizer], rules: &[Rule::DisableWithoutEnable] },
    }
}

/// v7.0: every call between pause and resume has no effect. Buggy: the
/// pre-v7.0 pause of this repository, where a disable inside the pause
/// ended the section and the resume found nothing to resume.
fn pause_masks_calls(ctx: &mut Ctx) {
    let mm = env(ctx).mm();
    let cpu = mm.cpu_id();
    if ctx.order() == Order::Buggy {
        mm.inject_bug(InjectedBug::PauseDoesNotMask);
    }
    mm.lazy_mmu_mode_enable();
    mm.lazy_mmu_mode_pause();
    mm.lazy_mmu_mode_disable();
    mm.lazy_mmu_mode_enable();
    mm.lazy_mmu_mode_disable();
    let paused = mm.lazy_state(cpu);
    kcheck_eq!(
        ctx,
        Judge::State,
        (paused.enable_count, paused.pause_count),
        (1, 1),
        "pause_masks_calls: counts in pause"
    );
    mm.lazy_mmu_mode_resume();
    kcheck_eq!(ctx, Judge::State, mm.is_lazy_mmu_mode_active(), true, "pause_masks_calls: active after resume");
    mm.lazy_mmu_mode_disable();
}

ktest_case!(
    upstream,
    pause_masks_calls,
    desc = "v7.0: every call between pause and resume has no effect",
    plan = pause_plan,
    variants = EVERY_FLAVOUR,
    pause_masks_calls
);

/// v7.0 (9273dfaeaca8, arm64 b81c688426a9): in interrupt context every
/// lazy_mmu_mode_* call returns at once and nothing is active. Buggy: the
/// handler joins the task's section.
fn irq_calls_noop(ctx: &mut Ctx) {
    let env = env(ctx);
    let mm = env.mm();
    let cpu = mm.cpu_id();
    if ctx.order() == Order::Buggy {
        mm.inject_bug(InjectedBug::IrqJoinsSection);
    }
    mm.lazy_mmu_mode_enable();
    let before = mm.lazy_state(cpu);
    let mut in_irq = None;
    let interrupted = env.in_interrupt(&mut || {
        let active_on_entry = mm.is_lazy_mmu_mode_active();
        mm.lazy_mmu_mode_disable();
        mm.lazy_mmu_mode_pause();
        mm.lazy_mmu_mode_enable();
        mm.lazy_mmu_mode_resume();
        in_irq = Some((active_on_entry, mm.is_lazy_mmu_mode_active()));
    });
    kcheck_eq!(ctx, Judge::State, mm.lazy_state(cpu), before, "irq_calls_noop: task state after the interrupt");
    mm.lazy_mmu_mode_disable();
    match in_irq {
        Some(seen) => {
            kcheck_eq!(ctx, Judge::State, seen, (false, false), "irq_calls_noop: active in irq (entry, end)");
        }
        None if !interrupted => ctx.skip("the timer interrupt never came"),
        None => {}
    }
}

ktest_case!(
    upstream,
    irq_calls_noop,
    desc = "v7.0: in interrupt context every lazy_mmu_mode_* call returns at once, nothing is active",
    plan = state_plan,
    variants = EVERY_FLAVOUR,
    irq_calls_noop
);

fn sanitizer_plan(_flavour: Flavour, _target: Target) -> Plan {
    // The sanitizer is off: the overflow's report is missing.
    Plan {
        fixed: Applies::Yes,
        buggy: BuggyExpect::Caught { judges: &[Judge::Sanitizer], rules: &[Rule::EnableCountOverflow] },
    }
}

/// v7.0's `VM_WARN_ON_ONCE(enable_count == U8_MAX)`: the 256th nested
/// enable warns (here: is reported and refused). Buggy: nothing checks the counts.
fn overflow_warns(ctx: &mut Ctx) {
    let mm = env(ctx).mm();
    let cpu = mm.cpu_id();
    if ctx.order() == Order::Buggy {
        mm.set_sanitizer(Switch::Off);
    }
    for _ in 0..u8::MAX {
        mm.lazy_mmu_mode_enable();
    }
    mm.lazy_mmu_mode_enable();
    kcheck_eq!(ctx, Judge::State, mm.lazy_state(cpu).enable_count, u8::MAX, "overflow_warns: enable_count");
    for _ in 0..u8::MAX {
        mm.lazy_mmu_mode_disable();
    }
    mm.set_sanitizer(Switch::On);
    check_report_rules(ctx, "overflow_warns", &mm.take_reports(), &[Rule::EnableCountOverflow]);
}

ktest_case!(
    upstream,
    overflow_warns,
    desc = "v7.0: the 256th nested enable warns (reported and refused)",
    plan = sanitizer_plan,
    variants = EVERY_FLAVOUR,
    overflow_warns
);
