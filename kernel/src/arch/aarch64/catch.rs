//! `catch`: run a closure so that a fault inside it, or running out of time,
//! returns an error instead of ending the run. Like setjmp/longjmp: the
//! callee-saved registers and SP are saved on entry, and the exception
//! handler rewrites its trap frame so that `eret` lands back in `catch`.
//! The abandoned closure's frames are dropped without running destructors.

use core::arch::global_asm;
use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

use aarch64_cpu::registers::{Readable, Writeable, DAIF};
use mm::Fault;

use super::percpu::{cpu_id, MAX_CPUS};
use super::timer;
use super::vectors::TrapFrame;

/// Why `catch` gave up on its closure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Caught {
    Fault(Fault),
    Timeout,
}

/// An outer catch (with a timeout) around an inner one (without) is the
/// deepest use the harness makes.
const MAX_NESTING: usize = 2;

/// `__catch_call`'s return value: 0, or the reason the handler returned in
/// its place.
const RESUMED_NORMALLY: u64 = 0;
const RESUMED_FAULT: u64 = 1;
const RESUMED_TIMEOUT: u64 = 2;

/// SPSR for the landing: EL1 on SP_EL0 with D, A, I, F masked; `catch`
/// restores the caller's DAIF itself once the frame is unpublished.
const SPSR_EL1T_MASKED: u64 = 0x3c4;

/// Callee-saved state, in the order `__catch_call` stores it.
#[repr(C)]
#[derive(Default)]
struct JmpBuf {
    /// x19..=x28, x29 (frame pointer), x30 (the return address).
    x19_x30: [u64; 12],
    sp: u64,
    d8_d15: [u64; 8],
}

struct CatchFrame {
    buf: JmpBuf,
    deadline: Option<u64>,
    fault: Option<Fault>,
}

static DEPTH: [AtomicUsize; MAX_CPUS] = [const { AtomicUsize::new(0) }; MAX_CPUS];
static FRAMES: [[AtomicPtr<CatchFrame>; MAX_NESTING]; MAX_CPUS] =
    [const { [const { AtomicPtr::new(core::ptr::null_mut()) }; MAX_NESTING] }; MAX_CPUS];

