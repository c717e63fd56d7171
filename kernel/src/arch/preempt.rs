//! Task switches by interrupt: each CPU runs its boot task and, on demand,
//! a second task on its own stack; a switch happens only on the exit path
//! of an interrupt, once the handler's nesting depth is back to zero
//! (`in_interrupt()` is false, as in Linux's `preempt_schedule_irq`). The
//! handler saves the interrupted register context (the trap frame) as the
//! outgoing task's and rewrites the frame with the incoming task's, so the
//! `iretq` / `eret` resumes the other task. A task's saved frame may be
//! resumed on another CPU: that is how a task migrates.
//!
//! What asks for a switch: a resched interrupt (x86 LAPIC IPI, arm64 SGI)
//! sent to this CPU or the other one, the periodic tick, and the yield
//! (x86 `int`, arm64 `svc`) a task makes to give its CPU away or end.
//! The kernel's switch hook (the lazy layer's context-switch hooks) runs on
//! the exit path of each switch (docs/lazy-mmu-v7.md, "The interrupt
//! switch").

use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use mm::MAX_CPUS;

use super::switch::{first_frame, irqs_enabled, raise_resched, task_entry, yield_now, TrapFrame};

use super::{ticks, ticks_per_sec};

/// A kernel task: CPU `cpu`'s boot task, or its second task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Task {
    pub cpu: usize,
    pub second: bool,
}

impl Task {
    const fn slot(self) -> usize {
        if self.second {
            MAX_CPUS + self.cpu
        } else {
            self.cpu
        }
    }

    const fn of_slot(slot: usize) -> Task {
        Task { cpu: slot % MAX_CPUS, second: slot >= MAX_CPUS }
    }

    fn other(self) -> Task {
        Task { cpu: self.cpu, second: !self.second }
    }
}

/// The context switch the kernel wants done on each switch, on the CPU
/// that switches: `(prev, next, may_decline)`; returns whether to switch.
/// Only a tick's switch may be declined (`may_decline`).
pub type SwitchHook<'a> = &'a mut (dyn FnMut(Task, Task, bool) -> bool + Send);

const NR_SLOTS: usize = 2 * MAX_CPUS;
const NO_TASK: usize = usize::MAX;
/// Marks a pending switch a tick asked for (the hook may decline it).
const BY_TICK: usize = 1 << 16;
/// CPUs that have a second task (the kernel starts CPU0 and CPU1).
const SECOND_STACKS: usize = 2;
const TASK_STACK_BYTES: usize = 64 << 10;
/// Past this a switch that should be immediate is lost: a crash.
const SWITCH_WAIT_MS: u64 = 2_000;

#[repr(C, align(16))]
struct Stack([u8; TASK_STACK_BYTES]);

/// Each CPU's second-task stack; only that task runs on it.
static mut SECOND_STACK: [Stack; SECOND_STACKS] = [const { Stack([0; TASK_STACK_BYTES]) }; SECOND_STACKS];

/// A parked task's register context, `None` while it runs or has none.
static SAVED: [spin::Mutex<Option<TrapFrame>>; NR_SLOTS] = [const { spin::Mutex::new(None) }; NR_SLOTS];
/// How many times each task was switched in (what a waiting task watches).
static SWITCHED_IN: [AtomicU32; NR_SLOTS] = [const { AtomicU32::new(0) }; NR_SLOTS];
/// A second task whose body returned: its last switch saves nothing.
static FINISHED: [AtomicBool; NR_SLOTS] = [const { AtomicBool::new(false) }; NR_SLOTS];
/// Which task each CPU runs (its boot task until a switch).
static CURRENT: [AtomicUsize; MAX_CPUS] = {
    let mut current = [const { AtomicUsize::new(0) }; MAX_CPUS];
    let mut cpu = 0;
    while cpu < MAX_CPUS {
        current[cpu] = AtomicUsize::new(cpu);
        cpu += 1;
    }
    current
};
/// The switch asked for on each CPU (Linux's need_resched): the incoming
/// task's slot, with [`BY_TICK`] when a tick asked; `NO_TASK` for none.
static PENDING: [AtomicUsize; MAX_CPUS] = [const { AtomicUsize::new(NO_TASK) }; MAX_CPUS];
/// The tick period on each CPU in microseconds, 0 = no tick.
static TICK_US: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];

