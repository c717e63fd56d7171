//! Register data flow inside one thread: which definition each register
//! read sees, its value once the loads it needs have been performed, and
//! the loads it depends on (herd's `addr`/`data` dependencies through
//! registers, `aarch64deps.cat`).

use crate::ast::{Instr, Operand, Reg, ZERO_REG};
use crate::parse::Unsupported;
use crate::value::Val;
use std::collections::BTreeSet;

/// Where a register's value comes from at some point of the thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Def {
    Init,
    Instr(usize),
}

/// The data flow of one thread's straight-line code.
#[derive(Clone, Debug)]
pub struct RegFlow {
    code: Vec<Instr>,
    init: Vec<Val>,
    /// `reaching[i][r]`: the definition of register `r` just before instruction `i`.
    reaching: Vec<[Def; 32]>,
}

/// The register an instruction writes, if any.
pub fn destination(instr: &Instr) -> Option<Reg> {
    let dst = match *instr {
        Instr::Mov { dst, .. } | Instr::Lsr { dst, .. } | Instr::Eor { dst, .. } | Instr::Add { dst, .. } => dst,
        Instr::Load { dst, .. } => dst,
        _ => return None,
    };
    (dst.index != ZERO_REG).then_some(dst)
}

/// The registers an instruction reads.
pub fn sources(instr: &Instr) -> Vec<Reg> {
    let mut regs = match *instr {
        Instr::Mov { src: Operand::Reg(r), .. } | Instr::Lsr { src: r, .. } => vec![r],
        Instr::Eor { a, b, .. } | Instr::Add { a, b: Operand::Reg(b), .. } => vec![a, b],
        Instr::Add { a, .. } => vec![a],
        Instr::Load { addr, .. } => vec![addr.base],
        Instr::Store { src, addr, .. } => vec![src, addr.base],
        Instr::Tlbi(t) => t.reg.into_iter().collect(),
        _ => vec![],
    };
    if let Instr::Load { addr, .. } | Instr::Store { addr, .. } = instr {
        regs.extend(addr.index);
    }
    regs
}

impl RegFlow {
    pub fn new(code: Vec<Instr>, init: Vec<Val>) -> RegFlow {
        let mut reaching = Vec::with_capacity(code.len() + 1);
        let mut current = [Def::Init; 32];
        for (i, instr) in code.iter().enumerate() {
            reaching.push(current);
            if let Some(dst) = destination(instr) {
                current[dst.index as usize] = Def::Instr(i);
            }
        }
        reaching.push(current);
        RegFlow { code, init, reaching }
    }

    pub fn len(&self) -> usize {
        self.code.len()
    }

    pub fn is_empty(&self) -> bool {
        self.code.is_empty()
    }

    pub fn instr(&self, i: usize) -> &Instr {
        &self.code[i]
    }

    /// The value of `reg` just before instruction `at` (`at == len()` for
    /// the end of the thread); `Ok(None)` while a load it needs has not been
    /// performed. `loaded(j)` gives the value load `j` read.
    pub fn read(&self, at: usize, reg: Reg, loaded: &dyn Fn(usize) -> Option<Val>) -> Result<Option<Val>, Unsupported> {
        if reg.index == ZERO_REG {
            return Ok(Some(Val::Int(0)));
        }
        let value = match self.reaching[at][reg.index as usize] {
            Def::Init => Some(self.init[reg.index as usize]),
            Def::Instr(j) => self.evaluate(j, loaded)?,
        };
        match value {
            Some(v) if !reg.wide => narrow(v).map(Some),
            v => Ok(v),
        }
    }

    /// The value instruction `j` writes to its destination.
    fn evaluate(&self, j: usize, loaded: &dyn Fn(usize) -> Option<Val>) -> Result<Option<Val>, Unsupported> {
        let value = match self.code[j] {
            Instr::Mov { src: Operand::Imm(n), .. } => Some(Val::Int(n)),
            Instr::Mov { src: Operand::Reg(r), .. } => self.read(j, r, loaded)?,
            Instr::Lsr { src, shift, .. } => match self.read(j, src, loaded)? {
                Some(Val::Va(s)) if shift == 12 => Some(Val::Page(s)),
                Some(Val::Int(n)) => Some(Val::Int(((n as u64) >> shift) as i64)),
                Some(v) => return refusal("LSR", v),
                None => None,
            },
            // herd keeps the dependency of `EOR Wd,Wn,Wn` but its value is 0.
            Instr::Eor { a, b, .. } if a.index == b.index => Some(Val::Int(0)),
            Instr::Eor { a, b, .. } => {
                let (x, y) = (self.read(j, a, loaded)?, self.read(j, b, loaded)?);
                if let Some(v) = [x, y].into_iter().flatten().find(|v| !matches!(v, Val::Int(_))) {
                    return refusal("EOR", v);
                }
                match (x, y) {
                    (Some(Val::Int(x)), Some(Val::Int(y))) => Some(Val::Int(x ^ y)),
                    _ => None,
                }
            }
            Instr::Add { a, b, .. } => {
                let b = match b {
                    Operand::Imm(n) => Some(Val::Int(n)),
                    Operand::Reg(r) => self.read(j, r, loaded)?,
                };
                match (self.read(j, a, loaded)?, b) {
                    (Some(Val::Int(x)), Some(Val::Int(y))) => Some(Val::Int(x.wrapping_add(y))),
                    (Some(v @ (Val::Va(_) | Val::PteAddr(_))), Some(Val::Int(0))) => Some(v),
                    (Some(v), Some(_)) => return refusal("ADD", v),
                    _ => None,
                }
            }
            Instr::Load { .. } => loaded(j),
            _ => None,
        };
        Ok(value)
    }

    /// The loads whose values flow into `reg` just before instruction `at`.
    pub fn load_sources(&self, at: usize, reg: Reg) -> BTreeSet<usize> {
        let mut found = BTreeSet::new();
        self.collect_sources(at, reg, &mut found);
        found
    }

    fn collect_sources(&self, at: usize, reg: Reg, found: &mut BTreeSet<usize>) {
        if reg.index == ZERO_REG {
            return;
        }
        if let Def::Instr(j) = self.reaching[at][reg.index as usize] {
            if matches!(self.code[j], Instr::Load { .. }) {
                found.insert(j);
            } else {
                for src in sources(&self.code[j]) {
                    self.collect_sources(j, src, found);
                }
            }
        }
    }
}

/// The 32-bit view of a value (a `W` register).
fn narrow(value: Val) -> Result<Val, Unsupported> {
    match value {
        Val::Int(n) => Ok(Val::Int(n & 0xffff_ffff)),
        other => Err(Unsupported(format!("32-bit register holding {other:?} (only integers fit a W register)"))),
    }
}

fn refusal<T>(op: &str, value: Val) -> Result<T, Unsupported> {
    Err(Unsupported(format!("{op} on {value:?} (only integer arithmetic, VA>>12 and VA+0)")))
}
