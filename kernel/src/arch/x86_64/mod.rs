//! x86_64 (QEMU q35, xAPIC) implementation of the arch interface described
//! in `arch/mod.rs`.

mod selftest;
mod serial;

use boot::BootInfo;
use spin::Once;

pub use serial::exit_qemu;

static BOOT_INFO: Once<&'static BootInfo> = Once::new();

pub fn init_cpu0(info: &'static BootInfo) {
    BOOT_INFO.call_once(|| info);
    serial::init();
}

/// Temporary bring-up checks (see `selftest.rs`).
pub fn bringup_selftest() {
    if let Some(info) = BOOT_INFO.get() {
        selftest::run(info);
    }
}

pub fn console_write(bytes: &[u8]) {
    serial::write_bytes(bytes);
}
