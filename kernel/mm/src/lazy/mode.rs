//! Entering, leaving, pausing and resuming lazy MMU mode under the three
//! nesting policies, the context-switch hooks, and the check a test harness
//! runs at each case boundary.

use core::panic::Location;

use alloc::vec::Vec;

use super::counters::Event;
use super::sanitizer::{Report, ReportDetail, Rule, Site};
use super::state::{ArchOp, CpuLazy};
use super::{InjectedBug, NestingPolicy};
use crate::context::Mm;
use crate::mmu::Mmu;

/// One CPU's lazy-MMU state as seen from outside (tests, gdb helper).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LazyState {
    pub enable_count: u32,
    pub pause_count: u32,
    /// The arch-level mode is on (updates may be deferred now).
    pub is_active: bool,
    /// Deferred work not yet applied (barrier, queue or batch).
    pub has_pending: bool,
    pub entered_at: Option<&'static Location<'static>>,
}

/// `enable 1, pause 0, active, pending, entered at file:line`: the state in
/// one short phrase for check messages.
impl core::fmt::Display for LazyState {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "enable {}, pause {}", self.enable_count, self.pause_count)?;
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

/// What `lazy_mmu_switch_out` saved of a task's section, for
/// `lazy_mmu_switch_in` when the task runs again.
#[must_use = "a task switched out of a section must be switched back in"]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SavedLazy {
    enable_count: u32,
    pause_count: u32,
    entered_at: Option<&'static Location<'static>>,
}

/// Which API an underflow came through, for the rule it breaks.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Api {
    Seed,
    Upstream,
}

