//! The stack switch under `arch::run_on_stack`: call the closure
//! trampoline on another stack and come back.

/// Calls `call_closure(data)` on the stack that ends at `stack_top`, then
/// returns on the caller's stack.
///
/// # Safety
/// `stack_top` must be 16-byte aligned and end a stack nobody else uses,
/// large enough for the call; `data` must be what `call_closure` expects.
pub(in crate::arch) unsafe fn call_on_stack(stack_top: u64, data: *mut u8) {
    // SAFETY: r12 is callee-saved, so it still holds the old stack pointer
    // when the trampoline returns; the caller vouches for the new stack and
    // `data`, and the call obeys the C ABI (every other register is
    // declared clobbered).
    unsafe {
        core::arch::asm!(
            "mov r12, rsp",
            "mov rsp, {stack}",
            "call {trampoline}",
            "mov rsp, r12",
            stack = in(reg) stack_top,
            trampoline = sym crate::arch::call_closure,
            in("rdi") data,
            out("r12") _,
            clobber_abi("C"),
        );
    }
}
