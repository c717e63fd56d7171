//! `lazymmu-run parse [LOG|-]`: a saved serial log read back as kunit.py's
//! `parse` does: the same parser, table, failure lines, JUnit and JSON as a
//! run, and an exit code from the log alone. With no QEMU status to go on,
//! the log's own results stand in for it: a `not ok` is the fail status, a
//! plan of `1..0` after a diagnostic is a rejected command line, anything
//! else the pass status; a crash, a malformed or cut log, a timeout and
//! nothing tested are then judged exactly as in a run.

use std::io::Read;
use std::path::Path;

use crate::args::ParseOptions;
use crate::kernel_build;
use crate::ktap::{Parser, Report};
use crate::outcome::{flush_stdout, Stop};
use crate::paths::{self, Named};
use crate::printout::{self, Reports};
use crate::verdict::{self, qemu_status, ExitCode, RunEnd};

pub fn run(options: &ParseOptions) -> i32 {
    match run_checked(options) {
        Ok(code) => code,
        Err(stop) => stop.report(),
    }
}

fn run_checked(options: &ParseOptions) -> Result<i32, Stop> {
    let mut outputs: Vec<Named> = Vec::new();
    outputs.extend(options.junit.as_deref().map(|path| Named { what: "--junit", path }));
    outputs.extend(options.json.as_deref().map(|path| Named { what: "--json", path }));
    let inputs: Vec<Named> = options.log.as_deref().map(|path| Named { what: "the log", path }).into_iter().collect();
    paths::check_outputs(&outputs, &inputs).map_err(Stop::Setup)?;
    let bytes = read_log(options.log.as_deref())?;
    let mut parser = Parser::new();
    // Read as a run reads QEMU's output: by lines, invalid UTF-8 replaced.
    for line in String::from_utf8_lossy(&bytes).lines() {
        parser.feed(line.trim_end_matches('\r'));
    }
    let report = parser.finish();
    let verdict = verdict::decide(RunEnd::Exited(status_from(&report)), &report);
    let colour = options.color.for_stdout();
    printout::results(&report, false, false, colour)?;
    let run_error = match verdict.code {
        ExitCode::Pass | ExitCode::Fail => None,
        _ => Some(verdict.reason.as_str()),
    };
    let build_dir = kernel_build::cargo_target_dir(&kernel_build::workspace_root()).display().to_string();
    let arch = arch_of(&report).unwrap_or_else(|| "unknown".to_string());
    let reports =
        Reports { junit: options.junit.as_deref(), json: options.json.as_deref(), arch: &arch, build_dir: &build_dir };
    let (reason, code) = match printout::write_reports(&reports, &report, run_error) {
        Ok(()) => (verdict.reason.clone(), verdict.code.code()),
        Err(message) => {
            crate::outcome::note(&format!("lazymmu-run: {message}"));
            (format!("{}; but {message}", verdict.reason), ExitCode::SetupError.code())
        }
    };
    printout::verdict_line(&reason, code, options.log.as_deref(), colour)?;
    flush_stdout()?;
    Ok(code)
}

fn read_log(path: Option<&Path>) -> Result<Vec<u8>, Stop> {
    match path {
        Some(path) => {
            std::fs::read(path).map_err(|e| Stop::Setup(format!("cannot read the log {}: {e}", path.display())))
        }
        None => {
            let mut bytes = Vec::new();
            std::io::stdin()
                .lock()
                .read_to_end(&mut bytes)
                .map_err(|e| Stop::Setup(format!("cannot read the log from stdin: {e}")))?;
            Ok(bytes)
        }
    }
}

/// The QEMU status the kernel would have exited with, from its log.
fn status_from(report: &Report) -> i32 {
    if report.has_failure() {
        qemu_status::FAIL
    } else if report.plan == Some(0) && report.listed_cases.is_empty() && !report.top_level_diagnostics.is_empty() {
        qemu_status::BAD_INPUT
    } else {
        qemu_status::PASS
    }
}

/// `arch=` in the kernel's `# lazymmu: arch=x86_64 ...` header line.
fn arch_of(report: &Report) -> Option<String> {
    report
        .top_level_diagnostics
        .iter()
        .flat_map(|line| line.split_whitespace())
        .find_map(|word| word.strip_prefix("arch="))
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ktap::parse;

    fn code_of(log: &str) -> ExitCode {
        let report = parse(log);
        verdict::decide(RunEnd::Exited(status_from(&report)), &report).code
    }

    const OPENING: &str = "KTAP version 1\n# lazymmu: arch=aarch64 flavours=all\n1..1\n    KTAP version 1\n    \
                           # Subtest: s\n    1..1\n";

    #[test]
    fn the_code_comes_from_the_content() {
        assert_eq!(code_of(&format!("{OPENING}    ok 1 a\nok 1 s\n")), ExitCode::Pass);
        assert_eq!(code_of(&format!("{OPENING}    not ok 1 a # expected 1, saw 2\nnot ok 1 s\n")), ExitCode::Fail);
        assert_eq!(code_of(&format!("{OPENING}    not ok 1 a # TIMEOUT after 9 ms\nnot ok 1 s\n")), ExitCode::Timeout);
        assert_eq!(code_of(&format!("{OPENING}# CRASH: page fault\n")), ExitCode::CrashOrMalformed);
        assert_eq!(code_of(&format!("{OPENING}    ok 1 a\n")), ExitCode::CrashOrMalformed, "cut log");
        assert_eq!(code_of(&format!("{OPENING}    ok 1 a # SKIP n/a\nok 1 s\n")), ExitCode::SetupError);
        let rejected = "KTAP version 1\n# lazymmu: bad command line: unknown key `x`\n1..0\n";
        assert_eq!(code_of(rejected), ExitCode::SetupError);
        assert_eq!(code_of(""), ExitCode::CrashOrMalformed);
    }

    #[test]
    fn the_arch_comes_from_the_header() {
        assert_eq!(arch_of(&parse(OPENING)).as_deref(), Some("aarch64"));
        assert_eq!(arch_of(&parse("KTAP version 1\n1..0\n")), None);
    }
}
