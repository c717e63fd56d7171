//! arm64 half of the Limine adapter: the entry code, the device tree, and
//! the one-line failure report on the PL011.

use core::arch::{asm, global_asm};
use core::fmt::Write;

use limine::request::DeviceTreeBlobRequest;

use crate::{BootInfo, MemoryRegion};

#[used]
#[link_section = ".limine_requests"]
static DEVICE_TREE: DeviceTreeBlobRequest = DeviceTreeBlobRequest::new();

/// Nothing below the RAM base needs keeping on arm64.
pub const LOW_MEMORY: MemoryRegion = MemoryRegion { base: 0, len: 0 };

// Limine enters at EL1 on SP_EL0 (where kernel code runs; SP_EL1 is the
// exception stack the kernel sets up), MMU and caches on, IRQs masked.
global_asm!(
    r#"
    .section .text.boot, "ax"
    .global limine_entry
limine_entry:
    mov     x0, #(3 << 20)          // CPACR_EL1.FPEN: FP/SIMD for Rust
    msr     cpacr_el1, x0
    isb
    msr     spsel, #0
    adrp    x0, __stack_top
    add     x0, x0, :lo12:__stack_top
    mov     sp, x0
    mov     x29, xzr                // end of the frame-pointer chain
    mov     x30, xzr
    // gdb: the frame below the first Rust function is the outermost
    // (CFI in .debug_frame; the linker script drops .eh_frame).
    .cfi_sections .debug_frame
    .cfi_startproc
    .cfi_undefined x30
    bl      limine_start
1:  wfe
    b       1b
    .cfi_endproc
"#
);

/// Records the device tree and returns the range it occupies, which must
/// stay out of the usable list.
pub fn fill_firmware_tables(info: &mut BootInfo) -> MemoryRegion {
    let Some(dtb) = DEVICE_TREE.get_response() else {
        return MemoryRegion::default();
    };
    let pointer = dtb.dtb_ptr() as u64;
    let base = super::hhdm_to_phys(info, pointer);
    info.dtb_phys = Some(base);
    // SAFETY: Limine hands over a mapped, valid flattened device tree that
    // nothing writes.
    match unsafe { fdt::Fdt::from_ptr(pointer as *const u8) } {
        Ok(fdt) => MemoryRegion { base, len: fdt.total_size() as u64 },
        Err(_) => MemoryRegion::default(),
    }
}

/// virt's UART0; the failure path runs before anything parsed the device
/// tree, and the board is the only one the runner boots.
const PL011_PHYS: u64 = 0x0900_0000;
const UARTFR: u64 = 0x18;
const UARTFR_TXFF: u32 = 1 << 5;

struct Pl011(u64);

impl Write for Pl011 {
    fn write_str(&mut self, text: &str) -> core::fmt::Result {
        for byte in text.bytes() {
            // SAFETY: the PL011's flag and data registers, reached through
            // Limine's HHDM, which covers the first 4 GiB.
            unsafe {
                while ((self.0 + UARTFR) as *const u32).read_volatile() & UARTFR_TXFF != 0 {
                    core::hint::spin_loop();
                }
                (self.0 as *mut u32).write_volatile(u32::from(byte));
            }
        }
        Ok(())
    }
}

/// Semihosting SYS_EXIT with ADP_Stopped_ApplicationExit and the crash
/// status 37 (the same numbers the kernel uses).
const SYS_EXIT: u64 = 0x18;
const ADP_STOPPED_APPLICATION_EXIT: u64 = 0x20026;
const QEMU_EXIT_CRASH: u64 = 37;

/// The kernel cannot run: says why in one line on the UART and ends QEMU
/// with the crash status.
pub fn fail(why: core::fmt::Arguments) -> ! {
    let window = super::HHDM.get_response().map_or(0, |hhdm| hhdm.offset());
    // Nothing to do if the write fails: the exit status still tells.
    let _ = Pl011(window + PL011_PHYS).write_fmt(why);
    let block = [ADP_STOPPED_APPLICATION_EXIT, QEMU_EXIT_CRASH];
    // SAFETY: a semihosting call (QEMU runs with semihosting enabled); `x1`
    // points at the two-word parameter block it reads.
    unsafe { asm!("hlt #0xf000", in("w0") SYS_EXIT as u32, in("x1") block.as_ptr(), options(nostack)) };
    loop {
        core::hint::spin_loop();
    }
}
