//! What a registered case is: its name, the variants (flavours) it runs
//! under, its body, and the plan saying which judge must catch its buggy form.

use core::fmt;

use mm::{Flavour, Rule};

use crate::ctx::Ctx;
use crate::target::Target;

/// One registered case. Built by [`ktest_case!`](crate::ktest_case), which
/// places it in the `ktest_cases` linker section; never build one for that
/// section by hand, the registry reads the section as an array of `Case`.
#[derive(Clone, Copy)]
pub struct Case {
    pub suite: &'static str,
    pub name: &'static str,
    /// The flavours the case runs under, one KTAP leaf each; empty: runs
    /// once, under the default flavour ([`Flavour::None`]).
    pub variants: &'static [Flavour],
    /// One line saying what the case reproduces (`list verbose` prints
    /// it); empty when the case was registered without `desc =`.
    pub desc: &'static str,
    pub run: fn(&mut Ctx),
    /// `Some` when the case has a buggy form: ktest then adds the self-test
    /// `<case>.detects_bug`. Called through [`Case::plan_for`].
    pub plan: Option<PlanFn>,
    /// Where the case was registered, for diagnostics that have no check site.
    pub file: &'static str,
    pub line: u32,
}

impl Case {
    pub fn id(&self) -> CaseId {
        CaseId { suite: self.suite, name: self.name }
    }

    pub fn has_buggy_form(&self) -> bool {
        self.plan.is_some()
    }

    /// The plan for one leaf: `variant` is `None` for a case without
    /// variants, which runs (and is planned) under the default flavour.
    pub fn plan_for(&self, variant: Option<Flavour>, target: Target) -> Option<Plan> {
        self.plan.map(|plan| plan(variant.unwrap_or_default(), target))
    }
}

/// What a case promises under one flavour on one target.
pub type PlanFn = fn(Flavour, Target) -> Plan;

impl fmt::Debug for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Case({}.{})", self.suite, self.name)
    }
}

/// A case's `suite.case` name, the form the command line uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CaseId {
    pub suite: &'static str,
    pub name: &'static str,
}

impl fmt::Display for CaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.suite, self.name)
    }
}

/// The two forms a case with a buggy form runs in: the plain one (fixed
/// order, or buggy under `inject=`) and the `.detects_bug` self-test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    Plain,
    DetectsBug,
}

/// The suffix the self-test's name adds to its case's.
pub const DETECTS_BUG: &str = "detects_bug";

/// One KTAP leaf's name as kunit.py spells it and `filter=` accepts it:
/// `suite.case.flavour`, `suite.case.detects_bug.flavour`, and without the
/// flavour for a case without variants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeafName {
    pub case: CaseId,
    pub form: Form,
    pub variant: Option<Flavour>,
}

impl fmt::Display for LeafName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.case)?;
        if self.form == Form::DetectsBug {
            write!(f, ".{DETECTS_BUG}")?;
        }
        match self.variant {
            Some(flavour) => write!(f, ".{flavour}"),
            None => Ok(()),
        }
    }
}

/// Which ordering a case body runs: the fixed one (must pass) or the seed's
/// pre-patch one (must be caught by a judge).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    Fixed,
    Buggy,
}

/// Who saw a failure (docs/design.md, "The judges").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Judge {
    /// The emulated MMU: stale read, missing fault, spurious fault.
    Mmu,
    /// A named rule of the mm sanitizer.
    Sanitizer,
    /// The per-CPU counters (barriers, invalidations, drains).
    Counters,
    /// Observable state such as `in_lazy_mmu_mode()` or the allocator's books.
    State,
    /// The host model of memory, TLB and store visibility.
    HostModel,
}

impl Judge {
    pub const ALL: [Judge; 5] = [Judge::Mmu, Judge::Sanitizer, Judge::Counters, Judge::State, Judge::HostModel];

    /// The stable name used in KTAP diagnostics and the judge table.
    pub const fn name(self) -> &'static str {
        match self {
            Judge::Mmu => "mmu",
            Judge::Sanitizer => "sanitizer",
            Judge::Counters => "counters",
            Judge::State => "state",
            Judge::HostModel => "host-model",
        }
    }
}

impl fmt::Display for Judge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a case promises for one (flavour, target) cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Whether the fixed form runs here at all.
    pub fixed: Applies,
    /// What must happen when the buggy form runs here.
    pub buggy: BuggyExpect,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applies {
    Yes,
    /// Not applicable, and why (printed after `# SKIP not applicable: `).
    No(&'static str),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuggyExpect {
    /// Exactly these judges must report a failure, and when `judges` names
    /// the sanitizer, exactly these of its rules: a judge or rule missing
    /// fails the self-test, and so does one the plan does not name (the
    /// table in the README must say what really happens).
    Caught { judges: &'static [Judge], rules: &'static [Rule] },
    /// The bug does no harm here, and why: every judge must stay silent.
    Harmless(&'static str),
    /// The buggy form means nothing here, and why: the self-test is skipped.
    NotApplicable(&'static str),
}

impl BuggyExpect {
    /// Why this expectation cannot be judged, or `None` when it can: the
    /// sanitizer is named with at least one rule, or not at all, and no
    /// judge or rule twice.
    pub fn malformed(&self) -> Option<&'static str> {
        let BuggyExpect::Caught { judges, rules } = *self else {
            return None;
        };
        if judges.is_empty() {
            return Some("caught by no judge");
        }
        let (names_sanitizer, names_rules) = (judges.contains(&Judge::Sanitizer), !rules.is_empty());
        if names_sanitizer != names_rules {
            return Some("the sanitizer judge and its rules must be named together");
        }
        let judge_twice = judges.iter().enumerate().any(|(i, judge)| judges[..i].contains(judge));
        let rule_twice = rules.iter().enumerate().any(|(i, rule)| rules[..i].contains(rule));
        if judge_twice || rule_twice {
            return Some("a judge or rule named twice");
        }
        None
    }
}

impl fmt::Display for Applies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Applies::Yes => f.write_str("fixed=yes"),
            Applies::No(why) => write!(f, "fixed=no:{why}"),
        }
    }
}

impl fmt::Display for BuggyExpect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuggyExpect::Caught { judges, rules } => {
                f.write_str("buggy=caught:")?;
                write_catchers(f, judges, rules)
            }
            BuggyExpect::Harmless(why) => write!(f, "buggy=harmless:{why}"),
            BuggyExpect::NotApplicable(why) => write!(f, "buggy=n/a:{why}"),
        }
    }
}

/// Writes judge names separated by `,`, the sanitizer with its rules in
/// parentheses separated by `; ` (`mmu,sanitizer(allocation in lazy mode)`).
pub(crate) fn write_catchers(f: &mut dyn fmt::Write, judges: &[Judge], rules: &[Rule]) -> fmt::Result {
    for (i, judge) in judges.iter().enumerate() {
        if i > 0 {
            f.write_str(",")?;
        }
        f.write_str(judge.name())?;
        if *judge == Judge::Sanitizer && !rules.is_empty() {
            f.write_str("(")?;
            write_rules(f, rules)?;
            f.write_str(")")?;
        }
    }
    Ok(())
}

/// Writes rule names separated by `; `.
pub(crate) fn write_rules(f: &mut dyn fmt::Write, rules: &[Rule]) -> fmt::Result {
    for (i, rule) in rules.iter().enumerate() {
        if i > 0 {
            f.write_str("; ")?;
        }
        f.write_str(rule.name())?;
    }
    Ok(())
}
