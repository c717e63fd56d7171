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
mod selftest;
mod serial;
mod smp;
mod task;
mod time;
mod trap;

use boot::BootInfo;
use spin::Once;

pub use catch::{catch, Caught};
pub use deliberate::{fault_in_interrupt, undefined_instruction};
pub use dump::dump_stack;
pub use mmu::{install_tables, mmio_regions, HwMmu, LINEAR_MAP_BASE, VMALLOC_BASE};
pub use percpu::cpu_id;
pub use probe::{probe_exec, probe_read, probe_write};
pub use serial::exit_qemu;
pub use smp::{send_ipi, set_ipi_callback, start_cpu1};
pub use task::run_on_stack;
pub use time::{arm_timer_oneshot, set_timer_callback, ticks, ticks_per_sec};

/// The architecture plans and reports are about.
pub const ARCH: ktest::Arch = ktest::Arch::X86_64;

/// A function whose body is a single `ret`: what the exec probes call.
pub use selftest::return_only;

static BOOT_INFO: Once<&'static BootInfo> = Once::new();

/// Boot CPU set-up: per-CPU base, console, GDT/TSS, IDT, 8259s masked,
/// LAPIC on, TSC and LAPIC timer calibrated; interrupts are enabled on
/// return.
pub fn init_cpu0(info: &'static BootInfo) {
    BOOT_INFO.call_once(|| info);
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

/// Temporary bring-up checks (see `selftest.rs`).
pub fn bringup_selftest() {
    if let Some(info) = BOOT_INFO.get() {
        selftest::run(info);
    }
}

pub fn console_write(bytes: &[u8]) {
    serial::write_bytes(bytes);
}

/// True inside an interrupt or exception handler on this CPU.
pub fn in_interrupt() -> bool {
    trap::depth() > 0
}

pub fn local_irq_enable() {
    x86_64::instructions::interrupts::enable();
}
