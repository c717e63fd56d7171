//! The lazy-MMU scenarios (docs/scenarios.md), written once as `fn(order)` and run
//! on the real MMU (QEMU, through the kernel's [`Env`]) and on the host model
//! (`cargo test`, through the model's). No asm, no arch `cfg`: what differs
//! by arch or flavour is data in each case's plan.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

mod env;
mod hooks;
pub mod sched;
mod scratch;
pub mod support;

mod apply_range;
mod flush_order;
mod lazy_batch;
mod nesting;
mod upstream;

pub use env::{Env, EnvRef, HeldReads, KernelMm, SwitchFn};
pub use hooks::{finish_case, prepare_case};

/// Keeps this crate's registered cases in the final link: the kernel calls
/// it once, so the linker cannot drop the object that holds them.
pub fn link_cases() -> usize {
    ktest::cases().len()
}
