//! `apply_to_page_range` and friends (mm/memory.c), the walk every
//! scenario in the `apply_range` suite is about: call back once per PTE of
//! a kernel range, allocating missing tables (or, for the `existing`
//! variants, skipping holes and empty entries), with each leaf table's PTE
//! loop inside its own lazy section (or none, for the `_nolazy` variants,
//! patch 3 of the seed).
//!
//! Table pages are allocated before the leaf table's section starts, as
//! `apply_to_pmd_range` does, so the walk itself never allocates in lazy
//! mode. The callback may; that is the bug the suite catches.

#[cfg(test)]
mod tests;

use crate::addr::{PhysAddr, VirtAddr, PAGE_SIZE};
use crate::context::Mm;
use crate::mmu::Mmu;
use crate::pgtable::{MapError, PageTables};
use crate::pte::{Level, PteValue};

/// The PTE a callback is given: where it is, which VA it maps, and its
/// value when the walk read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PteRef {
    pub va: VirtAddr,
    pub ptep: PhysAddr,
    pub value: PteValue,
}

/// Why an apply stopped. Pages before `at` were visited, lazy mode was
/// left (so nothing stays queued) and nothing was undone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApplyError<E> {
    /// A table page for `at` could not be allocated.
    OutOfFrames { at: VirtAddr },
    /// The callback failed at `at`.
    Callback { at: VirtAddr, error: E },
    /// The range cannot be walked: misaligned, non-canonical, or a large
    /// mapping or bad entry on the way.
    Walk(MapError),
}

/// Whether each leaf table's PTE loop runs in a lazy section.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lazy {
    Yes,
    No,
}

/// Whether missing tables are created or holes skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Populate {
    Create,
    ExistingOnly,
}

