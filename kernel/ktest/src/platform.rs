//! What ktest needs from whoever runs it: the kernel on QEMU, or a host test.
//! ktest itself has no asm and no arch code; faults and the watchdog live
//! behind this trait.

use mm::{Fault, Flavour};

use crate::case::{Case, Order};
use crate::ctx::Ctx;
use crate::target::Target;

/// How a guarded call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Guarded {
    Returned,
    /// The watchdog fired; the call was abandoned.
    TimedOut,
    /// An exception nobody expected; the call was abandoned.
    Faulted(Fault),
}

pub trait Platform {
    /// Writes KTAP text (whole lines, `\n`-terminated) to the report port.
    fn write(&self, s: &str);

    /// The arch and backend plans are asked about.
    fn target(&self) -> Target;

    /// Runs `f` under the watchdog and with unexpected faults caught: a fault
    /// or a timeout abandons `f` and comes back as a value instead of a crash.
    fn run_guarded(&self, f: &mut dyn FnMut(), timeout_ms: u64) -> Guarded;

    /// Runs `f`, which is expected to fault: returns the first fault (and
    /// abandons `f` there), or `None` when `f` returned without one.
    fn expect_fault(&self, f: &mut dyn FnMut()) -> Option<Fault>;

    /// Called before each run of a case body: select `variant` (`None` for a
    /// case without variants: the default flavour), reset counters, arm the
    /// sanitizer.
    fn before_case(&self, case: &Case, variant: Option<Flavour>, order: Order);

    /// Called after each run of a case body, also after a timeout or an
    /// unexpected fault: report what the sanitizer saw and any lazy section
    /// left open through `ctx`, then put the CPU back to a clean state.
    fn after_case(&self, ctx: &mut Ctx);
}
