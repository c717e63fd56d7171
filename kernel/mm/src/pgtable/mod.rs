//! Page tables over one or two roots: building the kernel's own tables
//! (`map_page`, `map_range`, `unmap_page`), finding and allocating leaf
//! tables for the Linux-shaped operations (`pte_offset`, `pte_alloc`), and
//! reading them as the hardware walker would (`walk`, `translate`).
//!
//! Entries are read through [`Mmu`] and written only through
//! `DirectWrites`, the checked set-up path; table pages come from a
//! [`FrameSource`] and are zeroed before they are linked in. Everything here
//! writes at once: the lazy layer sits above.

mod direct;
#[cfg(test)]
mod tests;
mod walk;

pub(crate) use direct::{DirectWriteWatch, DirectWrites};
pub use walk::{Walk, WalkStep};

use core::panic::Location;

use crate::addr::{PhysAddr, VirtAddr, PAGE_SIZE};
use crate::frame::{AllocError, FrameSource};
use crate::mmu::{zero_table_page, Mmu, PteFormat, RootHalf};
use crate::pte::{Entry, Level, Prot, PteValue};
use crate::tlb::TlbFlush;

/// Bytes of one PTE in a table page.
pub(crate) const PTE_BYTES: u64 = 8;

/// Why a page-table operation failed. Nothing is half-done on error except
/// where the operation says so (`map_range` keeps the pages before `at`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapError {
    /// A table page was needed for `at` and none could be allocated.
    OutOfFrames { at: VirtAddr, cause: AllocError },
    /// `map_page` over a present entry (changing it needs an unmap first).
    AlreadyMapped { va: VirtAddr, existing: PteValue },
    /// `unmap_page` of an address with no present 4 KiB page.
    NotMapped { va: VirtAddr },
    /// A large (block) mapping sits where a table is needed.
    BlockInTheWay { va: VirtAddr, level: Level },
    /// A non-zero, non-present entry where a table is needed (Linux's
    /// `pmd_bad`).
    BadEntry { va: VirtAddr, level: Level, value: PteValue },
    /// Outside both halves of the 48-bit address space.
    NonCanonical { va: VirtAddr },
    /// An address or length that is not a multiple of the page size.
    Misaligned { value: u64 },
}

/// The table roots of an address space. On x86_64 `low == high` (one CR3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Roots {
    pub format: PteFormat,
    pub low: PhysAddr,
    pub high: PhysAddr,
}

impl Roots {
    /// Which half `va` belongs to, or `None` if the walker would fault on it
    /// before any lookup (non-canonical on x86_64; neither TTBR range on
    /// arm64 with T0SZ = T1SZ = 16).
    pub const fn half_of(format: PteFormat, va: VirtAddr) -> Option<RootHalf> {
        let top_bits = match format {
            PteFormat::X86_64 => va.as_u64() >> 47,
            PteFormat::Arm64 => va.as_u64() >> 48,
        };
        let all_ones = match format {
            PteFormat::X86_64 => (1 << 17) - 1,
            PteFormat::Arm64 => (1 << 16) - 1,
        };
        if top_bits == 0 {
            Some(RootHalf::Low)
        } else if top_bits == all_ones {
            Some(RootHalf::High)
        } else {
            None
        }
    }

    pub const fn root(&self, half: RootHalf) -> PhysAddr {
        match half {
            RootHalf::Low => self.low,
            RootHalf::High => self.high,
        }
    }
}

/// Whether a lookup may allocate missing tables, and the stores it links
/// them in with.
enum Populate<'w, 'a, M: Mmu + ?Sized> {
    Yes(&'w DirectWrites<'a, M>),
    No,
}

// Not derived: a derive would ask for `M: Copy`.
impl<M: Mmu + ?Sized> Clone for Populate<'_, '_, M> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<M: Mmu + ?Sized> Copy for Populate<'_, '_, M> {}

/// A handle on one address space's tables. Those of an `Mm` carry it as
/// their watch (`DirectWriteWatch`); those built before one exists
/// (`new`, `from_hardware`) have none.
pub struct PageTables<'a, M: Mmu + ?Sized, F: FrameSource + ?Sized> {
    mmu: &'a M,
    frames: &'a F,
    roots: Roots,
    watch: Option<&'a dyn DirectWriteWatch>,
}

