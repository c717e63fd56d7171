//! A herd7 AArch64 litmus test as the parser reads it: names are still
//! strings; `program` resolves them. Only the subset the model covers has a
//! shape here; everything else is refused while parsing (see `docs/litmus.md`).

/// A whole test: name, initial state, one instruction list per thread, and
/// the final condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Test {
    pub name: String,
    pub init: Vec<InitEntry>,
    pub threads: Vec<Vec<Line>>,
    pub condition: Condition,
}

/// One program line of a thread: an optional label and an optional
/// instruction (a label may stand alone; it then names the next instruction).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub label: Option<String>,
    pub instr: Option<Instr>,
}

/// An entry of the `{ ... }` initial state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InitEntry {
    Reg { thread: usize, reg: u8, value: Value },
    Mem { loc: Location, value: Value },
}

/// A memory location as tests name it: `x` is the data of the page that
/// virtual address `x` maps to initially (herd's `phy_x`); `pte_x` (also
/// `PTE(x)`) is the last-level table entry of `x`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Location {
    Data(String),
    Pte(String),
}

/// A value written in a test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Int(i64),
    /// The virtual address `x`.
    Va(String),
    /// The address of the table entry `pte_x`.
    PteAddr(String),
    /// A descriptor `(oa:phy_y, valid:0, ...)`.
    Pte(PteLiteral),
}

/// A descriptor literal: fields left out take herd's defaults (valid, af,
/// db set; dbm clear; el0 set), and a missing `oa` means "the page `x`
/// maps to initially" when the literal initialises `pte_x`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PteLiteral {
    pub oa: Option<String>,
    pub valid: Option<bool>,
    pub af: Option<bool>,
    pub db: Option<bool>,
    pub dbm: Option<bool>,
    pub el0: Option<bool>,
}

/// A general-purpose register: `index` 0..=30, 31 for XZR/WZR; `wide` for X.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Reg {
    pub index: u8,
    pub wide: bool,
}

pub const ZERO_REG: u8 = 31;

/// A register or an immediate operand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operand {
    Reg(Reg),
    Imm(i64),
}

/// `[Xn]` or `[Xn,Xm]` / `[Xn,Wm,SXTW]`: base plus an optional index register.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Address {
    pub base: Reg,
    pub index: Option<Reg>,
}

/// What a DMB or DSB waits for (herd's dmb.full / dmb.ld / dmb.st).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BarrierKind {
    Full,
    Load,
    Store,
}

/// A TLBI operation: by VA (`VAE1`, `VALE1`, `VAAE1`, `VAALE1`, which herd
/// treats alike: no ASIDs) or all of stage 1 (`VMALLE1`); `IS` broadcasts
/// to every CPU, otherwise only the issuing CPU's TLB is affected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tlbi {
    pub by_va: bool,
    pub broadcast: bool,
    pub reg: Option<Reg>,
}

/// The instructions of the subset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Instr {
    Mov { dst: Reg, src: Operand },
    Lsr { dst: Reg, src: Reg, shift: u32 },
    Eor { dst: Reg, a: Reg, b: Reg },
    Add { dst: Reg, a: Reg, b: Operand },
    Load { dst: Reg, addr: Address, acquire: bool },
    Store { src: Reg, addr: Address, release: bool },
    Dmb(BarrierKind),
    Dsb(BarrierKind),
    Isb,
    Tlbi(Tlbi),
}

/// `exists`, `~exists` or `forall`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quantifier {
    Exists,
    NotExists,
    Forall,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Condition {
    pub quantifier: Quantifier,
    pub prop: Prop,
}

/// The proposition a condition quantifies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Prop {
    True,
    Atom(Atom),
    Not(Box<Prop>),
    And(Box<Prop>, Box<Prop>),
    Or(Box<Prop>, Box<Prop>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Atom {
    Reg { thread: usize, reg: u8, value: Value },
    Mem { loc: Location, value: Value },
    Fault(FaultAtom),
}

/// `fault(P0:L0,x,MMU:Translation)`: thread, then optionally the label,
/// the virtual address and the fault type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultAtom {
    pub thread: usize,
    pub label: Option<String>,
    pub va: Option<String>,
    pub kind: Option<FaultKind>,
}

/// The MMU faults of the subset (herd's `MMU:Translation` etc.).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FaultKind {
    Translation,
    AccessFlag,
    Permission,
}
