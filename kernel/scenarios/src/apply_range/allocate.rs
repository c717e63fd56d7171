//! Allocating from inside an `apply_to_page_range` walk or a section: the
//! `_nolazy` walk (patch 3) and pausing lazy mode around the allocation
//! (patch 5, `tlb_next_batch`), against allocating while lazy.

use alloc::vec::Vec;

use ktest::{kcheck, kcheck_eq, ktest_case, Applies, BuggyExpect, Ctx, Judge, Order, Plan, Target};
use mm::{AllocError, Flavour, NestingPolicy, PhysAddr, Prot, PteRef, Rule, VirtAddr, PAGE_SIZE};

use super::{begin, check_no_leak, frames_used, pte_alloc, release};
use crate::env::Env;
use crate::support::{
    linear, load, model_hides_unbarriered_stores, page_entry, tag_of, tagged_frame, Loaded, ScratchVa,
};

const NOLAZY_NR_PAGES: u64 = 4;

fn nolazy_callback_allocates_plan(flavour: Flavour, target: Target) -> Plan {
    // The buggy walk calls back in lazy mode (state) under every flavour, and
    // the sanitizer reports the allocation and the allocator's section nested
    // in the walk's (strict rule); only a
    // flavour that defers the allocator's linear-map update (or the arm64
    // model, where its barrier is) leaves the fresh frame unusable at once.
    let judges: &'static [Judge] = if flavour.defers_pte_writes() || model_hides_unbarriered_stores(flavour, target) {
        &[Judge::Mmu, Judge::State, Judge::Sanitizer]
    } else {
        &[Judge::State, Judge::Sanitizer]
    };
    Plan { fixed: Applies::Yes, buggy: BuggyExpect::Caught { judges, rules: &[Rule::AllocInLazy, Rule::NestedEnter] } }
}

/// `apply_to_page_range_nolazy` calls back outside lazy mode, so a callback
/// may allocate a frame and use it through the linear map at once.
fn nolazy_callback_allocates(ctx: &mut Ctx) {
    // The seed's strict rule: the allocator's own section inside the walk's
    // is rejected, so its linear-map update stays deferred (patch 3's bug).
    let Some(env) = begin(ctx, NestingPolicy::Strict) else { return };
    let mm = env.mm();
    let scratch = ScratchVa::take(ctx, NOLAZY_NR_PAGES);
    let start = scratch.start();
    let vas: Vec<VirtAddr> = scratch.pages().collect();
    // The leaf table first, so that any frame still used at the end leaked.
    if pte_alloc(env, start).is_err() {
        return ctx.skip("out of frames");
    }
    let used_before = frames_used(env);
    let mut frames: Vec<PhysAddr> = Vec::with_capacity(vas.len());
    let order = ctx.order();
    let populate = |pte: &mut PteRef| -> Result<(), AllocError> {
        kcheck!(
            ctx,
            Judge::State,
            !mm.arch_in_lazy_mmu_mode(),
            "nolazy_callback_allocates: callback for {} runs in lazy mode",
            pte.va
        );
        let pa = mm.alloc_page()?;
        frames.push(pa);
        let linear_va = linear(env, pa);
        let touched = env.write(linear_va, tag_of(pa)).and_then(|()| env.read(linear_va));
        kcheck_eq!(
            ctx,
            Judge::Mmu,
            Loaded(touched),
            Loaded::tag_of(pa),
            "nolazy_callback_allocates: fresh frame via linear map"
        );
        mm.set_pte_at(pte.va, pte.ptep, page_entry(env, pa, Prot::KERNEL_RW));
        Ok(())
    };
    let size = NOLAZY_NR_PAGES * PAGE_SIZE;
    let result = match order {
        Order::Fixed => mm.apply_to_page_range_nolazy(start, size, populate),
        Order::Buggy => mm.apply_to_page_range(start, size, populate),
    };
    kcheck_eq!(ctx, Judge::State, result, Ok(()), "nolazy_callback_allocates: apply result");
    for (&va, &pa) in vas.iter().zip(&frames) {
        kcheck_eq!(ctx, Judge::Mmu, load(env, va), Loaded::tag_of(pa), "nolazy_callback_allocates: read through {va}");
    }
    release(env, vas.iter().copied(), &frames);
    check_no_leak(ctx, env, used_before, "nolazy_callback_allocates");
}

ktest_case!(
    apply_range,
    nolazy_callback_allocates,
    desc = "apply_to_page_range_nolazy calls back outside lazy mode: a callback's fresh frame is usable at once",
    plan = nolazy_callback_allocates_plan,
    variants = &Flavour::ALL,
    nolazy_callback_allocates
);

/// Pages mapped before the allocation, and as many after it.
const PAUSE_NR_HALF: u64 = 4;

fn allocator_pauses_lazy_plan(flavour: Flavour, target: Target) -> Plan {
    // The strict round allocates inside the section and nests the
    // allocator's; the permissive round's allocator leave ends the caller's
    // section, so its disable underflows and the section is no longer lazy.
    // Its later writes are then neither queued nor barrier-batched (counters,
    // where the flavour batches either), and the fresh frame is unusable at
    // once where the allocator's update is deferred.
    let judges: &'static [Judge] = match flavour {
        Flavour::Queued | Flavour::DeferredPte => &[Judge::Mmu, Judge::State, Judge::Counters, Judge::Sanitizer],
        Flavour::Arm64 if model_hides_unbarriered_stores(flavour, target) => {
            &[Judge::Mmu, Judge::State, Judge::Counters, Judge::Sanitizer]
        }
        Flavour::Arm64 => &[Judge::State, Judge::Counters, Judge::Sanitizer],
        Flavour::None | Flavour::TlbBatch => &[Judge::State, Judge::Sanitizer],
    };
    let rules = &[Rule::AllocInLazy, Rule::NestedEnter, Rule::DisableWithoutEnable];
    Plan { fixed: Applies::Yes, buggy: BuggyExpect::Caught { judges, rules } }
}