impl<'a, M: Mmu + ?Sized, F: FrameSource + ?Sized> PageTables<'a, M, F> {
    /// Fresh, empty tables: one zeroed root on x86_64, two on arm64.
    pub fn new(mmu: &'a M, frames: &'a F) -> Result<Self, MapError> {
        let format = mmu.format();
        let low = alloc_table(mmu, frames, VirtAddr::new(0))?;
        let high = match format {
            PteFormat::X86_64 => low,
            PteFormat::Arm64 => alloc_table(mmu, frames, VirtAddr::new(u64::MAX)).inspect_err(|_| {
                // The only frame taken so far goes back: new() leaks nothing.
                let _ = frames.free_frame(low);
            })?,
        };
        Ok(PageTables { mmu, frames, roots: Roots { format, low, high }, watch: None })
    }

    /// A handle on existing tables whose direct writes `watch` hears of.
    pub(crate) const fn watched(mmu: &'a M, frames: &'a F, roots: Roots, watch: &'a dyn DirectWriteWatch) -> Self {
        PageTables { mmu, frames, roots, watch: Some(watch) }
    }

    /// A handle on the tables the hardware walks now.
    pub fn from_hardware(mmu: &'a M, frames: &'a F) -> Self {
        let roots = Roots { format: mmu.format(), low: mmu.root(RootHalf::Low), high: mmu.root(RootHalf::High) };
        PageTables { mmu, frames, roots, watch: None }
    }

    pub const fn roots(&self) -> Roots {
        self.roots
    }

