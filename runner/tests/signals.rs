//! SIGTERM, SIGHUP and SIGINT at each point of a run (building, booting,
//! running, under --gdb, and while scripts/run builds the runner itself):
//! every child ends, the log is kept, one line says what was interrupted,
//! and the exit code is 128 + the signal.

mod common;

use std::fs;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

/// A fake QEMU that records its arguments, its pid and a grandchild's (as
/// a QEMU wrapper or helper would leave one), prints `serial`, then waits.
fn qemu_with_grandchild(scratch: &Scratch, serial: &str) {
    let (args, qemu_pid, grandchild_pid) =
        (scratch.file("qemu.args"), scratch.file("qemu.pid"), scratch.file("grandchild.pid"));
    scratch.qemu(
        QEMU_10,
        &format!(
            "echo \"$*\" > '{}'; echo $$ > '{}'; sleep 300 & echo $! > '{}'; printf '{serial}'; wait",
            args.display(),
            qemu_pid.display(),
            grandchild_pid.display()
        ),
    );
}

fn assert_all_gone(pids: &[&str]) {
    for pid in pids {
        wait_for(&format!("process {pid} to end"), Duration::from_secs(5), || !alive(pid));
    }
}

#[test]
fn sigterm_while_running() {
    let scratch = Scratch::new("sigterm-running");
    qemu_with_grandchild(&scratch, OPENING);
    let runner = scratch.runner(&[]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("runner");
    let log = scratch.log();
    wait_for("the fake QEMU's output in the log", Duration::from_secs(10), || {
        fs::read_to_string(&log).is_ok_and(|text| text.contains("# Subtest: s"))
    });
    let (qemu, grandchild) = (pid_in(&scratch.file("qemu.pid")), pid_in(&scratch.file("grandchild.pid")));
    send("TERM", runner.id());
    let output = runner.wait_with_output().expect("runner ends");
    assert_exit(&output, 143, "interrupted by SIGTERM while running s test #1; QEMU stopped (exit 143)");
    assert_all_gone(&[&qemu, &grandchild]);
    assert!(fs::read_to_string(&log).expect("log kept").contains("# Subtest: s"));
}

#[test]
fn sighup_while_booting() {
    let scratch = Scratch::new("sighup-booting");
    qemu_with_grandchild(&scratch, "");
    let runner = scratch.runner(&[]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("runner");
    let (qemu, grandchild) = (pid_in(&scratch.file("qemu.pid")), pid_in(&scratch.file("grandchild.pid")));
    send("HUP", runner.id());
    let output = runner.wait_with_output().expect("runner ends");
    assert_exit(&output, 129, "interrupted by SIGHUP while booting (no KTAP yet); QEMU stopped");
    assert_all_gone(&[&qemu, &grandchild]);
}

#[test]
fn sigint_under_gdb_frees_the_stub() {
    let scratch = Scratch::new("sigint-gdb");
    scratch.program("gdb-multiarch", "echo 'GNU gdb 13'");
    qemu_with_grandchild(&scratch, "");
    let runner = scratch.runner(&["--gdb"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("runner");
    let (qemu, grandchild) = (pid_in(&scratch.file("qemu.pid")), pid_in(&scratch.file("grandchild.pid")));
    send("INT", runner.id());
    let output = runner.wait_with_output().expect("runner ends");
    assert_exit(&output, 130, "interrupted by SIGINT while booting (no KTAP yet; QEMU was waiting for gdb");
    assert_all_gone(&[&qemu, &grandchild]);
    let args = fs::read_to_string(scratch.file("qemu.args")).expect("QEMU's arguments");
    let port = args.split("-gdb tcp::").nth(1).and_then(|rest| rest.split(' ').next()).expect("a -gdb port");
    assert!(args.contains(&format!("-gdb tcp::{port} -S ")), "{args}");
    assert!(text(&output).contains(&format!("gdb stub on port {port}")), "{}", text(&output));
    assert!(std::net::TcpListener::bind(("0.0.0.0", port.parse::<u16>().expect("port"))).is_ok(), "port freed");
}

#[test]
fn sigterm_while_building_the_kernel() {
    let scratch = Scratch::new("sigterm-building");
    scratch.qemu(QEMU_10, "exit 0");
    let sysroot = scratch.file("sysroot");
    fs::create_dir_all(sysroot.join("lib/rustlib/x86_64-unknown-none")).expect("sysroot");
    scratch.program("rustc", &format!("[ \"$2\" = sysroot ] && echo '{}' && exit 0; exit 1", sysroot.display()));
    let (cargo_pid, linker_pid) = (scratch.file("cargo.pid"), scratch.file("linker.pid"));
    // A build that prints a wall of errors if it is only half killed.
    scratch.program(
        "cargo",
        &format!(
            "trap 'echo LINKER NOISE >&2; exit 101' TERM INT HUP\necho $$ > '{}'\n\
             sleep 300 & echo $! > '{}'\necho '   Compiling lazymmu-kernel' >&2\nwait",
            cargo_pid.display(),
            linker_pid.display()
        ),
    );
    let runner = scratch
        .command(&scratch.path(), &["--arch", "x86_64"])
        .env("CARGO", scratch.root.join("bin/cargo"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runner");
    let (cargo, linker) = (pid_in(&cargo_pid), pid_in(&linker_pid));
    send("TERM", runner.id());
    let output = runner.wait_with_output().expect("runner ends");
    assert_exit(&output, 143, "lazymmu-run: interrupted by SIGTERM while building the kernel");
    assert!(!text(&output).contains("LINKER NOISE"), "{}", text(&output));
    assert_all_gone(&[&cargo, &linker]);
}

/// Ctrl-C at the terminal reaches the whole foreground process group while
/// scripts/run is still building the runner.
#[test]
fn ctrl_c_while_scripts_run_builds_the_runner() {
    let scratch = Scratch::new("scripts-run-ctrl-c");
    let script = scratch.workspace().join("scripts/run");
    fs::create_dir_all(script.parent().expect("dir")).expect("scripts dir");
    fs::copy(repository().join("scripts/run"), &script).expect("copy scripts/run");
    let (cargo_pid, rustc_pid) = (scratch.file("cargo.pid"), scratch.file("rustc.pid"));
    scratch.program(
        "cargo",
        &format!(
            "trap 'i=0; while [ $i -lt 200 ]; do echo \"error: linking with cc failed\"; i=$((i+1)); done; exit 101' \
             TERM INT HUP\necho $$ > '{}'\nsleep 300 & echo $! > '{}'\nwait",
            cargo_pid.display(),
            rustc_pid.display()
        ),
    );
    let mut terminal = Command::new("bash");
    terminal
        .arg(&script)
        .env("PATH", scratch.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let run = terminal.process_group(0).spawn().expect("scripts/run starts");
    let (cargo, rustc) = (pid_in(&cargo_pid), pid_in(&rustc_pid));
    let group = format!("-{}", run.id());
    assert!(Command::new("kill").args(["-INT", "--", &group]).status().expect("kill").success());
    let output = run.wait_with_output().expect("scripts/run ends");
    assert_eq!(output.status.code(), Some(130), "{}", text(&output));
    assert!(!text(&output).contains("error: linking"), "no wall of linker output:\n{}", text(&output));
    assert_all_gone(&[&cargo, &rustc]);
}

/// SIGKILL cannot be caught, so the runner cannot end QEMU itself; the
/// kernel does (the parent-death signal each child asks for).
#[test]
fn sigkill_to_the_runner_ends_qemu() {
    let scratch = Scratch::new("sigkill-running");
    qemu_with_grandchild(&scratch, OPENING);
    let runner = scratch.runner(&[]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("runner");
    let qemu = pid_in(&scratch.file("qemu.pid"));
    send("KILL", runner.id());
    let status = runner.wait_with_output().expect("runner ends").status;
    assert_eq!(status.code(), None, "killed by a signal");
    assert_all_gone(&[&qemu]);
}
