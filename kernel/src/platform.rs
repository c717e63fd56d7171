//! The kernel's side of the ktest harness: KTAP to the serial port, cases
//! guarded by `arch::catch` (watchdog and unexpected faults), and the same
//! per-case hooks the host model uses.

use alloc::vec::Vec;

use ktest::{Case, Ctx, Guarded, Order, Platform};
use mm::Fault;

use crate::arch::{self, Caught};

pub struct KernelPlatform;

impl Platform for KernelPlatform {
    fn write(&self, s: &str) {
        crate::console::print(format_args!("{s}"));
    }

    fn arch(&self) -> &'static str {
        arch::ARCH_NAME
    }

    fn run_guarded(&self, f: &mut dyn FnMut(), timeout_ms: u64) -> Guarded {
        match arch::catch(f, Some(timeout_ms.saturating_mul(1000))) {
            Ok(()) => Guarded::Returned,
            Err(Caught::Timeout) => Guarded::TimedOut,
            Err(Caught::Fault(fault)) => Guarded::Faulted(fault),
        }
    }

    fn expect_fault(&self, f: &mut dyn FnMut()) -> Option<Fault> {
        match arch::catch(f, None) {
            Err(Caught::Fault(fault)) => Some(fault),
            Ok(()) | Err(Caught::Timeout) => None,
        }
    }

    fn before_case(&self, _case: &Case, variant: Option<&str>, order: Order) {
        scenarios::prepare_case(crate::mm(), variant, order);
    }

    fn after_case(&self, ctx: &mut Ctx) {
        scenarios::finish_case(crate::mm(), ctx);
    }
}

/// Every registered case, except the deliberate crashes and hangs of the
/// `crash` suite unless the command line names that suite in a filter: a
/// default run must never crash on purpose.
pub fn runnable_cases(cmdline: &[u8]) -> Vec<&'static Case> {
    let wants_crash_suite = cmdline.windows(b"filter=crash.".len()).any(|w| w == b"filter=crash.");
    ktest::cases().into_iter().filter(|case| wants_crash_suite || case.suite != crate::crash_suite::SUITE).collect()
}
