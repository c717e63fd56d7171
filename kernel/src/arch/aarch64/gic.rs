//! GICv3: the distributor (once), each CPU's redistributor and its system
//! register CPU interface. Only private interrupts are used: SGI 0 for the
//! IPI and the timer's PPI, both Group 1 (non-secure, IRQ).

use core::arch::asm;
use core::sync::atomic::{AtomicU64, Ordering};

use aarch64_cpu::registers::{Readable, MPIDR_EL1};
use boot::MemoryRegion;

use super::mmu::mmio_virt;
use super::percpu::{cpu_id, MAX_CPUS};

const GICD_CTLR: u64 = 0x0000;
/// Register write pending: the last CTLR write has not taken effect yet.
const GICD_CTLR_RWP: u32 = 1 << 31;
/// ARE_NS | EnableGrp1A | EnableGrp1 (Linux's gic_dist_init values).
const GICD_CTLR_ENABLE: u32 = (1 << 4) | (1 << 1) | 1;

const GICR_WAKER: u64 = 0x0014;
const GICR_WAKER_PROCESSOR_SLEEP: u32 = 1 << 1;
const GICR_WAKER_CHILDREN_ASLEEP: u32 = 1 << 2;
const GICR_TYPER: u64 = 0x0008;
const GICR_TYPER_VLPIS: u64 = 1 << 1;
const GICR_TYPER_LAST: u64 = 1 << 4;
/// The SGI/PPI frame follows the RD frame.
const GICR_SGI_OFFSET: u64 = 0x1_0000;
const GICR_IGROUPR0: u64 = 0x0080;
const GICR_ISENABLER0: u64 = 0x0100;
const GICR_IPRIORITYR: u64 = 0x0400;
/// Any priority above the mask (PMR 0xff) is delivered.
const DEFAULT_PRIORITY: u8 = 0xa0;

/// INTIDs 1020..=1023 are special (spurious) acknowledge values.
pub const SPURIOUS_INTID_MIN: u32 = 1020;
/// The SGI this kernel uses as its IPI.
pub const IPI_SGI: u32 = 0;
/// The resched SGI (arch/preempt.rs), sent to this CPU or the other one.
pub const RESCHED_SGI: u32 = 1;

static GICD_BASE: AtomicU64 = AtomicU64::new(0);
static GICR_REGION: spin::Once<MemoryRegion> = spin::Once::new();
/// Each CPU's redistributor RD frame, found by affinity.
static RD_BASE: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
/// Each online CPU's MPIDR, the address an SGI is sent to.
static MPIDR: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(u64::MAX) }; MAX_CPUS];

fn read32(addr: u64) -> u32 {
    // SAFETY: callers pass a GIC register inside the frames the device tree
    // names (physical), which `mmio_virt` reaches: through the boot window
    // before the switch, identity mapped as Device memory after it.
    unsafe { (mmio_virt(addr) as *const u32).read_volatile() }
}

fn write32(addr: u64, value: u32) {
    // SAFETY: as in `read32`.
    unsafe { (mmio_virt(addr) as *mut u32).write_volatile(value) }
}

fn read64(addr: u64) -> u64 {
    // SAFETY: as in `read32`.
    unsafe { (mmio_virt(addr) as *const u64).read_volatile() }
}

/// Turns the distributor on (affinity routing, Group 1) and remembers the
/// redistributor region; once, on the boot CPU.
pub fn init_distributor(gicd: MemoryRegion, gicr: MemoryRegion) {
    GICD_BASE.store(gicd.base, Ordering::Relaxed);
    GICR_REGION.call_once(|| gicr);
    write32(gicd.base + GICD_CTLR, GICD_CTLR_ENABLE);
    while read32(gicd.base + GICD_CTLR) & GICD_CTLR_RWP != 0 {
        core::hint::spin_loop();
    }
}

/// The part of the redistributor region the first `nr_cpus` CPUs use: what
/// must stay mapped after the kernel's own tables go in.
pub fn used_redistributors(nr_cpus: usize) -> Option<MemoryRegion> {
    let region = *GICR_REGION.get()?;
    let mut frame = region.base;
    for _ in 0..nr_cpus {
        let typer = read64(frame + GICR_TYPER);
        frame += redistributor_stride(typer);
        if typer & GICR_TYPER_LAST != 0 {
            break;
        }
    }
    Some(MemoryRegion { base: region.base, len: frame - region.base })
}

fn redistributor_stride(typer: u64) -> u64 {
    // GICv4 redistributors carry two more 64 KiB frames for vLPIs.
    if typer & GICR_TYPER_VLPIS != 0 {
        0x4_0000
    } else {
        0x2_0000
    }
}

