//! Tearing mappings down from a walk's callback: freeing frames from
//! `apply_to_existing_page_range_nolazy` (KASAN depopulate, bpf arena free)
//! and reading a PTE back after writing it, as KASAN's shadow code does
//! ("mm/kasan: avoid lazy MMU mode hazards").

use alloc::vec::Vec;

use ktest::{kcheck, kcheck_eq, ktest_case, Applies, BuggyExpect, Ctx, Judge, Order, Plan, Target};
use mm::{AllocError, Flavour, Level, NestingPolicy, PhysAddr, Prot, PteRef, Rule, TlbScope, VirtAddr, PAGE_SIZE};

use super::{begin, check_no_leak, frame_of, frames_used, pte_alloc, ptep_of, release};
use crate::support::{linear, load, page_entry, tagged_frame, Loaded, ScratchVa, PAGES_PER_LEAF_TABLE};

/// The last four pages of one leaf table, then four of the next one, whose
/// table does not exist (untouched scratch VA): a hole the walk must skip.
const FREES_FIRST_PAGE: u64 = PAGES_PER_LEAF_TABLE - 4;
const FREES_NR_PAGES: u64 = 8;
/// Which of the pages are mapped; page 2 is an empty PTE in a live table.
const FREES_MAPPED: [u64; 3] = [0, 1, 3];
const FREES_HOLE_PAGE: u64 = 4;

fn existing_nolazy_frees_plan(flavour: Flavour, _target: Target) -> Plan {
    // The allocator's section nests in the walk's (reported under the
    // seed's rule); only deferred-pte runs the allocator's flush before its
    // deferred unmap (reported too), so a speculative walk keeps the freed
    // frame readable.
    let buggy = if flavour == Flavour::DeferredPte {
        BuggyExpect::Caught {
            judges: &[Judge::Mmu, Judge::Sanitizer],
            rules: &[Rule::NestedEnter, Rule::FlushBeforePendingUpdates],
        }
    } else {
        BuggyExpect::Caught { judges: &[Judge::Sanitizer], rules: &[Rule::NestedEnter] }
    };
    Plan { fixed: Applies::Yes, buggy }
}

/// `apply_to_existing_page_range_nolazy` clears each PTE and frees its
/// frame: holes and empty PTEs skipped, no table allocated, and a freed
/// frame faults through the linear map.
fn existing_nolazy_frees(ctx: &mut Ctx) {
    let Some(env) = begin(ctx, NestingPolicy::Strict) else { return };
    let mm = env.mm();
    let start = ScratchVa::take_untouched(ctx, FREES_FIRST_PAGE + FREES_NR_PAGES).page(FREES_FIRST_PAGE);
    let hole = start.add(FREES_HOLE_PAGE * PAGE_SIZE);
    if ptep_of(env, hole).is_some() {
        return ctx.skip("the leaf table meant as a hole exists");
    }
    let vas: Vec<VirtAddr> = FREES_MAPPED.iter().map(|&i| start.add(i * PAGE_SIZE)).collect();
    let mut frames = Vec::with_capacity(vas.len());
    for &va in &vas {
        let (Ok(pa), Ok(ptep)) = (tagged_frame(env), pte_alloc(env, va)) else {
            release(env, vas.iter().copied(), &frames);
            return ctx.skip("out of frames");
        };
        frames.push(pa);
        mm.set_pte_at(va, ptep, page_entry(env, pa, Prot::KERNEL_RW));
        kcheck_eq!(ctx, Judge::Mmu, load(env, va), Loaded::tag_of(pa), "existing_nolazy_frees: mapped {va}");
    }
    let used_before = frames_used(env);
    let mut visited = Vec::with_capacity(FREES_NR_PAGES as usize);
    let mut freed = Vec::with_capacity(vas.len());
    let depopulate = |pte: &mut PteRef| -> Result<(), AllocError> {
        visited.push(pte.va);
        let Some(pa) = frame_of(env, pte.value) else { return Ok(()) };
        let linear_va = linear(env, pa);
        // A page in use has its linear translation cached.
        let _ = env.read(linear_va);
        mm.pte_clear(pte.va, pte.ptep);
        mm.free_page(pa)?;
        freed.push(pa);
        // What a speculative walk may do at any time after the free.
        env.speculate(linear_va);
        Ok(())
    };
    let size = FREES_NR_PAGES * PAGE_SIZE;
    let result = match ctx.order() {
        Order::Fixed => mm.apply_to_existing_page_range_nolazy(start, size, depopulate),
        Order::Buggy => mm.apply_to_existing_page_range(start, size, depopulate),
    };
    mm.flush_tlb_kernel_range(start, start.add(size), TlbScope::Broadcast);
    kcheck_eq!(ctx, Judge::State, result, Ok(()), "existing_nolazy_frees: apply result");
    kcheck_eq!(ctx, Judge::State, visited, vas, "existing_nolazy_frees: PTEs called back");
    kcheck!(ctx, Judge::State, ptep_of(env, hole).is_none(), "existing_nolazy_frees: the hole got a table");
    let used = frames_used(env);
    kcheck_eq!(ctx, Judge::State, used + vas.len() as u64, used_before, "existing_nolazy_frees: frames after freeing");
    for &va in &vas {
        kcheck!(ctx, Judge::Mmu, env.read(va).is_err(), "existing_nolazy_frees: {va} readable after clear and flush");
    }
    for &pa in &freed {
        let seen = env.read(linear(env, pa));
        kcheck!(
            ctx,
            Judge::Mmu,
            seen.is_err(),
            "existing_nolazy_frees: freed {pa} readable via linear map: {}",
            Loaded(seen)
        );
    }
    release(env, vas.iter().copied(), &frames);
}

