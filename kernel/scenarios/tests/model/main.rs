//! Every registered case on the strict host model, one test per case and
//! page-table format, named `suite.case.arch`: `cargo test -p scenarios --
//! lazy_batch.barriers_batched` runs that case on both formats, `--
//! lazy_batch.barriers_batched.aarch64` on one. A test runs the case's
//! plain form and its `.detects_bug` self-test under every flavour; a
//! failure prints that case's KTAP lines and nothing else.

mod env;

use std::sync::Mutex;

use ktest::{Arch, Case, Target};
use libtest_mimic::{Arguments, Failed, Trial};
use mm::PteFormat;
use scenarios::EnvRef;

use crate::env::{model_env, ModelPlatform};

/// The model's format for each arch's name.
const TARGETS: [(Arch, PteFormat); 2] = [(Arch::Aarch64, PteFormat::Arm64), (Arch::X86_64, PteFormat::X86_64)];

/// Runs `case` on a fresh model of `format`; its KTAP lines on failure.
fn run_case(case: &'static Case, arch: Arch, format: PteFormat) -> Result<(), Failed> {
    let env = model_env(format);
    let target = Target::host_model(arch);
    let platform = ModelPlatform { target, env, log: Mutex::new(String::new()) };
    let cases = [case];
    let options = ktest::cmdline::parse(b"", false, &cases).map_err(|error| Failed::from(error.to_string()))?;
    let summary = ktest::run_cases(&platform, &options, &EnvRef::new(env), &cases);
    let log = platform.log.lock().map(|log| log.clone()).unwrap_or_default();
    match (summary.total, summary.fail) {
        (0, _) => Err(format!("{target}: no leaf ran\n{log}").into()),
        (_, 0) => Ok(()),
        (total, fail) => Err(format!("{target}: {fail} of {total} leaves failed\n{log}").into()),
    }
}

fn main() {
    let arguments = Arguments::from_args();
    let cases = ktest::cases();
    assert!(scenarios::link_cases() > 0, "no case registered: the scenarios were not linked in");
    let trials = cases
        .iter()
        .flat_map(|&case| {
            TARGETS.map(|(arch, format)| {
                Trial::test(format!("{}.{arch}", case.id()), move || run_case(case, arch, format))
            })
        })
        .collect();
    libtest_mimic::run(&arguments, trials).exit();
}
