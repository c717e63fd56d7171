//! The lazymmu host runner as a library: argument parsing, the KTAP parser,
//! the exit-code decision and the report writers are here so that host
//! tests can reach them; `main.rs` only wires them to cargo and QEMU.

pub mod args;
pub mod arm64_code;
pub mod bench;
pub mod display;
pub mod interrupt;
pub mod kernel_build;
pub mod ktap;
pub mod limine;
pub mod preflight;
pub mod qemu;
pub mod report;
pub mod symbols;
pub mod verdict;
