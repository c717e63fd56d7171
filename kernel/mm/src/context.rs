//! The `mm` context: one value holding the MMU, the frame allocator, the
//! kernel's tables, the per-CPU lazy state, counters and the sanitizer. The
//! kernel keeps one in a `static`; every method takes `&self` so interrupt
//! handlers and other CPUs can use it too. The lazy layer, page allocation
//! and the Linux-shaped operations add their methods in their own modules.

use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU8, AtomicUsize, Ordering};

use alloc::vec::Vec;

use crate::frame::FrameAllocator;
use crate::layout::KernelLayout;
use crate::lazy::counters::{CpuCounters, LazyCounters};
use crate::lazy::sanitizer::{Report, Sanitizer};
use crate::lazy::state::{
    CpuLazy, BATCH_CAPACITY_MAX, DEFAULT_BATCH_CAPACITY, DEFAULT_QUEUE_CAPACITY, QUEUE_CAPACITY_MAX,
};
use crate::lazy::task::{TaskLazy, MAX_TASKS};
use crate::lazy::Scheduler;
use crate::lazy::{Flavour, InjectedBug, NestingPolicy};
use crate::mmu::{Mmu, MAX_CPUS};
use crate::pgtable::{PageTables, Roots};
use crate::vmalloc::VmallocSpace;

/// Whether a checker or debug mode is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Switch {
    On,
    Off,
}

pub(crate) struct Settings {
    flavour: AtomicU8,
    policy: AtomicU8,
    queue_capacity: AtomicUsize,
    batch_capacity: AtomicUsize,
    bugs: AtomicU32,
    pub(crate) debug_pagealloc: AtomicBool,
}

pub struct Mm<'a, M: Mmu + ?Sized> {
    pub(crate) mmu: &'a M,
    pub(crate) frames: &'a spin::Mutex<FrameAllocator>,
    pub(crate) roots: Roots,
    pub(crate) layout: KernelLayout,
    pub(crate) settings: Settings,
    /// Each CPU's arch state; locked before any task's.
    pub(crate) cpus: [spin::Mutex<CpuLazy>; MAX_CPUS],
    /// Each task's lazy state (v7.0 keeps it in `task_struct`).
    pub(crate) tasks: [spin::Mutex<TaskLazy>; MAX_TASKS],
    pub(crate) scheduler: spin::Mutex<Option<&'static dyn Scheduler>>,
    pub(crate) counters: [CpuCounters; MAX_CPUS],
    pub(crate) sanitizer: Sanitizer,
    pub(crate) vmalloc: spin::Mutex<VmallocSpace>,
}

impl<'a, M: Mmu + ?Sized> Mm<'a, M> {
    /// A context over existing tables (`roots`, built with [`PageTables`])
    /// and the kernel's layout. Starts with flavour `none`, the counter
    /// nesting policy, the sanitizer on and debug_pagealloc off.
    pub fn new(mmu: &'a M, frames: &'a spin::Mutex<FrameAllocator>, roots: Roots, layout: KernelLayout) -> Self {
        Mm {
            mmu,
            frames,
            roots,
            layout,
            settings: Settings {
                flavour: AtomicU8::new(Flavour::None.index()),
                policy: AtomicU8::new(NestingPolicy::Counter.index()),
                queue_capacity: AtomicUsize::new(DEFAULT_QUEUE_CAPACITY),
                batch_capacity: AtomicUsize::new(DEFAULT_BATCH_CAPACITY),
                bugs: AtomicU32::new(0),
                debug_pagealloc: AtomicBool::new(false),
            },
            cpus: core::array::from_fn(|cpu| spin::Mutex::new(CpuLazy::new(cpu))),
            tasks: core::array::from_fn(|_| spin::Mutex::new(TaskLazy::new())),
            scheduler: spin::Mutex::new(None),
            counters: Default::default(),
            sanitizer: Sanitizer::new(),
            vmalloc: spin::Mutex::new(VmallocSpace::new(layout.vmalloc_base, layout.vmalloc_size)),
        }
    }

