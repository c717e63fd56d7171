//! The lazy layer's bookkeeping that other checks build on: flavour and
//! task names and ids, preemption counting, what counts as pending work,
//! and what the harness's quiescence check resets.

use super::*;
use crate::lazy::{Flavour, PreemptPoint, Rule, TaskId};
use crate::mmu::{PteFormat, TlbScope, MAX_CPUS};
use crate::test_mmu::Fixture;

#[test]
fn flavour_predicates_and_names() {
    let deferring: Vec<_> = Flavour::ALL.into_iter().filter(|f| f.defers_pte_writes()).collect();
    assert_eq!(deferring, [Flavour::Queued, Flavour::DeferredPte]);
    let without_hooks: Vec<_> = Flavour::ALL.into_iter().filter(|f| !f.has_switch_hooks()).collect();
    assert_eq!(without_hooks, [Flavour::TlbBatch]);
    let shown: Vec<String> = Flavour::ALL.iter().map(ToString::to_string).collect();
    assert_eq!(shown, ["none", "arm64", "queued", "tlb-batch", "deferred-pte"]);
}

#[test]
fn every_task_id_is_distinct_and_has_state() {
    let fx = Fixture::new(PteFormat::X86_64);
    let mm = fx.mm();
    let ids: Vec<TaskId> = (0..MAX_CPUS).flat_map(|cpu| [TaskId::boot(cpu), TaskId::second(cpu)]).collect();
    for (i, id) in ids.iter().enumerate() {
        assert!(!ids[..i].contains(id), "{id} named twice");
        assert!(!mm.task_lazy_mmu_mode_active(*id), "{id} has a state of its own, not lazy");
    }
    assert_eq!(TaskId::second(1).to_string(), format!("task{}", MAX_CPUS + 1));
}

#[test]
fn a_task_is_active_only_inside_its_section() {
    let fx = Fixture::new(PteFormat::X86_64);
    let mm = fx.mm();
    assert!(!mm.task_lazy_mmu_mode_active(TaskId::boot(0)));
    mm.lazy_mmu_mode_enable();
    assert!(mm.task_lazy_mmu_mode_active(TaskId::boot(0)));
    assert!(!mm.task_lazy_mmu_mode_active(TaskId::second(0)), "another task's section is not this one's");
    mm.lazy_mmu_mode_disable();
    assert!(!mm.task_lazy_mmu_mode_active(TaskId::boot(0)));
}

#[test]
fn preemption_points_have_distinct_names() {
    let names: Vec<&str> = PreemptPoint::ALL.iter().map(|point| point.name()).collect();
    assert_eq!(
        names,
        ["enable:count->arch_enter", "disable:count->arch_leave", "switch-in hook", "mid-batch", "caller"]
    );
}

#[test]
fn preempt_disable_nests() {
    let fx = Fixture::new(PteFormat::X86_64);
    let mm = fx.mm();
    assert!(mm.preemptible());
    mm.preempt_disable();
    mm.preempt_disable();
    mm.preempt_enable();
    assert!(!mm.preemptible(), "one disable still holds");
    mm.preempt_enable();
    assert!(mm.preemptible());
}

#[test]
fn pending_work_is_a_queue_a_batch_or_a_batched_full_flush() {
    let fx = Fixture::new(PteFormat::X86_64);
    let mm = fx.mm();
    let ptep = ptep_of(&fx, 0);
    let pending = || mm.lazy_state(0).has_pending;

    mm.set_flavour(Flavour::Queued);
    mm.lazy_mmu_mode_enable();
    assert!(!pending(), "an empty section");
    mm.set_pte_at(page(0), ptep, entry(&fx, FRAME_A));
    assert!(pending(), "a queued write");
    mm.lazy_mmu_mode_disable();
    assert!(!pending());

    mm.set_flavour(Flavour::TlbBatch);
    mm.lazy_mmu_mode_enable();
    mm.set_pte_at(page(0), ptep, entry(&fx, FRAME_B));
    assert!(pending(), "a batched invalidation of the overwritten translation");
    mm.lazy_mmu_mode_disable();
    mm.lazy_mmu_mode_enable();
    mm.flush_tlb_all(TlbScope::Local);
    assert!(pending(), "a batched full flush");
    mm.lazy_mmu_mode_disable();
    assert!(!pending());
    assert!(mm.check_quiescent());
}

#[test]
fn the_quiescence_check_resets_what_it_reports() {
    let fx = Fixture::new(PteFormat::X86_64);
    let mm = fx.mm();
    let left_open = |mm: &crate::context::Mm<'_, _>| {
        mm.take_reports().iter().filter(|report| report.rule == Rule::SectionLeftOpen).count()
    };

    mm.preempt_disable();
    assert!(!mm.check_quiescent(), "preemption left off");
    assert!(mm.preemptible(), "and turned back on");

    mm.set_current_task(TaskId::second(0));
    assert!(!mm.check_quiescent(), "the CPU left on its second task");
    assert_eq!(mm.current_task(), TaskId::boot(0), "and put back on its boot task");

    // The second task's section keeps the CPU in its arch mode after the
    // boot task is made current again, which is quiescent itself.
    mm.set_current_task(TaskId::second(0));
    mm.lazy_mmu_mode_enable();
    mm.set_current_task(TaskId::boot(0));
    let _ = mm.take_reports();
    assert!(!mm.check_quiescent());
    assert!(!mm.arch_in_lazy_mmu_mode(), "the CPU's arch mode is reset");
    assert!(!mm.task_lazy_mmu_mode_active(TaskId::second(0)), "the task's section is reset");
    assert_eq!(left_open(&mm), 2, "one report for the CPU, one for the task");
    assert!(mm.check_quiescent());
}

#[test]
fn a_lazy_state_reads_as_one_short_phrase() {
    let fx = Fixture::new(PteFormat::X86_64);
    let mm = fx.mm();
    mm.set_flavour(Flavour::Queued);
    let idle = mm.lazy_state(0);
    assert_eq!(idle.to_string(), std::format!("task {}: enable 0, pause 0, not active", idle.task));
    mm.lazy_mmu_mode_enable();
    mm.lazy_mmu_mode_pause();
    mm.lazy_mmu_mode_resume();
    mm.set_pte_at(page(0), ptep_of(&fx, 0), entry(&fx, FRAME_A));
    let open = mm.lazy_state(0);
    let entered = open.entered_at.expect("entered at the enable");
    assert_eq!(
        open.to_string(),
        std::format!(
            "task {}: enable 1, pause 0, active, pending, entered at {}:{}",
            open.task,
            entered.file(),
            entered.line()
        )
    );
    mm.lazy_mmu_mode_disable();
}
