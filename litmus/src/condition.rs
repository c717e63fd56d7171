//! The final condition with names resolved, the final state it reads, and
//! herd7's verdict over the set of reachable final states.

use crate::ast::{Atom, Condition, FaultKind, Line, Prop, Quantifier};
use crate::parse::{refuse, Unsupported};
use crate::program::Symbols;
use crate::value::{Loc, Sym, Val};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Where a fault atom looks: any instruction of the thread, one labelled
/// instruction, or a label on no instruction (it never faults).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultSite {
    Any,
    At(usize),
    Nowhere,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Check {
    Reg { thread: usize, reg: u8, value: Val },
    Mem { loc: Loc, value: Val },
    Fault { thread: usize, site: FaultSite, va: Option<Sym>, kind: Option<FaultKind> },
}

/// The resolved proposition, with its quantifier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Formula {
    True,
    Check(Check),
    Not(Box<Formula>),
    And(Box<Formula>, Box<Formula>),
    Or(Box<Formula>, Box<Formula>),
    /// The quantifier wraps the whole proposition.
    Quantified(Quantifier, Box<Formula>),
}

/// A thread's fault: instruction, virtual address, type.
pub type Fault = (usize, Sym, FaultKind);

/// The part of a final state the condition reads.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Outcome {
    pub regs: BTreeMap<(usize, u8), Val>,
    pub mem: BTreeMap<Loc, Val>,
    pub faults: Vec<Option<Fault>>,
}

pub fn resolve_condition(
    condition: &Condition,
    threads: &[Vec<Line>],
    symbols: &mut Symbols,
) -> Result<Formula, Unsupported> {
    let prop = resolve(&condition.prop, threads, symbols)?;
    Ok(Formula::Quantified(condition.quantifier, Box::new(prop)))
}

fn resolve(prop: &Prop, threads: &[Vec<Line>], symbols: &mut Symbols) -> Result<Formula, Unsupported> {
    let mut sub = |p: &Prop| resolve(p, threads, symbols).map(Box::new);
    Ok(match prop {
        Prop::True => Formula::True,
        Prop::Not(p) => Formula::Not(sub(p)?),
        Prop::And(a, b) => Formula::And(sub(a)?, sub(b)?),
        Prop::Or(a, b) => Formula::Or(sub(a)?, sub(b)?),
        Prop::Atom(atom) => Formula::Check(resolve_atom(atom, threads, symbols)?),
    })
}

fn resolve_atom(atom: &Atom, threads: &[Vec<Line>], symbols: &mut Symbols) -> Result<Check, Unsupported> {
    let thread_exists = |t: usize| if t < threads.len() { Ok(t) } else { refuse(format!("condition on thread {t}")) };
    Ok(match atom {
        Atom::Reg { thread, reg, value } => {
            Check::Reg { thread: thread_exists(*thread)?, reg: *reg, value: symbols.value(value)? }
        }
        Atom::Mem { loc, value } => Check::Mem { loc: symbols.location(loc)?, value: symbols.value(value)? },
        Atom::Fault(f) => {
            let thread = thread_exists(f.thread)?;
            let site = match &f.label {
                None => FaultSite::Any,
                Some(label) => label_site(&threads[thread], label)
                    .map_or_else(|| refuse(format!("label {label} not in P{thread}")), Ok)?,
            };
            let va = f.va.as_deref().map(|v| symbols.intern(v)).transpose()?;
            Check::Fault { thread, site, va, kind: f.kind }
        }
    })
}

fn label_site(lines: &[Line], label: &str) -> Option<FaultSite> {
    let mut index = 0;
    for line in lines {
        if line.label.as_deref() == Some(label) {
            return Some(if line.instr.is_some() { FaultSite::At(index) } else { FaultSite::Nowhere });
        }
        index += usize::from(line.instr.is_some());
    }
    None
}

impl Formula {
    /// The registers and locations the condition reads.
    pub fn observed(&self, regs: &mut BTreeSet<(usize, u8)>, locs: &mut BTreeSet<Loc>) {
        match self {
            Formula::True => {}
            Formula::Check(Check::Reg { thread, reg, .. }) => _ = regs.insert((*thread, *reg)),
            Formula::Check(Check::Mem { loc, .. }) => _ = locs.insert(*loc),
            Formula::Check(Check::Fault { .. }) => {}
            Formula::Not(p) | Formula::Quantified(_, p) => p.observed(regs, locs),
            Formula::And(a, b) | Formula::Or(a, b) => {
                a.observed(regs, locs);
                b.observed(regs, locs);
            }
        }
    }

    /// Whether the proposition (under the quantifier) holds in `outcome`.
    pub fn holds(&self, outcome: &Outcome) -> bool {
        match self {
            Formula::True => true,
            Formula::Check(check) => check.holds(outcome),
            Formula::Not(p) => !p.holds(outcome),
            Formula::And(a, b) => a.holds(outcome) && b.holds(outcome),
            Formula::Or(a, b) => a.holds(outcome) || b.holds(outcome),
            Formula::Quantified(_, p) => p.holds(outcome),
        }
    }
}

impl Check {
    fn holds(&self, outcome: &Outcome) -> bool {
        match self {
            Check::Reg { thread, reg, value } => outcome.regs.get(&(*thread, *reg)) == Some(value),
            Check::Mem { loc, value } => outcome.mem.get(loc) == Some(value),
            Check::Fault { thread, site, va, kind } => match outcome.faults[*thread] {
                None => false,
                Some((instr, fault_va, fault_kind)) => {
                    let at = match site {
                        FaultSite::Any => true,
                        FaultSite::At(i) => *i == instr,
                        FaultSite::Nowhere => false,
                    };
                    at && va.is_none_or(|v| v == fault_va) && kind.is_none_or(|k| k == fault_kind)
                }
            },
        }
    }
}

/// herd7's `Observation` word: how many reachable final states satisfy the
/// proposition (for every quantifier, as herd prints it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Observation {
    Never,
    Sometimes,
    Always,
}

impl fmt::Display for Observation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Observation::Never => "Never",
            Observation::Sometimes => "Sometimes",
            Observation::Always => "Always",
        })
    }
}

pub fn observe(condition: &Formula, outcomes: &BTreeSet<Outcome>) -> Observation {
    let positive = outcomes.iter().filter(|o| condition.holds(o)).count();
    match positive {
        0 => Observation::Never,
        n if n == outcomes.len() => Observation::Always,
        _ => Observation::Sometimes,
    }
}
