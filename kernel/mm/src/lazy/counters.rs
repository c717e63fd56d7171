//! Per-CPU counters of what the lazy layer asked the hardware to do. They
//! are a judge of their own: lost batching shows as barriers or
//! invalidations that should not be there. Atomics, so interrupt context
//! counts without taking a lock.

use core::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of one CPU's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LazyCounters {
    /// PTE words stored to memory through the lazy layer (drained ones
    /// included, queued ones not yet).
    pub pte_writes: u64,
    /// PTE writes and TLB flushes put on a queue or batch instead of done.
    pub deferred: u64,
    /// `dsb ishst; isb` pairs (`Mmu::full_barrier`).
    pub barriers: u64,
    /// Lone `dsb ishst` (`Mmu::store_barrier`), before a flush in an arm64
    /// section.
    pub store_barriers: u64,
    /// TLB invalidation calls issued to the hardware (page or all).
    pub invalidations: u64,
    /// Drains of a non-empty queue or batch, early ones included.
    pub drains: u64,
    /// Drains forced by a full queue or batch mid-section.
    pub early_drains: u64,
    /// Arch-level transitions: `arch_enter`, `arch_leave`, `arch_flush`.
    pub enters: u64,
    pub leaves: u64,
    pub flushes: u64,
}

/// The live counters of one CPU.
#[derive(Default)]
pub(crate) struct CpuCounters {
    pte_writes: AtomicU64,
    deferred: AtomicU64,
    barriers: AtomicU64,
    store_barriers: AtomicU64,
    invalidations: AtomicU64,
    drains: AtomicU64,
    early_drains: AtomicU64,
    enters: AtomicU64,
    leaves: AtomicU64,
    flushes: AtomicU64,
}

/// Which counter an event bumps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Event {
    PteWrite,
    Deferred,
    Barrier,
    StoreBarrier,
    Invalidation,
    Drain,
    EarlyDrain,
    Enter,
    Leave,
    Flush,
}

impl CpuCounters {
    fn counter(&self, event: Event) -> &AtomicU64 {
        match event {
            Event::PteWrite => &self.pte_writes,
            Event::Deferred => &self.deferred,
            Event::Barrier => &self.barriers,
            Event::StoreBarrier => &self.store_barriers,
            Event::Invalidation => &self.invalidations,
            Event::Drain => &self.drains,
            Event::EarlyDrain => &self.early_drains,
            Event::Enter => &self.enters,
            Event::Leave => &self.leaves,
            Event::Flush => &self.flushes,
        }
    }

    pub(crate) fn count(&self, event: Event) {
        self.counter(event).fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> LazyCounters {
        let read = |event| self.counter(event).load(Ordering::Relaxed);
        LazyCounters {
            pte_writes: read(Event::PteWrite),
            deferred: read(Event::Deferred),
            barriers: read(Event::Barrier),
            store_barriers: read(Event::StoreBarrier),
            invalidations: read(Event::Invalidation),
            drains: read(Event::Drain),
            early_drains: read(Event::EarlyDrain),
            enters: read(Event::Enter),
            leaves: read(Event::Leave),
            flushes: read(Event::Flush),
        }
    }

    pub(crate) fn reset(&self) {
        for event in [
            Event::PteWrite,
            Event::Deferred,
            Event::Barrier,
            Event::StoreBarrier,
            Event::Invalidation,
            Event::Drain,
            Event::EarlyDrain,
            Event::Enter,
            Event::Leave,
            Event::Flush,
        ] {
            self.counter(event).store(0, Ordering::Relaxed);
        }
    }
}
