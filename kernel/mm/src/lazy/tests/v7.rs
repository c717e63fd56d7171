//! Linux v7.0's per-task rules (include/linux/pgtable.h, 5ab246749569) and
//! the context-switch hooks and preemption points built on them.

use std::boxed::Box;
use std::sync::Mutex;

use super::*;
use crate::context::Mm;
use crate::lazy::{ArchOp, Flavour, InjectedBug, NestingPolicy, PreemptPoint, Rule, Scheduler, TaskId};
use crate::mmu::PteFormat;
use crate::test_mmu::{FakeMmu, Fixture};

type TestMm = Mm<'static, FakeMmu>;

/// A fixture and its context that live for the whole test binary, so a
/// scheduler can hold them.
fn leaked() -> (&'static Fixture, &'static TestMm) {
    let fx: &'static Fixture = Box::leak(Box::new(Fixture::new(PteFormat::X86_64)));
    (fx, Box::leak(Box::new(fx.mm())))
}

/// Records every point; at the `nth` report of `at` switches to the
/// second task, runs `other` there and switches back.
struct TestScheduler {
    mm: &'static TestMm,
    at: Option<(PreemptPoint, usize)>,
    seen: Mutex<Vec<PreemptPoint>>,
    other: Box<dyn Fn(&TestMm) + Sync>,
}

impl Scheduler for TestScheduler {
    fn preempt_point(&self, point: PreemptPoint) {
        let nth = {
            let mut seen = self.seen.lock().unwrap();
            seen.push(point);
            seen.iter().filter(|&&p| p == point).count()
        };
        if self.at == Some((point, nth)) && self.mm.preemptible() {
            let prev = self.mm.context_switch(TaskId::second(0));
            (self.other)(self.mm);
            self.mm.context_switch(prev);
        }
    }
}

fn install(
    mm: &'static TestMm,
    at: Option<(PreemptPoint, usize)>,
    other: impl Fn(&TestMm) + Sync + 'static,
) -> &'static TestScheduler {
    let scheduler = Box::leak(Box::new(TestScheduler { mm, at, seen: Mutex::new(Vec::new()), other: Box::new(other) }));
    mm.set_scheduler(scheduler);
    scheduler
}

fn rules(mm: &Mm<'_, FakeMmu>) -> Vec<Rule> {
    mm.take_reports().iter().map(|report| report.rule).collect()
}

#[test]
fn the_kunit_sequence_holds_under_the_counter_policy() {
    let fx = Fixture::new(PteFormat::X86_64);
    let mm = fx.mm();
    let active = || mm.is_lazy_mmu_mode_active();
    assert!(!active());
    mm.lazy_mmu_mode_enable();
    assert!(active());
    mm.lazy_mmu_mode_enable();
    assert!(active());
    mm.lazy_mmu_mode_disable();
    assert!(active(), "a nested disable keeps the section");
    mm.lazy_mmu_mode_pause();
    assert!(!active());
    mm.lazy_mmu_mode_enable();
    assert!(!active());
    mm.lazy_mmu_mode_disable();
    assert!(!active());
    mm.lazy_mmu_mode_pause();
    assert!(!active());
    mm.lazy_mmu_mode_resume();
    assert!(!active(), "one of two pauses undone");
    mm.lazy_mmu_mode_resume();
    assert!(active());
    mm.lazy_mmu_mode_disable();
    assert!(!active());
    assert_eq!(rules(&mm), []);
    assert!(mm.check_quiescent());
}

#[test]
fn the_kunit_sequence_fails_under_the_permissive_flag() {
    let fx = Fixture::new(PteFormat::X86_64);
    let mm = fx.mm();
    mm.set_nesting_policy(NestingPolicy::PermissiveFlag);
    mm.lazy_mmu_mode_enable();
    mm.lazy_mmu_mode_enable();
    mm.lazy_mmu_mode_disable();
    assert!(!mm.is_lazy_mmu_mode_active(), "the flag has one level: the nested disable ended the section");
}

#[test]
fn every_call_between_pause_and_resume_has_no_effect() {
    let fx = Fixture::new(PteFormat::X86_64);
    let mm = fx.mm();
    mm.lazy_mmu_mode_pause();
    mm.lazy_mmu_mode_enable();
    mm.lazy_mmu_mode_disable();
    mm.lazy_mmu_mode_disable();
    let paused = mm.lazy_state(0);
    assert_eq!((paused.enable_count, paused.pause_count, paused.is_active), (0, 1, false));
    mm.lazy_mmu_mode_resume();
    assert_eq!(rules(&mm), [], "a disable inside a pause is not an underflow");
    assert_eq!(mm.take_arch_trace(), []);
    assert!(mm.check_quiescent());
}

