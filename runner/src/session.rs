//! One `lazymmu-run` invocation: every path and tool checked before
//! anything is built, the kernel built (or taken) and checked, then one boot
//! per `--repeat`, each with its own serial log, and one verdict. Whatever
//! stops it (a signal, a lost write, a closed stdout) ends the children and
//! is said in one line; see `outcome`.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::args::{Arch, Boot, Firmware, Options};
use crate::display::{Colour, LineDisplay};
use crate::kernel_build::Profile;
use crate::kernel_check::{self, KernelFile};
use crate::ktap::{Parser, Report};
use crate::outcome::{checkpoint, flush_stdout, note, say, Stop};
use crate::paths::{self, Named};
use crate::printout::{self, Reports};
use crate::qemu::{self, QemuConfig, Stream};
use crate::serial_log::{self, SerialLog};
use crate::symbols::Symbols;
use crate::verdict::{self, ExitCode, RunEnd, Verdict};
use crate::{interrupt, kernel_build, limine, preflight, repeat};

pub fn run(options: &Options) -> i32 {
    match run_checked(options) {
        Ok(code) => code,
        Err(stop) => stop.report(),
    }
}

/// What every boot of this invocation shares.
struct Plan {
    command: Vec<String>,
    log_base: PathBuf,
    /// The `<arch>.log` link, for per-run logs.
    latest: Option<PathBuf>,
    run_timeout: Option<Duration>,
    symbols: Option<Symbols>,
    colour: Colour,
    /// A Limine run's image and variable store, removed at the end.
    _limine_files: Option<RunDir>,
}

/// One boot's outcome.
struct BootResult {
    end: RunEnd,
    report: Report,
    verdict: Verdict,
    log: PathBuf,
    log_lost: Option<String>,
}

fn run_checked(options: &Options) -> Result<i32, Stop> {
    let root = kernel_build::workspace_root();
    let out_dir = root.join("target/lazymmu");
    let firmware = match (options.boot, options.firmware, limine::firmware(options)) {
        (Boot::Direct, Some(_), _) => return Err(Stop::Setup("--firmware applies to --boot limine only".into())),
        (_, _, Err(message)) => return Err(Stop::Setup(message)),
        (_, _, Ok(firmware)) => firmware,
    };
    let run_id = serial_log::run_id();
    let log_base = match &options.log_file {
        Some(path) => path.clone(),
        None => serial_log::default_path(&out_dir, options.arch, options.boot, &run_id),
    };
    let latest = options.log_file.is_none().then(|| serial_log::latest_link(&out_dir, options.arch));
    check_paths(options, &out_dir, &log_base, latest.as_deref())?;
    if options.log_file.is_none() {
        serial_log::prune(&out_dir, options.arch);
    }
    check_tools(options)?;
    checkpoint("checking the set-up")?;

    let (elf, kind) = kernel(options, &root)?;
    let boot_file = match (options.arch, options.boot, kind) {
        (Arch::Aarch64, Boot::Direct, KernelFile::Elf) => {
            let image = kernel_build::arm64_image(&root, &elf)
                .map_err(|message| stop_or_signal(message, "converting the arm64 ELF"))?;
            kernel_check::check(&image, Arch::Aarch64, Boot::Direct).map_err(Stop::Setup)?;
            image
        }
        _ => elf.clone(),
    };
    let symbols = match kind {
        KernelFile::Elf => {
            Symbols::load(&elf).map_err(|e| note(&format!("lazymmu-run: backtraces stay raw: {e}"))).ok()
        }
        KernelFile::Arm64Image => None,
    };
    let gdb_port = match options.gdb {
        true => Some(qemu::gdb_port(options.gdb_port).map_err(Stop::Setup)?),
        false => None,
    };
    let cmdline = options.kernel_cmdline();
    let config =
        QemuConfig { arch: options.arch, smp: options.smp, kernel: &boot_file, cmdline: &cmdline, gdb: gdb_port };
    let mut command = qemu::command_line(&config);
    let mut limine_files = None;
    if options.boot == Boot::Limine {
        let run_dir = RunDir(out_dir.join(format!("limine-run-{run_id}")));
        let prepared = limine::prepare(&root, options.arch, firmware, &elf, &cmdline, &run_dir.0, &out_dir)
            .map_err(|message| stop_or_signal(message, "building the Limine image"))?;
        command = limine::qemu_command(&command, &prepared);
        limine_files = Some(run_dir);
    }
    if options.verbose || options.gdb {
        note(&format!("lazymmu-run: QEMU command line:\n  {}", qemu::shell_quote(&command)));
    }
    if let Some(port) = gdb_port {
        note(&format!(
            "lazymmu-run: QEMU is halted with a gdb stub on port {port}; attach with:\n  {}",
            gdb_command(&root, &elf, port)
        ));
    }
    let plan = Plan {
        command,
        log_base,
        latest,
        run_timeout: run_timeout(options, firmware),
        symbols,
        colour: options.color.for_stdout(),
        _limine_files: limine_files,
    };
    let boots = boot_all(&plan, options)?;
    finish(&plan, options, &root, boots)
}

