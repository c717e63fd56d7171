//! `lazymmu-run`: builds the kernel, boots it under QEMU, streams and parses
//! its KTAP, prints a summary and exits with the code docs/design.md defines
//! (the README's exit table). `parse` reads a saved log instead; `bench`
//! measures.

use runner::args::{self, Command};
use runner::outcome::{note, say, Stop, CLOSED_STDOUT};
use runner::paths::caller_dir;
use runner::verdict::ExitCode;
use runner::{bench, children, interrupt, parse_log, session};

fn main() {
    // First of all: a signal from here on ends the children and says so.
    interrupt::install();
    install_panic_hook();
    // A non-UTF-8 argument is bad input (exit 4), not a panic.
    let Some(arguments) = std::env::args_os().skip(1).map(|arg| arg.into_string().ok()).collect::<Option<Vec<_>>>()
    else {
        note("lazymmu-run: an argument is not valid UTF-8");
        note("Try `lazymmu-run --help` for the options.");
        std::process::exit(ExitCode::SetupError.code());
    };
    if arguments.first().is_some_and(|first| first == "bench") {
        std::process::exit(bench::main(&arguments[1..]).code());
    }
    if arguments.first().is_some_and(|first| first == "check-barriers") {
        std::process::exit(runner::arm64_code::command::main(&arguments[1..]).code());
    }
    let code = match args::parse_args(arguments) {
        Ok(Command::Help) => help(args::USAGE),
        Ok(Command::ParseHelp) => help(args::PARSE_USAGE),
        Ok(Command::Run(mut options)) => {
            options.resolve_paths(&caller_dir());
            session::run(&options)
        }
        Ok(Command::Parse(mut options)) => {
            options.resolve_paths(&caller_dir());
            parse_log::run(&options)
        }
        Err(error) => {
            note(&format!("lazymmu-run: {error}"));
            note("Try `lazymmu-run --help` for the options.");
            ExitCode::SetupError.code()
        }
    };
    std::process::exit(code);
}

fn help(text: &str) -> i32 {
    match text.lines().try_for_each(say) {
        Ok(()) => ExitCode::Pass.code(),
        Err(stop) => stop.report(),
    }
}

/// No panic reaches the person as a backtrace or an abort (the workspace
/// builds with `panic = "abort"`): the children are ended, one line says
/// what happened, and the process exits here, before the abort. A print
/// to a closed stdout (`| head`) ends quietly with the closed-pipe code.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        children::kill_all();
        let message = info.payload_as_str().unwrap_or("(no message)");
        if message.starts_with("failed printing to stdout") {
            let code = if message.contains("Broken pipe") {
                CLOSED_STDOUT
            } else {
                Stop::Setup(format!("cannot write to stdout: {message}")).report()
            };
            std::process::exit(code);
        }
        let place = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        note(&format!("lazymmu-run: internal error{place}: {message} (please report it; the run is not judged)"));
        std::process::exit(ExitCode::SetupError.code());
    }));
}
