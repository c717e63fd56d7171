//! One KTAP leaf: a case body run once for one variant, either in its plain
//! form (fixed order, or buggy under `inject=`) or as the `detects_bug`
//! self-test, whose verdict inverts the body's: caught is a pass.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::any::Any;

use crate::case::{write_catchers, Applies, BuggyExpect, Case, Form, Judge, Order};
use crate::ctx::{Ctx, Echo, Failure, LeafSite};
use crate::ktap::{Ktap, Outcome};
use crate::platform::{Guarded, Platform};
use mm::{Flavour, Rule};

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
    Caught { judges: &'static [Judge], rules: &'static [Rule] },
    Harmless(&'static str),
}

/// One judge (and, for the sanitizer, one rule) that reported the buggy
/// form, with its first message.
struct Catch {
    judge: Judge,
    rule: Option<Rule>,
    message: String,
}

impl Catch {
    /// `mmu`, `sanitizer(allocation in lazy mode)`.
    fn name(&self) -> String {
        catcher_name(self.judge, self.rule)
    }
}

fn catcher_name(judge: Judge, rule: Option<Rule>) -> String {
    let mut name = String::new();
    let _ = write_catchers(&mut name, &[judge], rule.as_slice());
    name
}

/// What one run of a case body left behind.
struct BodyRun {
    guarded: Guarded,
    failures: Vec<Failure>,
    /// The first failure of each (judge, rule).
    firsts: Vec<Failure>,
    skip_reason: Option<String>,
}

impl BodyRun {
    /// Every judge's (and sanitizer rule's) first report, an unexpected
    /// fault first (as the MMU's).
    fn catches(&self) -> Vec<Catch> {
        let mut catches = Vec::new();
        if let Guarded::Faulted(fault) = self.guarded {
            catches.push(Catch { judge: Judge::Mmu, rule: None, message: format!("unexpected {fault}") });
        }
        for failure in &self.firsts {
            if !catches.iter().any(|catch| catch.judge == failure.judge && catch.rule == failure.rule) {
                catches.push(Catch { judge: failure.judge, rule: failure.rule, message: failure.message.clone() });
            }
        }
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
        if let Some(why) = plan.buggy.malformed() {
            let reason = format!("malformed plan: {why}");
            self.ktap()
                .diag(self.depth, format_args!("{}: {reason} ({}:{})", self.name, self.case.file, self.case.line));
            return Outcome::Fail(reason);
        }
        let verdict = match plan.buggy {
            BuggyExpect::NotApplicable(why) => return Outcome::Skip(format!("not applicable: {why}")),
            BuggyExpect::Caught { judges, rules } => Verdict::Caught { judges, rules },
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
            Verdict::Caught { judges, rules } => self.judge_caught(judges, rules, &catches),
            Verdict::Harmless(why) => self.judge_harmless(why, &catches, &body),
        }
    }

    /// Passes only when exactly the planned judges (and sanitizer rules)
    /// reported: prints who caught it, who was expected and stayed silent,
    /// and who reported without being planned.
    fn judge_caught(&self, judges: &[Judge], rules: &[Rule], catches: &[Catch]) -> Outcome {
        let mut expected_names = String::new();
        let _ = write_catchers(&mut expected_names, judges, rules);
        if catches.is_empty() {
            let reason = format!("buggy form passed every judge (expected {expected_names})");
            self.ktap()
                .diag(self.depth, format_args!("{}: {reason} ({}:{})", self.name, self.case.file, self.case.line));
            return Outcome::Fail(reason);
        }
        let expected = expected_catchers(judges, rules);
        let mut missing: Vec<String> = Vec::new();
        for &(judge, rule) in &expected {
            match catches.iter().find(|catch| catch.judge == judge && catch.rule == rule) {
                Some(catch) => {
                    self.ktap().diag(self.depth, format_args!("{}: caught by {}", self.name, catch.name()));
                    self.ktap().detail(self.depth, format_args!("{}", catch.message));
                }
                None => missing.push(catcher_name(judge, rule)),
            }
        }
        let mut extra: Vec<String> = Vec::new();
        for catch in catches.iter().filter(|catch| !expected.contains(&(catch.judge, catch.rule))) {
            self.ktap().diag(
                self.depth,
                format_args!("{}: also caught by {}, which the plan does not name", self.name, catch.name()),
            );
            self.ktap().detail(self.depth, format_args!("{}", catch.message));
            extra.push(catch.name());
        }
        if !missing.is_empty() {
            let reason = format!("not caught by the expected {}", missing.join(", "));
            self.ktap()
                .diag(self.depth, format_args!("{}: {reason} ({}:{})", self.name, self.case.file, self.case.line));
            return Outcome::Fail(reason);
        }
        if !extra.is_empty() {
            let reason = format!("also caught by {}, which the plan does not name", extra.join(", "));
            return Outcome::Fail(reason);
        }
        Outcome::Pass
    }

    fn judge_harmless(&self, why: &str, catches: &[Catch], body: &BodyRun) -> Outcome {
        let Some(catch) = catches.first() else {
            self.ktap().diag(self.depth, format_args!("{}: harmless: {why}", self.name));
            return Outcome::Pass;
        };
        let summary = catch.message.lines().next().unwrap_or_default();
        let reason = format!("expected harmless, but caught by {}: {summary}", catch.name());
        // The first catch is the fault when there was one: it has no check site.
        let site = match (body.guarded, body.failures.first()) {
            (Guarded::Returned, Some(failure)) => (failure.file, failure.line),
            _ => (self.case.file, self.case.line),
        };
        let ktap = self.ktap();
        ktap.diag(
            self.depth,
            format_args!("{}: expected harmless, but caught by {} at {}:{}", self.name, catch.name(), site.0, site.1),
        );
        ktap.detail(self.depth, format_args!("{}", catch.message));
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
        BodyRun {
            guarded,
            failures: ctx.failures().to_vec(),
            firsts: ctx.firsts().to_vec(),
            skip_reason: ctx.skip_reason().map(String::from),
        }
    }
}

/// The (judge, rule) pairs a plan expects: one per judge, the sanitizer once
/// per rule.
fn expected_catchers(judges: &[Judge], rules: &[Rule]) -> Vec<(Judge, Option<Rule>)> {
    let mut expected = Vec::new();
    for &judge in judges {
        if judge == Judge::Sanitizer {
            expected.extend(rules.iter().map(|&rule| (judge, Some(rule))));
        } else {
            expected.push((judge, None));
        }
    }
    expected
}
