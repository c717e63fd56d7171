//! `--boot limine`: the kernel built with `--features limine`, put on a
//! bootable ISO with a Limine 8.x binary release (`LIMINE_DIR`, by
//! `boot/limine/make-image.sh`, which also serves `make iso`), and booted
//! through firmware: OVMF (UEFI) or SeaBIOS (BIOS) on x86_64, AAVMF on
//! arm64. The kernel command line travels in the image's `limine.conf`.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::args::{Arch, Firmware, Options};
use crate::children;

/// OVMF: the code is read-only, the variable store is copied per run.
const OVMF_CODE: &str = "/usr/share/OVMF/OVMF_CODE.fd";
const OVMF_VARS: &str = "/usr/share/OVMF/OVMF_VARS.fd";
/// The arm64 UEFI firmware, in the order looked for.
const AAVMF_CANDIDATES: [&str; 2] = ["/usr/share/qemu-efi-aarch64/QEMU_EFI.fd", "/usr/share/AAVMF/AAVMF_CODE.fd"];
const FIRMWARE_FIX: &str = "run scripts/setup.sh (it installs ovmf and qemu-efi-aarch64)";

/// UEFI start-up under TCG takes seconds before the kernel's first byte
/// (docs/tcg.md, "Timing": OVMF 3.2 s, AAVMF 6.1 s on an idle host; three times
/// that measured with the other core busy), on top of the usual limit.
const UEFI_RUN_TIMEOUT_EXTRA_S: u64 = 60;
/// Guest RAM for UEFI runs: with the usual 64 MiB, Limine on OVMF runs out
/// of memory building its map and AAVMF faults (both measured); 128 MiB
/// works for both.
const UEFI_MIN_MEMORY: &str = "128M";
const UEFI_MIN_MEMORY_MIB: u64 = 128;

/// Where make-image.sh keeps the `limine` host tool it builds (shared by
/// runs: it depends only on the Limine release).
const TOOL_DIR_VARIABLE: &str = "LIMINE_TOOL_DIR";

/// What a Limine run boots instead of `-kernel`.
pub struct LimineBoot {
    firmware: Firmware,
    iso: PathBuf,
    /// x86_64 UEFI: the per-run copy of OVMF's variable store.
    ovmf_vars: Option<PathBuf>,
    /// arm64: the firmware image for `-bios`.
    aavmf: Option<PathBuf>,
}

/// The firmware a run uses: `--firmware`, else UEFI (the only choice on
/// arm64).
pub fn firmware(options: &Options) -> Result<Firmware, String> {
    match (options.arch, options.firmware) {
        (Arch::Aarch64, Some(Firmware::Bios)) => {
            Err("--firmware bios: arm64 has no BIOS; Limine boots it on UEFI (AAVMF)".to_string())
        }
        (_, firmware) => Ok(firmware.unwrap_or(Firmware::Uefi)),
    }
}

/// The whole-run limit: as for direct boot, plus the firmware's start-up
/// on UEFI unless `--run-timeout` says otherwise.
pub fn run_timeout_s(options: &Options, firmware: Firmware) -> Option<u64> {
    let limit = options.effective_run_timeout_s()?;
    let extra =
        if options.run_timeout_s.is_none() && firmware == Firmware::Uefi { UEFI_RUN_TIMEOUT_EXTRA_S } else { 0 };
    Some(limit + extra)
}

