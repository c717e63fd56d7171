use super::*;
use crate::lazy::{Flavour, InjectedBug, Rule};
use crate::mmu::{PteFormat, TlbScope};
use crate::test_mmu::Fixture;

#[test]
fn flavour_names_round_trip() {
    for flavour in Flavour::ALL {
        assert_eq!(Flavour::from_name(flavour.name()), Some(flavour));
    }
    assert_eq!(Flavour::from_name("tlb-batch"), Some(Flavour::TlbBatch));
    assert_eq!(Flavour::from_name("xen"), None);
    let contract: Vec<_> = Flavour::ALL.into_iter().filter(|f| !f.keeps_ordering_contract()).collect();
    assert_eq!(contract, [Flavour::DeferredPte]);
}

#[test]
fn none_writes_and_flushes_at_once_in_a_section() {
    let fx = Fixture::new(PteFormat::X86_64);
    let mm = fx.mm();
    let ptep = ptep_of(&fx, 0);
    mm.lazy_mmu_mode_enable();
    mm.set_pte_at(page(0), ptep, entry(&fx, FRAME_A));
    mm.flush_tlb_page(page(0), TlbScope::Local);
    let expected =
        [HwOp::WritePte(ptep, entry(&fx, FRAME_A).0), HwOp::FullBarrier, HwOp::FlushPage(page(0), TlbScope::Local)];
    assert_eq!(fx.mmu.take_log(), expected);
    mm.lazy_mmu_mode_disable();
    assert_eq!(fx.mmu.take_log(), []);
}

#[test]
fn arm64_batches_barriers_to_one_pair_at_leave() {
    let fx = Fixture::new(PteFormat::Arm64);
    let mm = fx.mm();
    mm.set_flavour(Flavour::Arm64);
    let pteps: Vec<_> = (0..8).map(|n| ptep_of(&fx, n)).collect();

    for (n, &ptep) in pteps.iter().enumerate() {
        mm.set_pte_at(page(n as u64), ptep, entry(&fx, FRAME_A));
    }
    assert_eq!(mm.counters_this_cpu().barriers, 8, "outside lazy: one pair per PTE");

    mm.reset_counters();
    for &ptep in &pteps {
        mm.pte_clear(VA, ptep);
    }
    fx.mmu.take_log();
    mm.arch_enter_lazy_mmu_mode();
    for (n, &ptep) in pteps.iter().enumerate() {
        mm.set_pte_at(page(n as u64), ptep, entry(&fx, FRAME_B));
        assert_eq!(fx.mmu.pte_at(ptep), entry(&fx, FRAME_B), "arm64 stores at once");
    }
    assert_eq!(count(&fx.mmu.take_log(), |op| *op == HwOp::FullBarrier), 0);
    mm.arch_leave_lazy_mmu_mode();
    assert_eq!(fx.mmu.take_log(), [HwOp::FullBarrier]);
    assert_eq!(mm.counters_this_cpu().barriers, 1);
}

#[test]
fn arm64_flush_in_a_section_issues_its_own_store_barrier() {
    let fx = Fixture::new(PteFormat::Arm64);
    let mm = fx.mm();
    mm.set_flavour(Flavour::Arm64);
    let ptep = ptep_of(&fx, 0);
    mm.arch_enter_lazy_mmu_mode();
    mm.set_pte_at(page(0), ptep, entry(&fx, FRAME_A));
    mm.flush_tlb_page(page(0), TlbScope::Broadcast);
    mm.arch_leave_lazy_mmu_mode();
    let expected = [
        HwOp::WritePte(ptep, entry(&fx, FRAME_A).0),
        HwOp::StoreBarrier,
        HwOp::FlushPage(page(0), TlbScope::Broadcast),
        HwOp::FullBarrier,
    ];
    assert_eq!(fx.mmu.take_log(), expected);
}

#[test]
fn arm64_with_the_barrier_dropped_never_publishes() {
    let fx = Fixture::new(PteFormat::Arm64);
    let mm = fx.mm();
    mm.set_flavour(Flavour::Arm64);
    mm.inject_bug(InjectedBug::DropPendingBarrier);
    let ptep = ptep_of(&fx, 0);
    mm.arch_enter_lazy_mmu_mode();
    mm.set_pte_at(page(0), ptep, entry(&fx, FRAME_A));
    mm.arch_leave_lazy_mmu_mode();
    assert_eq!(fx.mmu.take_log(), [HwOp::WritePte(ptep, entry(&fx, FRAME_A).0)]);
}