impl<M: Mmu + ?Sized> Mm<'_, M> {
    /// The seed's enter: starts a section, or nests per the policy.
    /// No-op in interrupt context.
    #[track_caller]
    pub fn arch_enter_lazy_mmu_mode(&self) {
        self.enable(Location::caller());
    }

    /// The seed's leave: applies everything deferred and ends the section
    /// (under the counter policy, only the outermost one; an inner one
    /// flushes). No-op in interrupt context.
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
        let cpu = self.mmu.cpu_id();
        let mut state = self.cpus[cpu].lock();
        if state.active {
            self.arch_flush(cpu, &mut state);
        }
    }

    /// Whether updates on this CPU may be deferred now. False in interrupt
    /// context (unless [`InjectedBug::IrqJoinsSection`] is injected).
    pub fn arch_in_lazy_mmu_mode(&self) -> bool {
        let cpu = self.mmu.cpu_id();
        self.task_state(cpu).is_some_and(|state| state.active)
    }

    /// Upstream's enable: `enable_count++`, entering on the first.
    #[track_caller]
    pub fn lazy_mmu_mode_enable(&self) {
        self.enable(Location::caller());
    }

    /// Upstream's disable: `enable_count--`, leaving on the last and
    /// flushing on a nested one.
    #[track_caller]
    pub fn lazy_mmu_mode_disable(&self) {
        self.disable(Location::caller(), Api::Upstream);
    }

    /// Leaves the arch mode (applying deferred work) whatever the depth, so
    /// the caller may allocate or read back PTEs; nests with a count.
    #[track_caller]
    pub fn lazy_mmu_mode_pause(&self) {
        if self.mmu.in_interrupt() {
            return;
        }
        let cpu = self.mmu.cpu_id();
        let mut state = self.cpus[cpu].lock();
        state.pause_count += 1;
        if state.pause_count == 1 && state.enable_count > 0 {
            self.arch_leave(cpu, &mut state);
        }
    }

    /// Undoes one pause; the last one re-enters if a section is open.
    #[track_caller]
    pub fn lazy_mmu_mode_resume(&self) {
        let at = Location::caller();
        if self.mmu.in_interrupt() {
            return;
        }
        let cpu = self.mmu.cpu_id();
        let mut state = self.cpus[cpu].lock();
        if state.pause_count == 0 {
            self.report(cpu, Rule::ResumeWithoutPause, at, state.entered_at, ReportDetail::None);
            return;
        }
        state.pause_count -= 1;
        if state.pause_count == 0 && state.enable_count > 0 {
            self.arch_enter(cpu, &mut state);
        }
    }

    /// Upstream's name for [`arch_in_lazy_mmu_mode`](Self::arch_in_lazy_mmu_mode):
    /// `enable_count > 0 && pause_count == 0`, false in interrupt context.
    pub fn is_lazy_mmu_mode_active(&self) -> bool {
        self.arch_in_lazy_mmu_mode()
    }

    /// `cpu`'s state, read under its lock (not from interrupt context).
    pub fn lazy_state(&self, cpu: usize) -> LazyState {
        let state = self.cpus[cpu].lock();
        LazyState {
            enable_count: state.enable_count,
            pause_count: state.pause_count,
            is_active: state.active,
            has_pending: state.has_pending(),
            entered_at: state.entered_at,
        }
    }

    /// The arch-level transitions this CPU made since the last call.
    pub fn take_arch_trace(&self) -> Vec<ArchOp> {
        let (trace, len) = self.cpus[self.mmu.cpu_id()].lock().take_trace();
        trace[..len].to_vec()
    }

    /// Context switch away from the current task: applies its deferred work,
    /// leaves its section and leaves this CPU non-lazy for the next task
    /// (Xen's `arch_start_context_switch`).
    pub fn lazy_mmu_switch_out(&self) -> SavedLazy {
        let cpu = self.mmu.cpu_id();
        let mut state = self.cpus[cpu].lock();
        if state.active {
            self.arch_leave(cpu, &mut state);
        }
        let saved = SavedLazy {
            enable_count: state.enable_count,
            pause_count: state.pause_count,
            entered_at: state.entered_at,
        };
        state.enable_count = 0;
        state.pause_count = 0;
        state.entered_at = None;
        saved
    }

    /// Context switch back to a task: resumes its section at the same depth.
    pub fn lazy_mmu_switch_in(&self, saved: SavedLazy) {
        let cpu = self.mmu.cpu_id();
        let mut state = self.cpus[cpu].lock();
        state.enable_count = saved.enable_count;
        state.pause_count = saved.pause_count;
        state.entered_at = saved.entered_at;
        if saved.enable_count > 0 && saved.pause_count == 0 {
            self.arch_enter(cpu, &mut state);
        }
    }

    /// The harness's check after each case: every CPU must be out of any
    /// section with nothing deferred. A CPU that is not gets a
    /// [`Rule::SectionLeftOpen`] report and is reset (its deferred work is
    /// applied from this CPU) so the next case starts clean. Returns whether
    /// all were quiescent.
    #[track_caller]
    pub fn check_quiescent(&self) -> bool {
        let at = Location::caller();
        let mut all_quiescent = true;
        for (cpu, lock) in self.cpus.iter().enumerate() {
            let mut state = lock.lock();
            if state.is_quiescent() {
                continue;
            }
            all_quiescent = false;
            self.report(cpu, Rule::SectionLeftOpen, at, state.entered_at, ReportDetail::None);
            self.drain(cpu, &mut state);
            state.active = false;
            state.enable_count = 0;
            state.pause_count = 0;
            state.entered_at = None;
        }
        all_quiescent
    }

    fn enable(&self, at: &'static Location<'static>) {
        if self.mmu.in_interrupt() {
            return;
        }
        let cpu = self.mmu.cpu_id();
        let mut state = self.cpus[cpu].lock();
        if state.enable_count > 0 {
            match self.nesting_policy() {
                NestingPolicy::Strict => {
                    // Rejected: counted only so that its leave is rejected too
                    // and the outer section goes on.
                    self.report(cpu, Rule::NestedEnter, at, state.entered_at, ReportDetail::None);
                    state.enable_count += 1;
                    return;
                }
                NestingPolicy::PermissiveFlag => return,
                NestingPolicy::Counter => {
                    state.enable_count += 1;
                    return;
                }
            }
        }
        state.enable_count = 1;
        state.entered_at = Some(at);
        if state.pause_count == 0 {
            self.arch_enter(cpu, &mut state);
        }
    }

    fn disable(&self, at: &'static Location<'static>, api: Api) {
        if self.mmu.in_interrupt() {
            return;
        }
        let cpu = self.mmu.cpu_id();
        let mut state = self.cpus[cpu].lock();
        if state.enable_count == 0 {
            let rule = match api {
                Api::Seed => Rule::LeaveWithoutEnter,
                Api::Upstream => Rule::DisableWithoutEnable,
            };
            self.report(cpu, rule, at, None, ReportDetail::None);
            return;
        }
        let policy = self.nesting_policy();
        // The permissive flag has one level: any leave ends the section.
        let outermost = policy == NestingPolicy::PermissiveFlag || state.enable_count == 1;
        if outermost {
            state.enable_count = 0;
            state.entered_at = None;
            if state.active {
                self.arch_leave(cpu, &mut state);
            }
        } else {
            state.enable_count -= 1;
            // Only upstream's counter flushes on a nested disable; under the
            // strict policy the matching enter was rejected.
            let flushes =
                policy == NestingPolicy::Counter && !self.is_bug_injected(InjectedBug::NestedDisableSkipsFlush);
            if state.active && flushes {
                self.arch_flush(cpu, &mut state);
            }
        }
    }

    fn arch_enter(&self, cpu: usize, state: &mut CpuLazy) {
        state.active = true;
        state.record(ArchOp::Enter);
        self.counters[cpu].count(Event::Enter);
    }

    fn arch_leave(&self, cpu: usize, state: &mut CpuLazy) {
        self.drain(cpu, state);
        state.active = false;
        state.record(ArchOp::Leave);
        self.counters[cpu].count(Event::Leave);
    }

    fn arch_flush(&self, cpu: usize, state: &mut CpuLazy) {
        self.drain(cpu, state);
        state.record(ArchOp::Flush);
        self.counters[cpu].count(Event::Flush);
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
        self.sanitizer.report(report, self.mmu.in_interrupt());
    }
}
