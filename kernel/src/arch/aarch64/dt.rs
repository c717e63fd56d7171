//! What the arch layer needs from the device tree: the console UART, the
//! GICv3 frames, the virtual timer's interrupt, the PSCI conduit and the
//! CPUs' MPIDRs. Read once at boot, through the boot adapter's window.

use boot::MemoryRegion;

use super::percpu::MAX_CPUS;

/// How PSCI calls reach the firmware (the `/psci` node's `method`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PsciConduit {
    Hvc,
    Smc,
}

#[derive(Clone, Copy, Debug)]
pub struct Platform {
    pub uart_base: Option<u64>,
    pub gicd: Option<MemoryRegion>,
    pub gicr: Option<MemoryRegion>,
    /// INTID of the EL1 virtual timer (a PPI).
    pub vtimer_intid: Option<u32>,
    pub psci: Option<PsciConduit>,
    /// MPIDR affinity of each CPU, in device-tree order.
    pub cpu_mpidr: [Option<u64>; MAX_CPUS],
}

/// GIC interrupt specifier type cell: shared or per-processor peripheral.
const GIC_SPI: u32 = 0;
const GIC_PPI: u32 = 1;
/// The arch timer node lists secure, non-secure, virtual, hypervisor.
const ARCH_TIMER_VIRT_INDEX: usize = 2;

/// Nothing known: no device tree was passed.
pub fn empty() -> Platform {
    Platform { uart_base: None, gicd: None, gicr: None, vtimer_intid: None, psci: None, cpu_mpidr: [None; MAX_CPUS] }
}

pub fn parse(dtb_phys: u64) -> Platform {
    let mut platform = empty();
    // SAFETY: the boot adapter hands over the DTB it was given, which it
    // keeps out of the usable RAM, mapped at `phys_to_virt` (the boot
    // window: this runs before the kernel's own tables go in).
    let Ok(fdt) = (unsafe { fdt::Fdt::from_ptr(super::mmu::phys_to_virt(dtb_phys) as *const u8) }) else {
        return platform;
    };

    let uart = fdt.chosen().stdout().or_else(|| fdt.find_compatible(&["arm,pl011"]));
    platform.uart_base = uart.and_then(first_reg).map(|r| r.base);

    if let Some(gic) = fdt.find_compatible(&["arm,gic-v3"]) {
        let mut regs = gic.reg().into_iter().flatten().map(to_region);
        platform.gicd = regs.next();
        platform.gicr = regs.next();
    }

    if let Some(timer) = fdt.find_compatible(&["arm,armv8-timer", "arm,armv7-timer"]) {
        platform.vtimer_intid =
            timer.property("interrupts").and_then(|prop| gic_intid(prop.value, ARCH_TIMER_VIRT_INDEX));
    }

    if let Some(psci) = fdt.find_compatible(&["arm,psci-1.0", "arm,psci-0.2"]) {
        platform.psci = match psci.property("method").and_then(|m| m.as_str()) {
            Some("hvc") => Some(PsciConduit::Hvc),
            Some("smc") => Some(PsciConduit::Smc),
            _ => None,
        };
    }

    for (slot, cpu) in platform.cpu_mpidr.iter_mut().zip(fdt.cpus()) {
        *slot = Some(cpu.ids().first() as u64);
    }
    platform
}

fn first_reg(node: fdt::node::FdtNode) -> Option<MemoryRegion> {
    node.reg()?.next().map(to_region)
}

fn to_region(region: fdt::standard_nodes::MemoryRegion) -> MemoryRegion {
    MemoryRegion { base: region.starting_address as u64, len: region.size.unwrap_or(0) as u64 }
}

/// The INTID of the `index`-th three-cell GIC interrupt specifier
/// (`<type number flags>`, big-endian) in an `interrupts` property.
fn gic_intid(value: &[u8], index: usize) -> Option<u32> {
    let cell = |i: usize| -> Option<u32> {
        let bytes = value.get(i * 4..i * 4 + 4)?;
        Some(u32::from_be_bytes(bytes.try_into().ok()?))
    };
    let (kind, number) = (cell(index * 3)?, cell(index * 3 + 1)?);
    match kind {
        GIC_PPI => Some(number + 16),
        GIC_SPI => Some(number + 32),
        _ => None,
    }
}
