//! The end of a run that went wrong: the panic handler and the common tail of
//! every unexpected exception. Both end QEMU with the "crash" status.

use core::fmt::{self, Write};
use core::sync::atomic::{AtomicU8, Ordering};

use crate::arch::{self, QemuExitCode};
use crate::console::print_unlocked;

/// Panics seen so far: the second is a panic while panicking, a third means
/// even that report panicked.
static PANICS: AtomicU8 = AtomicU8::new(0);

/// Called by the arch exception handlers after their register dump.
pub fn crash_exit(reason: core::fmt::Arguments) -> ! {
    match ktest::current() {
        // The leaf's name as `--filter` takes it back.
        Some(running) => print_unlocked(format_args!("# CRASH: {reason} (in {})\n", running.leaf_name())),
        None => print_unlocked(format_args!("# CRASH: {reason}\n")),
    }
    arch::exit_qemu(QemuExitCode::Crash)
}

/// Writes a message as KTAP diagnostics: a multi-line panic message must
/// not turn into lines the runner reads as malformed KTAP.
struct DiagnosticLines;

impl Write for DiagnosticLines {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        for (index, piece) in text.split('\n').enumerate() {
            if index > 0 {
                print_unlocked(format_args!("\n# "));
            }
            print_unlocked(format_args!("{piece}"));
        }
        Ok(())
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    match PANICS.fetch_add(1, Ordering::SeqCst) {
        0 => {
            print_unlocked(format_args!("\n# PANIC: "));
            let _ = write!(DiagnosticLines, "{info}");
            arch::dump_stack();
            match info.location() {
                Some(at) => crash_exit(format_args!("kernel panic at {}:{}", at.file(), at.line())),
                None => crash_exit(format_args!("kernel panic")),
            }
        }
        1 => {
            print_unlocked(format_args!("\n# PANIC while panicking: "));
            let _ = write!(DiagnosticLines, "{info}");
            arch::dump_stack();
            crash_exit(format_args!("panic while panicking"))
        }
        _ => {
            print_unlocked(format_args!("\n# CRASH: panic while reporting a panic while panicking\n"));
            arch::exit_qemu(QemuExitCode::Crash)
        }
    }
}
