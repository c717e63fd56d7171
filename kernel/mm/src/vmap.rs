//! `vmap` / `vunmap` and `change_protection`: the kernel-range operations
//! of the `lazy_batch` suite, built on `apply_to_page_range` so their PTE
//! loops run in lazy sections. A flush the caller owes comes back as a
//! `#[must_use]` [`TlbFlush`].

#[cfg(test)]
mod tests;

use core::convert::Infallible;

use crate::addr::{PhysAddr, VirtAddr, PAGE_SIZE};
use crate::apply::ApplyError;
use crate::context::Mm;
use crate::mmu::{Mmu, TlbScope};
use crate::pte::Prot;
use crate::tlb::TlbFlush;
use crate::vmalloc::VmallocError;

/// Why a `vmap`, `vunmap` or `change_protection` failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VmapError {
    Space(VmallocError),
    Apply(ApplyError<Infallible>),
}

impl<M: Mmu + ?Sized> Mm<'_, M> {
    /// Linux's `vmap`: maps `pages` contiguously in the vmalloc area,
    /// followed by an unmapped guard page. The stores run in
    /// `apply_to_page_range`'s sections and may be deferred there; on
    /// return, outside any section, the mapping is visible to the walker.
    /// The VA was never mapped before, so no TLB holds it: no flush. On
    /// error nothing stays mapped.
    ///
    /// Context: task context, outside any section (tables may be
    /// allocated).
    pub fn vmap(&self, pages: &[PhysAddr], prot: Prot) -> Result<VirtAddr, VmapError> {
        let nr_pages = pages.len() as u64;
        let area = self.space.vmalloc.lock().reserve(nr_pages).map_err(VmapError::Space)?;
        let format = self.mmu.format();
        let result = self.apply_to_page_range(area.start, nr_pages * PAGE_SIZE, |pte| {
            let index = (pte.va.offset_from(area.start) / PAGE_SIZE) as usize;
            self.set_pte_at(pte.va, pte.ptep, format.page_entry(pages[index], prot));
            Ok::<(), Infallible>(())
        });
        if let Err(error) = result {
            self.unmap_kernel_range(area.start, nr_pages);
            self.space.vmalloc.lock().release(area.start).map_err(VmapError::Space)?;
            return Err(VmapError::Apply(error));
        }
        Ok(area.start)
    }

    /// Linux's `vunmap`: clears a `vmap` area's entries in lazy sections,
    /// then flushes its translations on every CPU. On return, outside any
    /// section, no CPU translates the area. Inside a caller's section the
    /// clears and the flush go through the lazy layer in that order, so a
    /// flavour that defers one defers both.
    ///
    /// Context: task context; allocates nothing.
    pub fn vunmap(&self, va: VirtAddr) -> Result<(), VmapError> {
        let area = self.space.vmalloc.lock().release(va).map_err(VmapError::Space)?;
        self.unmap_kernel_range(area.start, area.nr_pages);
        Ok(())
    }

    /// Linux's `change_protection` for a kernel range: every present page in
    /// `[start, start + len)` keeps its frame and gets `prot`, in lazy
    /// sections. The old permissions may live on in TLBs until the returned
    /// flush is applied (after leaving any section of the caller's:
    /// patch 1's order).
    ///
    /// Context: task context; allocates nothing, so it may nest in a
    /// caller's section.
    pub fn change_protection(&self, start: VirtAddr, len: u64, prot: Prot) -> Result<TlbFlush, VmapError> {
        let format = self.mmu.format();
        self.apply_to_existing_page_range(start, len, |pte| {
            if let Some((pa, _)) = format.decode(crate::pte::Level::Pte, pte.value).leaf() {
                self.set_pte_at(pte.va, pte.ptep, format.page_entry(pa, prot));
            }
            Ok::<(), Infallible>(())
        })
        .map_err(VmapError::Apply)?;
        Ok(TlbFlush::range(start, len.div_ceil(PAGE_SIZE)))
    }

    fn unmap_kernel_range(&self, start: VirtAddr, nr_pages: u64) {
        let size = nr_pages * PAGE_SIZE;
        // Clearing existing entries allocates nothing and cannot fail on a
        // range `vmap` itself walked.
        let _ = self.apply_to_existing_page_range(start, size, |pte| {
            self.pte_clear(pte.va, pte.ptep);
            Ok::<(), Infallible>(())
        });
        self.flush_tlb_kernel_range(start, start.add(size), TlbScope::Broadcast);
    }
}
