//! The arm64 VMSAv8-64 stage 1 descriptor format, 4 KiB granule, 48-bit VA
//! (T0SZ = T1SZ = 16), 4 levels (Arm ARM D8.3). Kernel entries follow
//! Linux's `PAGE_KERNEL*` (arch/arm64/include/asm/pgtable-prot.h): AF set,
//! inner shareable, nG clear, UXN always, and `PTE_WRITE` (the DBM bit) on
//! writable entries.

use super::{Entry, LeafAttrs, Level, MemType, Prot, PteValue, TableLimits};
use crate::addr::PhysAddr;

pte_flags! {
    /// arm64 descriptor bits. Bit 1 means "table" at levels 0-2 and "page"
    /// at level 3; clear at levels 1-2 it means "block".
    Arm64Flags {
        VALID = 1 << 0;
        TABLE_OR_PAGE = 1 << 1;
        /// Bits 4:2 are AttrIndx, the MAIR_EL1 attribute index.
        ATTR_INDX_MASK = 0b111 << 2;
        NON_SECURE = 1 << 5;
        /// AP[1]: accessible from EL0.
        AP_EL0 = 1 << 6;
        /// AP[2]: read-only (Linux's `PTE_RDONLY`).
        AP_RDONLY = 1 << 7;
        SH_INNER = 0b11 << 8;
        ACCESS_FLAG = 1 << 10;
        NOT_GLOBAL = 1 << 11;
        /// Dirty Bit Modifier, Linux's `PTE_WRITE`.
        DBM = 1 << 51;
        CONTIGUOUS = 1 << 52;
        PXN = 1 << 53;
        UXN = 1 << 54;
        /// Table descriptors only: no privileged execution below.
        PXN_TABLE = 1 << 59;
        UXN_TABLE = 1 << 60;
        /// Table descriptors only: APTable[0], no EL0 access below.
        AP_TABLE_NO_EL0 = 1 << 61;
        /// Table descriptors only: APTable[1], read-only below.
        AP_TABLE_RDONLY = 1 << 62;
        NS_TABLE = 1 << 63;
    }
}

/// Bits 47:12: the output address of a page or the next table.
pub const ADDR_MASK: u64 = 0x0000_ffff_ffff_f000;
const ATTR_INDX_SHIFT: u32 = 2;

/// The AttrIndx field selecting MAIR_EL1 attribute `index`.
pub const fn attr_indx(index: u64) -> Arm64Flags {
    Arm64Flags::from_bits(index << ATTR_INDX_SHIFT)
}

/// MAIR_EL1 attribute for Normal memory, inner/outer write-back
/// read/write-allocate non-transient.
pub const MAIR_ATTR_NORMAL_WB: u8 = 0xff;
/// MAIR_EL1 attribute for Device-nGnRnE.
pub const MAIR_ATTR_DEVICE_NGNRNE: u8 = 0x00;
/// AttrIndx `mm` uses for [`MemType::Normal`].
pub const MAIR_INDEX_NORMAL: u64 = 0;
/// AttrIndx `mm` uses for [`MemType::Device`].
pub const MAIR_INDEX_DEVICE: u64 = 1;
/// The MAIR_EL1 value matching the AttrIndx values above.
pub const MAIR_EL1: u64 = (MAIR_ATTR_NORMAL_WB as u64) << (8 * MAIR_INDEX_NORMAL)
    | (MAIR_ATTR_DEVICE_NGNRNE as u64) << (8 * MAIR_INDEX_DEVICE);

pub fn table_entry(next: PhysAddr) -> PteValue {
    let flags = Arm64Flags::VALID | Arm64Flags::TABLE_OR_PAGE;
    PteValue((next.as_u64() & ADDR_MASK) | flags.bits())
}

pub fn page_entry(pa: PhysAddr, prot: Prot) -> PteValue {
    let attr_index = match prot.mem {
        MemType::Normal => MAIR_INDEX_NORMAL,
        MemType::Device => MAIR_INDEX_DEVICE,
    };
    let mut flags = Arm64Flags::VALID
        | Arm64Flags::TABLE_OR_PAGE
        | attr_indx(attr_index)
        | Arm64Flags::SH_INNER
        | Arm64Flags::ACCESS_FLAG
        | Arm64Flags::UXN;
    flags = flags | if prot.writable { Arm64Flags::DBM } else { Arm64Flags::AP_RDONLY };
    if !prot.executable {
        flags = flags | Arm64Flags::PXN;
    }
    PteValue((pa.as_u64() & ADDR_MASK) | flags.bits())
}

