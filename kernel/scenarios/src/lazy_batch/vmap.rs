//! `lazy_batch.vmap_vunmap` and `lazy_batch.change_protection`: the kernel
//! range operations whose PTE loops run in lazy sections, and the TLB flush
//! each owes once its section is over.

use alloc::vec::Vec;
use core::convert::Infallible;

use ktest::{kcheck, kcheck_eq, ktest_case, Applies, BuggyExpect, Ctx, Judge, Order, Plan, Target};
use mm::{Fault, FaultKind, Flavour, PhysAddr, Prot, TlbScope, VirtAddr, PAGE_SIZE};

use super::{check_tags, free_frames, tagged_frames};
use crate::support::{env, tag_of};
use crate::Env;

const NR_PAGES: usize = 8;

/// Both cases lose the caller's flush. tlb-batch does not need it: its
/// backend invalidates every overwritten translation itself.
fn lost_flush_plan(flavour: Flavour, _target: Target) -> Plan {
    let buggy = if flavour == Flavour::TlbBatch {
        BuggyExpect::Harmless("tlb-batch invalidates each overwritten translation itself (powerpc hash)")
    } else {
        BuggyExpect::Caught { judges: &[Judge::Mmu], rules: &[] }
    };
    Plan { fixed: Applies::Yes, buggy }
}

/// `NR_PAGES` tagged frames and the vmap that shows them read-write.
struct Vmapped {
    va: VirtAddr,
    frames: Vec<PhysAddr>,
}

impl Vmapped {
    /// `None` (frames handed back) when frames or vmalloc space run out.
    fn new(env: &dyn Env) -> Option<Vmapped> {
        let frames = tagged_frames(env, NR_PAGES)?;
        let Ok(va) = env.mm().vmap(&frames, Prot::KERNEL_RW) else {
            free_frames(env, &frames);
            return None;
        };
        Some(Vmapped { va, frames })
    }

    /// Each page's VA with the frame it must show.
    fn pages(&self) -> Vec<(VirtAddr, PhysAddr)> {
        self.frames.iter().enumerate().map(|(index, &pa)| (self.va.add(index as u64 * PAGE_SIZE), pa)).collect()
    }
}

/// vmap pages and read them through the mapping; after vunmap a touch of
/// each faults. The buggy vunmap clears the PTEs but loses its flush, so
/// the TLB still reads the frames.
fn vmap_vunmap(ctx: &mut Ctx) {
    let env = env(ctx);
    let mm = env.mm();
    let Some(vmapped) = Vmapped::new(env) else {
        return ctx.skip("out of frames or vmalloc space");
    };
    let (va, pages) = (vmapped.va, vmapped.pages());
    check_tags(ctx, Judge::Mmu, "vmap_vunmap: pages read through the vmap", &pages);
    match ctx.order() {
        Order::Fixed => {
            let unmapped = mm.vunmap(va);
            kcheck_eq!(ctx, Judge::State, unmapped, Ok(()), "vmap_vunmap: vunmap");
        }
        Order::Buggy => {
            // vunmap's own loop, without the flush_tlb_kernel_range after it.
            let _ = mm.apply_to_existing_page_range(va, NR_PAGES as u64 * PAGE_SIZE, |pte| {
                mm.pte_clear(pte.va, pte.ptep);
                Ok::<(), Infallible>(())
            });
        }
    }
    let readable: Vec<VirtAddr> = pages.iter().map(|&(va, _)| va).filter(|&va| env.read(va).is_ok()).collect();
    kcheck!(
        ctx,
        Judge::Mmu,
        readable.is_empty(),
        "vmap_vunmap: {} of {NR_PAGES} pages still readable after vunmap, first at {}",
        readable.len(),
        readable.first().copied().unwrap_or_default()
    );
    if ctx.order() == Order::Buggy {
        // Releases the area; its flush removes the stale entries.
        let _ = mm.vunmap(va);
    }
    free_frames(env, &vmapped.frames);
}

/// Pages made read-only by change_protection in a section, then (after
/// leave: patch 1's order) the flush it hands back: a store to each
/// faults, a read still shows its frame. The buggy caller skips the flush,
/// so stores go through the stale writable entries.
fn change_protection(ctx: &mut Ctx) {
    let env = env(ctx);
    let mm = env.mm();
    let Some(vmapped) = Vmapped::new(env) else {
        return ctx.skip("out of frames or vmalloc space");
    };
    let (va, pages) = (vmapped.va, vmapped.pages());
    // Warm the TLB with stores: an x86 entry loaded by a read may re-walk
    // on the first store (docs/tcg.md, "How the cases work around it").
    let warm = pages.iter().map(|&(va, pa)| env.write(va, tag_of(pa))).find(Result::is_err);
    kcheck_eq!(ctx, Judge::Mmu, warm, None, "change_protection: store through the writable vmap");

    mm.lazy_mmu_mode_enable();
    let flush = mm.change_protection(va, NR_PAGES as u64 * PAGE_SIZE, Prot::KERNEL_RO);
    mm.lazy_mmu_mode_disable();
    match flush {
        Ok(flush) if ctx.order() == Order::Fixed => mm.flush_tlb(flush, TlbScope::Broadcast),
        Ok(flush) => flush.ignore(),
        Err(error) => {
            ctx.fail(Judge::State, format_args!("change_protection: {error:?}"));
        }
    }

    let not_protected: Vec<(VirtAddr, Result<(), Fault>)> = pages
        .iter()
        .map(|&(va, pa)| (va, env.write(va, tag_of(pa))))
        .filter(|(_, stored)| !matches!(stored, Err(Fault { kind: FaultKind::WriteProtected, .. })))
        .collect();
    kcheck!(
        ctx,
        Judge::Mmu,
        not_protected.is_empty(),
        "change_protection: {} of {NR_PAGES} stores not write-protected, first at {}",
        not_protected.len(),
        not_protected.first().map(|&(va, _)| va).unwrap_or_default()
    );
    check_tags(ctx, Judge::Mmu, "change_protection: read-only pages keep their frames", &pages);
    let unmapped = mm.vunmap(va);
    kcheck_eq!(ctx, Judge::State, unmapped, Ok(()), "change_protection: vunmap");
    free_frames(env, &vmapped.frames);
}

ktest_case!(
    lazy_batch,
    vmap_vunmap,
    desc = "vmap pages read their frames; after vunmap (and its flush) every touch faults",
    plan = lost_flush_plan,
    variants = &Flavour::ALL,
    vmap_vunmap
);
ktest_case!(
    lazy_batch,
    change_protection,
    desc = "change_protection to read-only in a section, flushed after leave (patch 1): stores fault",
    plan = lost_flush_plan,
    variants = &Flavour::ALL,
    change_protection
);
