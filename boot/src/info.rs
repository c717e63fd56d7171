//! `BootInfo`: what every boot path hands to the portable `kernel_main`.
//! Nothing above `boot/` may tell which protocol filled it in.

/// One range of physical memory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemoryRegion {
    pub base: u64,
    pub len: u64,
}

impl MemoryRegion {
    pub const fn end(&self) -> u64 {
        self.base + self.len
    }
}

pub const MAX_REGIONS: usize = 32;
pub const CMDLINE_MAX: usize = 1024;

/// Filled in once by the boot adapter before `kernel_main` runs.
#[derive(Debug)]
pub struct BootInfo {
    /// RAM the kernel may hand out: the kernel image, the device tree and the
    /// boot page tables are already cut out.
    usable: [MemoryRegion; MAX_REGIONS],
    nr_usable: usize,
    /// All RAM, for the linear map.
    ram: [MemoryRegion; MAX_REGIONS],
    nr_ram: usize,
    cmdline: [u8; CMDLINE_MAX],
    cmdline_len: usize,
    /// The command line given was longer than `CMDLINE_MAX` and was cut.
    pub cmdline_truncated: bool,
    /// Physical range of the loaded kernel image (text to end of bss).
    pub kernel_phys: MemoryRegion,
    /// Virtual address the image runs at minus its physical address.
    pub kernel_virt_offset: u64,
    /// Offset at which all RAM is readable on entry (0: identity).
    pub phys_window: u64,
    /// arm64: physical address of the flattened device tree.
    pub dtb_phys: Option<u64>,
    /// x86_64: physical address of the ACPI RSDP, when the protocol gives it.
    pub rsdp_phys: Option<u64>,
}

impl BootInfo {
    pub const fn empty() -> Self {
        const Z: MemoryRegion = MemoryRegion { base: 0, len: 0 };
        BootInfo {
            usable: [Z; MAX_REGIONS],
            nr_usable: 0,
            ram: [Z; MAX_REGIONS],
            nr_ram: 0,
            cmdline: [0; CMDLINE_MAX],
            cmdline_len: 0,
            cmdline_truncated: false,
            kernel_phys: Z,
            kernel_virt_offset: 0,
            phys_window: 0,
            dtb_phys: None,
            rsdp_phys: None,
        }
    }

    pub fn usable(&self) -> &[MemoryRegion] {
        &self.usable[..self.nr_usable]
    }

    pub fn ram(&self) -> &[MemoryRegion] {
        &self.ram[..self.nr_ram]
    }

    /// The raw command line: it may not be UTF-8, the parser says so.
    pub fn cmdline(&self) -> &[u8] {
        &self.cmdline[..self.cmdline_len]
    }

    /// Records a RAM region and the parts of it not in `reserved`.
    pub fn add_ram(&mut self, region: MemoryRegion, reserved: &[MemoryRegion]) {
        if region.len == 0 || self.nr_ram == MAX_REGIONS {
            return;
        }
        self.ram[self.nr_ram] = region;
        self.nr_ram += 1;
        self.add_usable_except(region, reserved);
    }

    fn add_usable_except(&mut self, region: MemoryRegion, reserved: &[MemoryRegion]) {
        let Some((first, rest)) = reserved.split_first() else {
            if region.len != 0 && self.nr_usable < MAX_REGIONS {
                self.usable[self.nr_usable] = region;
                self.nr_usable += 1;
            }
            return;
        };
        if first.len == 0 || first.end() <= region.base || first.base >= region.end() {
            self.add_usable_except(region, rest);
            return;
        }
        if first.base > region.base {
            let below = MemoryRegion { base: region.base, len: first.base - region.base };
            self.add_usable_except(below, rest);
        }
        if first.end() < region.end() {
            let above = MemoryRegion { base: first.end(), len: region.end() - first.end() };
            self.add_usable_except(above, rest);
        }
    }

    pub fn set_cmdline(&mut self, bytes: &[u8]) {
        let len = bytes.len().min(CMDLINE_MAX);
        self.cmdline[..len].copy_from_slice(&bytes[..len]);
        self.cmdline_len = len;
        self.cmdline_truncated = bytes.len() > CMDLINE_MAX;
    }
}