/// Each output a valid file of its own, before anything runs.
fn check_paths(options: &Options, out_dir: &Path, log_base: &Path, latest: Option<&Path>) -> Result<(), Stop> {
    if let Some(kernel) = &options.kernel {
        if !kernel.is_file() {
            return Err(Stop::Setup(format!("--kernel {}: no such file", kernel.display())));
        }
    }
    if options.log_file.is_none() {
        std::fs::create_dir_all(out_dir)
            .map_err(|e| Stop::Setup(format!("cannot create the log directory {}: {e}", out_dir.display())))?;
    }
    let log_option = if options.log_file.is_some() { "--log-file" } else { "the serial log" };
    let logs: Vec<PathBuf> =
        (1..=options.repeat).map(|number| serial_log::for_repetition(log_base, number, options.repeat)).collect();
    let mut outputs: Vec<Named> = Vec::new();
    outputs.extend(options.junit.as_deref().map(|path| Named { what: "--junit", path }));
    outputs.extend(options.json.as_deref().map(|path| Named { what: "--json", path }));
    outputs.extend(logs.iter().map(|path| Named { what: log_option, path }));
    let mut inputs: Vec<Named> = Vec::new();
    inputs.extend(options.kernel.as_deref().map(|path| Named { what: "--kernel", path }));
    inputs.extend(latest.map(|path| Named { what: "the latest-log link", path }));
    paths::check_outputs(&outputs, &inputs).map_err(Stop::Setup)
}

fn check_tools(options: &Options) -> Result<(), Stop> {
    preflight::check_qemu(options.arch).map_err(Stop::Setup)?;
    if options.gdb {
        preflight::check_gdb().map_err(Stop::Setup)?;
    }
    if let Some(port) = options.gdb_port {
        qemu::gdb_port(Some(port)).map_err(Stop::Setup)?;
    }
    Ok(())
}

/// `--kernel` or a fresh build, checked to be bootable on this arch and path.
fn kernel(options: &Options, root: &Path) -> Result<(PathBuf, KernelFile), Stop> {
    let path = match &options.kernel {
        Some(kernel) => kernel.clone(),
        None => {
            preflight::check_rust_target(root, options.arch).map_err(Stop::Setup)?;
            // gdb wants locals and frames; every other run the fast-to-build kernel.
            let profile = if options.gdb { Profile::Debug } else { Profile::Dev };
            kernel_build::build(root, options.arch, options.boot, profile)
                .map_err(|message| stop_or_signal(message, "building the kernel"))?
        }
    };
    let kind = kernel_check::check(&path, options.arch, options.boot).map_err(Stop::Setup)?;
    Ok((path, kind))
}

/// A step's error, unless a signal is why it failed.
fn stop_or_signal(message: String, during: &str) -> Stop {
    checkpoint(during).err().unwrap_or(Stop::Setup(message))
}

fn run_timeout(options: &Options, firmware: Firmware) -> Option<Duration> {
    match options.boot {
        Boot::Direct => options.effective_run_timeout_s(),
        Boot::Limine => limine::run_timeout_s(options, firmware),
    }
    .map(Duration::from_secs)
}

fn boot_all(plan: &Plan, options: &Options) -> Result<Vec<BootResult>, Stop> {
    let mut boots = Vec::new();
    for number in 1..=options.repeat {
        let log = serial_log::for_repetition(&plan.log_base, number, options.repeat);
        let boot = boot_once(plan, options, &log)?;
        if options.repeat > 1 {
            say(&format!(
                "lazymmu-run: run {number} of {}: {} (exit {}); log: {}",
                options.repeat,
                boot.verdict.reason,
                boot.verdict.code.code(),
                boot.log.display()
            ))?;
        }
        // Another boot would meet the same set-up error, or the person asked to stop.
        let stop_here = matches!(boot.verdict.code, ExitCode::SetupError | ExitCode::Interrupted);
        boots.push(boot);
        if stop_here {
            break;
        }
    }
    Ok(boots)
}

