//! The PL011 UART of the virt board: transmit only. QEMU's model needs no
//! set-up; the base comes from the device tree once it is parsed, and the
//! board's usual address serves until then so the very first bytes show.

use core::sync::atomic::{AtomicU64, Ordering};

use super::mmu::mmio_virt;

/// virt's UART0, used until `set_base` gives the device tree's address.
const FALLBACK_BASE: u64 = 0x0900_0000;
/// Data register.
const UARTDR: u64 = 0x00;
/// Flag register; TXFF = transmit FIFO full.
const UARTFR: u64 = 0x18;
const UARTFR_TXFF: u32 = 1 << 5;

static BASE: AtomicU64 = AtomicU64::new(FALLBACK_BASE);

pub fn set_base(base: u64) {
    BASE.store(base, Ordering::Relaxed);
}

pub fn base() -> u64 {
    BASE.load(Ordering::Relaxed)
}

pub fn write_bytes(bytes: &[u8]) {
    let base = base();
    for &byte in bytes {
        if byte == b'\n' {
            put(base, b'\r');
        }
        put(base, byte);
    }
}

fn put(base: u64, byte: u8) {
    let flags = mmio_virt(base + UARTFR) as *const u32;
    let data = mmio_virt(base + UARTDR) as *mut u32;
    // SAFETY: `base` is the PL011 from the device tree (or virt's fixed one),
    // reached through the boot window before the switch and mapped as Device
    // memory in the kernel tables; these are its flag and data registers.
    unsafe {
        while flags.read_volatile() & UARTFR_TXFF != 0 {
            core::hint::spin_loop();
        }
        data.write_volatile(u32::from(byte));
    }
}
