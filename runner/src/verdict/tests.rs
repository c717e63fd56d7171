//! The exit-code decision table: each row is (how QEMU ended, log) -> code.

use super::*;
use crate::ktap::parse;

const PASSING: &str = "KTAP version 1\n1..1\n    KTAP version 1\n    # Subtest: s\n    1..2\n    ok 1 a\n    \
                       ok 2 b # SKIP n/a\nok 1 s\n";
const FAILING: &str = "KTAP version 1\n1..1\n    KTAP version 1\n    # Subtest: s\n    1..2\n    ok 1 a\n    \
                       not ok 2 b # expected 1, saw 2\nnot ok 1 s\n";
const TIMED_OUT: &str = "KTAP version 1\n1..1\n    KTAP version 1\n    # Subtest: s\n    1..2\n    \
                         not ok 1 a # TIMEOUT after 100 ms\n    not ok 2 b # expected 1, saw 2\nnot ok 1 s\n";
const CRASHED: &str = "KTAP version 1\n1..1\n    KTAP version 1\n    # Subtest: s\n    1..2\n    ok 1 a\n\
                       # CRASH: page fault at 0x0\n";
const TRUNCATED: &str = "KTAP version 1\n1..2\n    KTAP version 1\n    # Subtest: s\n    1..1\n    ok 1 a\nok 1 s\n";
const ONLY_SKIPPED: &str = "KTAP version 1\n1..1\n    KTAP version 1\n    # Subtest: s\n    1..2\n    \
                            ok 1 a # SKIP n/a\n    ok 2 b # SKIP n/a\nok 1 s\n";
const LISTED: &str = "KTAP version 1\n# case: s.a\n1..0\n";
const REJECTED: &str = "KTAP version 1\n# lazymmu: arch=x86_64\n\
                        # error: unknown key `fliter` (valid keys: filter, list, flavour, inject, log, timeout)\n";

fn code(end: RunEnd, log: &str) -> ExitCode {
    decide(end, &parse(log)).code
}

#[test]
fn decision_table() {
    use qemu_status::*;
    let rows: &[(RunEnd, &str, ExitCode)] = &[
        (RunEnd::Exited(PASS), PASSING, ExitCode::Pass),
        (RunEnd::Exited(PASS), LISTED, ExitCode::Pass),
        (RunEnd::Exited(FAIL), FAILING, ExitCode::Fail),
        (RunEnd::Exited(FAIL), TIMED_OUT, ExitCode::Timeout),
        (RunEnd::Exited(CRASH), CRASHED, ExitCode::CrashOrMalformed),
        // A crash line wins whatever the status says.
        (RunEnd::Exited(PASS), CRASHED, ExitCode::CrashOrMalformed),
        // Status and KTAP disagree.
        (RunEnd::Exited(PASS), FAILING, ExitCode::CrashOrMalformed),
        (RunEnd::Exited(PASS), TIMED_OUT, ExitCode::CrashOrMalformed),
        (RunEnd::Exited(FAIL), PASSING, ExitCode::CrashOrMalformed),
        (RunEnd::Exited(CRASH), PASSING, ExitCode::CrashOrMalformed),
        // Unknown statuses: a triple fault under -no-reboot, QEMU's own error.
        (RunEnd::Exited(0), PASSING, ExitCode::CrashOrMalformed),
        // QEMU could not start (a missing firmware file): set-up, not a crash.
        (RunEnd::Exited(1), "", ExitCode::SetupError),
        (RunEnd::Exited(1), PASSING, ExitCode::CrashOrMalformed),
        // Zero tests are never a pass.
        (RunEnd::Exited(PASS), "KTAP version 1\n1..0\n# Totals: pass:0 fail:0 skip:0 total:0\n", ExitCode::SetupError),
        // Nor are only skips: nothing was tested.
        (RunEnd::Exited(PASS), ONLY_SKIPPED, ExitCode::SetupError),
        (RunEnd::Exited(34), PASSING, ExitCode::CrashOrMalformed),
        (RunEnd::Signalled(9), PASSING, ExitCode::CrashOrMalformed),
        // Malformed logs, even with a passing status.
        (RunEnd::Exited(PASS), TRUNCATED, ExitCode::CrashOrMalformed),
        (RunEnd::Exited(PASS), "", ExitCode::CrashOrMalformed),
        (RunEnd::Exited(BAD_INPUT), REJECTED, ExitCode::SetupError),
        (RunEnd::RunTimeout { seconds: 5 }, TRUNCATED, ExitCode::Timeout),
        (RunEnd::RunTimeout { seconds: 5 }, CRASHED, ExitCode::Timeout),
        (RunEnd::Interrupted, PASSING, ExitCode::Interrupted),
    ];
    for (end, log, expected) in rows {
        assert_eq!(code(*end, log), *expected, "{end:?} with log:\n{log}");
    }
}

#[test]
fn exit_code_numbers() {
    let numbers: Vec<i32> = [
        ExitCode::Pass,
        ExitCode::Fail,
        ExitCode::CrashOrMalformed,
        ExitCode::Timeout,
        ExitCode::SetupError,
        ExitCode::Interrupted,
    ]
    .iter()
    .map(|c| c.code())
    .collect();
    assert_eq!(numbers, vec![0, 1, 2, 3, 4, 130]);
}

#[test]
fn bad_input_shows_the_kernels_error_line() {
    let verdict = decide(RunEnd::Exited(qemu_status::BAD_INPUT), &parse(REJECTED));
    assert_eq!(
        verdict.reason,
        "the kernel rejected its command line: error: unknown key `fliter` (valid keys: filter, list, flavour, inject, log, timeout)"
    );
}

#[test]
fn reasons_name_the_cause() {
    let crash = decide(RunEnd::Exited(qemu_status::CRASH), &parse(CRASHED));
    assert_eq!(crash.reason, "kernel crashed: page fault at 0x0; running s test #2, after s.a");
    let hung =
        decide(RunEnd::RunTimeout { seconds: 7 }, &parse(CRASHED.trim_end_matches("# CRASH: page fault at 0x0\n")));
    assert_eq!(hung.reason, "QEMU still running after --run-timeout 7 s: killed; running s test #2, after s.a");
    let disagree = decide(RunEnd::Exited(qemu_status::PASS), &parse(FAILING));
    assert!(disagree.reason.contains("status 33"), "{}", disagree.reason);
    let malformed = decide(RunEnd::Exited(qemu_status::PASS), &parse(TRUNCATED));
    assert!(malformed.reason.starts_with("malformed KTAP: "), "{}", malformed.reason);
    let skipped = decide(RunEnd::Exited(qemu_status::PASS), &parse(ONLY_SKIPPED));
    assert!(skipped.reason.starts_with("nothing was tested: all 2 selected tests were skipped"), "{}", skipped.reason);
    let reset = decide(RunEnd::Exited(0), &parse(PASSING));
    assert!(reset.reason.contains("triple fault"), "{}", reset.reason);
    // Status 1 after the kernel already printed: QEMU's own failure, named.
    let late_failure = decide(RunEnd::Exited(1), &parse(PASSING));
    assert!(late_failure.reason.contains("QEMU failed to start or load the kernel"), "{}", late_failure.reason);
}
