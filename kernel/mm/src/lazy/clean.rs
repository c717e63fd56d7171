//! The sanitizer's arm64 barrier rules (docs/litmus.md gives the
//! architecture; casemate's "clean" tracking, rems-project/casemate
//! doc/howitworks.md, the state machine). It watches the PTE stores,
//! barriers and TLBIs the lazy layer issues, per CPU, and names four
//! mistakes:
//! - a TLBI issued while a PTE store of its CPU has had no DSB: the
//!   invalidation may run before the walker sees the store;
//! - a flush that returns with a TLBI no `dsb ish` completed;
//! - a new valid entry handed back (published) without `dsb` then `isb`:
//!   its own CPU may still fault on it;
//! - a page-table page freed while the entry that pointed at it is not
//!   clean: VALID → (store) INVALID_UNCLEAN → DSB on the CPU that wrote it →
//!   TLBI → `dsb ish` on the CPU that issued the TLBI → INVALID (clean).
//!
//! Interrupt context is not watched (its sequence interleaves with the
//! interrupted one). A TLBI of any page moves every entry past its DSB on
//! to the TLBI stage: the tracker does not map entries to VAs, so it can
//! miss a flush of the wrong page but never reports a right one.

use crate::addr::PhysAddr;
use crate::mmu::{Barrier, FlushStep, MAX_CPUS};

#[cfg(test)]
mod tests;

/// Cleared table entries followed at once; past this the oldest is
/// forgotten (a missed report, never a false one).
const UNCLEAN_SLOTS: usize = 16;
/// Output address bits of an arm64 descriptor.
const OUTPUT_ADDRESS_MASK: u64 = 0x0000_ffff_ffff_f000;

/// What one step the lazy layer issued breaks, if anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Violation {
    TlbiBeforeDsb,
    TlbiNotCompleted,
    NewEntryBeforeIsb,
    TableFreedUnclean,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum NewEntry {
    None,
    Stored,
    Completed,
}

#[derive(Clone, Copy)]
struct CpuBarriers {
    /// A PTE store since this CPU's last DSB.
    store_since_dsb: bool,
    /// A TLBI since this CPU's last `dsb ish`.
    tlbi_since_dsb_ish: bool,
    new_entry: NewEntry,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// INVALID_UNCLEAN: stored, no DSB of the writer yet.
    Written,
    /// The writer's DSB published the store; a TLBI is owed.
    Published,
    /// Invalidated by this CPU's TLBI; its `dsb ish` is owed.
    Invalidated(usize),
}

#[derive(Clone, Copy)]
struct Unclean {
    ptep: PhysAddr,
    /// The page the entry pointed at.
    target: PhysAddr,
    writer: usize,
    stage: Stage,
}

pub(super) struct Tracker {
    cpus: [CpuBarriers; MAX_CPUS],
    unclean: [Option<Unclean>; UNCLEAN_SLOTS],
    next_slot: usize,
}

pub(crate) struct BarrierTracker {
    pub(super) state: spin::Mutex<Tracker>,
}

const IDLE: CpuBarriers = CpuBarriers { store_since_dsb: false, tlbi_since_dsb_ish: false, new_entry: NewEntry::None };

impl BarrierTracker {
    pub(crate) const fn new() -> Self {
        BarrierTracker {
            state: spin::Mutex::new(Tracker { cpus: [IDLE; MAX_CPUS], unclean: [None; UNCLEAN_SLOTS], next_slot: 0 }),
        }
    }

    /// Whether the state's lock is free now.
    pub(crate) fn lock_free(&self) -> bool {
        self.state.try_lock().is_some()
    }

    /// A PTE store on `cpu`: `old` was the entry, `new` replaces it;
    /// `valid` tells each one's valid bit.
    pub(crate) fn store(&self, cpu: usize, ptep: PhysAddr, old: (u64, bool), new: (u64, bool)) {
        let mut state = self.state.lock();
        let barriers = &mut state.cpus[cpu];
        barriers.store_since_dsb = true;
        if new.1 && !old.1 {
            barriers.new_entry = NewEntry::Stored;
        }
        state.unclean.iter_mut().filter(|slot| slot.is_some_and(|u| u.ptep == ptep)).for_each(|slot| *slot = None);
        if old.1 && !new.1 {
            let target = PhysAddr::new(old.0 & OUTPUT_ADDRESS_MASK);
            let slot = state.next_slot;
            state.unclean[slot] = Some(Unclean { ptep, target, writer: cpu, stage: Stage::Written });
            state.next_slot = (slot + 1) % UNCLEAN_SLOTS;
        }
    }

    /// `step` issued on `cpu`; returns the rule it breaks.
    pub(crate) fn step(&self, cpu: usize, step: FlushStep) -> Option<Violation> {
        let mut state = self.state.lock();
        let Tracker { cpus, unclean, .. } = &mut *state;
        let barriers = &mut cpus[cpu];
        let entries = unclean.iter_mut().filter_map(Option::as_mut);
        match step {
            FlushStep::Tlbi => {
                barriers.tlbi_since_dsb_ish = true;
                entries.filter(|u| u.stage == Stage::Published).for_each(|u| u.stage = Stage::Invalidated(cpu));
                return barriers.store_since_dsb.then_some(Violation::TlbiBeforeDsb);
            }
            FlushStep::Barrier(Barrier::Isb) => {
                if barriers.new_entry == NewEntry::Completed {
                    barriers.new_entry = NewEntry::None;
                }
            }
            FlushStep::Barrier(dsb) => {
                barriers.store_since_dsb = false;
                if barriers.new_entry == NewEntry::Stored {
                    barriers.new_entry = NewEntry::Completed;
                }
                let completes_tlbis = dsb == Barrier::DsbIsh;
                if completes_tlbis {
                    barriers.tlbi_since_dsb_ish = false;
                }
                for slot in unclean.iter_mut() {
                    match slot {
                        Some(u) if completes_tlbis && u.stage == Stage::Invalidated(cpu) => *slot = None,
                        Some(u) if u.writer == cpu && u.stage == Stage::Written => u.stage = Stage::Published,
                        _ => {}
                    }
                }
            }
        }
        None
    }

    /// A flush returns on `cpu`: every TLBI it issued must be complete.
    pub(crate) fn flush_returns(&self, cpu: usize) -> Option<Violation> {
        self.state.lock().cpus[cpu].tlbi_since_dsb_ish.then_some(Violation::TlbiNotCompleted)
    }

    /// A store that made an entry valid is handed back on `cpu`: its own
    /// walks must see it.
    pub(crate) fn published(&self, cpu: usize) -> Option<Violation> {
        let mut state = self.state.lock();
        let barriers = &mut state.cpus[cpu];
        let unsynchronised = barriers.new_entry != NewEntry::None;
        barriers.new_entry = NewEntry::None;
        unsynchronised.then_some(Violation::NewEntryBeforeIsb)
    }

    /// `page` goes back to the allocator: no uncleaned entry may point at
    /// it.
    pub(crate) fn freed(&self, page: PhysAddr) -> Option<Violation> {
        let mut state = self.state.lock();
        let slot = state.unclean.iter_mut().find(|slot| slot.is_some_and(|u| u.target == page))?;
        *slot = None;
        Some(Violation::TableFreedUnclean)
    }

    /// Forgets everything: a new case starts from idle CPUs.
    pub(crate) fn reset(&self) {
        *self.state.lock() = Tracker { cpus: [IDLE; MAX_CPUS], unclean: [None; UNCLEAN_SLOTS], next_slot: 0 };
    }
}