global_asm!(
    r#"
    .section .text.catch, "ax"
    // The CFI goes to .debug_frame (the linker script drops .eh_frame) so
    // that gdb unwinds through this frame to `catch` and on to kernel_main.
    .cfi_sections .debug_frame
    // x0 = &JmpBuf, x1 = trampoline, x2 = its argument -> x0 = 0
    .global __catch_call
    .type __catch_call, %function
__catch_call:
    .cfi_startproc
    stp     x19, x20, [x0, #0]
    stp     x21, x22, [x0, #16]
    stp     x23, x24, [x0, #32]
    stp     x25, x26, [x0, #48]
    stp     x27, x28, [x0, #64]
    stp     x29, x30, [x0, #80]
    mov     x9, sp
    str     x9, [x0, #96]
    stp     d8, d9, [x0, #104]
    stp     d10, d11, [x0, #120]
    stp     d12, d13, [x0, #136]
    stp     d14, d15, [x0, #152]
    stp     x29, x30, [sp, #-16]!
    .cfi_def_cfa_offset 16
    .cfi_offset x29, -16
    .cfi_offset x30, -8
    mov     x29, sp
    .cfi_def_cfa x29, 16
    mov     x0, x2
    blr     x1
    // Once the closure is done a timeout must not resume this frame
    // again: mask IRQs until `catch` has unpublished it.
    msr     daifset, #2
    ldp     x29, x30, [sp], #16
    .cfi_def_cfa sp, 0
    .cfi_restore x29
    .cfi_restore x30
    mov     x0, #0
    ret
    .cfi_endproc
    .size __catch_call, . - __catch_call
"#
);

extern "C" {
    fn __catch_call(buf: *mut JmpBuf, trampoline: extern "C" fn(*mut u8), data: *mut u8) -> u64;
}

/// Runs `f`; without `timeout_us` a fault inside it (outside a probe) returns
/// `Err(Fault)`; with `timeout_us` (the watchdog) faults are not caught and
/// a timer interrupt abandons `f` with `Err(Timeout)`.
/// Interrupts are enabled while a timed `f` runs; the caller's interrupt
/// mask is restored on every way out. Nests one level.
pub fn catch(mut f: &mut dyn FnMut(), timeout_us: Option<u64>) -> Result<(), Caught> {
    let cpu = cpu_id();
    let depth = DEPTH[cpu].load(Ordering::Relaxed);
    assert!(depth < MAX_NESTING, "catch nested deeper than {MAX_NESTING}");
    let saved_daif = DAIF.get();
    let mut frame =
        CatchFrame { buf: JmpBuf::default(), deadline: timeout_us.map(timer::deadline_after_us), fault: None };
    // One raw pointer for every access: the exception handler writes the
    // frame through it while `__catch_call` is suspended.
    let frame_ptr: *mut CatchFrame = &mut frame;
    FRAMES[cpu][depth].store(frame_ptr, Ordering::Relaxed);
    DEPTH[cpu].store(depth + 1, Ordering::Relaxed);
    rearm_catch_deadline(cpu);
    if timeout_us.is_some() {
        super::local_irq_enable();
    }

    let data = core::ptr::addr_of_mut!(f) as *mut u8;
    // SAFETY: `__catch_call` saves the callee-saved state into the frame's
    // buffer and calls `call_closure(data)`; it returns normally, or the
    // exception handler resumes it from that buffer as if it had returned,
    // which preserves everything the AAPCS64 requires of a call.
    let resumed = unsafe { __catch_call(core::ptr::addr_of_mut!((*frame_ptr).buf), crate::arch::call_closure, data) };

    // IRQs are masked here on both ways back (see `__catch_call` and
    // SPSR_EL1T_MASKED).
    DEPTH[cpu].store(depth, Ordering::Relaxed);
    rearm_catch_deadline(cpu);
    DAIF.set(saved_daif);
    // SAFETY: the frame is no longer published (DEPTH is back to `depth`).
    let fault = unsafe { (*frame_ptr).fault };
    match resumed {
        RESUMED_NORMALLY => Ok(()),
        RESUMED_TIMEOUT => Err(Caught::Timeout),
        _ => Err(Caught::Fault(fault.expect("catch resumed for a fault without one"))),
    }
}

/// The timer runs for the earliest deadline of the active catches.
fn rearm_catch_deadline(cpu: usize) {
    let depth = DEPTH[cpu].load(Ordering::Relaxed);
    let earliest = FRAMES[cpu][..depth]
        .iter()
        .filter_map(|slot| {
            // SAFETY: slots below DEPTH point at live frames on this CPU's
            // stack (their `catch` calls have not returned).
            unsafe { (*slot.load(Ordering::Relaxed)).deadline }
        })
        .min();
    timer::set_catch_deadline(earliest);
}

fn resume(frame: &mut TrapFrame, cpu: usize, level: usize, code: u64) {
    let catch_frame = FRAMES[cpu][level].load(Ordering::Relaxed);
    // SAFETY: `level` is below DEPTH, so the frame is live; only this CPU
    // touches it and its `catch` is suspended under this exception.
    let buf = unsafe { &(*catch_frame).buf };
    frame.x[19..=30].copy_from_slice(&buf.x19_x30);
    frame.sp = buf.sp;
    for (q, d) in frame.q[8..16].iter_mut().zip(buf.d8_d15) {
        *q = u128::from(d);
    }
    frame.x[0] = code;
    frame.elr = buf.x19_x30[11];
    frame.spsr = SPSR_EL1T_MASKED;
    // Inner catches are abandoned together with the code they ran.
    DEPTH[cpu].store(level + 1, Ordering::Relaxed);
}

/// A fault in thread context: resume the innermost catch, if any.
pub fn on_fault(frame: &mut TrapFrame, fault: Fault) -> bool {
    let cpu = cpu_id();
    let depth = DEPTH[cpu].load(Ordering::Relaxed);
    let Some(level) = depth.checked_sub(1) else {
        return false;
    };
    let frame_ptr = FRAMES[cpu][level].load(Ordering::Relaxed);
    // The level with a timeout is the watchdog: a fault under it is
    // unexpected and ends the run as a crash, with the register dump.
    // SAFETY: as in `resume`.
    if unsafe { (*frame_ptr).deadline.is_some() } {
        return false;
    }
    // SAFETY: as in `resume`.
    unsafe { (*frame_ptr).fault = Some(fault) };
    resume(frame, cpu, level, RESUMED_FAULT);
    true
}

/// The catch deadline passed: resume the outermost catch whose time is up.
pub fn on_timeout(frame: &mut TrapFrame) -> bool {
    let cpu = cpu_id();
    let depth = DEPTH[cpu].load(Ordering::Relaxed);
    let now = timer::ticks();
    let expired = (0..depth).find(|&level| {
        // SAFETY: as in `resume`.
        let deadline = unsafe { (*FRAMES[cpu][level].load(Ordering::Relaxed)).deadline };
        deadline.is_some_and(|d| d <= now)
    });
    match expired {
        Some(level) => {
            resume(frame, cpu, level, RESUMED_TIMEOUT);
            true
        }
        None => false,
    }
}
