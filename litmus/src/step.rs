//! One step of the machine: every event that may be performed next, and
//! every way it may be performed. The VMSA rules live here:
//!
//! - A walk reads `pte_x` from memory: the current value, or (a TLB hit)
//!   any older value, except that Translation and Access-flag faults are
//!   never cached (herd's `TLBUncacheable-ca`), and a completed TLBI of the
//!   entry removes older values: a walk may use a value the TLBI removed
//!   only if it is performed before the TLBI's DSB and, on another CPU, its
//!   access too (`TLBI-ca`, `TLBI-ob`).
//! - A TLBI counts only if a DSB SY/ISH (not ISHST) follows it on its CPU
//!   (`C_TLBI`); the explorer guesses whether the thread gets there and
//!   checks the guess.
//! - A fault ends its thread: later instructions never happen.

use crate::ast::Instr;
use crate::lob::EventKind;
use crate::machine::{State, TlbiState, WalkResult};
use crate::parse::{refuse, Unsupported};
use crate::program::{Program, Target};
use crate::value::{fault_is_tlb_cacheable, Loc, Val};

/// Every state one event away from `state`.
pub fn successors(program: &Program, state: &State) -> Result<Vec<State>, Unsupported> {
    let mut next = Vec::new();
    for (t, code) in program.threads.iter().enumerate() {
        for (e, event) in code.events.iter().enumerate() {
            let ts = &state.threads[t];
            if ts.done & (1 << e) != 0 || state.is_cancelled(t, event.instr) || !is_ready(program, state, t, e) {
                continue;
            }
            match event.kind {
                EventKind::Walk => walk(program, state, t, e, &mut next)?,
                EventKind::Commit => commit(program, state, t, e, &mut next)?,
                EventKind::Tlbi => tlbi(program, state, t, e, &mut next),
                EventKind::Dsb(_) => next.extend(dsb(program, state, t, e)),
                EventKind::Dmb(_) | EventKind::Isb => next.push(mark_done(state, t, e)),
            }
        }
    }
    Ok(next)
}

fn mark_done(state: &State, thread: usize, event: usize) -> State {
    let mut s = state.clone();
    s.threads[thread].done |= 1 << event;
    s
}

/// Whether the event's predecessors have been performed.
fn is_ready(program: &Program, state: &State, t: usize, e: usize) -> bool {
    let code = &program.threads[t];
    let event = code.events[e];
    let done = state.threads[t].done;
    let preds = match (event.kind, code.accesses[event.instr].map(|a| a.target)) {
        (EventKind::Commit, Some(Target::Virtual(_))) => match state.threads[t].walks[event.instr] {
            None => return false,
            Some(w) if w.pte.check(code.accesses[event.instr].is_some_and(|a| a.is_write)).is_err() => {
                event.fault_preds
            }
            Some(_) => event.preds,
        },
        _ => event.preds,
    };
    preds & !done == 0
}

fn walk(program: &Program, state: &State, t: usize, e: usize, next: &mut Vec<State>) -> Result<(), Unsupported> {
    let code = &program.threads[t];
    let instr = code.events[e].instr;
    let Some(access) = code.accesses[instr] else { return refuse("internal: walk without an access") };
    let Target::Virtual(va) = access.target else { return refuse("internal: walk of a direct access") };
    let history = &state.history[va as usize];
    let current = history.len() - 1;
    'version: for (version, value) in history.iter().enumerate() {
        let Val::Pte(pte) = *value else {
            return refuse(format!("table entry of {} holding {value:?}", program.symbols[va as usize]));
        };
        let result = pte.check(access.is_write);
        if version < current && result.is_err_and(|k| !fault_is_tlb_cacheable(k)) {
            continue;
        }
        let mut s = mark_done(state, t, e);
        for (k, site) in program.tlbis.iter().enumerate() {
            let TlbiState::Effective { snapshot } = &state.tlbis[k] else { continue };
            if !site.covers(t, va) || version >= snapshot[va as usize] as usize {
                continue;
            }
            // The TLBI removed this value: only a walk ordered before its
            // completion may still have used it.
            let dsb = site.completing_dsb.map(|d| state.threads[site.thread].done & (1 << d) != 0);
            if dsb != Some(false) {
                continue 'version;
            }
            s.oblige(program, k, t, instr, result.is_ok());
        }
        s.threads[t].walks[instr] = Some(WalkResult { version: version as u8, pte });
        if result.is_err() {
            match s.cancel_after(program, t, instr) {
                Some(s) => next.push(s),
                None => continue,
            }
        } else {
            next.push(s);
        }
    }
    Ok(())
}

