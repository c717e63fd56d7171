//! The kernel heap: `linked_list_allocator` behind its `spin` lock, on RAM
//! carved out of the boot memory map before the frame allocator sees it and
//! reached through the linear map.

use boot::{BootInfo, MemoryRegion};
use linked_list_allocator::LockedHeap;

#[global_allocator]
static HEAP: LockedHeap = LockedHeap::empty();

const MIN_HEAP_BYTES: u64 = 1 << 20;
const MAX_HEAP_BYTES: u64 = 16 << 20;

/// Picks the heap's physical range: an eighth of RAM, between 1 and 16 MiB,
/// from the start of the largest usable region.
pub fn choose_region(info: &BootInfo) -> Option<MemoryRegion> {
    let total: u64 = info.usable().iter().map(|r| r.len).sum();
    let want = (total / 8).clamp(MIN_HEAP_BYTES, MAX_HEAP_BYTES);
    let largest = info.usable().iter().max_by_key(|r| r.len)?;
    let base = largest.base.next_multiple_of(mm::PAGE_SIZE);
    (largest.end() >= base + want).then_some(MemoryRegion { base, len: want })
}

/// Hands `region`, visible at `virt_base`, to the allocator.
///
/// # Safety
/// `virt_base` must map `region.len` bytes of RAM read-write that nothing
/// else uses, for the rest of the run; call once.
pub unsafe fn init(virt_base: u64, region: MemoryRegion) {
    // SAFETY: the caller guarantees the range is mapped, unused and ours.
    unsafe { HEAP.lock().init(virt_base as *mut u8, region.len as usize) };
}

/// Bytes in use and free, for the memory report.
pub fn usage() -> (usize, usize) {
    let heap = HEAP.lock();
    (heap.used(), heap.free())
}