    /// The direct stores of one operation on behalf of the call at `at`.
    pub(crate) fn direct_writes(&self, at: &'static Location<'static>) -> DirectWrites<'a, M> {
        DirectWrites::new(self.mmu, self.watch, at)
    }

    /// The address of `va`'s leaf entry, or `None` if a table on the way is
    /// missing (a hole). Allocates nothing (Linux's `pte_offset_kernel`
    /// after the `*_none` checks of `apply_to_existing_page_range`).
    pub fn pte_offset(&self, va: VirtAddr) -> Result<Option<PhysAddr>, MapError> {
        self.leaf_ptep(va, Populate::No)
    }

    /// The address of `va`'s leaf entry, allocating and linking the missing
    /// tables on the way (Linux's `pte_alloc_kernel`). Table entries are
    /// written at once with a full barrier: they are never deferred, and a
    /// table linked in inside a lazy section is reported.
    #[track_caller]
    pub fn pte_alloc(&self, va: VirtAddr) -> Result<PhysAddr, MapError> {
        let writes = self.direct_writes(Location::caller());
        self.pte_alloc_with(va, &writes)
    }

    /// Maps one 4 KiB page. Refuses to overwrite a present entry: changing
    /// a live translation is `unmap_page` + flush + `map_page`. Set-up
    /// only: the entry is written directly, not through the lazy layer.
    #[track_caller]
    pub fn map_page(&self, va: VirtAddr, pa: PhysAddr, prot: Prot) -> Result<(), MapError> {
        check_aligned(va.as_u64())?;
        check_aligned(pa.as_u64())?;
        let writes = self.direct_writes(Location::caller());
        let ptep = self.pte_alloc_with(va, &writes)?;
        self.set_new_leaf(&writes, va, ptep, pa, prot)?;
        self.mmu.full_barrier();
        Ok(())
    }

    /// Maps `len` bytes from `va` to `pa` with 4 KiB pages only (TCG
    /// flushes the whole TLB for any flush inside a large page, which would
    /// hide staleness). On error the pages before the failing one stay
    /// mapped. One barrier at the end publishes the whole range. Set-up
    /// only, as `map_page`.
    #[track_caller]
    pub fn map_range(&self, va: VirtAddr, pa: PhysAddr, len: u64, prot: Prot) -> Result<(), MapError> {
        check_aligned(va.as_u64())?;
        check_aligned(pa.as_u64())?;
        check_aligned(len)?;
        let writes = self.direct_writes(Location::caller());
        let mut ptep: Option<PhysAddr> = None;
        let mut result = Ok(());
        for offset in (0..len).step_by(PAGE_SIZE as usize) {
            let page_va = va.add(offset);
            // Consecutive pages share a leaf table until the index wraps.
            let next_ptep = match ptep {
                Some(prev) if Level::Pte.index(page_va) != 0 => Ok(prev.add(PTE_BYTES)),
                _ => self.pte_alloc_with(page_va, &writes),
            };
            result = next_ptep.and_then(|p| {
                ptep = Some(p);
                self.set_new_leaf(&writes, page_va, p, pa.add(offset), prot)
            });
            if result.is_err() {
                break;
            }
        }
        self.mmu.full_barrier();
        result
    }

    /// Clears `va`'s 4 KiB page entry; the old translation may live on in
    /// TLBs until the returned flush is applied. Set-up only, as `map_page`.
    #[track_caller]
    pub fn unmap_page(&self, va: VirtAddr) -> Result<TlbFlush, MapError> {
        check_aligned(va.as_u64())?;
        let format = self.roots.format;
        let ptep = self.pte_offset(va)?.ok_or(MapError::NotMapped { va })?;
        let value = PteValue(self.mmu.read_pte(ptep));
        if !matches!(format.decode(Level::Pte, value), Entry::Page { .. }) {
            return Err(MapError::NotMapped { va });
        }
        self.direct_writes(Location::caller()).store(va, ptep, PteValue::NONE);
        self.mmu.full_barrier();
        Ok(TlbFlush::page(va))
    }

    /// Every level's entry for `va`, as the walker reads memory now.
    pub fn walk(&self, va: VirtAddr) -> Walk {
        Walk::new(self.mmu, self.roots, va)
    }

    /// Where the walker would send an access to `va`, with the protection
    /// it would enforce (table limits included); `None` if it would fault.
    pub fn translate(&self, va: VirtAddr) -> Option<(PhysAddr, Prot)> {
        self.walk(va).translation()
    }

    /// `va`'s leaf entry, linking in missing tables with `writes`.
    fn pte_alloc_with(&self, va: VirtAddr, writes: &DirectWrites<'a, M>) -> Result<PhysAddr, MapError> {
        self.leaf_ptep(va, Populate::Yes(writes)).map(|ptep| ptep.expect("populating lookups never stop at a hole"))
    }

    fn set_new_leaf(
        &self,
        writes: &DirectWrites<'a, M>,
        va: VirtAddr,
        ptep: PhysAddr,
        pa: PhysAddr,
        prot: Prot,
    ) -> Result<(), MapError> {
        let format = self.roots.format;
        let existing = PteValue(self.mmu.read_pte(ptep));
        if format.is_present(existing) {
            return Err(MapError::AlreadyMapped { va, existing });
        }
        writes.store(va, ptep, format.page_entry(pa, prot));
        Ok(())
    }

    fn leaf_ptep(&self, va: VirtAddr, populate: Populate<'_, 'a, M>) -> Result<Option<PhysAddr>, MapError> {
        let format = self.roots.format;
        let half = Roots::half_of(format, va).ok_or(MapError::NonCanonical { va })?;
        let mut table = self.roots.root(half);
        for level in [Level::Pgd, Level::Pud, Level::Pmd] {
            let ptep = entry_addr(table, level, va);
            let value = PteValue(self.mmu.read_pte(ptep));
            table = match format.decode(level, value) {
                Entry::Table { next, .. } => next,
                Entry::None => match populate {
                    Populate::No => return Ok(None),
                    Populate::Yes(writes) => {
                        let next = alloc_table(self.mmu, self.frames, va)?;
                        writes.store(va, ptep, format.table_entry(next));
                        self.mmu.full_barrier();
                        next
                    }
                },
                Entry::Block { .. } | Entry::Page { .. } => return Err(MapError::BlockInTheWay { va, level }),
                Entry::Invalid(value) => return Err(MapError::BadEntry { va, level, value }),
            };
        }
        Ok(Some(entry_addr(table, Level::Pte, va)))
    }
}

/// The address of `va`'s entry in the `level` table at `table`.
pub const fn entry_addr(table: PhysAddr, level: Level, va: VirtAddr) -> PhysAddr {
    table.add(level.index(va) as u64 * PTE_BYTES)
}

fn alloc_table<M: Mmu + ?Sized, F: FrameSource + ?Sized>(
    mmu: &M,
    frames: &F,
    at: VirtAddr,
) -> Result<PhysAddr, MapError> {
    let table = frames.alloc_frame().map_err(|cause| MapError::OutOfFrames { at, cause })?;
    zero_table_page(mmu, table);
    Ok(table)
}

const fn check_aligned(value: u64) -> Result<(), MapError> {
    if value.is_multiple_of(PAGE_SIZE) {
        Ok(())
    } else {
        Err(MapError::Misaligned { value })
    }
}
