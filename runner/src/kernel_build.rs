//! Finding the workspace, building the kernel for an arch, and turning the
//! arm64 ELF into the raw `Image` QEMU's direct boot loads.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::args::{Arch, Boot};
use crate::children;

/// The workspace holding the kernel: the current directory or one above it,
/// else the one this runner was built from.
pub fn workspace_root() -> PathBuf {
    let is_root = |dir: &Path| {
        dir.join("kernel/Cargo.toml").is_file()
            && std::fs::read_to_string(dir.join("Cargo.toml")).is_ok_and(|toml| toml.contains("[workspace]"))
    };
    if let Ok(current) = std::env::current_dir() {
        if let Some(root) = current.ancestors().find(|dir| is_root(dir)) {
            return root.to_path_buf();
        }
    }
    let built_from = Path::new(env!("CARGO_MANIFEST_DIR"));
    built_from.parent().unwrap_or(built_from).to_path_buf()
}

/// Where cargo puts artifacts: `CARGO_TARGET_DIR` if set, else `<root>/target`.
pub fn cargo_target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root.join(dir),
        _ => root.join("target"),
    }
}

/// The cargo profile a kernel is built with (all three are in the
/// workspace's Cargo.toml; docs/tcg.md, "Builds", says why each exists).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// `kernel-dev`: optimised, no LTO, incremental: the edit loop's build
    /// and what `scripts/run` boots.
    Dev,
    /// `release`: fat LTO, one codegen unit: what `make bench` measures.
    Release,
    /// `kernel-debug`: lightly optimised with full debug info, for gdb.
    Debug,
}

impl Profile {
    pub const ALL: [Profile; 3] = [Profile::Release, Profile::Dev, Profile::Debug];

    pub fn cargo_name(self) -> &'static str {
        match self {
            Profile::Dev => "kernel-dev",
            Profile::Release => "release",
            Profile::Debug => "kernel-debug",
        }
    }

    pub fn from_cargo_name(name: &str) -> Option<Profile> {
        Profile::ALL.into_iter().find(|profile| profile.cargo_name() == name)
    }
}

pub fn cargo_build_args(arch: Arch, boot: Boot, profile: Profile) -> Vec<String> {
    let mut args: Vec<String> =
        ["build", "--profile", profile.cargo_name(), "-p", "lazymmu-kernel", "--target", arch.target_triple()]
            .iter()
            .map(|s| s.to_string())
            .collect();
    if boot == Boot::Limine {
        args.extend(["--features".to_string(), "limine".to_string()]);
    }
    args
}

/// Where `cargo build --profile <profile>` leaves the kernel ELF.
pub fn kernel_elf_path(target_dir: &Path, arch: Arch, profile: Profile) -> PathBuf {
    target_dir.join(arch.target_triple()).join(profile.cargo_name()).join("lazymmu")
}

/// Runs cargo with its output on the terminal; returns the kernel ELF. On
/// a signal, cargo and the compilers and linker it started are ended at
/// once (no wall of errors from half-killed linkers) and the error says
/// so; the caller asks `interrupt` which signal it was.
pub fn build(root: &Path, arch: Arch, boot: Boot, profile: Profile) -> Result<PathBuf, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let args = cargo_build_args(arch, boot, profile);
    let mut cargo_group = children::spawn(Command::new(&cargo).args(&args).current_dir(root).stdin(Stdio::null()))
        .map_err(|e| format!("cannot run {cargo}: {e}"))?;
    let status = cargo_group.wait("building the kernel").map_err(|stop| stop.to_string())?;
    if !status.success() {
        return Err(format!("kernel build failed (`cargo {}` in {}, output above)", args.join(" "), root.display()));
    }
    let elf = kernel_elf_path(&cargo_target_dir(root), arch, profile);
    if elf.is_file() {
        Ok(elf)
    } else {
        Err(format!("cargo succeeded but {} is missing", elf.display()))
    }
}

pub fn is_elf(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut file| std::io::Read::read_exact(&mut file, &mut magic))
        .is_ok_and(|_| magic == *b"\x7fELF")
}

/// `objcopy -O binary` the arm64 ELF into `<elf>.Image` next to it,
/// through a temporary file renamed into place: a run booting the previous
/// Image at the same moment keeps reading a whole file.
pub fn arm64_image(root: &Path, elf: &Path) -> Result<PathBuf, String> {
    let image = elf.with_extension("Image");
    let partial = elf.with_extension(format!("Image.{}.tmp", std::process::id()));
    let tool =
        objcopy(root).ok_or("no objcopy found (looked for the toolchain's rust-objcopy, llvm-objcopy, objcopy)")?;
    let output =
        children::output(Command::new(&tool).args(["-O", "binary"]).arg(elf).arg(&partial), "converting the arm64 ELF")
            .map_err(|stop| {
                let _ = std::fs::remove_file(&partial);
                stop.to_string()
            })?;
    if !output.status.success() {
        let _ = std::fs::remove_file(&partial);
        return Err(format!("{} -O binary failed: {}", tool.display(), String::from_utf8_lossy(&output.stderr).trim()));
    }
    std::fs::rename(&partial, &image).map_err(|e| format!("cannot write {}: {e}", image.display()))?;
    Ok(image)
}

/// The toolchain's rustlib bin directory may hold rust-objcopy or
/// llvm-objcopy (docs/tcg.md, "Builds"), but they need the toolchain's libLLVM,
/// which is not always installed: use the first candidate that runs.
fn objcopy(root: &Path) -> Option<PathBuf> {
    let mut candidates = Vec::new();
    if let (Some(sysroot), Some(host)) =
        (rustc_print(root, "sysroot"), rustc_print(root, "host-tuple").or_else(|| host_from_verbose_version(root)))
    {
        let bundled = Path::new(&sysroot).join("lib/rustlib").join(host).join("bin");
        candidates.extend(["rust-objcopy", "llvm-objcopy"].map(|name| bundled.join(name)));
    }
    // GNU objcopy last: a host-only binutils does not know aarch64 ELF.
    candidates.extend(["llvm-objcopy", "objcopy"].map(PathBuf::from));
    candidates.into_iter().find(|tool| Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success()))
}

/// `rustc --print <what>` run in the workspace, so rust-toolchain.toml applies.
pub fn rustc_print(root: &Path, what: &str) -> Option<String> {
    let output = Command::new("rustc").args(["--print", what]).current_dir(root).output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    (output.status.success() && !text.trim().is_empty()).then(|| text.trim().to_string())
}

fn host_from_verbose_version(root: &Path) -> Option<String> {
    let output = Command::new("rustc").arg("-vV").current_dir(root).output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    text.lines().find_map(|line| line.strip_prefix("host: ")).map(str::to_string)
}