#[test]
fn queued_lands_on_leave_in_program_order() {
    let fx = Fixture::new(PteFormat::X86_64);
    let mm = fx.mm();
    mm.set_flavour(Flavour::Queued);
    let (p0, p1) = (ptep_of(&fx, 0), ptep_of(&fx, 1));
    mm.arch_enter_lazy_mmu_mode();
    mm.set_pte_at(page(0), p0, entry(&fx, FRAME_A));
    mm.flush_tlb_page(page(0), TlbScope::Local);
    mm.set_pte_at(page(1), p1, entry(&fx, FRAME_A));
    mm.set_pte_at(page(1), p1, entry(&fx, FRAME_B));
    assert_eq!(fx.mmu.take_log(), [], "memory and TLB untouched inside the section");
    assert_eq!(mm.ptep_get(p0), PteValue::NONE, "ptep_get reads memory, not the queue");
    mm.arch_leave_lazy_mmu_mode();
    let expected = [
        HwOp::WritePte(p0, entry(&fx, FRAME_A).0),
        HwOp::FullBarrier,
        HwOp::FlushPage(page(0), TlbScope::Local),
        HwOp::WritePte(p1, entry(&fx, FRAME_A).0),
        HwOp::WritePte(p1, entry(&fx, FRAME_B).0),
        HwOp::FullBarrier,
    ];
    assert_eq!(fx.mmu.take_log(), expected);
    assert_eq!(fx.mmu.pte_at(p1), entry(&fx, FRAME_B), "last write wins");
    let counters = mm.counters_this_cpu();
    assert_eq!((counters.deferred, counters.drains, counters.pte_writes), (4, 1, 3));
}

#[test]
fn queued_drain_that_reorders_lets_the_first_write_win() {
    let fx = Fixture::new(PteFormat::X86_64);
    let mm = fx.mm();
    mm.set_flavour(Flavour::Queued);
    mm.inject_bug(InjectedBug::DrainReorders);
    let ptep = ptep_of(&fx, 0);
    mm.arch_enter_lazy_mmu_mode();
    mm.set_pte_at(page(0), ptep, entry(&fx, FRAME_A));
    mm.set_pte_at(page(0), ptep, entry(&fx, FRAME_B));
    mm.arch_leave_lazy_mmu_mode();
    assert_eq!(fx.mmu.pte_at(ptep), entry(&fx, FRAME_A));
}

#[test]
fn a_full_queue_drains_early_and_counts_it() {
    let fx = Fixture::new(PteFormat::X86_64);
    let mm = fx.mm();
    mm.set_flavour(Flavour::Queued);
    mm.set_queue_capacity(4);
    let pteps: Vec<_> = (0..6).map(|n| ptep_of(&fx, n)).collect();
    mm.arch_enter_lazy_mmu_mode();
    for (n, &ptep) in pteps.iter().enumerate() {
        mm.set_pte_at(page(n as u64), ptep, entry(&fx, FRAME_A));
    }
    assert_eq!(fx.mmu.pte_at(pteps[3]), entry(&fx, FRAME_A), "the first four landed early");
    assert_eq!(fx.mmu.pte_at(pteps[4]), PteValue::NONE);
    assert!(mm.arch_in_lazy_mmu_mode());
    mm.arch_flush_lazy_mmu_mode();
    assert_eq!(fx.mmu.pte_at(pteps[5]), entry(&fx, FRAME_A), "flush applies the rest");
    assert!(mm.arch_in_lazy_mmu_mode(), "flush keeps the CPU lazy");
    mm.arch_leave_lazy_mmu_mode();
    let counters = mm.counters_this_cpu();
    assert_eq!((counters.early_drains, counters.drains, counters.flushes), (1, 2, 1));
}

