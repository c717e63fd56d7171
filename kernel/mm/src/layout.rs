//! Where the kernel put its linear map and vmalloc area. `mm` has no arch
//! constants: the kernel passes these at init (x86_64 linear map at
//! 0xffff_8000_0000_0000 and vmalloc at 0xffff_c000_0000_0000; arm64
//! 0xffff_0000_0000_0000 and 0xffff_8000_0000_0000).

use crate::addr::{PhysAddr, VirtAddr};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelLayout {
    /// The VA of physical address 0 in the linear map.
    pub linear_map_base: VirtAddr,
    /// Bytes of physical address space the linear map covers.
    pub linear_map_size: u64,
    pub vmalloc_base: VirtAddr,
    pub vmalloc_size: u64,
}

impl KernelLayout {
    /// Linux's `__va`: where the linear map shows `pa`.
    pub const fn phys_to_virt(&self, pa: PhysAddr) -> VirtAddr {
        self.linear_map_base.add(pa.as_u64())
    }

    /// Linux's `__pa` for linear-map addresses; `None` outside the map.
    pub const fn virt_to_phys(&self, va: VirtAddr) -> Option<PhysAddr> {
        let offset = va.as_u64().wrapping_sub(self.linear_map_base.as_u64());
        if va.as_u64() >= self.linear_map_base.as_u64() && offset < self.linear_map_size {
            Some(PhysAddr::new(offset))
        } else {
            None
        }
    }

    pub const fn is_vmalloc(&self, va: VirtAddr) -> bool {
        va.as_u64() >= self.vmalloc_base.as_u64() && va.as_u64() - self.vmalloc_base.as_u64() < self.vmalloc_size
    }
}
