//! `lazymmu-run bench`: builds the kernel and a floor kernel that exits at
//! its first instruction, boots each under the same QEMU command `--runs`
//! times, boots the manual `bench` suite, and turns what it saw into
//! tables on the terminal, `target/bench/<arch>.json` and an SVG plot.

mod build;
mod json;
mod load;
pub mod options;
mod readme;
pub mod records;
mod svg;
mod table;
pub mod timing;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::args::Arch;
use crate::kernel_build::Profile;
use crate::qemu::{self, QemuConfig};
use crate::verdict::ExitCode;
use crate::{interrupt, kernel_build, preflight};

use self::options::{BenchCommand, BenchOptions};
use self::records::Record;
use self::timing::TimedBoot;

/// A default run takes about a second; a boot that needs this long is broken.
const BOOT_TIMEOUT: Duration = Duration::from_secs(120);
/// The CPUs of every boot but the `bench` suite's (the runner's default).
const SMP: u32 = 2;
/// The `bench` suite boots one CPU: with two, every broadcast flush is an
/// IPI whose cost under TCG is the host's thread scheduling, not the
/// lazy layer's (measured: milliseconds per flush with the host busy).
const BENCH_SMP: u32 = 1;
const BENCH_CMDLINE: &str = "filter=bench.*";

/// A measurement: its QEMU command line and one boot per run.
#[derive(Clone, Debug)]
pub struct Boots {
    pub what: String,
    pub command: Vec<String>,
    pub runs: Vec<TimedBoot>,
}

/// Everything measured on one arch.
#[derive(Clone, Debug)]
pub struct ArchResult {
    pub arch: Arch,
    /// The cargo profile both kernels were built with.
    pub profile: Profile,
    pub qemu_version: String,
    /// The host's 1-minute load average when the arch's boots began: the
    /// suites' times (IPIs under `-smp 2`) grow with it.
    pub host_load: Option<f64>,
    pub kernel_build_s: f64,
    pub floor_build_s: f64,
    pub floor: Boots,
    pub default_run: Boots,
    /// One filtered boot per suite the default run ran.
    pub suites: Vec<Boots>,
    pub bench: Boots,
    pub records: Vec<Record>,
}

/// The `bench` subcommand's entry: `args` are those after `bench`.
pub fn main(args: &[String]) -> ExitCode {
    match options::parse(args) {
        Ok(BenchCommand::Help) => {
            println!("{}", options::USAGE);
            ExitCode::Pass
        }
        Ok(BenchCommand::Run(options)) => run(&options),
        Ok(BenchCommand::Readme) => readme::run(&kernel_build::workspace_root()),
        Err(message) => {
            eprintln!("lazymmu-run bench: {message}");
            eprintln!("Try `lazymmu-run bench --help` for the options.");
            ExitCode::SetupError
        }
    }
}

fn run(options: &BenchOptions) -> ExitCode {
    interrupt::install();
    let root = kernel_build::workspace_root();
    let out_dir = root.join("target/bench");
    if let Err(e) = std::fs::create_dir_all(&out_dir) {
        eprintln!("lazymmu-run bench: cannot create {}: {e}", out_dir.display());
        return ExitCode::SetupError;
    }
    let revision = git_revision(&root);
    let mut code = ExitCode::Pass;
    for &arch in &options.arches {
        let result = match measure_arch(&root, &out_dir, arch, options) {
            Ok(result) => result,
            Err(code) => return code,
        };
        print!("{}", table::render(&result, options.runs));
        let json_path = out_dir.join(format!("{}.json", arch.name()));
        let svg_path = out_dir.join(format!("{}-batching.svg", arch.name()));
        let written = std::fs::write(&json_path, json::render(&result, &revision, options.runs))
            .and_then(|()| std::fs::write(&svg_path, svg::render(&result)));
        match written {
            Ok(()) => println!("wrote {} and {}\n", json_path.display(), svg_path.display()),
            Err(e) => {
                eprintln!("lazymmu-run bench: cannot write the results in {}: {e}", out_dir.display());
                return ExitCode::SetupError;
            }
        }
        let failed: Vec<&str> = [&result.default_run, &result.bench]
            .into_iter()
            .chain(&result.suites)
            .filter(|boots| boots.runs.iter().any(|boot| boot.code != ExitCode::Pass))
            .map(|boots| boots.what.as_str())
            .collect();
        if !failed.is_empty() {
            eprintln!("lazymmu-run bench: {}: these boots did not pass: {}", arch.name(), failed.join(", "));
            code = ExitCode::Fail;
        }
    }
    code
}

