//! SIGINT, SIGTERM and SIGHUP: remember which came, so the runner can end
//! its children (QEMU, cargo, make-image.sh), keep the log, say what was
//! interrupted and exit 128 + the signal number (130 for Ctrl-C) instead of
//! dying with QEMU still running.

use std::sync::atomic::{AtomicI32, Ordering};

/// The first signal received, 0 while none has come.
static RECEIVED: AtomicI32 = AtomicI32::new(0);

pub const SIGHUP: i32 = 1;
pub const SIGINT: i32 = 2;
pub const SIGKILL: i32 = 9;
pub const SIGPIPE: i32 = 13;
pub const SIGTERM: i32 = 15;

/// The signals that mean "stop this run".
const HANDLED: [i32; 3] = [SIGINT, SIGTERM, SIGHUP];

extern "C" {
    /// libc's `signal(2)` (BSD semantics in glibc: the handler stays, slow
    /// calls restart); std links libc on Linux, and this avoids a crate for
    /// two calls. The returned previous handler is not needed.
    fn signal(signum: i32, handler: extern "C" fn(i32)) -> usize;
}

extern "C" fn on_signal(signum: i32) {
    // Only an atomic operation: the one thing a signal handler may safely do
    // here. The first signal decides the exit code; a second one changes nothing.
    let _ = RECEIVED.compare_exchange(0, signum, Ordering::SeqCst, Ordering::SeqCst);
}

pub fn install() {
    for signum in HANDLED {
        // SAFETY: `on_signal` is async-signal-safe (one atomic operation) and
        // lives for the whole program; each number is a valid, catchable
        // signal on Linux.
        unsafe {
            signal(signum, on_signal);
        }
    }
}

/// The signal that asked the runner to stop, if one did.
pub fn received() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        signum => Some(signum),
    }
}

pub fn interrupted() -> bool {
    received().is_some()
}

/// The shell's convention for a process ended by `signum`.
pub fn exit_code(signum: i32) -> i32 {
    128 + signum
}

pub fn name(signum: i32) -> String {
    match signum {
        SIGHUP => "SIGHUP".to_string(),
        SIGINT => "SIGINT".to_string(),
        SIGKILL => "SIGKILL".to_string(),
        SIGPIPE => "SIGPIPE".to_string(),
        SIGTERM => "SIGTERM".to_string(),
        other => format!("signal {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_the_shell_convention() {
        assert_eq!(exit_code(SIGINT), 130);
        assert_eq!(exit_code(SIGHUP), 129);
        assert_eq!(exit_code(SIGTERM), 143);
        assert_eq!(exit_code(SIGPIPE), 141);
        assert_eq!(name(SIGTERM), "SIGTERM");
        assert_eq!(name(31), "signal 31");
    }
}