/// Checks the firmware, builds the ISO in `run_dir` (this run's own
/// directory: concurrent runs must not share an image or a variable store)
/// and readies the per-run files; every error says what to provide (runner
/// exit 4). Limine's host tool is built once into `tool_dir`.
pub fn prepare(
    root: &Path,
    arch: Arch,
    firmware: Firmware,
    elf: &Path,
    cmdline: &str,
    run_dir: &Path,
    tool_dir: &Path,
) -> Result<LimineBoot, String> {
    let aavmf =
        match arch {
            Arch::Aarch64 => {
                Some(AAVMF_CANDIDATES.iter().map(PathBuf::from).find(|path| path.is_file()).ok_or_else(|| {
                    format!("no arm64 UEFI firmware ({}): {FIRMWARE_FIX}", AAVMF_CANDIDATES.join(" or "))
                })?)
            }
            Arch::X86_64 => None,
        };
    if arch == Arch::X86_64 && firmware == Firmware::Uefi {
        for file in [OVMF_CODE, OVMF_VARS] {
            if !Path::new(file).is_file() {
                return Err(format!("no OVMF firmware ({file}): {FIRMWARE_FIX}, or use --firmware bios"));
            }
        }
    }
    std::fs::create_dir_all(run_dir).map_err(|e| format!("cannot create {}: {e}", run_dir.display()))?;
    let iso = run_dir.join(format!("limine-{}.iso", arch.name()));
    let script = root.join("boot/limine/make-image.sh");
    let output = children::output(
        Command::new(&script).arg(arch.name()).arg(elf).arg(&iso).arg(cmdline).env(TOOL_DIR_VARIABLE, tool_dir),
        "building the Limine image",
    )
    .map_err(|stop| stop.to_string())?;
    if !output.status.success() {
        let message = String::from_utf8_lossy(&output.stderr);
        return Err(format!("building the Limine image failed:\n{}", message.trim_end()));
    }
    let ovmf_vars = if arch == Arch::X86_64 && firmware == Firmware::Uefi {
        let vars = run_dir.join("ovmf-vars.fd");
        std::fs::copy(OVMF_VARS, &vars).map_err(|e| format!("cannot copy {OVMF_VARS}: {e}"))?;
        Some(vars)
    } else {
        None
    };
    Ok(LimineBoot { firmware, iso, ovmf_vars, aavmf })
}

/// The direct-boot QEMU command turned into a firmware boot of the ISO:
/// `-kernel`/`-append` go (the command line is in the image), the image
/// and the firmware come in, UEFI gets at least `UEFI_MIN_MEMORY`. arm64
/// also needs `acpi=off`: with ACPI, its UEFI hands no device tree on, and
/// the kernel reads its devices from one.
pub fn qemu_command(direct: &[String], boot: &LimineBoot) -> Vec<String> {
    let mut args = Vec::with_capacity(direct.len() + 8);
    let mut words = direct.iter();
    while let Some(word) = words.next() {
        match word.as_str() {
            "-kernel" | "-append" => {
                words.next();
            }
            "-m" => {
                args.push(word.clone());
                if let Some(size) = words.next() {
                    let too_small = size
                        .strip_suffix('M')
                        .and_then(|mib| mib.parse::<u64>().ok())
                        .is_some_and(|mib| mib < UEFI_MIN_MEMORY_MIB);
                    let uefi = boot.firmware == Firmware::Uefi;
                    args.push(if uefi && too_small { UEFI_MIN_MEMORY.to_string() } else { size.clone() });
                }
            }
            machine if machine.starts_with("virt,") => args.push(format!("{machine},acpi=off")),
            _ => args.push(word.clone()),
        }
    }
    let iso = boot.iso.display();
    if let Some(aavmf) = &boot.aavmf {
        args.extend(["-bios".to_string(), aavmf.display().to_string()]);
        // virt has no IDE controller for -cdrom: a SCSI CD-ROM instead.
        args.extend([
            "-drive".to_string(),
            format!("if=none,id=limine-cd,format=raw,media=cdrom,readonly=on,file={iso}"),
            "-device".to_string(),
            "virtio-scsi-pci".to_string(),
            "-device".to_string(),
            "scsi-cd,drive=limine-cd".to_string(),
        ]);
        return args;
    }
    if let (Firmware::Uefi, Some(vars)) = (boot.firmware, &boot.ovmf_vars) {
        args.extend([
            "-drive".to_string(),
            format!("if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}"),
            "-drive".to_string(),
            format!("if=pflash,format=raw,unit=1,file={}", vars.display()),
        ]);
    }
    args.extend(["-cdrom".to_string(), iso.to_string()]);
    args
}

