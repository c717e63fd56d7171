//! How a lazymmu run ends, defined once for the kernel (both arches) and the
//! host runner: the status the kernel makes QEMU exit with
//! ([`QemuExitCode`], as in blog_os) and the runner exit code each one maps
//! to when the KTAP agrees with it ([`RunnerExitCode`]).
#![cfg_attr(not(test), no_std)]

/// The status QEMU's process exits with when the kernel ends the run. The
/// values are odd because x86's `isa-debug-exit` can only produce
/// `(v << 1) | 1`; Arm semihosting passes them through unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum QemuExitCode {
    /// Every leaf passed or was skipped.
    Pass = 33,
    /// Some leaf failed.
    Fail = 35,
    /// A panic or an unexpected exception ended the run.
    Crash = 37,
    /// The kernel rejected its command line.
    BadInput = 39,
}

impl QemuExitCode {
    pub const ALL: [QemuExitCode; 4] =
        [QemuExitCode::Pass, QemuExitCode::Fail, QemuExitCode::Crash, QemuExitCode::BadInput];

    /// The exit status of the QEMU process.
    pub const fn host_status(self) -> i32 {
        self as i32
    }

    /// The value to write to x86's `isa-debug-exit` port, which makes QEMU
    /// exit with `(value << 1) | 1`, that is [`host_status`](Self::host_status).
    pub const fn isa_debug_exit_value(self) -> u32 {
        (self as u32) >> 1
    }

    /// The kernel status behind a QEMU exit status; `None` for a status the
    /// kernel never produces (QEMU's own 0 and 1, a signal, ...).
    pub fn from_host_status(status: i32) -> Option<QemuExitCode> {
        QemuExitCode::ALL.into_iter().find(|code| code.host_status() == status)
    }

    /// The runner's exit code for this status when the KTAP agrees with it
    /// (a `Fail` whose failures include a watchdog timeout becomes
    /// [`RunnerExitCode::Timeout`]; any disagreement becomes
    /// [`RunnerExitCode::CrashOrMalformed`]).
    pub const fn runner_exit_code(self) -> RunnerExitCode {
        match self {
            QemuExitCode::Pass => RunnerExitCode::Pass,
            QemuExitCode::Fail => RunnerExitCode::Fail,
            QemuExitCode::Crash => RunnerExitCode::CrashOrMalformed,
            QemuExitCode::BadInput => RunnerExitCode::SetupError,
        }
    }
}

/// The exit codes of `lazymmu-run` (and so of `scripts/run`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunnerExitCode {
    Pass = 0,
    Fail = 1,
    /// A crash, malformed KTAP, or a QEMU status that disagrees with the KTAP.
    CrashOrMalformed = 2,
    Timeout = 3,
    /// Missing tools, a failed build, bad options, or a command line the kernel rejected.
    SetupError = 4,
    Interrupted = 130,
}

impl RunnerExitCode {
    pub const fn code(self) -> i32 {
        self as i32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isa_debug_exit_reaches_the_same_status() {
        for code in QemuExitCode::ALL {
            let value = code.isa_debug_exit_value();
            assert_eq!(((value << 1) | 1) as i32, code.host_status(), "{code:?}");
            assert_eq!(QemuExitCode::from_host_status(code.host_status()), Some(code));
        }
        assert_eq!(QemuExitCode::from_host_status(0), None);
        assert_eq!(QemuExitCode::from_host_status(1), None);
    }

    #[test]
    fn statuses_map_to_runner_codes_0_to_4() {
        let codes = QemuExitCode::ALL.map(|code| code.runner_exit_code().code());
        assert_eq!(codes, [0, 1, 2, 4]);
    }
}
