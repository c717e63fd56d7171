//! Checks before anything is built or run, each failing with one line that
//! says what is wrong and how to fix it (runner exit 4).

use std::path::Path;
use std::process::Command;

use crate::args::Arch;
use crate::kernel_build::rustc_print;

const MIN_QEMU_MAJOR: u32 = 10;

pub fn check_qemu(arch: Arch) -> Result<(), String> {
    let binary = arch.qemu_binary();
    let output = Command::new(binary)
        .arg("--version")
        .output()
        .map_err(|_| format!("{binary} not found: run scripts/setup.sh"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    match qemu_major(&text) {
        Some(major) if major >= MIN_QEMU_MAJOR => Ok(()),
        Some(major) => {
            Err(format!("{binary} is QEMU {major}, lazymmu needs QEMU {MIN_QEMU_MAJOR} or newer: run scripts/setup.sh"))
        }
        None => Err(format!("cannot read the version of {binary}: run scripts/setup.sh")),
    }
}

/// `QEMU emulator version 10.0.2 (Debian ...)` -> 10
pub fn qemu_major(version_text: &str) -> Option<u32> {
    let rest = version_text.lines().next()?.split("version ").nth(1)?;
    rest.split(['.', ' ']).next()?.parse().ok()
}

pub fn check_rust_target(root: &Path, arch: Arch) -> Result<(), String> {
    let triple = arch.target_triple();
    let sysroot = rustc_print(root, "sysroot").ok_or("rustc not found: install the pinned toolchain (rustup)")?;
    if Path::new(&sysroot).join("lib/rustlib").join(triple).is_dir() {
        Ok(())
    } else {
        Err(format!("Rust target {triple} is not installed: run scripts/setup.sh (or `rustup target add {triple}`)"))
    }
}

pub fn check_gdb() -> Result<(), String> {
    match Command::new("gdb-multiarch").arg("--version").output() {
        Ok(output) if output.status.success() => Ok(()),
        _ => Err("gdb-multiarch not found: run scripts/setup.sh".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_qemu_major_version() {
        assert_eq!(qemu_major("QEMU emulator version 10.0.2 (Debian 1:10.0.2+ds-1~bpo12+1)\nCopyright"), Some(10));
        assert_eq!(qemu_major("QEMU emulator version 7.2.15 (Debian 1:7.2+dfsg-7+deb12u12)"), Some(7));
        assert_eq!(qemu_major("something else"), None);
    }
}