pub fn decode(level: Level, value: PteValue) -> Entry {
    let flags = Arm64Flags::from_bits(value.0);
    if !flags.contains(Arm64Flags::VALID) {
        return if value.is_none() { Entry::None } else { Entry::Invalid(value) };
    }
    let table_or_page = flags.contains(Arm64Flags::TABLE_OR_PAGE);
    match level {
        Level::Pte if table_or_page => Entry::Page { pa: PhysAddr::new(value.0 & ADDR_MASK), attrs: leaf_attrs(flags) },
        Level::Pud | Level::Pmd if !table_or_page => Entry::Block {
            pa: PhysAddr::new(value.0 & ADDR_MASK & !(level.entry_span() - 1)),
            attrs: leaf_attrs(flags),
        },
        Level::Pgd | Level::Pud | Level::Pmd if table_or_page => Entry::Table {
            next: PhysAddr::new(value.0 & ADDR_MASK),
            limits: TableLimits {
                allows_write: !flags.contains(Arm64Flags::AP_TABLE_RDONLY),
                allows_exec: !flags.contains(Arm64Flags::PXN_TABLE),
            },
        },
        // A block at level 0 or a 0b01 descriptor at level 3: translation fault.
        _ => Entry::Invalid(value),
    }
}

fn leaf_attrs(flags: Arm64Flags) -> LeafAttrs {
    let writable = !flags.contains(Arm64Flags::AP_RDONLY);
    let attr_index = (flags.bits() & Arm64Flags::ATTR_INDX_MASK.bits()) >> ATTR_INDX_SHIFT;
    LeafAttrs {
        prot: Prot {
            writable,
            executable: !flags.contains(Arm64Flags::PXN),
            mem: if attr_index == MAIR_INDEX_DEVICE { MemType::Device } else { MemType::Normal },
        },
        accessed: flags.contains(Arm64Flags::ACCESS_FLAG),
        dirty: writable,
        global: !flags.contains(Arm64Flags::NOT_GLOBAL),
        user: flags.contains(Arm64Flags::AP_EL0),
    }
}

/// What `value` means at `level`, in the Arm ARM's words: `valid RW-EL1 NX
/// page -> 0x4002e000`, `valid table -> 0x4002b000`, `not valid`, `none`.
pub fn describe(level: Level, value: PteValue, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
    let flags = Arm64Flags::from_bits(value.0);
    match decode(level, value) {
        Entry::None => f.write_str("none"),
        Entry::Invalid(_) if flags.contains(Arm64Flags::VALID) => f.write_str("valid, reserved descriptor"),
        Entry::Invalid(_) => f.write_str("not valid"),
        Entry::Table { next, limits } => {
            f.write_str("valid table")?;
            if !limits.allows_write {
                f.write_str(" APTable-RO")?;
            }
            if !limits.allows_exec {
                f.write_str(" PXNTable")?;
            }
            write!(f, " -> {next}")
        }
        Entry::Page { pa, attrs } | Entry::Block { pa, attrs } => {
            let access = if attrs.prot.writable { "RW" } else { "RO" };
            let el = if attrs.user { "EL0" } else { "EL1" };
            let exec = if attrs.prot.executable { "X" } else { "NX" };
            write!(f, "valid {access}-{el} {exec}")?;
            if attrs.prot.mem == MemType::Device {
                f.write_str(" device")?;
            }
            if !attrs.accessed {
                f.write_str(" !AF")?;
            }
            if !attrs.global {
                f.write_str(" nG")?;
            }
            let kind = if level == Level::Pte { "page" } else { "block" };
            write!(f, " {kind} -> {pa}")
        }
    }
}

/// Linux's `pgattr_change_is_safe` (arch/arm64/mm/mmu.c): whether a live
/// kernel entry may go from `old` to `new` in one store. Creating or
/// removing a mapping is always safe; on a live entry only PXN, RDONLY,
/// WRITE (DBM) and nG may change, and nG only from global to non-global.
/// Anything else (output address, memory type, contiguous hint) needs
/// break-before-make: valid → invalid → dsb → tlbi → dsb → new.
pub fn pgattr_change_is_safe(old: PteValue, new: PteValue) -> bool {
    let valid = Arm64Flags::VALID.bits();
    if old.0 & valid == 0 || new.0 & valid == 0 {
        return true;
    }
    let changeable = Arm64Flags::PXN | Arm64Flags::AP_RDONLY | Arm64Flags::DBM | Arm64Flags::NOT_GLOBAL;
    if (old.0 | new.0) & Arm64Flags::CONTIGUOUS.bits() != 0 {
        return false;
    }
    let loses_not_global = old.0 & !new.0 & Arm64Flags::NOT_GLOBAL.bits() != 0;
    !loses_not_global && (old.0 ^ new.0) & !changeable.bits() == 0
}
