//! Options end to end: `ARGS` reaches the runner unexpanded through make,
//! scripts/run passes the caller's directory, setup.sh re-checks what it
//! installed, repeated `--filter` reach the kernel as one list, a run that
//! tested nothing is exit 4, colour follows `--color`, `NO_COLOR` and
//! `TERM=dumb`, and `--gdb-port`.

mod common;

use std::fs;
use std::process::{Command, Output, Stdio};

use common::*;

/// A fake QEMU that records its arguments, then fails one test.
fn recording_failing_qemu(scratch: &Scratch) -> std::path::PathBuf {
    let args = scratch.file("qemu.args");
    scratch.qemu(
        QEMU_10,
        &format!(
            "echo \"$*\" > '{}'; printf '{OPENING}    not ok 1 a # expected 1, saw 2\\nnot ok 1 s\\n'; exit 35",
            args.display()
        ),
    );
    args
}

#[test]
fn make_passes_args_unexpanded() {
    let scratch = Scratch::new("make-args");
    let repo = scratch.file("repo");
    fs::create_dir_all(&repo).expect("repo");
    fs::copy(repository().join("Makefile"), repo.join("Makefile")).expect("Makefile");
    // The README's own example, with a file its glob would match.
    fs::write(repo.join("boot.notes"), "").expect("boot.notes");
    let received = scratch.file("received");
    write_script(&repo.join("scripts/setup.sh"), "exit 0");
    write_script(&repo.join("scripts/run"), &format!("printf '%s\\n' \"$@\" >> '{}'", received.display()));
    for target in ["run-x86_64", "gdb-arm64", "bench"] {
        let status = Command::new("make")
            .args(["-s", "-C"])
            .arg(&repo)
            .arg(target)
            .arg("ARGS=--filter boot.* --append 'a=1 b=2'")
            .status()
            .expect("make runs");
        assert!(status.success(), "{target}");
    }
    let words = fs::read_to_string(&received).expect("scripts/run ran");
    assert!(!words.contains("boot.notes"), "the glob was expanded:\n{words}");
    assert_eq!(words.lines().filter(|word| *word == "boot.*").count(), 3, "{words}");
    assert_eq!(words.lines().filter(|word| *word == "a=1 b=2").count(), 3, "quotes still group:\n{words}");
}

#[test]
fn scripts_run_passes_the_callers_directory() {
    let scratch = Scratch::new("scripts-run-cwd");
    let repo = scratch.file("repo");
    fs::create_dir_all(repo.join("scripts")).expect("repo");
    fs::copy(repository().join("scripts/run"), repo.join("scripts/run")).expect("scripts/run");
    scratch.program("cargo", "exit 0");
    write_script(
        &repo.join("target/debug/lazymmu-run"),
        "echo \"caller=$LAZYMMU_CALLER_DIR\"; echo \"cwd=$PWD\"; echo \"args=$*\"",
    );
    let caller = scratch.file("elsewhere");
    fs::create_dir_all(&caller).expect("caller");
    let output = Command::new(repo.join("scripts/run"))
        .args(["--junit", "out.xml"])
        .current_dir(&caller)
        .env("PATH", scratch.path())
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .expect("scripts/run");
    let all = text(&output);
    assert!(all.contains(&format!("caller={}", caller.display())), "{all}");
    assert!(all.contains(&format!("cwd={}", repo.display())) && all.contains("args=--junit out.xml"), "{all}");
}

#[test]
fn setup_rechecks_what_it_installed() {
    let scratch = Scratch::new("setup-recheck");
    let repo = scratch.file("repo");
    fs::create_dir_all(repo.join("scripts")).expect("repo");
    fs::copy(repository().join("scripts/setup.sh"), repo.join("scripts/setup.sh")).expect("setup.sh");
    for qemu in ["qemu-system-x86_64", "qemu-system-aarch64"] {
        scratch.program(qemu, &format!("echo '{QEMU_10}'"));
    }
    scratch.program("gdb-multiarch", "echo 'GNU gdb 13'");
    // rustup says yes to `target add` and installs nothing.
    scratch.program(
        "rustup",
        "case \"$1 $2\" in\n  'component list') printf 'rustfmt-x86_64\\nclippy-x86_64\\n' ;;\n  *) exit 0 ;;\nesac",
    );
    let output = Command::new(repo.join("scripts/setup.sh")).env("PATH", scratch.path()).output().expect("setup.sh");
    assert_exit(
        &output,
        4,
        "setup.sh: Rust targets still missing after installing: x86_64-unknown-none aarch64-unknown-none",
    );
}

