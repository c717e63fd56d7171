//! The run timeout holds whatever QEMU does (closes its output, stops,
//! ignores SIGTERM, leaves a child behind); a file that is not a kernel for
//! the run is a set-up error naming it before QEMU starts; a broken Limine
//! release is refused before an image is built, and make-image.sh never
//! leaves a partial image.

mod common;

use std::fs;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::fake_elf::{fake_kernel, EM_AARCH64, EM_X86_64};
use common::*;

/// Runs with `--run-timeout 1` and checks it ends as a timeout in time.
fn times_out(scratch: &Scratch) {
    let clock = Instant::now();
    let output = scratch.run(&["--run-timeout", "1"]);
    assert_exit(&output, 3, "QEMU still running after --run-timeout 1 s");
    assert!(clock.elapsed() < Duration::from_secs(5), "took {:?}", clock.elapsed());
}

#[test]
fn the_timeout_holds_when_qemu_closes_its_output() {
    let scratch = Scratch::new("closed-pipes");
    scratch.qemu(QEMU_10, &format!("printf '{OPENING}'; exec sleep 30 >&- 2>&-"));
    times_out(&scratch);
}

#[test]
fn the_timeout_holds_when_qemu_is_stopped() {
    let scratch = Scratch::new("stopped");
    scratch.qemu(QEMU_10, &format!("printf '{OPENING}'; kill -STOP $$"));
    times_out(&scratch);
}

#[test]
fn the_timeout_ends_a_qemu_that_ignores_sigterm_and_its_children() {
    let scratch = Scratch::new("ignores-term");
    let grandchild = scratch.file("grandchild.pid");
    scratch.qemu(
        QEMU_10,
        &format!(
            "trap '' TERM; sleep 300 & echo $! > '{}'; printf '{OPENING}'; while :; do sleep 1; done",
            grandchild.display()
        ),
    );
    times_out(&scratch);
    let pid = pid_in(&grandchild);
    wait_for("the grandchild to end", Duration::from_secs(5), || !alive(&pid));
}

