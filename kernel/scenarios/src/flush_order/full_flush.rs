//! Range flushes past `mm::tlb::FLUSH_ALL_THRESHOLD_PAGES`, which become one
//! full flush (as Linux's `flush_tlb_kernel_range` does past its ceiling):
//! no other case flushes that many pages, so a full flush that does nothing
//! (an x86 CR3 reload dropped, a shootdown's "flush all" ignored) or that
//! runs ahead of a section's queued PTE writes would go unseen.
//!
//! - `full_flush_range`: outside any section, under every flavour: pages
//!   this CPU and CPU1 both have in their TLBs are unmapped and the range
//!   flushed everywhere; no CPU may still read them.
//! - `full_flush_in_section`: the same full flush inside a section, after
//!   the unmaps, as `contract_check` does page by page: `queued` must keep
//!   it behind its queued writes and `tlb-batch` behind its own; the
//!   pre-patch form (no `arch_flush_lazy_mmu_mode` first) is harmless
//!   under every flavour but `deferred-pte`.

use alloc::vec::Vec;

use ktest::{kcheck, kcheck_eq, ktest_case, Ctx, Judge, Order};
use mm::tlb::FLUSH_ALL_THRESHOLD_PAGES;
use mm::{Fault, FaultKind, Flavour, TlbScope, VirtAddr};

use super::{ordering_contract_plan, touch, Expect, Mismatch, Pages};
use crate::support::{env, Loaded};
use crate::Env;

/// One page more than the threshold: the range becomes a full flush.
const NR_PAGES: u64 = FLUSH_ALL_THRESHOLD_PAGES + 1;

/// The pages whose touch does not fault after the unmap and full flush,
/// with what the touch saw: the first, and how many more.
fn still_mapped(env: &dyn Env, pages: &Pages) -> Option<(VirtAddr, Mismatch, usize)> {
    let mut stale =
        pages.pages.iter().filter_map(|page| touch(env, page.va, Expect::NotMapped).err().map(|seen| (page.va, seen)));
    let (va, seen) = stale.next()?;
    Some((va, seen, stale.count()))
}

/// Unmaps every page of a range both CPUs have in their TLBs and flushes the
/// range (one full flush) everywhere: neither CPU may still read a page.
fn full_flush_range(ctx: &mut Ctx) {
    let env = env(ctx);
    let mm = env.mm();
    let Some(pages) = Pages::map(ctx, NR_PAGES) else {
        return ctx.skip("out of frames");
    };
    // CPU1 loads every translation too (when there is a CPU1).
    let remote_first: Vec<Option<Loaded>> =
        pages.pages.iter().map(|page| env.remote_read(page.va).map(Loaded)).collect();
    let remote = remote_first.iter().all(Option::is_some);
    if remote {
        let wrong =
            pages.pages.iter().zip(&remote_first).find(|(page, seen)| **seen != Some(Loaded::tag_of(page.frame)));
        if let Some((page, seen)) = wrong {
            kcheck!(ctx, Judge::Mmu, false, "full_flush_range: CPU1's first read of {}: {seen:?}", page.va);
        }
    }
    for page in &pages.pages {
        mm.pte_clear(page.va, page.ptep);
    }
    // Counted across the range flush alone: tlb-batch invalidates each
    // cleared entry itself too.
    let invalidations = mm.counters_this_cpu().invalidations;
    mm.flush_tlb_kernel_range(pages.start(), pages.end(), TlbScope::Broadcast);
    let invalidations = mm.counters_this_cpu().invalidations - invalidations;
    kcheck_eq!(ctx, Judge::Counters, invalidations, 1, "full_flush_range: {NR_PAGES} pages flushed as one full flush");
    if let Some((va, seen, more)) = still_mapped(env, &pages) {
        kcheck!(ctx, Judge::Mmu, false, "full_flush_range: {va} after the full flush: {seen} ({more} more)");
    }
    if remote {
        let stale: Vec<VirtAddr> = pages
            .pages
            .iter()
            .filter(|page| !matches!(env.remote_read(page.va), Some(Err(Fault { kind: FaultKind::NotMapped, .. }))))
            .map(|page| page.va)
            .collect();
        kcheck!(
            ctx,
            Judge::Mmu,
            stale.is_empty(),
            "full_flush_range: CPU1 still reads {} of {NR_PAGES} pages after the full flush, first {:?}",
            stale.len(),
            stale.first()
        );
    }
    pages.release(env);
}

ktest_case!(
    flush_order,
    full_flush_range,
    desc = "a range past the full-flush threshold, unmapped and flushed everywhere, reads on neither CPU",
    variants = &Flavour::ALL,
    full_flush_range
);

/// Unmaps the range inside a section and flushes it there (one full flush),
/// then lets a speculative walk refill each page before the leave. The
/// patched form asks for the section's deferred work first; the pre-patch
/// one relies on the flavour keeping the flush behind the unmaps.
fn full_flush_in_section(ctx: &mut Ctx) {
    let env = env(ctx);
    let mm = env.mm();
    let Some(pages) = Pages::map(ctx, NR_PAGES) else {
        return ctx.skip("out of frames");
    };
    mm.arch_enter_lazy_mmu_mode();
    for page in &pages.pages {
        mm.pte_clear(page.va, page.ptep);
    }
    if ctx.order() == Order::Fixed {
        mm.arch_flush_lazy_mmu_mode();
    }
    mm.flush_tlb_kernel_range(pages.start(), pages.end(), TlbScope::Broadcast);
    for page in &pages.pages {
        env.speculate(page.va);
    }
    mm.arch_leave_lazy_mmu_mode();
    if let Some((va, seen, more)) = still_mapped(env, &pages) {
        kcheck!(
            ctx,
            Judge::Mmu,
            false,
            "full_flush_in_section: {va} after the in-section full flush: {seen} ({more} more)"
        );
    }
    pages.release(env);
}

ktest_case!(
    flush_order,
    full_flush_in_section,
    desc = "the same full flush inside a section, after its unmaps, still follows them",
    plan = ordering_contract_plan,
    variants = &Flavour::ALL,
    full_flush_in_section
);
