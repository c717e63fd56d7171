//! Why a run stopped before it could be judged, and the exit code for it:
//! a set-up error or lost write (4), a signal (128 + its number), or stdout
//! that became a closed pipe (141, quietly, as a tool killed by SIGPIPE).
//! Also the two ways the runner talks: checked lines on stdout, and notes
//! on stderr that never fail the run.

use std::fmt;
use std::io::{self, Write};

use crate::interrupt;
use crate::verdict::ExitCode;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stop {
    /// Exit 4 with this one-line message: bad input, a missing tool, a write
    /// that failed (the message names the path and the OS error).
    Setup(String),
    /// A signal asked the runner to stop while it was doing `during`.
    Signal { signum: i32, during: String },
    /// Whoever read stdout went away (`lazymmu-run | head`).
    ClosedStdout,
}

impl Stop {
    /// Says why (on stderr, except for a closed pipe) and gives the exit code.
    pub fn report(&self) -> i32 {
        if *self != Stop::ClosedStdout {
            note(&format!("lazymmu-run: {self}"));
        }
        self.exit_code()
    }

    pub fn exit_code(&self) -> i32 {
        match self {
            Stop::Setup(_) => ExitCode::SetupError.code(),
            Stop::Signal { signum, .. } => interrupt::exit_code(*signum),
            Stop::ClosedStdout => CLOSED_STDOUT,
        }
    }
}

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stop::Setup(message) => write!(f, "{message}"),
            Stop::Signal { signum, during } => write!(f, "interrupted by {} while {during}", interrupt::name(*signum)),
            Stop::ClosedStdout => write!(f, "stdout is a closed pipe"),
        }
    }
}

/// The exit code when stdout is a closed pipe: what a shell reports for a
/// tool killed by SIGPIPE.
pub const CLOSED_STDOUT: i32 = 128 + interrupt::SIGPIPE;

/// If a signal has come, the `Stop` for it.
pub fn checkpoint(during: &str) -> Result<(), Stop> {
    match interrupt::received() {
        Some(signum) => Err(Stop::Signal { signum, during: during.to_string() }),
        None => Ok(()),
    }
}

/// One line on stdout, checked: a closed pipe or a failed write is a `Stop`.
pub fn say(line: &str) -> Result<(), Stop> {
    let mut stdout = io::stdout().lock();
    stdout.write_all(line.as_bytes()).and_then(|()| stdout.write_all(b"\n")).map_err(stdout_error)
}

/// Flushes stdout (lines are flushed as they end; this catches a write
/// that a full device refused at the last newline).
pub fn flush_stdout() -> Result<(), Stop> {
    io::stdout().lock().flush().map_err(stdout_error)
}

fn stdout_error(error: io::Error) -> Stop {
    if error.kind() == io::ErrorKind::BrokenPipe {
        Stop::ClosedStdout
    } else {
        Stop::Setup(format!("cannot write to stdout: {error}"))
    }
}

/// One line on stderr. A failure here has nowhere left to be reported, so
/// it is dropped rather than allowed to panic.
pub fn note(line: &str) {
    let _ = writeln!(io::stderr().lock(), "{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_of_each_stop() {
        assert_eq!(Stop::Setup("x".to_string()).exit_code(), 4);
        let signal = Stop::Signal { signum: interrupt::SIGTERM, during: "building".to_string() };
        assert_eq!((signal.exit_code(), signal.to_string().as_str()), (143, "interrupted by SIGTERM while building"));
        assert_eq!(Stop::ClosedStdout.exit_code(), 141);
    }

    #[test]
    fn a_broken_pipe_is_quiet_and_other_errors_name_stdout() {
        assert_eq!(stdout_error(io::Error::from(io::ErrorKind::BrokenPipe)), Stop::ClosedStdout);
        let full = stdout_error(io::Error::from_raw_os_error(28));
        assert!(matches!(&full, Stop::Setup(m) if m.starts_with("cannot write to stdout: No space left on device")));
    }
}
