//! `nesting.timer_preempts_sections`: a periodic timer interrupt really
//! preempts two tasks that loop through lazy sections (a PTE remap and
//! reads of another page inside, a read of the remapped page after), at
//! whatever instruction it lands. Each switch runs the flavour's
//! context-switch hooks on the interrupt's exit path, as
//! `preempt_schedule_irq` does (Xen's `arch_start/end_context_switch`,
//! 291b3abed657; the arm64 flag travels in the task's state), and tlb-batch
//! declines the switch inside a section, whose preemption is off (sparc
//! a1d416bf9faf). After every switch this CPU's arch mode must match the
//! incoming task's own state, and each task must find its remap in place.
//! Only on QEMU: nothing interrupts a host-model task.

use alloc::format;
use alloc::string::String;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use ktest::{kcheck, kcheck_eq, ktest_case, Applies, BuggyExpect, Ctx, Judge, Order, Plan, Target};
use mm::{Flavour, InjectedBug, PhysAddr, Prot, TaskId, TlbScope, VirtAddr};

use super::{drop_scratch_page, scratch_page};
use crate::env::Env;
use crate::sched::lazy_switch;
use crate::support::{env, page_entry, tag_of, tagged_frame, Loaded, ScratchVa};

/// The tick period: a few loop iterations of either task under TCG.
const TICK_US: u64 = 200;
/// Ticks that must land inside a section before the tasks stop.
const TICKS_IN_SECTION: u32 = 6;
/// Reads of the stable page inside each section.
const READS_IN_SECTION: u32 = 4;
/// Steps of plain work inside each section: time, with interrupts on and
/// no lazy-layer lock held (x86 probes mask interrupts), for a tick to
/// land on.
const WORK_IN_SECTION: u64 = 2_000;
/// A bound on each task's loop, far above what the ticks need and far
/// below the case's watchdog.
const MAX_ITERATIONS: u32 = 20_000;
const NO_TIMER: &str = "no timer interrupt preempts a host-model task";

fn timer_plan(_flavour: Flavour, target: Target) -> Plan {
    if target.on_host_model() {
        return Plan { fixed: Applies::No(NO_TIMER), buggy: BuggyExpect::NotApplicable(NO_TIMER) };
    }
    Plan { fixed: Applies::Yes, buggy: BuggyExpect::Caught { judges: &[Judge::State], rules: &[] } }
}

/// What the two tasks and the switch hook share.
#[derive(Default)]
struct Shared {
    /// Ticks that landed in a section (switched or declined).
    in_section: AtomicU32,
    /// Set when enough ticks landed, or at the first inconsistency: both
    /// tasks stop at their next loop top.
    stop: AtomicBool,
    /// A switch left the CPU's arch mode out of step with the incoming
    /// task's state; the tasks read this flag, never the lock below, which
    /// the switch takes with the interrupted task frozen.
    broken: AtomicBool,
    /// What that first switch saw (what the State judge reports).
    /// Plain data: the switch may not allocate (the interrupted task may
    /// hold the heap's lock).
    inconsistent: spin::Mutex<Option<(TaskId, bool, bool)>>,
    /// The first wrong in-section state (the State judge's) or wrong read
    /// (the MMU's) seen by a task.
    task_failure: spin::Mutex<Option<(Judge, String)>>,
}

/// One task's page: remapped between two frames, one per iteration.
#[derive(Clone, Copy)]
struct TaskPage {
    va: VirtAddr,
    ptep: PhysAddr,
    frames: [PhysAddr; 2],
}

/// The loop each task runs until `stop`.
fn section_loop(env: &dyn Env, shared: &Shared, page: TaskPage, stable: VirtAddr) {
    let mm = env.mm();
    for iteration in 0..MAX_ITERATIONS {
        if shared.stop.load(Ordering::Acquire) {
            return;
        }
        let frame = page.frames[(iteration % 2) as usize];
        mm.lazy_mmu_mode_enable();
        mm.pte_clear(page.va, page.ptep);
        mm.set_pte_at(page.va, page.ptep, page_entry(env, frame, Prot::KERNEL_RW));
        for _ in 0..READS_IN_SECTION {
            let _ = env.read(stable);
        }
        let mut work = 0u64;
        for step in 0..WORK_IN_SECTION {
            work = core::hint::black_box(work.wrapping_add(step));
        }
        let inside = (mm.is_lazy_mmu_mode_active(), mm.arch_in_lazy_mmu_mode());
        mm.lazy_mmu_mode_disable();
        // After the section, as vunmap does; only this CPU runs the tasks.
        mm.flush_tlb_page(page.va, TlbScope::Local);
        let seen = Loaded(env.read(page.va));
        // After an inconsistent switch what follows is its consequence.
        if shared.broken.load(Ordering::Acquire) {
            return;
        }
        let failure = if inside != (true, true) {
            let failure = format!("in a section (task, CPU) lazy: expected (true, true), saw {inside:?}");
            Some((Judge::State, failure))
        } else if seen != Loaded::tag_of(frame) {
            Some((Judge::Mmu, format!("read after the section: expected {}, saw {seen}", Loaded::tag_of(frame))))
        } else {
            None
        };
        if let Some(failure) = failure {
            shared.task_failure.lock().get_or_insert(failure);
            shared.stop.store(true, Ordering::Release);
        }
    }
}

