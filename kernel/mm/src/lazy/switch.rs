//! Context switches and preemption points. The lazy layer names each point
//! inside its API where a preemption would split a step in two (between
//! `enable_count++` and the arch enter, ...) and hands it to the installed
//! [`Scheduler`], which may switch tasks right there: that is how a case
//! forces a race window every run (docs/lazy-mmu-v7.md, "Forcing windows").
//!
//! The switch hooks have the shape of Xen's after 291b3abed657: the
//! outgoing side leaves this CPU's arch mode, the incoming side re-enters it
//! when the next task's own state says it is in a section. They touch no
//! task's counts.

use core::panic::Location;

use super::mode::Here;
use super::task::TaskId;
use super::InjectedBug;
use crate::context::Mm;
use crate::mmu::Mmu;

/// A step boundary inside the lazy layer where preemption may strike.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PreemptPoint {
    /// Outermost enable: `enable_count` is 1, the arch mode not yet entered.
    EnableBeforeArchEnter,
    /// Outermost disable: `enable_count` is 0, the arch mode not yet left.
    DisableBeforeArchLeave,
    /// Inside `arch_end_context_switch(next)`, before it looks at a task
    /// (context-switch code: preemption is off, the point is only observed).
    SwitchInHook,
    /// Right after a PTE write or flush went to this CPU's queue or batch.
    MidBatch,
    /// A point a caller names in its own code through
    /// [`Mm::might_preempt`], such as between reading a PTE and taking the
    /// lock that guards it: in a preemptible kernel a task can lose the CPU
    /// at any such instant, and another CPU can get there first.
    Caller,
}

impl PreemptPoint {
    pub const ALL: [PreemptPoint; 5] = [
        PreemptPoint::EnableBeforeArchEnter,
        PreemptPoint::DisableBeforeArchLeave,
        PreemptPoint::SwitchInHook,
        PreemptPoint::MidBatch,
        PreemptPoint::Caller,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            PreemptPoint::EnableBeforeArchEnter => "enable:count->arch_enter",
            PreemptPoint::DisableBeforeArchLeave => "disable:count->arch_leave",
            PreemptPoint::SwitchInHook => "switch-in hook",
            PreemptPoint::MidBatch => "mid-batch",
            PreemptPoint::Caller => "caller",
        }
    }
}

/// What the exit path of an interrupt sees of the task it interrupted
/// (`preempt_schedule_irq`'s question), from [`Mm::irq_exit_view`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IrqExitView {
    /// Preemption is not disabled on this CPU.
    pub preemptible: bool,
    /// The task is inside a lazy MMU section (`enable_count > 0`).
    pub in_section: bool,
}

/// Who decides what happens at a preemption point. Called in task context
/// with no lazy-layer lock held, so it may switch tasks.
pub trait Scheduler: Sync {
    fn preempt_point(&self, point: PreemptPoint);
}