fn boot_once(plan: &Plan, options: &Options, log_path: &Path) -> Result<BootResult, Stop> {
    let mut log =
        SerialLog::create(log_path, options.log_file.is_none(), plan.latest.as_deref()).map_err(Stop::Setup)?;
    let display = LineDisplay::new(options.arch.label(), plan.colour, plan.symbols.as_ref());
    let mut parser = Parser::timed();
    let end = qemu::supervise(&plan.command, plan.run_timeout, &mut |stream, line| match stream {
        Stream::Serial => {
            // The log keeps what the parser read (firmware escapes dropped),
            // so `lazymmu-run parse` reads it the same way.
            let line = match options.boot {
                Boot::Direct => Cow::Borrowed(line),
                Boot::Limine => limine::clean_serial_line(line),
            };
            log.line(&line);
            parser.feed(&line);
            say(&display.render(&line))
        }
        Stream::Qemu => {
            // QEMU's own messages become KTAP diagnostics, so the log stays parseable.
            log.line(&format!("# qemu: {line}"));
            note(&format!("[{}] qemu: {line}", options.arch.label()));
            Ok(())
        }
    });
    let log_lost = log.finish().err();
    let end = end?;
    let report = parser.finish();
    let mut verdict = verdict::decide(end, &report);
    if end == RunEnd::Interrupted {
        verdict.reason = interruption(&report, options.gdb);
    }
    Ok(BootResult { end, report, verdict, log: log_path.to_path_buf(), log_lost })
}

/// "interrupted by SIGTERM while running boot test #3, after boot.x; QEMU stopped"
fn interruption(report: &Report, gdb: bool) -> String {
    let signum = interrupt::received().unwrap_or(interrupt::SIGINT);
    let doing = match (&report.cut_at, report.header_seen) {
        (Some(position), _) => format!("running {}", position.describe()),
        (None, true) => "between tests".to_string(),
        (None, false) if gdb => "booting (no KTAP yet; QEMU was waiting for gdb or booting)".to_string(),
        (None, false) => "booting (no KTAP yet)".to_string(),
    };
    format!("interrupted by {} while {doing}; QEMU stopped", interrupt::name(signum))
}

/// The table, failures, reports and verdict line of all boots.
fn finish(plan: &Plan, options: &Options, root: &Path, boots: Vec<BootResult>) -> Result<i32, Stop> {
    let cut_short = boots.iter().any(|boot| matches!(boot.end, RunEnd::RunTimeout { .. }));
    let (report, verdict, log) = match boots.as_slice() {
        [only] if options.repeat == 1 => (only.report.clone(), only.verdict.clone(), only.log.clone()),
        _ => {
            let reports: Vec<Report> = boots.iter().map(|boot| boot.report.clone()).collect();
            let verdicts: Vec<Verdict> = boots.iter().map(|boot| boot.verdict.clone()).collect();
            let (verdict, worst) = repeat::combine(&verdicts, options.repeat);
            (repeat::merge(&reports), verdict, boots.get(worst).map_or(plan.log_base.clone(), |b| b.log.clone()))
        }
    };
    let cut_short = cut_short || matches!(verdict.code, ExitCode::SetupError | ExitCode::Interrupted);
    printout::results(&report, options.list, cut_short, plan.colour)?;
    let run_error = match verdict.code {
        ExitCode::Pass | ExitCode::Fail => None,
        _ => Some(verdict.reason.as_str()),
    };
    let build_dir = kernel_build::cargo_target_dir(root).display().to_string();
    let reports = Reports {
        junit: options.junit.as_deref(),
        json: options.json.as_deref(),
        arch: options.arch.name(),
        build_dir: &build_dir,
    };
    let mut lost: Vec<String> = boots.iter().filter_map(|boot| boot.log_lost.clone()).collect();
    lost.extend(printout::write_reports(&reports, &report, run_error).err());
    let (reason, code) = match (verdict.code, lost.first()) {
        (ExitCode::Interrupted, _) => {
            (verdict.reason.clone(), interrupt::exit_code(interrupt::received().unwrap_or(interrupt::SIGINT)))
        }
        // A lost write never leaves a run green, nor a failing run's code
        // standing for results that were not all kept.
        (_, Some(first)) => {
            for message in &lost {
                note(&format!("lazymmu-run: {message}"));
            }
            (format!("{}; but {first}", verdict.reason), ExitCode::SetupError.code())
        }
        (_, None) => (verdict.reason.clone(), verdict.code.code()),
    };
    printout::verdict_line(&reason, code, Some(&log), plan.colour)?;
    flush_stdout()?;
    Ok(code)
}

fn gdb_command(root: &Path, elf: &Path, port: u16) -> String {
    let script = root.join("scripts/gdb/lazymmu.py");
    qemu::shell_quote(&[
        "gdb-multiarch".to_string(),
        "-q".to_string(),
        elf.display().to_string(),
        "-ex".to_string(),
        format!("source {}", script.display()),
        "-ex".to_string(),
        format!("target remote localhost:{port}"),
    ])
}

/// A directory of this run's files, removed when the run ends.
struct RunDir(PathBuf);

impl Drop for RunDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
