//! Page allocation as the scenarios see it: the frame allocator behind the
//! sanitizer's "allocation in lazy mode" rule, with a `debug_pagealloc`
//! mode in which free frames are absent from the linear map. Allocation
//! maps the frame back and freeing unmaps it through `set_pte_at`, inside
//! the allocator's own `apply_to_page_range` section, so inside a caller's
//! section the update is deferred (or, under the permissive flag policy,
//! the allocator's leave ends the caller's section: 1ef3095b1405).

#[cfg(test)]
mod tests;

use core::convert::Infallible;
use core::panic::Location;

use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};

use crate::addr::{PhysAddr, PAGE_SIZE};
use crate::apply::ApplyError;
use crate::context::{Mm, Switch};
use crate::frame::{AllocError, FrameAllocator, FrameSource};
use crate::lazy::{ReportDetail, Rule};
use crate::mmu::{Mmu, TlbScope};
use crate::pgtable::PTE_BYTES;
use crate::pte::{Level, Prot};

/// The page allocator of an `Mm`: the frames, and whether free ones are
/// out of the linear map.
pub(crate) struct PageAlloc<'a> {
    frames: &'a spin::Mutex<FrameAllocator>,
    debug_pagealloc: AtomicBool,
}

impl<'a> PageAlloc<'a> {
    pub(crate) const fn new(frames: &'a spin::Mutex<FrameAllocator>) -> Self {
        PageAlloc { frames, debug_pagealloc: AtomicBool::new(false) }
    }

    pub(crate) const fn frames(&self) -> &'a spin::Mutex<FrameAllocator> {
        self.frames
    }
}

