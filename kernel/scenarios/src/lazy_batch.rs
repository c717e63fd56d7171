//! Suite `lazy_batch` (docs/scenarios.md): what lazy mode is for, and that it is
//! kept. The cases share the small helpers here: scratch pages with their
//! leaf tables allocated outside any section, tagged frames handed back on
//! every path, and a read-back of many pages that reports once.

mod barriers;
mod batch_full;
mod irq;
mod queued;
mod vmap;

use alloc::vec::Vec;

use ktest::{kcheck, kcheck_eq, ktest_case, Applies, BuggyExpect, Ctx, Judge, Order, Plan, Target};
use mm::{Flavour, PhysAddr, Prot, TlbScope, VirtAddr, PAGE_SIZE};

use crate::support::{env, load, page_entry, tagged_frame, Loaded, ScratchVa};
use crate::Env;

/// A scratch page under test: its VA and the leaf entry that maps it.
#[derive(Clone, Copy)]
struct ScratchPage {
    va: VirtAddr,
    ptep: PhysAddr,
}

/// `nr_pages` scratch pages of this case, their leaf tables allocated now,
/// outside any section (as `apply_to_pmd_range` does).
fn scratch_pages(ctx: &Ctx, nr_pages: usize) -> Option<Vec<ScratchPage>> {
    let env = env(ctx);
    let tables = env.mm().page_tables();
    ScratchVa::take(ctx, nr_pages as u64)
        .pages()
        .map(|va| tables.pte_alloc(va).ok().map(|ptep| ScratchPage { va, ptep }))
        .collect()
}

/// Clears contiguous scratch pages outside any section and flushes them on
/// every CPU, so the next case finds no mapping and no stale translation.
fn unmap_scratch(env: &dyn Env, pages: &[ScratchPage]) {
    let mm = env.mm();
    for page in pages {
        mm.pte_clear(page.va, page.ptep);
    }
    if let (Some(first), Some(last)) = (pages.first(), pages.last()) {
        mm.flush_tlb_kernel_range(first.va, last.va.add(PAGE_SIZE), TlbScope::Broadcast);
    }
}

/// `nr_frames` tagged frames, or none: on failure the ones already taken go
/// back (frames are counted between cases).
fn tagged_frames(env: &dyn Env, nr_frames: usize) -> Option<Vec<PhysAddr>> {
    let mut frames = Vec::with_capacity(nr_frames);
    for _ in 0..nr_frames {
        match tagged_frame(env) {
            Ok(pa) => frames.push(pa),
            Err(_) => {
                free_frames(env, &frames);
                return None;
            }
        }
    }
    Some(frames)
}

fn free_frames(env: &dyn Env, frames: &[PhysAddr]) {
    for &pa in frames {
        let _ = env.mm().free_page(pa);
    }
}

/// Reads every page through its mapping and checks it shows its frame's
/// tag. One failure per call, naming the first wrong page and how many were
/// wrong, so 512 pages cannot flood the port.
fn check_tags(ctx: &mut Ctx, judge: Judge, what: &str, pages: &[(VirtAddr, PhysAddr)]) -> bool {
    let env = env(ctx);
    let mut wrong = pages.iter().filter_map(|&(va, pa)| {
        let seen = load(env, va);
        (seen != Loaded::tag_of(pa)).then_some((va, pa, seen))
    });
    let Some((va, pa, seen)) = wrong.next() else {
        return true;
    };
    let nr_wrong = 1 + wrong.count();
    ctx.fail(
        judge,
        format_args!(
            "{what}: {nr_wrong} of {} pages wrong; first {va}: expected {}, saw {seen}",
            pages.len(),
            Loaded::tag_of(pa)
        ),
    );
    false
}

fn flush_keeps_lazy_plan(_flavour: Flavour, _target: Target) -> Plan {
    Plan { fixed: Applies::Yes, buggy: BuggyExpect::Caught { judges: &[Judge::State], rules: &[] } }
}

/// `flush()` inside a section applies what is pending and the CPU stays
/// lazy; the buggy flush ends the section (in_lazy goes false).
fn flush_keeps_lazy(ctx: &mut Ctx) {
    let env = env(ctx);
    let mm = env.mm();
    let va = ScratchVa::take(ctx, 1).start();
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
    kcheck_eq!(ctx, Judge::Mmu, load(env, va), Loaded::tag_of(frame), "flush_keeps_lazy: read after flush()");
    if mm.arch_in_lazy_mmu_mode() {
        mm.arch_leave_lazy_mmu_mode();
    }
    mm.pte_clear(va, ptep);
    mm.flush_tlb_page(va, TlbScope::Broadcast);
    let _ = mm.free_page(frame);
}

ktest_case!(
    lazy_batch,
    flush_keeps_lazy,
    desc = "arch_flush_lazy_mmu_mode() applies what is pending and the CPU stays lazy",
    plan = flush_keeps_lazy_plan,
    variants = &Flavour::ALL,
    flush_keeps_lazy
);
