//! `lazymmu-run check-barriers [--kernel ELF]`: builds the arm64 kernel
//! (the kernel-dev profile that `scripts/run` boots) or
//! takes the given ELF) and checks its barrier and TLB-maintenance code.
//! Exit 0 when every sequence is as expected, 1 when one is not, 4 when
//! there is no kernel to read.

use std::path::PathBuf;

use crate::args::{Arch, Boot};
use crate::kernel_build::Profile;
use crate::verdict::ExitCode;
use crate::{interrupt, kernel_build, preflight};

pub const USAGE: &str = "\
usage: lazymmu-run check-barriers [--kernel ELF]

Checks, in the built arm64 kernel, the barrier and TLB-maintenance
instructions of each function in runner/src/arm64_code.rs's table, in order
(QEMU and the host model cannot see a lost barrier there). Builds the
kernel (the kernel-dev profile `scripts/run` boots) unless --kernel names
an arm64 ELF.

Exit codes: 0 every sequence as expected, 1 one is not, 4 set-up error.";

fn setup_error(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("lazymmu-run check-barriers: {message}");
    ExitCode::SetupError
}

/// The subcommand's entry: `args` are those after `check-barriers`.
pub fn main(args: &[String]) -> ExitCode {
    let kernel = match args {
        [] => None,
        [help] if help == "--help" || help == "-h" => {
            println!("{USAGE}");
            return ExitCode::Pass;
        }
        [option, path] if option == "--kernel" => Some(PathBuf::from(path)),
        _ => return setup_error(format!("unexpected arguments {args:?}\n{USAGE}")),
    };
    let elf = match kernel {
        Some(path) => path,
        None => {
            interrupt::install();
            let root = kernel_build::workspace_root();
            if let Err(message) = preflight::check_rust_target(&root, Arch::Aarch64) {
                return setup_error(message);
            }
            match kernel_build::build(&root, Arch::Aarch64, Boot::Direct, Profile::Dev) {
                Ok(elf) => elf,
                Err(message) => return setup_error(message),
            }
        }
    };
    let bytes = match std::fs::read(&elf) {
        Ok(bytes) => bytes,
        Err(e) => return setup_error(format!("cannot read {}: {e}", elf.display())),
    };
    let checks = match super::check(&bytes) {
        Ok(checks) => checks,
        Err(message) => return setup_error(format!("{}: {message}", elf.display())),
    };
    for check in &checks {
        println!("check-barriers: {}", check.describe());
    }
    let failed = checks.iter().filter(|check| !check.passed()).count();
    if failed == 0 {
        println!("check-barriers: all {} sequences as expected in {}", checks.len(), elf.display());
        ExitCode::Pass
    } else {
        println!("check-barriers: {failed} of {} sequences wrong in {}", checks.len(), elf.display());
        ExitCode::Fail
    }
}
