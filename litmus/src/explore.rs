//! Exhaustive exploration: every interleaving of every thread's events,
//! every value a walk may read, every guess about TLBI completion. States
//! are remembered, so each is expanded once; the final states give the set
//! of outcomes, from which the verdict is decided (not sampled).

use crate::ast;
use crate::condition::{observe, Observation, Outcome};
use crate::machine::State;
use crate::parse::{refuse, Unsupported};
use crate::program::Program;
use crate::step::successors;
use std::collections::{BTreeSet, HashSet};

/// The default bound on distinct states; a test that needs more is refused.
pub const DEFAULT_STATE_LIMIT: usize = 2_000_000;

/// What exploring a program found.
#[derive(Clone, Debug)]
pub struct Exploration {
    pub outcomes: BTreeSet<Outcome>,
    pub observation: Observation,
    pub states: usize,
}

pub fn explore(program: &Program, state_limit: usize) -> Result<Exploration, Unsupported> {
    let mut regs = BTreeSet::new();
    let mut locs = BTreeSet::new();
    program.condition.observed(&mut regs, &mut locs);
    let initial = State::initial(program);
    let mut seen: HashSet<State> = HashSet::from([initial.clone()]);
    let mut stack = vec![initial];
    let mut outcomes = BTreeSet::new();
    while let Some(state) = stack.pop() {
        if state.is_final(program) {
            outcomes.insert(outcome(program, &state, &regs, &locs)?);
            continue;
        }
        for next in successors(program, &state)? {
            if seen.len() >= state_limit {
                return refuse(format!("state space over {state_limit} states"));
            }
            if seen.insert(next.clone()) {
                stack.push(next);
            }
        }
    }
    let observation = observe(&program.condition, &outcomes);
    Ok(Exploration { outcomes, observation, states: seen.len() })
}

fn outcome(
    program: &Program,
    state: &State,
    regs: &BTreeSet<(usize, u8)>,
    locs: &BTreeSet<crate::value::Loc>,
) -> Result<Outcome, Unsupported> {
    let mut outcome = Outcome {
        regs: Default::default(),
        mem: Default::default(),
        faults: state.threads.iter().map(|t| t.fault).collect(),
    };
    for &(t, reg) in regs {
        let code = &program.threads[t];
        // A faulting instruction writes nothing; later ones never ran.
        let end = state.threads[t].cancelled_from.map_or(code.flow.len(), |c| c - 1);
        let value = code.flow.read(end, ast::Reg { index: reg, wide: true }, &state.loaded(t))?;
        let value = value.map_or_else(|| refuse("internal: final register not computed"), Ok)?;
        outcome.regs.insert((t, reg), value);
    }
    for &loc in locs {
        outcome.mem.insert(loc, state.mem[loc.index()]);
    }
    Ok(outcome)
}