#[test]
fn tlb_batch_writes_at_once_and_batches_old_translations() {
    let fx = Fixture::new(PteFormat::X86_64);
    let mm = fx.mm();
    mm.set_flavour(Flavour::TlbBatch);
    let (p0, p1) = (ptep_of(&fx, 0), ptep_of(&fx, 1));
    mm.set_pte_at(page(0), p0, entry(&fx, FRAME_A));
    mm.set_pte_at(page(1), p1, entry(&fx, FRAME_A));
    fx.mmu.take_log();
    mm.arch_enter_lazy_mmu_mode();
    mm.set_pte_at(page(0), p0, entry(&fx, FRAME_B));
    mm.pte_clear(page(1), p1);
    mm.flush_tlb_page(page(2), TlbScope::Local);
    assert_eq!(fx.mmu.pte_at(p0), entry(&fx, FRAME_B));
    assert_eq!(count(&fx.mmu.take_log(), |op| matches!(op, HwOp::FlushPage(..))), 0, "all batched");
    mm.arch_leave_lazy_mmu_mode();
    let expected = [
        HwOp::FlushPage(page(0), TlbScope::Broadcast),
        HwOp::FlushPage(page(1), TlbScope::Broadcast),
        HwOp::FlushPage(page(2), TlbScope::Local),
    ];
    assert_eq!(fx.mmu.take_log(), expected);
}

#[test]
fn tlb_batch_outside_a_section_invalidates_the_old_translation_at_once() {
    let fx = Fixture::new(PteFormat::X86_64);
    let mm = fx.mm();
    mm.set_flavour(Flavour::TlbBatch);
    let ptep = ptep_of(&fx, 0);
    mm.set_pte_at(page(0), ptep, entry(&fx, FRAME_A));
    fx.mmu.take_log();
    mm.set_pte_at(page(0), ptep, entry(&fx, FRAME_B));
    let log = fx.mmu.take_log();
    assert_eq!(log.last(), Some(&HwOp::FlushPage(page(0), TlbScope::Broadcast)));
}

#[test]
fn a_full_batch_drains_early_and_loses_nothing() {
    let fx = Fixture::new(PteFormat::X86_64);
    let mm = fx.mm();
    mm.set_flavour(Flavour::TlbBatch);
    mm.set_batch_capacity(2);
    mm.arch_enter_lazy_mmu_mode();
    for n in 0..5 {
        mm.flush_tlb_page(page(n), TlbScope::Local);
    }
    assert_eq!(count(&fx.mmu.take_log(), |op| matches!(op, HwOp::FlushPage(..))), 4, "two early drains");
    mm.arch_leave_lazy_mmu_mode();
    assert_eq!(fx.mmu.take_log(), [HwOp::FlushPage(page(4), TlbScope::Local)]);
    assert_eq!(mm.counters_this_cpu().early_drains, 2);
}

#[test]
fn an_overflowing_batch_that_drops_entries_loses_invalidations() {
    let fx = Fixture::new(PteFormat::X86_64);
    let mm = fx.mm();
    mm.set_flavour(Flavour::TlbBatch);
    mm.set_batch_capacity(2);
    mm.inject_bug(InjectedBug::BatchOverflowDrops);
    mm.arch_enter_lazy_mmu_mode();
    for n in 0..5 {
        mm.flush_tlb_page(page(n), TlbScope::Local);
    }
    mm.arch_leave_lazy_mmu_mode();
    assert_eq!(count(&fx.mmu.take_log(), |op| matches!(op, HwOp::FlushPage(..))), 2);
}

#[test]
fn tlb_batch_full_flush_covers_the_batched_pages() {
    let fx = Fixture::new(PteFormat::X86_64);
    let mm = fx.mm();
    mm.set_flavour(Flavour::TlbBatch);
    mm.arch_enter_lazy_mmu_mode();
    mm.flush_tlb_page(page(0), TlbScope::Broadcast);
    mm.flush_tlb_all(TlbScope::Local);
    mm.flush_tlb_page(page(1), TlbScope::Local);
    mm.arch_leave_lazy_mmu_mode();
    assert_eq!(fx.mmu.take_log(), [HwOp::FlushAll(TlbScope::Broadcast)]);
}

