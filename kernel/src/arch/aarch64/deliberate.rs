//! Faults taken on purpose by the `crash` suite, to show that each kind of
//! unexpected exception ends the run with a register dump and a backtrace
//! (status 37) rather than a hang or a reset.

/// In the first 512 GiB of TTBR0 but outside every range the kernel maps.
const UNMAPPED_VA: u64 = 0x0000_7f00_0000_1238;

/// Executes `udf #0`: an undefined-instruction exception nobody expects.
pub fn undefined_instruction() -> ! {
    // SAFETY: not safe: a permanently undefined encoding on purpose; the
    // synchronous exception handler dumps the registers and ends the run.
    unsafe { core::arch::asm!("udf #0", options(noreturn, nomem, nostack)) }
}

fn wild_store() {
    // SAFETY: not safe: a store to an unmapped address, on purpose, from
    // the timer interrupt.
    unsafe { (UNMAPPED_VA as *mut u64).write_volatile(0x5a) };
}

/// Arms a 1 ms timer whose callback stores through a wild pointer, then
/// waits: the synchronous abort is taken inside the IRQ handler.
pub fn fault_in_interrupt() -> ! {
    super::set_timer_callback(wild_store);
    super::arm_timer_oneshot(1_000);
    loop {
        core::hint::spin_loop();
    }
}
