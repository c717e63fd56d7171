//! The kernel's address space as `mm` sees it: the table roots, where the
//! linear map and the vmalloc area are, and which vmalloc ranges are live;
//! and the read-only views of it a scenario needs.

use core::panic::Location;

use crate::addr::{PhysAddr, VirtAddr};
use crate::context::Mm;
use crate::frame::FrameAllocator;
use crate::layout::KernelLayout;
use crate::lazy::{ReportDetail, Rule};
use crate::mmu::{Mmu, PteFormat};
use crate::pgtable::{DirectWriteWatch, MapError, PageTables, Roots};
use crate::vmalloc::VmallocSpace;

pub(crate) struct KernelSpace {
    pub(crate) roots: Roots,
    pub(crate) layout: KernelLayout,
    pub(crate) vmalloc: spin::Mutex<VmallocSpace>,
}

impl KernelSpace {
    pub(crate) const fn new(roots: Roots, layout: KernelLayout) -> Self {
        let vmalloc = spin::Mutex::new(VmallocSpace::new(layout.vmalloc_base, layout.vmalloc_size));
        KernelSpace { roots, layout, vmalloc }
    }
}

impl<M: Mmu + ?Sized> Mm<'_, M> {
    /// The CPU this runs on (Linux's `smp_processor_id`), below `MAX_CPUS`.
    pub fn cpu_id(&self) -> usize {
        self.mmu.cpu_id()
    }

    /// The entry encoding of the tables this context manages.
    pub fn pte_format(&self) -> PteFormat {
        self.space.roots.format
    }

    pub fn layout(&self) -> &KernelLayout {
        &self.space.layout
    }

    /// The kernel tables, for lookups (`pte_offset`, `walk`, `translate`)
    /// and for building scratch mappings. Context: outside any section; a
    /// direct write inside one is reported as
    /// [`Rule::DirectWriteInLazy`]. Table pages come straight from the
    /// frame allocator (unchecked, never debug-mapped).
    pub fn page_tables(&self) -> PageTables<'_, M, spin::Mutex<FrameAllocator>> {
        PageTables::watched(self.mmu, self.pages.frames(), self.space.roots, self)
    }

    /// Linux's `pte_alloc_kernel`: `va`'s leaf entry, with missing tables
    /// allocated as `apply_to_page_range` allocates them (through
    /// [`alloc_page`](Self::alloc_page): checked, and mapped under
    /// debug_pagealloc before they are zeroed). On return the tables are
    /// linked in and visible to the walker. Context: outside any section:
    /// an allocation inside one is reported, and so is a table linked in.
    #[track_caller]
    pub fn pte_alloc_kernel(&self, va: VirtAddr) -> Result<PhysAddr, MapError> {
        PageTables::watched(self.mmu, self, self.space.roots, self).pte_alloc(va)
    }
}

/// An `Mm`'s tables report their direct writes inside a lazy section.
impl<M: Mmu + ?Sized> DirectWriteWatch for Mm<'_, M> {
    fn direct_write(&self, va: VirtAddr, at: &'static Location<'static>) {
        self.report_if_lazy(Rule::DirectWriteInLazy, at, ReportDetail::Va(va));
    }
}
