//! Boot through the Limine protocol (base revision 2, which Limine 8.x
//! supports). Limine loads the ELF at its higher-half link address, maps all
//! RAM and the first 4 GiB at the HHDM offset, and enters with paging on, on
//! a stack in bootloader-reclaimable memory. The entry code moves to the
//! kernel's own boot stack (so reclaimable memory is never live afterwards)
//! and Rust turns the responses into the same [`BootInfo`] direct boot
//! fills: `phys_window` = the HHDM offset, `kernel_virt_offset` = link
//! address minus load address.
//!
//! CPU1 is not requested through Limine's MP feature: the kernel starts it
//! itself (INIT-SIPI-SIPI / PSCI CPU_ON) exactly as after direct boot, which
//! a CPU parked by Limine would refuse on arm64 (PSCI "already on").

use core::ptr::{addr_of, addr_of_mut};

use limine::memory_map::EntryType;
use limine::request::{
    ExecutableAddressRequest, ExecutableFileRequest, HhdmRequest, MemoryMapRequest, RequestsEndMarker,
    RequestsStartMarker,
};
use limine::BaseRevision;

use crate::{BootInfo, MemoryRegion};

#[cfg(target_arch = "x86_64")]
#[path = "limine_boot/x86_64.rs"]
mod arch;

#[cfg(target_arch = "aarch64")]
#[path = "limine_boot/aarch64.rs"]
mod arch;

/// Limine 8.x supports base revisions 0 to 2; 2 is the newest.
const BASE_REVISION_NUMBER: u64 = 2;

#[used]
#[link_section = ".limine_requests_start"]
static REQUESTS_START: RequestsStartMarker = RequestsStartMarker::new();

#[used]
#[link_section = ".limine_requests"]
static BASE_REVISION: BaseRevision = BaseRevision::with_revision(BASE_REVISION_NUMBER);

#[used]
#[link_section = ".limine_requests"]
static MEMORY_MAP: MemoryMapRequest = MemoryMapRequest::new();

#[used]
#[link_section = ".limine_requests"]
static HHDM: HhdmRequest = HhdmRequest::new();

#[used]
#[link_section = ".limine_requests"]
static EXECUTABLE_ADDRESS: ExecutableAddressRequest = ExecutableAddressRequest::new();

/// Limine 8.x has no separate command-line feature: the command line is
/// the `cmdline` string of the executable's file.
#[used]
#[link_section = ".limine_requests"]
static EXECUTABLE_FILE: ExecutableFileRequest = ExecutableFileRequest::new();

#[used]
#[link_section = ".limine_requests_end"]
static REQUESTS_END: RequestsEndMarker = RequestsEndMarker::new();

extern "C" {
    static __kernel_start: u8;
    static __kernel_end: u8;
}

const PAGE_SIZE: u64 = 4096;

/// Filled once, on the boot CPU, before `kernel_main` runs.
static mut BOOT_INFO: BootInfo = BootInfo::empty();

/// The Rust half of the entry (the arch's `limine_entry` calls it on the
/// kernel's boot stack): reads the responses into [`BOOT_INFO`] and hands
/// over to the kernel.
#[no_mangle]
extern "C" fn limine_start() -> ! {
    if !BASE_REVISION.is_supported() {
        arch::fail(format_args!(
            "lazymmu: this bootloader does not support Limine base revision {BASE_REVISION_NUMBER} \
             (Limine 8.x supports 0-2): boot with a Limine 8.x binary release\n"
        ));
    }
    let (Some(hhdm), Some(address), Some(memory_map)) =
        (HHDM.get_response(), EXECUTABLE_ADDRESS.get_response(), MEMORY_MAP.get_response())
    else {
        arch::fail(format_args!("lazymmu: Limine gave no HHDM, executable address or memory map response\n"));
    };
    // SAFETY: runs once on the boot CPU before anything else reads
    // BOOT_INFO; after this the kernel only ever gets a shared reference.
    let info = unsafe { &mut *addr_of_mut!(BOOT_INFO) };
    info.phys_window = hhdm.offset();
    info.kernel_virt_offset = address.virtual_base().wrapping_sub(address.physical_base());
    // Linker symbols: only their addresses mean anything.
    let start = addr_of!(__kernel_start) as u64;
    let end = addr_of!(__kernel_end) as u64;
    info.kernel_phys = MemoryRegion { base: start - info.kernel_virt_offset, len: end - start };
    let firmware_tables = arch::fill_firmware_tables(info);
    let reserved = [arch::LOW_MEMORY, page_align(info.kernel_phys), page_align(firmware_tables)];
    for entry in memory_map.entries() {
        let region = MemoryRegion { base: entry.base, len: entry.length };
        match entry.entry_type {
            EntryType::USABLE => info.add_ram(region, &reserved),
            // RAM, so the linear map covers it, but live until the kernel's
            // own tables are in (Limine's page tables, the responses) or
            // the image itself: never handed out.
            EntryType::BOOTLOADER_RECLAIMABLE | EntryType::EXECUTABLE_AND_MODULES => info.add_ram(region, &[region]),
            _ => {}
        }
    }

    if let Some(file) = EXECUTABLE_FILE.get_response() {
        let cmdline = file.file().string().to_bytes();
        info.set_cmdline(cmdline);
    }
    // SAFETY: `kernel_main` is defined by the kernel binary with exactly this
    // signature, and `info` is never written again.
    unsafe { crate::kernel_main(info) }
}

/// A pointer Limine gave (an HHDM address in base revisions 0-2) as the
/// physical address it stands for.
pub(crate) fn hhdm_to_phys(info: &BootInfo, pointer: u64) -> u64 {
    if pointer >= info.phys_window {
        pointer - info.phys_window
    } else {
        pointer
    }
}

/// Widens a region to whole pages, so a reserved range never shares a page
/// with usable memory.
fn page_align(region: MemoryRegion) -> MemoryRegion {
    let base = region.base & !(PAGE_SIZE - 1);
    let end = (region.end() + PAGE_SIZE - 1) & !(PAGE_SIZE - 1);
    MemoryRegion { base, len: end - base }
}
