//! Direct page-table writes: how tables are built outside the lazy layer.
//! Set-up (the kernel's own tables at boot, the table entries `pte_alloc`
//! links in, `map_page`/`unmap_page` of scratch pages, the linear map under
//! debug_pagealloc) stores entries at once, with no flavour and no counter:
//! none of it is what a case measures. Inside a lazy section such a store
//! would overtake the updates the section defers and no flavour would see
//! it, so the owner of the tables (an `Mm`) reports it as
//! [`Rule::DirectWriteInLazy`](crate::Rule::DirectWriteInLazy). These
//! stores and the lazy layer's own are the only two callers of
//! [`store_pte`].

#[cfg(test)]
mod tests;

use core::cell::Cell;
use core::panic::Location;

use crate::addr::{PhysAddr, VirtAddr};
use crate::mmu::{store_pte, Mmu};
use crate::pte::PteValue;

/// Who is told about direct writes to a set of tables: the `Mm` that owns
/// them. Tables built before any `Mm` exists (at boot) have no watch.
pub(crate) trait DirectWriteWatch {
    /// A direct store for `va`, on behalf of the call at `at`, is about to
    /// happen on this CPU.
    fn direct_write(&self, va: VirtAddr, at: &'static Location<'static>);
}

/// The direct stores of one page-table operation. The watch hears of the
/// operation once, at its first store: an operation that finds every table
/// in place writes nothing and breaks no rule.
pub(crate) struct DirectWrites<'t, M: Mmu + ?Sized> {
    mmu: &'t M,
    watch: Option<&'t dyn DirectWriteWatch>,
    at: &'static Location<'static>,
    watched: Cell<bool>,
}

impl<'t, M: Mmu + ?Sized> DirectWrites<'t, M> {
    pub(crate) fn new(mmu: &'t M, watch: Option<&'t dyn DirectWriteWatch>, at: &'static Location<'static>) -> Self {
        DirectWrites { mmu, watch, at, watched: Cell::new(false) }
    }

    /// Stores `value` at `ptep`, the entry on the way to `va`: one plain
    /// store, no barrier, no TLB maintenance (the caller publishes).
    pub(crate) fn store(&self, va: VirtAddr, ptep: PhysAddr, value: PteValue) {
        if !self.watched.replace(true) {
            if let Some(watch) = self.watch {
                watch.direct_write(va, self.at);
            }
        }
        store_pte(self.mmu, ptep, value);
    }
}
