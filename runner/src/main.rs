//! `lazymmu-run`: builds the kernel, boots it under QEMU, streams and parses
//! its KTAP, prints a summary and exits with the code docs/design.md defines.

use std::borrow::Cow;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use runner::args::{self, Arch, Boot, Command, Options};
use runner::display::{Colour, LineDisplay};
use runner::ktap::{Parser, Report};
use runner::qemu::{self, QemuConfig, Stream};
use runner::report::{failure_lines, json, junit, summary};
use runner::symbols::Symbols;
use runner::verdict::{self, ExitCode, RunEnd, Verdict};
use runner::{interrupt, kernel_build, limine, preflight};

fn main() {
    // A non-UTF-8 argument is bad input (exit 4), not a panic.
    let Some(arguments) = std::env::args_os().skip(1).map(|arg| arg.into_string().ok()).collect::<Option<Vec<_>>>()
    else {
        eprintln!("lazymmu-run: an argument is not valid UTF-8");
        eprintln!("Try `lazymmu-run --help` for the options.");
        std::process::exit(ExitCode::SetupError.code());
    };
    if arguments.first().is_some_and(|first| first == "bench") {
        std::process::exit(runner::bench::main(&arguments[1..]).code());
    }
    let code = match args::parse_args(arguments) {
        Ok(Command::Help) => {
            println!("{}", args::USAGE);
            ExitCode::Pass
        }
        Ok(Command::Run(options)) => run(&options),
        Err(error) => {
            eprintln!("lazymmu-run: {error}");
            eprintln!("Try `lazymmu-run --help` for the options.");
            ExitCode::SetupError
        }
    };
    std::process::exit(code.code());
}

fn setup_error(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("lazymmu-run: {message}");
    ExitCode::SetupError
}

fn run(options: &Options) -> ExitCode {
    interrupt::install();
    let firmware = match (options.boot, options.firmware, limine::firmware(options)) {
        (Boot::Direct, Some(_), _) => return setup_error("--firmware applies to --boot limine only"),
        (_, _, Err(message)) => return setup_error(message),
        (_, _, Ok(firmware)) => firmware,
    };
    let root = kernel_build::workspace_root();
    let checks = [
        preflight::check_qemu(options.arch),
        options.junit.as_deref().map_or(Ok(()), |f| preflight::check_writable("--junit", f)),
        options.json.as_deref().map_or(Ok(()), |f| preflight::check_writable("--json", f)),
        if options.gdb { preflight::check_gdb() } else { Ok(()) },
    ];
    if let Some(Err(message)) = checks.into_iter().find(Result::is_err) {
        return setup_error(message);
    }
    let elf = match kernel_elf(options, &root) {
        Ok(elf) => elf,
        Err(code) => return code,
    };
    if options.boot == Boot::Limine && !kernel_build::is_elf(&elf) {
        return setup_error(format!("--boot limine loads an ELF: {} is not one", elf.display()));
    }
    let boot_file = match (options.arch, options.boot, kernel_build::is_elf(&elf)) {
        (Arch::Aarch64, Boot::Direct, true) => match kernel_build::arm64_image(&root, &elf) {
            Ok(image) => image,
            Err(message) => return setup_error(message),
        },
        _ => elf.clone(),
    };
    let symbols = if kernel_build::is_elf(&elf) {
        Symbols::load(&elf).map_err(|e| eprintln!("lazymmu-run: backtraces stay raw: {e}")).ok()
    } else {
        None
    };

    let cmdline = options.kernel_cmdline();
    let config =
        QemuConfig { arch: options.arch, smp: options.smp, kernel: &boot_file, cmdline: &cmdline, gdb: options.gdb };
    let mut command = qemu::command_line(&config);
    if options.boot == Boot::Limine {
        let out_dir = root.join("target/lazymmu");
        match limine::prepare(&root, options.arch, firmware, &elf, &cmdline, &out_dir) {
            Ok(boot) => command = limine::qemu_command(&command, &boot),
            Err(message) => return setup_error(message),
        }
    }
    if options.verbose || options.gdb {
        eprintln!("lazymmu-run: QEMU command line:\n  {}", qemu::shell_quote(&command));
    }
    if options.gdb {
        eprintln!("lazymmu-run: QEMU is halted with a gdb stub on :1234; attach with:\n  {}", gdb_command(&root, &elf));
    }

    let log_path = root.join("target/lazymmu").join(format!("{}.log", options.arch.name()));
    let mut log = match std::fs::create_dir_all(log_path.parent().expect("has a parent"))
        .and_then(|_| std::fs::File::create(&log_path))
    {
        Ok(file) => file,
        Err(e) => return setup_error(format!("cannot write the log {}: {e}", log_path.display())),
    };
    let colour = if std::io::stdout().is_terminal() { Colour::Always } else { Colour::Never };
    let display = LineDisplay::new(options.arch.label(), colour, symbols.as_ref());
    let mut parser = Parser::timed();
    let run_timeout = match options.boot {
        Boot::Direct => options.effective_run_timeout_s(),
        Boot::Limine => limine::run_timeout_s(options, firmware),
    }
    .map(Duration::from_secs);
    let mut stdout = std::io::stdout();
    let end = qemu::run(&command, run_timeout, &mut log, &mut |stream, line| match stream {
        Stream::Serial => {
            let line = match options.boot {
                Boot::Direct => Cow::Borrowed(line),
                Boot::Limine => limine::clean_serial_line(line),
            };
            let line = line.as_ref();
            parser.feed(line);
            let _ = writeln!(stdout, "{}", display.render(line));
        }
        Stream::Qemu => eprintln!("[{}] qemu: {line}", options.arch.label()),
    });
    let end = match end {
        Ok(end) => end,
        Err(message) => return setup_error(message),
    };
    let report = parser.finish();
    let verdict = verdict::decide(end, &report);
    print_outcome(options, end, &report, &verdict, &log_path);
    match write_reports(options, &report, &verdict, &root) {
        Ok(()) => verdict.code,
        // A lost report must not turn a passing run green in CI.
        Err(message) if verdict.code == ExitCode::Pass => setup_error(message),
        Err(message) => {
            eprintln!("lazymmu-run: {message}");
            verdict.code
        }
    }
}