#[test]
fn deferred_pte_flushes_before_its_queued_writes_and_is_reported() {
    let fx = Fixture::new(PteFormat::X86_64);
    let mm = fx.mm();
    mm.set_flavour(Flavour::DeferredPte);
    let ptep = ptep_of(&fx, 0);
    mm.arch_enter_lazy_mmu_mode();
    mm.set_pte_at(page(0), ptep, entry(&fx, FRAME_A));
    mm.flush_tlb_page(page(0), TlbScope::Local);
    mm.arch_leave_lazy_mmu_mode();
    let expected =
        [HwOp::FlushPage(page(0), TlbScope::Local), HwOp::WritePte(ptep, entry(&fx, FRAME_A).0), HwOp::FullBarrier];
    assert_eq!(fx.mmu.take_log(), expected);
    let reports = mm.take_reports();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].rule, Rule::FlushBeforePendingUpdates);
    assert!(reports[0].section_entered_at.is_some());
}

#[test]
fn the_same_flush_under_contract_keeping_flavours_is_legal() {
    for flavour in [Flavour::None, Flavour::Arm64, Flavour::Queued, Flavour::TlbBatch] {
        let fx = Fixture::new(PteFormat::Arm64);
        let mm = fx.mm();
        mm.set_flavour(flavour);
        let ptep = ptep_of(&fx, 0);
        mm.arch_enter_lazy_mmu_mode();
        mm.set_pte_at(page(0), ptep, entry(&fx, FRAME_A));
        mm.flush_tlb_kernel_range(page(0), page(1), TlbScope::Local);
        mm.arch_leave_lazy_mmu_mode();
        assert_eq!(mm.take_reports(), [], "{flavour}");
        let log = fx.mmu.take_log();
        let write = log.iter().position(|op| matches!(op, HwOp::WritePte(..))).unwrap();
        let flush = log.iter().position(|op| matches!(op, HwOp::FlushPage(..))).unwrap();
        assert!(write < flush, "{flavour}: the flush follows the update: {log:?}");
    }
}

#[test]
fn interrupt_context_is_never_lazy_and_skips_the_task_queue() {
    let fx = Fixture::new(PteFormat::X86_64);
    let mm = fx.mm();
    mm.set_flavour(Flavour::Queued);
    let (p0, p1) = (ptep_of(&fx, 0), ptep_of(&fx, 1));
    mm.lazy_mmu_mode_enable();
    mm.set_pte_at(page(0), p0, entry(&fx, FRAME_A));
    fx.mmu.set_in_interrupt(true);
    assert!(!mm.arch_in_lazy_mmu_mode());
    // Holding the task's lock proves the handler's path never waits for it.
    let held = mm.cpus[0].lock();
    mm.set_pte_at(page(1), p1, entry(&fx, FRAME_B));
    mm.lazy_mmu_mode_disable();
    assert!(!mm.is_lazy_mmu_mode_active());
    drop(held);
    assert_eq!(fx.mmu.pte_at(p1), entry(&fx, FRAME_B), "the handler's write lands at once");
    fx.mmu.set_in_interrupt(false);
    assert!(mm.is_lazy_mmu_mode_active(), "the task's section is intact");
    assert_eq!(fx.mmu.pte_at(p0), PteValue::NONE);
    mm.lazy_mmu_mode_disable();
    assert_eq!(fx.mmu.pte_at(p0), entry(&fx, FRAME_A));
}

#[test]
fn an_interrupt_that_joins_the_section_defers_its_write() {
    let fx = Fixture::new(PteFormat::X86_64);
    let mm = fx.mm();
    mm.set_flavour(Flavour::Queued);
    mm.inject_bug(InjectedBug::IrqJoinsSection);
    let ptep = ptep_of(&fx, 0);
    mm.lazy_mmu_mode_enable();
    fx.mmu.set_in_interrupt(true);
    assert!(mm.arch_in_lazy_mmu_mode(), "the bug reports the task's state");
    mm.set_pte_at(page(0), ptep, entry(&fx, FRAME_A));
    assert_eq!(fx.mmu.pte_at(ptep), PteValue::NONE, "the handler's write waits for the task");
    fx.mmu.set_in_interrupt(false);
    mm.lazy_mmu_mode_disable();
}
