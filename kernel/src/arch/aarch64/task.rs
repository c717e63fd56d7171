//! The stack switch under `arch::run_on_stack`: call the closure
//! trampoline on another stack and come back.

/// Calls `call_closure(data)` on the stack that ends at `stack_top`, then
/// returns on the caller's stack.
///
/// # Safety
/// `stack_top` must be 16-byte aligned and end a stack nobody else uses,
/// large enough for the call; `data` must be what `call_closure` expects.
pub(in crate::arch) unsafe fn call_on_stack(stack_top: u64, data: *mut u8) {
    // SAFETY: x20 is callee-saved, so it still holds the old stack pointer
    // when the trampoline returns; the caller vouches for the new stack and
    // `data`, and the call obeys the AAPCS64 (every other register is
    // declared clobbered).
    unsafe {
        core::arch::asm!(
            "mov x20, sp",
            "mov sp, {stack}",
            "bl {trampoline}",
            "mov sp, x20",
            stack = in(reg) stack_top,
            trampoline = sym crate::arch::call_closure,
            in("x0") data,
            out("x20") _,
            clobber_abi("C"),
        );
    }
}
