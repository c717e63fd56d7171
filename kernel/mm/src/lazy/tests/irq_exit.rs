//! What an interrupt's exit path sees of the task it interrupted
//! (`Mm::irq_exit_view`, `preempt_schedule_irq`'s question): whether that
//! task may be switched away (preemption on) and whether it is in a
//! section, and nothing at all while it holds a lock of the lazy layer or
//! the sanitizer (a spinlock holder is not preemptible).

use crate::lazy::IrqExitView;
use crate::mmu::PteFormat;
use crate::test_mmu::Fixture;

const IDLE: IrqExitView = IrqExitView { preemptible: true, in_section: false };

#[test]
fn an_idle_task_is_preemptible_and_outside_any_section() {
    let fx = Fixture::new(PteFormat::X86_64);
    assert_eq!(fx.mm().irq_exit_view(), Some(IDLE));
}

#[test]
fn preemption_off_and_sections_are_seen() {
    let fx = Fixture::new(PteFormat::X86_64);
    let mm = fx.mm();
    mm.preempt_disable();
    assert_eq!(mm.irq_exit_view(), Some(IrqExitView { preemptible: false, in_section: false }));
    mm.preempt_enable();
    mm.lazy_mmu_mode_enable();
    assert_eq!(mm.irq_exit_view(), Some(IrqExitView { preemptible: true, in_section: true }));
    mm.lazy_mmu_mode_enable();
    assert_eq!(mm.irq_exit_view(), Some(IrqExitView { preemptible: true, in_section: true }), "nested");
    mm.lazy_mmu_mode_disable();
    mm.lazy_mmu_mode_disable();
    assert_eq!(mm.irq_exit_view(), Some(IDLE));
}

#[test]
fn no_view_while_the_interrupted_task_holds_a_lock() {
    let fx = Fixture::new(PteFormat::X86_64);
    let mm = fx.mm();
    let current = mm.current_task();
    {
        let _arch = mm.cpus[0].lock();
        assert_eq!(mm.irq_exit_view(), None, "this CPU's arch state");
    }
    {
        let _task = mm.tasks[current.index()].lock();
        assert_eq!(mm.irq_exit_view(), None, "the current task's state");
    }
    {
        let _reports = mm.instr.sanitizer.reports.lock();
        assert!(!mm.instr.sanitizer.locks_free());
        assert_eq!(mm.irq_exit_view(), None, "the sanitizer's reports");
    }
    {
        let _tracker = mm.instr.sanitizer.barriers.state.lock();
        assert!(!mm.instr.sanitizer.barriers.lock_free());
        assert!(!mm.instr.sanitizer.locks_free());
        assert_eq!(mm.irq_exit_view(), None, "the barrier tracker");
    }
    assert!(mm.instr.sanitizer.barriers.lock_free());
    assert!(mm.instr.sanitizer.locks_free());
    assert_eq!(mm.irq_exit_view(), Some(IDLE), "every lock free again");
}
