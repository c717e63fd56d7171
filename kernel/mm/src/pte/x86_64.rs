//! The x86_64 4-level entry format (Intel SDM vol. 3, "4-Level Paging").
//! `mm` builds kernel-only entries: supervisor, write-back or UC, with A set
//! (and D when writable) so a stale TLB entry loaded by a read is used by a
//! later write too (docs/tcg.md: TCG re-walks a D=0 entry on write).

use super::{Entry, LeafAttrs, Level, MemType, Prot, PteValue, TableLimits};
use crate::addr::PhysAddr;

pte_flags! {
    /// x86_64 entry bits (the same positions at every level).
    X86Flags {
        PRESENT = 1 << 0;
        WRITABLE = 1 << 1;
        USER = 1 << 2;
        WRITE_THROUGH = 1 << 3;
        CACHE_DISABLE = 1 << 4;
        ACCESSED = 1 << 5;
        DIRTY = 1 << 6;
        /// PS: a 1 GiB (PDPT) or 2 MiB (PD) page; PAT at the PT level.
        HUGE_PAGE = 1 << 7;
        /// Not set by `mm`: QEMU ignores it (a CR3 write flushes global
        /// entries too) and on hardware it would make `flush_tlb_all`
        /// by CR3 reload incomplete.
        GLOBAL = 1 << 8;
        NO_EXECUTE = 1 << 63;
    }
}

/// Bits 51:12: the physical address of a 4 KiB frame or table.
pub const ADDR_MASK: u64 = 0x000f_ffff_ffff_f000;

pub fn table_entry(next: PhysAddr) -> PteValue {
    let flags = X86Flags::PRESENT | X86Flags::WRITABLE | X86Flags::ACCESSED;
    PteValue((next.as_u64() & ADDR_MASK) | flags.bits())
}

pub fn page_entry(pa: PhysAddr, prot: Prot) -> PteValue {
    let mut flags = X86Flags::PRESENT | X86Flags::ACCESSED;
    if prot.writable {
        flags = flags | X86Flags::WRITABLE | X86Flags::DIRTY;
    }
    if !prot.executable {
        flags = flags | X86Flags::NO_EXECUTE;
    }
    if prot.mem == MemType::Device {
        // PCD | PWT selects UC with the power-on PAT.
        flags = flags | X86Flags::CACHE_DISABLE | X86Flags::WRITE_THROUGH;
    }
    PteValue((pa.as_u64() & ADDR_MASK) | flags.bits())
}

pub fn decode(level: Level, value: PteValue) -> Entry {
    let flags = X86Flags::from_bits(value.0);
    if !flags.contains(X86Flags::PRESENT) {
        return if value.is_none() { Entry::None } else { Entry::Invalid(value) };
    }
    let huge = flags.contains(X86Flags::HUGE_PAGE);
    match level {
        // PS is reserved in a PML4 entry: the walker raises a reserved-bit fault.
        Level::Pgd if huge => Entry::Invalid(value),
        Level::Pud | Level::Pmd if huge => Entry::Block {
            pa: PhysAddr::new(value.0 & ADDR_MASK & !(level.entry_span() - 1)),
            attrs: leaf_attrs(flags),
        },
        Level::Pte => Entry::Page { pa: PhysAddr::new(value.0 & ADDR_MASK), attrs: leaf_attrs(flags) },
        _ => Entry::Table {
            next: PhysAddr::new(value.0 & ADDR_MASK),
            limits: TableLimits {
                allows_write: flags.contains(X86Flags::WRITABLE),
                allows_exec: !flags.contains(X86Flags::NO_EXECUTE),
            },
        },
    }
}

fn leaf_attrs(flags: X86Flags) -> LeafAttrs {
    LeafAttrs {
        prot: Prot {
            writable: flags.contains(X86Flags::WRITABLE),
            executable: !flags.contains(X86Flags::NO_EXECUTE),
            mem: if flags.contains(X86Flags::CACHE_DISABLE) { MemType::Device } else { MemType::Normal },
        },
        accessed: flags.contains(X86Flags::ACCESSED),
        dirty: flags.contains(X86Flags::DIRTY),
        global: flags.contains(X86Flags::GLOBAL),
        user: flags.contains(X86Flags::USER),
    }
}

/// What `value` means at `level`, in the SDM's words: `present RW NX page ->
/// 0x4002e000`, `present table -> 0x4002b000`, `not present`, `none`.
pub fn describe(level: Level, value: PteValue, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
    match decode(level, value) {
        Entry::None => f.write_str("none"),
        Entry::Invalid(_) if value.0 & X86Flags::PRESENT.bits() != 0 => f.write_str("present, reserved PS bit"),
        Entry::Invalid(_) => f.write_str("not present"),
        Entry::Table { next, limits } => {
            f.write_str("present table")?;
            if !limits.allows_write {
                f.write_str(" RO-below")?;
            }
            if !limits.allows_exec {
                f.write_str(" NX-below")?;
            }
            write!(f, " -> {next}")
        }
        Entry::Page { pa, attrs } | Entry::Block { pa, attrs } => {
            let access = if attrs.prot.writable { "RW" } else { "RO" };
            let exec = if attrs.prot.executable { "X" } else { "NX" };
            write!(f, "present {access} {exec}")?;
            if attrs.user {
                f.write_str(" user")?;
            }
            if attrs.prot.mem == MemType::Device {
                f.write_str(" UC")?;
            }
            if !attrs.accessed {
                f.write_str(" !A")?;
            }
            let kind = if level == Level::Pte { "page" } else { "block" };
            write!(f, " {kind} -> {pa}")
        }
    }
}