/// The installed hook, erased to `'static`: valid while the function that
/// installed it ([`with_hook`]) runs.
struct Hook(*mut (dyn FnMut(Task, Task, bool) -> bool + Send + 'static));

// SAFETY: the hook is `Send`, and it is called only under the HOOK lock.
unsafe impl Send for Hook {}

static HOOK: spin::Mutex<Option<Hook>> = spin::Mutex::new(None);

/// A second task's body, erased to `'static`: valid until its task
/// finished, which the task that made it waits for.
struct Body(*mut (dyn FnMut() + 'static));

// SAFETY: only the second task it was made for calls it, on the CPU of
// the task that made it, which waits meanwhile: no two CPUs ever use it.
unsafe impl Send for Body {}

static BODIES: [spin::Mutex<Option<Body>>; NR_SLOTS] = [const { spin::Mutex::new(None) }; NR_SLOTS];
/// Whom each second task yields to when its body returns.
static RETURN_TO: [AtomicUsize; NR_SLOTS] = [const { AtomicUsize::new(NO_TASK) }; NR_SLOTS];

/// The task this CPU runs (its `cpu` is the task's home CPU, not
/// necessarily this one).
fn current_task() -> Task {
    Task::of_slot(CURRENT[super::cpu_id()].load(Ordering::Acquire))
}

fn elapsed_ms(start: u64) -> u64 {
    (ticks() - start) * 1000 / ticks_per_sec()
}

/// Installs `hook` for the length of `f`.
fn with_hook<R>(hook: SwitchHook<'_>, f: impl FnOnce() -> R) -> R {
    // SAFETY: only the lifetime is erased; the pointer is removed below,
    // before `hook` goes out of scope, and every switch `f` starts has
    // ended when `f` returns (each waits for the task it switched away).
    let hook: *mut (dyn FnMut(Task, Task, bool) -> bool + Send + 'static) =
        unsafe { core::mem::transmute(hook as *mut (dyn FnMut(Task, Task, bool) -> bool + Send)) };
    assert!(HOOK.lock().replace(Hook(hook)).is_none(), "preempt: a switch hook is already installed");
    let result = f();
    HOOK.lock().take();
    result
}

/// Gives `task` (a second task, parked) a first frame that runs `body` on
/// its own stack with interrupts on and then yields to `return_to`.
fn make_second_task(task: Task, body: &mut dyn FnMut(), return_to: Task) {
    assert!(task.second && task.cpu < SECOND_STACKS, "preempt: no stack for {task:?}");
    // SAFETY: only the lifetime is erased; the task that makes a second
    // task waits until its body returned (FINISHED) before returning.
    let body: *mut (dyn FnMut() + 'static) = unsafe { core::mem::transmute(body as *mut dyn FnMut()) };
    *BODIES[task.slot()].lock() = Some(Body(body));
    RETURN_TO[task.slot()].store(return_to.slot(), Ordering::Release);
    FINISHED[task.slot()].store(false, Ordering::Release);
    // SAFETY: only the address is taken; the stack is this task's alone.
    let stack_top = unsafe { core::ptr::addr_of!(SECOND_STACK[task.cpu]) } as u64 + TASK_STACK_BYTES as u64;
    *SAVED[task.slot()].lock() = Some(first_frame(task_entry as *const () as u64, stack_top, task.slot() as u64));
}

/// Where a second task starts (through the arch's `task_entry`): its body,
/// then the last yield, to the task that started it.
pub(in crate::arch) extern "C" fn second_task_main(slot: u64) -> ! {
    let slot = slot as usize;
    let body = BODIES[slot].lock().take().expect("preempt: a second task without a body");
    // SAFETY: `make_second_task` stored the pointer; its maker waits for
    // FINISHED, set below after the last use.
    unsafe { (*body.0)() };
    FINISHED[slot].store(true, Ordering::Release);
    let return_to = Task::of_slot(RETURN_TO[slot].load(Ordering::Acquire));
    switch_to(return_to);
    unreachable!("preempt: a finished task was switched back in");
}

/// Asks `cpu` to switch to `next` at its next interrupt exit.
fn request(cpu: usize, next: Task) {
    PENDING[cpu].store(next.slot(), Ordering::Release);
}

/// Asks this CPU to switch to `next`, raises the resched interrupt and
/// waits, interrupts on, until this task is switched back in (perhaps on
/// another CPU).
fn switch_and_wait(next: Task) {
    assert!(irqs_enabled(), "preempt: a switch by interrupt with interrupts off");
    let (cpu, me) = (super::cpu_id(), current_task());
    let seen = SWITCHED_IN[me.slot()].load(Ordering::Acquire);
    request(cpu, next);
    raise_resched(cpu);
    let start = ticks();
    while SWITCHED_IN[me.slot()].load(Ordering::Acquire) == seen {
        assert!(elapsed_ms(start) < SWITCH_WAIT_MS, "preempt: the resched interrupt never came");
        core::hint::spin_loop();
    }
}

/// Gives this CPU to `next` by a yield (a software interrupt); returns when
/// this task is switched back in.
fn switch_to(next: Task) {
    request(super::cpu_id(), next);
    yield_now();
}

/// Waits until `task` was switched in after `seen` and is parked again.
fn wait_parked(task: Task, seen: u32) {
    let start = ticks();
    while SWITCHED_IN[task.slot()].load(Ordering::Acquire) == seen || SAVED[task.slot()].lock().is_none() {
        assert!(elapsed_ms(start) < SWITCH_WAIT_MS, "preempt: {task:?} did not come back");
        core::hint::spin_loop();
    }
}

/// The exit path of every interrupt (and of the yield), called with the
/// frame `iretq` / `eret` will resume once the handler depth is zero: the
/// scheduling point. Switches if a switch was asked for and the hook
/// agrees (it may decline only what a tick asked for).
pub(in crate::arch) fn on_interrupt_exit(frame: &mut TrapFrame) {
    let cpu = super::cpu_id();
    let pending = PENDING[cpu].swap(NO_TASK, Ordering::AcqRel);
    let prev = CURRENT[cpu].load(Ordering::Acquire);
    if pending == NO_TASK {
        return;
    }
    let (next, from_tick) = (pending & !BY_TICK, pending & BY_TICK != 0);
    if next == prev {
        return;
    }
    let mut next_saved = SAVED[next].lock();
    if next_saved.is_none() {
        return;
    }
    let accepted = match HOOK.lock().as_mut() {
        // SAFETY: `with_hook` keeps the closure alive while installed; the
        // HOOK lock makes this the only call in progress.
        Some(hook) => unsafe { (*hook.0)(Task::of_slot(prev), Task::of_slot(next), from_tick) },
        None => false,
    };
    if from_tick && !accepted {
        return;
    }
    if !FINISHED[prev].load(Ordering::Acquire) {
        *SAVED[prev].lock() = Some(frame.clone());
    }
    *frame = next_saved.take().expect("checked above");
    CURRENT[cpu].store(next, Ordering::Release);
    SWITCHED_IN[next].fetch_add(1, Ordering::AcqRel);
}

/// The tick (the timer callback while [`run_with_ticks`] runs): re-arms
/// itself and asks for a switch to the CPU's other task if it is parked.
fn tick() {
    let cpu = super::cpu_id();
    let period = TICK_US[cpu].load(Ordering::Acquire);
    if period == 0 {
        return;
    }
    super::arm_timer_oneshot(period);
    let other = current_task().other();
    if SAVED[other.slot()].lock().is_some() {
        // A switch already asked for (a yield about to be made) stands.
        let _ = PENDING[cpu].compare_exchange(NO_TASK, other.slot() | BY_TICK, Ordering::AcqRel, Ordering::Acquire);
    }
}

/// Runs `second` as this CPU's second task, switched in by a resched
/// interrupt raised now and switched back by its final yield; `hook` runs
/// on both switches.
pub fn run_second_task(hook: SwitchHook<'_>, second: &mut dyn FnMut()) {
    with_hook(hook, || {
        let me = current_task();
        let second_task = Task { cpu: me.cpu, second: true };
        make_second_task(second_task, second, me);
        switch_and_wait(second_task);
    });
}

/// Runs `first` in the current task while a periodic tick every `period_us`
/// asks to switch between it and `second` (the CPU's second task, started
/// by the first tick that `hook` accepts); when `first` returns the tick
/// stops and `second` runs to its end. `second` must end by itself once
/// `first` has.
pub fn run_with_ticks(hook: SwitchHook<'_>, period_us: u64, first: &mut dyn FnMut(), second: &mut dyn FnMut()) {
    with_hook(hook, || {
        let me = current_task();
        let second_task = Task { cpu: me.cpu, second: true };
        make_second_task(second_task, second, me);
        super::set_timer_callback(tick);
        TICK_US[me.cpu].store(period_us, Ordering::Release);
        super::arm_timer_oneshot(period_us);
        first();
        let cpu = super::cpu_id();
        TICK_US[cpu].store(0, Ordering::Release);
        if !FINISHED[second_task.slot()].load(Ordering::Acquire) {
            switch_and_wait(second_task);
        }
    });
}

/// Migration: this task is switched out on its CPU (whose second task
/// runs meanwhile), switched in on `to_cpu` by a resched interrupt sent
/// there, runs `rest`, yields `to_cpu` back to its boot task, and is
/// switched back in here by the second task's final yield.
pub fn run_migrated(hook: SwitchHook<'_>, to_cpu: usize, rest: &mut dyn FnMut()) {
    with_hook(hook, || {
        let me = current_task();
        let second_task = Task { cpu: me.cpu, second: true };
        let mut send_away = || {
            let seen = SWITCHED_IN[me.slot()].load(Ordering::Acquire);
            request(to_cpu, me);
            raise_resched(to_cpu);
            wait_parked(me, seen);
        };
        make_second_task(second_task, &mut send_away, me);
        switch_and_wait(second_task);
        // Now on `to_cpu`.
        rest();
        switch_to(Task { cpu: super::cpu_id(), second: false });
    });
}
