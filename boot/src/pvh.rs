//! x86_64 direct boot through the Xen PVH protocol, which QEMU `-kernel`
//! speaks for an ELF carrying a `XEN_ELFNOTE_PHYS32_ENTRY` note: the CPU
//! arrives in 32-bit protected mode, paging off, `ebx` = the physical address
//! of an `hvm_start_info` (xen/include/public/arch-x86/hvm/start_info.h).
//! A short 32-bit trampoline zeroes `.bss`, identity-maps the first 4 GiB,
//! enters long mode, and Rust reads the memory map and command line.

use core::arch::global_asm;
use core::ptr::{addr_of, addr_of_mut};

use crate::{long_mode, BootInfo, MemoryRegion};

/// `bench-floor`: the first instruction writes 0 to isa-debug-exit, so QEMU
/// exits (status 1) before anything else runs; `lazymmu-run bench` times
/// this as the floor of QEMU's own start and exit.
#[cfg(feature = "bench-floor")]
macro_rules! bench_floor_exit {
    () => {
        "    xorl %eax, %eax\n    movw $0xf4, %dx\n    outb %al, %dx\n"
    };
}
#[cfg(not(feature = "bench-floor"))]
macro_rules! bench_floor_exit {
    () => {
        ""
    };
}

// Early identity map of 0..4 GiB in 2 MiB pages (RAM, the LAPIC at
// 0xfee0_0000, the PCI hole): one PML4, one PDPT, four page directories, all
// in .bss. The kernel replaces it with 4 KiB W^X tables later. The control
// bits and the way into long mode are `long_mode`'s, shared with CPU1.
global_asm!(
    r#"
    .pushsection .note.Xen, "a", @note
    .balign 4
    .long   4                       # namesz: "Xen\0"
    .long   8                       # descsz: a 64-bit entry address
    .long   18                      # XEN_ELFNOTE_PHYS32_ENTRY
    .asciz  "Xen"
    .balign 4
    .quad   pvh_start32
    .balign 4
    .popsection

    .pushsection .text.boot, "ax"
    .code32
    .global pvh_start32
pvh_start32:
"#,
    bench_floor_exit!(),
    r#"
    cli
    cld
    movl    %ebx, %esi              # hvm_start_info, kept for Rust

    cmpl    $0x336ec578, (%ebx)     # XEN_HVM_START_MAGIC_VALUE
    jne     pvh_bad_magic

    # .bss first: the tables and the stack live there.
    movl    $__bss_start, %edi
    movl    $__bss_end, %ecx
    subl    %edi, %ecx
    shrl    $2, %ecx
    xorl    %eax, %eax
    rep stosl

    # PML4[0] -> PDPT; PDPT[0..4] -> PD0..PD3 (present, writable).
    movl    $__boot_pdpt, %eax
    orl     ${pte_table}, %eax
    movl    %eax, __boot_pml4
    movl    $__boot_pd, %eax
    orl     ${pte_table}, %eax
    xorl    %ecx, %ecx
1:  movl    %eax, __boot_pdpt(,%ecx,8)
    addl    $0x1000, %eax
    incl    %ecx
    cmpl    $4, %ecx
    jne     1b

    # 2048 PDEs: 2 MiB pages, present, writable, PS.
    movl    ${pte_huge_page}, %eax
    xorl    %ecx, %ecx
2:  movl    %eax, __boot_pd(,%ecx,8)
    addl    $0x200000, %eax
    incl    %ecx
    cmpl    $2048, %ecx
    jne     2b

    movl    $__boot_pml4, %eax
    movl    %eax, %cr3
"#,
    crate::enter_long_mode_asm!(),
    r#"
    lgdt    pvh_gdt_ptr
    ljmp    $0x08, $pvh_start64

pvh_bad_magic:
    # Not PVH: end QEMU with the "crash" status (isa-debug-exit, 18 -> 37).
    movw    $0xf4, %dx
    movl    $18, %eax
    outl    %eax, %dx
3:  hlt
    jmp     3b

    .code64
pvh_start64:
    movl    $0x10, %eax
    movl    %eax, %ds
    movl    %eax, %es
    movl    %eax, %ss
    xorl    %eax, %eax
    movl    %eax, %fs
    movl    %eax, %gs
    movabsq $__stack_top, %rsp
    xorl    %ebp, %ebp              # end of the frame-pointer chain
    movl    %esi, %edi
    # gdb: the frame below the first Rust function is the outermost
    # (CFI in .debug_frame; the linker script drops .eh_frame).
    .cfi_sections .debug_frame
    .cfi_startproc
    .cfi_undefined %rip
    call    pvh_start
4:  hlt
    jmp     4b
    .cfi_endproc

    .balign 8
pvh_gdt:
    .quad   0                       # null
    .quad   {gdt_code64}            # 0x08: 64-bit code, ring 0
    .quad   {gdt_data}              # 0x10: data, ring 0
pvh_gdt_ptr:
    .word   pvh_gdt_ptr - pvh_gdt - 1
    .long   pvh_gdt
    .popsection

    .pushsection .bss.boot_pgtables, "aw", @nobits
    .balign 4096
__boot_pml4:
    .space  4096
__boot_pdpt:
    .space  4096
__boot_pd:
    .space  4 * 4096
    .popsection
"#,
    pte_table = const long_mode::PTE_TABLE,
    pte_huge_page = const long_mode::PTE_TABLE | long_mode::PTE_HUGE,
    cr4_set = const long_mode::CR4_SET,
    efer_msr = const long_mode::EFER_MSR,
    efer_set = const long_mode::EFER_SET,
    cr0_keep = const long_mode::CR0_KEEP,
    cr0_set = const long_mode::CR0_SET,
    gdt_code64 = const long_mode::GDT_CODE64,
    gdt_data = const long_mode::GDT_DATA,
    options(att_syntax)
);

