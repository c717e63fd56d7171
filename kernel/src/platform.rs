//! The kernel's side of the ktest harness: KTAP to the serial port, cases
//! guarded by `arch::catch` (watchdog and unexpected faults), and the same
//! per-case hooks the host model uses.

use alloc::vec::Vec;

use ktest::{Case, Ctx, Guarded, Order, Platform, Target};
use mm::{Fault, Flavour};

use crate::arch::{self, Caught};

pub struct KernelPlatform;

impl Platform for KernelPlatform {
    fn write(&self, s: &str) {
        crate::console::print(format_args!("{s}"));
    }

    fn target(&self) -> Target {
        Target::qemu(arch::ARCH)
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

    fn before_case(&self, _case: &Case, variant: Option<Flavour>, order: Order) {
        scenarios::prepare_case(crate::mm(), variant, order);
    }

    fn after_case(&self, ctx: &mut Ctx) {
        scenarios::finish_case(crate::mm(), ctx);
    }
}

/// Suites a default run leaves out: the `crash` suite's deliberate crashes
/// and hangs (a default run must never crash on purpose) and the `bench`
/// suite's measurements (seconds of work that check nothing).
const MANUAL_SUITES: [&str; 2] = [crate::crash_suite::SUITE, crate::bench_suite::SUITE];

/// Every registered case, except those of a manual suite unless a filter
/// glob of the command line is that suite's name or starts with it and a dot.
pub fn runnable_cases(cmdline: &[u8]) -> Vec<&'static Case> {
    let named = |suite: &str| filter_names_suite(cmdline, suite);
    ktest::cases().into_iter().filter(|case| !MANUAL_SUITES.contains(&case.suite) || named(case.suite)).collect()
}

/// Whether some `filter=` glob is `<suite>` or starts with `<suite>.`. A
/// line that is not UTF-8 names nothing (ktest's parser rejects it anyway).
fn filter_names_suite(cmdline: &[u8], suite: &str) -> bool {
    let Ok(line) = core::str::from_utf8(cmdline) else {
        return false;
    };
    line.split_ascii_whitespace()
        .filter_map(|word| word.strip_prefix("filter="))
        .flat_map(|globs| globs.split(','))
        .any(|glob| glob.strip_prefix(suite).is_some_and(|rest| rest.is_empty() || rest.starts_with('.')))
}
