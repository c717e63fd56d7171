//! arm64 direct boot: QEMU `-kernel` loads a raw `Image` whose Linux arm64
//! header (Documentation/arch/arm64/booting.rst) says "load at RAM base +
//! 0x80000, 4 KiB pages, little endian" and enters it at EL1 with the MMU off
//! and `x0` = the device tree. The entry code enables FP/SIMD, zeroes `.bss`,
//! turns the MMU on with a 1 GiB-block identity map, and then Rust reads the
//! memory map and command line from the device tree.

use core::arch::global_asm;
use core::ptr::addr_of_mut;

use crate::{BootInfo, MemoryRegion};

/// `bench-floor`: the first instruction after the header's branch is a
/// semihosting SYS_EXIT (ADP_Stopped_ApplicationExit, code 0), so QEMU
/// exits before anything else runs; `lazymmu-run bench` times this as the
/// floor of QEMU's own start and exit.
#[cfg(feature = "bench-floor")]
macro_rules! bench_floor_exit {
    () => {
        "    mov     x0, #0x18
    adr     x1, 9f
    hlt     #0xf000
8:  wfe
    b       8b
    .balign 8
9:  .quad   0x20026
    .quad   0
"
    };
}
#[cfg(not(feature = "bench-floor"))]
macro_rules! bench_floor_exit {
    () => {
        ""
    };
}

