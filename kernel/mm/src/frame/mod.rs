//! The physical frame allocator: a bitmap over the RAM ranges the boot code
//! hands over, with counters (free / used / peak) and fault injection so
//! tests can make the k-th allocation fail. No heap: the bitmap has a fixed
//! capacity of [`MAX_FRAMES`] (1 GiB of RAM), so the kernel can keep the
//! allocator in a `static`.
//!
//! Allocation never touches page tables here; debug_pagealloc (which does)
//! is layered on top of this allocator.

#[cfg(test)]
mod tests;

use crate::addr::{Pfn, PhysAddr, PAGE_SIZE};

/// Frames the bitmap can track: 1 GiB of 4 KiB frames.
pub const MAX_FRAMES: usize = 1 << 18;
/// Separate physical ranges the allocator can take.
pub const MAX_RANGES: usize = 32;
const BITMAP_WORDS: usize = MAX_FRAMES / 64;

/// Why an allocation or a free failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AllocError {
    /// Every managed frame is in use.
    OutOfFrames,
    /// The failure requested by [`FrameAllocator::fail_after`].
    Injected,
    /// `free` of a frame that is already free.
    DoubleFree(PhysAddr),
    /// `free` of an address outside every managed range.
    NotManaged(PhysAddr),
    /// `free` of an address that is not the start of a frame.
    Misaligned(PhysAddr),
    /// `add_range` with all [`MAX_RANGES`] slots taken.
    TooManyRanges,
    /// `add_range` overlapping a range already managed.
    Overlaps(PhysAddr),
    /// debug_pagealloc could not walk the linear map at this frame (a large
    /// mapping or a missing table where 4 KiB pages were expected).
    LinearMapWalk(PhysAddr),
}

impl core::fmt::Display for AllocError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            AllocError::OutOfFrames => write!(f, "out of frames"),
            AllocError::Injected => write!(f, "injected allocation failure"),
            AllocError::DoubleFree(pa) => write!(f, "double free of {pa}"),
            AllocError::NotManaged(pa) => write!(f, "free of unmanaged {pa}"),
            AllocError::Misaligned(pa) => write!(f, "free of misaligned {pa}"),
            AllocError::TooManyRanges => write!(f, "too many RAM ranges"),
            AllocError::Overlaps(pa) => write!(f, "RAM range at {pa} overlaps a managed one"),
            AllocError::LinearMapWalk(pa) => write!(f, "debug_pagealloc cannot walk the linear map at {pa}"),
        }
    }
}

/// Allocator counters, in frames (except the call counts).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FrameStats {
    pub total: u64,
    pub free: u64,
    pub used: u64,
    /// Highest `used` since creation or [`FrameAllocator::reset_peak`].
    pub peak_used: u64,
    pub allocs: u64,
    pub frees: u64,
    /// Allocations that returned an error (injected ones included).
    pub failed_allocs: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FailInjection {
    Off,
    /// Fail once after this many more allocation calls.
    After(u64),
}

#[derive(Clone, Copy, Debug)]
struct Range {
    base: Pfn,
    nr_frames: u64,
    /// Bitmap index of `base`: ranges are packed one after the other.
    first_index: u64,
}

/// A bitmap frame allocator. A set bit means "not available": allocated,
/// or beyond the managed frames.
pub struct FrameAllocator {
    ranges: [Range; MAX_RANGES],
    nr_ranges: usize,
    in_use: [u64; BITMAP_WORDS],
    /// No free frame lives in a word below this one.
    search_from_word: usize,
    stats: FrameStats,
    fail: FailInjection,
}

impl FrameAllocator {
    /// An allocator managing nothing yet, usable in a `static`.
    pub const fn empty() -> Self {
        FrameAllocator {
            ranges: [Range { base: Pfn::new(0), nr_frames: 0, first_index: 0 }; MAX_RANGES],
            nr_ranges: 0,
            in_use: [u64::MAX; BITMAP_WORDS],
            search_from_word: 0,
            stats: FrameStats { total: 0, free: 0, used: 0, peak_used: 0, allocs: 0, frees: 0, failed_allocs: 0 },
            fail: FailInjection::Off,
        }
    }

    /// An allocator over `ranges` of `(start, length in bytes)`.
    pub fn new(ranges: &[(PhysAddr, u64)]) -> Result<Self, AllocError> {
        let mut frames = Self::empty();
        for &(start, len) in ranges {
            frames.add_range(start, len)?;
        }
        Ok(frames)
    }

    /// Adds the whole frames inside `[start, start + len)` as free. Frames
    /// beyond [`MAX_FRAMES`] are left out; returns how many were added.
    pub fn add_range(&mut self, start: PhysAddr, len: u64) -> Result<u64, AllocError> {
        let first = start.as_u64().div_ceil(PAGE_SIZE);
        let end = (start.as_u64() + len) / PAGE_SIZE;
        if end <= first {
            return Ok(0);
        }
        if self.nr_ranges == MAX_RANGES {
            return Err(AllocError::TooManyRanges);
        }
        let overlapping = self.ranges[..self.nr_ranges]
            .iter()
            .any(|r| first < r.base.as_u64() + r.nr_frames && r.base.as_u64() < end);
        if overlapping {
            return Err(AllocError::Overlaps(start));
        }
        let nr_frames = (end - first).min(MAX_FRAMES as u64 - self.stats.total);
        let first_index = self.stats.total;
        self.ranges[self.nr_ranges] = Range { base: Pfn::new(first), nr_frames, first_index };
        self.nr_ranges += 1;
        for index in first_index..first_index + nr_frames {
            self.in_use[(index / 64) as usize] &= !(1 << (index % 64));
        }
        self.stats.total += nr_frames;
        self.stats.free += nr_frames;
        self.search_from_word = self.search_from_word.min((first_index / 64) as usize);
        Ok(nr_frames)
    }

