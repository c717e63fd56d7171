//! Lowers a parsed test to what the explorer runs: symbols interned, the
//! initial memory, each thread's register flow, accesses and ordering
//! events (`lob`), the TLBI sites and the resolved condition. Tests the
//! model cannot decide are refused here, with the reason.

use crate::ast::{self, InitEntry, Instr, Location, PteLiteral, Test, Value};
use crate::condition::{resolve_condition, Formula};
use crate::lob::{build_events, Event};
use crate::parse::{refuse, Unsupported};
use crate::regs::RegFlow;
use crate::value::{Loc, Pte, Sym, Val};
use std::collections::{BTreeSet, HashMap};

/// What a load or store accesses: a virtual address (translated through
/// `pte_x`) or a table entry itself (herd's page-table accesses are not
/// translated).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Virtual(Sym),
    Direct(Loc),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Access {
    pub target: Target,
    pub is_write: bool,
    pub acquire: bool,
    pub release: bool,
}

/// One thread, ready to run.
#[derive(Clone, Debug)]
pub struct ThreadProgram {
    pub flow: RegFlow,
    pub labels: HashMap<String, Option<usize>>,
    pub accesses: Vec<Option<Access>>,
    pub events: Vec<Event>,
}

/// A TLBI instruction: its scope and the DSB (full) that completes it.
#[derive(Clone, Copy, Debug)]
pub struct TlbiSite {
    pub thread: usize,
    pub event: usize,
    pub instr: usize,
    /// `None` for VMALLE1: every entry.
    pub page: Option<Sym>,
    pub broadcast: bool,
    /// The first DSB SY/ISH/... after it: herd counts a TLBI only when one
    /// follows (`C_TLBI` in `enumerations.cat`).
    pub completing_dsb: Option<usize>,
}

impl TlbiSite {
    /// Whether the TLBI removes entries for `va` that CPU `thread` holds.
    pub fn covers(&self, thread: usize, va: Sym) -> bool {
        (self.broadcast || self.thread == thread) && self.page.is_none_or(|p| p == va)
    }
}

#[derive(Clone, Debug)]
pub struct Program {
    pub name: String,
    pub symbols: Vec<String>,
    pub init_mem: Vec<Val>,
    pub threads: Vec<ThreadProgram>,
    pub tlbis: Vec<TlbiSite>,
    pub condition: Formula,
}

/// Symbol interning while lowering.
#[derive(Default)]
pub struct Symbols {
    names: Vec<String>,
}

impl Symbols {
    pub fn intern(&mut self, name: &str) -> Result<Sym, Unsupported> {
        if let Some(i) = self.names.iter().position(|n| n == name) {
            return Ok(i as Sym);
        }
        if self.names.len() >= Sym::MAX as usize {
            return refuse("too many locations");
        }
        self.names.push(name.to_string());
        Ok((self.names.len() - 1) as Sym)
    }

    pub fn value(&mut self, value: &Value) -> Result<Val, Unsupported> {
        Ok(match value {
            Value::Int(n) => Val::Int(*n),
            Value::Va(v) => Val::Va(self.intern(v)?),
            Value::PteAddr(v) => Val::PteAddr(self.intern(v)?),
            Value::Pte(p) => match &p.oa {
                Some(oa) => {
                    let oa = self.intern(oa)?;
                    Val::Pte(self.pte(p, oa))
                }
                None => return refuse("descriptor without `oa` outside the initialisation of a table entry"),
            },
        })
    }

    pub fn pte(&self, p: &PteLiteral, oa: Sym) -> Pte {
        let d = Pte::default_for(oa);
        Pte {
            oa,
            valid: p.valid.unwrap_or(d.valid),
            af: p.af.unwrap_or(d.af),
            db: p.db.unwrap_or(d.db),
            dbm: p.dbm.unwrap_or(d.dbm),
            el0: p.el0.unwrap_or(d.el0),
        }
    }

    pub fn location(&mut self, loc: &Location) -> Result<Loc, Unsupported> {
        Ok(match loc {
            Location::Data(v) => Loc::Data(self.intern(v)?),
            Location::Pte(v) => Loc::Pte(self.intern(v)?),
        })
    }
}

/// Lowers `test`, or says why the model cannot decide it.
pub fn lower(test: &Test) -> Result<Program, Unsupported> {
    let mut symbols = Symbols::default();
    let nthreads = test.threads.len();
    let mut init_regs = vec![vec![Val::Int(0); 32]; nthreads];
    let mut mem_inits = Vec::new();
    for entry in &test.init {
        match entry {
            InitEntry::Reg { thread, reg, value } => {
                let slot = init_regs.get_mut(*thread).map_or_else(|| refuse(format!("init of thread {thread}")), Ok)?;
                slot[*reg as usize] = symbols.value(value)?;
            }
            InitEntry::Mem { loc, value } => {
                let loc = symbols.location(loc)?;
                let value = match (loc, value) {
                    (Loc::Pte(va), Value::Pte(p)) if p.oa.is_none() => Val::Pte(symbols.pte(p, va)),
                    _ => symbols.value(value)?,
                };
                mem_inits.push((loc, value));
            }
        }
    }
    let condition = resolve_condition(&test.condition, &test.threads, &mut symbols)?;
    let mut threads = Vec::with_capacity(nthreads);
    let mut tlbis = Vec::new();
    for (t, lines) in test.threads.iter().enumerate() {
        let code: Vec<Instr> = lines.iter().filter_map(|l| l.instr).collect();
        let flow = RegFlow::new(code, init_regs[t].clone());
        let mut labels = HashMap::new();
        let mut index = 0;
        for line in lines {
            if let Some(label) = &line.label {
                labels.insert(label.clone(), line.instr.map(|_| index));
            }
            index += usize::from(line.instr.is_some());
        }
        let accesses = resolve_accesses(&flow)?;
        let (events, sites) = build_events(&flow, &accesses)?;
        for (event, instr) in sites {
            tlbis.push(tlbi_site(&flow, &events, t, event, instr)?);
        }
        threads.push(ThreadProgram { flow, labels, accesses, events });
    }
    let mut init_mem = Vec::new();
    for s in 0..symbols.names.len() {
        init_mem.push(Val::Int(0));
        init_mem.push(Val::Pte(Pte::default_for(s as Sym)));
    }
    for (loc, value) in mem_inits {
        init_mem[loc.index()] = value;
    }
    let program = Program { name: test.name.clone(), symbols: symbols.names, init_mem, threads, tlbis, condition };
    refuse_forwarding(&program)?;
    Ok(program)
}

