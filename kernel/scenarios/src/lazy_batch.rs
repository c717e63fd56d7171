//! Suite `lazy_batch` (scenarios.md): what lazy mode is for, and that it is
//! kept.

use ktest::{kcheck, kcheck_eq, ktest_case, Applies, BuggyExpect, Ctx, Judge, Order, Plan};
use mm::{Prot, TlbScope};

use crate::support::{env, page_entry, scratch_va, tag_of, tagged_frame};
use crate::ALL_FLAVOURS;

fn flush_keeps_lazy_plan(_variant: &str, _arch: &str) -> Plan {
    Plan { fixed: Applies::Yes, buggy: BuggyExpect::Caught(&[Judge::State]) }
}

/// `flush()` inside a section applies what is pending and the CPU stays
/// lazy; the buggy flush ends the section (in_lazy goes false).
fn flush_keeps_lazy(ctx: &mut Ctx) {
    let env = env(ctx);
    let mm = env.mm();
    let va = scratch_va(env, 0);
    let (Ok(frame), Ok(ptep)) = (tagged_frame(env), mm.page_tables().pte_alloc(va)) else {
        return ctx.skip("out of frames");
    };
    mm.arch_enter_lazy_mmu_mode();
    mm.set_pte_at(va, ptep, page_entry(env, frame, Prot::KERNEL_RW));
    match ctx.order() {
        Order::Fixed => mm.arch_flush_lazy_mmu_mode(),
        Order::Buggy => mm.arch_leave_lazy_mmu_mode(),
    }
    kcheck!(ctx, Judge::State, mm.arch_in_lazy_mmu_mode(), "flush_keeps_lazy: still lazy after flush()");
    kcheck_eq!(ctx, Judge::Mmu, env.read(va), Ok(tag_of(frame)), "flush_keeps_lazy: read after flush()");
    if mm.arch_in_lazy_mmu_mode() {
        mm.arch_leave_lazy_mmu_mode();
    }
    mm.pte_clear(va, ptep);
    mm.flush_tlb_page(va, TlbScope::Broadcast);
    let _ = mm.free_page(frame);
}

ktest_case!(lazy_batch, flush_keeps_lazy, plan = flush_keeps_lazy_plan, variants = ALL_FLAVOURS, flush_keeps_lazy);
