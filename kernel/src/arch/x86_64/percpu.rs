//! Which CPU am I: the GS base of each CPU points at its own slot of
//! [`CPU_NUMBERS`], so `cpu_id()` is one `gs`-relative load. The kernel runs
//! only in ring 0, so GS never needs `swapgs`. Per-CPU state elsewhere is an
//! array indexed by `cpu_id()`.

use core::arch::asm;

use x86_64::registers::model_specific::GsBase;
use x86_64::VirtAddr;

/// CPUs this arch code brings up: the boot CPU and CPU1.
pub const NR_CPUS: usize = 2;

static CPU_NUMBERS: [usize; NR_CPUS] = [0, 1];

/// Points this CPU's GS base at its number. The first thing each CPU does.
pub fn init(cpu: usize) {
    GsBase::write(VirtAddr::from_ptr(&CPU_NUMBERS[cpu]));
}

pub fn cpu_id() -> usize {
    let cpu: usize;
    // SAFETY: `init` pointed GS at a `usize` in CPU_NUMBERS before any
    // caller runs on this CPU; the load has no side effect.
    unsafe { asm!("mov {}, gs:[0]", out(reg) cpu, options(nostack, readonly, preserves_flags)) };
    cpu
}
