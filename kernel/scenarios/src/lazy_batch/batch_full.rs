//! `lazy_batch.batch_full_drains`: the tlb-batch flavour (powerpc hash,
//! sparc64) holds the invalidations of overwritten translations in a
//! fixed-size batch; a full batch must drain early, mid-section, rather
//! than lose what comes next.

use alloc::vec::Vec;

use ktest::{kcheck, kcheck_eq, ktest_case, Applies, BuggyExpect, Ctx, Judge, Order, Plan, Target};
use mm::{Flavour, InjectedBug, PhysAddr, Prot, VirtAddr};

use super::{check_tags, free_frames, scratch_pages, tagged_frames, unmap_scratch, ScratchPage};
use crate::support::{env, page_entry};
use crate::Env;

fn batch_full_drains_plan(flavour: Flavour, _target: Target) -> Plan {
    if flavour != Flavour::TlbBatch {
        return Plan {
            fixed: Applies::No("only tlb-batch batches the invalidations of overwritten translations"),
            buggy: BuggyExpect::NotApplicable("no invalidation batch to overflow"),
        };
    }
    Plan { fixed: Applies::Yes, buggy: BuggyExpect::Caught { judges: &[Judge::Mmu, Judge::Counters], rules: &[] } }
}

/// Unmapping more touched pages in one section than the batch holds drains
/// it early (the pages of the full batch fault before leave) and loses no
/// invalidation (every page faults after leave). The buggy batch drops
/// what does not fit: those pages stay readable through stale entries.
fn batch_full_drains(ctx: &mut Ctx) {
    let env = env(ctx);
    let capacity = env.mm().batch_capacity();
    // Two early drains and a partial batch left for leave.
    let nr_pages = 2 * capacity + 3;
    let Some(frames) = tagged_frames(env, nr_pages) else {
        return ctx.skip("out of frames");
    };
    let Some(pages) = scratch_pages(ctx, nr_pages) else {
        free_frames(env, &frames);
        return ctx.skip("out of frames for page tables");
    };
    if ctx.order() == Order::Buggy {
        env.mm().inject_bug(InjectedBug::BatchOverflowDrops);
    }
    unmap_in_one_section(ctx, &pages, &frames, capacity);
    env.mm().clear_injected_bugs();
    unmap_scratch(env, &pages);
    free_frames(env, &frames);
}

fn unmap_in_one_section(ctx: &mut Ctx, pages: &[ScratchPage], frames: &[PhysAddr], capacity: usize) {
    let env = env(ctx);
    let mm = env.mm();
    for (page, &pa) in pages.iter().zip(frames) {
        mm.set_pte_at(page.va, page.ptep, page_entry(env, pa, Prot::KERNEL_RW));
    }
    // Every page is now in the TLB, so a lost invalidation shows as a read.
    let mapped: Vec<(VirtAddr, PhysAddr)> = pages.iter().zip(frames).map(|(page, &pa)| (page.va, pa)).collect();
    if !check_tags(ctx, Judge::Mmu, "batch_full_drains: pages before the section", &mapped) {
        return;
    }

    let before = mm.counters_this_cpu();
    mm.arch_enter_lazy_mmu_mode();
    for page in pages {
        mm.pte_clear(page.va, page.ptep);
    }
    let mid_section = mm.counters_this_cpu();
    let drained_early = readable(env, &pages[..capacity]);
    mm.arch_leave_lazy_mmu_mode();
    let after = mm.counters_this_cpu();
    let still_readable = readable(env, pages);

    kcheck!(
        ctx,
        Judge::Counters,
        mid_section.early_drains > before.early_drains,
        "batch_full_drains: no early drain after {} invalidations with a batch of {capacity}",
        pages.len()
    );
    kcheck_eq!(ctx, Judge::Mmu, drained_early, 0, "batch_full_drains: pages of the full batch readable before leave");
    kcheck_eq!(ctx, Judge::Mmu, still_readable, 0, "batch_full_drains: unmapped pages readable after leave");
    kcheck_eq!(
        ctx,
        Judge::Counters,
        after.invalidations - before.invalidations,
        pages.len() as u64,
        "batch_full_drains: invalidations issued"
    );
}

/// How many of `pages` a real load still reads (through a stale entry).
fn readable(env: &dyn Env, pages: &[ScratchPage]) -> usize {
    pages.iter().filter(|page| env.read(page.va).is_ok()).count()
}

ktest_case!(
    lazy_batch,
    batch_full_drains,
    desc = "more invalidations than the batch holds drain it early and none is lost",
    plan = batch_full_drains_plan,
    variants = &Flavour::ALL,
    batch_full_drains
);