impl<M: Mmu + ?Sized> Mm<'_, M> {
    /// Installs the scheduler every preemption point is reported to.
    pub fn set_scheduler(&self, scheduler: &'static dyn Scheduler) {
        *self.scheduler.lock() = Some(scheduler);
    }

    /// Reports `point` to the scheduler (never from interrupt context).
    /// A switch on an interrupt's exit path may find the interrupted task
    /// holding the scheduler's slot: the point then goes unreported.
    pub(crate) fn preempt_point(&self, point: PreemptPoint) {
        if self.mmu.in_interrupt() {
            return;
        }
        let Some(scheduler) = self.scheduler.try_lock().map(|slot| *slot) else { return };
        if let Some(scheduler) = scheduler {
            scheduler.preempt_point(point);
        }
    }

    /// A preemption point in the caller's own code ([`PreemptPoint::Caller`]).
    pub fn might_preempt(&self) {
        self.preempt_point(PreemptPoint::Caller);
    }

    /// Whether the current task may be preempted now: task context and
    /// preemption not disabled on this CPU.
    pub fn preemptible(&self) -> bool {
        !self.mmu.in_interrupt() && self.cpus[self.mmu.cpu_id()].lock().preempt_count == 0
    }

    /// The interrupted task as an interrupt's exit path sees it (task
    /// context again, interrupts still off): `None` when that task holds
    /// a lock of the lazy layer or its sanitizer, which it cannot be
    /// switched away with (a spinlock holder is not preemptible in Linux
    /// either), or when the other CPU holds one for a moment.
    pub fn irq_exit_view(&self) -> Option<IrqExitView> {
        if !self.instr.sanitizer.locks_free() {
            return None;
        }
        let arch = self.cpus[self.mmu.cpu_id()].try_lock()?;
        let task = self.tasks[arch.current.index()].try_lock()?;
        Some(IrqExitView { preemptible: arch.preempt_count == 0, in_section: task.enable_count > 0 })
    }

    pub fn preempt_disable(&self) {
        self.cpus[self.mmu.cpu_id()].lock().preempt_count += 1;
    }

    pub fn preempt_enable(&self) {
        let mut arch = self.cpus[self.mmu.cpu_id()].lock();
        arch.preempt_count = arch.preempt_count.saturating_sub(1);
    }

    /// The task this CPU runs (Linux's `current`).
    pub fn current_task(&self) -> TaskId {
        self.cpus[self.mmu.cpu_id()].lock().current
    }

    /// Makes `next` this CPU's current task; the last step of a switch.
    pub fn set_current_task(&self, next: TaskId) {
        self.cpus[self.mmu.cpu_id()].lock().current = next;
    }

    /// Linux's `__task_lazy_mmu_mode_active(task)`.
    pub fn task_lazy_mmu_mode_active(&self, task: TaskId) -> bool {
        self.tasks[task.index()].lock().is_active()
    }

    /// `arch_start_context_switch(prev)` (Xen, 291b3abed657): if this CPU is
    /// in the arch mode, leave it, applying `prev`'s deferred work.
    #[track_caller]
    pub fn arch_start_context_switch(&self, prev: TaskId) {
        let at = Location::caller();
        if !self.flavour().has_switch_hooks() {
            return;
        }
        let mut here = self.lock_task(prev);
        if here.arch.active {
            self.arch_leave(&mut here, at);
        }
    }

    /// `arch_end_context_switch(next)`: apply what is queued, then re-enter
    /// the arch mode if `next` is in a section. It runs before `current`
    /// changes; with [`InjectedBug::SwitchInResumesCurrent`] it looks at
    /// `current` (still the previous task) instead of `next`.
    #[track_caller]
    pub fn arch_end_context_switch(&self, next: TaskId) {
        let at = Location::caller();
        self.preempt_disable();
        self.preempt_point(PreemptPoint::SwitchInHook);
        self.preempt_enable();
        if !self.flavour().has_switch_hooks() {
            return;
        }
        let looked_at =
            if self.is_bug_injected(InjectedBug::SwitchInResumesCurrent) { self.current_task() } else { next };
        let mut here = self.lock_task(looked_at);
        let cpu = here.cpu;
        self.drain(cpu, &mut here.arch, &mut here.task);
        if here.task.is_active() {
            self.arch_enter(&mut here, at);
        }
    }

    /// The whole switch as the lazy layer sees it: start(prev), end(next)
    /// (before `current` changes, as x86's `__switch_to` does), then
    /// `current = next`. On arm64 the switch completes this CPU's TLB
    /// maintenance first (`__switch_to`'s `dsb(ish)`): a task preempted
    /// between its `tlbi` and its `dsb ish` must not leave the invalidation
    /// pending for the next task's flush (or for another CPU, if it
    /// migrates). Returns the previous task.
    pub fn context_switch(&self, next: TaskId) -> TaskId {
        let prev = self.current_task();
        self.complete_tlb_maintenance(self.mmu.cpu_id());
        self.arch_start_context_switch(prev);
        self.arch_end_context_switch(next);
        self.set_current_task(next);
        prev
    }

    /// `__task_lazy_mmu_mode_pause(task)`: a pause on behalf of `task`
    /// (which runs, or is about to run, on this CPU), for context-switch
    /// hooks; the first pause of a task in a section leaves the arch mode.
    #[track_caller]
    pub fn task_lazy_mmu_mode_pause(&self, task: TaskId) {
        let mut here = self.lock_task(task);
        self.pause_locked(&mut here, Location::caller());
    }

    /// `__task_lazy_mmu_mode_resume(task)`: the matching resume.
    #[track_caller]
    pub fn task_lazy_mmu_mode_resume(&self, task: TaskId) {
        let mut here = self.lock_task(task);
        self.resume_locked(&mut here, Location::caller());
    }

    /// This CPU's arch state with `task`'s state (not necessarily current).
    fn lock_task(&self, task: TaskId) -> Here<'_> {
        let cpu = self.mmu.cpu_id();
        let arch = self.cpus[cpu].lock();
        let task = self.tasks[task.index()].lock();
        Here { cpu, arch, task }
    }
}