#[test]
fn repeated_filters_reach_the_kernel_as_one_list() {
    let scratch = Scratch::new("filters");
    let args = recording_failing_qemu(&scratch);
    scratch.run(&["--filter", "boot.*", "--filter", "flush_order.vmap", "--filter=nesting.*,lazy_batch.*"]);
    let recorded = fs::read_to_string(args).expect("QEMU's arguments");
    assert!(recorded.contains("-append filter=boot.*,flush_order.vmap,nesting.*,lazy_batch.*"), "{recorded}");
}

#[test]
fn a_run_that_tested_nothing_is_not_a_pass() {
    let scratch = Scratch::new("only-skips");
    scratch.qemu(QEMU_10, &format!("printf '{OPENING}    ok 1 a # SKIP not on this arch\\nok 1 s # SKIP\\n'; exit 33"));
    assert_exit(&scratch.run(&[]), 4, "nothing was tested: all 1 selected tests were skipped");
}

/// The runner under a pseudo-terminal (`script`), with `env` set first.
fn on_a_terminal(scratch: &Scratch, env: &str, args: &str) -> Output {
    let runner = env!("CARGO_BIN_EXE_lazymmu-run");
    let kernel = scratch.kernel();
    let line = format!("env {env} PATH='{}' '{runner}' --kernel '{}' {args}", scratch.path(), kernel.display());
    Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .current_dir(scratch.workspace())
        .env_remove("NO_COLOR")
        .env("TERM", "xterm")
        .stdin(Stdio::null())
        .output()
        .expect("script runs")
}

#[test]
fn colour_follows_the_option_no_color_and_term() {
    let scratch = Scratch::new("colour");
    recording_failing_qemu(&scratch);
    let red_fail = "\x1b[31mFAIL s.a: expected 1, saw 2\x1b[0m";
    let red_verdict = "\x1b[31mlazymmu-run: 1 of 1 tests failed (exit 1)";
    let coloured = |output: &Output| {
        let all = text(output);
        assert_eq!(output.status.code(), Some(1), "{all}");
        all.contains(red_fail) && all.contains(red_verdict)
    };
    assert!(coloured(&on_a_terminal(&scratch, "TERM=xterm", "")), "a terminal gets colour");
    assert!(!coloured(&on_a_terminal(&scratch, "NO_COLOR=1", "")), "NO_COLOR");
    assert!(!coloured(&on_a_terminal(&scratch, "TERM=dumb", "")), "TERM=dumb");
    assert!(!coloured(&on_a_terminal(&scratch, "TERM=xterm", "--color never")), "--color never");
    assert!(coloured(&on_a_terminal(&scratch, "NO_COLOR=1", "--color always")), "--color always beats NO_COLOR");
    assert!(coloured(&scratch.run(&["--color", "always"])), "--color always into a pipe");
    assert!(!text(&scratch.run(&[])).contains('\x1b'), "a pipe gets no colour");
}

#[test]
fn gdb_port_is_checked_and_passed_to_qemu() {
    let scratch = Scratch::new("gdb-port");
    scratch.program("gdb-multiarch", "echo 'GNU gdb 13'");
    let args = recording_failing_qemu(&scratch);
    let busy = std::net::TcpListener::bind(("0.0.0.0", 0)).expect("a port");
    let port = busy.local_addr().expect("address").port().to_string();
    assert_exit(&scratch.run(&["--gdb-port", &port]), 4, &format!("--gdb-port {port}: cannot listen there"));
    assert!(!args.exists(), "QEMU started on a busy port");
    drop(busy);
    let output = scratch.run(&["--gdb-port", &port, "--run-timeout", "5"]);
    assert_exit(&output, 1, &format!("gdb stub on port {port}; attach with:"));
    assert_exit(&output, 1, &format!("-ex 'target remote localhost:{port}'"));
    assert!(fs::read_to_string(&args).expect("args").contains(&format!("-gdb tcp::{port} -S ")));
}
