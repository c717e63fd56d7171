//! The arm64 barrier steps the lazy layer issues, and the sanitizer's
//! watch over them (`clean.rs` holds the rules): the flush sequence, or the
//! broken one an injected bug asks for.

use core::panic::Location;

use super::clean::Violation;
use super::counters::Event;
use super::sanitizer::ReportDetail;
use super::InjectedBug;
use crate::context::Mm;
use crate::mmu::{issue_flush, Barrier, FlushStep, Mmu, PteFormat, TlbScope, TlbiTarget, FLUSH_SEQUENCE};

impl<M: Mmu + ?Sized> Mm<'_, M> {
    /// `dsb ish; isb`: the caller may use the new entry on return.
    #[track_caller]
    pub(super) fn publish(&self, cpu: usize) {
        if self.mmu.format() == PteFormat::Arm64 && self.is_bug_injected(InjectedBug::PublishSkipsIsb) {
            self.mmu.barrier(Barrier::DsbIsh);
            self.watch(cpu, &[FlushStep::Barrier(Barrier::DsbIsh)]);
        } else {
            self.mmu.full_barrier();
            self.watch(cpu, &[FlushStep::Barrier(Barrier::DsbIsh), FlushStep::Barrier(Barrier::Isb)]);
        }
        self.instr.counters[cpu].count(Event::Barrier);
        if self.watches_barriers() {
            let violation = self.instr.sanitizer.barriers.published(cpu);
            self.report_violation(cpu, violation, Location::caller());
        }
    }

    /// arm64 `__switch_to()`'s `dsb(ish)`: every TLB invalidation this CPU
    /// issued is complete before another task runs here.
    pub(super) fn complete_tlb_maintenance(&self, cpu: usize) {
        if self.mmu.format() == PteFormat::Arm64 {
            self.mmu.barrier(Barrier::DsbIsh);
            self.watch(cpu, &[FlushStep::Barrier(Barrier::DsbIsh)]);
        }
    }

    /// The flush sequence ([`FLUSH_SEQUENCE`]), or the broken one an
    /// injected arm64 bug asks for, issued and watched.
    #[track_caller]
    pub(super) fn flush_now(&self, cpu: usize, target: TlbiTarget, scope: TlbScope) {
        let mut steps = FLUSH_SEQUENCE;
        let mut len = steps.len();
        if self.mmu.format() == PteFormat::Arm64 {
            if self.is_bug_injected(InjectedBug::FlushCompletesWithDsbIshst) {
                steps[2] = FlushStep::Barrier(Barrier::DsbIshSt);
            }
            if self.is_bug_injected(InjectedBug::FlushSkipsStoreBarrier) {
                steps.copy_within(1.., 0);
                len -= 1;
            }
        }
        let steps = &steps[..len];
        match target {
            _ if steps != FLUSH_SEQUENCE => issue_flush(self.mmu, steps, target, scope),
            TlbiTarget::Page(va) => self.mmu.flush_tlb_page(va, scope),
            TlbiTarget::All => self.mmu.flush_tlb_all(scope),
        }
        self.instr.counters[cpu].count(Event::Invalidation);
        self.watch(cpu, steps);
        if self.watches_barriers() {
            let violation = self.instr.sanitizer.barriers.flush_returns(cpu);
            self.report_violation(cpu, violation, Location::caller());
        }
    }

    /// Whether the arm64 barrier rules watch this call: arm64 tables, the
    /// sanitizer on, not in interrupt context.
    pub(crate) fn watches_barriers(&self) -> bool {
        self.mmu.format() == PteFormat::Arm64 && self.instr.sanitizer.is_enabled() && !self.mmu.in_interrupt()
    }

    /// Tells the barrier rules about `steps` just issued on `cpu`.
    #[track_caller]
    pub(super) fn watch(&self, cpu: usize, steps: &[FlushStep]) {
        if !self.watches_barriers() {
            return;
        }
        for &step in steps {
            let violation = self.instr.sanitizer.barriers.step(cpu, step);
            self.report_violation(cpu, violation, Location::caller());
        }
    }

    pub(crate) fn report_violation(&self, cpu: usize, violation: Option<Violation>, at: &'static Location<'static>) {
        if let Some(violation) = violation {
            self.report(cpu, violation.into(), at, None, ReportDetail::None);
        }
    }
}
