//! Address newtypes: physical and virtual addresses and page frame numbers
//! must not be mixed, so each is its own type. Both addresses print as the
//! kernel prints them, in hex (`0xffff808004e20000`), with `{}` and `{:?}`
//! alike: a decimal address in a test log is unreadable.

pub const PAGE_SHIFT: u32 = 12;
pub const PAGE_SIZE: u64 = 1 << PAGE_SHIFT;

#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PhysAddr(pub u64);

#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VirtAddr(pub u64);

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pfn(pub u64);

impl PhysAddr {
    pub const fn pfn(self) -> Pfn {
        Pfn(self.0 >> PAGE_SHIFT)
    }
    pub const fn is_page_aligned(self) -> bool {
        self.0 & (PAGE_SIZE - 1) == 0
    }
    pub const fn add(self, bytes: u64) -> Self {
        PhysAddr(self.0 + bytes)
    }
}

impl VirtAddr {
    pub const fn is_page_aligned(self) -> bool {
        self.0 & (PAGE_SIZE - 1) == 0
    }
    pub const fn add(self, bytes: u64) -> Self {
        VirtAddr(self.0.wrapping_add(bytes))
    }
    pub const fn page_down(self) -> Self {
        VirtAddr(self.0 & !(PAGE_SIZE - 1))
    }
}

impl Pfn {
    pub const fn addr(self) -> PhysAddr {
        PhysAddr(self.0 << PAGE_SHIFT)
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

hex_address!(PhysAddr, VirtAddr);
