//! Is this file a kernel this run can boot? Checked before QEMU starts, so
//! that random bytes or the other arch's ELF are a set-up error naming the
//! file (exit 4) instead of a guest that never prints and a run timeout.
//! The checks follow how the project boots: x86_64 direct boot needs an
//! x86_64 ELF with a PVH entry note (`boot/src/pvh.rs`); arm64 direct boot
//! takes an aarch64 ELF (turned into an Image) or the raw Image with the
//! arm64 Linux header (`boot/src/linux_image.rs`); Limine loads an ELF of
//! the arch at its entry point.

use std::path::Path;

use object::elf::{FileHeader64, PT_LOAD, PT_NOTE};
use object::read::elf::{FileHeader, ProgramHeader};
use object::Endianness;

use crate::args::{Arch, Boot};

/// What a checked kernel file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KernelFile {
    Elf,
    /// A raw arm64 `Image` (arm64 direct boot only).
    Arm64Image,
}

/// `XEN_ELFNOTE_PHYS32_ENTRY`, owner "Xen": the 32-bit entry QEMU's PVH
/// loader jumps to.
const PVH_NOTE_TYPE: u32 = 18;
const PVH_NOTE_OWNER: &[u8] = b"Xen";
/// The arm64 Linux boot header's magic, "ARM\x64", and where it sits.
const ARM64_IMAGE_MAGIC: &[u8; 4] = b"ARM\x64";
const ARM64_MAGIC_OFFSET: usize = 0x38;
const ARM64_HEADER_LEN: usize = 64;

pub fn check(path: &Path, arch: Arch, boot: Boot) -> Result<KernelFile, String> {
    let data = std::fs::read(path).map_err(|e| format!("cannot read the kernel {}: {e}", path.display()))?;
    let problem = |why: String| format!("{} is not a kernel this run can boot: {why}", path.display());
    if data.starts_with(b"\x7fELF") {
        check_elf(&data, arch, boot).map_err(problem)?;
        return Ok(KernelFile::Elf);
    }
    match (arch, boot) {
        (Arch::Aarch64, Boot::Direct) => {
            check_arm64_image(&data).map_err(|why| problem(format!("not an ELF, and {why}")))?;
            Ok(KernelFile::Arm64Image)
        }
        _ => Err(problem("not an ELF file (no \\x7fELF magic)".to_string())),
    }
}

/// The arm64 Image header this project's kernel carries.
pub fn check_arm64_image(data: &[u8]) -> Result<(), String> {
    if data.len() < ARM64_HEADER_LEN {
        return Err(format!("{} bytes is too short for an arm64 Image header", data.len()));
    }
    if &data[ARM64_MAGIC_OFFSET..ARM64_MAGIC_OFFSET + 4] != ARM64_IMAGE_MAGIC {
        return Err("not an arm64 Image (no `ARM\\x64` magic at offset 0x38)".to_string());
    }
    Ok(())
}

fn check_elf(data: &[u8], arch: Arch, boot: Boot) -> Result<(), String> {
    if data.get(4) != Some(&2) {
        return Err("a 32-bit ELF; lazymmu kernels are 64-bit".to_string());
    }
    let header = FileHeader64::<Endianness>::parse(data).map_err(|e| format!("a damaged ELF header ({e})"))?;
    let endian = header.endian().map_err(|e| format!("a damaged ELF header ({e})"))?;
    let machine = header.e_machine(endian);
    if machine != elf_machine(arch) {
        return Err(format!(
            "an ELF for {}, and --arch {} needs one for {}",
            machine_name(machine),
            arch.name(),
            arch.name()
        ));
    }
    let segments = header.program_headers(endian, data).map_err(|e| format!("damaged ELF program headers ({e})"))?;
    let entry = header.e_entry(endian);
    let entry_loaded = segments.iter().any(|segment| {
        let start = segment.p_vaddr(endian);
        segment.p_type(endian) == PT_LOAD && start <= entry && entry - start < segment.p_memsz(endian)
    });
    if !entry_loaded {
        return Err(format!("its entry point {entry:#x} is in no loadable segment"));
    }
    if arch == Arch::X86_64 && boot == Boot::Direct && !has_pvh_note(segments, endian, data) {
        return Err("no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY), which QEMU's direct boot needs \
                    (a kernel built for --boot limine has none)"
            .to_string());
    }
    Ok(())
}

fn has_pvh_note(segments: &[object::elf::ProgramHeader64<Endianness>], endian: Endianness, data: &[u8]) -> bool {
    segments.iter().filter(|segment| segment.p_type(endian) == PT_NOTE).any(|segment| {
        let Ok(Some(mut notes)) = segment.notes(endian, data) else {
            return false;
        };
        while let Ok(Some(note)) = notes.next() {
            if note.name() == PVH_NOTE_OWNER && note.n_type(endian) == PVH_NOTE_TYPE {
                return true;
            }
        }
        false
    })
}

fn elf_machine(arch: Arch) -> u16 {
    match arch {
        Arch::X86_64 => object::elf::EM_X86_64,
        Arch::Aarch64 => object::elf::EM_AARCH64,
    }
}

fn machine_name(machine: u16) -> String {
    match machine {
        object::elf::EM_X86_64 => "x86_64".to_string(),
        object::elf::EM_AARCH64 => "aarch64".to_string(),
        object::elf::EM_386 => "i386".to_string(),
        object::elf::EM_ARM => "32-bit arm".to_string(),
        object::elf::EM_RISCV => "riscv".to_string(),
        other => format!("machine {other}"),
    }
}

#[cfg(test)]
mod tests;
