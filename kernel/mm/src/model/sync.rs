//! The per-CPU state of the model's arm64 barrier rules (docs/litmus.md):
//! TLBIs issued but not yet completed, and newly valid entries this CPU's
//! own walks may not see yet.

use std::collections::HashMap;

use crate::addr::PhysAddr;
use crate::mmu::{TlbScope, TlbiTarget};

/// A TLBI that waits for a `dsb ish` of its CPU.
#[derive(Clone, Copy, Debug)]
pub(super) struct PendingTlbi {
    pub target: TlbiTarget,
    pub scope: TlbScope,
    /// PTE stores of its CPU had not reached the walker when it was issued
    /// (no DSB between): the invalidation may run before them, and a walk
    /// after it may refill the old translation (`CoWinvT1+tlbi-dsb`).
    pub unordered: bool,
}

/// Where a store that made an entry valid stands on its own CPU: the
/// walker of that CPU sees it only after a DSB and then an ISB (herd7
/// `D15347-load-DSB` allows the fault that `D15347-load-DSB-ISB` forbids).
/// The model takes the strict outcome: until then the walk sees the entry
/// as it was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum NewEntry {
    /// Stored; no DSB since.
    Stored,
    /// A DSB completed it; an ISB is still owed.
    Completed,
}

#[derive(Default)]
pub(super) struct CpuSync {
    pub pending_tlbis: Vec<PendingTlbi>,
    /// Newly valid entries, by entry address, with the value hidden.
    pub new_entries: HashMap<PhysAddr, (NewEntry, u64)>,
}

impl CpuSync {
    /// A DSB of this CPU: its stores complete.
    pub(super) fn dsb(&mut self) {
        self.new_entries.values_mut().for_each(|(stage, _)| *stage = NewEntry::Completed);
    }

    /// An ISB: what a DSB completed is seen by this CPU's walks.
    pub(super) fn isb(&mut self) {
        self.new_entries.retain(|_, (stage, _)| *stage == NewEntry::Stored);
    }

    /// The value this CPU's walker reads at `ptep` instead of memory's.
    pub(super) fn hidden(&self, ptep: PhysAddr) -> Option<u64> {
        self.new_entries.get(&ptep).map(|&(_, old)| old)
    }
}
