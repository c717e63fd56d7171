//! The runner's failure kinds end to end: the real `lazymmu-run` binary in
//! a scratch workspace, with fake `qemu-system-x86_64` / `rustc` scripts
//! first on PATH standing in for a broken machine or a misbehaving kernel.
//! Each test checks the exit code and the one line that says what to do.
//! Signals, writes, paths, timeouts and options have their own files.

mod common;

use std::fs;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;

#[test]
fn qemu_missing() {
    let scratch = Scratch::new("qemu-missing");
    let kernel = scratch.kernel();
    let only_fakes = scratch.root.join("bin").display().to_string();
    let output = scratch
        .command(&only_fakes, &["--arch", "x86_64", "--kernel", kernel.to_str().expect("UTF-8")])
        .output()
        .expect("runner starts");
    assert_exit(&output, 4, "qemu-system-x86_64 not found: run scripts/setup.sh");
}

#[test]
fn non_utf8_argument() {
    use std::os::unix::ffi::OsStrExt;
    let scratch = Scratch::new("non-utf8");
    let mut command = scratch.command(&scratch.path(), &["--filter"]);
    let output = command.arg(std::ffi::OsStr::from_bytes(b"boot.\xff")).output().expect("runner starts");
    assert_exit(&output, 4, "an argument is not valid UTF-8");
}

#[test]
fn qemu_too_old() {
    let scratch = Scratch::new("qemu-old");
    scratch.qemu("QEMU emulator version 7.2.15 (Debian 1:7.2+dfsg-7+deb12u12)", "exit 0");
    assert_exit(
        &scratch.run(&[]),
        4,
        "qemu-system-x86_64 is QEMU 7, lazymmu needs QEMU 10 or newer: run scripts/setup.sh",
    );
}

#[test]
fn qemu_cannot_load_its_firmware() {
    let scratch = Scratch::new("firmware");
    scratch.qemu(QEMU_10, "echo \"qemu-system-x86_64: could not load PC BIOS 'bios-256k.bin'\" >&2; exit 1");
    let output = scratch.run(&[]);
    assert_exit(&output, 4, "could not load PC BIOS");
    assert_exit(&output, 4, "QEMU could not start or load the kernel");
}

#[test]
fn rust_target_missing() {
    let scratch = Scratch::new("target");
    scratch.qemu(QEMU_10, "exit 0");
    let sysroot = scratch.root.join("empty-sysroot");
    fs::create_dir_all(&sysroot).expect("sysroot");
    scratch.program("rustc", &format!("[ \"$2\" = sysroot ] && echo '{}' && exit 0; exit 1", sysroot.display()));
    let output = scratch.command(&scratch.path(), &["--arch", "x86_64"]).output().expect("runner starts");
    assert_exit(&output, 4, "Rust target x86_64-unknown-none is not installed: run scripts/setup.sh");
}

#[test]
fn report_into_an_unwritable_directory() {
    let scratch = Scratch::new("proc");
    scratch.qemu(QEMU_10, "exit 0");
    assert_exit(&scratch.run(&["--junit", "/proc/lazymmu.xml"]), 4, "--junit /proc/lazymmu.xml: cannot write in /proc");
    assert_exit(&scratch.run(&["--json", "/proc/lazymmu.json"]), 4, "--json /proc/lazymmu.json: cannot write in /proc");
}

#[test]
fn report_onto_a_full_disk() {
    let scratch = Scratch::new("full");
    scratch.qemu(QEMU_10, &format!("printf '{OPENING}    ok 1 a\\nok 1 s\\n'; exit 33"));
    assert_exit(&scratch.run(&[]), 0, "all tests passed");
    // A lost report must not leave CI green.
    assert_exit(&scratch.run(&["--junit", "/dev/full"]), 4, "--junit /dev/full: No space left on device");
}

