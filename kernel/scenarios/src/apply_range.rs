//! Suite `apply_range` (docs/scenarios.md): no page allocation inside lazy mode
//! (the seed's patches 3 and 5). debug_pagealloc is on for every case, so
//! an allocation maps its frame back into the linear map through the same
//! `set_pte` path the walk's own updates take; the harness turns it off
//! after each case.

mod allocate;
mod error;
mod free;
mod free_table;

use ktest::{Ctx, Judge};
use mm::{Level, MapError, NestingPolicy, PhysAddr, PteValue, Switch, TlbScope, VirtAddr};

use crate::env::Env;
use crate::support::env;

/// Starts a case of this suite: debug_pagealloc on, `policy` for nesting.
/// `None` (the case is skipped) when the linear map cannot be changed.
fn begin(ctx: &mut Ctx, policy: NestingPolicy) -> Option<&'static dyn Env> {
    let env = env(ctx);
    let mm = env.mm();
    mm.set_nesting_policy(policy);
    // Unmapping every free frame is set-up, not the case: under flavour
    // `none` it costs one full flush instead of a broadcast invalidation
    // per frame (tlb-batch), tens of seconds under TCG.
    let flavour = mm.flavour();
    mm.set_flavour(mm::Flavour::None);
    let switched = mm.set_debug_pagealloc(Switch::On);
    mm.set_flavour(flavour);
    if let Err(error) = switched {
        ctx.skip(format_args!("debug_pagealloc unavailable: {error}"));
        return None;
    }
    Some(env)
}

/// The frame a leaf PTE maps, if it maps one.
fn frame_of(env: &dyn Env, value: PteValue) -> Option<PhysAddr> {
    env.mm().pte_format().decode(Level::Pte, value).leaf().map(|(pa, _)| pa)
}

/// The PTE of `va` if its leaf table exists; allocates nothing.
fn ptep_of(env: &dyn Env, va: VirtAddr) -> Option<PhysAddr> {
    env.mm().page_tables().pte_offset(va).ok().flatten()
}

/// The PTE of `va`, allocating its tables outside any section. Table pages
/// come through `Mm`, as `apply_to_page_range`'s do, so debug_pagealloc maps
/// them into the linear map before they are zeroed.
fn pte_alloc(env: &dyn Env, va: VirtAddr) -> Result<PhysAddr, MapError> {
    env.mm().pte_alloc_kernel(va)
}

/// Clears `va`'s PTE and flushes it, outside any section; returns the
/// frame it mapped so the caller can free it.
fn unmap(env: &dyn Env, va: VirtAddr) -> Option<PhysAddr> {
    let mm = env.mm();
    let ptep = ptep_of(env, va)?;
    let pa = frame_of(env, mm.ptep_get(ptep))?;
    mm.pte_clear(va, ptep);
    mm.flush_tlb_page(va, TlbScope::Broadcast);
    Some(pa)
}

/// Unmaps every page of `vas` and frees what they mapped, then the frames
/// in `loose` (allocated but maybe never mapped, or already freed: a second
/// free is refused by the allocator and ignored here).
fn release(env: &dyn Env, vas: impl IntoIterator<Item = VirtAddr>, loose: &[PhysAddr]) {
    let mm = env.mm();
    let mapped: alloc::vec::Vec<PhysAddr> = vas.into_iter().filter_map(|va| unmap(env, va)).collect();
    for &pa in mapped.iter().chain(loose) {
        if mm.frames().lock().is_allocated(pa) == Ok(true) {
            let _ = mm.free_page(pa);
        }
    }
}

/// Frames the allocator holds now, for leak checks.
fn frames_used(env: &dyn Env) -> u64 {
    env.mm().frames().lock().stats().used
}

/// Fails `judge` when frames are used beyond `before`: the case leaked.
fn check_no_leak(ctx: &mut Ctx, env: &dyn Env, before: u64, case: &str) {
    let after = frames_used(env);
    ktest::kcheck_eq!(ctx, Judge::State, after, before, "{case}: frames in use after cleanup");
}
