//! A thread's events and the order the architecture keeps between them
//! (herd's locally-ordered-before, `lob`, in `aarch64hwreqs.cat`, without
//! FEAT_ETS2). An access through a VA is two events: the translation walk
//! (herd's `Imp & TTD & R`) and the commit (the explicit access, or the
//! fault when the walk gave one). Barriers are events too, so that "X before
//! the DSB, the DSB before Y" encodes herd's `X; po; [DSB]; po; Y`.
//!
//! The rules, each with its herd clause:
//! - walk before its own commit (`tr-ib`);
//! - DSB after every earlier access and walk (full), load (LD) or store
//!   (ST), and TLBI (full); every later event but a walk after the DSB
//!   (`DSB-ob`: a DSB does not order later translation walks);
//! - ISB after earlier DSBs, walks and address sources; every later event,
//!   walks included, after it (`IFB-ob`);
//! - DMB full/LD/ST before later accesses and faults (`bob`); LDAR before
//!   every later access and fault; STLR after every earlier access; LDAR
//!   after an earlier STLR;
//! - address sources before the access, its walk, a TLBI; data sources
//!   before the store; every earlier walk and address source before a
//!   store (`dob`).
//!
//! Same-location order between accesses (`lmws`) and the hazard rule for
//! two loads of one location depend on translations and are checked while
//! exploring (see `machine`).

use crate::ast::{BarrierKind, Instr};
use crate::parse::{refuse, Unsupported};
use crate::program::Access;
use crate::regs::RegFlow;
use std::collections::BTreeSet;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    Walk,
    Commit,
    Tlbi,
    Dsb(BarrierKind),
    Dmb(BarrierKind),
    Isb,
}

/// One event of a thread, with the events (bit masks over the thread's
/// event indices) it must wait for.
#[derive(Clone, Copy, Debug)]
pub struct Event {
    pub instr: usize,
    pub kind: EventKind,
    /// Predecessors when the event is not a fault.
    pub preds: u64,
    /// Predecessors of a commit that turns out to be a fault.
    pub fault_preds: u64,
}

impl Event {
    pub fn is_full_dsb(&self) -> bool {
        self.kind == EventKind::Dsb(BarrierKind::Full)
    }
}

/// At most this many events per thread (a bit mask each).
pub const MAX_EVENTS: usize = 64;

/// The events of one thread, and the (event, instruction) of each TLBI.
pub type Built = (Vec<Event>, Vec<(usize, usize)>);

