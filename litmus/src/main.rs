//! `lazymmu-litmus`: herd7-style verdicts for litmus tests in the subset
//! the model covers, and the conformance run against a herdtools7 checkout.
//! Exit codes: 0 all decided (and, with `--conform`, all agree), 1 a
//! disagreement with herd7, 4 a test outside the subset, a file that cannot
//! be read, bad arguments or a missing HERD_DIR.

use litmus::conform::{self, CaseResult, Tally};
use litmus::DEFAULT_STATE_LIMIT;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// `println!` that ignores a closed stdout (`lazymmu-litmus ... | head`).
macro_rules! out {
    ($($arg:tt)*) => {
        _ = writeln!(std::io::stdout(), $($arg)*)
    };
}

const USAGE: &str = "\
usage: lazymmu-litmus [--states N] [--verbose] FILE.litmus...
       lazymmu-litmus [--states N] --conform HERD_DIR

Prints `Observation NAME Never|Sometimes|Always` per test (herd7's verdict
word), or `unsupported: <why>` for a test outside the subset (exit 4).
--conform runs herd/tests/instructions/AArch64.kvm and
catalogue/aarch64-VMSA/tests of a herdtools7 checkout, compares with herd7's
verdicts and prints agree / disagree / unsupported counts (exit 1 on any
disagreement). --states bounds the explored states per test (default 2000000);
--verbose also lists each test's final states.";

struct Args {
    files: Vec<PathBuf>,
    conform: Option<PathBuf>,
    state_limit: usize,
    verbose: bool,
}

fn parse_args() -> Result<Option<Args>, String> {
    let mut args = Args { files: Vec::new(), conform: None, state_limit: DEFAULT_STATE_LIMIT, verbose: false };
    let mut iter = std::env::args().skip(1);
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--verbose" | "-v" => args.verbose = true,
            "--states" => {
                let n = iter.next().ok_or("--states needs a number")?;
                args.state_limit = n.parse().map_err(|_| format!("--states: not a number: {n}"))?;
            }
            "--conform" => args.conform = Some(iter.next().ok_or("--conform needs the herdtools7 directory")?.into()),
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag}")),
            file => args.files.push(file.into()),
        }
    }
    match (&args.conform, args.files.is_empty()) {
        (None, true) => Err("no litmus file given".into()),
        (Some(_), false) => Err("--conform takes no litmus files".into()),
        _ => Ok(Some(args)),
    }
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(Some(args)) => args,
        Ok(None) => {
            out!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("lazymmu-litmus: {message}\n{USAGE}");
            return ExitCode::from(4);
        }
    };
    match &args.conform {
        Some(dir) => run_conformance(dir, args.state_limit),
        None => run_files(&args),
    }
}

fn run_files(args: &Args) -> ExitCode {
    let mut code = ExitCode::SUCCESS;
    for path in &args.files {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) => {
                eprintln!("lazymmu-litmus: cannot read {}: {e}", path.display());
                code = ExitCode::from(4);
                continue;
            }
        };
        match litmus::run(&text, args.state_limit) {
            Ok(verdict) => {
                out!("Observation {} {}", verdict.name, verdict.exploration.observation);
                if args.verbose {
                    for outcome in &verdict.exploration.outcomes {
                        out!("  {outcome:?}");
                    }
                    out!("  ({} states)", verdict.exploration.states);
                }
            }
            Err(reason) => {
                out!("unsupported: {reason} ({})", path.display());
                code = ExitCode::from(4);
            }
        }
    }
    code
}

fn run_conformance(dir: &std::path::Path, state_limit: usize) -> ExitCode {
    let cases = match conform::collect(dir) {
        Ok(cases) => cases,
        Err(message) => {
            eprintln!("lazymmu-litmus: {message}");
            return ExitCode::from(4);
        }
    };
    let start = Instant::now();
    let mut tallies: Vec<(&str, Tally)> = Vec::new();
    let mut disagreements = Vec::new();
    let mut reasons = Vec::new();
    for case in &cases {
        let result = conform::check(case, state_limit);
        if tallies.last().is_none_or(|(s, _)| *s != case.suite) {
            tallies.push((case.suite, Tally::default()));
        }
        if let Some((_, tally)) = tallies.last_mut() {
            tally.add(&result);
        }
        match result {
            CaseResult::Disagree { ours, herd } => {
                disagreements.push(format!("  {}: ours {ours}, herd7 {herd:?}", case.path.display()))
            }
            CaseResult::Unsupported(reason) => reasons.push(reason),
            CaseResult::Agree | CaseResult::NoReference => {}
        }
    }
    let mut total = Tally::default();
    for (suite, t) in &tallies {
        out!(
            "{suite}: agree {} disagree {} unsupported {} no-reference {}",
            t.agree,
            t.disagree,
            t.unsupported,
            t.no_reference
        );
        total.agree += t.agree;
        total.disagree += t.disagree;
        total.unsupported += t.unsupported;
        total.no_reference += t.no_reference;
    }
    out!(
        "total: agree {} disagree {} unsupported {} no-reference {} ({} tests, {:.1}s)",
        total.agree,
        total.disagree,
        total.unsupported,
        total.no_reference,
        cases.len(),
        start.elapsed().as_secs_f64()
    );
    out!("unsupported, by reason:");
    for (n, reason) in conform::reason_summary(reasons.iter().map(String::as_str)) {
        out!("  {n:4} {reason}");
    }
    if disagreements.is_empty() {
        return ExitCode::SUCCESS;
    }
    out!("disagreements:");
    for line in &disagreements {
        out!("{line}");
    }
    ExitCode::from(1)
}
