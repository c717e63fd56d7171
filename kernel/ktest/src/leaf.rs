//! One KTAP leaf: a case body run once for one variant, either in its plain
//! form (fixed order, or buggy under `inject=`) or as the `detects_bug`
//! self-test, whose verdict inverts the body's: caught is a pass.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::any::Any;

use crate::case::{write_judges, Applies, BuggyExpect, Case, Form, Judge, Order};
use crate::ctx::{Ctx, Echo, Failure, LeafSite};
use crate::ktap::{Ktap, Outcome};
use crate::platform::{Guarded, Platform};
use mm::Flavour;

/// Where and how a leaf runs.
pub(crate) struct Leaf<'r> {
    pub(crate) platform: &'r dyn Platform,
    pub(crate) env: &'r dyn Any,
    pub(crate) case: &'static Case,
    pub(crate) variant: Option<Flavour>,
    /// The KTAP name (the variant, or the case's own name) and indentation.
    pub(crate) name: &'r str,
    pub(crate) depth: usize,
    pub(crate) timeout_ms: u64,
}

/// The buggy expectations under which the buggy form actually runs.
enum Verdict {
    Caught(&'static [Judge]),
    Harmless(&'static str),
}

/// What one run of a case body left behind.
struct BodyRun {
    guarded: Guarded,
    failures: Vec<Failure>,
    skip_reason: Option<String>,
}

impl BodyRun {
    /// Every judge's report, an unexpected fault first (as the MMU's).
    fn catches(&self) -> Vec<(Judge, String)> {
        let mut catches = Vec::new();
        if let Guarded::Faulted(fault) = self.guarded {
            catches.push((Judge::Mmu, format!("unexpected {fault}")));
        }
        catches.extend(self.failures.iter().map(|failure| (failure.judge, failure.message.clone())));
        catches
    }
}

impl Leaf<'_> {
    fn ktap(&self) -> Ktap<'_> {
        Ktap::new(self.platform)
    }

    fn plan_cell(&self) -> Option<crate::case::Plan> {
        self.case.plan_for(self.variant, self.platform.target())
    }

    /// The plain form: must pass (or, injected, fails like a regression).
    pub(crate) fn run_plain(&self, order: Order) -> Outcome {
        if let Some(plan) = self.plan_cell() {
            if let Applies::No(why) = plan.fixed {
                return Outcome::Skip(format!("not applicable: {why}"));
            }
        }
        let body = self.run_body(order, Form::Plain);
        if let Guarded::TimedOut = body.guarded {
            self.ktap().diag(
                self.depth,
                format_args!(
                    "{}: still running after {} ms, abandoned ({}:{})",
                    self.name, self.timeout_ms, self.case.file, self.case.line
                ),
            );
            return Outcome::Timeout { after_ms: self.timeout_ms };
        }
        if let Guarded::Faulted(fault) = body.guarded {
            return Outcome::Fail(format!("unexpected {fault}"));
        }
        match (body.failures.first(), body.skip_reason) {
            (Some(first), _) => Outcome::Fail(String::from(first.summary())),
            (None, Some(reason)) => Outcome::Skip(reason),
            (None, None) => Outcome::Pass,
        }
    }

    /// `<case>.detects_bug`: runs the buggy form and judges the judges.
    pub(crate) fn run_detects_bug(&self) -> Outcome {
        let Some(plan) = self.plan_cell() else {
            return Outcome::Skip(String::from("no buggy form"));
        };
        let verdict = match plan.buggy {
            BuggyExpect::NotApplicable(why) => return Outcome::Skip(format!("not applicable: {why}")),
            BuggyExpect::Caught(judges) => Verdict::Caught(judges),
            BuggyExpect::Harmless(why) => Verdict::Harmless(why),
        };
        let body = self.run_body(Order::Buggy, Form::DetectsBug);
        if let Guarded::TimedOut = body.guarded {
            return Outcome::Timeout { after_ms: self.timeout_ms };
        }
        let catches = body.catches();
        if catches.is_empty() {
            if let Some(reason) = body.skip_reason {
                return Outcome::Skip(reason);
            }
        }
        match verdict {
            Verdict::Caught(judges) => self.judge_caught(judges, &catches),
            Verdict::Harmless(why) => self.judge_harmless(why, &catches, &body.failures),
        }
    }

