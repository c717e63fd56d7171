//! The end of a run that went wrong: the panic handler and the common tail of
//! every unexpected exception. Both end QEMU with the "crash" status.

use core::sync::atomic::{AtomicBool, Ordering};

use crate::arch::{self, QemuExit};
use crate::console::print_unlocked;

static CRASHING: AtomicBool = AtomicBool::new(false);

/// Called by the arch exception handlers after their register dump.
pub fn crash_exit(reason: core::fmt::Arguments) -> ! {
    match ktest::current() {
        Some(running) => {
            let variant = running.variant.unwrap_or("-");
            print_unlocked(format_args!("# CRASH: {reason} (in {}[{variant}])\n", running.case.id()))
        }
        None => print_unlocked(format_args!("# CRASH: {reason}\n")),
    }
    arch::exit_qemu(QemuExit::Crash)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    if CRASHING.swap(true, Ordering::SeqCst) {
        print_unlocked(format_args!("\n# CRASH: panic while panicking\n"));
        arch::exit_qemu(QemuExit::Crash)
    }
    print_unlocked(format_args!("\n# PANIC: {info}\n"));
    crash_exit(format_args!("kernel panic"))
}
