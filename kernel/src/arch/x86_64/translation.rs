//! The paging-control registers as this CPU holds them, and what each bit
//! must be, written out bit by bit from the architecture (not from the code
//! that sets them, so a wrong bit shows).

use alloc::vec::Vec;
use x86_64::registers::control::{Cr0, Cr4};
use x86_64::registers::model_specific::Msr;

use crate::arch::TranslationField;

const IA32_EFER: u32 = 0xc000_0080;

/// The raw registers, read on one CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TranslationRegisters {
    cr0: u64,
    cr4: u64,
    efer: u64,
}

/// Reads this CPU's registers.
pub fn translation_registers() -> TranslationRegisters {
    // SAFETY: IA32_EFER exists on every x86_64 CPU; reading it has no effect.
    let efer = unsafe { Msr::new(IA32_EFER).read() };
    TranslationRegisters { cr0: Cr0::read_raw(), cr4: Cr4::read_raw(), efer }
}

/// Each bit the kernel's tables and flushes depend on: 4-level long-mode
/// paging, ring 0 honouring read-only PTEs (the write-protect cases), the
/// NX bit valid, and no global pages or PCIDs, so that a CR3 reload (the
/// full flush) drops every translation.
pub fn translation_fields(regs: &TranslationRegisters) -> Vec<TranslationField> {
    let bit = |register, value: u64, field, meaning, at: u32, expected| TranslationField {
        register,
        field,
        meaning,
        expected,
        seen: (value >> at) & 1,
    };
    alloc::vec![
        bit("CR0", regs.cr0, "PE", "protected mode", 0, 1),
        bit("CR0", regs.cr0, "WP", "ring 0 honours read-only PTEs", 16, 1),
        bit("CR0", regs.cr0, "PG", "paging on", 31, 1),
        bit("CR4", regs.cr4, "PAE", "64-bit PTEs", 5, 1),
        bit("CR4", regs.cr4, "PGE", "no global pages: a CR3 reload flushes everything", 7, 0),
        bit("CR4", regs.cr4, "LA57", "4-level tables", 12, 0),
        bit("CR4", regs.cr4, "PCIDE", "no PCIDs: a CR3 reload flushes everything", 17, 0),
        bit("EFER", regs.efer, "LME", "long mode enabled", 8, 1),
        bit("EFER", regs.efer, "LMA", "long mode active", 10, 1),
        bit("EFER", regs.efer, "NXE", "the NX bit is valid", 11, 1),
    ]
}