    /// Takes the lowest free frame. The frame's contents are whatever they
    /// were: callers that need zeroes zero it (table pages through
    /// `Mmu::zero_page`).
    pub fn alloc(&mut self) -> Result<PhysAddr, AllocError> {
        if let FailInjection::After(remaining) = self.fail {
            if remaining == 0 {
                self.fail = FailInjection::Off;
                self.stats.failed_allocs += 1;
                return Err(AllocError::Injected);
            }
            self.fail = FailInjection::After(remaining - 1);
        }
        let Some(word) = (self.search_from_word..BITMAP_WORDS).find(|&w| self.in_use[w] != u64::MAX) else {
            self.search_from_word = BITMAP_WORDS;
            self.stats.failed_allocs += 1;
            return Err(AllocError::OutOfFrames);
        };
        self.search_from_word = word;
        let bit = self.in_use[word].trailing_ones() as u64;
        self.in_use[word] |= 1 << bit;
        self.stats.free -= 1;
        self.stats.used += 1;
        self.stats.allocs += 1;
        self.stats.peak_used = self.stats.peak_used.max(self.stats.used);
        Ok(self.addr_of(word as u64 * 64 + bit))
    }

    /// Returns `pa` to the free pool. A double free or a foreign address is
    /// reported as an error and changes nothing.
    pub fn free(&mut self, pa: PhysAddr) -> Result<(), AllocError> {
        let index = self.index_of(pa)?;
        let (word, mask) = ((index / 64) as usize, 1u64 << (index % 64));
        if self.in_use[word] & mask == 0 {
            return Err(AllocError::DoubleFree(pa));
        }
        self.in_use[word] &= !mask;
        self.stats.free += 1;
        self.stats.used -= 1;
        self.stats.frees += 1;
        self.search_from_word = self.search_from_word.min(word);
        Ok(())
    }

    /// Whether `pa` is a managed frame that is currently allocated.
    pub fn is_allocated(&self, pa: PhysAddr) -> Result<bool, AllocError> {
        let index = self.index_of(pa)?;
        Ok(self.in_use[(index / 64) as usize] & (1 << (index % 64)) != 0)
    }

    /// The runs of contiguous free frames, as `(start, nr_frames)`.
    pub fn free_runs(&self) -> impl Iterator<Item = (PhysAddr, u64)> + '_ {
        self.ranges[..self.nr_ranges].iter().flat_map(move |range| {
            let is_free = move |frame: u64| {
                let index = range.first_index + frame;
                self.in_use[(index / 64) as usize] & (1 << (index % 64)) == 0
            };
            let mut frame = 0;
            core::iter::from_fn(move || {
                while frame < range.nr_frames && !is_free(frame) {
                    frame += 1;
                }
                let start = frame;
                while frame < range.nr_frames && is_free(frame) {
                    frame += 1;
                }
                (frame > start).then(|| (Pfn::new(range.base.as_u64() + start).addr(), frame - start))
            })
        })
    }

    /// Makes the allocation after the next `successes` ones fail once with
    /// [`AllocError::Injected`] (`fail_after(0)`: the very next one).
    pub fn fail_after(&mut self, successes: u64) {
        self.fail = FailInjection::After(successes);
    }

    /// Cancels a pending [`fail_after`](Self::fail_after).
    pub fn clear_fail_injection(&mut self) {
        self.fail = FailInjection::Off;
    }

    pub fn stats(&self) -> FrameStats {
        self.stats
    }

    /// Starts a new peak measurement from the current use.
    pub fn reset_peak(&mut self) {
        self.stats.peak_used = self.stats.used;
    }

    fn index_of(&self, pa: PhysAddr) -> Result<u64, AllocError> {
        if !pa.is_page_aligned() {
            return Err(AllocError::Misaligned(pa));
        }
        let pfn = pa.pfn().as_u64();
        self.ranges[..self.nr_ranges]
            .iter()
            .find(|r| r.base.as_u64() <= pfn && pfn < r.base.as_u64() + r.nr_frames)
            .map(|r| r.first_index + (pfn - r.base.as_u64()))
            .ok_or(AllocError::NotManaged(pa))
    }

    fn addr_of(&self, index: u64) -> PhysAddr {
        let range = self.ranges[..self.nr_ranges]
            .iter()
            .find(|r| r.first_index <= index && index < r.first_index + r.nr_frames)
            .expect("a clear bitmap bit always belongs to a managed range");
        Pfn::new(range.base.as_u64() + (index - range.first_index)).addr()
    }
}

/// Where page-table code gets its frames. Implemented by a locked
/// [`FrameAllocator`]; the `mm` context implements it too, adding the
/// sanitizer's "allocation in lazy mode" check and debug_pagealloc.
pub trait FrameSource: Sync {
    fn alloc_frame(&self) -> Result<PhysAddr, AllocError>;
    fn free_frame(&self, pa: PhysAddr) -> Result<(), AllocError>;
}

impl FrameSource for spin::Mutex<FrameAllocator> {
    fn alloc_frame(&self) -> Result<PhysAddr, AllocError> {
        self.lock().alloc()
    }

    fn free_frame(&self, pa: PhysAddr) -> Result<(), AllocError> {
        self.lock().free(pa)
    }
}
