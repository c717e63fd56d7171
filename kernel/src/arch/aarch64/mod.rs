//! arm64 (QEMU `virt`, GICv3) implementation of the arch interface described
//! in `arch/mod.rs`.

mod barrier;
mod catch;
mod deliberate;
mod dt;
mod fault;
mod gic;
mod mmu;
mod percpu;
mod pl011;
mod probe;
mod semihosting;
mod smp;
pub(in crate::arch) mod switch;
mod timer;
mod translation;
mod trap;
mod vectors;

use core::arch::asm;

use aarch64_cpu::registers::{Readable, Writeable, DAIF, VBAR_EL1};
use boot::{BootInfo, MemoryRegion};
use spin::Once;

pub use catch::{catch, Caught};
pub use deliberate::{fault_in_interrupt, undefined_instruction};
pub use mmu::{install_tables, HwMmu, LINEAR_MAP_BASE, VMALLOC_BASE};
pub use percpu::cpu_id;
pub use probe::{probe_exec, probe_read, probe_write};
pub use semihosting::exit_qemu;
pub use timer::{ticks, ticks_per_sec};
pub use translation::{translation_fields, translation_registers, TranslationRegisters};
pub use trap::dump_stack;
pub use trap::set_ipi_callback;

/// The architecture plans and reports are about.
pub const ARCH: ktest::Arch = ktest::Arch::Aarch64;

static BOOT_INFO: Once<&'static BootInfo> = Once::new();
static PLATFORM: Once<dt::Platform> = Once::new();
/// UART, GIC distributor, used GIC redistributors.
static MMIO_REGIONS: Once<([MemoryRegion; 3], usize)> = Once::new();

/// SGIs and PPIs every CPU enables.
fn private_interrupts(platform: &dt::Platform) -> [u32; 3] {
    [gic::IPI_SGI, gic::RESCHED_SGI, platform.vtimer_intid.unwrap_or(gic::IPI_SGI)]
}

/// Boot CPU set-up: exception vectors and stack, console, GICv3, timer;
/// interrupts are enabled on return.
pub fn init_cpu0(info: &'static BootInfo) {
    BOOT_INFO.call_once(|| info);
    mmu::set_boot_window(info.phys_window);
    // SAFETY: once, on the boot CPU, which the boot code left on SP_EL0.
    unsafe { percpu::init_this_cpu(0) };
    install_vectors();

    let platform = *PLATFORM.call_once(|| info.dtb_phys.map(dt::parse).unwrap_or_else(dt::empty));
    if let Some(uart) = platform.uart_base {
        pl011::set_base(uart);
    }
    if let Some(intid) = platform.vtimer_intid {
        trap::set_vtimer_intid(intid);
    }
    let mut regions = [MemoryRegion::default(); 3];
    let mut nr_regions = 0;
    if let Some(uart) = platform.uart_base {
        regions[nr_regions] = MemoryRegion { base: uart, len: mm::PAGE_SIZE };
        nr_regions += 1;
    }
    match (platform.gicd, platform.gicr) {
        (Some(gicd), Some(gicr)) => {
            gic::init_distributor(gicd, gicr);
            regions[nr_regions] = gicd;
            nr_regions += 1;
            let nr_cpus = platform.cpu_mpidr.iter().flatten().count().max(1);
            if let Some(used) = gic::used_redistributors(nr_cpus) {
                regions[nr_regions] = used;
                nr_regions += 1;
            }
            if let Err(why) = gic::init_this_cpu(&private_interrupts(&platform)) {
                crate::console::print_unlocked(format_args!("# arm64: cpu0 GIC: {why}\n"));
            }
        }
        _ => crate::console::print_unlocked(format_args!("# arm64: no GICv3 in the device tree\n")),
    }
    MMIO_REGIONS.call_once(|| (regions, nr_regions));
    local_irq_enable();
}

/// The same per-CPU set-up on a secondary CPU, running on the tables and
/// stack `secondary_entry` gave it.
fn init_secondary(cpu: usize) {
    // SAFETY: once for this CPU number, on SP_EL0 (set by `secondary_entry`).
    unsafe { percpu::init_this_cpu(cpu) };
    install_vectors();
    if let Some(platform) = PLATFORM.get() {
        if let Err(why) = gic::init_this_cpu(&private_interrupts(platform)) {
            crate::console::print_unlocked(format_args!("# arm64: cpu{cpu} GIC: {why}\n"));
        }
    }
    local_irq_enable();
}

fn install_vectors() {
    VBAR_EL1.set(core::ptr::addr_of!(vectors::exception_vectors) as u64);
    aarch64_cpu::asm::barrier::isb(aarch64_cpu::asm::barrier::SY);
}

/// Link address minus load address of the image (0 when it runs identity
/// mapped), from the boot adapter.
fn kernel_virt_offset() -> u64 {
    BOOT_INFO.get().map_or(0, |info| info.kernel_virt_offset)
}

pub fn console_write(bytes: &[u8]) {
    pl011::write_bytes(bytes);
}

/// Device memory the kernel's own tables must keep mapped (identity,
/// Device-nGnRnE): the console UART and the GICv3 frames in use.
pub fn mmio_regions() -> &'static [MemoryRegion] {
    match MMIO_REGIONS.get() {
        Some((regions, len)) => &regions[..*len],
        None => &[],
    }
}

/// Runs `f` with IRQs masked on this CPU, then puts the mask back as it was.
pub fn without_interrupts<R>(f: impl FnOnce() -> R) -> R {
    let saved = DAIF.get();
    // SAFETY: masking IRQs only delays them; the saved DAIF is restored below.
    unsafe { asm!("msr daifset, #2", options(nomem, nostack, preserves_flags)) };
    let result = f();
    DAIF.set(saved);
    result
}

pub fn local_irq_enable() {
    // SAFETY: unmasking IRQs; the vectors and GIC are set up before any
    // caller can get here.
    unsafe { asm!("msr daifclr, #2", options(nomem, nostack, preserves_flags)) };
}

/// The function the timer interrupt calls (in interrupt context) when a
/// deadline set by `arm_timer_oneshot` passes.
pub fn set_timer_callback(f: fn()) {
    timer::set_callback(f);
}

/// Arms this CPU's one-shot timer `us` microseconds from now.
pub fn arm_timer_oneshot(us: u64) {
    timer::arm_oneshot(us);
}

/// Starts CPU 1 (PSCI CPU_ON) on `stack_top` running `entry`; returns once
/// it is online (bounded wait).
pub fn start_cpu1(stack_top: u64, entry: fn() -> !) -> Result<(), &'static str> {
    let platform = PLATFORM.get().ok_or("init_cpu0 has not run")?;
    smp::start_cpu1(platform.psci, platform.cpu_mpidr[1], stack_top, entry)
}

/// Sends the IPI (SGI 0) to `cpu`; nothing happens if it is not online.
pub fn send_ipi(cpu: usize) {
    gic::send_sgi(cpu, gic::IPI_SGI);
}