impl<'a, M: Mmu + ?Sized> Mm<'a, M> {
    /// The frame allocator itself, for its statistics and fault injection.
    /// Frames taken from it directly bypass the checks of
    /// [`alloc_page`](Self::alloc_page).
    pub fn frames(&self) -> &'a spin::Mutex<FrameAllocator> {
        self.pages.frames
    }

    /// Linux's `alloc_page(GFP_KERNEL)`: a frame, its contents undefined.
    ///
    /// Under debug_pagealloc the frame is mapped back into the linear map
    /// first, through `set_pte_at` in the allocator's own section (no flush:
    /// nothing cached an absent entry). On return, outside any section, the
    /// frame is usable through the linear map.
    ///
    /// Context: task context, outside any section. Inside one the map-back
    /// nests in the caller's section and may stay deferred past the return
    /// (the bug of seed patches 3 and 5); [`Rule::AllocInLazy`] is reported
    /// and the frame allocated anyway so the case can go on. Use
    /// [`alloc_pages_pause_lazy`](Self::alloc_pages_pause_lazy) there.
    #[track_caller]
    pub fn alloc_page(&self) -> Result<PhysAddr, AllocError> {
        self.alloc_page_at(Location::caller())
    }

    /// Linux's `__free_page` for a page from
    /// [`alloc_page`](Self::alloc_page). A double free is an error value
    /// and unmaps nothing.
    ///
    /// Under debug_pagealloc the frame leaves the linear map: its entry is
    /// cleared in the allocator's own section, then its translation flushed
    /// on every CPU. On return, outside any section, no CPU reaches the
    /// frame through the linear map; inside one, clear and flush may both
    /// be deferred to the caller's leave, in that order.
    ///
    /// Context: task context.
    pub fn free_page(&self, pa: PhysAddr) -> Result<(), AllocError> {
        if !self.pages.frames.lock().is_allocated(pa)? {
            return Err(AllocError::DoubleFree(pa));
        }
        if self.is_debug_pagealloc() {
            self.kernel_unmap_pages(pa, 1)?;
        }
        self.pages.frames.lock().free(pa)
    }

    /// Linux's `pte_free_kernel`: returns a page-table page. The entry that
    /// pointed at it must be clean first (cleared, then flushed); on arm64
    /// the sanitizer reports [`Rule::TableFreedUnclean`]
    /// otherwise, since a walk cache may still read the page.
    #[track_caller]
    pub fn pte_free_kernel(&self, table: PhysAddr) -> Result<(), AllocError> {
        if self.watches_barriers() {
            let violation = self.instr.sanitizer.barriers.freed(table);
            self.report_violation(self.mmu.cpu_id(), violation, Location::caller());
        }
        self.free_page(table)
    }

    /// Allocation inside a section done right (patch 5, `tlb_next_batch`):
    /// pause lazy mode, allocate, resume. The pause applies what the
    /// section deferred so far; the frame is usable at once, and the
    /// section is lazy again on return.
    ///
    /// Context: task context, inside or outside a section (outside, the
    /// pause and resume have no effect). Nests as pauses do.
    #[track_caller]
    pub fn alloc_pages_pause_lazy(&self) -> Result<PhysAddr, AllocError> {
        let at = Location::caller();
        self.lazy_mmu_mode_pause();
        let result = self.alloc_page_at(at);
        self.lazy_mmu_mode_resume();
        result
    }

    /// Turns debug_pagealloc on (every free frame leaves the linear map) or
    /// off (they come back). The linear map must be built of 4 KiB pages.
    /// On return the change is visible to the walker and flushed on every
    /// CPU.
    ///
    /// Context: task context, between cases, outside any section: the
    /// entries are written directly, and inside a section that is reported
    /// ([`Rule::DirectWriteInLazy`]).
    #[track_caller]
    pub fn set_debug_pagealloc(&self, switch: Switch) -> Result<(), AllocError> {
        let on = switch == Switch::On;
        if self.pages.debug_pagealloc.swap(on, Ordering::Relaxed) == on {
            return Ok(());
        }
        let runs: Vec<_> = self.pages.frames.lock().free_runs().collect();
        self.set_linear_map_bulk(&runs, switch, Location::caller())
    }

    /// The bulk switch is harness set-up, not a case under test: it writes
    /// the free frames' linear-map entries directly (the checked set-up
    /// path, `DirectWrites`: no lazy layer, no
    /// per-page invalidation; with tens of thousands of frames that would
    /// cost seconds under TCG), then publishes them with one barrier and
    /// one full flush. Single pages still go through `set_pte_at`.
    fn set_linear_map_bulk(
        &self,
        runs: &[(PhysAddr, u64)],
        switch: Switch,
        at: &'static Location<'static>,
    ) -> Result<(), AllocError> {
        let tables = self.page_tables();
        let writes = tables.direct_writes(at);
        let format = self.mmu.format();
        let mut result = Ok(());
        'runs: for &(start, nr_frames) in runs {
            let mut previous: Option<PhysAddr> = None;
            for index in 0..nr_frames {
                let pa = start.add(index * PAGE_SIZE);
                let va = self.space.layout.phys_to_virt(pa);
                // Consecutive pages share a leaf table until the index wraps.
                let next = match previous {
                    Some(prev) if Level::Pte.index(va) != 0 => Ok(Some(prev.add(PTE_BYTES))),
                    _ => tables.pte_offset(va),
                };
                let ptep = match next {
                    Ok(Some(ptep)) => ptep,
                    Ok(None) | Err(_) => {
                        result = Err(AllocError::LinearMapWalk(pa));
                        break 'runs;
                    }
                };
                previous = Some(ptep);
                let value = match switch {
                    Switch::On => crate::pte::PteValue::NONE,
                    Switch::Off => format.page_entry(pa, Prot::KERNEL_RW),
                };
                writes.store(va, ptep, value);
            }
        }
        self.mmu.full_barrier();
        self.mmu.flush_tlb_all(TlbScope::Broadcast);
        result
    }

    pub fn is_debug_pagealloc(&self) -> bool {
        self.pages.debug_pagealloc.load(Ordering::Relaxed)
    }

    fn alloc_page_at(&self, at: &'static Location<'static>) -> Result<PhysAddr, AllocError> {
        self.report_if_lazy(Rule::AllocInLazy, at, ReportDetail::None);
        let pa = self.pages.frames.lock().alloc()?;
        if self.is_debug_pagealloc() {
            if let Err(error) = self.kernel_map_pages(pa, 1) {
                self.pages.frames.lock().free(pa)?;
                return Err(error);
            }
        }
        Ok(pa)
    }

    /// Linux's `__kernel_map_pages(page, n, 1)`: puts frames back into the
    /// linear map. They were absent, so no TLB holds them: no flush.
    fn kernel_map_pages(&self, start: PhysAddr, nr_frames: u64) -> Result<(), AllocError> {
        let Some(va) = self.linear_va(start, nr_frames) else {
            return Ok(());
        };
        let format = self.mmu.format();
        let map = |pte: &mut crate::apply::PteRef| {
            let pa = start.add(pte.va.offset_from(va));
            self.set_pte_at(pte.va, pte.ptep, format.page_entry(pa, Prot::KERNEL_RW));
            Ok::<(), Infallible>(())
        };
        let size = nr_frames * PAGE_SIZE;
        let result = self.apply_to_page_range(va, size, map);
        result.map_err(|error| linear_map_error(error, start))
    }

    /// Linux's `__kernel_map_pages(page, n, 0)`: takes frames out of the
    /// linear map and flushes their translations.
    fn kernel_unmap_pages(&self, start: PhysAddr, nr_frames: u64) -> Result<(), AllocError> {
        let Some(va) = self.linear_va(start, nr_frames) else {
            return Ok(());
        };
        let size = nr_frames * PAGE_SIZE;
        let clear = |pte: &mut crate::apply::PteRef| {
            self.pte_clear(pte.va, pte.ptep);
            Ok::<(), Infallible>(())
        };
        let result = self.apply_to_existing_page_range(va, size, clear);
        // Flush what was cleared even if the walk stopped part-way.
        self.flush_tlb_kernel_range(va, va.add(size), TlbScope::Broadcast);
        result.map_err(|error| linear_map_error(error, start))
    }

    /// The linear-map VA of `[start, start + nr_frames)`, if all of it is
    /// in the linear map.
    fn linear_va(&self, start: PhysAddr, nr_frames: u64) -> Option<crate::addr::VirtAddr> {
        let last = start.add(nr_frames * PAGE_SIZE - 1);
        let va = self.space.layout.phys_to_virt(start);
        self.space.layout.virt_to_phys(self.space.layout.phys_to_virt(last)).map(|_| va)
    }
}

fn linear_map_error(error: ApplyError<Infallible>, start: PhysAddr) -> AllocError {
    match error {
        ApplyError::OutOfFrames { .. } => AllocError::OutOfFrames,
        ApplyError::Walk(_) => AllocError::LinearMapWalk(start),
        ApplyError::Callback { error, .. } => match error {},
    }
}

/// Table pages for `apply_to_page_range` come through here, so they are
/// checked and debug-mapped like any other page.
impl<M: Mmu + ?Sized> FrameSource for Mm<'_, M> {
    #[track_caller]
    fn alloc_frame(&self) -> Result<PhysAddr, AllocError> {
        self.alloc_page_at(Location::caller())
    }

    fn free_frame(&self, pa: PhysAddr) -> Result<(), AllocError> {
        self.free_page(pa)
    }
}
