//! The two kernels the bench boots: the normal one (the same build `make
//! test` uses) and the floor, crate boot's `bench-floor` feature, built to
//! its own target dir so it never replaces the normal one. Each is timed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use super::Built;
use crate::args::{Arch, Boot};
use crate::kernel_build::{self, Profile};

/// Builds both kernels for `arch`; returns what QEMU boots (the ELF on
/// x86_64, the raw Image on arm64) and the seconds each build took.
pub fn kernels(root: &Path, arch: Arch, profile: Profile) -> Result<Built, String> {
    let started = Instant::now();
    let elf = kernel_build::build(root, arch, Boot::Direct, profile)?;
    let kernel_build_s = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let floor_elf = floor(root, arch, profile)?;
    let floor_build_s = started.elapsed().as_secs_f64();
    Ok(Built {
        kernel: bootable(root, arch, elf)?,
        kernel_build_s,
        floor: bootable(root, arch, floor_elf)?,
        floor_build_s,
    })
}

fn floor(root: &Path, arch: Arch, profile: Profile) -> Result<PathBuf, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let target_dir = kernel_build::cargo_target_dir(root).join("bench-floor");
    let mut args = kernel_build::cargo_build_args(arch, Boot::Direct, profile);
    args.extend(["--features".to_string(), "boot/bench-floor".to_string()]);
    let status = Command::new(&cargo)
        .args(&args)
        .env("CARGO_TARGET_DIR", &target_dir)
        .current_dir(root)
        .status()
        .map_err(|e| format!("cannot run {cargo}: {e}"))?;
    if !status.success() {
        return Err(format!("floor kernel build failed (`cargo {}`, output above)", args.join(" ")));
    }
    Ok(kernel_build::kernel_elf_path(&target_dir, arch, profile))
}

fn bootable(root: &Path, arch: Arch, elf: PathBuf) -> Result<PathBuf, String> {
    match arch {
        Arch::X86_64 => Ok(elf),
        Arch::Aarch64 => kernel_build::arm64_image(root, &elf),
    }
}