/// The switch on the interrupt's exit path: declines a tick while the
/// interrupted task holds the lazy layer's locks or has preemption off;
/// counts the ticks that land in a section; after the switch, checks this
/// CPU's arch mode against the incoming task's state.
fn on_switch(env: &dyn Env, shared: &Shared, order: Order, next: TaskId, by_tick: bool) -> bool {
    let mm = env.mm();
    // Ticks go on switching after `stop` (a task may wait for a lock the
    // other holds); they are only no longer counted.
    if by_tick {
        let Some(view) = mm.irq_exit_view() else { return false };
        if view.in_section
            && !shared.stop.load(Ordering::Acquire)
            && shared.in_section.fetch_add(1, Ordering::Relaxed) + 1 >= TICKS_IN_SECTION
        {
            shared.stop.store(true, Ordering::Release);
        }
        if !view.preemptible {
            return false;
        }
    }
    lazy_switch(mm, order, next);
    // With the hooks the CPU's mode is the incoming task's own; without
    // (tlb-batch) it may lag behind a task between `enable_count++` and
    // its arch enter, but must never be on for a task outside a section.
    let (arch, task) = (mm.arch_in_lazy_mmu_mode(), mm.task_lazy_mmu_mode_active(next));
    let consistent = if mm.flavour().has_switch_hooks() { arch == task } else { !arch || task };
    if !consistent && !shared.broken.swap(true, Ordering::AcqRel) {
        *shared.inconsistent.lock() = Some((next, arch, task));
        shared.stop.store(true, Ordering::Release);
    }
    true
}

/// Two tasks loop through lazy sections under a 200 us timer until six
/// ticks landed inside a section; the buggy form switches without the
/// context-switch hooks (tlb-batch: lets a section be preempted).
fn timer_preempts_sections(ctx: &mut Ctx) {
    let env = env(ctx);
    let mm = env.mm();
    let scratch = ScratchVa::take(ctx, 3);
    let pages = [scratch.page(0), scratch.page(1), scratch.page(2)].map(|va| scratch_page(env, va, true));
    let spares = [tagged_frame(env), tagged_frame(env)];
    let ([Some(first), Some(second), Some(stable)], [Ok(spare_first), Ok(spare_second)]) = (pages, spares) else {
        pages.into_iter().flatten().for_each(|page| drop_scratch_page(env, page));
        spares.into_iter().flatten().for_each(|pa| {
            let _ = mm.free_page(pa);
        });
        return ctx.skip("out of frames");
    };
    let first_page = TaskPage { va: first.0, ptep: first.1, frames: [spare_first, first.2] };
    let second_page = TaskPage { va: second.0, ptep: second.1, frames: [spare_second, second.2] };
    let order = if mm.flavour().has_switch_hooks() { ctx.order() } else { Order::Fixed };
    if ctx.order() == Order::Buggy && !mm.flavour().has_switch_hooks() {
        mm.inject_bug(InjectedBug::BatchPreemptible);
    }
    let shared = Shared::default();
    let ran = env.run_with_timer(
        TICK_US,
        &mut |next, by_tick| on_switch(env, &shared, order, next, by_tick),
        &mut || section_loop(env, &shared, first_page, stable.0),
        &mut || section_loop(env, &shared, second_page, stable.0),
    );
    let in_section = shared.in_section.load(Ordering::Relaxed);
    ctx.diag(format_args!("timer ticks in a section: {in_section}"));
    let inconsistent = shared
        .inconsistent
        .lock()
        .take()
        .map(|(next, arch, task)| format!("switched to {next}: CPU arch mode {arch}, task in a section {task}"));
    kcheck!(
        ctx,
        Judge::State,
        inconsistent.is_none(),
        "timer_preempts_sections: {}",
        inconsistent.as_deref().unwrap_or_default()
    );
    // A task's failure after an inconsistent switch is its consequence.
    let task_failure = shared.task_failure.lock().take().filter(|_| inconsistent.is_none());
    if let Some((judge, failure)) = &task_failure {
        ctx.fail(*judge, format_args!("timer_preempts_sections: {failure}"));
    } else if ran && inconsistent.is_none() {
        kcheck_eq!(ctx, Judge::State, in_section, TICKS_IN_SECTION, "timer_preempts_sections: ticks in a section");
    }
    if inconsistent.is_some() || task_failure.is_some() {
        settle_after_failure(ctx, env);
    }
    mm.clear_injected_bugs();
    // Each page maps one of its two frames now: unmap it, free both.
    for (page, spare) in [(first, spare_first), (second, spare_second)] {
        let (mapped, other) = if env.read(page.0) == Ok(tag_of(spare)) { (spare, page.2) } else { (page.2, spare) };
        drop_scratch_page(env, (page.0, page.1, mapped));
        let _ = mm.free_page(other);
    }
    drop_scratch_page(env, stable);
}

/// After a failure (an inconsistent switch, a task's wrong state or read),
/// where the tasks stopped depends on where the ticks landed: a CPU may be left in the
/// arch mode, a task in a section or off its CPU, and the sanitizer may
/// have reported what the tasks did meanwhile. Those are the one bug's
/// consequences: the quiescence check the harness runs after every case is
/// run here, so that everything is reset and its reports are printed, not
/// judged again (the buggy form is caught by the State judge alone, every
/// run).
fn settle_after_failure(ctx: &Ctx, env: &dyn Env) {
    let mm = env.mm();
    mm.check_quiescent();
    for report in mm.take_reports() {
        ctx.diag(format_args!("after the failure: {report}"));
    }
}

ktest_case!(
    nesting,
    timer_preempts_sections,
    desc = "a 200 us timer preempts two tasks in lazy sections; each switch's hooks keep CPU and task state consistent",
    plan = timer_plan,
    variants = &Flavour::ALL,
    timer_preempts_sections
);
