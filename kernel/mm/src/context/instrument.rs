//! The test instrumentation of an `Mm`: which flavour and nesting policy
//! the lazy layer models, its queue and batch sizes, the bugs a case
//! injects, the sanitizer and the per-CPU counters. None of it is kernel
//! state; a case sets it up before it runs and reads it after.

use core::panic::Location;
use core::sync::atomic::{AtomicU32, AtomicU8, AtomicUsize, Ordering};

use alloc::vec::Vec;

use crate::context::{Mm, Switch};
use crate::lazy::counters::{CpuCounters, LazyCounters};
use crate::lazy::sanitizer::{Report, ReportDetail, Rule, Sanitizer};
use crate::lazy::state::{BATCH_CAPACITY_MAX, DEFAULT_BATCH_CAPACITY, DEFAULT_QUEUE_CAPACITY, QUEUE_CAPACITY_MAX};
use crate::lazy::{Flavour, InjectedBug, NestingPolicy};
use crate::mmu::{Mmu, MAX_CPUS};

pub(crate) struct Instrumentation {
    flavour: AtomicU8,
    policy: AtomicU8,
    queue_capacity: AtomicUsize,
    batch_capacity: AtomicUsize,
    bugs: AtomicU32,
    pub(crate) sanitizer: Sanitizer,
    pub(crate) counters: [CpuCounters; MAX_CPUS],
}

impl Instrumentation {
    pub(crate) fn new() -> Self {
        Instrumentation {
            flavour: AtomicU8::new(Flavour::None.index()),
            policy: AtomicU8::new(NestingPolicy::Counter.index()),
            queue_capacity: AtomicUsize::new(DEFAULT_QUEUE_CAPACITY),
            batch_capacity: AtomicUsize::new(DEFAULT_BATCH_CAPACITY),
            bugs: AtomicU32::new(0),
            sanitizer: Sanitizer::new(),
            counters: Default::default(),
        }
    }
}

impl<M: Mmu + ?Sized> Mm<'_, M> {
    /// Selects the backend. Change it only while every CPU is quiescent
    /// (between cases): deferred work drains by what it is, not by flavour,
    /// so nothing is lost, but a section would mix two models.
    pub fn set_flavour(&self, flavour: Flavour) {
        self.instr.flavour.store(flavour.index(), Ordering::Relaxed);
    }

    pub fn flavour(&self) -> Flavour {
        Flavour::from_index(self.instr.flavour.load(Ordering::Relaxed))
    }

    pub fn set_nesting_policy(&self, policy: NestingPolicy) {
        self.instr.policy.store(policy.index(), Ordering::Relaxed);
    }

    pub fn nesting_policy(&self) -> NestingPolicy {
        NestingPolicy::from_index(self.instr.policy.load(Ordering::Relaxed))
    }

    /// Entries a queue holds before it drains early, clamped to
    /// `1..=QUEUE_CAPACITY_MAX`.
    pub fn set_queue_capacity(&self, entries: usize) {
        self.instr.queue_capacity.store(entries.clamp(1, QUEUE_CAPACITY_MAX), Ordering::Relaxed);
    }

    pub fn queue_capacity(&self) -> usize {
        self.instr.queue_capacity.load(Ordering::Relaxed)
    }

    /// Invalidations a tlb-batch holds before it drains early, clamped to
    /// `1..=BATCH_CAPACITY_MAX`.
    pub fn set_batch_capacity(&self, entries: usize) {
        self.instr.batch_capacity.store(entries.clamp(1, BATCH_CAPACITY_MAX), Ordering::Relaxed);
    }

    pub fn batch_capacity(&self) -> usize {
        self.instr.batch_capacity.load(Ordering::Relaxed)
    }

    pub fn inject_bug(&self, bug: InjectedBug) {
        self.instr.bugs.fetch_or(bug.bit(), Ordering::Relaxed);
    }

    pub fn clear_injected_bugs(&self) {
        self.instr.bugs.store(0, Ordering::Relaxed);
    }

    pub fn is_bug_injected(&self, bug: InjectedBug) -> bool {
        self.instr.bugs.load(Ordering::Relaxed) & bug.bit() != 0
    }

    pub fn set_sanitizer(&self, switch: Switch) {
        self.instr.sanitizer.set_enabled(switch == Switch::On);
    }

    /// Takes the sanitizer's reports, oldest first.
    pub fn take_reports(&self) -> Vec<Report> {
        self.instr.sanitizer.take()
    }

    /// Reports lost since the last call (full buffer, or a contended buffer
    /// lock in interrupt context).
    pub fn take_dropped_reports(&self) -> u64 {
        self.instr.sanitizer.take_dropped()
    }

    /// A snapshot of `cpu`'s counters.
    pub fn counters(&self, cpu: usize) -> LazyCounters {
        self.instr.counters[cpu].snapshot()
    }

    /// A snapshot of the current CPU's counters.
    pub fn counters_this_cpu(&self) -> LazyCounters {
        self.counters(self.mmu.cpu_id())
    }

    pub fn reset_counters(&self) {
        self.instr.counters.iter().for_each(CpuCounters::reset);
    }

    /// Reports `rule` if this CPU's task is in a lazy section (never in
    /// interrupt context, which has no section).
    pub(crate) fn report_if_lazy(&self, rule: Rule, at: &'static Location<'static>, detail: ReportDetail) {
        let cpu = self.mmu.cpu_id();
        if let Some(here) = self.task_state(cpu).filter(|here| here.arch.active) {
            let entered_at = here.task.entered_at;
            drop(here);
            self.report(cpu, rule, at, entered_at, detail);
        }
    }
}
