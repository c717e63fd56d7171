//! Boot protocol adapters. Each one brings the CPU from the protocol's entry
//! state to 64-bit code on a stack with an identity map of RAM, fills one
//! [`BootInfo`] and calls the kernel's `kernel_main(&'static BootInfo) -> !`.
#![no_std]

mod info;
pub use info::{BootInfo, MemoryRegion, CMDLINE_MAX, MAX_REGIONS};

#[cfg(target_arch = "x86_64")]
pub mod long_mode;

#[cfg(all(target_arch = "x86_64", not(feature = "limine")))]
mod pvh;

#[cfg(all(target_arch = "aarch64", not(feature = "limine")))]
mod linux_image;

#[cfg(feature = "limine")]
mod limine_boot;

extern "Rust" {
    /// The portable kernel entry, defined by the kernel binary.
    fn kernel_main(info: &'static BootInfo) -> !;
}
