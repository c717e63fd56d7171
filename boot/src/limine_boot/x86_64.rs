//! x86_64 half of the Limine adapter: the entry code, the RSDP, and the
//! one-line failure report on COM1.

use core::arch::{asm, global_asm};
use core::fmt::Write;

use limine::request::RsdpRequest;

use crate::{BootInfo, MemoryRegion};

#[used]
#[link_section = ".limine_requests"]
static RSDP: RsdpRequest = RsdpRequest::new();

/// Below 1 MiB live the BIOS data and the SMP trampoline pages the kernel
/// writes at 0x8000: none of it is handed out (the same rule as PVH boot).
pub const LOW_MEMORY: MemoryRegion = MemoryRegion { base: 0, len: 0x10_0000 };

// Limine enters in long mode with WP and NXE set, on its own stack. The
// control bits direct boot sets and the kernel keeps: CR4.OSFXSR and
// OSXMMEXCPT, CR0.MP with CR0.EM clear (SSE usable).
global_asm!(
    r#"
    .pushsection .text.boot, "ax"
    .global limine_entry
limine_entry:
    cli
    cld
    movq    %cr4, %rax
    orq     $((1 << 9) | (1 << 10)), %rax               # OSFXSR, OSXMMEXCPT
    movq    %rax, %cr4
    movq    %cr0, %rax
    andq    $~(1 << 2), %rax                            # EM off
    orq     $((1 << 16) | (1 << 1)), %rax               # WP, MP
    movq    %rax, %cr0
    leaq    __stack_top(%rip), %rsp
    xorl    %ebp, %ebp              # end of the frame-pointer chain
    # gdb: the frame below the first Rust function is the outermost
    # (CFI in .debug_frame; the linker script drops .eh_frame).
    .cfi_sections .debug_frame
    .cfi_startproc
    .cfi_undefined %rip
    call    limine_start
1:  hlt
    jmp     1b
    .cfi_endproc
    .popsection
"#,
    options(att_syntax)
);

/// Records the RSDP; x86 has no firmware table to keep out of the usable
/// list (the RSDP lives in reserved or ACPI memory).
pub fn fill_firmware_tables(info: &mut BootInfo) -> MemoryRegion {
    info.rsdp_phys = RSDP.get_response().map(|rsdp| super::hhdm_to_phys(info, rsdp.address() as u64));
    MemoryRegion::default()
}

const COM1_DATA: u16 = 0x3f8;
const COM1_LINE_STATUS: u16 = 0x3fd;
const LINE_STATUS_THR_EMPTY: u8 = 1 << 5;
/// isa-debug-exit: QEMU exits with (18 << 1) | 1 = 37, the "crash" status.
const QEMU_EXIT_PORT: u16 = 0xf4;
const QEMU_EXIT_CRASH: u32 = 18;

struct Com1;

impl Write for Com1 {
    fn write_str(&mut self, text: &str) -> core::fmt::Result {
        for byte in text.bytes() {
            // SAFETY: COM1's status and data ports; polling THR-empty and
            // writing one byte has no other effect.
            unsafe {
                loop {
                    let status: u8;
                    asm!("in al, dx", out("al") status, in("dx") COM1_LINE_STATUS, options(nomem, nostack));
                    if status & LINE_STATUS_THR_EMPTY != 0 {
                        break;
                    }
                }
                asm!("out dx, al", in("dx") COM1_DATA, in("al") byte, options(nomem, nostack));
            }
        }
        Ok(())
    }
}

/// The kernel cannot run: says why in one line on COM1 and ends QEMU with
/// the crash status (halts on a machine without isa-debug-exit).
pub fn fail(why: core::fmt::Arguments) -> ! {
    // Nothing to do if COM1 refuses a byte: the exit status still tells.
    let _ = Com1.write_fmt(why);
    // SAFETY: a write to QEMU's isa-debug-exit port; elsewhere an unused port.
    unsafe { asm!("out dx, eax", in("dx") QEMU_EXIT_PORT, in("eax") QEMU_EXIT_CRASH, options(nomem, nostack)) };
    loop {
        // SAFETY: interrupts are off since the entry: the CPU stops here.
        unsafe { asm!("hlt", options(nomem, nostack)) };
    }
}
