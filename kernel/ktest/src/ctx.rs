//! `Ctx`: what a case body sees while it runs. It records failed checks
//! (with the check's file:line), skips and diagnostics, and reaches the
//! platform for expected faults.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::any::{type_name, Any};
use core::fmt;
use core::panic::Location;

use mm::{Fault, Flavour, Rule};

use crate::case::{Case, Judge, Order};
use crate::ktap::Ktap;
use crate::platform::Platform;
use crate::target::Target;

/// Failures kept (and printed) per run of a case body: a check inside a loop
/// over 512 pages must not flood the serial port. The rest are only counted.
pub const MAX_KEPT_FAILURES: usize = 16;

/// One failed check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub judge: Judge,
    /// The sanitizer rule the failure is about (sanitizer failures only).
    pub rule: Option<Rule>,
    /// What went wrong: the first line is the summary a KTAP result line
    /// carries; further lines (what was expected, what was seen, when the
    /// two would not fit on one) are printed as details under it.
    pub message: String,
    pub file: &'static str,
    pub line: u32,
}

/// Whether failures are printed as they happen (the plain form: a later
/// crash must not lose them) or held for the runner (the `detects_bug`
/// self-test, where a failure is the expected outcome).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Echo {
    AtOnce,
    Held,
}

pub struct Ctx<'a> {
    platform: &'a dyn Platform,
    env: &'a dyn Any,
    case: &'static Case,
    variant: Option<Flavour>,
    order: Order,
    /// The KTAP leaf this run reports as, and its indentation depth.
    leaf: &'a str,
    depth: usize,
    echo: Echo,
    failures: Vec<Failure>,
    /// The first failure of each (judge, rule), kept past the cap: the
    /// `detects_bug` verdict compares them with the plan.
    firsts: Vec<Failure>,
    nr_failures: usize,
    skip_reason: Option<String>,
}

impl Failure {
    /// The message's first line: what a KTAP result line says.
    pub fn summary(&self) -> &str {
        self.message.lines().next().unwrap_or_default()
    }
}

/// Whether a failure's message already names its `file:line`.
#[derive(Clone, Copy)]
enum SiteInMessage {
    Yes,
    No,
}

