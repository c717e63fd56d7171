//! Picks the linker script for the target arch and boot protocol.
fn main() {
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let protocol = if std::env::var_os("CARGO_FEATURE_LIMINE").is_some() { "limine" } else { "direct" };
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../boot/ld");
    let script = dir.join(format!("{arch}-{protocol}.ld"));
    if arch == "x86_64" || arch == "aarch64" {
        println!("cargo:rustc-link-arg-bins=-T{}", script.display());
        println!("cargo:rerun-if-changed={}", script.display());
    }
}
