//! One CPU's TLB (it keeps a translation until it is invalidated) and the
//! hardware walk that fills it.

use std::collections::HashMap;

use super::memory::Memory;
use crate::addr::{PhysAddr, VirtAddr, PAGE_SIZE};
use crate::mmu::PteFormat;
use crate::pte::{Entry, Level, Prot};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct TlbEntry {
    /// The 4 KiB frame the page maps to.
    pub frame: PhysAddr,
    pub prot: Prot,
}

#[derive(Default)]
pub(super) struct Tlb {
    entries: HashMap<u64, TlbEntry>,
}

impl Tlb {
    pub(super) fn get(&self, va: VirtAddr) -> Option<TlbEntry> {
        self.entries.get(&(va.as_u64() / PAGE_SIZE)).copied()
    }

    pub(super) fn insert(&mut self, va: VirtAddr, entry: TlbEntry) {
        self.entries.insert(va.as_u64() / PAGE_SIZE, entry);
    }

    pub(super) fn remove(&mut self, va: VirtAddr) {
        self.entries.remove(&(va.as_u64() / PAGE_SIZE));
    }

    pub(super) fn clear(&mut self) {
        self.entries.clear();
    }
}

/// Walks the four levels from `root` over committed memory only.
pub(super) fn walk(format: PteFormat, memory: &Memory, root: PhysAddr, va: VirtAddr) -> Option<TlbEntry> {
    let mut table = root;
    let mut prot_limit = (true, true);
    for level in Level::ALL {
        let ptep = table.add(8 * level.index(va) as u64);
        let value = crate::pte::PteValue(memory.read(ptep));
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
                return Some(TlbEntry { frame: pa.add(offset_in_block), prot });
            }
            Entry::None | Entry::Invalid(_) => return None,
        }
    }
    None
}
