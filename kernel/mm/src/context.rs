//! The `mm` context: one value holding the MMU, the frame allocator, the
//! kernel's tables, the per-CPU lazy state, counters and the sanitizer. The
//! kernel keeps one in a `static`; every method takes `&self` so interrupt
//! handlers and other CPUs can use it too. The lazy layer, page allocation
//! and the Linux-shaped operations add their methods in their own modules.

use core::panic::Location;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU8, AtomicUsize, Ordering};

use alloc::vec::Vec;

use crate::addr::{PhysAddr, VirtAddr};
use crate::frame::FrameAllocator;
use crate::layout::KernelLayout;
use crate::lazy::counters::{CpuCounters, LazyCounters};
use crate::lazy::sanitizer::{Report, Sanitizer};
use crate::lazy::state::{
    CpuLazy, BATCH_CAPACITY_MAX, DEFAULT_BATCH_CAPACITY, DEFAULT_QUEUE_CAPACITY, QUEUE_CAPACITY_MAX,
};
use crate::lazy::{Flavour, InjectedBug, NestingPolicy, ReportDetail, Rule};
use crate::mmu::{Mmu, PteFormat, MAX_CPUS};
use crate::pgtable::{DirectWriteWatch, MapError, PageTables, Roots};
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
    pub(crate) cpus: [spin::Mutex<CpuLazy>; MAX_CPUS],
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
            cpus: core::array::from_fn(|_| spin::Mutex::new(CpuLazy::new())),
            counters: Default::default(),
            sanitizer: Sanitizer::new(),
            vmalloc: spin::Mutex::new(VmallocSpace::new(layout.vmalloc_base, layout.vmalloc_size)),
        }
    }

    /// The CPU this runs on (Linux's `smp_processor_id`), below `MAX_CPUS`.
    pub fn cpu_id(&self) -> usize {
        self.mmu.cpu_id()
    }

    /// The entry encoding of the tables this context manages.
    pub fn pte_format(&self) -> PteFormat {
        self.roots.format
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

    /// The kernel tables, for lookups and for building outside any section
    /// (a direct write inside one is reported). Table pages come straight
    /// from the frame allocator.
    pub fn page_tables(&self) -> PageTables<'_, M, spin::Mutex<FrameAllocator>> {
        PageTables::watched(self.mmu, self.frames, self.roots, self)
    }

    /// Linux's `pte_alloc_kernel`: `va`'s leaf entry, with missing tables
    /// allocated through this context as `apply_to_page_range` allocates
    /// them (checked, and mapped under debug_pagealloc before they are
    /// zeroed). Call it outside any section: a table linked in inside one
    /// is reported.
    #[track_caller]
    pub fn pte_alloc_kernel(&self, va: VirtAddr) -> Result<PhysAddr, MapError> {
        PageTables::watched(self.mmu, self, self.roots, self).pte_alloc(va)
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

/// An `Mm`'s tables report their direct writes inside a lazy section.
impl<M: Mmu + ?Sized> DirectWriteWatch for Mm<'_, M> {
    fn direct_write(&self, va: VirtAddr, at: &'static Location<'static>) {
        self.report_if_lazy(Rule::DirectWriteInLazy, at, ReportDetail::Va(va));
    }
}

impl<M: Mmu + ?Sized> Mm<'_, M> {
    /// Reports `rule` if this CPU's task is in a lazy section (never in
    /// interrupt context, which has no section).
    pub(crate) fn report_if_lazy(&self, rule: Rule, at: &'static Location<'static>, detail: ReportDetail) {
        let cpu = self.mmu.cpu_id();
        if let Some(state) = self.task_state(cpu).filter(|state| state.active) {
            let entered_at = state.entered_at;
            drop(state);
            self.report(cpu, rule, at, entered_at, detail);
        }
    }
}
