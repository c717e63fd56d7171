//! What the end-to-end tests share: the real `lazymmu-run` binary in a
//! scratch workspace, with fake programs (`qemu-system-x86_64`, `rustc`,
//! `cargo`, `gdb-multiarch`) first on PATH standing in for a broken machine
//! or a misbehaving kernel, and a fake kernel ELF the kernel check accepts.
// Each test binary uses its own part of these helpers.
#![allow(dead_code)]

pub mod fake_elf;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// What a fake QEMU prints for `--version` when the version is right.
pub const QEMU_10: &str = "QEMU emulator version 10.0.2 (Debian 1:10.0.2+ds-1~bpo12+1)";
/// KTAP up to the first case of one suite, as the kernel prints it
/// (`printf` escapes, for the fake QEMU scripts).
pub const OPENING: &str = "KTAP version 1\\n1..1\\n    KTAP version 1\\n    # Subtest: s\\n    1..1\\n";
/// A fake QEMU's script that passes one test and exits with the pass status.
pub const PASSING_QEMU: &str = "printf 'KTAP version 1\\n1..1\\n    KTAP version 1\\n    # Subtest: s\\n    1..1\\n    ok 1 a\\nok 1 s\\n'; exit 33";

/// A scratch workspace (the runner finds it from its current directory and
/// writes its logs under it) and a directory of fake programs.
pub struct Scratch {
    pub root: PathBuf,
}

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        let root = std::env::temp_dir().join(format!("lazymmu-e2e-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(root.join("ws/kernel")).expect("scratch dirs");
        fs::create_dir_all(root.join("bin")).expect("scratch bin");
        fs::write(root.join("ws/Cargo.toml"), "[workspace]\n").expect("workspace");
        fs::write(root.join("ws/kernel/Cargo.toml"), "").expect("kernel manifest");
        fs::write(root.join("ws/kernel.bin"), fake_elf::fake_kernel(fake_elf::EM_X86_64, true)).expect("kernel");
        Scratch { root }
    }

    pub fn workspace(&self) -> PathBuf {
        self.root.join("ws")
    }

    pub fn kernel(&self) -> PathBuf {
        self.workspace().join("kernel.bin")
    }

    /// The link to the latest x86_64 serial log.
    pub fn log(&self) -> PathBuf {
        self.workspace().join("target/lazymmu/x86_64.log")
    }

    /// A shell script `name` in the fake bin directory.
    pub fn program(&self, name: &str, body: &str) {
        write_script(&self.root.join("bin").join(name), body);
    }

    /// A fake QEMU that reports `version` and otherwise runs `run`.
    pub fn qemu(&self, version: &str, run: &str) {
        self.program(
            "qemu-system-x86_64",
            &format!("if [ \"$1\" = --version ]; then echo '{version}'; exit 0; fi\n{run}"),
        );
    }

    pub fn command(&self, path: &str, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_lazymmu-run"));
        command
            .args(args)
            .current_dir(self.workspace())
            .env("PATH", path)
            .env_remove("LAZYMMU_CALLER_DIR")
            .env_remove("NO_COLOR")
            .stdin(Stdio::null());
        command
    }

    /// The fake bin directory first, then the real PATH.
    pub fn path(&self) -> String {
        format!("{}:{}", self.root.join("bin").display(), std::env::var("PATH").unwrap_or_default())
    }

    /// The runner on the scratch kernel file with extra `args`.
    pub fn runner(&self, args: &[&str]) -> Command {
        let kernel = self.kernel();
        let mut all = vec!["--arch", "x86_64", "--kernel", kernel.to_str().expect("UTF-8 temp dir")];
        all.extend_from_slice(args);
        self.command(&self.path(), &all)
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.runner(args).output().expect("runner starts")
    }

    /// A file under the scratch root, for pid files and markers.
    pub fn file(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.root);
    }
}

pub fn write_script(path: &Path, body: &str) {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).expect("script dir");
    }
    fs::write(path, format!("#!/bin/sh\n{body}\n")).expect("script");
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).expect("chmod");
}

pub fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

pub fn assert_exit(output: &Output, code: i32, needle: &str) {
    let all = text(output);
    assert_eq!(output.status.code(), Some(code), "{all}");
    assert!(all.contains(needle), "expected `{needle}` in:\n{all}");
}

/// Neither a panic nor a Rust backtrace reached the person.
pub fn assert_no_panic(output: &Output) {
    let all = text(output);
    assert!(!all.contains("panicked") && !all.contains("RUST_BACKTRACE"), "{all}");
}

/// Whether process `pid` still exists (a zombie counts as gone: it was reaped or will be).
pub fn alive(pid: &str) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| !stat.contains(") Z "))
}

pub fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The pid a fake program wrote to `file`, once it has.
pub fn pid_in(file: &Path) -> String {
    wait_for("a pid file", Duration::from_secs(10), || fs::read_to_string(file).is_ok_and(|text| text.ends_with('\n')));
    fs::read_to_string(file).expect("pid file").trim().to_string()
}

/// Sends `signal` (a `kill` name such as INT) to `pid`.
pub fn send(signal: &str, pid: u32) {
    let sent = Command::new("kill").args([&format!("-{signal}"), &pid.to_string()]).status().expect("kill runs");
    assert!(sent.success());
}

/// The repository this test was built from (for its scripts and Makefile).
pub fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("runner is in the repository").to_path_buf()
}
