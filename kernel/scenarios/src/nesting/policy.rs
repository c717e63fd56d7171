//! The nesting rules against each other: the seed's strict rule rejects a
//! nested enter, upstream's counter nests (a nested disable flushes), and
//! arm64's permissive flag (1ef3095b1405) lets the first leave end the
//! outer section.

use core::panic::Location;

use alloc::vec::Vec;

use ktest::{kcheck, kcheck_eq, ktest_case, Applies, BuggyExpect, Ctx, Judge, Order, Plan, Target};
use mm::lazy::{ArchOp, ReportDetail};
use mm::{Flavour, InjectedBug, NestingPolicy, Prot, Report, Rule};

use super::{drop_scratch_page, scratch_page};
use crate::support::{check_reports, env, load, model_hides_unbarriered_stores, page_entry, Loaded, ScratchVa};
use crate::KernelMm;

const REJECTED_NR_PAGES: u64 = 3;

/// Enters lazy mode; returns this call's site, as the sanitizer names it.
#[track_caller]
fn enter(mm: &KernelMm) -> &'static Location<'static> {
    mm.arch_enter_lazy_mmu_mode();
    Location::caller()
}

fn nested_enter_rejected_plan(_flavour: Flavour, _target: Target) -> Plan {
    // The permissive flag lets the nested enter through unreported, and the
    // inner leave ends the outer section: the outer leave underflows.
    Plan {
        fixed: Applies::Yes,
        buggy: BuggyExpect::Caught {
            judges: &[Judge::Sanitizer, Judge::Counters, Judge::State],
            rules: &[Rule::NestedEnter, Rule::LeaveWithoutEnter],
        },
    }
}

/// Under the seed's strict rule a nested enter is reported with its own
/// and the outer section's call sites, and the outer section goes on lazy.
fn nested_enter_rejected(ctx: &mut Ctx) {
    let env = env(ctx);
    let mm = env.mm();
    mm.set_nesting_policy(match ctx.order() {
        Order::Fixed => NestingPolicy::Strict,
        Order::Buggy => NestingPolicy::PermissiveFlag,
    });
    let pages: Vec<_> =
        ScratchVa::take(ctx, REJECTED_NR_PAGES).pages().filter_map(|va| scratch_page(env, va, false)).collect();
    if pages.len() != REJECTED_NR_PAGES as usize {
        pages.into_iter().for_each(|page| drop_scratch_page(env, page));
        return ctx.skip("out of frames");
    }
    let map = |i: usize| {
        let (va, ptep, pa) = pages[i];
        mm.set_pte_at(va, ptep, page_entry(env, pa, Prot::KERNEL_RW));
    };
    let before = mm.counters_this_cpu();
    let outer_at = enter(mm);
    map(0);
    let inner_at = enter(mm);
    map(1);
    // The nested section's own leave.
    mm.arch_leave_lazy_mmu_mode();
    kcheck!(ctx, Judge::State, mm.arch_in_lazy_mmu_mode(), "nested_enter_rejected: outer section ended by inner leave");
    let leaves = mm.counters_this_cpu().leaves - before.leaves;
    kcheck_eq!(ctx, Judge::Counters, leaves, 0, "nested_enter_rejected: arch leaves before the outer leave");
    map(2);
    mm.arch_leave_lazy_mmu_mode();
    for &(va, _, pa) in &pages {
        kcheck_eq!(ctx, Judge::Mmu, load(env, va), Loaded::tag_of(pa), "nested_enter_rejected: read through {va}");
    }
    let cpu = mm.cpu_id();
    let expected = [Report {
        rule: Rule::NestedEnter,
        cpu,
        at: inner_at,
        section_entered_at: Some(outer_at),
        detail: ReportDetail::None,
    }];
    check_reports(ctx, "nested_enter_rejected", &mm.take_reports(), &expected);
    pages.into_iter().for_each(|page| drop_scratch_page(env, page));
}

ktest_case!(
    nesting,
    nested_enter_rejected,
    desc = "the seed's strict rule reports a nested enter with both call sites; the outer section stays lazy",
    plan = nested_enter_rejected_plan,
    variants = &Flavour::ALL,
    nested_enter_rejected
);

fn nesting_counter_policy_plan(_flavour: Flavour, _target: Target) -> Plan {
    // The flag ends the section at the inner disable: the outer one underflows.
    Plan {
        fixed: Applies::Yes,
        buggy: BuggyExpect::Caught {
            judges: &[Judge::Counters, Judge::State, Judge::Sanitizer],
            rules: &[Rule::DisableWithoutEnable],
        },
    }
}