#[test]
fn a_file_that_is_not_a_kernel_for_the_run_is_named() {
    let scratch = Scratch::new("wrong-kernel");
    let started = scratch.file("qemu.started");
    let fake_qemu = format!(
        "if [ \"$1\" = --version ]; then echo '{QEMU_10}'; exit 0; fi\ntouch '{}'; sleep 30",
        started.display()
    );
    scratch.program("qemu-system-x86_64", &fake_qemu);
    scratch.program("qemu-system-aarch64", &fake_qemu);
    let noise: Vec<u8> = (0..8192u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect();
    let files = [
        ("noise.bin", noise.clone(), "x86_64", "not an ELF file"),
        ("noise.img", noise, "aarch64", "no `ARM\\x64` magic at offset 0x38"),
        (
            "arm64.elf",
            fake_kernel(EM_AARCH64, false),
            "x86_64",
            "an ELF for aarch64, and --arch x86_64 needs one for x86_64",
        ),
        ("x86.elf", fake_kernel(EM_X86_64, true), "aarch64", "an ELF for x86_64"),
        ("limine.elf", fake_kernel(EM_X86_64, false), "x86_64", "no PVH entry note"),
    ];
    for (name, bytes, arch, needle) in files {
        let path = scratch.file(name);
        fs::write(&path, bytes).expect("file");
        let path_s = path.display().to_string();
        let clock = Instant::now();
        let output = scratch
            .command(&scratch.path(), &["--arch", arch, "--kernel", &path_s, "--run-timeout", "20"])
            .output()
            .expect("runner");
        assert_exit(&output, 4, &format!("{path_s} is not a kernel this run can boot: "));
        assert_exit(&output, 4, needle);
        assert!(clock.elapsed() < Duration::from_secs(5) && !started.exists(), "{name}: QEMU started");
    }
}

/// A file that passes make-image.sh's check of `name`.
fn release_file(name: &str) -> Vec<u8> {
    let mut bytes = vec![0u8; 4096];
    match name {
        "BOOTX64.EFI" | "BOOTAA64.EFI" => {
            bytes[..2].copy_from_slice(b"MZ");
            bytes[0x3c..0x40].copy_from_slice(&0x80u32.to_le_bytes());
            bytes[0x80..0x84].copy_from_slice(b"PE\0\0");
            let machine: u16 = if name == "BOOTX64.EFI" { 0x8664 } else { 0xaa64 };
            bytes[0x84..0x86].copy_from_slice(&machine.to_le_bytes());
        }
        "limine-uefi-cd.bin" => bytes[510..512].copy_from_slice(&[0x55, 0xaa]),
        _ => {}
    }
    bytes
}

/// A Limine release with the right names; `broken` replaces that file's
/// content with a downloaded error page.
fn limine_release(scratch: &Scratch, broken: Option<&str>) -> std::path::PathBuf {
    let dir = scratch.file("limine");
    fs::create_dir_all(&dir).expect("release dir");
    for name in ["limine-bios.sys", "limine-bios-cd.bin", "limine-uefi-cd.bin", "BOOTX64.EFI", "BOOTAA64.EFI"] {
        let bytes = if broken == Some(name) { b"<html>404 Not Found</html>".to_vec() } else { release_file(name) };
        fs::write(dir.join(name), bytes).expect("release file");
    }
    fs::write(dir.join("limine.c"), "int main(void) { return 0; }\n").expect("limine.c");
    dir
}

fn make_image(scratch: &Scratch) -> Command {
    let script = scratch.workspace().join("boot/limine/make-image.sh");
    fs::create_dir_all(script.parent().expect("dir")).expect("boot/limine");
    for name in ["make-image.sh", "limine.conf"] {
        fs::copy(repository().join("boot/limine").join(name), script.with_file_name(name)).expect("copy");
    }
    let mut command = Command::new(&script);
    command.env("PATH", scratch.path()).stdin(Stdio::null());
    command
}

#[test]
fn a_broken_limine_release_is_refused_before_booting() {
    let scratch = Scratch::new("limine-broken");
    let started = scratch.file("qemu.started");
    scratch.qemu(QEMU_10, &format!("touch '{}'; sleep 30", started.display()));
    make_image(&scratch);
    for broken in ["limine-bios.sys", "limine-uefi-cd.bin", "BOOTX64.EFI"] {
        let release = limine_release(&scratch, Some(broken));
        let output = scratch
            .runner(&["--boot", "limine", "--firmware", "bios"])
            .env("LIMINE_DIR", &release)
            .output()
            .expect("runner");
        assert_exit(&output, 4, &format!("has a broken {broken}: "));
        assert!(!started.exists(), "QEMU started with a broken {broken}");
        let check =
            make_image(&scratch).args(["--check", "x86_64"]).env("LIMINE_DIR", &release).output().expect("check");
        assert_exit(&check, 4, &format!("has a broken {broken}: "));
    }
    let wrong_machine = limine_release(&scratch, None);
    fs::copy(wrong_machine.join("BOOTAA64.EFI"), wrong_machine.join("BOOTX64.EFI")).expect("swap");
    let check =
        make_image(&scratch).args(["--check", "x86_64"]).env("LIMINE_DIR", &wrong_machine).output().expect("check");
    assert_exit(&check, 4, "an EFI program for another machine than x86_64");
}

#[test]
fn make_image_leaves_no_partial_image() {
    let scratch = Scratch::new("partial-iso");
    let release = limine_release(&scratch, None);
    let kernel = scratch.file("kernel.elf");
    fs::write(&kernel, fake_kernel(EM_AARCH64, false)).expect("kernel");
    let iso = scratch.file("out/limine-aarch64.iso");
    // An xorriso that writes half an image, chatters, and fails.
    scratch.program(
        "xorriso",
        "out=''; prev=''; for a in \"$@\"; do [ \"$prev\" = -o ] && out=$a; prev=$a; done\n\
         head -c 100000 /dev/zero > \"$out\"\n\
         i=0; while [ $i -lt 50 ]; do echo \"xorriso : UPDATE : chatter $i\" >&2; i=$((i+1)); done\n\
         echo 'libisofs: FAILURE : Cannot write' >&2; exit 32",
    );
    let output =
        make_image(&scratch).arg("aarch64").arg(&kernel).arg(&iso).env("LIMINE_DIR", &release).output().expect("run");
    assert_exit(&output, 4, "make-image: xorriso failed to build");
    assert_exit(&output, 4, "libisofs: FAILURE : Cannot write");
    assert!(!text(&output).contains("chatter"), "only the problem lines:\n{}", text(&output));
    let left: Vec<_> =
        fs::read_dir(iso.parent().expect("out")).expect("out dir").flatten().map(|e| e.file_name()).collect();
    assert!(left.is_empty(), "left behind: {left:?}");

    // Ended by a signal half-way: nothing left either, and 128 + SIGTERM.
    scratch.program(
        "xorriso",
        "out=''; prev=''; for a in \"$@\"; do [ \"$prev\" = -o ] && out=$a; prev=$a; done\n\
         head -c 100000 /dev/zero > \"$out\"; echo started > \"$out.started\"; sleep 30",
    );
    let child = make_image(&scratch)
        .arg("aarch64")
        .arg(&kernel)
        .arg(&iso)
        .env("LIMINE_DIR", &release)
        .process_group(0)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("make-image");
    wait_for("xorriso to start writing", Duration::from_secs(10), || {
        fs::read_dir(iso.parent().expect("out"))
            .is_ok_and(|dir| dir.flatten().any(|e| e.file_name().to_string_lossy().ends_with(".started")))
    });
    for entry in fs::read_dir(iso.parent().expect("out")).expect("out dir").flatten() {
        if entry.file_name().to_string_lossy().ends_with(".started") {
            fs::remove_file(entry.path()).expect("marker");
        }
    }
    assert!(Command::new("kill").args(["-TERM", "--", &format!("-{}", child.id())]).status().expect("kill").success());
    let output = child.wait_with_output().expect("ends");
    assert_eq!(output.status.code(), Some(143), "{}", text(&output));
    let left: Vec<_> =
        fs::read_dir(iso.parent().expect("out")).expect("out dir").flatten().map(|e| e.file_name()).collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
