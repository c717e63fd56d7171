//! Entering x86_64 long mode from 32-bit protected mode: the control bits
//! and the one instruction sequence that the boot CPU's PVH entry
//! (`pvh.rs`) and CPU1's trampoline (the kernel's `arch/x86_64/smp.rs`)
//! both run, and the flat GDT descriptors they load. Values come from the
//! `x86_64` crate's register and descriptor flag types.
//!
//! Bits set here and kept by the kernel: CR0.WP (ring 0 honours read-only
//! PTEs, which the write-protect cases need), EFER.NXE (the NX bit is
//! valid), CR4.OSFXSR/OSXMMEXCPT and CR0.MP with CR0.EM clear (SSE usable).

use x86_64::registers::control::{Cr0Flags, Cr4Flags};
use x86_64::registers::model_specific::EferFlags;
use x86_64::structures::gdt::DescriptorFlags;
use x86_64::structures::paging::PageTableFlags;

/// CR4: PAE (long mode needs it), SSE state and exceptions.
pub const CR4_SET: u32 =
    Cr4Flags::PHYSICAL_ADDRESS_EXTENSION.union(Cr4Flags::OSFXSR).union(Cr4Flags::OSXMMEXCPT_ENABLE).bits() as u32;

/// `IA32_EFER` (the `x86_64` crate's `Efer::MSR`, whose number it keeps
/// private).
pub const EFER_MSR: u32 = 0xc000_0080;

/// EFER, low half: long mode and the NX bit.
pub const EFER_SET: u32 = EferFlags::LONG_MODE_ENABLE.union(EferFlags::NO_EXECUTE_ENABLE).bits() as u32;

/// CR0: paging (which, with EFER.LME, activates long mode), protection,
/// write protection in ring 0, and SSE without x87 emulation.
pub const CR0_SET: u32 = Cr0Flags::PAGING
    .union(Cr0Flags::PROTECTED_MODE_ENABLE)
    .union(Cr0Flags::WRITE_PROTECT)
    .union(Cr0Flags::MONITOR_COPROCESSOR)
    .bits() as u32;

/// CR0 bits kept: all but EM (x87 emulation would trap SSE).
pub const CR0_KEEP: u32 = !(Cr0Flags::EMULATE_COPROCESSOR.bits() as u32);

/// Flat ring-0 descriptors for a boot GDT.
pub const GDT_CODE64: u64 = DescriptorFlags::KERNEL_CODE64.bits();
pub const GDT_CODE32: u64 = DescriptorFlags::KERNEL_CODE32.bits();
pub const GDT_DATA: u64 = DescriptorFlags::KERNEL_DATA.bits();

/// An early table entry: present and writable; with [`PTE_HUGE`], a 2 MiB
/// page in a page directory.
pub const PTE_TABLE: u64 = PageTableFlags::PRESENT.union(PageTableFlags::WRITABLE).bits();
pub const PTE_HUGE: u64 = PageTableFlags::HUGE_PAGE.bits();

/// The 32-bit AT&T sequence from protected mode with paging off to long
/// mode (compatibility mode until a far jump to a 64-bit code segment).
/// CR3 must already hold the PML4. Clobbers `eax`, `ecx` and `edx`. The
/// `global_asm!` that uses it passes `cr4_set`, `efer_msr`, `efer_set`,
/// `cr0_keep` and `cr0_set` as `const` operands from this module.
#[macro_export]
macro_rules! enter_long_mode_asm {
    () => {
        r#"
    movl    %cr4, %eax
    orl     ${cr4_set}, %eax
    movl    %eax, %cr4
    movl    ${efer_msr}, %ecx
    rdmsr
    orl     ${efer_set}, %eax
    wrmsr
    movl    %cr0, %eax
    andl    ${cr0_keep}, %eax
    orl     ${cr0_set}, %eax
    movl    %eax, %cr0
"#
    };
}
