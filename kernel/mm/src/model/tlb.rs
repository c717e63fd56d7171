//! One CPU's TLB (it keeps a translation until it is invalidated, and the
//! leaf table each 2 MiB region was last walked through, as a walk cache
//! may) and the hardware walk that fills it.

use std::collections::HashMap;

use crate::addr::{PhysAddr, VirtAddr, PAGE_SIZE};
use crate::mmu::PteFormat;
use crate::pte::{Entry, Level, Prot};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct TlbEntry {
    /// The 4 KiB frame the page maps to.
    pub frame: PhysAddr,
    pub prot: Prot,
}

/// The VA span one leaf table maps: the walk cache's key.
const LEAF_TABLE_SPAN: u64 = 512 * PAGE_SIZE;

#[derive(Default)]
pub(super) struct Tlb {
    entries: HashMap<u64, TlbEntry>,
    /// Cached table entries: the leaf table of each 2 MiB region walked.
    /// A walk through a cached one reads the old table even after its
    /// upper entry changed, until a TLBI of the region drops it (Arm ARM
    /// D8.10, "translation table entry caching"; `tlbi vaae1` drops every
    /// level).
    leaf_tables: HashMap<u64, PhysAddr>,
}

impl Tlb {
    pub(super) fn get(&self, va: VirtAddr) -> Option<TlbEntry> {
        self.entries.get(&(va.as_u64() / PAGE_SIZE)).copied()
    }

    pub(super) fn insert(&mut self, va: VirtAddr, entry: TlbEntry) {
        self.entries.insert(va.as_u64() / PAGE_SIZE, entry);
    }

    /// Drops `va`'s translation; with `every_level`, as a TLBI does, its
    /// cached leaf table too (a faulting access keeps the latter).
    pub(super) fn remove(&mut self, va: VirtAddr, every_level: bool) {
        self.entries.remove(&(va.as_u64() / PAGE_SIZE));
        if every_level {
            self.leaf_tables.remove(&(va.as_u64() / LEAF_TABLE_SPAN));
        }
    }

    pub(super) fn clear(&mut self) {
        self.entries.clear();
        self.leaf_tables.clear();
    }

    /// Every VA with a cached translation.
    pub(super) fn pages(&self) -> Vec<VirtAddr> {
        self.entries.keys().map(|&page| VirtAddr::new(page * PAGE_SIZE)).collect()
    }

    pub(super) fn leaf_table(&self, va: VirtAddr) -> Option<PhysAddr> {
        self.leaf_tables.get(&(va.as_u64() / LEAF_TABLE_SPAN)).copied()
    }

    pub(super) fn insert_leaf_table(&mut self, va: VirtAddr, table: PhysAddr) {
        self.leaf_tables.insert(va.as_u64() / LEAF_TABLE_SPAN, table);
    }
}

/// What a walk found: the translation, if any, and the leaf table it went
/// through (cached even when the leaf entry faults: only the fault itself
/// is never cached).
pub(super) struct WalkResult {
    pub entry: Option<TlbEntry>,
    pub leaf_table: Option<PhysAddr>,
}

/// Walks the four levels from `root`, reading each entry with `read` (the
/// walker's view of memory), or only the last one when `cached_leaf` holds
/// the leaf table. Permission limits of upper levels are not cached: the
/// kernel's tables set none.
pub(super) fn walk(
    format: PteFormat,
    read: impl Fn(PhysAddr) -> u64,
    root: PhysAddr,
    va: VirtAddr,
    cached_leaf: Option<PhysAddr>,
) -> WalkResult {
    let (mut table, levels) = match cached_leaf {
        Some(leaf) => (leaf, &Level::ALL[3..]),
        None => (root, &Level::ALL[..]),
    };
    let mut prot_limit = (true, true);
    let mut leaf_table = cached_leaf;
    for &level in levels {
        if level == Level::Pte {
            leaf_table = Some(table);
        }
        let ptep = table.add(8 * level.index(va) as u64);
        let value = crate::pte::PteValue(read(ptep));
        match format.decode(level, value) {
            Entry::Table { next, limits } => {
                prot_limit = (prot_limit.0 && limits.allows_write, prot_limit.1 && limits.allows_exec);
                table = next;
            }
            Entry::Page { pa, attrs } | Entry::Block { pa, attrs } => {
                let offset_in_block = va.as_u64() & (level.entry_span() - 1) & !(PAGE_SIZE - 1);
                let prot = Prot {
                    writable: attrs.prot.writable && prot_limit.0,
                    executable: attrs.prot.executable && prot_limit.1,
                    mem: attrs.prot.mem,
                };
                let entry = TlbEntry { frame: pa.add(offset_in_block), prot };
                return WalkResult { entry: Some(entry), leaf_table };
            }
            Entry::None | Entry::Invalid(_) => break,
        }
    }
    WalkResult { entry: None, leaf_table }
}
