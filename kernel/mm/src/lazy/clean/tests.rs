//! The barrier tracker alone, step by step: each of its four rules fires on
//! the broken order and stays silent on the right one, per CPU.

use super::{BarrierTracker, Violation, UNCLEAN_SLOTS};
use crate::addr::PhysAddr;
use crate::mmu::{Barrier, FlushStep};

const PTEP: PhysAddr = PhysAddr::new(0x4000_1008);
const OTHER_PTEP: PhysAddr = PhysAddr::new(0x4000_1010);
/// A leaf table's frame, and a table descriptor pointing at it (attribute
/// bits set, as a real one has).
const TABLE: PhysAddr = PhysAddr::new(0x4002_3000);
const TABLE_ENTRY: u64 = 0x4002_3000 | 0b11 | 1 << 63;
const VALID: (u64, bool) = (0x4005_0000 | 0b11, true);
const INVALID: (u64, bool) = (0, false);

const DSB_ISHST: FlushStep = FlushStep::Barrier(Barrier::DsbIshSt);
const DSB_ISH: FlushStep = FlushStep::Barrier(Barrier::DsbIsh);
const ISB: FlushStep = FlushStep::Barrier(Barrier::Isb);

fn steps(tracker: &BarrierTracker, cpu: usize, steps: &[FlushStep]) -> Vec<Violation> {
    steps.iter().filter_map(|&step| tracker.step(cpu, step)).collect()
}

#[test]
fn a_tlbi_needs_a_dsb_after_its_cpus_store() {
    let tracker = BarrierTracker::new();
    tracker.store(0, PTEP, VALID, INVALID);
    assert_eq!(steps(&tracker, 1, &[FlushStep::Tlbi]), [], "another CPU's store is not this CPU's");
    assert_eq!(steps(&tracker, 0, &[FlushStep::Tlbi]), [Violation::TlbiBeforeDsb]);
    tracker.store(0, PTEP, INVALID, INVALID);
    assert_eq!(steps(&tracker, 0, &[ISB, FlushStep::Tlbi]), [Violation::TlbiBeforeDsb], "an isb publishes nothing");
    for dsb in [DSB_ISHST, DSB_ISH] {
        tracker.store(0, PTEP, INVALID, INVALID);
        assert_eq!(steps(&tracker, 0, &[dsb, FlushStep::Tlbi]), []);
    }
}

#[test]
fn a_flush_returns_only_after_dsb_ish_completed_its_tlbis() {
    let tracker = BarrierTracker::new();
    assert_eq!(tracker.flush_returns(0), None);
    steps(&tracker, 0, &[FlushStep::Tlbi]);
    assert_eq!(tracker.flush_returns(1), None, "CPU1 issued no TLBI");
    assert_eq!(tracker.flush_returns(0), Some(Violation::TlbiNotCompleted));
    steps(&tracker, 0, &[DSB_ISHST, ISB]);
    assert_eq!(tracker.flush_returns(0), Some(Violation::TlbiNotCompleted), "dsb ishst completes no TLBI");
    steps(&tracker, 0, &[DSB_ISH]);
    assert_eq!(tracker.flush_returns(0), None);
}

#[test]
fn a_new_entry_is_handed_back_only_after_dsb_then_isb() {
    let tracker = BarrierTracker::new();
    assert_eq!(tracker.published(0), None, "nothing stored");
    tracker.store(0, PTEP, INVALID, VALID);
    assert_eq!(tracker.published(0), Some(Violation::NewEntryBeforeIsb));
    assert_eq!(tracker.published(0), None, "reported once");
    for (order, expected) in [
        (&[DSB_ISH][..], Some(Violation::NewEntryBeforeIsb)),
        (&[ISB, DSB_ISH][..], Some(Violation::NewEntryBeforeIsb)),
        (&[DSB_ISH, ISB][..], None),
        (&[DSB_ISHST, ISB][..], None),
    ] {
        tracker.store(0, PTEP, INVALID, VALID);
        steps(&tracker, 0, order);
        assert_eq!(tracker.published(0), expected, "{order:?}");
    }
    tracker.store(1, PTEP, INVALID, VALID);
    assert_eq!(tracker.published(0), None, "CPU1's new entry");
    assert_eq!(tracker.published(1), Some(Violation::NewEntryBeforeIsb));
    for (old, new) in [(VALID, VALID), (VALID, INVALID), (INVALID, INVALID)] {
        tracker.store(0, PTEP, old, new);
        assert_eq!(tracker.published(0), None, "{old:?} -> {new:?} makes no new entry");
    }
}

/// Clears the table entry on CPU `writer`: its table page is unclean.
fn clear_table_entry(tracker: &BarrierTracker, writer: usize) {
    tracker.store(writer, PTEP, (TABLE_ENTRY, true), INVALID);
}

