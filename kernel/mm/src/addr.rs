//! Address newtypes: physical and virtual addresses and page frame numbers
//! must not be mixed, so each is its own type, and each holds only values
//! the hardware can use. Both addresses print as the kernel prints them, in
//! hex (`0xffff808004e20000`), with `{}` and `{:?}` alike: a decimal
//! address in a test log is unreadable.
//!
//! Arithmetic is checked the same way on both: `add` panics where the sum
//! leaves the type's range (a bug in the caller, as `PhysAddr::add` always
//! said), `checked_add` returns `None` there. Nothing wraps.

pub const PAGE_SHIFT: u32 = 12;
pub const PAGE_SIZE: u64 = 1 << PAGE_SHIFT;

/// Bits of physical address space: 52 on both arches (x86_64 MAXPHYADDR,
/// arm64 with FEAT_LPA); the `x86_64` crate's `PhysAddr` checks the same.
pub const PHYS_ADDR_BITS: u32 = 52;

/// Bits of virtual address both page-table formats translate: 48, in a low
/// half (bits 63..48 all zero) and a high half (all one).
pub const VIRT_ADDR_BITS: u32 = 48;

/// An address outside the range of its type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddrError {
    /// Bits 63..48 of a virtual address are neither all zero nor all one.
    NonCanonical(u64),
    /// A physical address at or above 2^52.
    TooHigh(u64),
}

impl core::fmt::Display for AddrError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            AddrError::NonCanonical(addr) => write!(f, "{addr:#x} is not a canonical virtual address"),
            AddrError::TooHigh(addr) => write!(f, "{addr:#x} is above the 52-bit physical address space"),
        }
    }
}

#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PhysAddr(u64);

/// A virtual address in canonical form for a 48-bit address space: bits
/// 63..48 all zero (low half) or all one (high half). That is the rule of
/// arm64 with T0SZ = T1SZ = 16; x86_64 4-level paging also ties bit 47 to
/// them, which [`Roots::half_of`](crate::Roots::half_of) checks where the
/// format is known (a `VirtAddr` serves both formats).
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VirtAddr(u64);

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pfn(u64);

/// The address a fault reported, as the CPU gave it (CR2, FAR_EL1, or the
/// probe's own for an x86 #GP). It may lie outside both halves, so it is
/// not a [`VirtAddr`]; it has no invariant to keep.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct FaultAddr(pub u64);

impl From<VirtAddr> for FaultAddr {
    fn from(va: VirtAddr) -> Self {
        FaultAddr(va.0)
    }
}

impl PhysAddr {
    /// `addr` as a physical address, or why it is none.
    pub const fn try_new(addr: u64) -> Result<Self, AddrError> {
        if addr >> PHYS_ADDR_BITS == 0 {
            Ok(PhysAddr(addr))
        } else {
            Err(AddrError::TooHigh(addr))
        }
    }

    /// `addr` as a physical address. Panics at or above 2^52.
    #[track_caller]
    pub const fn new(addr: u64) -> Self {
        match PhysAddr::try_new(addr) {
            Ok(pa) => pa,
            Err(_) => panic!("physical address above 2^52"),
        }
    }

    pub const fn as_u64(self) -> u64 {
        self.0
    }

    pub const fn pfn(self) -> Pfn {
        Pfn(self.0 >> PAGE_SHIFT)
    }

    pub const fn is_page_aligned(self) -> bool {
        self.0 & (PAGE_SIZE - 1) == 0
    }

    /// `self + bytes`, or `None` at or above 2^52.
    pub const fn checked_add(self, bytes: u64) -> Option<Self> {
        match self.0.checked_add(bytes) {
            Some(sum) => match PhysAddr::try_new(sum) {
                Ok(pa) => Some(pa),
                Err(_) => None,
            },
            None => None,
        }
    }

    /// `self + bytes`. Panics at or above 2^52.
    #[track_caller]
    pub const fn add(self, bytes: u64) -> Self {
        match self.checked_add(bytes) {
            Some(pa) => pa,
            None => panic!("physical address arithmetic left the address space"),
        }
    }
}

impl VirtAddr {
    /// `addr` as a virtual address, or why it is none.
    pub const fn try_new(addr: u64) -> Result<Self, AddrError> {
        match addr >> VIRT_ADDR_BITS {
            0 | 0xffff => Ok(VirtAddr(addr)),
            _ => Err(AddrError::NonCanonical(addr)),
        }
    }

    /// `addr` as a virtual address. Panics if it is not canonical.
    #[track_caller]
    pub const fn new(addr: u64) -> Self {
        match VirtAddr::try_new(addr) {
            Ok(va) => va,
            Err(_) => panic!("non-canonical virtual address"),
        }
    }

    pub const fn as_u64(self) -> u64 {
        self.0
    }

    pub const fn is_page_aligned(self) -> bool {
        self.0 & (PAGE_SIZE - 1) == 0
    }

    /// `self + bytes`, or `None` if the sum overflows or leaves the half
    /// `self` is in.
    pub const fn checked_add(self, bytes: u64) -> Option<Self> {
        match self.0.checked_add(bytes) {
            Some(sum) if sum >> VIRT_ADDR_BITS == self.0 >> VIRT_ADDR_BITS => Some(VirtAddr(sum)),
            _ => None,
        }
    }

    /// `self + bytes`. Panics if the sum overflows or leaves the half
    /// `self` is in.
    #[track_caller]
    pub const fn add(self, bytes: u64) -> Self {
        match self.checked_add(bytes) {
            Some(va) => va,
            None => panic!("virtual address arithmetic left its half of the address space"),
        }
    }

    /// Bytes from `base` up to `self`. Panics if `base` is above `self`.
    #[track_caller]
    pub const fn offset_from(self, base: VirtAddr) -> u64 {
        match self.0.checked_sub(base.0) {
            Some(offset) => offset,
            None => panic!("offset_from: base above the address"),
        }
    }

    pub const fn page_down(self) -> Self {
        VirtAddr(self.0 & !(PAGE_SIZE - 1))
    }
}

impl Pfn {
    pub const fn new(pfn: u64) -> Self {
        Pfn(pfn)
    }

    pub const fn as_u64(self) -> u64 {
        self.0
    }

    /// The frame's first byte. Panics if it lies above 2^52.
    #[track_caller]
    pub const fn addr(self) -> PhysAddr {
        PhysAddr::new(self.0 << PAGE_SHIFT)
    }
}

/// Implements `Display` and `Debug` as `0x...` for an address newtype.
macro_rules! hex_address {
    ($($name:ident),*) => {$(
        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                write!(f, "{:#x}", self.0)
            }
        }

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                core::fmt::Display::fmt(self, f)
            }
        }
    )*};
}

hex_address!(PhysAddr, VirtAddr, FaultAddr);

#[cfg(test)]
mod tests;
