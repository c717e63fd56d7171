//! The translation-control registers as this CPU holds them, and what each
//! field must be, written out field by field from the architecture (not
//! from the constants that set them, so a wrong constant shows). QEMU TCG
//! ignores shareability and cacheability, so only reading them back can
//! show one set wrong.

use aarch64_cpu::registers::{Readable, ID_AA64MMFR0_EL1, MAIR_EL1, SCTLR_EL1, TCR_EL1};
use alloc::vec::Vec;
use mm::pte::arm64::{MAIR_INDEX_DEVICE, MAIR_INDEX_NORMAL};

use crate::arch::TranslationField;

/// The raw registers, read on one CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TranslationRegisters {
    tcr: u64,
    mair: u64,
    sctlr: u64,
    mmfr0: u64,
}

/// Reads this CPU's registers.
pub fn translation_registers() -> TranslationRegisters {
    TranslationRegisters {
        tcr: TCR_EL1.get(),
        mair: MAIR_EL1.get(),
        sctlr: SCTLR_EL1.get(),
        mmfr0: ID_AA64MMFR0_EL1.get(),
    }
}

fn bits(value: u64, low: u32, width: u32) -> u64 {
    (value >> low) & ((1 << width) - 1)
}

/// Each field the kernel's tables depend on: 48-bit VAs in both halves with
/// 4 KiB granules, table walks write-back cacheable and inner shareable (as
/// Linux sets them), the physical address size the CPU has, mm's two
/// memory types at the MAIR indices its PTEs name, and the MMU and caches
/// on with no implicit write-implies-execute-never.
pub fn translation_fields(regs: &TranslationRegisters) -> Vec<TranslationField> {
    let tcr = |field, meaning, low, width, expected| TranslationField {
        register: "TCR_EL1",
        field,
        meaning,
        expected,
        seen: bits(regs.tcr, low, width),
    };
    let mair = |field, meaning, index: u64, expected| TranslationField {
        register: "MAIR_EL1",
        field,
        meaning,
        expected,
        seen: bits(regs.mair, 8 * index as u32, 8),
    };
    let sctlr = |field, meaning, bit, expected| TranslationField {
        register: "SCTLR_EL1",
        field,
        meaning,
        expected,
        seen: bits(regs.sctlr, bit, 1),
    };
    alloc::vec![
        tcr("T0SZ", "48-bit low half", 0, 6, 16),
        tcr("EPD0", "TTBR0 walks enabled", 7, 1, 0),
        tcr("IRGN0", "walks inner write-back write-allocate", 8, 2, 0b01),
        tcr("ORGN0", "walks outer write-back write-allocate", 10, 2, 0b01),
        tcr("SH0", "walks inner shareable", 12, 2, 0b11),
        tcr("TG0", "4 KiB granule", 14, 2, 0b00),
        tcr("T1SZ", "48-bit high half", 16, 6, 16),
        tcr("A1", "ASID from TTBR0", 22, 1, 0),
        tcr("EPD1", "TTBR1 walks enabled", 23, 1, 0),
        tcr("IRGN1", "walks inner write-back write-allocate", 24, 2, 0b01),
        tcr("ORGN1", "walks outer write-back write-allocate", 26, 2, 0b01),
        tcr("SH1", "walks inner shareable", 28, 2, 0b11),
        tcr("TG1", "4 KiB granule", 30, 2, 0b10),
        tcr("IPS", "the CPU's physical address size (ID_AA64MMFR0_EL1.PARange)", 32, 3, bits(regs.mmfr0, 0, 4)),
        mair("Attr(normal)", "Normal, inner/outer write-back RW-allocate", MAIR_INDEX_NORMAL, 0xff),
        mair("Attr(device)", "Device-nGnRnE", MAIR_INDEX_DEVICE, 0x00),
        sctlr("M", "stage 1 translation on", 0, 1),
        sctlr("A", "no alignment checks", 1, 0),
        sctlr("C", "data cacheable", 2, 1),
        sctlr("I", "instructions cacheable", 12, 1),
        sctlr("WXN", "writable does not imply execute-never", 19, 0),
    ]
}
