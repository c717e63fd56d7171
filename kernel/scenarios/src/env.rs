//! What a scenario may do besides calling `mm`: touch memory through a
//! virtual address, use the second CPU, run code in interrupt context, and
//! switch tasks. The kernel implements it with real loads, stores, IPIs and
//! timer interrupts; the host tests with the strict model. Its
//! `mm::Scheduler` hands every preemption point to [`Env::preemption`].

use mm::{Fault, Mm, Mmu, VirtAddr};

use crate::sched::Preemption;
use crate::scratch::ScratchWindow;

/// What CPU1 loaded, interrupts masked, after the call it was held around
/// had returned ([`Env::remote_hold_reading`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeldReads {
    /// Loads made after the call returned (0 when the hold ended first).
    pub after: u64,
    /// The first of them.
    pub first_after: Option<Result<u64, Fault>>,
}

/// The one `mm` context a run has, over whatever MMU it runs on.
pub type KernelMm = Mm<'static, dyn Mmu>;

pub trait Env: Sync {
    fn mm(&self) -> &KernelMm;

    /// A real 8-byte load through `va` on this CPU; a fault is a value.
    fn read(&self, va: VirtAddr) -> Result<u64, Fault>;

    /// A real 8-byte store through `va` on this CPU; a fault is a value.
    fn write(&self, va: VirtAddr, value: u64) -> Result<(), Fault>;

    /// What a speculative walk or another agent may do at any time: load the
    /// current translation of `va` into this CPU's TLB. QEMU TCG never does
    /// it on its own (docs/tcg.md), so the cases that need it ask.
    fn speculate(&self, va: VirtAddr);

    /// CPU1 loads through `va` and says what it saw; `None` when there is no
    /// second CPU or it did not answer within a bounded time.
    fn remote_read(&self, va: VirtAddr) -> Option<Result<u64, Fault>>;

    /// CPU1 masks its interrupts (so it takes no IPI) and loads through
    /// `va` again and again for about `hold_us` microseconds; once it has
    /// started, this CPU runs `f`. Returns what CPU1 loaded after `f`
    /// returned, or `None` when there is no second CPU or it did not answer.
    fn remote_hold_reading(&self, va: VirtAddr, hold_us: u64, f: &mut dyn FnMut()) -> Option<HeldReads>;

    /// Runs `f` on CPU1 and waits for it (a task migrated there:
    /// [`crate::sched::continue_migrated`] does the switching); false when
    /// there is no second CPU.
    fn run_on_cpu1(&self, f: &mut dyn FnMut()) -> bool;

    /// Runs `f` in interrupt context on this CPU (a real timer interrupt on
    /// QEMU); false if the interrupt never came.
    fn in_interrupt(&self, f: &mut dyn FnMut()) -> bool;

    /// Runs `f` as the CPU's other task: on its own stack on QEMU, as a
    /// plain call on the host model. [`crate::sched`] does the switching
    /// around it.
    fn run_on_task_stack(&self, f: &mut dyn FnMut());

    /// This environment's forced-preemption windows.
    fn preemption(&self) -> &Preemption;
}

/// The environment every case receives through `Ctx::env::<EnvRef>()`,
/// with the scratch VA its cases take ranges from.
pub struct EnvRef {
    env: &'static dyn Env,
    scratch: ScratchWindow,
}

impl EnvRef {
    pub fn new(env: &'static dyn Env) -> EnvRef {
        EnvRef { env, scratch: ScratchWindow::default() }
    }

    pub fn get(&self) -> &'static dyn Env {
        self.env
    }

    pub(crate) fn scratch(&self) -> &ScratchWindow {
        &self.scratch
    }
}
