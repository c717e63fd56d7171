//! The x86_64 side of the interrupt switch (arch/preempt.rs): a second
//! task's first frame, the resched IPI, the yield (`int` on a vector of
//! its own) and the entry trampoline.

use core::arch::{asm, naked_asm};

use x86_64::instructions::segmentation::{Segment, CS, SS};

pub(in crate::arch) use super::idt::TrapFrame;
use super::idt::{RESCHED_VECTOR, YIELD_VECTOR};
use super::smp;

/// RFLAGS of a new task: IF (interrupts on) and the always-one bit 1.
const FIRST_RFLAGS: u64 = (1 << 9) | (1 << 1);

/// The frame whose `iretq` starts a task at `entry` with `arg` in RDI, on
/// the stack ending at `stack_top` (16-byte aligned), interrupts on.
pub(in crate::arch) fn first_frame(entry: u64, stack_top: u64, arg: u64) -> TrapFrame {
    TrapFrame {
        rax: 0,
        rbx: 0,
        rcx: 0,
        rdx: 0,
        rsi: 0,
        rdi: arg,
        rbp: 0,
        r8: 0,
        r9: 0,
        r10: 0,
        r11: 0,
        r12: 0,
        r13: 0,
        r14: 0,
        r15: 0,
        vector: 0,
        error_code: 0,
        rip: entry,
        cs: u64::from(CS::get_reg().0),
        rflags: FIRST_RFLAGS,
        rsp: stack_top,
        ss: u64::from(SS::get_reg().0),
    }
}

pub(in crate::arch) fn irqs_enabled() -> bool {
    x86_64::instructions::interrupts::are_enabled()
}

/// The resched IPI to `cpu` (this one included: a self-IPI, taken as soon
/// as interrupts are on).
pub(in crate::arch) fn raise_resched(cpu: usize) {
    smp::send_vector(cpu, RESCHED_VECTOR);
}

/// The yield: a software interrupt whose exit path switches.
pub(in crate::arch) fn yield_now() {
    // SAFETY: the vector's handler saves and restores every register (the
    // task resumes exactly here when switched back in) and touches no
    // memory this code owns.
    unsafe { asm!("int {vector}", vector = const YIELD_VECTOR) };
}

/// A second task's first instruction: RDI holds its slot, RSP is 16-byte
/// aligned, so the call below meets the ABI. `second_task_main` never
/// returns.
#[unsafe(naked)]
pub(in crate::arch) extern "C" fn task_entry() -> ! {
    naked_asm!("call {main}", "ud2", main = sym crate::arch::preempt::second_task_main);
}
