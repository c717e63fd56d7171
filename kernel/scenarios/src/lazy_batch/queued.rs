//! `lazy_batch.queued_lands_on_leave`: the queueing flavours (Xen PV
//! multicalls, and deferred-pte) keep a section's PTE writes out of memory
//! until leave, then apply them in program order.

use ktest::{kcheck, kcheck_eq, ktest_case, Applies, BuggyExpect, Ctx, Judge, Order, Plan, Target};
use mm::{Flavour, InjectedBug, PhysAddr, Prot, TlbScope};

use super::{free_frames, scratch_pages, tagged_frames, unmap_scratch, ScratchPage};
use crate::support::{env, linear, load, page_entry, Loaded};

fn queued_lands_on_leave_plan(flavour: Flavour, _target: Target) -> Plan {
    if flavour.defers_pte_writes() {
        Plan { fixed: Applies::Yes, buggy: BuggyExpect::Caught { judges: &[Judge::Mmu], rules: &[] } }
    } else {
        Plan {
            fixed: Applies::No("this flavour writes PTEs at once: nothing is queued"),
            buggy: BuggyExpect::NotApplicable("no queue to drain"),
        }
    }
}

/// Before leave the PTE words in memory are unchanged and touches see the
/// old mappings; after leave every write has landed in program order, the
/// last of several writes to one PTE winning. The buggy drain runs the
/// queue newest first, so an earlier write wins.
fn queued_lands_on_leave(ctx: &mut Ctx) {
    let env = env(ctx);
    let Some(frames) = tagged_frames(env, 4) else {
        return ctx.skip("out of frames");
    };
    let Some(pages) = scratch_pages(ctx, 2) else {
        free_frames(env, &frames);
        return ctx.skip("out of frames for page tables");
    };
    if ctx.order() == Order::Buggy {
        env.mm().inject_bug(InjectedBug::DrainReorders);
    }
    queue_and_leave(ctx, [pages[0], pages[1]], [frames[0], frames[1], frames[2], frames[3]]);
    env.mm().clear_injected_bugs();
    unmap_scratch(env, &pages);
    free_frames(env, &frames);
}

/// `old` maps A and is touched first; `fresh` maps nothing. The section
/// repoints `old` A → none → B (break, then make) and `fresh` none → C →
/// none → D: the program-order result is old→B, fresh→D.
fn queue_and_leave(ctx: &mut Ctx, [old, fresh]: [ScratchPage; 2], [a, b, c, d]: [PhysAddr; 4]) {
    let env = env(ctx);
    let mm = env.mm();
    let entry = |pa| page_entry(env, pa, Prot::KERNEL_RW);
    mm.set_pte_at(old.va, old.ptep, entry(a));
    kcheck_eq!(
        ctx,
        Judge::Mmu,
        load(env, old.va),
        Loaded::tag_of(a),
        "queued_lands_on_leave: old mapping before the section"
    );
    // The PTE words as a real load through the linear map sees them.
    let pte_words = || (env.read(linear(env, old.ptep)), env.read(linear(env, fresh.ptep)));
    let words_before = pte_words();

    mm.arch_enter_lazy_mmu_mode();
    mm.pte_clear(old.va, old.ptep);
    mm.set_pte_at(old.va, old.ptep, entry(b));
    mm.set_pte_at(fresh.va, fresh.ptep, entry(c));
    mm.pte_clear(fresh.va, fresh.ptep);
    mm.set_pte_at(fresh.va, fresh.ptep, entry(d));
    kcheck_eq!(ctx, Judge::Mmu, pte_words(), words_before, "queued_lands_on_leave: PTE words before leave");
    kcheck_eq!(ctx, Judge::Mmu, load(env, old.va), Loaded::tag_of(a), "queued_lands_on_leave: old page before leave");
    let fresh_read = env.read(fresh.va);
    kcheck!(
        ctx,
        Judge::Mmu,
        fresh_read.is_err(),
        "queued_lands_on_leave: unmapped page before leave read {}",
        Loaded(fresh_read)
    );
    mm.arch_leave_lazy_mmu_mode();
    // Patch 1's order: the flush after leave, so it is right under every
    // flavour, deferred-pte included.
    mm.flush_tlb_page(old.va, TlbScope::Broadcast);
    mm.flush_tlb_page(fresh.va, TlbScope::Broadcast);

    kcheck_eq!(
        ctx,
        Judge::Mmu,
        load(env, fresh.va),
        Loaded::tag_of(d),
        "queued_lands_on_leave: thrice-written page after leave"
    );
    kcheck_eq!(
        ctx,
        Judge::Mmu,
        load(env, old.va),
        Loaded::tag_of(b),
        "queued_lands_on_leave: repointed page after leave"
    );
}

ktest_case!(
    lazy_batch,
    queued_lands_on_leave,
    desc = "queued PTE writes leave memory unchanged until leave, then land in program order",
    plan = queued_lands_on_leave_plan,
    variants = &Flavour::ALL,
    queued_lands_on_leave
);
