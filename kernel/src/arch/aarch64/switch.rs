//! The arm64 side of the interrupt switch (arch/preempt.rs): a second
//! task's first frame, the resched SGI, the yield (`svc`) and the entry
//! trampoline.

use core::arch::{asm, naked_asm};

use aarch64_cpu::registers::{Readable, DAIF};

use super::gic;
pub(in crate::arch) use super::vectors::TrapFrame;

/// SPSR.M for EL1 on SP_EL0 ("EL1t"), where kernel code runs.
const SPSR_EL1T: u64 = 0b0100;
/// PSTATE.I: IRQs masked.
const DAIF_I: u64 = 1 << 7;

/// The frame whose `eret` starts a task at `entry` with `arg` in x0, on
/// the stack ending at `stack_top` (16-byte aligned), IRQs unmasked.
pub(in crate::arch) fn first_frame(entry: u64, stack_top: u64, arg: u64) -> TrapFrame {
    let mut x = [0; 31];
    x[0] = arg;
    TrapFrame {
        x,
        sp: stack_top,
        elr: entry,
        spsr: (DAIF.get() & !DAIF_I) | SPSR_EL1T,
        q: [0; 32],
        fpsr: 0,
        fpcr: fpcr(),
    }
}

fn fpcr() -> u64 {
    let fpcr: u64;
    // SAFETY: reading FPCR has no side effects.
    unsafe { asm!("mrs {}, fpcr", out(reg) fpcr, options(nomem, nostack, preserves_flags)) };
    fpcr
}

pub(in crate::arch) fn irqs_enabled() -> bool {
    DAIF.get() & DAIF_I == 0
}

/// The resched SGI to `cpu` (this one included).
pub(in crate::arch) fn raise_resched(cpu: usize) {
    gic::send_sgi(cpu, gic::RESCHED_SGI);
}

/// The yield: `svc`, whose exception exit path switches.
pub(in crate::arch) fn yield_now() {
    // SAFETY: the exception entry saves and restores every register (the
    // task resumes right after the `svc` when switched back in) and the
    // handler touches no memory this code owns.
    unsafe { asm!("svc #0") };
}

/// A second task's first instruction: x0 holds its slot, SP is 16-byte
/// aligned; x29 and x30 are 0, which ends a backtrace. `second_task_main`
/// never returns.
#[unsafe(naked)]
pub(in crate::arch) extern "C" fn task_entry() -> ! {
    naked_asm!("bl {main}", "brk #0x5ab", main = sym crate::arch::preempt::second_task_main);
}
