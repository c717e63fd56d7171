//! What the harness does around every case body, the same on QEMU and on
//! the host model: select the flavour, start from clean counters and no
//! injected bug, and afterwards turn the sanitizer's reports and any section
//! left open into named failures.

use ktest::{Ctx, Judge, Order};
use mm::{Flavour, NestingPolicy, Switch};

use crate::{EnvRef, KernelMm};

/// `variant` is `None` for a case without variants: it runs under the
/// default flavour, the one its plan is asked about.
pub fn prepare_case(mm: &KernelMm, variant: Option<Flavour>, _order: Order) {
    mm.set_flavour(variant.unwrap_or_default());
    mm.set_nesting_policy(NestingPolicy::Counter);
    mm.clear_injected_bugs();
    mm.set_sanitizer(Switch::On);
    // Reports from an earlier case were already turned into failures.
    let _ = mm.take_reports();
    mm.reset_counters();
}

pub fn finish_case(mm: &KernelMm, ctx: &mut Ctx) {
    mm.check_quiescent();
    let env_ref = ctx.env::<EnvRef>();
    env_ref.scratch().finish_case(env_ref.get(), ctx);
    for report in mm.take_reports() {
        ctx.fail_rule(report.rule, report.at, format_args!("{report}"));
    }
    if let Err(error) = mm.set_debug_pagealloc(Switch::Off) {
        ctx.fail(Judge::State, format_args!("turning debug_pagealloc off failed: {error}"));
    }
    mm.clear_injected_bugs();
    mm.set_flavour(Flavour::None);
    mm.set_nesting_policy(NestingPolicy::Counter);
}