#[test]
fn every_call_in_interrupt_context_is_a_no_op() {
    let fx = Fixture::new(PteFormat::X86_64);
    let mm = fx.mm();
    mm.lazy_mmu_mode_enable();
    let before = mm.lazy_state(0);
    fx.mmu.set_in_interrupt(true);
    assert!(!mm.is_lazy_mmu_mode_active(), "interrupt context is never lazy");
    mm.lazy_mmu_mode_pause();
    mm.lazy_mmu_mode_disable();
    mm.lazy_mmu_mode_resume();
    mm.lazy_mmu_mode_enable();
    fx.mmu.set_in_interrupt(false);
    assert_eq!(mm.lazy_state(0), before);
    mm.lazy_mmu_mode_disable();
    assert_eq!(rules(&mm), []);
}

#[test]
fn the_256th_nested_enable_and_pause_warn_and_change_nothing() {
    let fx = Fixture::new(PteFormat::X86_64);
    let mm = fx.mm();
    for _ in 0..u8::MAX {
        mm.lazy_mmu_mode_enable();
    }
    assert_eq!(rules(&mm), []);
    mm.lazy_mmu_mode_enable();
    assert_eq!(rules(&mm), [Rule::EnableCountOverflow]);
    assert_eq!(mm.lazy_state(0).enable_count, u8::MAX);
    for _ in 0..u8::MAX {
        mm.lazy_mmu_mode_pause();
    }
    mm.lazy_mmu_mode_pause();
    assert_eq!(rules(&mm), [Rule::PauseCountOverflow]);
    assert_eq!(mm.lazy_state(0).pause_count, u8::MAX);
    for _ in 0..u8::MAX {
        mm.lazy_mmu_mode_resume();
    }
    for _ in 0..u8::MAX {
        mm.lazy_mmu_mode_disable();
    }
    assert_eq!(rules(&mm), []);
    assert!(mm.check_quiescent());
}

#[test]
fn the_arm64_pending_barrier_travels_with_its_task() {
    let fx = Fixture::new(PteFormat::Arm64);
    let mm = fx.mm();
    mm.set_flavour(Flavour::Arm64);
    mm.lazy_mmu_mode_enable();
    mm.set_pte_at(page(0), ptep_of(&fx, 0), entry(&fx, FRAME_A));
    assert!(mm.lazy_state(0).has_pending);
    let first = mm.context_switch(TaskId::second(0));
    assert!(!mm.lazy_state(0).has_pending, "the switch-out leave issued the barrier");
    mm.context_switch(first);
    mm.lazy_mmu_mode_disable();
    assert!(mm.check_quiescent());
}

#[test]
fn task_pause_and_resume_act_on_the_named_task() {
    let fx = Fixture::new(PteFormat::X86_64);
    let mm = fx.mm();
    mm.lazy_mmu_mode_enable();
    mm.task_lazy_mmu_mode_pause(TaskId::boot(0));
    assert!(!mm.arch_in_lazy_mmu_mode() && !mm.is_lazy_mmu_mode_active());
    mm.task_lazy_mmu_mode_resume(TaskId::second(0));
    assert_eq!(rules(&mm), [Rule::ResumeWithoutPause], "the second task was never paused");
    mm.task_lazy_mmu_mode_resume(TaskId::boot(0));
    assert!(mm.arch_in_lazy_mmu_mode() && mm.is_lazy_mmu_mode_active());
    mm.lazy_mmu_mode_disable();
    assert!(mm.check_quiescent());
}

#[test]
fn a_switch_in_hook_that_looks_at_current_resumes_the_wrong_task() {
    let fx = Fixture::new(PteFormat::X86_64);
    let mm = fx.mm();
    mm.inject_bug(InjectedBug::SwitchInResumesCurrent);
    mm.lazy_mmu_mode_enable();
    let first = mm.context_switch(TaskId::second(0));
    assert!(mm.arch_in_lazy_mmu_mode(), "the previous task's section was resumed for the next task");
    assert!(!mm.is_lazy_mmu_mode_active());
    mm.context_switch(first);
    assert!(!mm.arch_in_lazy_mmu_mode(), "and the first task comes back without its arch mode");
    assert!(mm.is_lazy_mmu_mode_active());
    mm.lazy_mmu_mode_disable();
}