/// How a section gets a frame.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Allocation {
    /// `alloc_pages_pause_lazy`: pause, allocate, resume (patch 5).
    PausingLazy,
    /// `alloc_page` while lazy (the bug).
    WhileLazy,
}

/// Inside a section, an allocation that pauses lazy mode gets a frame usable
/// at once and leaves the section lazy, its later writes still batched.
fn allocator_pauses_lazy(ctx: &mut Ctx) {
    let Some(env) = begin(ctx, NestingPolicy::Counter) else { return };
    match ctx.order() {
        Order::Fixed => allocate_in_section(ctx, env, NestingPolicy::Counter, Allocation::PausingLazy),
        Order::Buggy => {
            // The seed's strict rule: the allocator's update stays deferred.
            allocate_in_section(ctx, env, NestingPolicy::Strict, Allocation::WhileLazy);
            // 1ef3095b1405's permissive nesting: the allocator's leave ends
            // the caller's section.
            allocate_in_section(ctx, env, NestingPolicy::PermissiveFlag, Allocation::WhileLazy);
        }
    }
}

/// One section: map half the pages, allocate, use the frame, map the rest.
fn allocate_in_section(ctx: &mut Ctx, env: &'static dyn Env, policy: NestingPolicy, allocation: Allocation) {
    let mm = env.mm();
    mm.set_nesting_policy(policy);
    let vas: Vec<VirtAddr> = ScratchVa::take(ctx, 2 * PAUSE_NR_HALF).pages().collect();
    let mut mapped: Vec<(VirtAddr, PhysAddr, PhysAddr)> = Vec::with_capacity(vas.len());
    for &va in &vas {
        match (tagged_frame(env), pte_alloc(env, va)) {
            (Ok(pa), Ok(ptep)) => mapped.push((va, ptep, pa)),
            (Ok(pa), Err(_)) => return unwind(ctx, env, &mapped, &[pa]),
            (Err(_), _) => return unwind(ctx, env, &mapped, &[]),
        }
    }
    let (before, after) = mapped.split_at(PAUSE_NR_HALF as usize);
    mm.lazy_mmu_mode_enable();
    for &(va, ptep, pa) in before {
        mm.set_pte_at(va, ptep, page_entry(env, pa, Prot::KERNEL_RW));
    }
    let fresh = match allocation {
        Allocation::PausingLazy => mm.alloc_pages_pause_lazy(),
        Allocation::WhileLazy => mm.alloc_page(),
    };
    let fresh = fresh.ok();
    if let Some(pa) = fresh {
        let linear_va = linear(env, pa);
        let touched = env.write(linear_va, tag_of(pa)).and_then(|()| env.read(linear_va));
        kcheck_eq!(ctx, Judge::Mmu, Loaded(touched), Loaded::tag_of(pa), "allocator_pauses_lazy: fresh frame at once");
    }
    kcheck!(ctx, Judge::State, mm.is_lazy_mmu_mode_active(), "allocator_pauses_lazy: section lazy after allocating");
    let counters_before = mm.counters_this_cpu();
    for &(va, ptep, pa) in after {
        mm.set_pte_at(va, ptep, page_entry(env, pa, Prot::KERNEL_RW));
    }
    let counters = mm.counters_this_cpu();
    let (deferred, barriers) =
        (counters.deferred - counters_before.deferred, counters.barriers - counters_before.barriers);
    let flavour = mm.flavour();
    if flavour.defers_pte_writes() {
        kcheck_eq!(ctx, Judge::Counters, deferred, PAUSE_NR_HALF, "allocator_pauses_lazy: later writes queued");
    }
    if flavour == mm::Flavour::Arm64 {
        kcheck_eq!(ctx, Judge::Counters, barriers, 0, "allocator_pauses_lazy: barriers of later writes");
    }
    mm.lazy_mmu_mode_disable();
    for &(va, _, pa) in &mapped {
        kcheck_eq!(ctx, Judge::Mmu, load(env, va), Loaded::tag_of(pa), "allocator_pauses_lazy: read through {va}");
    }
    unwind(ctx, env, &mapped, fresh.as_slice());
}

/// Unmaps and frees what a section round built; skips the case if the
/// round could not be set up.
fn unwind(ctx: &mut Ctx, env: &dyn Env, mapped: &[(VirtAddr, PhysAddr, PhysAddr)], loose: &[PhysAddr]) {
    let frames: Vec<PhysAddr> = mapped.iter().map(|&(_, _, pa)| pa).chain(loose.iter().copied()).collect();
    release(env, mapped.iter().map(|&(va, _, _)| va), &frames);
    if mapped.len() < 2 * PAUSE_NR_HALF as usize {
        ctx.skip("out of frames");
    }
}

ktest_case!(
    apply_range,
    allocator_pauses_lazy,
    desc = "an allocation that pauses lazy mode in a section gets a usable frame; later writes stay batched",
    plan = allocator_pauses_lazy_plan,
    variants = &Flavour::ALL,
    allocator_pauses_lazy
);
