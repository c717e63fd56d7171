//! TLB flush tokens: an operation that leaves stale translations behind
//! returns a `#[must_use]` [`TlbFlush`] naming the range, as the `x86_64`
//! crate's `MapperFlush` does. Forgetting or misplacing a flush is the very
//! bug the scenarios hunt, so the compiler should point at a dropped one.

use crate::addr::{VirtAddr, PAGE_SIZE};
use crate::mmu::{Mmu, TlbScope};

/// Ranges of more pages than this are flushed with one full flush, as
/// Linux's `flush_tlb_kernel_range` does past its ceiling.
pub const FLUSH_ALL_THRESHOLD_PAGES: u64 = 64;

/// The pages `[start, start + nr_pages * PAGE_SIZE)` may be stale in some TLB.
#[must_use = "stale translations remain until this flush is applied"]
#[derive(Debug, PartialEq, Eq)]
pub struct TlbFlush {
    start: VirtAddr,
    nr_pages: u64,
}

impl TlbFlush {
    pub const fn page(va: VirtAddr) -> Self {
        TlbFlush { start: va.page_down(), nr_pages: 1 }
    }

    pub const fn range(start: VirtAddr, nr_pages: u64) -> Self {
        TlbFlush { start: start.page_down(), nr_pages }
    }

    pub const fn start(&self) -> VirtAddr {
        self.start
    }

    pub const fn nr_pages(&self) -> u64 {
        self.nr_pages
    }

    /// Invalidates the range directly on the hardware, outside any lazy
    /// section (the `mm` context's flush helpers go through the lazy layer
    /// instead).
    pub fn flush(self, mmu: &(impl Mmu + ?Sized), scope: TlbScope) {
        if self.nr_pages > FLUSH_ALL_THRESHOLD_PAGES {
            mmu.flush_tlb_all(scope);
            return;
        }
        for page in 0..self.nr_pages {
            mmu.flush_tlb_page(self.start.add(page * PAGE_SIZE), scope);
        }
    }

    /// Drops the flush on purpose: the tables are not live yet, or no TLB
    /// can hold the range.
    pub fn ignore(self) {}

    /// Takes the range out so another layer can issue the flush.
    pub const fn into_range(self) -> (VirtAddr, u64) {
        (self.start, self.nr_pages)
    }
}
