//! Per-CPU state: the CPU number (kept in TPIDR_EL1), the exception stack
//! each CPU's handlers run on, and the handler nesting depth that answers
//! `in_interrupt()` and stops a fault inside the fault handler from looping.

use core::arch::asm;
use core::sync::atomic::{AtomicUsize, Ordering};

use aarch64_cpu::registers::{Readable, Writeable, TPIDR_EL1};
pub use mm::mmu::MAX_CPUS;

/// Deep enough for a switch on an interrupt's exit path, which runs the lazy
/// layer's context-switch hooks on this stack (arch/preempt.rs).
const EXCEPTION_STACK_SIZE: usize = 64 * 1024;

#[repr(C, align(16))]
struct ExceptionStack([u8; EXCEPTION_STACK_SIZE]);

/// Only ever used as stack memory by the CPU that owns the slot.
static mut EXCEPTION_STACKS: [ExceptionStack; MAX_CPUS] =
    [const { ExceptionStack([0; EXCEPTION_STACK_SIZE]) }; MAX_CPUS];

static HANDLER_DEPTH: [AtomicUsize; MAX_CPUS] = [const { AtomicUsize::new(0) }; MAX_CPUS];

pub fn cpu_id() -> usize {
    TPIDR_EL1.get() as usize
}

/// Names this CPU and points SP_EL1 at its exception stack; kernel code
/// keeps running on SP_EL0.
///
/// # Safety
/// Once per CPU, with `cpu < MAX_CPUS` unique to it, while SPSel is 0 (the
/// boot code selects SP_EL0 before any Rust runs).
pub unsafe fn init_this_cpu(cpu: usize) {
    assert!(cpu < MAX_CPUS, "cpu {cpu} beyond MAX_CPUS");
    TPIDR_EL1.set(cpu as u64);
    // SAFETY: the slot belongs to this CPU alone; only its address is taken.
    let stack_top = unsafe { core::ptr::addr_of_mut!(EXCEPTION_STACKS[cpu]) as u64 + EXCEPTION_STACK_SIZE as u64 };
    // SAFETY: switching SPSel to 1 only to load SP_EL1 and straight back;
    // the compiler's stack (SP_EL0) is untouched and nothing runs between.
    unsafe {
        asm!(
            "msr spsel, #1",
            "mov sp, {top}",
            "msr spsel, #0",
            top = in(reg) stack_top,
            options(nomem, preserves_flags),
        );
    }
}

/// Counts one more active exception handler on this CPU; returns how many
/// were active before.
pub fn enter_handler() -> usize {
    HANDLER_DEPTH[cpu_id()].fetch_add(1, Ordering::Relaxed)
}

pub fn leave_handler() {
    HANDLER_DEPTH[cpu_id()].fetch_sub(1, Ordering::Relaxed);
}

pub fn in_interrupt() -> bool {
    HANDLER_DEPTH[cpu_id()].load(Ordering::Relaxed) > 0
}
