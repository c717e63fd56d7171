//! Where the lazy layer draws its lines: `set_ptes` over consecutive
//! entries, the page count at which a range flush becomes a full flush,
//! which writes tlb-batch invalidates, when deferred-pte reports a flush,
//! when an arm64 flush needs its own store barrier, and when a pause or an
//! enable changes the arch mode.

use super::*;
use crate::lazy::{ArchOp, Flavour, InjectedBug, Rule};
use crate::mmu::{PteFormat, TlbScope};
use crate::test_mmu::Fixture;
use crate::tlb::FLUSH_ALL_THRESHOLD_PAGES;

fn rules(mm: &crate::context::Mm<'_, crate::test_mmu::FakeMmu>) -> Vec<Rule> {
    mm.take_reports().iter().map(|report| report.rule).collect()
}

fn flushes(log: &[HwOp]) -> Vec<HwOp> {
    log.iter().copied().filter(|op| matches!(op, HwOp::FlushPage(..) | HwOp::FlushAll(_))).collect()
}

#[test]
fn set_ptes_maps_consecutive_frames_at_consecutive_entries() {
    let fx = Fixture::new(PteFormat::X86_64);
    let mm = fx.mm();
    mm.set_flavour(Flavour::TlbBatch);
    let pteps: Vec<_> = (0..3).map(|n| ptep_of(&fx, n)).collect();
    mm.set_ptes(page(0), pteps[0], entry(&fx, FRAME_A), 3);
    for (n, &ptep) in pteps.iter().enumerate() {
        assert_eq!(fx.mmu.pte_at(ptep), entry(&fx, FRAME_A.add(n as u64 * PAGE_SIZE)), "entry {n}");
    }
    fx.mmu.take_log();
    // Over live entries tlb-batch invalidates each old translation: at the
    // VA each entry maps.
    mm.set_ptes(page(0), pteps[0], entry(&fx, FRAME_B), 3);
    let expected: Vec<_> = (0..3).map(|n| HwOp::FlushPage(page(n), TlbScope::Broadcast)).collect();
    assert_eq!(flushes(&fx.mmu.take_log()), expected);
}

#[test]
fn a_range_becomes_a_full_flush_past_the_threshold() {
    let fx = Fixture::new(PteFormat::X86_64);
    let mm = fx.mm();
    let range = |nr_pages: u64| {
        mm.flush_tlb_kernel_range(page(0), page(nr_pages), TlbScope::Local);
        flushes(&fx.mmu.take_log())
    };
    assert_eq!(range(3), (0..3).map(|n| HwOp::FlushPage(page(n), TlbScope::Local)).collect::<Vec<_>>());
    assert_eq!(range(FLUSH_ALL_THRESHOLD_PAGES).len() as u64, FLUSH_ALL_THRESHOLD_PAGES, "at the threshold: pages");
    assert_eq!(range(FLUSH_ALL_THRESHOLD_PAGES + 1), [HwOp::FlushAll(TlbScope::Local)]);
}

#[test]
fn tlb_batch_invalidates_only_an_overwritten_live_translation() {
    for in_section in [false, true] {
        let fx = Fixture::new(PteFormat::X86_64);
        let mm = fx.mm();
        mm.set_flavour(Flavour::TlbBatch);
        let ptep = ptep_of(&fx, 0);
        let write = |frame| {
            if in_section {
                mm.lazy_mmu_mode_enable();
            }
            mm.set_pte_at(page(0), ptep, entry(&fx, frame));
            if in_section {
                mm.lazy_mmu_mode_disable();
            }
            flushes(&fx.mmu.take_log())
        };
        assert_eq!(write(FRAME_A), [], "in section {in_section}: over an empty entry");
        assert_eq!(write(FRAME_A), [], "in section {in_section}: the same value again");
        assert_eq!(write(FRAME_B), [HwOp::FlushPage(page(0), TlbScope::Broadcast)], "in section {in_section}");
    }
}

#[test]
fn other_flavours_never_flush_on_a_write() {
    for flavour in [Flavour::None, Flavour::Arm64] {
        let fx = Fixture::new(PteFormat::Arm64);
        let mm = fx.mm();
        mm.set_flavour(flavour);
        let ptep = ptep_of(&fx, 0);
        mm.set_pte_at(page(0), ptep, entry(&fx, FRAME_A));
        mm.pte_clear(page(0), ptep);
        mm.set_pte_at(page(0), ptep, entry(&fx, FRAME_B));
        assert_eq!(flushes(&fx.mmu.take_log()), [], "{flavour}");
    }
}