pub(crate) struct LeafSite<'a> {
    pub(crate) name: &'a str,
    pub(crate) depth: usize,
    pub(crate) echo: Echo,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(
        platform: &'a dyn Platform,
        env: &'a dyn Any,
        case: &'static Case,
        variant: Option<Flavour>,
        order: Order,
        site: LeafSite<'a>,
    ) -> Self {
        Ctx {
            platform,
            env,
            case,
            variant,
            order,
            leaf: site.name,
            depth: site.depth,
            echo: site.echo,
            failures: Vec::new(),
            firsts: Vec::new(),
            nr_failures: 0,
            skip_reason: None,
        }
    }

    pub fn suite(&self) -> &'static str {
        self.case.suite
    }

    pub fn case_name(&self) -> &'static str {
        self.case.name
    }

    /// The flavour this run is for; `None` for a case without variants.
    pub fn variant(&self) -> Option<Flavour> {
        self.variant
    }

    pub fn order(&self) -> Order {
        self.order
    }

    /// The arch and backend this run is on.
    pub fn target(&self) -> Target {
        self.platform.target()
    }

    /// The suite environment the kernel (or host test) passed to the run.
    ///
    /// Panics when the environment is not a `T`: that is a wiring mistake in
    /// the kernel or test, never something a command line can cause.
    pub fn env<T: Any>(&self) -> &'a T {
        match self.env.downcast_ref::<T>() {
            Some(env) => env,
            None => panic!("ktest: the suite environment is not a {}", type_name::<T>()),
        }
    }

    /// Records a failed check at the caller's file:line. The case goes on
    /// running; the first failure's message is the KTAP line's reason.
    #[track_caller]
    pub fn fail(&mut self, judge: Judge, message: fmt::Arguments) {
        self.record(judge, None, Location::caller(), message, SiteInMessage::No);
    }

    /// [`fail`](Self::fail) for a checker (the sanitizer) that reports a
    /// rule broken elsewhere: `site` is where, and `message` already names
    /// it (`rule at file:line ...`), so the echoed line does not repeat it.
    pub fn fail_at(&mut self, judge: Judge, site: &'static Location<'static>, message: fmt::Arguments) {
        self.record(judge, None, site, message, SiteInMessage::Yes);
    }

    /// Records a failure of the sanitizer judge for `rule`, at `site` (where
    /// the rule was broken, or the check that found its report missing).
    /// Plans name the rules they expect, so every sanitizer failure should
    /// come through here; `message` names its own site, as for `fail_at`.
    pub fn fail_rule(&mut self, rule: Rule, site: &'static Location<'static>, message: fmt::Arguments) {
        self.record(Judge::Sanitizer, Some(rule), site, message, SiteInMessage::Yes);
    }

    fn record(
        &mut self,
        judge: Judge,
        rule: Option<Rule>,
        site: &'static Location<'static>,
        message: fmt::Arguments,
        shown: SiteInMessage,
    ) {
        self.nr_failures += 1;
        let first_of_its_kind = !self.firsts.iter().any(|seen| seen.judge == judge && seen.rule == rule);
        if self.failures.len() == MAX_KEPT_FAILURES && !first_of_its_kind {
            return;
        }
        let failure = Failure { judge, rule, message: message.to_string(), file: site.file(), line: site.line() };
        if first_of_its_kind {
            self.firsts.push(failure.clone());
        }
        if self.failures.len() == MAX_KEPT_FAILURES {
            return;
        }
        if self.echo == Echo::AtOnce {
            // KUnit's shape: who and where on one line, what on the next, so
            // neither line grows with the other.
            match shown {
                SiteInMessage::Yes => self.ktap().diag(self.depth, format_args!("{}: reported by {judge}", self.leaf)),
                SiteInMessage::No => self.ktap().diag(
                    self.depth,
                    format_args!("{}: {judge} check failed at {}:{}", self.leaf, failure.file, failure.line),
                ),
            }
            self.ktap().detail(self.depth, format_args!("{}", failure.message));
        }
        self.failures.push(failure);
    }

    /// Ends the case as skipped (unless a check already failed) with `reason`.
    /// The body should return right after.
    pub fn skip(&mut self, reason: impl fmt::Display) {
        self.skip_reason = Some(reason.to_string());
    }

    /// Prints `# <text>` at the case's indentation.
    pub fn diag(&self, text: fmt::Arguments) {
        self.ktap().diag(self.depth, text);
    }

    /// Runs `f`, which should fault; returns the fault, or `None` if `f`
    /// returned without one. Whether `None` is a failure is the case's call.
    pub fn expect_fault(&self, mut f: impl FnMut()) -> Option<Fault> {
        self.platform.expect_fault(&mut f)
    }

    pub fn failed(&self) -> bool {
        self.nr_failures > 0
    }

    /// The failures kept so far (at most [`MAX_KEPT_FAILURES`]).
    pub fn failures(&self) -> &[Failure] {
        &self.failures
    }

    /// The first failure of each (judge, rule) pair, in the order they
    /// happened, including those past the cap on kept failures.
    pub fn firsts(&self) -> &[Failure] {
        &self.firsts
    }

    /// All failed checks, including those not kept.
    pub fn nr_failures(&self) -> usize {
        self.nr_failures
    }

    pub fn skip_reason(&self) -> Option<&str> {
        self.skip_reason.as_deref()
    }

    pub(crate) fn leaf(&self) -> &str {
        self.leaf
    }

    fn ktap(&self) -> Ktap<'a> {
        Ktap::new(self.platform)
    }
}
