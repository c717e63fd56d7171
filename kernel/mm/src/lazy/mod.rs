//! Lazy MMU mode: sections in which a flavour may defer PTE writes, barriers
//! and TLB flushes until leave or flush. Both APIs are provided, the seed's
//! `arch_enter/leave/flush_lazy_mmu_mode` and Linux v7.0's
//! `lazy_mmu_mode_enable/disable/pause/resume`, over one state per task
//! (the counts, arm64's pending barrier) and one per CPU (the arch mode, the
//! queue or batch, preemption), as docs/lazy-mmu-v7.md describes.
//!
//! Contract (Linux `include/linux/pgtable.h`): inside a section, no
//! sleeping, no page allocation and no TLB flush that relies on the updates
//! having landed. Interrupt context is
//! never lazy: every mode call there is a no-op and updates happen at once
//! (arm64 b81c688426a9). The interrupt path takes no per-CPU lock, so a
//! handler can update PTEs while its task is in the middle of a section.

mod barriers;
mod clean;
pub(crate) mod counters;
pub mod flavour;
mod mode;
pub(crate) mod sanitizer;
pub(crate) mod state;
mod switch;
pub(crate) mod task;
mod update;

#[cfg(test)]
mod tests;

pub use counters::LazyCounters;
pub use flavour::{Flavour, InjectedBug, NestingPolicy};
pub use mode::LazyState;
pub use sanitizer::{Report, ReportDetail, Rule, Site, MAX_REPORTS};
pub use state::{ArchOp, BATCH_CAPACITY_MAX, DEFAULT_BATCH_CAPACITY, DEFAULT_QUEUE_CAPACITY, QUEUE_CAPACITY_MAX};
pub use switch::{IrqExitView, PreemptPoint, Scheduler};
pub use task::{TaskId, MAX_TASKS};
