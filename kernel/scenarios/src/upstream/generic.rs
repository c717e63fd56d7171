//! Bugs of the generic code and of the per-CPU batch backends: the v6.15
//! "Fix lazy mmu mode" series by Ryan Roberts (691ee97e1a9d, eb61ad14c459,
//! a1d416bf9faf), powerpc b9ef323ea168 and kasan b6ea95a34cbd.

use alloc::sync::Arc;
use alloc::vec::Vec;

use ktest::{kcheck_eq, ktest_case, Applies, BuggyExpect, Ctx, Judge, Order, Plan, Target};
use mm::{Flavour, InjectedBug, NestingPolicy, PreemptPoint, Prot, Rule, TlbScope, PAGE_SIZE};

use super::{EVERY_FLAVOUR, PERCPU_BATCH};
use crate::nesting::{drop_scratch_page, scratch_page};
use crate::sched::{continue_migrated, finish_windows, preempt_at};
use crate::support::{env, load, page_entry, tagged_frame, Loaded, ScratchVa};

const KASAN_PAGES: u64 = 4;

/// The nested `set_ptes()` section is reported under the strict policy.
fn set_ptes_plan(_flavour: Flavour, _target: Target) -> Plan {
    Plan {
        fixed: Applies::Yes,
        buggy: BuggyExpect::Caught { judges: &[Judge::Sanitizer], rules: &[Rule::NestedEnter] },
    }
}

/// The callback's allocation inside the walk's section is reported.
fn kasan_plan(_flavour: Flavour, _target: Target) -> Plan {
    Plan {
        fixed: Applies::Yes,
        buggy: BuggyExpect::Caught { judges: &[Judge::Sanitizer], rules: &[Rule::AllocInLazy] },
    }
}

/// 691ee97e1a9d "mm: fix lazy mmu docs and usage" (and eb61ad14c459 on
/// sparc): generic `set_ptes()` entered lazy mode itself, so inside a
/// caller's section it nested, which the rules of the time (the strict
/// policy here) forbid. Fixed: `set_ptes()` relies on its caller.
fn set_ptes_nests(ctx: &mut Ctx) {
    let env = env(ctx);
    let mm = env.mm();
    let Some(page) = scratch_page(env, ScratchVa::take(ctx, 1).start(), false) else {
        return ctx.skip("out of frames");
    };
    mm.set_nesting_policy(NestingPolicy::Strict);
    if ctx.order() == Order::Buggy {
        mm.inject_bug(InjectedBug::SetPtesEntersLazy);
    }
    mm.lazy_mmu_mode_enable();
    mm.set_ptes(page.0, page.1, page_entry(env, page.2, Prot::KERNEL_RW), 1);
    mm.lazy_mmu_mode_disable();
    kcheck_eq!(ctx, Judge::Mmu, load(env, page.0), Loaded::tag_of(page.2), "set_ptes_nests: page after the section");
    drop_scratch_page(env, page);
}

ktest_case!(
    upstream,
    set_ptes_nests,
    desc = "691ee97e1a9d: generic set_ptes() entered lazy mode itself, nesting inside its caller's section",
    plan = set_ptes_plan,
    variants = EVERY_FLAVOUR,
    set_ptes_nests
);

fn batch_plan(_flavour: Flavour, _target: Target) -> Plan {
    Plan { fixed: Applies::Yes, buggy: BuggyExpect::Caught { judges: &[Judge::Mmu, Judge::State], rules: &[] } }
}

