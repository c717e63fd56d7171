//! The kernel check against hand-made ELF files and Image headers.

use super::*;

#[path = "../../tests/common/fake_elf.rs"]
mod fake_elf;

use fake_elf::{fake_kernel, EM_AARCH64, EM_X86_64};

/// Tests run in parallel: each scratch file gets its own number.
static SCRATCH: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn check_bytes(bytes: &[u8], arch: Arch, boot: Boot) -> Result<KernelFile, String> {
    let number = SCRATCH.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let path = std::env::temp_dir().join(format!("lazymmu-kernel-check-{}-{number}", std::process::id()));
    std::fs::write(&path, bytes).expect("scratch file");
    let result = check(&path, arch, boot);
    let _ = std::fs::remove_file(&path);
    result
}

#[test]
fn a_pvh_elf_boots_directly_on_x86_64() {
    assert_eq!(check_bytes(&fake_kernel(EM_X86_64, true), Arch::X86_64, Boot::Direct), Ok(KernelFile::Elf));
    assert_eq!(check_bytes(&fake_kernel(EM_X86_64, false), Arch::X86_64, Boot::Limine), Ok(KernelFile::Elf));
    let error = check_bytes(&fake_kernel(EM_X86_64, false), Arch::X86_64, Boot::Direct).expect_err("no note");
    assert!(error.contains("no PVH entry note"), "{error}");
}

#[test]
fn the_other_arch_is_named() {
    let error = check_bytes(&fake_kernel(EM_AARCH64, false), Arch::X86_64, Boot::Direct).expect_err("arm64 ELF");
    assert!(error.ends_with("an ELF for aarch64, and --arch x86_64 needs one for x86_64"), "{error}");
    let error = check_bytes(&fake_kernel(EM_X86_64, true), Arch::Aarch64, Boot::Direct).expect_err("x86 ELF");
    assert!(error.contains("an ELF for x86_64"), "{error}");
    assert_eq!(check_bytes(&fake_kernel(EM_AARCH64, false), Arch::Aarch64, Boot::Direct), Ok(KernelFile::Elf));
}

#[test]
fn random_bytes_and_broken_headers() {
    let noise: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let error = check_bytes(&noise, Arch::X86_64, Boot::Direct).expect_err("noise");
    assert!(error.contains("not an ELF file"), "{error}");
    let error = check_bytes(&noise, Arch::Aarch64, Boot::Direct).expect_err("noise");
    assert!(error.contains("no `ARM\\x64` magic"), "{error}");
    let mut cut = fake_kernel(EM_X86_64, true);
    cut.truncate(80);
    let error = check_bytes(&cut, Arch::X86_64, Boot::Direct).expect_err("cut");
    assert!(error.contains("damaged ELF program headers"), "{error}");
    let mut elf32 = fake_kernel(EM_X86_64, true);
    elf32[4] = 1;
    assert!(check_bytes(&elf32, Arch::X86_64, Boot::Direct).expect_err("32-bit").contains("32-bit"));
}

#[test]
fn an_entry_outside_the_image_is_refused() {
    let mut elf = fake_kernel(EM_X86_64, true);
    elf[24..32].copy_from_slice(&0xdead_0000u64.to_le_bytes());
    let error = check_bytes(&elf, Arch::X86_64, Boot::Direct).expect_err("entry");
    assert!(error.contains("entry point 0xdead0000 is in no loadable segment"), "{error}");
}

#[test]
fn arm64_image_header() {
    let mut image = vec![0u8; 128];
    image[0x38..0x3c].copy_from_slice(b"ARM\x64");
    assert_eq!(check_bytes(&image, Arch::Aarch64, Boot::Direct), Ok(KernelFile::Arm64Image));
    assert!(check_bytes(&image, Arch::Aarch64, Boot::Limine).is_err(), "Limine loads an ELF");
    assert!(check_arm64_image(&image[..32]).expect_err("short").contains("too short"));
}