/// `--kernel`, or a fresh build after checking the Rust target.
fn kernel_elf(options: &Options, root: &Path) -> Result<PathBuf, ExitCode> {
    if let Some(kernel) = &options.kernel {
        return if kernel.is_file() {
            Ok(kernel.clone())
        } else {
            Err(setup_error(format!("--kernel {}: no such file", kernel.display())))
        };
    }
    preflight::check_rust_target(root, options.arch).map_err(setup_error)?;
    let built = kernel_build::build(root, options.arch, options.boot);
    if interrupt::interrupted() {
        return Err(ExitCode::Interrupted);
    }
    built.map_err(setup_error)
}

fn gdb_command(root: &Path, elf: &Path) -> String {
    let script = root.join("scripts/gdb/lazymmu.py");
    qemu::shell_quote(&[
        "gdb-multiarch".to_string(),
        "-q".to_string(),
        elf.display().to_string(),
        "-ex".to_string(),
        format!("source {}", script.display()),
        "-ex".to_string(),
        "target remote localhost:1234".to_string(),
    ])
}

fn print_outcome(options: &Options, end: RunEnd, report: &Report, verdict: &Verdict, log_path: &Path) {
    println!();
    if options.list || !report.listed_cases.is_empty() {
        println!("{} runnable cases", report.listed_cases.len());
    } else if !report.suites.is_empty() {
        print!("{}", summary::table(report));
    }
    let cut_short = matches!(verdict.code, ExitCode::SetupError | ExitCode::Interrupted)
        || matches!(end, RunEnd::RunTimeout { .. });
    for line in failure_lines(report, cut_short) {
        println!("{line}");
    }
    println!("lazymmu-run: {} (exit {}); log: {}", verdict.reason, verdict.code.code(), log_path.display());
}

fn write_reports(options: &Options, report: &Report, verdict: &Verdict, root: &Path) -> Result<(), String> {
    let run_error = match verdict.code {
        ExitCode::Pass | ExitCode::Fail => None,
        _ => Some(verdict.reason.as_str()),
    };
    let arch = options.arch.name();
    if let Some(path) = &options.junit {
        std::fs::write(path, junit::to_xml(report, arch, run_error))
            .map_err(|e| format!("--junit {}: {e}", path.display()))?;
    }
    if let Some(path) = &options.json {
        let build_dir = kernel_build::cargo_target_dir(root).display().to_string();
        std::fs::write(path, json::to_json(report, arch, &build_dir))
            .map_err(|e| format!("--json {}: {e}", path.display()))?;
    }
    Ok(())
}
