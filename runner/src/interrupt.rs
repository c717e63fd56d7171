//! SIGINT: remember it, so the runner can kill QEMU, keep the log and exit
//! 130 instead of dying with QEMU still running.

use std::sync::atomic::{AtomicBool, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

const SIGINT: i32 = 2;

extern "C" {
    /// libc's `signal(2)`; std links libc on Linux, and this avoids a crate
    /// for one call. The returned previous handler is not needed.
    fn signal(signum: i32, handler: extern "C" fn(i32)) -> usize;
}

extern "C" fn on_sigint(_signum: i32) {
    // Only an atomic store: the one thing a signal handler may safely do here.
    INTERRUPTED.store(true, Ordering::SeqCst);
}

pub fn install() {
    // SAFETY: `on_sigint` is async-signal-safe (one atomic store) and lives for
    // the whole program; SIGINT is a valid signal number on Linux.
    unsafe {
        signal(SIGINT, on_sigint);
    }
}

pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}
