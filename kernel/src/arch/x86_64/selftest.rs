//! Bring-up checks printed at boot: what the boot adapter handed over.

use boot::BootInfo;

use crate::kprintln;

pub fn run(info: &BootInfo) {
    kprintln!(
        "# x86_64 bring-up: kernel image {:#x}..{:#x}",
        info.kernel_phys.base,
        info.kernel_phys.end()
    );
    for region in info.ram() {
        kprintln!("# ram    {:#012x}..{:#012x}", region.base, region.end());
    }
    for region in info.usable() {
        kprintln!("# usable {:#012x}..{:#012x}", region.base, region.end());
    }
    let cmdline = core::str::from_utf8(info.cmdline()).unwrap_or("<not UTF-8>");
    kprintln!(
        "# cmdline {:?} (truncated: {})",
        cmdline,
        info.cmdline_truncated
    );
    kprintln!("# rsdp {:x?}", info.rsdp_phys);
}
