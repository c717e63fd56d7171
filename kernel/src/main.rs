//! lazymmu: boots, installs its own page tables and runs the lazy-MMU
//! scenarios, reporting in KTAP on the first serial port.
#![no_std]
#![no_main]

extern crate alloc;

mod arch;
mod console;
mod crash;

use boot::BootInfo;

/// The portable entry every boot adapter calls once it has a stack and an
/// identity map of RAM.
#[no_mangle]
pub extern "Rust" fn kernel_main(info: &'static BootInfo) -> ! {
    arch::init_cpu0(info);
    console::init();
    arch::bringup_selftest();
    log::info!("lazymmu: {} usable RAM regions", info.usable().len());
    arch::exit_qemu(arch::QemuExit::Pass)
}
