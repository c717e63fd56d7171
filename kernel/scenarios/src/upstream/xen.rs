//! The Linux 7.0 Xen PV regression ("kernel BUG around vmap/vfree -
//! xen_enter_lazy_mmu()/xen_leave_lazy_mmu() - Linux 7.0-rc1"), both
//! causes found by Juergen Gross in May 2026. The switch hooks are Xen's
//! after 291b3abed657; Xen's `enter_lazy` / `leave_lazy` BUG_ONs are the
//! sanitizer's arch-enter/leave rules.

use alloc::sync::Arc;

use ktest::{kcheck_eq, ktest_case, Applies, BuggyExpect, Ctx, Judge, Order, Plan, Target};
use mm::{Flavour, InjectedBug, PreemptPoint, Prot};

use super::XEN;
use crate::nesting::{drop_scratch_page, scratch_page};
use crate::sched::{finish_windows, preempt_at, switch_task};
use crate::support::{env, page_entry, tag_of};

const WINDOW_FIRST_PAGE: u64 = 40_000;
const CURRENT_FIRST_PAGE: u64 = 40_010;

fn sanitizer_plan(_flavour: Flavour, _target: Target) -> Plan {
    Plan { fixed: Applies::Yes, buggy: BuggyExpect::Caught(&[Judge::Sanitizer]) }
}

/// 4594437880ce "x86/xen: Tolerate nested XEN_LAZY_MMU entering/leaving"
/// (20260508143933.493013-1-jgross@suse.com): preempted between
/// `enable_count++` and `arch_enter_lazy_mmu_mode()`, the task is entered
/// by the switch-in hook (its count says active) and then enters again;
/// likewise between `--enable_count` and the leave. Buggy: 7.0's Xen, whose
/// second enter / leave is a BUG. Both windows are forced every run.
fn xen_preempt_enable_window(ctx: &mut Ctx) {
    let env = env(ctx);
    let mm = env.mm();
    let Some(own) = scratch_page(env, WINDOW_FIRST_PAGE, false) else { return ctx.skip("out of frames") };
    if ctx.order() == Order::Buggy {
        mm.inject_bug(InjectedBug::XenIntolerantNesting);
    }
    let seen_by_second = Arc::new(spin::Mutex::new(None));
    let seen = seen_by_second.clone();
    preempt_at(
        env,
        PreemptPoint::EnableBeforeArchEnter,
        1,
        alloc::boxed::Box::new(move || {
            let mm = env.mm();
            *seen.lock() = Some((mm.is_lazy_mmu_mode_active(), mm.arch_in_lazy_mmu_mode()));
        }),
    );
    mm.lazy_mmu_mode_enable();
    let entered = (mm.is_lazy_mmu_mode_active(), mm.arch_in_lazy_mmu_mode());
    kcheck_eq!(ctx, Judge::State, entered, (true, true), "xen_preempt_enable_window: (task, CPU) lazy after enable");
    mm.set_pte_at(own.0, own.1, page_entry(env, own.2, Prot::KERNEL_RW));
    preempt_at(env, PreemptPoint::DisableBeforeArchLeave, 1, alloc::boxed::Box::new(|| {}));
    mm.lazy_mmu_mode_disable();
    kcheck_eq!(
        ctx,
        Judge::Mmu,
        env.read(own.0),
        Ok(tag_of(own.2)),
        "xen_preempt_enable_window: own page after disable"
    );
    let second = *seen_by_second.lock();
    kcheck_eq!(
        ctx,
        Judge::State,
        second,
        Some((false, false)),
        "xen_preempt_enable_window: second task (task, CPU) lazy"
    );
    let tally = finish_windows(env, ctx);
    kcheck_eq!(ctx, Judge::State, tally.switched, 2, "xen_preempt_enable_window: windows switched");
    drop_scratch_page(env, own);
}

ktest_case!(upstream, xen_preempt_enable_window, plan = sanitizer_plan, variants = XEN, xen_preempt_enable_window);

fn current_plan(_flavour: Flavour, _target: Target) -> Plan {
    Plan { fixed: Applies::Yes, buggy: BuggyExpect::Caught(&[Judge::Mmu, Judge::State]) }
}

/// The hazard of 20260508080514.454607-1-jgross@suse.com (withdrawn by its
/// author the same day as not fixing the real problem):
/// `arch_end_context_switch(next)` runs before `current` changes, so a hook
/// that resumes `current` resumes the previous task. Fixed: the hook looks
/// at `next` (as 291b3abed657 does). Buggy: it looks at `current`, so the
/// next task runs in the previous task's arch mode (its writes queued) and
/// the previous task comes back without it.
fn xen_switch_in_uses_current(ctx: &mut Ctx) {
    let env = env(ctx);
    let mm = env.mm();
    let Some(own) = scratch_page(env, CURRENT_FIRST_PAGE, false) else { return ctx.skip("out of frames") };
    let Some(next) = scratch_page(env, CURRENT_FIRST_PAGE + 1, false) else {
        drop_scratch_page(env, own);
        return ctx.skip("out of frames");
    };
    if ctx.order() == Order::Buggy {
        mm.inject_bug(InjectedBug::SwitchInResumesCurrent);
    }
    mm.lazy_mmu_mode_enable();
    mm.set_pte_at(own.0, own.1, page_entry(env, own.2, Prot::KERNEL_RW));
    // The switch-in hook's own point is explored: context-switch code runs
    // with preemption off, so it is observed, never taken.
    preempt_at(env, PreemptPoint::SwitchInHook, 1, alloc::boxed::Box::new(|| {}));
    switch_task(env, Order::Fixed, &mut || {
        let lazy = (mm.is_lazy_mmu_mode_active(), mm.arch_in_lazy_mmu_mode());
        kcheck_eq!(ctx, Judge::State, lazy, (false, false), "xen_switch_in_uses_current: next task (task, CPU) lazy");
        mm.set_pte_at(next.0, next.1, page_entry(env, next.2, Prot::KERNEL_RW));
        let seen = env.read(next.0);
        kcheck_eq!(ctx, Judge::Mmu, seen, Ok(tag_of(next.2)), "xen_switch_in_uses_current: next task's own update");
    });
    let back = (mm.is_lazy_mmu_mode_active(), mm.arch_in_lazy_mmu_mode());
    kcheck_eq!(ctx, Judge::State, back, (true, true), "xen_switch_in_uses_current: first task (task, CPU) lazy back");
    mm.lazy_mmu_mode_disable();
    kcheck_eq!(ctx, Judge::Mmu, env.read(own.0), Ok(tag_of(own.2)), "xen_switch_in_uses_current: own page");
    let tally = finish_windows(env, ctx);
    kcheck_eq!(ctx, Judge::State, tally.refused, 1, "xen_switch_in_uses_current: switch-in window observed");
    drop_scratch_page(env, own);
    drop_scratch_page(env, next);
}

ktest_case!(upstream, xen_switch_in_uses_current, plan = current_plan, variants = XEN, xen_switch_in_uses_current);
