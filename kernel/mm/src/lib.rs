//! The lazymmu mm core: everything the scenarios are about, free of arch and
//! test details. Hardware is reached only through the [`mmu::Mmu`] trait; the
//! kernel implements it with real instructions, the host tests with a model.
#![cfg_attr(not(test), no_std)]

pub mod addr;
pub mod fault;

pub use addr::{Pfn, PhysAddr, VirtAddr, PAGE_SIZE};
pub use fault::{Access, Fault, FaultKind};
