//! An operational model of arm64 virtual memory (herd7's VMSA model, for a
//! small subset: loads and stores through a VA or to a table entry, DMB,
//! DSB, ISB, TLBI by VA or all) with an exhaustive explorer, a front end for
//! herd7's AArch64 litmus syntax, and a conformance check against herd7's
//! published verdicts. `docs/litmus.md` lists the subset and the rules.

pub mod ast;
pub mod condition;
pub mod conform;
pub mod explore;
pub mod lob;
pub mod machine;
pub mod parse;
pub mod program;
pub mod regs;
pub mod step;
pub mod value;

pub use condition::Observation;
pub use explore::{Exploration, DEFAULT_STATE_LIMIT};
pub use parse::Unsupported;

/// A test's name and herd7-style verdict.
#[derive(Clone, Debug)]
pub struct Verdict {
    pub name: String,
    pub exploration: Exploration,
}

/// Parses, lowers and explores a litmus test.
pub fn run(text: &str, state_limit: usize) -> Result<Verdict, Unsupported> {
    let test = parse::parse(text)?;
    let program = program::lower(&test)?;
    let exploration = explore::explore(&program, state_limit)?;
    Ok(Verdict { name: test.name, exploration })
}
