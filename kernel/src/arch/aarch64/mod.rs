//! arm64 (QEMU `virt`, GICv3) implementation of the arch interface described
//! in `arch/mod.rs`.

mod pl011;
mod selftest;
mod semihosting;

use boot::BootInfo;
use spin::Once;

pub use semihosting::exit_qemu;

static BOOT_INFO: Once<&'static BootInfo> = Once::new();

pub fn init_cpu0(info: &'static BootInfo) {
    BOOT_INFO.call_once(|| info);
}

/// Temporary bring-up checks (see `selftest.rs`).
pub fn bringup_selftest() {
    if let Some(info) = BOOT_INFO.get() {
        selftest::print_boot_info(info);
    }
}

pub fn console_write(bytes: &[u8]) {
    pl011::write_bytes(bytes);
}
