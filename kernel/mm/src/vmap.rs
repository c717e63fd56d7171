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
    /// Maps `pages` contiguously in the vmalloc area, followed by an
    /// unmapped guard page. The VA was never mapped before, so no TLB holds
    /// it: no flush. On error nothing stays mapped.
    pub fn vmap(&self, pages: &[PhysAddr], prot: Prot) -> Result<VirtAddr, VmapError> {
        let nr_pages = pages.len() as u64;
        let area = self.vmalloc.lock().reserve(nr_pages).map_err(VmapError::Space)?;
        let format = self.mmu.format();
        let result = self.apply_to_page_range(area.start, nr_pages * PAGE_SIZE, |pte| {
            let index = ((pte.va.0 - area.start.0) / PAGE_SIZE) as usize;
            self.set_pte_at(pte.va, pte.ptep, format.page_entry(pages[index], prot));
            Ok::<(), Infallible>(())
        });
        if let Err(error) = result {
            self.unmap_kernel_range(area.start, nr_pages);
            self.vmalloc.lock().release(area.start).map_err(VmapError::Space)?;
            return Err(VmapError::Apply(error));
        }
        Ok(area.start)
    }

    /// Unmaps a `vmap` area and flushes its translations on every CPU
    /// (through the lazy layer, so a caller's section orders the flush
    /// after the clears).
    pub fn vunmap(&self, va: VirtAddr) -> Result<(), VmapError> {
        let area = self.vmalloc.lock().release(va).map_err(VmapError::Space)?;
        self.unmap_kernel_range(area.start, area.nr_pages);
        Ok(())
    }

    /// Linux's `change_protection` for a kernel range: every present page in
    /// `[start, start + len)` keeps its frame and gets `prot`, in lazy
    /// sections. The old permissions may live on in TLBs until the returned
    /// flush is applied (after leaving any section of the caller's:
    /// patch 1's order).
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
        self.flush_tlb_range(start, start.add(size), TlbScope::Broadcast);
    }
}
