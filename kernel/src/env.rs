//! The kernel's `scenarios::Env`: real loads and stores through the probes,
//! CPU1 for remote reads, a real timer interrupt for interrupt context,
//! task switches by interrupt (arch/preempt.rs: a second task on its own
//! stack, the periodic tick, migration to CPU1), and the `mm::Scheduler`
//! the lazy layer reports its preemption points to.

use core::sync::atomic::{AtomicBool, Ordering};

use mm::{Fault, PreemptPoint, Scheduler, TaskId, VirtAddr};
use scenarios::sched::Preemption;
use scenarios::{Env, HeldReads, KernelMm, SwitchFn};

use crate::arch::preempt::{self, Task};
use crate::{arch, smp};

pub struct KernelEnv;

/// The forced-preemption windows of the running case.
static PREEMPTION: Preemption = Preemption::new();

fn task_id(task: Task) -> TaskId {
    if task.second {
        TaskId::second(task.cpu)
    } else {
        TaskId::boot(task.cpu)
    }
}

/// The closure the next timer interrupt runs, erased to `'static`: valid
/// only while `in_interrupt` waits for it on this CPU.
struct IrqWork(*mut (dyn FnMut() + 'static));

// SAFETY: the pointer is only dereferenced on the CPU that stored it, by its
// own timer interrupt, while the storing frame is still waiting.
unsafe impl Send for IrqWork {}

static IRQ_WORK: spin::Mutex<Option<IrqWork>> = spin::Mutex::new(None);
static IRQ_WORK_DONE: AtomicBool = AtomicBool::new(false);
const IRQ_DELAY_US: u64 = 200;
const IRQ_WAIT_MS: u64 = 100;

fn run_irq_work() {
    let work = IRQ_WORK.lock().take();
    if let Some(IrqWork(f)) = work {
        // SAFETY: `in_interrupt` stored this pointer and is spinning on this
        // CPU until IRQ_WORK_DONE, so the closure it points to is alive.
        unsafe { (*f)() };
        IRQ_WORK_DONE.store(true, Ordering::Release);
    }
}

pub fn elapsed_ms(start: u64) -> u64 {
    (arch::ticks() - start) * 1000 / arch::ticks_per_sec()
}

impl Env for KernelEnv {
    fn mm(&self) -> &KernelMm {
        crate::mm()
    }

    fn read(&self, va: VirtAddr) -> Result<u64, Fault> {
        arch::probe_read(va.as_u64())
    }

    fn write(&self, va: VirtAddr, value: u64) -> Result<(), Fault> {
        arch::probe_write(va.as_u64(), value)
    }

    fn speculate(&self, va: VirtAddr) {
        // TCG never walks on its own: a real load stands for the walk.
        let _ = arch::probe_read(va.as_u64());
    }

    fn remote_read(&self, va: VirtAddr) -> Option<Result<u64, Fault>> {
        smp::remote_read(va)
    }

    fn remote_hold_reading(&self, va: VirtAddr, hold_us: u64, f: &mut dyn FnMut()) -> Option<HeldReads> {
        smp::remote_hold_reading(va, hold_us, f)
    }

    fn in_interrupt(&self, f: &mut dyn FnMut()) -> bool {
        // SAFETY: only the lifetime is erased; the pointer is cleared below
        // before `f` goes out of scope, and only this CPU's interrupt uses it.
        let f: *mut (dyn FnMut() + 'static) = unsafe { core::mem::transmute(f as *mut dyn FnMut()) };
        IRQ_WORK_DONE.store(false, Ordering::Release);
        *IRQ_WORK.lock() = Some(IrqWork(f));
        arch::set_timer_callback(run_irq_work);
        arch::arm_timer_oneshot(IRQ_DELAY_US);
        let start = arch::ticks();
        while !IRQ_WORK_DONE.load(Ordering::Acquire) && elapsed_ms(start) < IRQ_WAIT_MS {
            core::hint::spin_loop();
        }
        // A late interrupt finds nothing to run.
        IRQ_WORK.lock().take();
        IRQ_WORK_DONE.load(Ordering::Acquire)
    }

    fn run_second_task(&self, switch: SwitchFn<'_>, second: &mut dyn FnMut()) {
        preempt::run_second_task(&mut |_, next, by_tick| switch(task_id(next), by_tick), second);
    }

    fn run_migrated(&self, switch: SwitchFn<'_>, rest: &mut dyn FnMut()) -> bool {
        if !smp::cpu1_online() {
            return false;
        }
        preempt::run_migrated(&mut |_, next, by_tick| switch(task_id(next), by_tick), 1, rest);
        true
    }

    fn run_with_timer(
        &self,
        period_us: u64,
        switch: SwitchFn<'_>,
        first: &mut dyn FnMut(),
        second: &mut dyn FnMut(),
    ) -> bool {
        preempt::run_with_ticks(&mut |_, next, by_tick| switch(task_id(next), by_tick), period_us, first, second);
        true
    }

    fn preemption(&self) -> &Preemption {
        &PREEMPTION
    }
}

impl Scheduler for KernelEnv {
    fn preempt_point(&self, point: PreemptPoint) {
        PREEMPTION.on_point(self, point);
    }
}