fn commit(program: &Program, state: &State, t: usize, e: usize, next: &mut Vec<State>) -> Result<(), Unsupported> {
    let code = &program.threads[t];
    let instr = code.events[e].instr;
    let Some(access) = code.accesses[instr] else { return refuse("internal: commit without an access") };
    let loc = match access.target {
        Target::Direct(loc) => loc,
        Target::Virtual(va) => {
            let Some(walk) = state.threads[t].walks[instr] else { return refuse("internal: commit before walk") };
            match walk.pte.check(access.is_write) {
                Ok(oa) => Loc::Data(oa),
                Err(kind) => {
                    let mut s = mark_done(state, t, e);
                    s.threads[t].fault = Some((instr, va, kind));
                    next.push(s);
                    return Ok(());
                }
            }
        }
    };
    if access.is_write {
        // Earlier accesses to the same location come first (`lmws`).
        for j in 0..instr {
            if state.access_loc(code, t, j) == Some(Ok(loc)) {
                let commit_done = code.events.iter().enumerate().any(|(c, ev)| {
                    ev.instr == j && ev.kind == EventKind::Commit && state.threads[t].done & (1 << c) != 0
                });
                if !commit_done {
                    return Ok(());
                }
            }
        }
        let Instr::Store { src, .. } = *code.flow.instr(instr) else { return refuse("internal: store") };
        let Some(value) = code.flow.read(instr, src, &state.loaded(t))? else {
            return refuse("internal: store data not ready");
        };
        let mut s = mark_done(state, t, e);
        s.write(loc, value)?;
        next.push(s);
        return Ok(());
    }
    let version = state.versions[loc.index()];
    // A later load of the same location already read an older write: this
    // one may not read a newer one (`Exp-haz-ob`, no CoRR).
    let later_read_older = state.threads[t]
        .loads
        .iter()
        .enumerate()
        .skip(instr + 1)
        .any(|(_, l)| l.is_some_and(|(_, later_loc, later_version)| later_loc == loc && later_version != version));
    if later_read_older {
        return Ok(());
    }
    let mut s = mark_done(state, t, e);
    s.threads[t].loads[instr] = Some((state.mem[loc.index()], loc, version));
    next.push(s);
    Ok(())
}

fn tlbi(program: &Program, state: &State, t: usize, e: usize, next: &mut Vec<State>) {
    let Some(k) = program.tlbis.iter().position(|s| s.thread == t && s.event == e) else { return };
    let site = program.tlbis[k];
    let completes = site.completing_dsb.is_some_and(|d| !state.is_cancelled(t, program.threads[t].events[d].instr));
    let mut ignored = mark_done(state, t, e);
    ignored.tlbis[k] = TlbiState::Ineffective;
    next.push(ignored);
    if !completes {
        return;
    }
    let snapshot = state.entry_versions();
    let mut s = mark_done(state, t, e);
    for (u, ts) in state.threads.iter().enumerate() {
        for (j, walk) in ts.walks.iter().enumerate() {
            let Some(walk) = walk else { continue };
            let Some(Target::Virtual(va)) = program.threads[u].accesses[j].map(|a| a.target) else { continue };
            if site.covers(u, va) && walk.version < snapshot[va as usize] {
                let is_access = program.threads[u].accesses[j].is_some_and(|a| walk.pte.check(a.is_write).is_ok());
                s.oblige(program, k, u, j, is_access);
            }
        }
    }
    s.tlbis[k] = TlbiState::Effective { snapshot };
    next.push(s);
}

/// A DSB completes the TLBIs before it only once every walk that used a
/// removed entry has finished; a TLBI guessed never completed refutes it.
fn dsb(program: &Program, state: &State, t: usize, e: usize) -> Option<State> {
    let mut s = mark_done(state, t, e);
    for (k, site) in program.tlbis.iter().enumerate() {
        if site.thread != t || site.completing_dsb != Some(e) {
            continue;
        }
        if state.tlbis[k] == TlbiState::Ineffective {
            return None;
        }
        let pending = state.obligations.iter().any(|o| {
            o.tlbi == k
                && state.threads[o.thread].done & (1 << o.event) == 0
                && !state.is_cancelled(o.thread, program.threads[o.thread].events[o.event].instr)
        });
        if pending {
            return None;
        }
        s.obligations.retain(|o| o.tlbi != k);
    }
    Some(s)
}
