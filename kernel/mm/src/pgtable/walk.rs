//! A software page-table walk: every level's entry for one VA, decoded, for
//! tests, fault reports and the gdb helper. It reads memory as it is now,
//! which is not always what a CPU with a stale TLB entry sees.

use super::{entry_addr, Roots};
use crate::addr::{PhysAddr, VirtAddr};
use crate::mmu::{Mmu, RootHalf};
use crate::pte::{Entry, Level, Prot, PteValue, TableLimits};

/// One level of a walk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WalkStep {
    pub level: Level,
    /// Physical address of the entry.
    pub ptep: PhysAddr,
    pub value: PteValue,
    pub entry: Entry,
}

/// The entries the walker reads for `va`, from the root down, ending at the
/// first entry that is not a table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Walk {
    pub va: VirtAddr,
    /// `None` when `va` is outside both halves (no entry is read).
    pub half: Option<RootHalf>,
    steps: [Option<WalkStep>; 4],
}

impl Walk {
    pub(super) fn new<M: Mmu + ?Sized>(mmu: &M, roots: Roots, va: VirtAddr) -> Walk {
        let half = Roots::half_of(roots.format, va);
        let mut walk = Walk { va, half, steps: [None; 4] };
        let Some(half) = half else {
            return walk;
        };
        let mut table = roots.root(half);
        for (slot, level) in walk.steps.iter_mut().zip(Level::ALL) {
            let ptep = entry_addr(table, level, va);
            let value = PteValue(mmu.read_pte(ptep));
            let entry = roots.format.decode(level, value);
            *slot = Some(WalkStep { level, ptep, value, entry });
            match entry {
                Entry::Table { next, .. } => table = next,
                _ => break,
            }
        }
        walk
    }

    /// The levels read, from the root down.
    pub fn steps(&self) -> impl Iterator<Item = &WalkStep> {
        self.steps.iter().flatten()
    }

    /// The last entry read: the leaf, or the one that ended the walk.
    pub fn last(&self) -> Option<&WalkStep> {
        self.steps().last()
    }

    /// The leaf entry (page or block) if the walk reached one.
    pub fn leaf(&self) -> Option<&WalkStep> {
        self.last().filter(|step| step.entry.leaf().is_some())
    }

    /// The physical address `va` translates to and the protection the walker
    /// enforces, with the limits of every table on the way applied.
    pub fn translation(&self) -> Option<(PhysAddr, Prot)> {
        let step = self.leaf()?;
        let (frame, attrs) = step.entry.leaf()?;
        let prot = self
            .steps()
            .filter_map(|s| match s.entry {
                Entry::Table { limits, .. } => Some(limits),
                _ => None,
            })
            .fold(attrs.prot, |prot, limits: TableLimits| prot.limited_by(limits));
        let offset = self.va.as_u64() & (step.level.entry_span() - 1);
        Some((frame.add(offset), prot))
    }
}

impl core::fmt::Display for Walk {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let Some(half) = self.half else {
            return write!(f, "{}: outside both halves of the address space", self.va);
        };
        write!(f, "{} ({half:?} half)", self.va)?;
        for step in self.steps() {
            write!(
                f,
                "\n  {}[{}] @ {} = {:#018x} ",
                step.level.name(),
                step.level.index(self.va),
                step.ptep,
                step.value.0
            )?;
            match step.entry {
                Entry::None => write!(f, "none")?,
                Entry::Invalid(_) => write!(f, "invalid")?,
                Entry::Table { next, .. } => write!(f, "table -> {next}")?,
                Entry::Page { pa, attrs } | Entry::Block { pa, attrs } => write!(f, "leaf -> {pa} {}", attrs.prot)?,
            }
        }
        Ok(())
    }
}
