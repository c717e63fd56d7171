//! The kernel's own page tables, built with `mm` in the architecture's
//! format: the image with W^X (text RX, rodata RO, data/bss RW+NX, the boot
//! stack's guard page left unmapped), a linear map of all RAM, and the MMIO
//! the drivers use; then the switch to them.

use boot::{BootInfo, MemoryRegion};
use mm::{FrameAllocator, KernelLayout, PageTables, PhysAddr, Prot, Roots, VirtAddr, PAGE_SIZE};

use crate::arch;

extern "C" {
    static __text_start: u8;
    static __text_end: u8;
    static __rodata_start: u8;
    static __rodata_end: u8;
    static __data_start: u8;
    static __data_end: u8;
    static __stack_guard: u8;
}

/// One section of the image, as linked.
#[derive(Clone, Copy, Debug)]
pub struct Section {
    pub start: u64,
    pub end: u64,
}

/// Where the linker put the image's sections (virtual addresses).
#[derive(Clone, Copy, Debug)]
pub struct ImageLayout {
    pub text: Section,
    pub rodata: Section,
    pub data: Section,
    pub stack_guard: u64,
}

pub fn image_layout() -> ImageLayout {
    let addr = |sym: &u8| sym as *const u8 as u64;
    // SAFETY: only the addresses of the linker-script symbols are taken;
    // nothing is read through them.
    unsafe {
        ImageLayout {
            text: Section { start: addr(&__text_start), end: addr(&__text_end) },
            rodata: Section { start: addr(&__rodata_start), end: addr(&__rodata_end) },
            data: Section { start: addr(&__data_start), end: addr(&__data_end) },
            stack_guard: addr(&__stack_guard),
        }
    }
}

/// Where RAM, the linear map and the vmalloc area are.
pub fn kernel_layout(info: &BootInfo) -> KernelLayout {
    let ram_end = info.ram().iter().map(MemoryRegion::end).max().unwrap_or(0);
    KernelLayout {
        linear_map_base: VirtAddr::new(arch::LINEAR_MAP_BASE),
        linear_map_size: ram_end,
        vmalloc_base: VirtAddr::new(arch::VMALLOC_BASE),
        vmalloc_size: 1 << 40,
    }
}

/// Builds the tables and switches to them. Errors are fatal for the boot.
pub fn init(info: &BootInfo, mmu: &arch::HwMmu, frames: &spin::Mutex<FrameAllocator>) -> Result<Roots, mm::MapError> {
    let tables = PageTables::new(mmu, frames)?;
    let image = image_layout();
    let phys = |va: u64| PhysAddr::new(va - info.kernel_virt_offset);
    let map = |section: Section, prot: Prot| {
        let start = section.start & !(PAGE_SIZE - 1);
        let len = section.end.next_multiple_of(PAGE_SIZE) - start;
        tables.map_range(VirtAddr::new(start), phys(start), len, prot)
    };
    map(image.text, Prot::KERNEL_RX)?;
    map(image.rodata, Prot::KERNEL_RO)?;
    // The guard page below the boot stack stays unmapped: an overflow faults.
    map(Section { start: image.data.start, end: image.stack_guard }, Prot::KERNEL_RW)?;
    map(Section { start: image.stack_guard + PAGE_SIZE, end: image.data.end }, Prot::KERNEL_RW)?;

    let layout = kernel_layout(info);
    for ram in info.ram() {
        let base = ram.base & !(PAGE_SIZE - 1);
        let len = ram.end().next_multiple_of(PAGE_SIZE) - base;
        tables.map_range(layout.phys_to_virt(PhysAddr::new(base)), PhysAddr::new(base), len, Prot::KERNEL_RW)?;
    }
    for mmio in arch::mmio_regions() {
        let len = mmio.len.next_multiple_of(PAGE_SIZE);
        tables.map_range(VirtAddr::new(mmio.base), PhysAddr::new(mmio.base), len, Prot::DEVICE)?;
    }
    let roots = tables.roots();
    // SAFETY: the new tables map everything the kernel touches from here on:
    // its image (where this code and the stack run), all RAM through the
    // linear map (where the tables and the heap live) and the MMIO.
    unsafe { arch::install_tables(roots.low, roots.high) };
    Ok(roots)
}