#[test]
fn killed_mid_line() {
    let scratch = Scratch::new("mid-line");
    scratch.qemu(QEMU_10, &format!("printf '{OPENING}    ok 1 a'; kill -9 $$"));
    assert_exit(&scratch.run(&[]), 2, "QEMU was killed by signal 9");
    scratch.qemu(QEMU_10, &format!("printf '{OPENING}    ok 1 a'; exit 33"));
    assert_exit(&scratch.run(&[]), 2, "malformed KTAP: end of log: log is truncated");
}

#[test]
fn garbage_bytes() {
    let scratch = Scratch::new("garbage");
    scratch.qemu(QEMU_10, &format!("printf '{OPENING}\\377\\376\\033[0m\\n    ok 1 a\\nok 1 s\\n'; exit 33"));
    assert_exit(&scratch.run(&[]), 2, "malformed KTAP: line 6: not KTAP");
}

#[test]
fn plan_does_not_match_the_results() {
    let scratch = Scratch::new("plan");
    scratch.qemu(QEMU_10, &format!("printf '{OPENING}    ok 1 a\\n    ok 2 b\\nok 1 s\\n'; exit 33"));
    assert_exit(&scratch.run(&[]), 2, "malformed KTAP: line 8: subtest `s` planned 1..1 but has 2 results");
}

#[test]
fn duplicate_case_numbers() {
    let scratch = Scratch::new("duplicate");
    let two = OPENING.replace("    1..1", "    1..2");
    scratch.qemu(QEMU_10, &format!("printf '{two}    ok 1 a\\n    ok 1 b\\nok 1 s\\n'; exit 33"));
    assert_exit(&scratch.run(&[]), 2, "malformed KTAP: line 7: subtest `s` has test number 1 twice");
}

#[test]
fn zero_tests_are_not_a_pass() {
    let scratch = Scratch::new("zero");
    scratch.qemu(QEMU_10, "printf 'KTAP version 1\\n1..0\\n# Totals: pass:0 fail:0 skip:0 total:0\\n'; exit 33");
    assert_exit(&scratch.run(&[]), 4, "no test ran");
}

#[test]
fn kernel_that_never_prints_a_plan() {
    let scratch = Scratch::new("no-plan");
    scratch.qemu(QEMU_10, "printf 'KTAP version 1\\n'; exec sleep 30");
    let started = Instant::now();
    let output = scratch.run(&["--run-timeout", "1"]);
    assert_exit(&output, 3, "QEMU still running after --run-timeout 1 s: killed");
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
}

#[test]
fn sigint_stops_qemu_and_keeps_the_log() {
    let scratch = Scratch::new("sigint");
    let pid_file = scratch.root.join("qemu.pid");
    scratch.qemu(QEMU_10, &format!("echo $$ > '{}'; printf '{OPENING}'; exec sleep 30", pid_file.display()));
    let runner = scratch.runner(&[]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("runner starts");
    let log = scratch.log();
    wait_for("the fake QEMU's output in the log", Duration::from_secs(10), || {
        fs::read_to_string(&log).is_ok_and(|text| text.contains("# Subtest: s"))
    });
    let qemu_pid = fs::read_to_string(&pid_file).expect("pid file").trim().to_string();
    assert!(alive(&qemu_pid));
    send("INT", runner.id());
    let output = runner.wait_with_output().expect("runner ends");
    assert_exit(&output, 130, "interrupted by SIGINT while running s test #1; QEMU stopped");
    assert!(!alive(&qemu_pid), "QEMU (pid {qemu_pid}) still running after SIGINT");
    let kept = fs::read_to_string(&log).expect("log kept");
    assert!(kept.contains("KTAP version 1") && kept.contains("# Subtest: s"), "{kept}");
    let per_run = log.with_file_name(fs::read_link(&log).expect("the latest-log link"));
    assert!(text(&output).contains(&format!("log: {}", per_run.display())), "the last line names the log");
}

/// The run's limit holds for a kernel that hangs before any output too.
#[test]
fn silent_kernel_is_a_timeout() {
    let scratch = Scratch::new("silent");
    scratch.qemu(QEMU_10, "exec sleep 30");
    assert_exit(&scratch.run(&["--run-timeout", "1"]), 3, "--run-timeout 1 s");
}