pub fn build_events(flow: &RegFlow, accesses: &[Option<Access>]) -> Result<Built, Unsupported> {
    let mut events = Vec::new();
    let mut commit_of = vec![None; flow.len()];
    let mut tlbis = Vec::new();
    for i in 0..flow.len() {
        let mut push = |kind| {
            events.push(Event { instr: i, kind, preds: 0, fault_preds: 0 });
            events.len() - 1
        };
        match (*flow.instr(i), accesses[i]) {
            (_, Some(access)) => {
                if matches!(access.target, crate::program::Target::Virtual(_)) {
                    push(EventKind::Walk);
                }
                commit_of[i] = Some(push(EventKind::Commit));
            }
            (Instr::Tlbi(_), _) => tlbis.push((push(EventKind::Tlbi), i)),
            (Instr::Dsb(k), _) => _ = push(EventKind::Dsb(k)),
            (Instr::Dmb(k), _) => _ = push(EventKind::Dmb(k)),
            (Instr::Isb, _) => _ = push(EventKind::Isb),
            _ => {}
        }
    }
    if events.len() > MAX_EVENTS {
        return refuse(format!("a thread with {} events (at most {MAX_EVENTS})", events.len()));
    }
    let sources =
        |loads: BTreeSet<usize>| -> u64 { loads.into_iter().filter_map(|j| commit_of[j]).fold(0, |m, e| m | 1 << e) };
    let addr_sources: Vec<u64> = (0..flow.len()).map(|i| sources(address_sources(flow, i))).collect();
    let data_sources: Vec<u64> = (0..flow.len())
        .map(|i| match *flow.instr(i) {
            Instr::Store { src, .. } => sources(flow.load_sources(i, src)),
            _ => 0,
        })
        .collect();
    let snapshot = events.clone();
    for (y, event) in events.iter_mut().enumerate() {
        let i = event.instr;
        let access = accesses[i];
        let (mut preds, mut fault_preds) = (0u64, 0u64);
        for (x, earlier) in snapshot.iter().enumerate().take(y) {
            let bit = 1u64 << x;
            if earlier.instr == i {
                // The walk of the same access (`tr-ib`).
                preds |= bit;
                fault_preds |= bit;
                continue;
            }
            let earlier_access = accesses[earlier.instr];
            let (a, f) = order(earlier.kind, earlier_access, event.kind, access);
            preds |= if a { bit } else { 0 };
            fault_preds |= if f { bit } else { 0 };
            let is_store = event.kind == EventKind::Commit && access.is_some_and(|a| a.is_write);
            if (is_store || event.kind == EventKind::Isb) && earlier.kind == EventKind::Commit {
                // `addr; [M]; po; [W]` and `addr; [M]; po; [ISB]`.
                preds |= addr_sources[earlier.instr];
            }
        }
        let own = match event.kind {
            EventKind::Walk | EventKind::Commit | EventKind::Tlbi => addr_sources[i],
            _ => 0,
        };
        event.preds = preds | own | if event.kind == EventKind::Commit { data_sources[i] } else { 0 };
        event.fault_preds = fault_preds | own;
    }
    Ok((events, tlbis))
}

/// Loads feeding the address registers of an access, or the TLBI operand.
fn address_sources(flow: &RegFlow, i: usize) -> BTreeSet<usize> {
    match *flow.instr(i) {
        Instr::Load { addr, .. } | Instr::Store { addr, .. } => {
            let mut found = flow.load_sources(i, addr.base);
            if let Some(index) = addr.index {
                found.extend(flow.load_sources(i, index));
            }
            found
        }
        Instr::Tlbi(t) => t.reg.map(|r| flow.load_sources(i, r)).unwrap_or_default(),
        _ => BTreeSet::new(),
    }
}

/// Whether an earlier event `x` must precede a later event `y` of another
/// instruction: (when `y` is not a fault, when `y` is a fault).
fn order(x: EventKind, x_access: Option<Access>, y: EventKind, y_access: Option<Access>) -> (bool, bool) {
    use EventKind::*;
    let x_read = x == Commit && x_access.is_some_and(|a| !a.is_write);
    let x_write = x == Commit && x_access.is_some_and(|a| a.is_write);
    let x_acquire = x == Commit && x_access.is_some_and(|a| a.acquire);
    let x_release = x == Commit && x_access.is_some_and(|a| a.release);
    match y {
        Walk => (x == Isb, false),
        Commit => {
            let Some(y) = y_access else {
                return (false, false);
            };
            let barrier = matches!(x, Dsb(_) | Isb | Dmb(BarrierKind::Full | BarrierKind::Load)) || x_acquire;
            let access = barrier
                || x == Dmb(BarrierKind::Store) && y.is_write
                || y.release && x == Commit
                || y.acquire && x_release
                || y.is_write && x == Walk;
            (access, barrier || x == Dmb(BarrierKind::Store))
        }
        Tlbi => (matches!(x, Dsb(_) | Isb), false),
        Dsb(kind) | Dmb(kind) => {
            let waits = match kind {
                BarrierKind::Full => x == Commit || (matches!(y, Dsb(_)) && matches!(x, Walk | Tlbi)),
                BarrierKind::Load => x_read,
                BarrierKind::Store => x_write,
            };
            (waits || matches!(x, Dsb(_) | Isb), false)
        }
        Isb => (matches!(x, Dsb(_) | Isb | Walk), false),
    }
}