#[test]
fn a_table_page_is_freed_only_once_its_entry_is_clean() {
    let tracker = BarrierTracker::new();
    assert_eq!(tracker.freed(TABLE), None, "no entry pointed at it");
    for (writer, order) in [
        (0, &[(0, FlushStep::Tlbi), (0, DSB_ISH)][..]),
        (0, &[(1, DSB_ISH), (0, FlushStep::Tlbi), (0, DSB_ISH)][..]),
        (0, &[(0, DSB_ISHST), (0, FlushStep::Tlbi), (0, DSB_ISHST)][..]),
        (0, &[(0, DSB_ISHST), (0, FlushStep::Tlbi), (1, DSB_ISH)][..]),
        (0, &[(0, DSB_ISHST), (0, DSB_ISH)][..]),
        (1, &[(0, DSB_ISHST), (0, FlushStep::Tlbi), (0, DSB_ISH)][..]),
    ] {
        clear_table_entry(&tracker, writer);
        for &(cpu, step) in order {
            tracker.step(cpu, step);
        }
        assert_eq!(tracker.freed(TABLE), Some(Violation::TableFreedUnclean), "writer {writer}, {order:?}");
        assert_eq!(tracker.freed(TABLE), None, "reported once");
    }
    for (writer, order) in [
        (0, &[(0, DSB_ISHST), (0, FlushStep::Tlbi), (0, DSB_ISH)][..]),
        (1, &[(1, DSB_ISHST), (0, FlushStep::Tlbi), (0, DSB_ISH)][..]),
    ] {
        clear_table_entry(&tracker, writer);
        for &(cpu, step) in order {
            tracker.step(cpu, step);
        }
        assert_eq!(tracker.freed(TABLE), None, "writer {writer}, {order:?}: clean");
    }
}

#[test]
fn a_new_store_to_the_entry_forgets_the_old_target() {
    let tracker = BarrierTracker::new();
    clear_table_entry(&tracker, 0);
    tracker.store(0, OTHER_PTEP, VALID, INVALID);
    tracker.store(0, PTEP, INVALID, VALID);
    assert_eq!(tracker.freed(TABLE), None, "the entry was rewritten: it no longer points at the table");
    assert_eq!(tracker.freed(PhysAddr::new(VALID.0 & !0xfff)), Some(Violation::TableFreedUnclean));
}

#[test]
fn the_oldest_unclean_entry_is_forgotten_past_the_slots() {
    let tracker = BarrierTracker::new();
    clear_table_entry(&tracker, 0);
    for n in 0..UNCLEAN_SLOTS as u64 - 1 {
        tracker.store(0, PhysAddr::new(0x4000_2000 + 8 * n), ((0x4010_0000 + (n << 12)) | 0b11, true), INVALID);
    }
    assert_eq!(tracker.freed(PhysAddr::new(0x4010_0000)), Some(Violation::TableFreedUnclean), "still followed");
    clear_table_entry(&tracker, 0);
    for n in 0..UNCLEAN_SLOTS as u64 {
        tracker.store(0, PhysAddr::new(0x4000_3000 + 8 * n), ((0x4020_0000 + (n << 12)) | 0b11, true), INVALID);
    }
    assert_eq!(tracker.freed(TABLE), None, "a missed report, never a false one");
}

#[test]
fn reset_forgets_every_cpu_and_entry() {
    let tracker = BarrierTracker::new();
    clear_table_entry(&tracker, 0);
    tracker.store(1, OTHER_PTEP, INVALID, VALID);
    steps(&tracker, 1, &[FlushStep::Tlbi]);
    tracker.reset();
    assert_eq!(tracker.freed(TABLE), None);
    assert_eq!(tracker.published(1), None);
    assert_eq!(tracker.flush_returns(1), None);
    assert_eq!(steps(&tracker, 1, &[FlushStep::Tlbi]), []);
}

#[test]
fn only_a_valid_to_invalid_store_leaves_an_entry_unclean() {
    let tracker = BarrierTracker::new();
    let other_table = (0x4003_3000 | 0b11, false);
    for (old, new) in [((TABLE_ENTRY, true), (TABLE_ENTRY, true)), ((TABLE_ENTRY, false), INVALID), (INVALID, VALID)] {
        tracker.store(0, PTEP, old, new);
        assert_eq!(tracker.freed(TABLE), None, "{old:?} -> {new:?}");
    }
    tracker.store(0, PTEP, (TABLE_ENTRY, true), other_table);
    assert_eq!(tracker.freed(TABLE), Some(Violation::TableFreedUnclean), "an invalid entry with an address");
}
