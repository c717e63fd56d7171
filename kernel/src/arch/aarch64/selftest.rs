//! Bring-up checks printed at boot while the arch layer is young; the lead
//! removes the call once the ktest suites cover the same ground.

use boot::BootInfo;

pub fn print_boot_info(info: &BootInfo) {
    for region in info.ram() {
        log::info!("arm64: RAM    {:#x}..{:#x}", region.base, region.end());
    }
    for region in info.usable() {
        log::info!("arm64: usable {:#x}..{:#x}", region.base, region.end());
    }
    log::info!(
        "arm64: kernel {:#x}..{:#x}, dtb {:#x}",
        info.kernel_phys.base,
        info.kernel_phys.end(),
        info.dtb_phys.unwrap_or(0)
    );
    match core::str::from_utf8(info.cmdline()) {
        Ok(cmdline) => log::info!("arm64: cmdline {cmdline:?}"),
        Err(_) => log::info!("arm64: cmdline (not UTF-8) {:x?}", info.cmdline()),
    }
}
