//! The arm64 barrier steps the lazy layer issues (`lazy/barriers.rs`): the
//! whole flush and publish sequences when nothing is injected, the exact
//! broken sequence each injected arm64 bug asks for, its sanitizer report,
//! and x86_64 left alone by those bugs.

use super::*;
use crate::lazy::{InjectedBug, Rule};
use crate::mmu::{Barrier, FlushStep, PteFormat, TlbScope, TlbiTarget};
use crate::test_mmu::Fixture;

/// Maps page 0 outside any section, unmaps it and flushes it; returns what
/// reached the MMU after the first store, and the rules the sanitizer
/// reported. The clear is published by the flush's own `dsb ishst` alone.
fn map_and_flush(format: PteFormat, bug: Option<InjectedBug>) -> (Vec<HwOp>, Vec<Rule>) {
    let fx = Fixture::new(format);
    let mm = fx.mm();
    let ptep = ptep_of(&fx, 0);
    if let Some(bug) = bug {
        mm.inject_bug(bug);
    }
    fx.mmu.take_log();
    mm.set_pte_at(page(0), ptep, entry(&fx, FRAME_A));
    mm.pte_clear(page(0), ptep);
    mm.flush_tlb_page(page(0), TlbScope::Broadcast);
    let log = fx.mmu.take_log();
    let stores: Vec<u64> =
        log.iter().filter_map(|op| if let HwOp::WritePte(_, value) = op { Some(*value) } else { None }).collect();
    assert!(matches!(log[0], HwOp::WritePte(..)), "{log:?}");
    assert!(matches!(stores[..], [value, 0] if value != 0), "{log:?}");
    let rules = mm.take_reports().iter().map(|report| report.rule).collect();
    (log, rules)
}

/// What follows the first store: its publish, the clear, the flush.
fn after_store(log: &[HwOp]) -> Vec<HwOp> {
    log[1..].iter().copied().filter(|op| !matches!(op, HwOp::WritePte(..))).collect()
}

#[test]
fn without_a_bug_the_whole_sequences_are_issued() {
    for format in [PteFormat::Arm64, PteFormat::X86_64] {
        let (log, rules) = map_and_flush(format, None);
        assert_eq!(after_store(&log), [HwOp::FullBarrier, HwOp::FlushPage(page(0), TlbScope::Broadcast)], "{format:?}");
        assert_eq!(rules, [], "{format:?}");
    }
}

#[test]
fn a_flush_without_its_store_barrier_issues_the_other_three_steps() {
    let (log, rules) = map_and_flush(PteFormat::Arm64, Some(InjectedBug::FlushSkipsStoreBarrier));
    let tlbi = HwOp::Tlbi(TlbiTarget::Page(page(0)), TlbScope::Broadcast);
    assert_eq!(
        after_store(&log),
        [HwOp::FullBarrier, tlbi, HwOp::Barrier(Barrier::DsbIsh), HwOp::Barrier(Barrier::Isb)]
    );
    assert_eq!(rules, [Rule::TlbiBeforeDsb]);
}

#[test]
fn a_flush_completed_by_dsb_ishst_issues_that_instead_of_dsb_ish() {
    let (log, rules) = map_and_flush(PteFormat::Arm64, Some(InjectedBug::FlushCompletesWithDsbIshst));
    let tlbi = HwOp::Tlbi(TlbiTarget::Page(page(0)), TlbScope::Broadcast);
    let ishst = HwOp::Barrier(Barrier::DsbIshSt);
    assert_eq!(after_store(&log), [HwOp::FullBarrier, ishst, tlbi, ishst, HwOp::Barrier(Barrier::Isb)]);
    assert_eq!(rules, [Rule::TlbiNotCompleted]);
}

#[test]
fn a_publish_without_isb_issues_dsb_ish_alone() {
    let (log, rules) = map_and_flush(PteFormat::Arm64, Some(InjectedBug::PublishSkipsIsb));
    assert_eq!(after_store(&log), [HwOp::Barrier(Barrier::DsbIsh), HwOp::FlushPage(page(0), TlbScope::Broadcast)]);
    assert_eq!(rules, [Rule::NewEntryBeforeIsb]);
}

#[test]
fn the_arm64_barrier_bugs_leave_x86_64_alone() {
    for bug in
        [InjectedBug::FlushSkipsStoreBarrier, InjectedBug::FlushCompletesWithDsbIshst, InjectedBug::PublishSkipsIsb]
    {
        let (log, rules) = map_and_flush(PteFormat::X86_64, Some(bug));
        assert_eq!(after_store(&log), [HwOp::FullBarrier, HwOp::FlushPage(page(0), TlbScope::Broadcast)], "{bug:?}");
        assert_eq!(rules, [], "{bug:?}");
    }
}

/// Maps page 0 to a fresh frame and clears it without a flush, in
/// interrupt context or not, then frees the frame as a table page: the
/// rules reported.
fn free_unflushed(format: PteFormat, irq_at_clear: bool) -> Vec<Rule> {
    let fx = Fixture::new(format);
    let mm = fx.mm();
    let ptep = ptep_of(&fx, 0);
    let frame = mm.alloc_page().expect("a frame");
    mm.set_pte_at(page(0), ptep, entry(&fx, frame));
    fx.mmu.set_in_interrupt(irq_at_clear);
    mm.pte_clear(page(0), ptep);
    fx.mmu.set_in_interrupt(false);
    mm.pte_free_kernel(frame).expect("freed");
    mm.take_reports().iter().map(|report| report.rule).collect()
}

/// (Switching the sanitizer resets the barrier rules, so whether they
/// watch with it off shows in no report.)
#[test]
fn the_barrier_rules_watch_arm64_tables_outside_interrupts() {
    assert_eq!(free_unflushed(PteFormat::Arm64, false), [Rule::TableFreedUnclean]);
    assert_eq!(free_unflushed(PteFormat::X86_64, false), [], "x86_64 tables are not watched");
    assert_eq!(free_unflushed(PteFormat::Arm64, true), [], "the clear happened in interrupt context");
}

#[test]
fn an_arm64_switch_issues_dsb_ish_first_and_x86_none() {
    for (format, wanted) in [(PteFormat::Arm64, vec![HwOp::Barrier(Barrier::DsbIsh)]), (PteFormat::X86_64, vec![])] {
        let fx = Fixture::new(format);
        let mm = fx.mm();
        fx.mmu.take_log();
        let prev = mm.context_switch(crate::lazy::TaskId::second(0));
        assert_eq!(fx.mmu.take_log(), wanted, "{format:?}");
        mm.context_switch(prev);
    }
}

/// A task preempted between its `tlbi` and its `dsb ish`: the switch
/// completes the invalidation, so the next task's flush does not return
/// with it pending (the timer case saw that report before the switch did).
#[test]
fn a_switch_completes_a_preempted_tasks_tlbi() {
    let fx = Fixture::new(PteFormat::Arm64);
    let mm = fx.mm();
    mm.watch(0, &[FlushStep::Barrier(Barrier::DsbIshSt), FlushStep::Tlbi]);
    let prev = mm.context_switch(crate::lazy::TaskId::second(0));
    assert_eq!(mm.instr.sanitizer.barriers.flush_returns(0), None);
    mm.context_switch(prev);
    mm.watch(0, &[FlushStep::Barrier(Barrier::DsbIshSt), FlushStep::Tlbi]);
    assert!(mm.instr.sanitizer.barriers.flush_returns(0).is_some(), "without a switch the TLBI is still pending");
    assert_eq!(mm.take_reports().iter().map(|report| report.rule).collect::<Vec<_>>(), []);
}
