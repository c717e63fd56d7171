//! `lazy_batch.barriers_batched`: what the arm64 flavour's lazy mode is for
//! (5fdd05efa1cd). Outside a section every kernel PTE store is followed by
//! its own `dsb ishst; isb`; inside one the barrier is only marked pending
//! and issued once at leave.

use alloc::vec::Vec;

use ktest::{kcheck_eq, ktest_case, Applies, BuggyExpect, Ctx, Judge, Order, Plan, Target};
use mm::{Flavour, InjectedBug, PhysAddr, Prot, VirtAddr};

use super::{check_tags, free_frames, scratch_pages, tagged_frames, unmap_scratch, ScratchPage};
use crate::support::{env, model_hides_unbarriered_stores, page_entry, PAGES_PER_LEAF_TABLE};

/// Pages mapped in one section: one full leaf table (a scratch range
/// starts on a leaf-table boundary).
const NR_PAGES: usize = PAGES_PER_LEAF_TABLE as usize;

/// What the buggy form gets wrong about the batched barrier.
#[derive(Clone, Copy, PartialEq, Eq)]
enum BarrierBug {
    /// A barrier per PTE inside the section: batching lost (counters).
    PerPte,
    /// The pending barrier forgotten at leave: the stores may never reach
    /// the walker. Only the model's store buffer can show it (TCG makes
    /// every store visible at once), so it is the buggy form there.
    Dropped,
}

fn barrier_bug(target: Target) -> BarrierBug {
    if model_hides_unbarriered_stores(Flavour::Arm64, target) {
        BarrierBug::Dropped
    } else {
        BarrierBug::PerPte
    }
}

fn barriers_batched_plan(flavour: Flavour, target: Target) -> Plan {
    if flavour != Flavour::Arm64 {
        return Plan {
            fixed: Applies::No("only the arm64 flavour batches barriers"),
            buggy: BuggyExpect::NotApplicable("no batched barrier to lose"),
        };
    }
    let buggy = match barrier_bug(target) {
        // Also no barrier at leave at all: the section's count is 0, not 1.
        BarrierBug::Dropped => BuggyExpect::Caught { judges: &[Judge::Counters, Judge::HostModel], rules: &[] },
        BarrierBug::PerPte => BuggyExpect::Caught { judges: &[Judge::Counters], rules: &[] },
    };
    Plan { fixed: Applies::Yes, buggy }
}

/// Mapping 512 kernel pages in one arm64 section costs one `dsb ishst;
/// isb`, against 512 outside lazy mode, and every page reads its frame.
fn barriers_batched(ctx: &mut Ctx) {
    let env = env(ctx);
    let Some(frames) = tagged_frames(env, NR_PAGES) else {
        return ctx.skip("out of frames");
    };
    // Mapped outside lazy mode, then inside.
    let (Some(eager), Some(lazy)) = (scratch_pages(ctx, NR_PAGES), scratch_pages(ctx, NR_PAGES)) else {
        free_frames(env, &frames);
        return ctx.skip("out of frames for page tables");
    };
    map_and_count(ctx, &eager, &lazy, &frames);
    unmap_scratch(env, &eager);
    unmap_scratch(env, &lazy);
    free_frames(env, &frames);
}

fn map_and_count(ctx: &mut Ctx, eager: &[ScratchPage], lazy: &[ScratchPage], frames: &[PhysAddr]) {
    let env = env(ctx);
    let mm = env.mm();
    let entry = |pa| page_entry(env, pa, Prot::KERNEL_RW);

    let before = mm.counters_this_cpu().barriers;
    for (page, &pa) in eager.iter().zip(frames) {
        mm.set_pte_at(page.va, page.ptep, entry(pa));
    }
    let eager_barriers = mm.counters_this_cpu().barriers - before;
    kcheck_eq!(ctx, Judge::Counters, eager_barriers, NR_PAGES as u64, "barriers_batched: barriers outside lazy");

    let bug = (ctx.order() == Order::Buggy).then(|| barrier_bug(ctx.target()));
    if bug == Some(BarrierBug::Dropped) {
        mm.inject_bug(InjectedBug::DropPendingBarrier);
    }
    let before = mm.counters_this_cpu().barriers;
    mm.arch_enter_lazy_mmu_mode();
    for (page, &pa) in lazy.iter().zip(frames) {
        mm.set_pte_at(page.va, page.ptep, entry(pa));
        if bug == Some(BarrierBug::PerPte) {
            // The pre-5fdd05efa1cd backend: each store pays its barrier.
            mm.arch_flush_lazy_mmu_mode();
        }
    }
    let barriers_inside = mm.counters_this_cpu().barriers - before;
    mm.arch_leave_lazy_mmu_mode();
    let barriers_section = mm.counters_this_cpu().barriers - before;
    mm.clear_injected_bugs();
    kcheck_eq!(ctx, Judge::Counters, barriers_inside, 0, "barriers_batched: barriers before leave");
    kcheck_eq!(ctx, Judge::Counters, barriers_section, 1, "barriers_batched: barriers for the whole section");

    // On the model a PTE store reaches the walker only after its barrier
    // (arm64 format), so a wrong read there is the model's verdict on
    // store visibility; on QEMU it is the MMU's.
    let walker = if ctx.target().on_host_model() { Judge::HostModel } else { Judge::Mmu };
    let pairs = |pages: &[ScratchPage]| -> Vec<(VirtAddr, PhysAddr)> {
        pages.iter().zip(frames).map(|(page, &pa)| (page.va, pa)).collect()
    };
    check_tags(ctx, walker, "barriers_batched: pages mapped outside lazy", &pairs(eager));
    check_tags(ctx, walker, "barriers_batched: pages mapped in the section", &pairs(lazy));
}

ktest_case!(
    lazy_batch,
    barriers_batched,
    desc = "512 kernel PTEs in one arm64 section cost one dsb ishst; isb, not 512",
    plan = barriers_batched_plan,
    variants = &Flavour::ALL,
    barriers_batched
);
