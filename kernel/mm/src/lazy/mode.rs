//! Entering, leaving, pausing and resuming lazy MMU mode: Linux v7.0's
//! per-task `lazy_mmu_mode_*` API (include/linux/pgtable.h) under the three
//! nesting policies, over the current task's [`TaskLazy`] and this CPU's
//! arch state. See docs/lazy-mmu-v7.md for the semantics.
//!
//! Where v7.0 warns (`VM_WARN_ON_ONCE`) and then wraps a `u8`, lazymmu
//! reports the named rule and leaves the counts unchanged: the warning is
//! what a case checks, and a wrapped count would only poison the next one.

use core::panic::Location;

use alloc::vec::Vec;

use super::counters::Event;
use super::sanitizer::{Report, ReportDetail, Rule, Site};
use super::state::{ArchOp, CpuLazy};
use super::switch::PreemptPoint;
use super::task::{TaskId, TaskLazy};
use super::{InjectedBug, NestingPolicy};
use crate::context::Mm;
use crate::mmu::Mmu;

/// The lazy-MMU state a CPU's current task sees, from outside (tests, gdb
/// helper): the task's counts, and this CPU's arch mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LazyState {
    pub task: TaskId,
    pub enable_count: u8,
    pub pause_count: u8,
    /// The arch-level mode is on on this CPU (updates may be deferred now).
    pub is_active: bool,
    /// Deferred work not yet applied (the task's barrier, the CPU's queue
    /// or batch).
    pub has_pending: bool,
    pub entered_at: Option<&'static Location<'static>>,
}

/// `task 1: enable 1, pause 0, active, pending, entered at file:line`: the
/// state in one short phrase for check messages.
impl core::fmt::Display for LazyState {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "task {}: enable {}, pause {}", self.task, self.enable_count, self.pause_count)?;
        f.write_str(if self.is_active { ", active" } else { ", not active" })?;
        if self.has_pending {
            f.write_str(", pending")?;
        }
        match self.entered_at {
            Some(site) => write!(f, ", entered at {}", Site(site)),
            None => Ok(()),
        }
    }
}

/// Which API an underflow came through, for the rule it breaks.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Api {
    Seed,
    Upstream,
}

/// This CPU's arch state and its current task's state, locked in that
/// order (the only order the lazy layer takes them in).
pub(crate) struct Here<'g> {
    pub(crate) cpu: usize,
    pub(crate) arch: spin::MutexGuard<'g, CpuLazy>,
    pub(crate) task: spin::MutexGuard<'g, TaskLazy>,
}

