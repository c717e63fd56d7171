//! Per-task lazy-MMU state, as Linux v7.0 keeps it in `task_struct`
//! (`struct lazy_mmu_state { u8 enable_count; u8 pause_count; }`), apart
//! from each flavour's per-CPU arch state ([`CpuLazy`](super::state::CpuLazy)).
//! arm64's pending barrier (TIF_LAZY_MMU_PENDING) is a thread flag, so it
//! travels with the task here too.

use core::panic::Location;

use crate::mmu::MAX_CPUS;

/// Tasks the lazy layer keeps state for: each CPU's boot task, then one
/// more per CPU for the scheduler's second task.
pub const MAX_TASKS: usize = 2 * MAX_CPUS;

/// A task, by index into the lazy layer's task table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TaskId(u8);

impl TaskId {
    /// The task CPU `cpu` runs until a scheduler switches it.
    pub const fn boot(cpu: usize) -> TaskId {
        assert!(cpu < MAX_CPUS);
        TaskId(cpu as u8)
    }

    /// The second task of CPU `cpu`, the one a scheduler switches to.
    pub const fn second(cpu: usize) -> TaskId {
        assert!(cpu < MAX_CPUS);
        TaskId((MAX_CPUS + cpu) as u8)
    }

    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

impl core::fmt::Display for TaskId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "task{}", self.0)
    }
}

/// One task's lazy-MMU state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TaskLazy {
    /// Nested enables; 0 or 1 under the permissive flag policy; under the
    /// strict one, rejected nested enables count too.
    pub(crate) enable_count: u8,
    /// Nested pauses; every enable / disable / pause / resume made while it
    /// is above 0 does nothing but count pauses.
    pub(crate) pause_count: u8,
    /// Where the outermost enable of the current section was called.
    pub(crate) entered_at: Option<&'static Location<'static>>,
    /// arm64: a kernel PTE was stored and its `dsb ishst; isb` is owed.
    pub(crate) barrier_pending: bool,
}

impl TaskLazy {
    pub(crate) const fn new() -> Self {
        TaskLazy { enable_count: 0, pause_count: 0, entered_at: None, barrier_pending: false }
    }

    /// Linux's `__task_lazy_mmu_mode_active(tsk)`.
    pub(crate) const fn is_active(&self) -> bool {
        self.enable_count > 0 && self.pause_count == 0
    }

    pub(crate) const fn is_quiescent(&self) -> bool {
        self.enable_count == 0 && self.pause_count == 0 && !self.barrier_pending
    }
}
