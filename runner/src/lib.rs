//! The lazymmu host runner as a library: argument parsing, the KTAP parser,
//! the exit-code decision, the report writers and the run itself are here
//! so that host tests can reach them; `main.rs` only dispatches.

pub mod args;
pub mod arm64_code;
pub mod bench;
pub mod children;
pub mod display;
pub mod interrupt;
pub mod kernel_build;
pub mod kernel_check;
pub mod ktap;
pub mod limine;
pub mod outcome;
pub mod parse_log;
pub mod paths;
pub mod preflight;
pub mod printout;
pub mod qemu;
pub mod repeat;
pub mod report;
pub mod serial_log;
pub mod session;
pub mod symbols;
pub mod verdict;
