//! A walk that stops part-way: the callback fails, or the frame it
//! allocates cannot be had. Lazy mode must be left on the way out, with
//! everything before the failing page applied and nothing left queued.

use alloc::vec::Vec;

use ktest::{kcheck, kcheck_eq, ktest_case, Applies, BuggyExpect, Ctx, Judge, Order, Plan, Target};
use mm::{AllocError, ApplyError, Flavour, NestingPolicy, PhysAddr, Prot, PteRef, Rule, VirtAddr, PAGE_SIZE};

use super::{begin, check_no_leak, frames_used, pte_alloc, ptep_of, release};
use crate::env::Env;
use crate::support::{linear, load, model_hides_unbarriered_stores, page_entry, tag_of, Loaded, ScratchVa};

const MIDWAY_NR_PAGES: u64 = 8;
/// The page at which the walk stops.
const MIDWAY_FAILS_AT: u64 = 5;

/// Why the callback stopped the walk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stop {
    Refused,
    Alloc(AllocError),
}

/// What fails at page `MIDWAY_FAILS_AT`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Failing {
    Callback,
    Allocation,
}

fn error_midway_plan(flavour: Flavour, target: Target) -> Plan {
    // The section the error skipped leaving stays open (state, and the
    // sanitizer at the case's end); the pages mapped before the error stay
    // queued, or behind their barrier on the arm64 model.
    let judges: &'static [Judge] = if flavour.defers_pte_writes() || model_hides_unbarriered_stores(flavour, target) {
        &[Judge::State, Judge::Sanitizer, Judge::Mmu]
    } else {
        &[Judge::State, Judge::Sanitizer]
    };
    Plan { fixed: Applies::Yes, buggy: BuggyExpect::Caught { judges, rules: &[Rule::SectionLeftOpen] } }
}

/// A callback that fails at page k, and a frame allocation that fails at
/// page k: the error comes back, lazy mode is left, the pages before k are
/// mapped, nothing stays queued and no frame leaks.
fn error_midway(ctx: &mut Ctx) {
    let Some(env) = begin(ctx, NestingPolicy::Counter) else { return };
    for failing in [Failing::Callback, Failing::Allocation] {
        stop_midway(ctx, env, failing);
    }
}

fn stop_midway(ctx: &mut Ctx, env: &'static dyn Env, failing: Failing) {
    let mm = env.mm();
    let scratch = ScratchVa::take(ctx, MIDWAY_NR_PAGES);
    let start = scratch.start();
    let vas: Vec<VirtAddr> = scratch.pages().collect();
    if pte_alloc(env, start).is_err() {
        return ctx.skip("out of frames");
    }
    let used_before = frames_used(env);
    let mut frames: Vec<PhysAddr> = Vec::with_capacity(vas.len());
    if failing == Failing::Allocation {
        mm.frames().lock().fail_after(MIDWAY_FAILS_AT);
    }
    let order = ctx.order();
    let populate = |pte: &mut PteRef| -> Result<(), Stop> {
        if failing == Failing::Callback && pte.va == vas[MIDWAY_FAILS_AT as usize] {
            return Err(Stop::Refused);
        }
        let pa = mm.alloc_pages_pause_lazy().map_err(Stop::Alloc)?;
        frames.push(pa);
        let tagged = env.write(linear(env, pa), tag_of(pa));
        kcheck_eq!(ctx, Judge::Mmu, tagged, Ok(()), "error_midway: tagging a fresh frame");
        mm.set_pte_at(pte.va, pte.ptep, page_entry(env, pa, Prot::KERNEL_RW));
        Ok(())
    };
    let result = match order {
        Order::Fixed => mm.apply_to_page_range(start, MIDWAY_NR_PAGES * PAGE_SIZE, populate),
        Order::Buggy => apply_returning_early(env, &vas, populate),
    };
    mm.frames().lock().clear_fail_injection();
    let error = match failing {
        Failing::Callback => Stop::Refused,
        Failing::Allocation => Stop::Alloc(AllocError::Injected),
    };
    let at = vas[MIDWAY_FAILS_AT as usize];
    kcheck_eq!(ctx, Judge::State, result, Err(ApplyError::Callback { at, error }), "error_midway: result");
    kcheck!(ctx, Judge::State, !mm.arch_in_lazy_mmu_mode(), "error_midway: still lazy after the error");
    let state = mm.lazy_state(mm.cpu_id());
    kcheck!(ctx, Judge::State, !state.has_pending, "error_midway: work still deferred after the error");
    for (&va, &pa) in vas.iter().zip(&frames) {
        kcheck_eq!(ctx, Judge::Mmu, load(env, va), Loaded::tag_of(pa), "error_midway: page before the error at {va}");
    }
    for &va in &vas[MIDWAY_FAILS_AT as usize..] {
        kcheck!(ctx, Judge::Mmu, env.read(va).is_err(), "error_midway: {va} mapped past the error");
    }
    // The walk has returned: a section still open here crosses the case's
    // boundary. The sanitizer reports it, and it is closed so that the
    // clean-up below runs outside lazy mode.
    mm.check_quiescent();
    release(env, vas.iter().copied(), &frames);
    check_no_leak(ctx, env, used_before, "error_midway");
}

/// The PTE loop as it was before it left lazy mode on every path: an error
/// returns at once, from inside the section. The leaf table exists.
fn apply_returning_early<E>(
    env: &dyn Env,
    vas: &[VirtAddr],
    mut f: impl FnMut(&mut PteRef) -> Result<(), E>,
) -> Result<(), ApplyError<E>> {
    let mm = env.mm();
    mm.arch_enter_lazy_mmu_mode();
    for &va in vas {
        let ptep = ptep_of(env, va).ok_or(ApplyError::OutOfFrames { at: va })?;
        let mut pte = PteRef { va, ptep, value: mm.ptep_get(ptep) };
        f(&mut pte).map_err(|error| ApplyError::Callback { at: va, error })?;
    }
    mm.arch_leave_lazy_mmu_mode();
    Ok(())
}

ktest_case!(
    apply_range,
    error_midway,
    desc = "a callback or allocation failing midway: error returned, mode left, nothing queued, no frame leaked",
    plan = error_midway_plan,
    variants = &Flavour::ALL,
    error_midway
);
