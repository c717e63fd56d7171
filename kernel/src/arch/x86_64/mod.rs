//! x86_64 (QEMU q35, xAPIC) implementation of the arch interface described
//! in `arch/mod.rs`.

mod apic;
mod catch;
mod cpulocal;
mod deliberate;
mod dump;
mod gdt;
mod idt;
mod mmu;
mod percpu;
mod probe;
mod serial;
mod smp;
pub(in crate::arch) mod switch;
mod time;
mod translation;
mod trap;

use boot::BootInfo;

pub use catch::{catch, Caught};
pub use deliberate::{fault_in_interrupt, undefined_instruction};
pub use dump::dump_stack;
pub use mmu::{install_tables, mmio_regions, HwMmu, LINEAR_MAP_BASE, VMALLOC_BASE};
pub use percpu::cpu_id;
pub use probe::{probe_exec, probe_read, probe_write};
pub use serial::exit_qemu;
pub use smp::{send_ipi, set_ipi_callback, start_cpu1};
pub use time::{arm_timer_oneshot, set_timer_callback, ticks, ticks_per_sec};
pub use translation::{translation_fields, translation_registers, TranslationRegisters};
/// Runs `f` with interrupts masked on this CPU, then puts IF back as it was.
pub use x86_64::instructions::interrupts::without_interrupts;

/// The architecture plans and reports are about.
pub const ARCH: ktest::Arch = ktest::Arch::X86_64;

/// Boot CPU set-up: per-CPU base, console, GDT/TSS, IDT, 8259s masked,
/// LAPIC on, TSC and LAPIC timer calibrated; interrupts are enabled on
/// return.
pub fn init_cpu0(info: &'static BootInfo) {
    mmu::set_boot_window(info.phys_window);
    percpu::init(0);
    serial::init();
    gdt::init(0);
    idt::load();
    apic::disable_legacy_pic();
    apic::init_local();
    smp::init_cpu0();
    time::calibrate();
    local_irq_enable();
}

pub fn console_write(bytes: &[u8]) {
    serial::write_bytes(bytes);
}

pub fn local_irq_enable() {
    x86_64::instructions::interrupts::enable();
}
