//! `catch`: run a closure so that a page fault inside it, or a timeout,
//! returns an error instead of ending the run (the test harness's recovery,
//! setjmp/longjmp style). The trap handler "longjmps" by rewriting the trap
//! frame: `iretq` then lands where `catch_enter` would have returned, with
//! the callee-saved registers, stack pointer and flags of that moment.
//! Abandoned frames are not unwound: whatever they owned is leaked.

use core::arch::global_asm;

use mm::Fault;

use super::cpulocal::CpuLocal;
use super::idt::TrapFrame;
use super::{time, trap};

/// Why `catch` gave up on its closure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Caught {
    /// A page fault not claimed by a probe.
    Fault(Fault),
    /// The timeout passed (the closure is abandoned where it was).
    Timeout,
}

/// What `catch_enter` saves: the registers a call must preserve, where it
/// returns to, and RFLAGS (so an abandoned closure's `cli` is undone).
#[repr(C)]
#[derive(Default)]
struct JumpBuffer {
    rbx: u64,
    rbp: u64,
    r12: u64,
    r13: u64,
    r14: u64,
    r15: u64,
    rsp: u64,
    rip: u64,
    rflags: u64,
}

// catch_enter(buffer, thunk, argument) -> 0 when thunk(argument) returns,
// with interrupts disabled (`catch` restores them after disarming the
// timeout); "returns" 1 a second time when a trap handler resumes the
// buffer, with the RFLAGS saved here.
global_asm!(
    r#"
    .pushsection .text.catch_enter, "ax"
    // The CFI goes to .debug_frame (the linker script drops .eh_frame) so
    // that gdb unwinds through this frame to `catch` and on to kernel_main.
    .cfi_sections .debug_frame
    .global lazymmu_catch_enter
    .type lazymmu_catch_enter, @function
lazymmu_catch_enter:
    .cfi_startproc
    mov [rdi], rbx
    mov [rdi + 8], rbp
    mov [rdi + 16], r12
    mov [rdi + 24], r13
    mov [rdi + 32], r14
    mov [rdi + 40], r15
    lea rax, [rsp + 8]
    mov [rdi + 48], rax
    mov rax, [rsp]
    mov [rdi + 56], rax
    pushfq
    .cfi_adjust_cfa_offset 8
    pop rax
    .cfi_adjust_cfa_offset -8
    mov [rdi + 64], rax
    push rbp
    .cfi_adjust_cfa_offset 8
    .cfi_offset rbp, -16
    mov rbp, rsp
    .cfi_def_cfa_register rbp
    mov rdi, rdx
    call rsi
    cli                             # no late timeout into a finished closure
    pop rbp
    .cfi_def_cfa rsp, 8
    .cfi_restore rbp
    xor eax, eax
    ret
    .cfi_endproc
    .size lazymmu_catch_enter, . - lazymmu_catch_enter
    .popsection
"#
);

extern "C" {
    fn lazymmu_catch_enter(buffer: *mut JumpBuffer, thunk: extern "C" fn(*mut u8), argument: *mut u8) -> u64;
}

const RFLAGS_IF: u64 = 1 << 9;

/// An outer catch (with a timeout) and one inner catch (without).
const MAX_NESTING: usize = 2;

#[derive(Clone, Copy)]
struct CatchSlot {
    /// `trap::depth()` when the catch began: a fault belongs to this catch
    /// only if it interrupted the closure itself, not a handler inside it.
    trap_depth: usize,
    buffer: *mut JumpBuffer,
    outcome: Option<Caught>,
}

#[derive(Clone, Copy)]
struct CpuCatches {
    depth: usize,
    slots: [CatchSlot; MAX_NESTING],
    timeout_owner: Option<usize>,
}

// SAFETY: (Send) the raw buffer pointers are only dereferenced on the CPU
// whose stack holds them, while the catch that owns them is live.
unsafe impl Send for CpuCatches {}

const EMPTY_SLOT: CatchSlot = CatchSlot { trap_depth: 0, buffer: core::ptr::null_mut(), outcome: None };
const NO_CATCHES: CpuCatches = CpuCatches { depth: 0, slots: [EMPTY_SLOT; MAX_NESTING], timeout_owner: None };

static CATCHES: CpuLocal<CpuCatches> = CpuLocal::new(NO_CATCHES);