/// Upstream's counter: enable, enable, pause, resume, disable, disable make
/// exactly the transitions enter, leave, enter, flush, leave, and the mode
/// is off while paused and still on after the inner disable.
fn nesting_counter_policy(ctx: &mut Ctx) {
    let mm = env(ctx).mm();
    if ctx.order() == Order::Buggy {
        mm.set_nesting_policy(NestingPolicy::PermissiveFlag);
    }
    let _ = mm.take_arch_trace();
    mm.lazy_mmu_mode_enable();
    mm.lazy_mmu_mode_enable();
    kcheck!(ctx, Judge::State, mm.is_lazy_mmu_mode_active(), "nesting_counter_policy: inactive after enable");
    mm.lazy_mmu_mode_pause();
    kcheck!(ctx, Judge::State, !mm.is_lazy_mmu_mode_active(), "nesting_counter_policy: active while paused");
    mm.lazy_mmu_mode_resume();
    kcheck!(ctx, Judge::State, mm.is_lazy_mmu_mode_active(), "nesting_counter_policy: inactive after resume");
    mm.lazy_mmu_mode_disable();
    kcheck!(ctx, Judge::State, mm.is_lazy_mmu_mode_active(), "nesting_counter_policy: inactive after inner disable");
    mm.lazy_mmu_mode_disable();
    kcheck!(ctx, Judge::State, !mm.is_lazy_mmu_mode_active(), "nesting_counter_policy: active after last disable");
    let expected = [ArchOp::Enter, ArchOp::Leave, ArchOp::Enter, ArchOp::Flush, ArchOp::Leave];
    kcheck_eq!(ctx, Judge::Counters, mm.take_arch_trace(), expected, "nesting_counter_policy: arch transitions");
}

ktest_case!(
    nesting,
    nesting_counter_policy,
    desc = "upstream's counter: enable,enable,pause,resume,disable,disable make enter,leave,enter,flush,leave",
    plan = nesting_counter_policy_plan,
    variants = &Flavour::ALL,
    nesting_counter_policy
);

fn nested_disable_flushes_plan(flavour: Flavour, target: Target) -> Plan {
    let buggy = match flavour {
        Flavour::Queued | Flavour::DeferredPte => BuggyExpect::Caught { judges: &[Judge::Mmu], rules: &[] },
        Flavour::Arm64 if model_hides_unbarriered_stores(flavour, target) => {
            BuggyExpect::Caught { judges: &[Judge::HostModel], rules: &[] }
        }
        Flavour::Arm64 => BuggyExpect::Harmless(
            "the store is in memory at once; only the arm64 host model hides it until the skipped barrier",
        ),
        _ => BuggyExpect::Harmless("PTE stores are not deferred: an inner disable has nothing to flush"),
    };
    Plan { fixed: Applies::Yes, buggy }
}

/// Under the counter policy, an inner disable applies every earlier update
/// (a touch sees it) while the mode stays on.
fn nested_disable_flushes(ctx: &mut Ctx) {
    let env = env(ctx);
    let mm = env.mm();
    if ctx.order() == Order::Buggy {
        mm.inject_bug(InjectedBug::NestedDisableSkipsFlush);
    }
    let va = ScratchVa::take(ctx, 1).start();
    let Some(page) = scratch_page(env, va, false) else { return ctx.skip("out of frames") };
    let (va, ptep, pa) = page;
    mm.lazy_mmu_mode_enable();
    mm.lazy_mmu_mode_enable();
    mm.set_pte_at(va, ptep, page_entry(env, pa, Prot::KERNEL_RW));
    mm.lazy_mmu_mode_disable();
    kcheck!(ctx, Judge::State, mm.is_lazy_mmu_mode_active(), "nested_disable_flushes: inactive after inner disable");
    // Only the host model holds an arm64 store back from the walker.
    let judge =
        if ctx.target().on_host_model() && mm.flavour() == Flavour::Arm64 { Judge::HostModel } else { Judge::Mmu };
    kcheck_eq!(ctx, judge, load(env, va), Loaded::tag_of(pa), "nested_disable_flushes: touch after inner disable");
    mm.lazy_mmu_mode_disable();
    drop_scratch_page(env, page);
}

ktest_case!(
    nesting,
    nested_disable_flushes,
    desc = "under the counter policy an inner disable applies earlier updates while the mode stays on",
    plan = nested_disable_flushes_plan,
    variants = &Flavour::ALL,
    nested_disable_flushes
);