fn measure_arch(root: &Path, out_dir: &Path, arch: Arch, options: &BenchOptions) -> Result<ArchResult, ExitCode> {
    let runs = options.runs;
    let setup_error = |message: String| {
        eprintln!("lazymmu-run bench: {message}");
        ExitCode::SetupError
    };
    preflight::check_qemu(arch).map_err(setup_error)?;
    preflight::check_rust_target(root, arch).map_err(setup_error)?;
    let built = build::kernels(root, arch, options.profile).map_err(setup_error)?;
    let host_load = host_load();
    let boot = |what: &str, kernel: &Path, smp: u32, cmdline: &str| -> Result<Boots, ExitCode> {
        let config = QemuConfig { arch, smp, kernel, cmdline, gdb: None };
        let command = qemu::command_line(&config);
        let log = out_dir.join(format!("{}-{}.log", arch.name(), what.replace(['*', ' ', '='], "_")));
        let mut boots = Boots { what: what.to_string(), command, runs: Vec::new() };
        for run in 1..=runs {
            if interrupt::interrupted() {
                return Err(ExitCode::Interrupted);
            }
            eprintln!("[{}] bench: {what}, run {run}/{runs}", arch.label());
            boots.runs.push(timing::boot(&boots.command, &log, BOOT_TIMEOUT).map_err(setup_error)?);
        }
        Ok(boots)
    };
    let floor = boot("floor", &built.floor, SMP, "")?;
    let default_run = boot("default run", &built.kernel, SMP, "")?;
    let suite_names: Vec<String> = default_run.runs[0].clock.suites.iter().map(|s| s.name.clone()).collect();
    let mut suites = Vec::new();
    for name in suite_names {
        suites.push(boot(&format!("filter={name}.*"), &built.kernel, SMP, &format!("filter={name}.*"))?);
    }
    let bench = boot(BENCH_CMDLINE, &built.kernel, BENCH_SMP, BENCH_CMDLINE)?;
    let mut records = Vec::new();
    for line in bench.runs.iter().flat_map(|boot| &boot.clock.bench_lines) {
        records::merge(&mut records, line);
    }
    Ok(ArchResult {
        arch,
        profile: options.profile,
        qemu_version: qemu_version(arch),
        host_load,
        kernel_build_s: built.kernel_build_s,
        floor_build_s: built.floor_build_s,
        floor,
        default_run,
        suites,
        bench,
        records,
    })
}

/// The first line of `qemu-system-* --version`.
fn qemu_version(arch: Arch) -> String {
    Command::new(arch.qemu_binary())
        .arg("--version")
        .output()
        .ok()
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .and_then(|text| text.lines().next().map(str::to_string))
        .unwrap_or_else(|| "unknown".to_string())
}

/// The first field of `/proc/loadavg`, where there is one.
fn host_load() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg").ok()?.split_whitespace().next()?.parse().ok()
}

/// `git rev-parse HEAD`, with `-dirty` when tracked files differ from it.
fn git_revision(root: &Path) -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(root)
            .output()
            .ok()
            .filter(|output| output.status.success())
            .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_string())
    };
    match (git(&["rev-parse", "HEAD"]), git(&["status", "--porcelain", "--untracked-files=no"])) {
        (Some(head), Some(changes)) if !changes.is_empty() => format!("{head}-dirty"),
        (Some(head), _) => head,
        (None, _) => "unknown (not a git checkout)".to_string(),
    }
}

/// Where the built kernels are.
pub struct Built {
    pub kernel: PathBuf,
    pub kernel_build_s: f64,
    pub floor: PathBuf,
    pub floor_build_s: f64,
}