ktest_case!(
    apply_range,
    existing_nolazy_frees,
    desc = "apply_to_existing_page_range_nolazy clears PTEs and frees frames, skipping holes, allocating no table",
    plan = existing_nolazy_frees_plan,
    variants = &Flavour::ALL,
    existing_nolazy_frees
);

const READ_BACK_NR_PAGES: u64 = 4;
/// Two vmalloc areas sharing the shadow pages release them in one walk.
const NR_RELEASES: usize = 2;

fn callback_reads_back_plan(flavour: Flavour, _target: Target) -> Plan {
    let buggy = if flavour.defers_pte_writes() {
        BuggyExpect::Caught { judges: &[Judge::State], rules: &[] }
    } else {
        BuggyExpect::Harmless("PTE stores are not deferred: a read-back inside the section sees them")
    };
    Plan { fixed: Applies::Yes, buggy }
}

/// A callback that reads its PTE back after writing it pauses lazy mode
/// around the access and sees its own write; a double release of the same
/// shadow pages frees each frame once.
fn callback_reads_back(ctx: &mut Ctx) {
    let Some(env) = begin(ctx, NestingPolicy::Counter) else { return };
    let mm = env.mm();
    let scratch = ScratchVa::take(ctx, READ_BACK_NR_PAGES);
    let start = scratch.start();
    let size = READ_BACK_NR_PAGES * PAGE_SIZE;
    let vas: Vec<VirtAddr> = scratch.pages().collect();
    if pte_alloc(env, start).is_err() {
        return ctx.skip("out of frames");
    }
    let used_before = frames_used(env);
    // Shadow frames are allocated before the walk, as KASAN does.
    let frames: Vec<PhysAddr> = vas.iter().filter_map(|_| tagged_frame(env).ok()).collect();
    if frames.len() != vas.len() {
        release(env, [], &frames);
        return ctx.skip("out of frames");
    }
    let format = mm.pte_format();
    let pauses = ctx.order() == Order::Fixed;
    let pause = || {
        if pauses {
            mm.lazy_mmu_mode_pause();
        }
    };
    let resume = || {
        if pauses {
            mm.lazy_mmu_mode_resume();
        }
    };
    let populate = |pte: &mut PteRef| -> Result<(), ()> {
        let entry = page_entry(env, frames[(pte.va.offset_from(start) / PAGE_SIZE) as usize], Prot::KERNEL_RW);
        pause();
        if mm.ptep_get(pte.ptep).is_none() {
            mm.set_pte_at(pte.va, pte.ptep, entry);
        }
        let seen = mm.ptep_get(pte.ptep);
        resume();
        let (seen, entry) = (format.describe(Level::Pte, seen), format.describe(Level::Pte, entry));
        kcheck_eq!(ctx, Judge::State, seen, entry, "callback_reads_back: ptep_get after set_pte");
        Ok(())
    };
    let populated = mm.apply_to_page_range(start, size, populate);
    kcheck_eq!(ctx, Judge::State, populated, Ok(()), "callback_reads_back: populate result");
    for (&va, &pa) in vas.iter().zip(&frames) {
        kcheck_eq!(ctx, Judge::Mmu, load(env, va), Loaded::tag_of(pa), "callback_reads_back: read through {va}");
    }
    // KASAN's depopulate step, once per release: free only what is mapped.
    let mut to_free = Vec::with_capacity(NR_RELEASES * vas.len());
    let depopulate = |pte: &mut PteRef| -> Result<(), ()> {
        for _ in 0..NR_RELEASES {
            pause();
            if let Some(pa) = frame_of(env, mm.ptep_get(pte.ptep)) {
                mm.pte_clear(pte.va, pte.ptep);
                to_free.push(pa);
            }
            resume();
        }
        Ok(())
    };
    let depopulated = mm.apply_to_existing_page_range(start, size, depopulate);
    mm.flush_tlb_kernel_range(start, start.add(size), TlbScope::Broadcast);
    kcheck_eq!(ctx, Judge::State, depopulated, Ok(()), "callback_reads_back: depopulate result");
    for &pa in &to_free {
        kcheck_eq!(ctx, Judge::State, mm.free_page(pa), Ok(()), "callback_reads_back: freeing {pa}");
    }
    for &va in &vas {
        kcheck!(ctx, Judge::Mmu, env.read(va).is_err(), "callback_reads_back: {va} readable after depopulate");
    }
    release(env, vas.iter().copied(), &frames);
    check_no_leak(ctx, env, used_before, "callback_reads_back");
}

ktest_case!(
    apply_range,
    callback_reads_back,
    desc = "a callback that reads its PTE back pauses lazy mode around it and sees its own write (KASAN shadow)",
    plan = callback_reads_back_plan,
    variants = &Flavour::ALL,
    callback_reads_back
);
