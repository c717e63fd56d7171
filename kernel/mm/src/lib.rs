//! The lazymmu mm core: everything the scenarios are about, free of arch and
//! test details. Hardware is reached only through the [`mmu::Mmu`] trait; the
//! kernel implements it with real instructions, the host tests with a model.
#![cfg_attr(not(any(test, feature = "model")), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod addr;
pub mod apply;
mod context;
pub mod fault;
pub mod frame;
pub mod layout;
pub mod lazy;
pub mod mmu;
#[cfg(any(test, feature = "model"))]
pub mod model;
mod pagealloc;
pub mod pgtable;
pub mod pte;
pub mod tlb;
pub mod vmalloc;
pub mod vmap;

#[cfg(test)]
mod pressure_tests;
#[cfg(test)]
mod test_mmu;

pub use addr::{AddrError, FaultAddr, Pfn, PhysAddr, VirtAddr, PAGE_SIZE};
pub use apply::{ApplyError, Lazy, PteRef};
pub use context::{Mm, Switch};
pub use fault::{Access, Fault, FaultKind};
pub use frame::{AllocError, FrameAllocator, FrameSource, FrameStats};
pub use layout::KernelLayout;
pub use lazy::{
    Flavour, InjectedBug, IrqExitView, LazyCounters, NestingPolicy, PreemptPoint, Report, Rule, Scheduler, Site, TaskId,
};
pub use mmu::{Barrier, FlushStep, Mmu, PteFormat, PteWrite, RootHalf, TlbScope, TlbiTarget, FLUSH_SEQUENCE, MAX_CPUS};
pub use pgtable::{MapError, PageTables, Roots, Walk};
pub use pte::{Described, Entry, Level, MemType, Prot, PteValue};
pub use tlb::TlbFlush;
pub use vmalloc::VmallocError;
pub use vmap::VmapError;
