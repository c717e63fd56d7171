//! Page-table entries as data: the raw word ([`PteValue`]), what a caller
//! asks for ([`Prot`]), and what an entry means once decoded ([`Entry`]), for
//! both formats. The bit layouts live in [`x86_64`] and [`arm64`]; this
//! module picks one by [`PteFormat`].

/// Defines a flag newtype over `u64` with named bits and the few operators
/// the encoders need.
macro_rules! pte_flags {
    ($(#[$doc:meta])* $name:ident { $($(#[$fdoc:meta])* $flag:ident = $bit:expr;)* }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub struct $name(u64);

        impl $name {
            $($(#[$fdoc])* pub const $flag: $name = $name($bit);)*
            pub const EMPTY: $name = $name(0);

            pub const fn bits(self) -> u64 {
                self.0
            }
            pub const fn from_bits(bits: u64) -> $name {
                $name(bits)
            }
            pub const fn contains(self, other: $name) -> bool {
                self.0 & other.0 == other.0
            }
            pub const fn union(self, other: $name) -> $name {
                $name(self.0 | other.0)
            }
        }

        impl core::ops::BitOr for $name {
            type Output = $name;
            fn bitor(self, other: $name) -> $name {
                self.union(other)
            }
        }
    };
}

pub mod arm64;
pub mod x86_64;

#[cfg(test)]
mod tests;

use crate::addr::{PhysAddr, VirtAddr};
use crate::mmu::PteFormat;

/// Entries per table page (4 KiB of 8-byte entries) on both formats.
pub const PTRS_PER_TABLE: usize = 512;

/// One raw page-table entry word, exactly as stored in memory.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct PteValue(pub u64);

impl PteValue {
    /// The empty entry (Linux's `pte_none`).
    pub const NONE: PteValue = PteValue(0);

    pub const fn is_none(self) -> bool {
        self.0 == 0
    }
}

/// The raw word in hex (`0x6800004002e703`), with `{}` and `{:?}` alike;
/// [`PteFormat::describe`] adds what it means.
impl core::fmt::Display for PteValue {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

impl core::fmt::Debug for PteValue {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Display::fmt(self, f)
    }
}

/// An entry with its meaning in its format's words, for messages:
/// `0x6800004002e703 valid RW-EL1 NX page -> 0x4002e000` on arm64,
/// `0x800000004002e063 present RW NX page -> 0x4002e000` on x86_64.
/// Equal when the raw words are (and the format and level).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Described {
    pub format: PteFormat,
    pub level: Level,
    pub value: PteValue,
}

impl core::fmt::Display for Described {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} ", self.value)?;
        match self.format {
            PteFormat::X86_64 => x86_64::describe(self.level, self.value, f),
            PteFormat::Arm64 => arm64::describe(self.level, self.value, f),
        }
    }
}

impl core::fmt::Debug for Described {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Display::fmt(self, f)
    }
}

/// A level of the 4-level tree, named as Linux names them with p4d folded:
/// x86_64 PML4/PDPT/PD/PT, arm64 levels 0/1/2/3.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Pgd,
    Pud,
    Pmd,
    Pte,
}

impl Level {
    /// From the root down.
    pub const ALL: [Level; 4] = [Level::Pgd, Level::Pud, Level::Pmd, Level::Pte];

    /// The lowest VA bit this level's index uses.
    pub const fn shift(self) -> u32 {
        match self {
            Level::Pgd => 39,
            Level::Pud => 30,
            Level::Pmd => 21,
            Level::Pte => 12,
        }
    }

    /// Bytes one entry at this level maps.
    pub const fn entry_span(self) -> u64 {
        1 << self.shift()
    }

    /// The index of `va`'s entry in a table of this level.
    pub const fn index(self, va: VirtAddr) -> usize {
        ((va.as_u64() >> self.shift()) as usize) & (PTRS_PER_TABLE - 1)
    }

    /// The level below, or `None` at the leaf level.
    pub const fn next(self) -> Option<Level> {
        match self {
            Level::Pgd => Some(Level::Pud),
            Level::Pud => Some(Level::Pmd),
            Level::Pmd => Some(Level::Pte),
            Level::Pte => None,
        }
    }

    pub const fn name(self) -> &'static str {
        match self {
            Level::Pgd => "pgd",
            Level::Pud => "pud",
            Level::Pmd => "pmd",
            Level::Pte => "pte",
        }
    }
}

/// Memory type of a mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MemType {
    /// Normal write-back cacheable RAM (arm64 MAIR index 0, x86 WB).
    Normal,
    /// Strongly ordered device memory (arm64 Device-nGnRnE, x86 UC).
    Device,
}

/// The protection a caller asks for, and what a decoded leaf grants. All
/// mappings are kernel-only: `mm` never builds user mappings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Prot {
    pub writable: bool,
    pub executable: bool,
    pub mem: MemType,
}

