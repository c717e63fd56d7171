//! One CPU's lazy-MMU arch state: which task runs, whether the arch-level
//! mode is on (Xen's per-CPU `xen_lazy_mode`, powerpc's `batch->active`),
//! the preemption count, and the work a flavour has deferred (queue of PTE
//! writes and flushes, batch of invalidations). The nesting counts are the
//! task's ([`TaskLazy`](super::task::TaskLazy)). Fixed capacity, so
//! deferring never allocates.

use super::task::TaskId;
use crate::addr::{PhysAddr, VirtAddr};
use crate::mmu::TlbScope;
use crate::pte::PteValue;

/// Largest queue (queued, deferred-pte) a CPU can hold; Xen's multicall
/// batch is 32.
pub const QUEUE_CAPACITY_MAX: usize = 64;
/// Largest invalidation batch (tlb-batch); powerpc's is 192, the default
/// here is small so tests can overflow it.
pub const BATCH_CAPACITY_MAX: usize = 64;
pub const DEFAULT_QUEUE_CAPACITY: usize = 32;
pub const DEFAULT_BATCH_CAPACITY: usize = 16;
/// Arch-level transitions remembered per CPU for [`ArchOp`] traces.
const TRACE_LEN: usize = 32;

/// An arch-level transition, as the nesting scenarios check them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArchOp {
    Enter,
    Leave,
    Flush,
}

/// Work a queueing flavour holds until a drain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum QueuedOp {
    Write { ptep: PhysAddr, value: PteValue },
    FlushPage { va: VirtAddr, scope: TlbScope },
    FlushAll { scope: TlbScope },
}

pub(crate) struct CpuLazy {
    /// The task this CPU runs (Linux's `current`).
    pub(crate) current: TaskId,
    /// The arch-level mode is on on this CPU: normally the current task's
    /// `enable_count > 0 && pause_count == 0`.
    pub(crate) active: bool,
    /// Xen's per-CPU `xen_lazy_nesting` under
    /// [`InjectedBug::XenPerCpuNesting`](super::InjectedBug::XenPerCpuNesting):
    /// arch enters made while already entered, each undone by one leave.
    pub(crate) arch_nesting: u8,
    /// `preempt_disable()` depth: a preemption point is not taken above 0.
    pub(crate) preempt_count: u32,
    /// tlb-batch: the arch enter disabled preemption, the leave re-enables.
    pub(crate) section_preempt_off: bool,
    queue: [QueuedOp; QUEUE_CAPACITY_MAX],
    queue_len: usize,
    batch: [(VirtAddr, TlbScope); BATCH_CAPACITY_MAX],
    batch_len: usize,
    /// tlb-batch: a full flush was batched, which covers every page entry.
    batch_flush_all: Option<TlbScope>,
    trace: [ArchOp; TRACE_LEN],
    trace_len: usize,
}

impl CpuLazy {
    pub(crate) const fn new(cpu: usize) -> Self {
        CpuLazy {
            current: TaskId::boot(cpu),
            active: false,
            arch_nesting: 0,
            preempt_count: 0,
            section_preempt_off: false,
            queue: [QueuedOp::FlushAll { scope: TlbScope::Local }; QUEUE_CAPACITY_MAX],
            queue_len: 0,
            batch: [(VirtAddr::new(0), TlbScope::Local); BATCH_CAPACITY_MAX],
            batch_len: 0,
            batch_flush_all: None,
            trace: [ArchOp::Enter; TRACE_LEN],
            trace_len: 0,
        }
    }

    pub(crate) fn has_pending(&self) -> bool {
        self.queue_len > 0 || self.batch_len > 0 || self.batch_flush_all.is_some()
    }

    pub(crate) fn is_quiescent(&self) -> bool {
        !self.active && self.arch_nesting == 0 && self.preempt_count == 0 && !self.has_pending()
    }

    pub(crate) fn queue_len(&self) -> usize {
        self.queue_len
    }

    pub(crate) fn queued_writes(&self) -> usize {
        self.queue[..self.queue_len].iter().filter(|op| matches!(op, QueuedOp::Write { .. })).count()
    }

    /// The value the last queued write to `ptep` will store, if any.
    pub(crate) fn latest_queued_value(&self, ptep: PhysAddr) -> Option<PteValue> {
        self.queue[..self.queue_len].iter().rev().find_map(|op| match *op {
            QueuedOp::Write { ptep: p, value } if p == ptep => Some(value),
            _ => None,
        })
    }

    /// Appends `op`; the caller has made room.
    pub(crate) fn push_queue(&mut self, op: QueuedOp) {
        self.queue[self.queue_len] = op;
        self.queue_len += 1;
    }

    /// Takes the queue out, oldest first.
    pub(crate) fn take_queue(&mut self) -> ([QueuedOp; QUEUE_CAPACITY_MAX], usize) {
        (self.queue, core::mem::replace(&mut self.queue_len, 0))
    }

    pub(crate) fn batch_len(&self) -> usize {
        self.batch_len
    }

    /// Adds a page invalidation to the batch; the caller has made room. A
    /// batched full flush already covers it.
    pub(crate) fn push_batch(&mut self, va: VirtAddr, scope: TlbScope) {
        if let Some(all_scope) = self.batch_flush_all {
            self.batch_flush_all = Some(wider(all_scope, scope));
            return;
        }
        self.batch[self.batch_len] = (va.page_down(), scope);
        self.batch_len += 1;
    }

    pub(crate) fn batch_flush_all(&mut self, scope: TlbScope) {
        let widest = self.batch[..self.batch_len].iter().fold(scope, |acc, &(_, s)| wider(acc, s));
        self.batch_flush_all = Some(self.batch_flush_all.map_or(widest, |s| wider(s, widest)));
        self.batch_len = 0;
    }

    /// Takes the batch out: one full flush, or else the page entries.
    pub(crate) fn take_batch(&mut self) -> BatchDrain {
        BatchDrain {
            flush_all: self.batch_flush_all.take(),
            pages: self.batch,
            len: core::mem::replace(&mut self.batch_len, 0),
        }
    }

    pub(crate) fn record(&mut self, op: ArchOp) {
        if self.trace_len < TRACE_LEN {
            self.trace[self.trace_len] = op;
            self.trace_len += 1;
        }
    }

    pub(crate) fn take_trace(&mut self) -> ([ArchOp; TRACE_LEN], usize) {
        (self.trace, core::mem::replace(&mut self.trace_len, 0))
    }
}

/// A taken batch; `pages[..len]` only counts when `flush_all` is `None`.
pub(crate) struct BatchDrain {
    pub(crate) flush_all: Option<TlbScope>,
    pub(crate) pages: [(VirtAddr, TlbScope); BATCH_CAPACITY_MAX],
    pub(crate) len: usize,
}

const fn wider(a: TlbScope, b: TlbScope) -> TlbScope {
    match (a, b) {
        (TlbScope::Local, TlbScope::Local) => TlbScope::Local,
        _ => TlbScope::Broadcast,
    }
}