/// Firmware draws on the serial console too (OVMF and AAVMF clear the
/// screen and move the cursor with ANSI sequences, sometimes on the line
/// the kernel's first output shares): drop the control sequences, so the
/// KTAP parser sees the kernel's text.
pub fn clean_serial_line(line: &str) -> Cow<'_, str> {
    if !line.contains('\u{1b}') {
        return Cow::Borrowed(line);
    }
    let mut clean = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            clean.push(c);
            continue;
        }
        // CSI: ESC '[' parameters/intermediates, ended by a byte in @..~.
        if chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) {
                    break;
                }
            }
        } else {
            // A two-character escape (ESC and one more).
            chars.next();
        }
    }
    Cow::Owned(clean)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::DEFAULT_RUN_TIMEOUT_S;

    fn words(line: &str) -> Vec<String> {
        line.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn firmware_sequences_are_dropped_and_the_text_kept() {
        let line = "\u{1b}[2J\u{1b}[01;01H\u{1b}[=3h\u{1b}[01;01HKTAP version 1";
        assert_eq!(clean_serial_line(line), "KTAP version 1");
        assert!(matches!(clean_serial_line("ok 1 boot"), Cow::Borrowed("ok 1 boot")));
    }

    #[test]
    fn x86_64_uefi_boots_the_iso_with_ovmf_and_drops_kernel_and_append() {
        let boot = LimineBoot {
            firmware: Firmware::Uefi,
            iso: PathBuf::from("/t/limine-x86_64.iso"),
            ovmf_vars: Some(PathBuf::from("/t/ovmf-vars.fd")),
            aavmf: None,
        };
        let direct =
            words("qemu-system-x86_64 -machine q35 -m 64M -serial stdio -kernel /k/lazymmu -append filter=boot.*");
        assert_eq!(
            qemu_command(&direct, &boot).join(" "),
            "qemu-system-x86_64 -machine q35 -m 128M -serial stdio \
             -drive if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE.fd \
             -drive if=pflash,format=raw,unit=1,file=/t/ovmf-vars.fd -cdrom /t/limine-x86_64.iso"
        );
    }

    #[test]
    fn x86_64_bios_is_seabios_with_the_iso() {
        let boot =
            LimineBoot { firmware: Firmware::Bios, iso: PathBuf::from("/t/l.iso"), ovmf_vars: None, aavmf: None };
        let direct = words("qemu-system-x86_64 -machine q35 -m 64M -kernel /k/lazymmu -append x");
        assert_eq!(qemu_command(&direct, &boot).join(" "), "qemu-system-x86_64 -machine q35 -m 64M -cdrom /t/l.iso");
    }

    #[test]
    fn arm64_turns_acpi_off_and_uses_a_scsi_cdrom() {
        let boot = LimineBoot {
            firmware: Firmware::Uefi,
            iso: PathBuf::from("/t/l.iso"),
            ovmf_vars: None,
            aavmf: Some(PathBuf::from("/fw/QEMU_EFI.fd")),
        };
        let direct = words("qemu-system-aarch64 -M virt,gic-version=3 -kernel /k/Image -append x");
        let command = qemu_command(&direct, &boot).join(" ");
        assert!(command.starts_with("qemu-system-aarch64 -M virt,gic-version=3,acpi=off -bios /fw/QEMU_EFI.fd"));
        assert!(command.contains("file=/t/l.iso") && command.ends_with("scsi-cd,drive=limine-cd"));
        assert!(!command.contains("-kernel") && !command.contains("-append"));
    }

    #[test]
    fn arm64_has_no_bios_and_uefi_gets_more_time() {
        let arm64 = Options { arch: Arch::Aarch64, firmware: Some(Firmware::Bios), ..Options::default() };
        assert!(firmware(&arm64).is_err());
        let x86 = Options::default();
        assert_eq!(firmware(&x86), Ok(Firmware::Uefi));
        assert_eq!(run_timeout_s(&x86, Firmware::Uefi), Some(DEFAULT_RUN_TIMEOUT_S + UEFI_RUN_TIMEOUT_EXTRA_S));
        assert_eq!(run_timeout_s(&x86, Firmware::Bios), Some(DEFAULT_RUN_TIMEOUT_S));
        let explicit = Options { run_timeout_s: Some(300), ..Options::default() };
        assert_eq!(run_timeout_s(&explicit, Firmware::Uefi), Some(300));
    }
}
