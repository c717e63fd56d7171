//! Faults taken on purpose by the `crash` suite, to show that each kind of
//! unexpected trap ends the run with a register dump and a backtrace
//! (status 37) rather than a hang or a reset.

use super::time;

/// Canonical, and outside every range the kernel's tables map.
const UNMAPPED: u64 = 0x1_0000_0000;

/// Executes `ud2`: an invalid-opcode trap (#UD) nobody expects.
pub fn undefined_instruction() -> ! {
    // SAFETY: not safe: an invalid opcode on purpose; the #UD handler dumps
    // the registers and ends the run.
    unsafe { core::arch::asm!("ud2", options(noreturn, nomem, nostack)) }
}

fn wild_store() {
    // SAFETY: not safe: a store to an unmapped address, on purpose, from
    // the timer interrupt.
    unsafe { core::ptr::write_volatile(UNMAPPED as *mut u64, 0x5a) }
}

/// Arms a 1 ms timer whose callback stores through a wild pointer, then
/// waits: the page fault is taken inside the interrupt handler.
pub fn fault_in_interrupt() -> ! {
    time::set_timer_callback(wild_store);
    time::arm_timer_oneshot(1_000);
    loop {
        core::hint::spin_loop();
    }
}
