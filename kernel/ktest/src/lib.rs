//! ktest: the lazymmu test harness. Cases register themselves with
//! [`ktest_case!`] into a linker section; [`run`] selects them by the
//! command line ([`cmdline`]), runs each under the [`Platform`]'s guard and
//! prints KTAP v1. A case with a buggy form also gets a `.detects_bug`
//! self-test that passes only if a judge catches the buggy ordering.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

mod case;
pub mod cmdline;
mod ctx;
mod current;
mod glob;
mod judge_table;
mod ktap;
mod leaf;
mod platform;
mod registry;
mod run;
#[doc(hidden)]
pub mod show;
mod target;

#[cfg(test)]
mod fake;
#[cfg(test)]
mod tests;

pub use case::{Applies, BuggyExpect, Case, CaseId, Form, Judge, LeafName, Order, Plan, PlanFn, DETECTS_BUG};
pub use cmdline::{CmdlineError, Flavours, LogLevel, Mode, Options};
pub use ctx::{Ctx, Failure, MAX_KEPT_FAILURES};
pub use current::{current, current_case, Running};
pub use glob::glob_match;
pub use judge_table::{judge_rows, judge_table, JudgeRow};
pub use platform::{Guarded, Platform};
pub use registry::cases;
pub use run::{run, run_cases, Summary};
pub use target::{Arch, Backend, Target};

/// Registers a case in the `ktest_cases` linker section.
///
/// ```
/// use ktest::{kcheck_eq, ktest_case, Applies, BuggyExpect, Judge, Order, Plan, Target};
/// use mm::Flavour;
///
/// fn barriers_plan(flavour: Flavour, _target: Target) -> Plan {
///     match flavour {
///         // Exactly the counters see it; no sanitizer rule fires.
///         Flavour::Arm64 => Plan {
///             fixed: Applies::Yes,
///             buggy: BuggyExpect::Caught { judges: &[Judge::Counters], rules: &[] },
///         },
///         _ => Plan { fixed: Applies::No("arm64 flavour only"), buggy: BuggyExpect::NotApplicable("no barriers") },
///     }
/// }
///
/// const FLAVOURS: &[Flavour] = &[Flavour::None, Flavour::Arm64];
/// ktest_case!(
///     lazy_batch,
///     barriers_batched,
///     plan = barriers_plan,
///     variants = FLAVOURS,
///     desc = "one barrier pair per lazy section, not one per PTE",
///     |ctx| {
///         let barriers = if ctx.order() == Order::Buggy { 512 } else { 1 };
///         kcheck_eq!(ctx, Judge::Counters, barriers, 1, "barrier pairs inside lazy");
///     }
/// );
/// ktest_case!(boot, rodata_store_faults, |ctx| ctx.skip("example"));
///
/// assert!(ktest::cases().iter().any(|case| case.name == "barriers_batched"));
/// ```
/// After the suite and case names come optional `key = value,` pairs in any
/// order, then the body. `plan = None` (or no `plan`): the case has no buggy
/// form. No `variants`: the case runs once, under the default flavour
/// (`Flavour::None`), and its plan is asked about that flavour. `desc`: one
/// line for `list verbose`. The body is a closure without captures or a
/// `fn(&mut Ctx)`.
#[macro_export]
macro_rules! ktest_case {
    (@emit $suite:ident, $case:ident, [$plan:expr] [$variants:expr] [$desc:expr] $run:expr) => {
        const _: () = {
            #[used]
            #[link_section = "ktest_cases"]
            static CASE: $crate::Case = $crate::Case {
                suite: ::core::stringify!($suite),
                name: ::core::stringify!($case),
                variants: $variants,
                desc: $desc,
                run: $run,
                plan: $plan,
                file: ::core::file!(),
                line: ::core::line!(),
            };
        };
    };
    (@key $suite:ident, $case:ident, [$plan:expr] [$variants:expr] [$desc:expr] plan = None, $($rest:tt)+) => {
        $crate::ktest_case!(@key $suite, $case, [::core::option::Option::None] [$variants] [$desc] $($rest)+);
    };
    (@key $suite:ident, $case:ident, [$plan:expr] [$variants:expr] [$desc:expr] plan = $new:expr, $($rest:tt)+) => {
        $crate::ktest_case!(
            @key $suite, $case, [::core::option::Option::Some($new as $crate::PlanFn)] [$variants] [$desc] $($rest)+
        );
    };
    (@key $suite:ident, $case:ident, [$plan:expr] [$variants:expr] [$desc:expr] variants = $new:expr, $($rest:tt)+) => {
        $crate::ktest_case!(@key $suite, $case, [$plan] [$new] [$desc] $($rest)+);
    };
    (@key $suite:ident, $case:ident, [$plan:expr] [$variants:expr] [$desc:expr] desc = $new:expr, $($rest:tt)+) => {
        $crate::ktest_case!(@key $suite, $case, [$plan] [$variants] [$new] $($rest)+);
    };
    (@key $suite:ident, $case:ident, [$plan:expr] [$variants:expr] [$desc:expr] $run:expr $(,)?) => {
        $crate::ktest_case!(@emit $suite, $case, [$plan] [$variants] [$desc] $run);
    };
    ($suite:ident, $case:ident, $($rest:tt)+) => {
        $crate::ktest_case!(@key $suite, $case, [::core::option::Option::None] [&[]] [""] $($rest)+);
    };
}

/// `kcheck!(ctx, judge, cond, "what: expected {}, saw {}", a, b)`: records a
/// failure at this line when `cond` is false. Evaluates to `cond`, so a
/// case can stop early: `if !kcheck!(..) { return; }`.
#[macro_export]
macro_rules! kcheck {
    ($ctx:expr, $judge:expr, $cond:expr, $($message:tt)+) => {{
        let holds: bool = $cond;
        if !holds {
            $ctx.fail($judge, ::core::format_args!($($message)+));
        }
        holds
    }};
}

/// `kcheck_eq!(ctx, judge, seen, expected, "what")`: records
/// `what: expected <expected>, saw <seen>` when they differ, each printed
/// with `Display` if its type has one and `Debug` otherwise. Evaluates to
/// whether they are equal.
#[macro_export]
macro_rules! kcheck_eq {
    ($ctx:expr, $judge:expr, $seen:expr, $expected:expr, $($what:tt)+) => {{
        match (&$seen, &$expected) {
            (seen, expected) => {
                let holds = *seen == *expected;
                if !holds {
                    // Method resolution uses one of the two per type; the
                    // other import is unused there by design.
                    #[allow(unused_imports)]
                    use $crate::show::{PickDebug as _, PickDisplay as _};
                    $ctx.fail(
                        $judge,
                        ::core::format_args!(
                            "{}: expected {}, saw {}",
                            ::core::format_args!($($what)+),
                            (&$crate::show::Shown(expected)).pick().show(expected),
                            (&$crate::show::Shown(seen)).pick().show(seen)
                        ),
                    );
                }
                holds
            }
        }
    }};
}

/// `kdiag!(ctx, "format", args)`: a `# ...` diagnostic line at the case's
/// indentation.
#[macro_export]
macro_rules! kdiag {
    ($ctx:expr, $($text:tt)+) => {
        $ctx.diag(::core::format_args!($($text)+))
    };
}
