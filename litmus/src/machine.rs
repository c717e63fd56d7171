//! The operational machine: flat memory (Arm is other-multi-copy-atomic),
//! events performed one at a time in any order `lob` allows, and the
//! translation rules of herd's VMSA model (`vmsa`). Each step returns every
//! successor state, so the explorer can decide allowed vs forbidden.

use crate::condition::Fault;
use crate::lob::EventKind;
use crate::parse::{refuse, Unsupported};
use crate::program::{Program, Target, ThreadProgram};
use crate::value::{Loc, Pte, Sym, Val};

/// What a performed walk read: which write of `pte_x` (its index in the
/// entry's history) and the descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct WalkResult {
    pub version: u8,
    pub pte: Pte,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ThreadState {
    /// Performed events (bit per event index).
    pub done: u64,
    /// The first instruction that no longer exists because an earlier one
    /// faulted (herd's fatal faults end the thread).
    pub cancelled_from: Option<usize>,
    pub fault: Option<Fault>,
    /// Per instruction: what a performed load read (value, location, version).
    pub loads: Vec<Option<(Val, Loc, u8)>>,
    pub walks: Vec<Option<WalkResult>>,
}

/// A TLBI's state: not performed yet; performed but never completed (its
/// thread faults before the DSB, so herd ignores it); or performed and
/// completed later, with the version of every entry when it was performed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TlbiState {
    Pending,
    Ineffective,
    Effective { snapshot: Vec<u8> },
}

/// Event `event` of `thread` must be performed (or cancelled) before the
/// DSB completing TLBI `tlbi`: a walk that used an entry the TLBI removes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Obligation {
    pub tlbi: usize,
    pub thread: usize,
    pub event: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct State {
    pub threads: Vec<ThreadState>,
    pub mem: Vec<Val>,
    /// Writes performed so far, per location.
    pub versions: Vec<u8>,
    /// Every value each table entry has held, in coherence order.
    pub history: Vec<Vec<Val>>,
    pub tlbis: Vec<TlbiState>,
    /// Kept sorted, so equal states hash equal.
    pub obligations: Vec<Obligation>,
}

impl State {
    pub fn initial(program: &Program) -> State {
        let threads = program
            .threads
            .iter()
            .map(|t| ThreadState {
                done: 0,
                cancelled_from: None,
                fault: None,
                loads: vec![None; t.flow.len()],
                walks: vec![None; t.flow.len()],
            })
            .collect();
        let history = (0..program.symbols.len()).map(|s| vec![program.init_mem[Loc::Pte(s as Sym).index()]]).collect();
        State {
            threads,
            mem: program.init_mem.clone(),
            versions: vec![0; program.init_mem.len()],
            history,
            tlbis: vec![TlbiState::Pending; program.tlbis.len()],
            obligations: Vec::new(),
        }
    }

    pub fn is_cancelled(&self, thread: usize, instr: usize) -> bool {
        self.threads[thread].cancelled_from.is_some_and(|c| instr >= c)
    }

    /// Whether every event has been performed or cancelled.
    pub fn is_final(&self, program: &Program) -> bool {
        program.threads.iter().zip(&self.threads).enumerate().all(|(t, (code, state))| {
            code.events.iter().enumerate().all(|(e, ev)| state.done & (1 << e) != 0 || self.is_cancelled(t, ev.instr))
        })
    }

    /// The location a performed access touches, once its walk is known.
    pub fn access_loc(&self, code: &ThreadProgram, thread: usize, instr: usize) -> Option<Result<Loc, ()>> {
        match code.accesses[instr]?.target {
            Target::Direct(loc) => Some(Ok(loc)),
            Target::Virtual(_) => {
                let walk = self.threads[thread].walks[instr]?;
                let is_write = code.accesses[instr]?.is_write;
                Some(walk.pte.check(is_write).map(Loc::Data).map_err(|_| ()))
            }
        }
    }

    pub fn loaded(&self, thread: usize) -> impl Fn(usize) -> Option<Val> + '_ {
        move |j| self.threads[thread].loads[j].map(|(v, _, _)| v)
    }

    fn add_obligation(&mut self, obligation: Obligation) {
        if let Err(at) = self.obligations.binary_search(&obligation) {
            self.obligations.insert(at, obligation);
        }
    }

    /// A walk on `thread` for instruction `instr` used an entry that TLBI
    /// `tlbi` removes: unless it is the TLBI's own thread, its commit must be
    /// performed before the completing DSB, and when the commit is an access
    /// (not a fault) so must the thread's earlier walks (`TLBI-ob` in
    /// `aarch64.cat`; its `same-low-order-bits` holds between accesses only).
    pub fn oblige(&mut self, program: &Program, tlbi: usize, thread: usize, instr: usize, is_access: bool) {
        if program.tlbis[tlbi].thread == thread {
            return;
        }
        let code = &program.threads[thread];
        for (e, ev) in code.events.iter().enumerate() {
            let pending = self.threads[thread].done & (1 << e) == 0;
            let is_due = (ev.instr == instr && ev.kind == EventKind::Commit)
                || (is_access && ev.instr < instr && ev.kind == EventKind::Walk);
            if pending && is_due {
                self.add_obligation(Obligation { tlbi, thread, event: e });
            }
        }
    }

    /// Instruction `instr` of `thread` faults: every later instruction of
    /// the thread disappears. `None` when that contradicts a choice made
    /// earlier (a TLBI taken as completed whose DSB now never runs).
    pub fn cancel_after(mut self, program: &Program, thread: usize, instr: usize) -> Option<State> {
        let code = &program.threads[thread];
        let ts = &mut self.threads[thread];
        ts.cancelled_from = Some(instr + 1);
        for (e, ev) in code.events.iter().enumerate() {
            if ev.instr > instr {
                ts.done &= !(1 << e);
            }
        }
        for j in instr + 1..code.flow.len() {
            ts.loads[j] = None;
            ts.walks[j] = None;
        }
        for (k, site) in program.tlbis.iter().enumerate().filter(|(_, site)| site.thread == thread) {
            let dsb_cancelled = site.completing_dsb.is_some_and(|d| code.events[d].instr > instr);
            if dsb_cancelled && matches!(self.tlbis[k], TlbiState::Effective { .. }) {
                return None;
            }
        }
        self.obligations.retain(|o| o.thread != thread || code.events[o.event].instr <= instr);
        Some(self)
    }

    /// Performs a store of `value` to `loc`.
    pub fn write(&mut self, loc: Loc, value: Val) -> Result<(), Unsupported> {
        let index = loc.index();
        self.mem[index] = value;
        self.versions[index] = match self.versions[index].checked_add(1) {
            Some(v) => v,
            None => return refuse("more than 255 stores to one location"),
        };
        if let Loc::Pte(s) = loc {
            self.history[s as usize].push(value);
        }
        Ok(())
    }

    /// The current version of every table entry (for a TLBI's snapshot).
    pub fn entry_versions(&self) -> Vec<u8> {
        self.history.iter().map(|h| (h.len() - 1) as u8).collect()
    }
}
