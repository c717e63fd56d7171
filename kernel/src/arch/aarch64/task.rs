//! A cooperative task switch at its smallest: run a closure on another
//! stack and come back. The scenarios' `switch_task` uses it so a lazy
//! section really crosses a stack switch.

/// Runs `f` on the stack that ends at `stack_top` (16-byte aligned, large
/// enough for `f`), then returns on the caller's stack.
pub fn run_on_stack(stack_top: u64, f: &mut dyn FnMut()) {
    assert!(stack_top.is_multiple_of(16), "run_on_stack: misaligned stack top {stack_top:#x}");
    let mut f = f;
    let data = (&mut f as *mut &mut dyn FnMut()).cast::<u8>();
    // SAFETY: x20 is callee-saved, so it still holds the old stack pointer
    // when the trampoline returns; the new stack is ours, aligned, and the
    // call obeys the AAPCS64 (every other register is declared clobbered).
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