    pub fn mmu(&self) -> &'a M {
        self.mmu
    }

    pub fn frames(&self) -> &'a spin::Mutex<FrameAllocator> {
        self.frames
    }

    pub fn layout(&self) -> &KernelLayout {
        &self.layout
    }

    pub fn roots(&self) -> Roots {
        self.roots
    }

    /// The kernel tables, for lookups and for building outside any section.
    /// Table pages come straight from the frame allocator.
    pub fn page_tables(&self) -> PageTables<'a, M, spin::Mutex<FrameAllocator>> {
        PageTables::from_roots(self.mmu, self.frames, self.roots)
    }

    /// Selects the backend. Change it only while every CPU is quiescent
    /// (between cases): deferred work drains by what it is, not by flavour,
    /// so nothing is lost, but a section would mix two models.
    pub fn set_flavour(&self, flavour: Flavour) {
        self.settings.flavour.store(flavour.index(), Ordering::Relaxed);
    }

    pub fn flavour(&self) -> Flavour {
        Flavour::from_index(self.settings.flavour.load(Ordering::Relaxed))
    }

    pub fn set_nesting_policy(&self, policy: NestingPolicy) {
        self.settings.policy.store(policy.index(), Ordering::Relaxed);
    }

    pub fn nesting_policy(&self) -> NestingPolicy {
        NestingPolicy::from_index(self.settings.policy.load(Ordering::Relaxed))
    }

    /// Entries a queue holds before it drains early, clamped to
    /// `1..=QUEUE_CAPACITY_MAX`.
    pub fn set_queue_capacity(&self, entries: usize) {
        self.settings.queue_capacity.store(entries.clamp(1, QUEUE_CAPACITY_MAX), Ordering::Relaxed);
    }

    pub fn queue_capacity(&self) -> usize {
        self.settings.queue_capacity.load(Ordering::Relaxed)
    }

    /// Invalidations a tlb-batch holds before it drains early, clamped to
    /// `1..=BATCH_CAPACITY_MAX`.
    pub fn set_batch_capacity(&self, entries: usize) {
        self.settings.batch_capacity.store(entries.clamp(1, BATCH_CAPACITY_MAX), Ordering::Relaxed);
    }

    pub fn batch_capacity(&self) -> usize {
        self.settings.batch_capacity.load(Ordering::Relaxed)
    }

    pub fn inject_bug(&self, bug: InjectedBug) {
        self.settings.bugs.fetch_or(bug.bit(), Ordering::Relaxed);
    }

    pub fn clear_injected_bugs(&self) {
        self.settings.bugs.store(0, Ordering::Relaxed);
    }

    pub fn is_bug_injected(&self, bug: InjectedBug) -> bool {
        self.settings.bugs.load(Ordering::Relaxed) & bug.bit() != 0
    }

    pub fn set_sanitizer(&self, switch: Switch) {
        self.sanitizer.set_enabled(switch == Switch::On);
    }

    /// Takes the sanitizer's reports, oldest first.
    pub fn take_reports(&self) -> Vec<Report> {
        self.sanitizer.take()
    }

    /// Reports lost since the last call (full buffer, or a contended buffer
    /// lock in interrupt context).
    pub fn take_dropped_reports(&self) -> u64 {
        self.sanitizer.take_dropped()
    }

    /// A snapshot of `cpu`'s counters.
    pub fn counters(&self, cpu: usize) -> LazyCounters {
        self.counters[cpu].snapshot()
    }

    /// A snapshot of the current CPU's counters.
    pub fn counters_this_cpu(&self) -> LazyCounters {
        self.counters(self.mmu.cpu_id())
    }

    pub fn reset_counters(&self) {
        self.counters.iter().for_each(CpuCounters::reset);
    }
}
