//! Every write is checked: stdout on a full device, stdout a closed pipe,
//! the serial log, JUnit and JSON on a full device. A lost write is exit 4
//! naming the path and the OS error (a failing run too: its results were
//! not all kept); a closed stdout ends quietly with 141; never a panic.

mod common;

use std::fs::{self, OpenOptions};
use std::time::Duration;

use common::*;

/// A fake QEMU that fails one test.
const FAILING_QEMU: &str = "printf 'KTAP version 1\\n1..1\\n    KTAP version 1\\n    # Subtest: s\\n    1..1\\n    \
                            not ok 1 a # expected 1, saw 2\\nnot ok 1 s\\n'; exit 35";

/// The write end of a pipe whose reader is already gone (`| head` done).
fn closed_pipe() -> std::io::PipeWriter {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    writer
}

fn full_device() -> fs::File {
    OpenOptions::new().write(true).open("/dev/full").expect("/dev/full")
}

#[test]
fn stdout_on_a_full_device() {
    let scratch = Scratch::new("stdout-full");
    scratch.qemu(QEMU_10, PASSING_QEMU);
    let output = scratch.runner(&[]).stdout(full_device()).output().expect("runner");
    assert_exit(&output, 4, "lazymmu-run: cannot write to stdout: No space left on device");
    assert_no_panic(&output);
}

#[test]
fn stdout_a_closed_pipe_ends_quietly() {
    let scratch = Scratch::new("stdout-closed");
    let qemu_pid = scratch.file("qemu.pid");
    scratch.qemu(
        QEMU_10,
        &format!(
            "echo $$ > '{}'; printf '{OPENING}'; while :; do echo '    # still running'; sleep 0.05; done",
            qemu_pid.display()
        ),
    );
    let output = scratch.runner(&[]).stdout(closed_pipe()).output().expect("runner");
    let qemu = pid_in(&qemu_pid);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(141), "{stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("Broken pipe"), "quiet: {stderr}");
    wait_for("QEMU to end", Duration::from_secs(5), || !alive(&qemu));
    assert!(fs::read_to_string(scratch.log()).expect("log kept").contains("KTAP version 1"));
}

#[test]
fn serial_log_on_a_full_device() {
    let scratch = Scratch::new("log-full");
    scratch.qemu(QEMU_10, PASSING_QEMU);
    let output = scratch.run(&["--log-file", "/dev/full"]);
    assert_exit(&output, 4, "the serial log /dev/full is incomplete: No space left on device");
    assert_exit(&output, 4, "(exit 4); log: /dev/full");
    assert_no_panic(&output);
}

#[test]
fn reports_on_a_full_device_even_when_a_test_failed() {
    let scratch = Scratch::new("reports-full");
    scratch.qemu(QEMU_10, FAILING_QEMU);
    assert_exit(&scratch.run(&[]), 1, "1 of 1 tests failed");
    assert_exit(&scratch.run(&["--json", "/dev/full"]), 4, "--json /dev/full: No space left on device");
    let output = scratch.run(&["--junit", "/dev/full"]);
    assert_exit(
        &output,
        4,
        "1 of 1 tests failed; but --junit /dev/full: No space left on device (os error 28) (exit 4)",
    );
    assert_no_panic(&output);
}

/// `bench` prints with `println!`: the panic hook turns its failed writes
/// into the same exit codes, never a panic message or an abort.
#[test]
fn no_panic_reaches_the_person() {
    let scratch = Scratch::new("panic-hook");
    let output = scratch.command(&scratch.path(), &["bench", "--help"]).stdout(full_device()).output().expect("runner");
    assert_exit(&output, 4, "lazymmu-run: cannot write to stdout: failed printing to stdout");
    assert_no_panic(&output);
    let output = scratch.command(&scratch.path(), &["bench", "--help"]).stdout(closed_pipe()).output().expect("runner");
    assert_eq!(output.status.code(), Some(141), "{}", text(&output));
    assert_no_panic(&output);
}