impl<M: Mmu + ?Sized> Mm<'_, M> {
    /// The seed's enter: v7.0's `lazy_mmu_mode_enable` under the policy.
    #[track_caller]
    pub fn arch_enter_lazy_mmu_mode(&self) {
        self.enable(Location::caller());
    }

    /// The seed's leave: v7.0's `lazy_mmu_mode_disable` under the policy.
    #[track_caller]
    pub fn arch_leave_lazy_mmu_mode(&self) {
        self.disable(Location::caller(), Api::Seed);
    }

    /// Applies everything deferred; the CPU stays in the section.
    #[track_caller]
    pub fn arch_flush_lazy_mmu_mode(&self) {
        if self.mmu.in_interrupt() {
            return;
        }
        let mut here = self.lock_here();
        if here.arch.active {
            self.arch_flush(&mut here);
        }
    }

    /// Whether updates on this CPU may be deferred now: its arch mode. False
    /// in interrupt context (unless [`InjectedBug::IrqJoinsSection`]).
    pub fn arch_in_lazy_mmu_mode(&self) -> bool {
        self.task_state(self.mmu.cpu_id()).is_some_and(|here| here.arch.active)
    }

    /// v7.0's enable: returns in interrupt context or while paused; warns
    /// at `U8_MAX`; `if (enable_count++ == 0) arch_enter_lazy_mmu_mode()`.
    #[track_caller]
    pub fn lazy_mmu_mode_enable(&self) {
        self.enable(Location::caller());
    }

    /// v7.0's disable: same guards; warns at 0;
    /// `if (--enable_count == 0) arch_leave…(); else arch_flush…();`.
    #[track_caller]
    pub fn lazy_mmu_mode_disable(&self) {
        self.disable(Location::caller(), Api::Upstream);
    }

    /// v7.0's pause: leaves the arch mode (applying deferred work) whatever
    /// the depth, so the caller may allocate or read back PTEs. Pauses nest;
    /// every other call until the last resume has no effect.
    #[track_caller]
    pub fn lazy_mmu_mode_pause(&self) {
        if self.mmu.in_interrupt() {
            return;
        }
        let mut here = self.lock_here();
        self.pause_locked(&mut here, Location::caller());
    }

    /// Undoes one pause; the last one re-enters if a section is open.
    #[track_caller]
    pub fn lazy_mmu_mode_resume(&self) {
        if self.mmu.in_interrupt() {
            return;
        }
        let mut here = self.lock_here();
        self.resume_locked(&mut here, Location::caller());
    }

    /// v7.0's `is_lazy_mmu_mode_active()`: false in interrupt context, else
    /// the current task's `enable_count > 0 && pause_count == 0`.
    pub fn is_lazy_mmu_mode_active(&self) -> bool {
        self.task_state(self.mmu.cpu_id()).is_some_and(|here| here.task.is_active())
    }

    /// `cpu`'s state, read under its locks (not from interrupt context).
    pub fn lazy_state(&self, cpu: usize) -> LazyState {
        let arch = self.cpus[cpu].lock();
        let task = self.tasks[arch.current.index()].lock();
        LazyState {
            task: arch.current,
            enable_count: task.enable_count,
            pause_count: task.pause_count,
            is_active: arch.active,
            has_pending: arch.has_pending() || task.barrier_pending,
            entered_at: task.entered_at,
        }
    }

    /// The arch-level transitions this CPU made since the last call.
    pub fn take_arch_trace(&self) -> Vec<ArchOp> {
        let (trace, len) = self.cpus[self.mmu.cpu_id()].lock().take_trace();
        trace[..len].to_vec()
    }

    /// The harness's check after each case: every CPU out of its arch mode
    /// with nothing deferred and preemption on, every task out of any
    /// section, each CPU back on its boot task. Anything else gets a
    /// [`Rule::SectionLeftOpen`] report and is reset (deferred work applied
    /// from this CPU) so the next case starts clean. Returns whether all
    /// were quiescent.
    #[track_caller]
    pub fn check_quiescent(&self) -> bool {
        let at = Location::caller();
        let mut all_quiescent = true;
        for (cpu, lock) in self.cpus.iter().enumerate() {
            let mut arch = lock.lock();
            let mut task = self.tasks[arch.current.index()].lock();
            if arch.is_quiescent() && task.is_quiescent() && arch.current == TaskId::boot(cpu) {
                continue;
            }
            all_quiescent = false;
            self.report(cpu, Rule::SectionLeftOpen, at, task.entered_at, ReportDetail::None);
            self.drain(cpu, &mut arch, &mut task);
            *arch = CpuLazy::new(cpu);
            *task = TaskLazy::new();
        }
        for lock in &self.tasks {
            let mut task = lock.lock();
            if !task.is_quiescent() {
                all_quiescent = false;
                self.report(self.mmu.cpu_id(), Rule::SectionLeftOpen, at, task.entered_at, ReportDetail::None);
                *task = TaskLazy::new();
            }
        }
        all_quiescent
    }

    /// This CPU's arch state and current task, locked (task context).
    pub(crate) fn lock_here(&self) -> Here<'_> {
        let cpu = self.mmu.cpu_id();
        let arch = self.cpus[cpu].lock();
        let task = self.tasks[arch.current.index()].lock();
        Here { cpu, arch, task }
    }

    fn enable(&self, at: &'static Location<'static>) {
        if self.mmu.in_interrupt() {
            return;
        }
        let mut here = self.lock_here();
        let masks = !self.is_bug_injected(InjectedBug::PauseDoesNotMask);
        if here.task.pause_count > 0 && masks {
            return;
        }
        let count = here.task.enable_count;
        if count == u8::MAX {
            return self.report(here.cpu, Rule::EnableCountOverflow, at, here.task.entered_at, ReportDetail::None);
        }
        if count > 0 {
            match self.nesting_policy() {
                // Rejected: counted only so that its leave is rejected too
                // and the outer section goes on.
                NestingPolicy::Strict => {
                    self.report(here.cpu, Rule::NestedEnter, at, here.task.entered_at, ReportDetail::None);
                    here.task.enable_count += 1;
                }
                NestingPolicy::PermissiveFlag => {}
                NestingPolicy::Counter => here.task.enable_count += 1,
            }
            // 49147beb0ccb's era: every section entered the arch mode.
            if self.is_bug_injected(InjectedBug::XenPerCpuNesting) && here.task.pause_count == 0 {
                self.arch_enter(&mut here, at);
            }
            return;
        }
        here.task.enable_count = 1;
        here.task.entered_at = Some(at);
        if here.task.pause_count > 0 {
            return;
        }
        drop(here);
        // The window of 4594437880ce: counted, not yet entered.
        self.preempt_point(PreemptPoint::EnableBeforeArchEnter);
        let mut here = self.lock_here();
        self.arch_enter(&mut here, at);
    }

    fn disable(&self, at: &'static Location<'static>, api: Api) {
        if self.mmu.in_interrupt() {
            return;
        }
        let mut here = self.lock_here();
        if here.task.pause_count > 0 && !self.is_bug_injected(InjectedBug::PauseDoesNotMask) {
            return;
        }
        if here.task.enable_count == 0 {
            let rule = match api {
                Api::Seed => Rule::LeaveWithoutEnter,
                Api::Upstream => Rule::DisableWithoutEnable,
            };
            return self.report(here.cpu, rule, at, None, ReportDetail::None);
        }
        let policy = self.nesting_policy();
        // The permissive flag has one level: any leave ends the section.
        if policy == NestingPolicy::PermissiveFlag || here.task.enable_count == 1 {
            here.task.enable_count = 0;
            here.task.entered_at = None;
            drop(here);
            // The mirror window: counted down, not yet left.
            self.preempt_point(PreemptPoint::DisableBeforeArchLeave);
            let mut here = self.lock_here();
            self.arch_leave(&mut here, at);
            return;
        }
        here.task.enable_count -= 1;
        if self.is_bug_injected(InjectedBug::XenPerCpuNesting) {
            // Its matching enter nested the arch mode: undo one level.
            self.arch_leave(&mut here, at);
            return;
        }
        // Only the counter flushes on a nested disable; under the strict
        // policy the matching enter was rejected.
        let flushes = policy == NestingPolicy::Counter && !self.is_bug_injected(InjectedBug::NestedDisableSkipsFlush);
        if here.arch.active && flushes {
            self.arch_flush(&mut here);
        }
    }

    pub(crate) fn pause_locked(&self, here: &mut Here<'_>, at: &'static Location<'static>) {
        if here.task.pause_count == u8::MAX {
            return self.report(here.cpu, Rule::PauseCountOverflow, at, here.task.entered_at, ReportDetail::None);
        }
        here.task.pause_count += 1;
        if here.task.pause_count == 1 && here.task.enable_count > 0 {
            self.arch_leave(here, at);
        }
    }

    pub(crate) fn resume_locked(&self, here: &mut Here<'_>, at: &'static Location<'static>) {
        if here.task.pause_count == 0 {
            return self.report(here.cpu, Rule::ResumeWithoutPause, at, here.task.entered_at, ReportDetail::None);
        }
        here.task.pause_count -= 1;
        if here.task.pause_count == 0 && here.task.enable_count > 0 {
            self.arch_enter(here, at);
        }
    }

    /// The arch enter of the flavour. Entering while entered is tolerated
    /// (4594437880ce) unless [`InjectedBug::XenIntolerantNesting`]; under
    /// [`InjectedBug::XenPerCpuNesting`] it counts a level. tlb-batch
    /// disables preemption for the section (a1d416bf9faf, b9ef323ea168).
    pub(crate) fn arch_enter(&self, here: &mut Here<'_>, at: &'static Location<'static>) {
        if here.arch.active {
            if self.is_bug_injected(InjectedBug::XenPerCpuNesting) {
                here.arch.arch_nesting = here.arch.arch_nesting.saturating_add(1);
            } else if self.is_bug_injected(InjectedBug::XenIntolerantNesting) {
                self.report(here.cpu, Rule::ArchEnterWhileEntered, at, here.task.entered_at, ReportDetail::None);
            }
            return;
        }
        here.arch.active = true;
        if self.flavour() == super::Flavour::TlbBatch && !self.is_bug_injected(InjectedBug::BatchPreemptible) {
            here.arch.preempt_count += 1;
            here.arch.section_preempt_off = true;
        }
        here.arch.record(ArchOp::Enter);
        self.instr.counters[here.cpu].count(Event::Enter);
    }

    /// The arch leave: applies everything deferred. Leaving while left is
    /// tolerated unless [`InjectedBug::XenIntolerantNesting`] or
    /// [`InjectedBug::XenPerCpuNesting`] (whose leave undoes one nested
    /// enter at a time).
    pub(crate) fn arch_leave(&self, here: &mut Here<'_>, at: &'static Location<'static>) {
        let per_cpu_nesting = self.is_bug_injected(InjectedBug::XenPerCpuNesting);
        if !here.arch.active {
            if per_cpu_nesting || self.is_bug_injected(InjectedBug::XenIntolerantNesting) {
                self.report(here.cpu, Rule::ArchLeaveWhileLeft, at, here.task.entered_at, ReportDetail::None);
            }
            return;
        }
        let cpu = here.cpu;
        if per_cpu_nesting && here.arch.arch_nesting > 0 {
            // 49147beb0ccb's `leave_lazy`: flush, drop one level, stay in.
            here.arch.arch_nesting -= 1;
            self.drain(cpu, &mut here.arch, &mut here.task);
            here.arch.record(ArchOp::Flush);
            self.instr.counters[cpu].count(Event::Flush);
            return;
        }
        self.drain(cpu, &mut here.arch, &mut here.task);
        here.arch.active = false;
        if core::mem::take(&mut here.arch.section_preempt_off) {
            here.arch.preempt_count -= 1;
        }
        here.arch.record(ArchOp::Leave);
        self.instr.counters[cpu].count(Event::Leave);
    }

    fn arch_flush(&self, here: &mut Here<'_>) {
        let cpu = here.cpu;
        self.drain(cpu, &mut here.arch, &mut here.task);
        here.arch.record(ArchOp::Flush);
        self.instr.counters[cpu].count(Event::Flush);
    }

    /// Records a sanitizer report from this CPU's context.
    pub(crate) fn report(
        &self,
        cpu: usize,
        rule: Rule,
        at: &'static Location<'static>,
        section_entered_at: Option<&'static Location<'static>>,
        detail: ReportDetail,
    ) {
        let report = Report { rule, cpu, at, section_entered_at, detail };
        self.instr.sanitizer.report(report, self.mmu.in_interrupt());
    }
}