extern "C" {
    static __kernel_start: u8;
    static __kernel_end: u8;
}

/// The part of `hvm_start_info` this kernel reads (version 1 layout).
#[repr(C)]
struct HvmStartInfo {
    magic: u32,
    version: u32,
    flags: u32,
    nr_modules: u32,
    modlist_paddr: u64,
    cmdline_paddr: u64,
    rsdp_paddr: u64,
    /// Present from version 1 on.
    memmap_paddr: u64,
    memmap_entries: u32,
    reserved: u32,
}

/// One `hvm_memmap_table_entry` (E820 types).
#[repr(C)]
struct HvmMemmapEntry {
    addr: u64,
    size: u64,
    kind: u32,
    reserved: u32,
}

const E820_RAM: u32 = 1;

/// Below 1 MiB live the BIOS data, the PVH option ROM's tables and the SMP
/// trampoline page the kernel writes at 0x8000: none of it is handed out.
const LOW_MEMORY: MemoryRegion = MemoryRegion { base: 0, len: 0x10_0000 };

/// Filled once, on the boot CPU, before `kernel_main` runs.
static mut BOOT_INFO: BootInfo = BootInfo::empty();

/// The Rust half of the entry: reads `hvm_start_info` into [`BOOT_INFO`] and
/// hands over to the kernel.
#[no_mangle]
extern "C" fn pvh_start(start_info_phys: u32) -> ! {
    // SAFETY: runs once on the boot CPU before anything else reads
    // BOOT_INFO; after this the kernel only ever gets a shared reference.
    let info = unsafe { &mut *addr_of_mut!(BOOT_INFO) };
    // SAFETY: the entry code checked the magic; QEMU's PVH option ROM builds
    // the structure in low RAM, which the early map covers, and nothing
    // writes it while we read.
    let start_info = unsafe { &*(start_info_phys as usize as *const HvmStartInfo) };
    fill_boot_info(info, start_info);
    // SAFETY: `kernel_main` is defined by the kernel binary with exactly this
    // signature, and `info` is never written again.
    unsafe { crate::kernel_main(info) }
}

fn fill_boot_info(info: &mut BootInfo, start_info: &HvmStartInfo) {
    // Linker symbols: only their addresses mean anything.
    let start = addr_of!(__kernel_start) as u64;
    let end = addr_of!(__kernel_end) as u64;
    // The image (boot page tables and stack included, they are in .bss)
    // and low memory stay out of the usable list.
    info.kernel_phys = MemoryRegion { base: start, len: end - start };
    info.kernel_virt_offset = 0;
    info.phys_window = 0;
    info.rsdp_phys = (start_info.rsdp_paddr != 0).then_some(start_info.rsdp_paddr);
    let reserved = [LOW_MEMORY, info.kernel_phys];

    // Version 0 has no memory map: the kernel then reports "no RAM".
    if start_info.version >= 1 && start_info.memmap_paddr != 0 {
        // SAFETY: QEMU writes `memmap_entries` entries at `memmap_paddr` in
        // low RAM, identity mapped, and never changes them.
        let entries = unsafe {
            core::slice::from_raw_parts(
                start_info.memmap_paddr as usize as *const HvmMemmapEntry,
                start_info.memmap_entries as usize,
            )
        };
        for entry in entries.iter().filter(|entry| entry.kind == E820_RAM) {
            info.add_ram(MemoryRegion { base: entry.addr, len: entry.size }, &reserved);
        }
    }

    if start_info.cmdline_paddr != 0 {
        // SAFETY: a NUL-terminated string in identity-mapped low RAM. The
        // scan stops one byte past what BootInfo keeps, so a longer line is
        // still seen as truncated.
        let bytes = unsafe {
            let cmdline = start_info.cmdline_paddr as usize as *const u8;
            let len = (0..=crate::CMDLINE_MAX).find(|&i| *cmdline.add(i) == 0).unwrap_or(crate::CMDLINE_MAX + 1);
            core::slice::from_raw_parts(cmdline, len)
        };
        info.set_cmdline(bytes);
    }
}
