//! PTE updates and TLB flushes through the lazy layer. Each flavour decides
//! here what to do at once and what to defer; `drain` applies the deferred
//! work in program order at leave, flush, a full queue or batch, or a
//! context switch.

use core::panic::Location;

use super::counters::Event;
use super::mode::Here;
use super::sanitizer::{ReportDetail, Rule};
use super::state::{BatchDrain, CpuLazy, QueuedOp};
use super::switch::PreemptPoint;
use super::task::TaskLazy;
use super::{Flavour, InjectedBug};
use crate::addr::{PhysAddr, VirtAddr, PAGE_SIZE};
use crate::context::Mm;
use crate::mmu::{store_pte, Barrier, FlushStep, Mmu, PteFormat, TlbScope, TlbiTarget};
use crate::pgtable::PTE_BYTES;
use crate::pte::arm64::pgattr_change_is_safe;
use crate::pte::PteValue;
use crate::tlb::{TlbFlush, FLUSH_ALL_THRESHOLD_PAGES};

/// Scope of the invalidation tlb-batch issues for an overwritten
/// translation: kernel mappings are shared by every CPU.
const OLD_TRANSLATION_SCOPE: TlbScope = TlbScope::Broadcast;

impl<M: Mmu + ?Sized> Mm<'_, M> {
    /// Linux's `set_pte_at` for a kernel address: stores `value` at `ptep`,
    /// the entry that maps `va`. Inside a section the flavour may defer the
    /// store (queued, deferred-pte) or its barrier (arm64); outside one, or
    /// in interrupt context, the entry is in memory and visible to the
    /// walker on return. The TLB may still hold the old translation: the
    /// caller flushes (tlb-batch invalidates the old one itself).
    #[track_caller]
    pub fn set_pte_at(&self, va: VirtAddr, ptep: PhysAddr, value: PteValue) {
        let at = Location::caller();
        let cpu = self.mmu.cpu_id();
        let Some(mut here) = self.task_state(cpu).filter(|here| here.arch.active) else {
            return self.set_pte_now(cpu, va, ptep, value, at);
        };
        let old = here.arch.latest_queued_value(ptep).unwrap_or_else(|| self.ptep_get(ptep));
        self.check_break_before_make(cpu, va, old, value, at, here.task.entered_at);
        let deferred = match self.flavour() {
            Flavour::None => {
                self.store_and_publish(cpu, ptep, value);
                false
            }
            Flavour::Arm64 => {
                self.store(cpu, ptep, value);
                here.task.barrier_pending |= self.is_present(value);
                false
            }
            Flavour::Queued | Flavour::DeferredPte => {
                self.enqueue(cpu, &mut here.arch, QueuedOp::Write { ptep, value });
                true
            }
            Flavour::TlbBatch => {
                self.store_and_publish(cpu, ptep, value);
                let batched = self.is_present(old) && old != value;
                if batched {
                    self.batch(cpu, &mut here.arch, va, OLD_TRANSLATION_SCOPE);
                }
                batched
            }
        };
        drop(here);
        if deferred {
            self.mid_batch();
        }
    }

    /// Linux's generic `set_ptes()`: `nr` consecutive entries from `ptep`
    /// mapping consecutive frames from `value`'s. It relies on its caller's
    /// section (691ee97e1a9d); with [`InjectedBug::SetPtesEntersLazy`] it
    /// enters and leaves lazy mode itself, as before that fix.
    #[track_caller]
    pub fn set_ptes(&self, va: VirtAddr, ptep: PhysAddr, value: PteValue, nr: u64) {
        let enters_itself = self.is_bug_injected(InjectedBug::SetPtesEntersLazy);
        if enters_itself {
            self.arch_enter_lazy_mmu_mode();
        }
        for i in 0..nr {
            let advanced = PteValue(value.0 + i * PAGE_SIZE);
            self.set_pte_at(va.add(i * PAGE_SIZE), ptep.add(i * PTE_BYTES), advanced);
        }
        if enters_itself {
            self.arch_leave_lazy_mmu_mode();
        }
    }

    /// Linux's `pte_clear`: `set_pte_at` with the empty entry.
    #[track_caller]
    pub fn pte_clear(&self, va: VirtAddr, ptep: PhysAddr) {
        self.set_pte_at(va, ptep, PteValue::NONE);
    }

    /// Linux's `ptep_get`: the entry as it is in memory now. Under a
    /// deferring flavour this does not see the section's own queued writes
    /// (as on Xen PV): pause lazy mode to read back what you wrote.
    pub fn ptep_get(&self, ptep: PhysAddr) -> PteValue {
        PteValue(self.mmu.read_pte(ptep))
    }

    /// Invalidates `va`'s translation on the CPUs of `scope`.
    ///
    /// Deferred: inside a section, queued queues it behind the section's
    /// PTE writes and tlb-batch batches it, both until leave or flush;
    /// arm64 first issues the store barrier the section owes; deferred-pte
    /// flushes at once, before its queued writes (reported: it does not
    /// keep the ordering contract). Outside a section, or in interrupt
    /// context, it happens at once.
    ///
    /// On return, outside any section, no CPU of `scope` holds the old
    /// translation. Context: any, including interrupt context.
    #[track_caller]
    pub fn flush_tlb_page(&self, va: VirtAddr, scope: TlbScope) {
        self.flush_page_at(va, scope, Location::caller());
    }

    /// Linux's `flush_tlb_kernel_range`: invalidates the translations of
    /// `[start, end)` on the CPUs of `scope`, page by page up to
    /// [`FLUSH_ALL_THRESHOLD_PAGES`], one full flush past it. Deferred, on
    /// return and context as [`flush_tlb_page`](Self::flush_tlb_page).
    #[track_caller]
    pub fn flush_tlb_kernel_range(&self, start: VirtAddr, end: VirtAddr, scope: TlbScope) {
        let at = Location::caller();
        let start = start.page_down();
        let nr_pages = end.as_u64().saturating_sub(start.as_u64()).div_ceil(PAGE_SIZE);
        if nr_pages > FLUSH_ALL_THRESHOLD_PAGES {
            return self.flush_all_at(scope, at);
        }
        for page in 0..nr_pages {
            self.flush_page_at(start.add(page * PAGE_SIZE), scope, at);
        }
    }

    /// Invalidates every translation on the CPUs of `scope`. Deferred, on
    /// return and context as [`flush_tlb_page`](Self::flush_tlb_page).
    #[track_caller]
    pub fn flush_tlb_all(&self, scope: TlbScope) {
        self.flush_all_at(scope, Location::caller());
    }

    /// Applies a flush token through the lazy layer, as
    /// [`flush_tlb_kernel_range`](Self::flush_tlb_kernel_range).
    #[track_caller]
    pub fn flush_tlb(&self, flush: TlbFlush, scope: TlbScope) {
        let (start, nr_pages) = flush.into_range();
        self.flush_tlb_kernel_range(start, start.add(nr_pages * PAGE_SIZE), scope);
    }

    /// `cpu`'s arch state and current task, or `None` in interrupt context,
    /// which never joins a section and must not wait for the task's locks
    /// (unless [`InjectedBug::IrqJoinsSection`] is injected: then it tries).
    pub(crate) fn task_state(&self, cpu: usize) -> Option<Here<'_>> {
        if !self.mmu.in_interrupt() {
            debug_assert_eq!(cpu, self.mmu.cpu_id());
            Some(self.lock_here())
        } else if self.is_bug_injected(InjectedBug::IrqJoinsSection) {
            let arch = self.cpus[cpu].try_lock()?;
            let task = self.tasks[arch.current.index()].try_lock()?;
            Some(Here { cpu, arch, task })
        } else {
            None
        }
    }

    /// Applies everything deferred, in program order: the task's pending
    /// barrier, then the CPU's queue and batch.
    pub(crate) fn drain(&self, cpu: usize, arch: &mut CpuLazy, task: &mut TaskLazy) {
        if core::mem::take(&mut task.barrier_pending) && !self.is_bug_injected(InjectedBug::DropPendingBarrier) {
            self.publish(cpu);
        }
        self.drain_queue(cpu, arch);
        self.drain_batch(cpu, arch);
    }

    /// A write or flush just went to this CPU's queue or batch: a point
    /// where a preemptible section could be switched away from.
    fn mid_batch(&self) {
        self.preempt_point(PreemptPoint::MidBatch);
    }

    fn set_pte_now(&self, cpu: usize, va: VirtAddr, ptep: PhysAddr, value: PteValue, at: &'static Location<'static>) {
        let old = self.ptep_get(ptep);
        self.check_break_before_make(cpu, va, old, value, at, None);
        self.store_and_publish(cpu, ptep, value);
        if self.flavour() == Flavour::TlbBatch && self.is_present(old) && old != value {
            self.flush_page_now(cpu, va, OLD_TRANSLATION_SCOPE);
        }
    }

    fn flush_page_at(&self, va: VirtAddr, scope: TlbScope, at: &'static Location<'static>) {
        let cpu = self.mmu.cpu_id();
        let Some(mut here) = self.task_state(cpu).filter(|here| here.arch.active) else {
            return self.flush_page_now(cpu, va, scope);
        };
        match self.flavour() {
            Flavour::None => self.flush_page_now(cpu, va, scope),
            Flavour::Arm64 => {
                self.store_barrier_if_pending(cpu, &here.task);
                self.flush_page_now(cpu, va, scope);
            }
            Flavour::Queued => {
                self.enqueue(cpu, &mut here.arch, QueuedOp::FlushPage { va: va.page_down(), scope });
                drop(here);
                self.mid_batch();
            }
            Flavour::TlbBatch => {
                self.batch(cpu, &mut here.arch, va, scope);
                drop(here);
                self.mid_batch();
            }
            Flavour::DeferredPte => {
                if here.arch.queued_writes() > 0 {
                    let entered_at = here.task.entered_at;
                    self.report(cpu, Rule::FlushBeforePendingUpdates, at, entered_at, ReportDetail::Va(va));
                }
                self.flush_page_now(cpu, va, scope);
            }
        }
    }

    fn flush_all_at(&self, scope: TlbScope, at: &'static Location<'static>) {
        let cpu = self.mmu.cpu_id();
        let Some(mut here) = self.task_state(cpu).filter(|here| here.arch.active) else {
            return self.flush_all_now(cpu, scope);
        };
        match self.flavour() {
            Flavour::None => self.flush_all_now(cpu, scope),
            Flavour::Arm64 => {
                self.store_barrier_if_pending(cpu, &here.task);
                self.flush_all_now(cpu, scope);
            }
            Flavour::Queued => {
                self.enqueue(cpu, &mut here.arch, QueuedOp::FlushAll { scope });
                drop(here);
                self.mid_batch();
            }
            Flavour::TlbBatch => {
                here.arch.batch_flush_all(scope);
                self.instr.counters[cpu].count(Event::Deferred);
                drop(here);
                self.mid_batch();
            }
            Flavour::DeferredPte => {
                if here.arch.queued_writes() > 0 {
                    let entered_at = here.task.entered_at;
                    self.report(cpu, Rule::FlushBeforePendingUpdates, at, entered_at, ReportDetail::None);
                }
                self.flush_all_now(cpu, scope);
            }
        }
    }

    /// arm64: a flush inside a section issues its own `dsb ishst` first so
    /// the stores whose barrier is pending reach the walker before the
    /// invalidation (the isb stays owed until leave).
    fn store_barrier_if_pending(&self, cpu: usize, task: &TaskLazy) {
        if task.barrier_pending && !self.is_bug_injected(InjectedBug::DropPendingBarrier) {
            self.mmu.store_barrier();
            self.watch(cpu, &[FlushStep::Barrier(Barrier::DsbIshSt)]);
            self.instr.counters[cpu].count(Event::StoreBarrier);
        }
    }

    fn enqueue(&self, cpu: usize, state: &mut CpuLazy, op: QueuedOp) {
        if state.queue_len() >= self.queue_capacity() {
            self.drain_queue(cpu, state);
            self.instr.counters[cpu].count(Event::EarlyDrain);
        }
        state.push_queue(op);
        self.instr.counters[cpu].count(Event::Deferred);
    }

    fn batch(&self, cpu: usize, state: &mut CpuLazy, va: VirtAddr, scope: TlbScope) {
        if state.batch_len() >= self.batch_capacity() {
            if self.is_bug_injected(InjectedBug::BatchOverflowDrops) {
                return;
            }
            self.drain_batch(cpu, state);
            self.instr.counters[cpu].count(Event::EarlyDrain);
        }
        state.push_batch(va, scope);
        self.instr.counters[cpu].count(Event::Deferred);
    }

    fn drain_queue(&self, cpu: usize, state: &mut CpuLazy) {
        let (mut queue, len) = state.take_queue();
        if len == 0 {
            return;
        }
        if self.is_bug_injected(InjectedBug::DrainReorders) {
            queue[..len].reverse();
        }
        let mut unpublished = false;
        for op in &queue[..len] {
            match *op {
                QueuedOp::Write { ptep, value } => {
                    self.store(cpu, ptep, value);
                    unpublished = true;
                }
                QueuedOp::FlushPage { va, scope } => {
                    if core::mem::take(&mut unpublished) {
                        self.publish(cpu);
                    }
                    self.flush_page_now(cpu, va, scope);
                }
                QueuedOp::FlushAll { scope } => {
                    if core::mem::take(&mut unpublished) {
                        self.publish(cpu);
                    }
                    self.flush_all_now(cpu, scope);
                }
            }
        }
        if unpublished {
            self.publish(cpu);
        }
        self.instr.counters[cpu].count(Event::Drain);
    }

    fn drain_batch(&self, cpu: usize, state: &mut CpuLazy) {
        let BatchDrain { flush_all, pages, len } = state.take_batch();
        if let Some(scope) = flush_all {
            self.flush_all_now(cpu, scope);
        } else if len == 0 {
            return;
        } else {
            for &(va, scope) in &pages[..len] {
                self.flush_page_now(cpu, va, scope);
            }
        }
        self.instr.counters[cpu].count(Event::Drain);
    }

    /// The BBM rule applies to live arm64 entries only.
    fn check_break_before_make(
        &self,
        cpu: usize,
        va: VirtAddr,
        old: PteValue,
        new: PteValue,
        at: &'static Location<'static>,
        section_entered_at: Option<&'static Location<'static>>,
    ) {
        if self.mmu.format() == PteFormat::Arm64 && !pgattr_change_is_safe(old, new) {
            let detail = ReportDetail::PteChange { va, old, new };
            self.report(cpu, Rule::BreakBeforeMake, at, section_entered_at, detail);
        }
    }

    fn store(&self, cpu: usize, ptep: PhysAddr, value: PteValue) {
        if self.watches_barriers() {
            let old = PteValue(self.mmu.read_pte(ptep));
            let format = self.mmu.format();
            self.instr.sanitizer.barriers.store(
                cpu,
                ptep,
                (old.0, format.is_present(old)),
                (value.0, format.is_present(value)),
            );
        }
        store_pte(self.mmu, ptep, value);
        self.instr.counters[cpu].count(Event::PteWrite);
    }

    /// A store, then the barrier that makes a valid entry visible to the
    /// walker (arm64 `__set_pte_complete`: none for an invalid entry, whose
    /// removal the following TLB flush orders).
    fn store_and_publish(&self, cpu: usize, ptep: PhysAddr, value: PteValue) {
        self.store(cpu, ptep, value);
        if self.is_present(value) {
            self.publish(cpu);
        }
    }

    fn is_present(&self, value: PteValue) -> bool {
        self.mmu.format().is_present(value)
    }

    #[track_caller]
    fn flush_page_now(&self, cpu: usize, va: VirtAddr, scope: TlbScope) {
        self.flush_now(cpu, TlbiTarget::Page(va.page_down()), scope);
    }

    #[track_caller]
    fn flush_all_now(&self, cpu: usize, scope: TlbScope) {
        self.flush_now(cpu, TlbiTarget::All, scope);
    }
}