#[test]
fn two_local_full_flushes_in_a_batch_stay_local() {
    let fx = Fixture::new(PteFormat::X86_64);
    let mm = fx.mm();
    mm.set_flavour(Flavour::TlbBatch);
    mm.lazy_mmu_mode_enable();
    mm.flush_tlb_all(TlbScope::Local);
    mm.flush_tlb_all(TlbScope::Local);
    mm.lazy_mmu_mode_disable();
    assert_eq!(flushes(&fx.mmu.take_log()), [HwOp::FlushAll(TlbScope::Local)]);
}

#[test]
fn deferred_pte_reports_a_flush_only_while_writes_are_queued() {
    let fx = Fixture::new(PteFormat::X86_64);
    let mm = fx.mm();
    mm.set_flavour(Flavour::DeferredPte);
    mm.lazy_mmu_mode_enable();
    mm.flush_tlb_page(page(0), TlbScope::Local);
    mm.flush_tlb_all(TlbScope::Local);
    assert_eq!(rules(&mm), [], "nothing queued: both flushes are in order");
    mm.set_pte_at(page(0), ptep_of(&fx, 0), entry(&fx, FRAME_A));
    mm.flush_tlb_page(page(0), TlbScope::Local);
    mm.flush_tlb_all(TlbScope::Local);
    assert_eq!(rules(&mm), [Rule::FlushBeforePendingUpdates, Rule::FlushBeforePendingUpdates]);
    mm.lazy_mmu_mode_disable();
}

#[test]
fn an_arm64_flush_in_a_section_adds_a_store_barrier_only_when_one_is_owed() {
    let fx = Fixture::new(PteFormat::Arm64);
    let mm = fx.mm();
    mm.set_flavour(Flavour::Arm64);
    mm.lazy_mmu_mode_enable();
    fx.mmu.take_log();
    mm.flush_tlb_page(page(0), TlbScope::Local);
    mm.flush_tlb_all(TlbScope::Local);
    assert_eq!(fx.mmu.take_log(), [HwOp::FlushPage(page(0), TlbScope::Local), HwOp::FlushAll(TlbScope::Local)]);
    mm.lazy_mmu_mode_disable();
}

#[test]
fn a_pause_leaves_the_arch_mode_once_and_only_from_a_section() {
    let fx = Fixture::new(PteFormat::X86_64);
    let mm = fx.mm();
    // 7.0's Xen hooks BUG on a leave while left: a pause must not try one.
    mm.inject_bug(InjectedBug::XenIntolerantNesting);
    mm.lazy_mmu_mode_pause();
    mm.lazy_mmu_mode_resume();
    assert_eq!(mm.take_arch_trace(), [], "a pause outside any section leaves nothing");
    mm.lazy_mmu_mode_enable();
    mm.lazy_mmu_mode_pause();
    mm.lazy_mmu_mode_pause();
    mm.lazy_mmu_mode_resume();
    mm.lazy_mmu_mode_resume();
    mm.lazy_mmu_mode_disable();
    let trace = mm.take_arch_trace();
    assert_eq!(trace, [ArchOp::Enter, ArchOp::Leave, ArchOp::Enter, ArchOp::Leave], "the nested pause leaves nothing");
    assert_eq!(rules(&mm), []);
}

/// The pre-v7.0 pause (v7.0 ignores an enable while paused altogether).
#[test]
fn an_enable_while_paused_enters_at_the_resume() {
    let fx = Fixture::new(PteFormat::X86_64);
    let mm = fx.mm();
    mm.inject_bug(InjectedBug::PauseDoesNotMask);
    mm.lazy_mmu_mode_pause();
    mm.lazy_mmu_mode_enable();
    assert!(!mm.arch_in_lazy_mmu_mode(), "paused: counted, not entered");
    mm.lazy_mmu_mode_resume();
    assert!(mm.arch_in_lazy_mmu_mode());
    mm.lazy_mmu_mode_disable();
    assert_eq!(mm.take_arch_trace(), [ArchOp::Enter, ArchOp::Leave]);
    assert!(mm.check_quiescent());
}
