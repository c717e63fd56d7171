//! The vmalloc address space: hands out VA ranges for `vmap` with a guard
//! page after each, and remembers the live ones so `vunmap` knows a
//! mapping's size. Addresses are never reused: the area is terabytes and a
//! test kernel's lifetime is short, and a stale translation of a reused VA
//! would blur what a scenario shows.

use crate::addr::{VirtAddr, PAGE_SIZE};

/// Live `vmap` areas at one time.
pub const MAX_VMAP_AREAS: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct VmapArea {
    pub(crate) start: VirtAddr,
    pub(crate) nr_pages: u64,
}

/// Why a VA range could not be had.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VmallocError {
    /// The area is used up.
    OutOfSpace,
    /// [`MAX_VMAP_AREAS`] areas are live.
    TooManyAreas,
    /// `vunmap` of an address no live area starts at.
    NotVmapped { va: VirtAddr },
}

pub(crate) struct VmallocSpace {
    next: VirtAddr,
    end: u64,
    areas: [Option<VmapArea>; MAX_VMAP_AREAS],
}

impl VmallocSpace {
    pub(crate) const fn new(base: VirtAddr, size: u64) -> Self {
        VmallocSpace { next: base, end: base.as_u64().wrapping_add(size), areas: [None; MAX_VMAP_AREAS] }
    }

    /// A fresh range of `nr_pages` followed by an unmapped guard page.
    pub(crate) fn reserve(&mut self, nr_pages: u64) -> Result<VmapArea, VmallocError> {
        let slot = self.areas.iter().position(Option::is_none).ok_or(VmallocError::TooManyAreas)?;
        let span = (nr_pages + 1) * PAGE_SIZE;
        if self.end.wrapping_sub(self.next.as_u64()) < span {
            return Err(VmallocError::OutOfSpace);
        }
        let area = VmapArea { start: self.next, nr_pages };
        self.next = self.next.add(span);
        self.areas[slot] = Some(area);
        Ok(area)
    }

    /// Forgets the area starting at `va`.
    pub(crate) fn release(&mut self, va: VirtAddr) -> Result<VmapArea, VmallocError> {
        let slot = self
            .areas
            .iter()
            .position(|area| area.is_some_and(|a| a.start == va))
            .ok_or(VmallocError::NotVmapped { va })?;
        Ok(self.areas[slot].take().expect("position found a live area"))
    }
}