/// The static address of every load and store (through `EOR Wd,Wn,Wn`
/// dependencies, whose value is known to be 0).
fn resolve_accesses(flow: &RegFlow) -> Result<Vec<Option<Access>>, Unsupported> {
    let unknown = |_: usize| None;
    let mut accesses = Vec::with_capacity(flow.len());
    for i in 0..flow.len() {
        let (addr, is_write, acquire, release) = match *flow.instr(i) {
            Instr::Load { addr, acquire, .. } => (addr, false, acquire, false),
            Instr::Store { addr, release, .. } => (addr, true, false, release),
            _ => {
                accesses.push(None);
                continue;
            }
        };
        let mut base = flow.read(i, addr.base, &unknown)?;
        if let Some(index) = addr.index {
            base = match (base, flow.read(i, index, &unknown)?) {
                (Some(b), Some(Val::Int(0))) => Some(b),
                _ => return refuse(format!("address `{:?}` with a non-zero index", flow.instr(i))),
            };
        }
        let target = match base {
            Some(Val::Va(s)) => Target::Virtual(s),
            Some(Val::PteAddr(s)) => Target::Direct(Loc::Pte(s)),
            _ => return refuse("address that is neither a VA nor a table-entry address"),
        };
        accesses.push(Some(Access { target, is_write, acquire, release }));
    }
    Ok(accesses)
}

fn tlbi_site(
    flow: &RegFlow,
    events: &[Event],
    thread: usize,
    event: usize,
    instr: usize,
) -> Result<TlbiSite, Unsupported> {
    let Instr::Tlbi(ast::Tlbi { by_va, broadcast, reg }) = *flow.instr(instr) else {
        return refuse("internal: TLBI site is not a TLBI");
    };
    let page = match (by_va, reg) {
        (true, Some(reg)) => match flow.read(instr, reg, &|_| None)? {
            Some(Val::Page(s)) => Some(s),
            _ => return refuse("TLBI operand that is not a page number (VA>>12)"),
        },
        _ => None,
    };
    let completing_dsb = events.iter().enumerate().skip(event + 1).find_map(|(e, ev)| ev.is_full_dsb().then_some(e));
    Ok(TlbiSite { thread, event, instr, page, broadcast, completing_dsb })
}

/// The model has no store-to-load forwarding: refuse a thread that loads
/// from a location it may have stored to before (herd lets such a load read
/// the store early, `rfi` is not in `ob`).
fn refuse_forwarding(program: &Program) -> Result<(), Unsupported> {
    let mut all_oas = BTreeSet::new();
    let mut note_oa = |v: &Val| {
        if let Val::Pte(p) = v {
            all_oas.insert(p.oa);
        }
    };
    // Descriptors a store may put in a table entry: from registers, or loaded
    // from a table entry or from data memory.
    for (index, value) in program.init_mem.iter().enumerate() {
        let is_loaded_entry = program
            .threads
            .iter()
            .flat_map(|t| t.accesses.iter().flatten())
            .any(|a| !a.is_write && matches!(a.target, Target::Direct(loc) if loc.index() == index));
        if index % 2 == 0 || is_loaded_entry {
            note_oa(value);
        }
    }
    for t in &program.threads {
        for reg in 0..31 {
            if let Ok(Some(v)) = t.flow.read(0, ast::Reg { index: reg, wide: true }, &|_| None) {
                note_oa(&v);
            }
        }
    }
    let may_reach = |target: Target| -> BTreeSet<Loc> {
        match target {
            Target::Direct(loc) => BTreeSet::from([loc]),
            Target::Virtual(va) => {
                let mut locs: BTreeSet<Loc> = all_oas.iter().map(|&s| Loc::Data(s)).collect();
                if let Val::Pte(p) = program.init_mem[Loc::Pte(va).index()] {
                    locs.insert(Loc::Data(p.oa));
                }
                locs
            }
        }
    };
    for (t, thread) in program.threads.iter().enumerate() {
        let mut stored = BTreeSet::new();
        for access in thread.accesses.iter().flatten() {
            let locs = may_reach(access.target);
            if access.is_write {
                stored.extend(locs);
            } else if let Some(loc) = locs.intersection(&stored).next() {
                let name = match *loc {
                    Loc::Data(s) => program.symbols[s as usize].clone(),
                    Loc::Pte(s) => format!("pte_{}", program.symbols[s as usize]),
                };
                return refuse(format!("P{t} loads from {name} after storing to it (store forwarding)"));
            }
        }
    }
    Ok(())
}