    fn judge_caught(&self, judges: &[Judge], catches: &[(Judge, String)]) -> Outcome {
        let mut expected_names = String::new();
        let _ = write_judges(&mut expected_names, judges);
        let by_expected = catches.iter().find(|(judge, _)| judges.contains(judge));
        match (by_expected, catches.first()) {
            (Some((judge, message)), _) => {
                self.ktap().diag(self.depth, format_args!("{}: caught by {judge}", self.name));
                self.ktap().detail(self.depth, format_args!("{message}"));
                Outcome::Pass
            }
            (None, Some((judge, message))) => {
                self.ktap().diag(
                    self.depth,
                    format_args!("{}: caught by {judge}, not by the expected {expected_names}", self.name),
                );
                self.ktap().detail(self.depth, format_args!("{message}"));
                Outcome::Pass
            }
            (None, None) => {
                let reason = format!("buggy form passed every judge (expected {expected_names})");
                self.ktap()
                    .diag(self.depth, format_args!("{}: {reason} ({}:{})", self.name, self.case.file, self.case.line));
                Outcome::Fail(reason)
            }
        }
    }

    fn judge_harmless(&self, why: &str, catches: &[(Judge, String)], failures: &[Failure]) -> Outcome {
        let Some((judge, message)) = catches.first() else {
            self.ktap().diag(self.depth, format_args!("{}: harmless: {why}", self.name));
            return Outcome::Pass;
        };
        let summary = message.lines().next().unwrap_or_default();
        let reason = format!("expected harmless, but caught by {judge}: {summary}");
        let site = match failures.first() {
            Some(failure) if catches.len() == failures.len() => (failure.file, failure.line),
            _ => (self.case.file, self.case.line),
        };
        let ktap = self.ktap();
        ktap.diag(
            self.depth,
            format_args!("{}: expected harmless, but caught by {judge} at {}:{}", self.name, site.0, site.1),
        );
        ktap.detail(self.depth, format_args!("{message}"));
        ktap.detail(self.depth, format_args!("harmless because: {why}"));
        Outcome::Fail(reason)
    }

    /// Runs the case body once under the platform's guard, with the
    /// before/after hooks and the crash path's bookkeeping around it. The
    /// plain form prints its failures as they happen; the self-test holds
    /// them for its verdict.
    fn run_body(&self, order: Order, form: Form) -> BodyRun {
        let echo = match form {
            Form::Plain => Echo::AtOnce,
            Form::DetectsBug => Echo::Held,
        };
        let site = LeafSite { name: self.name, depth: self.depth, echo };
        let mut ctx = Ctx::new(self.platform, self.env, self.case, self.variant, order, site);
        crate::current::enter(self.case, self.variant, order, form);
        self.platform.before_case(self.case, self.variant, order);
        let run = self.case.run;
        let guarded = self.platform.run_guarded(&mut || run(&mut ctx), self.timeout_ms);
        if let (Guarded::Faulted(fault), Echo::AtOnce) = (guarded, echo) {
            self.ktap().diag(
                self.depth,
                format_args!("{}: unexpected {fault} ({}:{})", self.name, self.case.file, self.case.line),
            );
        }
        self.platform.after_case(&mut ctx);
        crate::current::leave();
        let not_kept = ctx.nr_failures() - ctx.failures().len();
        if echo == Echo::AtOnce && not_kept > 0 {
            ctx.diag(format_args!("{}: {not_kept} more failed checks not shown", ctx.leaf()));
        }
        BodyRun { guarded, failures: ctx.failures().to_vec(), skip_reason: ctx.skip_reason().map(String::from) }
    }
}