/// Runs `f`. Without `timeout_us`, a page fault inside it (not claimed by a
/// probe) returns `Err(Caught::Fault)`; with `timeout_us` (the watchdog)
/// faults are not caught, and a timer interrupt after that
/// long returns `Err(Caught::Timeout)`. Either way `f` is abandoned where it
/// was, interrupts are as they were on entry, and the LAPIC has had its EOI.
/// Nests one level: an inner catch without a timeout inside an outer one.
/// A timeout needs interrupts enabled while `f` runs.
pub fn catch(f: &mut dyn FnMut(), timeout_us: Option<u64>) -> Result<(), Caught> {
    let mut buffer = JumpBuffer::default();
    let level = CATCHES.with(|catches| {
        let level = catches.depth;
        assert!(level < MAX_NESTING, "catch: nested deeper than {MAX_NESTING}");
        if timeout_us.is_some() {
            assert!(catches.timeout_owner.is_none(), "catch: only one level may have a timeout");
            catches.timeout_owner = Some(level);
        }
        catches.slots[level] = CatchSlot { trap_depth: trap::depth(), buffer: &mut buffer, outcome: None };
        catches.depth = level + 1;
        level
    });
    if let Some(us) = timeout_us {
        time::set_catch_deadline(Some(time::ticks() + time::us_to_ticks(us).max(1)));
    }
    let mut closure: &mut dyn FnMut() = f;
    // SAFETY: `buffer` outlives the call and is registered in this CPU's
    // catch slot, so a handler resuming it lands back in this still-live
    // frame with the registers the ABI says the call preserves.
    let abandoned = unsafe {
        lazymmu_catch_enter(&mut buffer, crate::arch::call_closure, (&mut closure as *mut &mut dyn FnMut()).cast())
    };
    if timeout_us.is_some() {
        time::set_catch_deadline(None);
    }
    let outcome = CATCHES.with(|catches| {
        catches.depth = level;
        if catches.timeout_owner == Some(level) {
            catches.timeout_owner = None;
        }
        catches.slots[level].outcome.take()
    });
    if buffer.rflags & RFLAGS_IF != 0 {
        x86_64::instructions::interrupts::enable();
    }
    match (abandoned, outcome) {
        (0, _) => Ok(()),
        (_, Some(caught)) => Err(caught),
        (_, None) => unreachable!("catch: resumed without an outcome"),
    }
}

/// Page-fault path: hands `fault` to the innermost catch if it interrupted
/// that catch's closure directly. Returns false when no catch claims it.
pub fn catch_fault(frame: &mut TrapFrame, fault: Fault) -> bool {
    let depth = trap::depth();
    let buffer = CATCHES.with(|catches| {
        let level = catches.depth.checked_sub(1)?;
        // The level with a timeout is the watchdog: a fault under it is
        // unexpected and ends the run as a crash, with the register dump.
        if catches.timeout_owner == Some(level) {
            return None;
        }
        let slot = &mut catches.slots[level];
        if depth != slot.trap_depth + 1 {
            return None;
        }
        slot.outcome = Some(Caught::Fault(fault));
        Some(slot.buffer)
    });
    match buffer {
        Some(buffer) => {
            resume(frame, buffer);
            true
        }
        None => false,
    }
}

/// Timer path: abandons everything up to the catch that armed the timeout.
pub fn abandon_on_timeout(frame: &mut TrapFrame) {
    let buffer = CATCHES.with(|catches| {
        let owner = catches.timeout_owner.take()?;
        catches.depth = owner + 1;
        catches.slots[owner].outcome = Some(Caught::Timeout);
        Some(catches.slots[owner].buffer)
    });
    if let Some(buffer) = buffer {
        resume(frame, buffer);
    }
}

fn resume(frame: &mut TrapFrame, buffer: *mut JumpBuffer) {
    // SAFETY: the buffer belongs to a catch that is still on this CPU's
    // stack (its slot is live), so the pointer is valid.
    let buffer = unsafe { &*buffer };
    frame.rbx = buffer.rbx;
    frame.rbp = buffer.rbp;
    frame.r12 = buffer.r12;
    frame.r13 = buffer.r13;
    frame.r14 = buffer.r14;
    frame.r15 = buffer.r15;
    frame.rsp = buffer.rsp;
    frame.rip = buffer.rip;
    frame.rflags = buffer.rflags;
    frame.rax = 1;
}
