//! The `mm` context: the one value a kernel keeps in a `static`, split by
//! concern so that each part says who may touch it:
//! - the kernel's address space ([`KernelSpace`]: table roots, layout,
//!   vmalloc area), read by every operation;
//! - the page allocator ([`PageAlloc`]: frames and debug_pagealloc);
//! - the lazy state (`cpus`, `tasks`, `scheduler`), the lazy layer's own;
//! - the test instrumentation ([`Instrumentation`]: flavour and nesting
//!   policy, injected bugs, sanitizer, counters), which a Linux kernel
//!   would not have and a case sets between runs.
//!
//! Every method takes `&self` so interrupt handlers and other CPUs can use
//! the context too. The lazy layer, page allocation, `apply_to_page_range`
//! and vmap add their methods in their own modules.

mod instrument;
mod space;

pub(crate) use instrument::Instrumentation;
pub(crate) use space::KernelSpace;

use crate::frame::FrameAllocator;
use crate::layout::KernelLayout;
use crate::lazy::state::CpuLazy;
use crate::lazy::task::{TaskLazy, MAX_TASKS};
use crate::lazy::Scheduler;
use crate::mmu::{Mmu, MAX_CPUS};
use crate::pagealloc::PageAlloc;
use crate::pgtable::Roots;

/// Whether a checker or debug mode is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Switch {
    On,
    Off,
}

/// The kernel's memory-management state over the MMU `M`.
pub struct Mm<'a, M: Mmu + ?Sized> {
    pub(crate) mmu: &'a M,
    pub(crate) space: KernelSpace,
    pub(crate) pages: PageAlloc<'a>,
    /// Each CPU's arch state; locked before any task's.
    pub(crate) cpus: [spin::Mutex<CpuLazy>; MAX_CPUS],
    /// Each task's lazy state (v7.0 keeps it in `task_struct`).
    pub(crate) tasks: [spin::Mutex<TaskLazy>; MAX_TASKS],
    pub(crate) scheduler: spin::Mutex<Option<&'static dyn Scheduler>>,
    pub(crate) instr: Instrumentation,
}

impl<'a, M: Mmu + ?Sized> Mm<'a, M> {
    /// A context over existing tables (`roots`, built with
    /// [`PageTables`](crate::PageTables)) and the kernel's layout. Starts
    /// with flavour `none`, the counter nesting policy, the sanitizer on and
    /// debug_pagealloc off.
    pub fn new(mmu: &'a M, frames: &'a spin::Mutex<FrameAllocator>, roots: Roots, layout: KernelLayout) -> Self {
        Mm {
            mmu,
            space: KernelSpace::new(roots, layout),
            pages: PageAlloc::new(frames),
            cpus: core::array::from_fn(|cpu| spin::Mutex::new(CpuLazy::new(cpu))),
            tasks: core::array::from_fn(|_| spin::Mutex::new(TaskLazy::new())),
            scheduler: spin::Mutex::new(None),
            instr: Instrumentation::new(),
        }
    }
}