impl<M: Mmu + ?Sized> Mm<'_, M> {
    /// Linux's `apply_to_page_range` (mm/memory.c): calls `f` on every PTE
    /// of `[va, va + size)`, allocating and linking in missing tables first.
    ///
    /// Deferred: each leaf table's loop runs in its own lazy section, so the
    /// flavour may defer what `f` writes until that table's loop ends. No
    /// TLB flush is done: the caller owes one for each entry it changed.
    ///
    /// On return, outside any section, every update `f` made is in memory
    /// and visible to the walker. On error the pages before `at` were
    /// visited, lazy mode was left, and nothing is undone.
    ///
    /// Context: task context. Missing tables are allocated before the
    /// table's section starts, but inside a caller's section that is an
    /// allocation in lazy mode (reported). `f` runs inside the section: it
    /// must not allocate (pause first: `alloc_pages_pause_lazy`) nor expect
    /// to read back what it wrote.
    ///
    /// Nesting: inside a caller's section each table's section nests per
    /// the [`NestingPolicy`](crate::NestingPolicy): counter flushes at each
    /// table's end and stays lazy, permissive-flag ends the caller's
    /// section there, strict reports a nested enter and keeps deferring.
    #[track_caller]
    pub fn apply_to_page_range<E>(
        &self,
        va: VirtAddr,
        size: u64,
        f: impl FnMut(&mut PteRef) -> Result<(), E>,
    ) -> Result<(), ApplyError<E>> {
        self.apply(va, size, Populate::Create, Lazy::Yes, f)
    }

    /// Linux's `apply_to_existing_page_range`: as
    /// [`apply_to_page_range`](Self::apply_to_page_range), but skips holes
    /// and empty PTEs and allocates nothing, so it may run inside a
    /// caller's section (nesting as above).
    #[track_caller]
    pub fn apply_to_existing_page_range<E>(
        &self,
        va: VirtAddr,
        size: u64,
        f: impl FnMut(&mut PteRef) -> Result<(), E>,
    ) -> Result<(), ApplyError<E>> {
        self.apply(va, size, Populate::ExistingOnly, Lazy::Yes, f)
    }

    /// As [`apply_to_page_range`](Self::apply_to_page_range) without lazy
    /// mode (patch 3's `_nolazy` variant): nothing is deferred, so `f` may
    /// allocate and read back at once. Context: task context, outside any
    /// section (inside one, `f`'s updates are the caller's to defer).
    #[track_caller]
    pub fn apply_to_page_range_nolazy<E>(
        &self,
        va: VirtAddr,
        size: u64,
        f: impl FnMut(&mut PteRef) -> Result<(), E>,
    ) -> Result<(), ApplyError<E>> {
        self.apply(va, size, Populate::Create, Lazy::No, f)
    }

    /// As [`apply_to_existing_page_range`](Self::apply_to_existing_page_range)
    /// without lazy mode (KASAN depopulate, bpf arena free): nothing is
    /// deferred, so `f` may free pages and read back at once.
    #[track_caller]
    pub fn apply_to_existing_page_range_nolazy<E>(
        &self,
        va: VirtAddr,
        size: u64,
        f: impl FnMut(&mut PteRef) -> Result<(), E>,
    ) -> Result<(), ApplyError<E>> {
        self.apply(va, size, Populate::ExistingOnly, Lazy::No, f)
    }

    #[track_caller]
    fn apply<E>(
        &self,
        va: VirtAddr,
        size: u64,
        populate: Populate,
        lazy: Lazy,
        mut f: impl FnMut(&mut PteRef) -> Result<(), E>,
    ) -> Result<(), ApplyError<E>> {
        if !va.is_page_aligned() || !size.is_multiple_of(PAGE_SIZE) {
            return Err(ApplyError::Walk(MapError::Misaligned { value: va.as_u64() | (size % PAGE_SIZE) }));
        }
        // Table pages come through `Mm`'s own allocator path, so the
        // sanitizer sees them and debug_pagealloc maps them.
        let tables = PageTables::watched(self.mmu, self, self.space.roots, self);
        let end = va.as_u64() + size;
        let mut table_start = va;
        while table_start.as_u64() < end {
            let table_end = ((table_start.as_u64() | (Level::Pmd.entry_span() - 1)) + 1).min(end);
            let first_ptep = match populate {
                Populate::Create => Some(tables.pte_alloc(table_start).map_err(|e| walk_error(e, table_start))?),
                Populate::ExistingOnly => tables.pte_offset(table_start).map_err(|e| walk_error(e, table_start))?,
            };
            if let Some(first_ptep) = first_ptep {
                self.apply_to_pte_range(table_start, table_end, first_ptep, populate, lazy, &mut f)?;
            }
            table_start = VirtAddr::new(table_end);
        }
        Ok(())
    }

    /// One leaf table's loop, in its own section when `lazy` says so.
    fn apply_to_pte_range<E>(
        &self,
        start: VirtAddr,
        end: u64,
        first_ptep: PhysAddr,
        populate: Populate,
        lazy: Lazy,
        f: &mut impl FnMut(&mut PteRef) -> Result<(), E>,
    ) -> Result<(), ApplyError<E>> {
        if lazy == Lazy::Yes {
            self.arch_enter_lazy_mmu_mode();
        }
        let mut result = Ok(());
        for (index, page) in (start.as_u64()..end).step_by(PAGE_SIZE as usize).enumerate() {
            let ptep = first_ptep.add(index as u64 * 8);
            let mut pte = PteRef { va: VirtAddr::new(page), ptep, value: self.ptep_get(ptep) };
            if populate == Populate::ExistingOnly && pte.value.is_none() {
                continue;
            }
            if let Err(error) = f(&mut pte) {
                result = Err(ApplyError::Callback { at: pte.va, error });
                break;
            }
        }
        if lazy == Lazy::Yes {
            self.arch_leave_lazy_mmu_mode();
        }
        result
    }
}

fn walk_error<E>(error: MapError, at: VirtAddr) -> ApplyError<E> {
    match error {
        MapError::OutOfFrames { .. } => ApplyError::OutOfFrames { at },
        other => ApplyError::Walk(other),
    }
}
