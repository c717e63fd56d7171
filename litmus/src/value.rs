//! The model's values and locations, with symbols interned: a `Sym` names a
//! virtual address `x`, which owns a data page (herd's `phy_x`) and a
//! last-level table entry (`pte_x`).

use crate::ast::FaultKind;

/// An interned virtual-address name.
pub type Sym = u8;

/// A last-level descriptor: where it maps to and its flag bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pte {
    pub oa: Sym,
    pub valid: bool,
    pub af: bool,
    pub db: bool,
    pub dbm: bool,
    pub el0: bool,
}

impl Pte {
    /// herd's default descriptor for `x`: valid, accessed, writable.
    pub fn default_for(oa: Sym) -> Pte {
        Pte { oa, valid: true, af: true, db: true, dbm: false, el0: true }
    }

    /// What an access through this descriptor does without hardware
    /// access-flag or dirty-bit management (herd `AArch64Sem.check_ptw`):
    /// invalid gives a Translation fault, AF clear an Access-flag fault, a
    /// store with the dirty bit clear a Permission fault.
    pub fn check(self, is_write: bool) -> Result<Sym, FaultKind> {
        if !self.valid {
            Err(FaultKind::Translation)
        } else if !self.af {
            Err(FaultKind::AccessFlag)
        } else if is_write && !self.db {
            Err(FaultKind::Permission)
        } else {
            Ok(self.oa)
        }
    }
}

/// Translation and Access-flag faults are never cached in a TLB (herd's
/// `TLBUncacheable`): the walk that gives one reads the entry as it is now.
pub fn fault_is_tlb_cacheable(kind: FaultKind) -> bool {
    kind == FaultKind::Permission
}

/// A register or memory value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Val {
    Int(i64),
    /// The virtual address `x`.
    Va(Sym),
    /// `x >> 12`, the page number a TLBI by VA takes.
    Page(Sym),
    /// The address of `pte_x`.
    PteAddr(Sym),
    Pte(Pte),
}

/// A memory location: the data of `phy_x`, or the entry `pte_x`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Loc {
    Data(Sym),
    Pte(Sym),
}

impl Loc {
    /// Index into the memory vector: two slots per symbol.
    pub fn index(self) -> usize {
        match self {
            Loc::Data(s) => 2 * s as usize,
            Loc::Pte(s) => 2 * s as usize + 1,
        }
    }
}
