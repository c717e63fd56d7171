//! From how QEMU ended and what the KTAP said to the runner's exit code.
//! The kernel's status and its KTAP must agree; when they do not, the run is
//! reported as broken rather than trusting either.

use exit_status::QemuExitCode;
/// The runner's exit codes, defined with the kernel's statuses in `exit-status`.
pub use exit_status::RunnerExitCode as ExitCode;

use crate::ktap::Report;

/// QEMU exit statuses the kernel produces, the same on both arches
/// (from [`QemuExitCode`]).
pub mod qemu_status {
    use exit_status::QemuExitCode;

    pub const PASS: i32 = QemuExitCode::Pass.host_status();
    pub const FAIL: i32 = QemuExitCode::Fail.host_status();
    pub const CRASH: i32 = QemuExitCode::Crash.host_status();
    pub const BAD_INPUT: i32 = QemuExitCode::BadInput.host_status();
}

/// How the QEMU process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunEnd {
    Exited(i32),
    /// QEMU died from a signal the runner did not send.
    Signalled(i32),
    /// The runner killed QEMU after `--run-timeout` seconds.
    RunTimeout {
        seconds: u64,
    },
    /// SIGINT, SIGTERM or SIGHUP: the runner ended QEMU.
    Interrupted,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub code: ExitCode,
    /// One line saying why, for the end of the summary.
    pub reason: String,
}

fn verdict(code: ExitCode, reason: impl Into<String>) -> Verdict {
    Verdict { code, reason: reason.into() }
}

pub fn decide(end: RunEnd, report: &Report) -> Verdict {
    let running = match &report.cut_at {
        Some(position) => format!("; running {}", position.describe()),
        None => String::new(),
    };
    let status = match end {
        RunEnd::Interrupted => return verdict(ExitCode::Interrupted, format!("interrupted: QEMU killed{running}")),
        RunEnd::RunTimeout { seconds } => {
            return verdict(
                ExitCode::Timeout,
                format!("QEMU still running after --run-timeout {seconds} s: killed{running}"),
            )
        }
        RunEnd::Signalled(signal) => {
            return verdict(ExitCode::CrashOrMalformed, format!("QEMU was killed by signal {signal}"))
        }
        RunEnd::Exited(status) => status,
    };
    let kernel_status = QemuExitCode::from_host_status(status);
    if kernel_status == Some(QemuExitCode::BadInput) {
        return verdict(
            QemuExitCode::BadInput.runner_exit_code(),
            format!("the kernel rejected its command line: {}", kernel_error_line(report)),
        );
    }
    if status == QEMU_START_FAILED && !report.header_seen && report.crash.is_none() {
        return verdict(
            ExitCode::SetupError,
            "QEMU could not start or load the kernel (status 1; its message is above): \
             if it names a missing firmware or ROM file, run scripts/setup.sh",
        );
    }
    if let Some(crash) = &report.crash {
        return verdict(
            ExitCode::CrashOrMalformed,
            format!("kernel crashed: {}; running {}", crash.reason, crash.position.describe()),
        );
    }
    let kernel_status = match kernel_status {
        Some(QemuExitCode::Crash) => {
            return verdict(
                QemuExitCode::Crash.runner_exit_code(),
                format!("QEMU status {status} (crash) but no `# CRASH:` line in the log"),
            )
        }
        Some(kernel_status @ (QemuExitCode::Pass | QemuExitCode::Fail)) => kernel_status,
        Some(QemuExitCode::BadInput) | None => {
            return verdict(ExitCode::CrashOrMalformed, format!("unknown QEMU status {status}{}", status_hint(status)))
        }
    };
    if let Some(problem) = report.problems.first() {
        let more = match report.problems.len() {
            1 => String::new(),
            n => format!(" (and {} more problems)", n - 1),
        };
        return verdict(ExitCode::CrashOrMalformed, format!("malformed KTAP: {problem}{more}"));
    }
    let has_failure = report.has_failure();
    if kernel_status == QemuExitCode::Pass && has_failure {
        return verdict(ExitCode::CrashOrMalformed, format!("QEMU status {status} (pass) but the KTAP has a `not ok`"));
    }
    if kernel_status == QemuExitCode::Fail && !has_failure {
        return verdict(
            ExitCode::CrashOrMalformed,
            format!("QEMU status {status} (fail) but the KTAP has no `not ok`"),
        );
    }
    if report.has_timeout() {
        return verdict(ExitCode::Timeout, "a test hit the kernel's watchdog (TIMEOUT)");
    }
    if has_failure {
        let counts = report.counts();
        return verdict(
            QemuExitCode::Fail.runner_exit_code(),
            format!("{} of {} tests failed", counts.fail, counts.total()),
        );
    }
    let counts = report.counts();
    if counts.total() == 0 && report.listed_cases.is_empty() {
        // Zero tests must never read as a pass.
        return verdict(ExitCode::SetupError, "no test ran (the kernel planned 1..0): check --filter and --flavour");
    }
    if counts.pass == 0 && counts.fail == 0 && report.listed_cases.is_empty() {
        // Only skips: nothing was tested, which must not read as a pass either.
        return verdict(
            ExitCode::SetupError,
            format!(
                "nothing was tested: all {} selected tests were skipped (not applicable here): \
                 check --filter, --flavour and --arch",
                counts.skip
            ),
        );
    }
    verdict(QemuExitCode::Pass.runner_exit_code(), "all tests passed or were skipped")
}

/// QEMU's own status when it cannot start: a bad option, a missing
/// firmware or ROM file, a kernel it cannot load.
const QEMU_START_FAILED: i32 = 1;

/// QEMU ends with 0 when the guest resets under `-no-reboot` (a triple
/// fault on x86) and with 1 when it could not start.
fn status_hint(status: i32) -> &'static str {
    match status {
        0 => " (the guest reset or powered off: a triple fault, or an exit path other than the kernel's)",
        1 => " (QEMU failed to start or load the kernel: see its messages above)",
        _ => "",
    }
}

/// The kernel prints its command-line error as a diagnostic just before it
/// exits; prefer a line that says it is an error.
fn kernel_error_line(report: &Report) -> String {
    let lines = &report.top_level_diagnostics;
    let is_error = |line: &&String| {
        let lower = line.to_ascii_lowercase();
        ["error", "invalid", "unknown", "malformed"].iter().any(|word| lower.contains(word))
    };
    lines
        .iter()
        .rev()
        .find(is_error)
        .or(lines.last())
        .cloned()
        .unwrap_or_else(|| "(the kernel printed no reason)".to_string())
}

#[cfg(test)]
mod tests;