/// a1d416bf9faf "sparc/mm: disable preemption in lazy mmu mode" and
/// powerpc b9ef323ea168: the batch is per CPU and not handled at a switch,
/// and apply_to_page_range on kernel PTEs may be preempted. Preempted
/// mid-batch, the next task on this CPU finds the batch open: its own
/// remap's invalidation is batched behind its back and it reads the old
/// frame. The preempted task then migrates to CPU1 and finishes its
/// section there: CPU1 has no batch open, so its leave flushes nothing, the
/// invalidation of its cleared entry stays in CPU0's batch, and it reads
/// its page through CPU1's stale translation; CPU0 is left in the mode.
/// Fixed: the section runs with preemption off, so the window is reached
/// but refused and the task never leaves CPU0.
fn percpu_batch_preempted(ctx: &mut Ctx) {
    let env = env(ctx);
    let mm = env.mm();
    let pages: Vec<_> = ScratchVa::take(ctx, 3).pages().filter_map(|va| scratch_page(env, va, true)).collect();
    let Ok(fresh) = tagged_frame(env) else { return ctx.skip("out of frames") };
    if pages.len() < 3 {
        pages.into_iter().for_each(|page| drop_scratch_page(env, page));
        let _ = mm.free_page(fresh);
        return ctx.skip("out of frames");
    }
    let (own, other, spare) = (pages[0], pages[1], pages[2]);
    if ctx.order() == Order::Buggy {
        mm.inject_bug(InjectedBug::BatchPreemptible);
    }
    // The translations are in both CPUs' TLBs: a remap must invalidate them.
    let _ = (env.read(own.0), env.read(other.0), env.remote_read(own.0));
    let seen_by_second = Arc::new(spin::Mutex::new(None));
    let seen = seen_by_second.clone();
    preempt_at(
        env,
        PreemptPoint::MidBatch,
        1,
        alloc::boxed::Box::new(move || {
            // The second task remaps its page outside any section of its own.
            let mm = env.mm();
            mm.pte_clear(other.0, other.1);
            mm.set_pte_at(other.0, other.1, page_entry(env, spare.2, Prot::KERNEL_RW));
            *seen.lock() = Some(env.read(other.0));
        }),
    );
    mm.lazy_mmu_mode_enable();
    // Break before make; clearing the live entry batches its invalidation.
    mm.pte_clear(own.0, own.1);
    let mut seen_after = None;
    let migrated = continue_migrated(env, &mut || {
        mm.set_pte_at(own.0, own.1, page_entry(env, fresh, Prot::KERNEL_RW));
        mm.lazy_mmu_mode_disable();
        seen_after = Some(Loaded(env.read(own.0)));
    });
    let expected = Some(Loaded::tag_of(fresh));
    kcheck_eq!(ctx, Judge::Mmu, seen_after, expected, "percpu_batch_preempted: own page after disable");
    let cpu0_lazy = mm.lazy_state(0).is_active;
    kcheck_eq!(ctx, Judge::State, cpu0_lazy, false, "percpu_batch_preempted: CPU0 in lazy mode after the section");
    if cpu0_lazy {
        // CPU0 closes the batch the migrated task left open.
        mm.lazy_mmu_mode_enable();
        mm.lazy_mmu_mode_disable();
    }
    if let Some(seen) = *seen_by_second.lock() {
        kcheck_eq!(
            ctx,
            Judge::Mmu,
            Loaded(seen),
            Loaded::tag_of(spare.2),
            "percpu_batch_preempted: second task's remapped page"
        );
    }
    let tally = finish_windows(env, ctx);
    kcheck_eq!(
        ctx,
        Judge::State,
        (tally.switched, tally.refused, migrated),
        (0, 1, false),
        "percpu_batch_preempted: (switched, refused, migrated)"
    );
    // Dropping each page unmaps whatever it maps now and frees its first frame.
    pages.into_iter().for_each(|page| drop_scratch_page(env, page));
    let _ = mm.free_page(fresh);
}

ktest_case!(
    upstream,
    percpu_batch_preempted,
    desc = "a1d416bf9faf: a per-CPU batch preempted mid-section; the section now runs with preemption off",
    plan = batch_plan,
    variants = PERCPU_BATCH,
    percpu_batch_preempted
);

/// b6ea95a34cbd "kasan: avoid sleepable page allocation from atomic
/// context": kasan's shadow populate allocated a page (a sleeping
/// allocation) in its apply_to_page_range callback, inside the lazy
/// section. Fixed: the pages are allocated before the walk and the
/// callback only maps them.
fn kasan_sleep_in_lazy(ctx: &mut Ctx) {
    let env = env(ctx);
    let mm = env.mm();
    let start = ScratchVa::take(ctx, KASAN_PAGES).start();
    let size = KASAN_PAGES * PAGE_SIZE;
    let buggy = ctx.order() == Order::Buggy;
    let mut frames: Vec<_> =
        if buggy { Vec::new() } else { (0..KASAN_PAGES).filter_map(|_| mm.alloc_page().ok()).collect() };
    let mut mapped = Vec::with_capacity(KASAN_PAGES as usize);
    let result = mm.apply_to_page_range(start, size, |pte| {
        let pa = if buggy { mm.alloc_page().map_err(|_| ())? } else { frames.pop().ok_or(())? };
        mm.set_pte_at(pte.va, pte.ptep, page_entry(env, pa, Prot::KERNEL_RW));
        mapped.push((pte.va, pte.ptep, pa));
        Ok::<(), ()>(())
    });
    kcheck_eq!(ctx, Judge::State, result.is_ok(), true, "kasan_sleep_in_lazy: shadow populated");
    for page in mapped {
        mm.pte_clear(page.0, page.1);
        let _ = mm.free_page(page.2);
    }
    mm.flush_tlb_kernel_range(start, start.add(size), TlbScope::Broadcast);
    for pa in frames {
        let _ = mm.free_page(pa);
    }
}

ktest_case!(
    upstream,
    kasan_sleep_in_lazy,
    desc = "b6ea95a34cbd: kasan's shadow populate allocated in its callback, inside the lazy section",
    plan = kasan_plan,
    variants = EVERY_FLAVOUR,
    kasan_sleep_in_lazy
);