// Early identity map, two tables: one level-0 table whose first entry points
// at one level-1 table of 1 GiB blocks. With the MMU off every access is
// Device memory, where unaligned accesses fault and compiled Rust does make
// them, so this map is live before the first Rust instruction.
// - L1[0]: 0..1 GiB, Device-nGnRnE (PL011, GIC, ...: the virt board's MMIO)
// - L1[1..256]: 1..256 GiB, Normal write-back (the virt board's RAM window)
// MAIR: index 0 = Normal WB RA/WA (0xff), index 1 = Device-nGnRnE (0x00),
// the same indices the kernel's own tables use.
global_asm!(
    r#"
    .section .text.head, "ax"
    .global _head
_head:
    b       primary_entry           // code0
    .long   0                       // code1
    .quad   0x80000                 // text_offset
    .quad   __image_size            // image_size, .bss included
    .quad   0xa                     // flags: LE, 4K pages, anywhere in RAM
    .quad   0, 0, 0                 // res2..res4
    .ascii  "ARM\x64"               // magic
    .long   0                       // res5 (no PE header)

    .section .text.boot, "ax"
primary_entry:
"#,
    bench_floor_exit!(),
    r#"
    mov     x19, x0                 // the DTB, kept for Rust

    // FP/SIMD: the target uses NEON registers for plain copies.
    mov     x0, #(3 << 20)          // CPACR_EL1.FPEN = 0b11
    msr     cpacr_el1, x0
    isb

    // Zero .bss (16-byte aligned stores are legal on Device memory). The
    // early tables live there, so this comes first.
    adrp    x0, __bss_start
    add     x0, x0, :lo12:__bss_start
    adrp    x1, __bss_end
    add     x1, x1, :lo12:__bss_end
1:  cmp     x0, x1
    b.hs    2f
    stp     xzr, xzr, [x0], #16
    b       1b
2:
    // L0[0] -> L1 (table descriptor, bits[1:0] = 0b11).
    adrp    x0, early_pg_l0
    adrp    x1, early_pg_l1
    orr     x2, x1, #3
    str     x2, [x0]

    // L1[0]: block at 0, AttrIndx 1 (Device), AF, UXN|PXN.
    ldr     x2, =((3 << 53) | (1 << 10) | (1 << 2) | 1)
    str     x2, [x1]

    // L1[1..256]: blocks of Normal WB memory, AF, inner shareable.
    ldr     x2, =((1 << 10) | (3 << 8) | 1)
    mov     x3, #1
3:  lsl     x4, x3, #30
    orr     x4, x4, x2
    str     x4, [x1, x3, lsl #3]
    add     x3, x3, #1
    cmp     x3, #256
    b.lo    3b

    ldr     x0, =0xff               // MAIR: attr0 Normal WB, attr1 Device-nGnRnE
    msr     mair_el1, x0

    // TCR: T0SZ=16, IRGN0/ORGN0 WB WA, SH0 inner, TG0 4K, EPD1 (no TTBR1
    // walks yet; TG1 still names a valid granule), IPS = the CPU's physical
    // address size.
    ldr     x0, =((2 << 30) | (1 << 23) | (3 << 12) | (1 << 10) | (1 << 8) | 16)
    mrs     x1, id_aa64mmfr0_el1
    and     x1, x1, #7
    orr     x0, x0, x1, lsl #32
    msr     tcr_el1, x0

    adrp    x0, early_pg_l0
    msr     ttbr0_el1, x0
    isb
    tlbi    vmalle1
    dsb     nsh
    isb

    // SCTLR: the ARMv8.0 RES1 bits, M (MMU), C (data cache), I (icache);
    // A (alignment checking) stays off.
    ldr     x0, =(0x30d00800 | (1 << 12) | (1 << 2) | 1)
    msr     sctlr_el1, x0
    isb

    // Kernel code runs on SP_EL0 so that exception handlers can have
    // their own stack in SP_EL1 (set by the kernel's arch init).
    msr     spsel, #0
    adrp    x0, __stack_top
    add     x0, x0, :lo12:__stack_top
    mov     sp, x0
    mov     x29, xzr                // end of the frame-pointer chain
    mov     x30, xzr
    mov     x0, x19
    // gdb: the frame below the first Rust function is the outermost
    // (CFI in .debug_frame; the linker script drops .eh_frame).
    .cfi_sections .debug_frame
    .cfi_startproc
    .cfi_undefined x30
    bl      linux_image_start
4:  wfe
    b       4b
    .cfi_endproc
    .ltorg

    .section .bss.early_pgtables, "aw", %nobits
    .balign 4096
early_pg_l0:
    .space  4096
early_pg_l1:
    .space  4096
"#
);

extern "C" {
    static __kernel_start: u8;
    static __kernel_end: u8;
}

/// Filled once, on the boot CPU, before `kernel_main` runs.
static mut BOOT_INFO: BootInfo = BootInfo::empty();

const PAGE_SIZE: u64 = 4096;

/// The Rust half of the entry: reads the device tree into [`BOOT_INFO`] and
/// hands over to the kernel.
#[no_mangle]
extern "C" fn linux_image_start(dtb_phys: u64) -> ! {
    // SAFETY: runs once on the boot CPU before anything else reads
    // BOOT_INFO; after this the kernel only ever gets a shared reference.
    let info = unsafe { &mut *addr_of_mut!(BOOT_INFO) };
    fill_boot_info(info, dtb_phys);
    // SAFETY: `kernel_main` is defined by the kernel binary with exactly this
    // signature, and `info` is never written again.
    unsafe { crate::kernel_main(info) }
}

fn fill_boot_info(info: &mut BootInfo, dtb_phys: u64) {
    // Linker symbols: only their addresses mean anything.
    let start = core::ptr::addr_of!(__kernel_start) as u64;
    let end = core::ptr::addr_of!(__kernel_end) as u64;
    info.kernel_phys = MemoryRegion { base: start, len: end - start };
    info.kernel_virt_offset = 0;
    info.phys_window = 0;
    info.dtb_phys = Some(dtb_phys);

    // SAFETY: QEMU passes a valid flattened device tree in x0, inside RAM,
    // which the early map covers; nothing writes to it.
    let Ok(fdt) = (unsafe { fdt::Fdt::from_ptr(dtb_phys as *const u8) }) else {
        // No memory map and no command line: the kernel reports "no RAM".
        return;
    };

    let dtb = page_align(MemoryRegion { base: dtb_phys, len: fdt.total_size() as u64 });
    let mut reserved = [MemoryRegion::default(); 2 + MAX_MEMRESERVE];
    reserved[0] = page_align(info.kernel_phys);
    reserved[1] = dtb;
    for (slot, entry) in reserved[2..].iter_mut().zip(fdt.memory_reservations()) {
        *slot = page_align(MemoryRegion { base: entry.address() as u64, len: entry.size() as u64 });
    }
    for region in fdt.memory().regions() {
        let ram = MemoryRegion { base: region.starting_address as u64, len: region.size.unwrap_or(0) as u64 };
        info.add_ram(ram, &reserved);
    }

    let bootargs =
        fdt.find_node("/chosen").and_then(|chosen| chosen.property("bootargs")).map(|prop| prop.value).unwrap_or(&[]);
    // The property is a C string: drop the NUL and anything after it.
    let len = bootargs.iter().position(|&b| b == 0).unwrap_or(bootargs.len());
    info.set_cmdline(&bootargs[..len]);
}

/// `/memreserve/` entries honoured; QEMU's virt board emits none.
const MAX_MEMRESERVE: usize = 8;

/// Widens a region to whole pages, so a reserved range never shares a page
/// with usable memory.
fn page_align(region: MemoryRegion) -> MemoryRegion {
    let base = region.base & !(PAGE_SIZE - 1);
    let end = (region.end() + PAGE_SIZE - 1) & !(PAGE_SIZE - 1);
    MemoryRegion { base, len: end - base }
}