#[test]
fn the_scheduler_sees_each_window_once_per_pass() {
    let (fx, mm) = leaked();
    mm.set_flavour(Flavour::Queued);
    let scheduler = install(mm, None, |_| {});
    mm.lazy_mmu_mode_enable();
    mm.set_pte_at(page(0), ptep_of(fx, 0), entry(fx, FRAME_A));
    mm.lazy_mmu_mode_disable();
    let seen = scheduler.seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        [PreemptPoint::EnableBeforeArchEnter, PreemptPoint::MidBatch, PreemptPoint::DisableBeforeArchLeave]
    );
    mm.context_switch(TaskId::second(0));
    mm.context_switch(TaskId::boot(0));
    assert_eq!(scheduler.seen.lock().unwrap().iter().filter(|&&p| p == PreemptPoint::SwitchInHook).count(), 2);
}

/// The 7.0 Xen BUG (4594437880ce): preempted between `enable_count++` and
/// the arch enter, the task is re-entered by the switch-in hook and then
/// enters again.
#[test]
fn preemption_in_the_enable_window_enters_twice() {
    for bug in [false, true] {
        let (_, mm) = leaked();
        mm.set_flavour(Flavour::Queued);
        if bug {
            mm.inject_bug(InjectedBug::XenIntolerantNesting);
        }
        install(mm, Some((PreemptPoint::EnableBeforeArchEnter, 1)), |mm| assert!(!mm.arch_in_lazy_mmu_mode()));
        mm.lazy_mmu_mode_enable();
        let expected: &[Rule] = if bug { &[Rule::ArchEnterWhileEntered] } else { &[] };
        assert_eq!(rules(mm), expected, "bug={bug}");
        assert!(mm.arch_in_lazy_mmu_mode() && mm.is_lazy_mmu_mode_active());
        assert_eq!(
            mm.take_arch_trace(),
            [ArchOp::Enter],
            "the switch-in hook entered; the task's own enter found it on"
        );
        mm.lazy_mmu_mode_disable();
        assert!(mm.check_quiescent());
    }
}

#[test]
fn preemption_in_the_disable_window_leaves_twice() {
    for bug in [false, true] {
        let (_, mm) = leaked();
        mm.set_flavour(Flavour::Queued);
        if bug {
            mm.inject_bug(InjectedBug::XenIntolerantNesting);
        }
        install(mm, Some((PreemptPoint::DisableBeforeArchLeave, 1)), |_| {});
        mm.lazy_mmu_mode_enable();
        mm.lazy_mmu_mode_disable();
        let expected: &[Rule] = if bug { &[Rule::ArchLeaveWhileLeft] } else { &[] };
        assert_eq!(rules(mm), expected, "bug={bug}");
        assert!(mm.check_quiescent());
    }
}

#[test]
fn a_tlb_batch_section_is_not_preemptible_unless_the_bug_is_injected() {
    for bug in [false, true] {
        let (_, mm) = leaked();
        mm.set_flavour(Flavour::TlbBatch);
        if bug {
            mm.inject_bug(InjectedBug::BatchPreemptible);
        }
        assert!(mm.preemptible());
        mm.lazy_mmu_mode_enable();
        assert_eq!(mm.preemptible(), bug);
        mm.lazy_mmu_mode_disable();
        assert!(mm.preemptible());
        assert!(mm.check_quiescent());
    }
}

/// 49147beb0ccb (reverted by c36549ff8d84): Xen counts nested enters per
/// CPU, so the switch-out hook's one leave leaves a nested section's CPU in
/// the mode, and the outer leave then finds it left.
#[test]
fn per_cpu_nesting_survives_the_switch_out_hook() {
    for bug in [false, true] {
        let fx = Fixture::new(PteFormat::X86_64);
        let mm = fx.mm();
        mm.set_flavour(Flavour::Queued);
        if bug {
            mm.inject_bug(InjectedBug::XenPerCpuNesting);
        }
        mm.lazy_mmu_mode_enable();
        mm.lazy_mmu_mode_enable();
        let first = mm.context_switch(TaskId::second(0));
        assert_eq!(mm.arch_in_lazy_mmu_mode(), bug, "the next task runs in the CPU's mode: bug={bug}");
        mm.context_switch(first);
        mm.lazy_mmu_mode_disable();
        mm.lazy_mmu_mode_disable();
        let expected: &[Rule] = if bug { &[Rule::ArchLeaveWhileLeft] } else { &[] };
        assert_eq!(rules(&mm), expected, "bug={bug}");
        assert!(mm.check_quiescent());
    }
}

#[test]
fn might_preempt_reports_the_callers_point_outside_interrupts() {
    let (fx, mm) = leaked();
    let scheduler = install(mm, None, |_| {});
    mm.might_preempt();
    fx.mmu.set_in_interrupt(true);
    mm.might_preempt();
    fx.mmu.set_in_interrupt(false);
    assert_eq!(*scheduler.seen.lock().unwrap(), [PreemptPoint::Caller]);
}