/// GICR_TYPER.Affinity packs Aff3.Aff2.Aff1.Aff0 into one word.
fn mpidr_to_typer_affinity(mpidr: u64) -> u64 {
    ((mpidr >> 32) & 0xff) << 24 | (mpidr & 0xff_ffff)
}

/// Wakes this CPU's redistributor, enables `intids` (SGIs/PPIs) in Group 1
/// and turns on the system-register CPU interface.
pub fn init_this_cpu(intids: &[u32]) -> Result<(), &'static str> {
    let region = *GICR_REGION.get().ok_or("GICv3 not initialised")?;
    let mpidr = MPIDR_EL1.get() & 0xff_00ff_ffff;
    let wanted = mpidr_to_typer_affinity(mpidr);
    let mut frame = region.base;
    let rd = loop {
        if frame >= region.end() {
            return Err("no GICv3 redistributor for this CPU");
        }
        let typer = read64(frame + GICR_TYPER);
        if typer >> 32 == wanted {
            break frame;
        }
        if typer & GICR_TYPER_LAST != 0 {
            return Err("no GICv3 redistributor for this CPU");
        }
        frame += redistributor_stride(typer);
    };
    RD_BASE[cpu_id()].store(rd, Ordering::Relaxed);

    write32(rd + GICR_WAKER, read32(rd + GICR_WAKER) & !GICR_WAKER_PROCESSOR_SLEEP);
    while read32(rd + GICR_WAKER) & GICR_WAKER_CHILDREN_ASLEEP != 0 {
        core::hint::spin_loop();
    }

    let sgi = rd + GICR_SGI_OFFSET;
    write32(sgi + GICR_IGROUPR0, u32::MAX);
    let mut enable = 0;
    for &intid in intids.iter().filter(|&&intid| intid < 32) {
        let priority = sgi + GICR_IPRIORITYR + u64::from(intid);
        // SAFETY: IPRIORITYR is byte-accessible; `intid` < 32 stays inside
        // the SGI/PPI priority registers.
        unsafe { (mmio_virt(priority) as *mut u8).write_volatile(DEFAULT_PRIORITY) };
        enable |= 1 << intid;
    }
    write32(sgi + GICR_ISENABLER0, enable);

    // SAFETY: enabling the system-register interface of this CPU's GIC and
    // unmasking all priorities; interrupts stay masked in PSTATE until the
    // caller enables them.
    unsafe {
        asm!(
            "mrs {tmp}, icc_sre_el1",
            "orr {tmp}, {tmp}, #1",
            "msr icc_sre_el1, {tmp}",
            "isb",
            "msr icc_pmr_el1, {pmr}",
            "msr icc_bpr1_el1, xzr",
            "msr icc_igrpen1_el1, {one}",
            "isb",
            tmp = out(reg) _,
            pmr = in(reg) 0xffu64,
            one = in(reg) 1u64,
            options(nostack),
        );
    }
    MPIDR[cpu_id()].store(mpidr, Ordering::Release);
    Ok(())
}

/// Acknowledges the highest-priority pending Group 1 interrupt.
pub fn acknowledge() -> u32 {
    let intid: u64;
    // SAFETY: reading IAR1 acknowledges one interrupt; the caller ends it
    // with `end_of_interrupt`.
    unsafe { asm!("mrs {}, icc_iar1_el1", out(reg) intid, options(nomem, nostack)) };
    intid as u32
}

pub fn end_of_interrupt(intid: u32) {
    // SAFETY: ends (and, with EOImode 0, deactivates) an interrupt this CPU
    // acknowledged.
    unsafe { asm!("msr icc_eoir1_el1, {}", in(reg) u64::from(intid), options(nomem, nostack)) };
}

/// Sends SGI `intid` to `cpu`; false when that CPU never came online.
pub fn send_sgi(cpu: usize, intid: u32) -> bool {
    let Some(mpidr) = MPIDR.get(cpu).map(|m| m.load(Ordering::Acquire)) else {
        return false;
    };
    if mpidr == u64::MAX {
        return false;
    }
    let aff0 = mpidr & 0xff;
    let value = ((mpidr >> 32) & 0xff) << 48
        | ((mpidr >> 16) & 0xff) << 32
        | (aff0 >> 4) << 44
        | u64::from(intid & 0xf) << 24
        | ((mpidr >> 8) & 0xff) << 16
        | 1 << (aff0 & 0xf);
    // SAFETY: the barrier makes the sender's earlier stores (e.g. what the
    // IPI handler will read) visible before the SGI is generated.
    unsafe {
        asm!("dsb ishst", "msr icc_sgi1r_el1, {}", "isb", in(reg) value, options(nostack));
    }
    true
}
