//! The Linux 7.0 Xen PV regression ("kernel BUG around vmap/vfree -
//! xen_enter_lazy_mmu()/xen_leave_lazy_mmu() - Linux 7.0-rc1"), both
//! causes found by Juergen Gross in May 2026. The switch hooks are Xen's
//! after 291b3abed657; Xen's `enter_lazy` / `leave_lazy` BUG_ONs are the
//! sanitizer's arch-enter/leave rules.

use alloc::sync::Arc;

use ktest::{kcheck_eq, ktest_case, Applies, BuggyExpect, Ctx, Judge, Order, Plan, Target};
use mm::{Flavour, InjectedBug, PreemptPoint, Prot, Rule};

use super::XEN;
use crate::nesting::{drop_scratch_page, own_and_next_pages, scratch_page};
use crate::sched::{finish_windows, preempt_at, switch_task};
use crate::support::{env, load, page_entry, Loaded, ScratchVa};

fn sanitizer_plan(_flavour: Flavour, _target: Target) -> Plan {
    // 7.0's Xen: the second enter and the second leave are each a BUG.
    Plan {
        fixed: Applies::Yes,
        buggy: BuggyExpect::Caught {
            judges: &[Judge::Sanitizer],
            rules: &[Rule::ArchEnterWhileEntered, Rule::ArchLeaveWhileLeft],
        },
    }
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
    let Some(own) = scratch_page(env, ScratchVa::take(ctx, 1).start(), false) else { return ctx.skip("out of frames") };
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
        load(env, own.0),
        Loaded::tag_of(own.2),
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

ktest_case!(
    upstream,
    xen_preempt_enable_window,
    desc = "4594437880ce: Xen preempted between enable_count++ and the arch enter (and on leave)",
    plan = sanitizer_plan,
    variants = XEN,
    xen_preempt_enable_window
);

fn current_plan(_flavour: Flavour, _target: Target) -> Plan {
    Plan { fixed: Applies::Yes, buggy: BuggyExpect::Caught { judges: &[Judge::Mmu, Judge::State], rules: &[] } }
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
    let Some([own, next]) = own_and_next_pages(ctx, env) else { return ctx.skip("out of frames") };
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
        kcheck_eq!(
            ctx,
            Judge::Mmu,
            Loaded(seen),
            Loaded::tag_of(next.2),
            "xen_switch_in_uses_current: next task's own update"
        );
    });
    let back = (mm.is_lazy_mmu_mode_active(), mm.arch_in_lazy_mmu_mode());
    kcheck_eq!(ctx, Judge::State, back, (true, true), "xen_switch_in_uses_current: first task (task, CPU) lazy back");
    mm.lazy_mmu_mode_disable();
    kcheck_eq!(ctx, Judge::Mmu, load(env, own.0), Loaded::tag_of(own.2), "xen_switch_in_uses_current: own page");
    let tally = finish_windows(env, ctx);
    kcheck_eq!(ctx, Judge::State, tally.refused, 1, "xen_switch_in_uses_current: switch-in window observed");
    drop_scratch_page(env, own);
    drop_scratch_page(env, next);
}

ktest_case!(
    upstream,
    xen_switch_in_uses_current,
    desc = "arch_end_context_switch(next) runs before current changes: the hook must resume next",
    plan = current_plan,
    variants = XEN,
    xen_switch_in_uses_current
);

fn nesting_revert_plan(_flavour: Flavour, _target: Target) -> Plan {
    Plan {
        fixed: Applies::Yes,
        buggy: BuggyExpect::Caught { judges: &[Judge::Mmu, Judge::Sanitizer], rules: &[Rule::ArchLeaveWhileLeft] },
    }
}

/// c36549ff8d84, the revert of 49147beb0ccb "x86/xen: allow nesting of
/// same lazy mode" (20230913113828.18421-4-jgross@suse.com): that patch let
/// a nested section enter Xen's MMU mode again and counted the level per
/// CPU (`xen_lazy_nesting`); each leave undid one level. Ryan Roberts'
/// revert (20250302145555.3236789-5-ryan.roberts@arm.com) explains why it
/// was intolerant to preemption: the switch-out hook leaves once, which
/// only unwinds one level of a nested section, so the CPU stays in MMU
/// mode for the next task, and the levels no longer match when the task
/// comes back. Fixed (the revert, and v7.0's per-task counts): the nested
/// section only counts, the hook leaves the arch mode whole. Buggy: the
/// task is preempted inside a nested section (the window right after its
/// write was queued); the next task's update is queued in the CPU's mode
/// it never entered and it reads the old entry, and the first task's
/// outer leave finds the mode already left (Xen's BUG_ON in `leave_lazy`).
fn xen_nesting_revert(ctx: &mut Ctx) {
    let env = env(ctx);
    let mm = env.mm();
    let Some([own, next]) = own_and_next_pages(ctx, env) else { return ctx.skip("out of frames") };
    if ctx.order() == Order::Buggy {
        mm.inject_bug(InjectedBug::XenPerCpuNesting);
    }
    let seen_by_next = Arc::new(spin::Mutex::new(None));
    let seen = seen_by_next.clone();
    preempt_at(
        env,
        PreemptPoint::MidBatch,
        1,
        alloc::boxed::Box::new(move || {
            let mm = env.mm();
            mm.set_pte_at(next.0, next.1, page_entry(env, next.2, Prot::KERNEL_RW));
            *seen.lock() = Some(env.read(next.0));
        }),
    );
    mm.lazy_mmu_mode_enable();
    // The inner section, as generic set_ptes() opened one when
    // bcc6cc832573 made sections nest (what 49147beb0ccb was for).
    mm.lazy_mmu_mode_enable();
    mm.set_pte_at(own.0, own.1, page_entry(env, own.2, Prot::KERNEL_RW));
    mm.lazy_mmu_mode_disable();
    mm.lazy_mmu_mode_disable();
    kcheck_eq!(
        ctx,
        Judge::Mmu,
        load(env, own.0),
        Loaded::tag_of(own.2),
        "xen_nesting_revert: own page after the section"
    );
    let seen = seen_by_next.lock().map(Loaded);
    kcheck_eq!(ctx, Judge::Mmu, seen, Some(Loaded::tag_of(next.2)), "xen_nesting_revert: next task's own update");
    let tally = finish_windows(env, ctx);
    kcheck_eq!(ctx, Judge::State, tally.switched, 1, "xen_nesting_revert: windows switched");
    drop_scratch_page(env, own);
    drop_scratch_page(env, next);
}

ktest_case!(
    upstream,
    xen_nesting_revert,
    desc = "c36549ff8d84: Xen's per-CPU nesting of 49147beb0ccb was intolerant to preemption in a nested section",
    plan = nesting_revert_plan,
    variants = XEN,
    xen_nesting_revert
);