impl Prot {
    pub const KERNEL_RO: Prot = Prot { writable: false, executable: false, mem: MemType::Normal };
    /// Kernel text.
    pub const KERNEL_RX: Prot = Prot { writable: false, executable: true, mem: MemType::Normal };
    /// Kernel data, never executable (W^X).
    pub const KERNEL_RW: Prot = Prot { writable: true, executable: false, mem: MemType::Normal };
    /// Writable and executable: only early boot maps look like this; the
    /// kernel's own tables never ask for it, but decoding must name it.
    pub const KERNEL_RWX: Prot = Prot { writable: true, executable: true, mem: MemType::Normal };
    /// MMIO: read-write, never executable.
    pub const DEVICE: Prot = Prot { writable: true, executable: false, mem: MemType::Device };

    /// The same protection without write permission (mprotect to read-only).
    pub const fn read_only(self) -> Prot {
        Prot { writable: false, ..self }
    }

    /// What remains of `self` under a table entry's limits (x86 RW/NX and
    /// arm64 APTable/PXNTable restrict everything below them).
    pub const fn limited_by(self, limits: TableLimits) -> Prot {
        Prot {
            writable: self.writable && limits.allows_write,
            executable: self.executable && limits.allows_exec,
            mem: self.mem,
        }
    }
}

impl core::fmt::Display for Prot {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let w = if self.writable { 'W' } else { '-' };
        let x = if self.executable { 'X' } else { '-' };
        let mem = match self.mem {
            MemType::Normal => "",
            MemType::Device => " device",
        };
        write!(f, "R{w}{x}{mem}")
    }
}

/// What a table entry lets through to the levels below it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TableLimits {
    pub allows_write: bool,
    pub allows_exec: bool,
}

impl TableLimits {
    /// The limits `mm`'s own table entries carry: none.
    pub const NONE: TableLimits = TableLimits { allows_write: true, allows_exec: true };
}

/// Attributes of a valid leaf (page or block), decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LeafAttrs {
    pub prot: Prot,
    /// x86 A / arm64 AF.
    pub accessed: bool,
    /// x86 D; on arm64 a writable entry (AP[2] clear) counts as dirty.
    pub dirty: bool,
    /// x86 G / arm64 nG clear.
    pub global: bool,
    /// Reachable from user mode (x86 U/S, arm64 AP[1]): never set by `mm`.
    pub user: bool,
}

/// An entry at a known level, decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Entry {
    /// All zero (`pte_none`).
    None,
    /// Not valid but not zero either: a swap or migration entry, or a
    /// descriptor the walker rejects (arm64 block at level 0 or 3 with
    /// bit 1 clear).
    Invalid(PteValue),
    /// Points to the next-level table.
    Table { next: PhysAddr, limits: TableLimits },
    /// A 4 KiB page at the `pte` level.
    Page { pa: PhysAddr, attrs: LeafAttrs },
    /// A large mapping at the `pud` (1 GiB) or `pmd` (2 MiB) level.
    Block { pa: PhysAddr, attrs: LeafAttrs },
}

impl Entry {
    /// The physical address of the frame a leaf maps, with its attributes.
    pub const fn leaf(&self) -> Option<(PhysAddr, LeafAttrs)> {
        match *self {
            Entry::Page { pa, attrs } | Entry::Block { pa, attrs } => Some((pa, attrs)),
            _ => None,
        }
    }
}

impl PteFormat {
    /// An entry pointing at the next-level table `next`, without limits.
    pub fn table_entry(self, next: PhysAddr) -> PteValue {
        match self {
            PteFormat::X86_64 => x86_64::table_entry(next),
            PteFormat::Arm64 => arm64::table_entry(next),
        }
    }

    /// A valid 4 KiB kernel page mapping `pa` with `prot`, accessed (and on
    /// x86 dirty when writable) so the walker never needs to update it.
    pub fn page_entry(self, pa: PhysAddr, prot: Prot) -> PteValue {
        match self {
            PteFormat::X86_64 => x86_64::page_entry(pa, prot),
            PteFormat::Arm64 => arm64::page_entry(pa, prot),
        }
    }

    /// Decodes `value` as an entry of a table at `level`.
    pub fn decode(self, level: Level, value: PteValue) -> Entry {
        match self {
            PteFormat::X86_64 => x86_64::decode(level, value),
            PteFormat::Arm64 => arm64::decode(level, value),
        }
    }

    /// `value` as an entry of a table at `level`, printable with its meaning.
    pub const fn describe(self, level: Level, value: PteValue) -> Described {
        Described { format: self, level, value }
    }

    /// Whether the walker uses `value` (x86 P / arm64 valid), at any level.
    pub fn is_present(self, value: PteValue) -> bool {
        match self {
            PteFormat::X86_64 => value.0 & x86_64::X86Flags::PRESENT.bits() != 0,
            PteFormat::Arm64 => value.0 & arm64::Arm64Flags::VALID.bits() != 0,
        }
    }
}
