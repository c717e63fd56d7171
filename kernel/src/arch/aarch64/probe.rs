//! One access whose fault comes back as a value. Each probe is a tiny
//! assembly routine whose faulting instruction the exception handler knows
//! by address (or, for `probe_exec`, by the armed call); it records the
//! fault and resumes at the routine's fixup instead of crashing.

use core::arch::global_asm;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use mm::Fault;

use super::fault::{decode_abort, exception_class, EC_INSTR_ABORT_SAME_EL};
use super::percpu::{cpu_id, MAX_CPUS};
use super::vectors::TrapFrame;

global_asm!(
    r#"
    .section .text.probe, "ax"
    // x0 = va -> x0 = value, x1 = 1 if the load faulted
    .global __probe_read
__probe_read:
    mov     x1, #0
    .global __probe_read_insn
__probe_read_insn:
    ldr     x0, [x0]
    ret

    // x0 = va, x1 = value -> x0 = 1 if the store faulted
    .global __probe_write
__probe_write:
    mov     x2, x0
    mov     x0, #0
    .global __probe_write_insn
__probe_write_insn:
    str     x1, [x2]
    ret

    // x0 = va -> x0 = 1 if fetching from va faulted; va holds a `ret`
    .global __probe_exec
__probe_exec:
    stp     x29, x30, [sp, #-16]!
    mov     x29, sp
    mov     x1, x0
    mov     x0, #0
    blr     x1
    .global __probe_exec_return
__probe_exec_return:
    ldp     x29, x30, [sp], #16
    ret
"#
);

#[repr(C)]
struct ReadResult {
    value: u64,
    faulted: u64,
}

extern "C" {
    fn __probe_read(va: u64) -> ReadResult;
    fn __probe_write(va: u64, value: u64) -> u64;
    fn __probe_exec(va: u64) -> u64;
    static __probe_read_insn: u8;
    static __probe_write_insn: u8;
    static __probe_exec_return: u8;
}

static LAST_ESR: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
static LAST_FAR: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
static EXEC_ARMED: [AtomicBool; MAX_CPUS] = [const { AtomicBool::new(false) }; MAX_CPUS];

fn last_fault() -> Fault {
    let cpu = cpu_id();
    decode_abort(LAST_ESR[cpu].load(Ordering::Relaxed), LAST_FAR[cpu].load(Ordering::Relaxed))
}

pub fn probe_read(va: u64) -> Result<u64, Fault> {
    // SAFETY: the routine loads from `va` and any abort it takes is turned
    // into `faulted` by `fixup`; it touches nothing else.
    let result = unsafe { __probe_read(va) };
    if result.faulted != 0 {
        return Err(last_fault());
    }
    Ok(result.value)
}

pub fn probe_write(va: u64, value: u64) -> Result<(), Fault> {
    // SAFETY: as `probe_read`; the store itself is what the caller asked
    // for, to memory it names on purpose.
    if unsafe { __probe_write(va, value) } != 0 {
        return Err(last_fault());
    }
    Ok(())
}

pub fn probe_exec(va: u64) -> Result<(), Fault> {
    let armed = &EXEC_ARMED[cpu_id()];
    armed.store(true, Ordering::Relaxed);
    // SAFETY: the caller placed a `ret` at `va` (or expects the fetch to
    // fault, which `fixup` turns into a return to the routine).
    let faulted = unsafe { __probe_exec(va) };
    armed.store(false, Ordering::Relaxed);
    if faulted != 0 {
        return Err(last_fault());
    }
    Ok(())
}

/// Called for every abort before it is treated as unexpected: if a probe
/// took it, records it and resumes at the probe's fixup.
pub fn fixup(frame: &mut TrapFrame, esr: u64, far: u64) -> bool {
    let cpu = cpu_id();
    let read_insn = core::ptr::addr_of!(__probe_read_insn) as u64;
    let write_insn = core::ptr::addr_of!(__probe_write_insn) as u64;
    let exec_return = core::ptr::addr_of!(__probe_exec_return) as u64;
    let record = || {
        LAST_ESR[cpu].store(esr, Ordering::Relaxed);
        LAST_FAR[cpu].store(far, Ordering::Relaxed);
    };
    if frame.elr == read_insn {
        record();
        frame.x[0] = 0;
        frame.x[1] = 1;
        frame.elr += 4;
        return true;
    }
    if frame.elr == write_insn {
        record();
        frame.x[0] = 1;
        frame.elr += 4;
        return true;
    }
    let exec_probe = EXEC_ARMED[cpu].load(Ordering::Relaxed)
        && exception_class(esr) == EC_INSTR_ABORT_SAME_EL
        && frame.x[30] == exec_return
        && frame.elr == frame.x[1];
    if exec_probe {
        record();
        frame.x[0] = 1;
        frame.elr = exec_return;
        return true;
    }
    false
}
