//! Suite `flush_order` (docs/scenarios.md): a TLB flush must take effect after
//! the PTE updates issued before it (the seed's patches 1 and 2, and Jann
//! Horn's review that dropped them). `deferred-pte` is the one flavour that
//! breaks this ordering contract, so only there does the pre-patch order
//! (flush, then leave) lose a flush; under the other four it is harmless.
//!
//! This module holds what the cases share: the plan for the ordering
//! contract, the pages a case maps and releases, how a section ends in
//! either order, and what a touch of a page must show.

mod arm64;
mod bbm;
mod contract;
mod full_flush;
mod migrate;
mod pagemap;
mod remap;
mod remote;
mod shootdown;

use alloc::vec::Vec;

use ktest::{kcheck, Applies, BuggyExpect, Ctx, Judge, Order, Plan, Target};
use mm::{Fault, FaultKind, Flavour, PhysAddr, Prot, PteValue, Rule, TlbScope, VirtAddr, PAGE_SIZE};

use crate::support::{env, page_entry, tag_of, tagged_frame, Loaded, ScratchVa};
use crate::Env;

/// Why the pre-patch order does no harm under a flavour that keeps the
/// contract: the review's point, which the `detects_bug` self-test shows.
const KEEPS_CONTRACT: &str =
    "updates and flushes stay in program order, so the flush follows them (Jann Horn's review of patches 1-2)";

/// The plan of every case whose buggy form is "flush before the updates
/// landed": under `deferred-pte`, the sanitizer reports the flush and the
/// MMU shows the stale translation it left; harmless elsewhere.
fn ordering_contract_plan(flavour: Flavour, _target: Target) -> Plan {
    let buggy = if flavour.keeps_ordering_contract() {
        BuggyExpect::Harmless(KEEPS_CONTRACT)
    } else {
        BuggyExpect::Caught { judges: &[Judge::Mmu, Judge::Sanitizer], rules: &[Rule::FlushBeforePendingUpdates] }
    };
    Plan { fixed: Applies::Yes, buggy }
}

/// One page a case maps: scratch VA, its leaf entry, and its first frame.
#[derive(Clone, Copy)]
struct Page {
    va: VirtAddr,
    ptep: PhysAddr,
    frame: PhysAddr,
}

/// Contiguous scratch pages a case maps writable and touched, plus any spare
/// frames it remaps them to; [`Pages::release`] undoes all of it.
struct Pages {
    pages: Vec<Page>,
    spare_frames: Vec<PhysAddr>,
}

impl Pages {
    /// Maps `nr_pages` scratch pages of this case, each to its own tagged
    /// frame, outside any section, and writes each tag back through the
    /// mapping so the TLB holds a writable, dirty translation.
    fn map(ctx: &Ctx, nr_pages: u64) -> Option<Pages> {
        let env = env(ctx);
        let mut pages = Pages { pages: Vec::new(), spare_frames: Vec::new() };
        for va in ScratchVa::take(ctx, nr_pages).pages() {
            let Ok(frame) = tagged_frame(env) else {
                pages.release(env);
                return None;
            };
            let Ok(ptep) = env.mm().page_tables().pte_alloc(va) else {
                let _ = env.mm().free_page(frame);
                pages.release(env);
                return None;
            };
            env.mm().set_pte_at(va, ptep, page_entry(env, frame, Prot::KERNEL_RW));
            pages.pages.push(Page { va, ptep, frame });
            if env.write(va, tag_of(frame)).is_err() {
                pages.release(env);
                return None;
            }
        }
        Some(pages)
    }

    /// A tagged frame to remap a page to, freed with the pages. Allocate it
    /// before any section: allocation inside one is a rule of its own.
    fn spare_frame(&mut self, env: &dyn Env) -> Option<PhysAddr> {
        let frame = tagged_frame(env).ok()?;
        self.spare_frames.push(frame);
        Some(frame)
    }

    /// One mapped page and a spare frame to repoint it to (the shape of
    /// every frame change here), or `None` with nothing left allocated.
    fn map_one_with_spare(ctx: &Ctx) -> Option<(Pages, PhysAddr)> {
        let env = env(ctx);
        let mut pages = Pages::map(ctx, 1)?;
        match pages.spare_frame(env) {
            Some(frame) => Some((pages, frame)),
            None => {
                pages.release(env);
                None
            }
        }
    }

    fn start(&self) -> VirtAddr {
        self.pages[0].va
    }

    fn end(&self) -> VirtAddr {
        self.start().add(self.pages.len() as u64 * PAGE_SIZE)
    }

    /// Clears every entry and flushes it everywhere, outside any section,
    /// then frees every frame: the next case starts clean even when this
    /// one saw a stale translation.
    fn release(self, env: &dyn Env) {
        let mm = env.mm();
        for page in &self.pages {
            mm.pte_clear(page.va, page.ptep);
            mm.flush_tlb_page(page.va, TlbScope::Broadcast);
        }
        for frame in self.pages.iter().map(|page| page.frame).chain(self.spare_frames) {
            let _ = mm.free_page(frame);
        }
    }
}

/// Ends the current section and flushes `[start, end)` everywhere, in the
/// patched order (leave, then flush) or the pre-patch one (flush, then
/// leave). `refill` runs right after the flush in both: it is the refill a
/// speculative walk or another CPU may do at any time, which TCG never does
/// on its own, so in the pre-patch order it catches a flush that ran before
/// the updates landed. The sanitizer names the case's line, not this one.
#[track_caller]
fn end_section(env: &dyn Env, order: Order, start: VirtAddr, end: VirtAddr, refill: &mut dyn FnMut(VirtAddr)) {
    let mm = env.mm();
    let mut refill_all = || {
        let mut va = start;
        while va.as_u64() < end.as_u64() {
            refill(va);
            va = va.add(PAGE_SIZE);
        }
    };
    match order {
        Order::Fixed => {
            mm.arch_leave_lazy_mmu_mode();
            mm.flush_tlb_kernel_range(start, end, TlbScope::Broadcast);
            refill_all();
        }
        Order::Buggy => {
            mm.flush_tlb_kernel_range(start, end, TlbScope::Broadcast);
            refill_all();
            mm.arch_leave_lazy_mmu_mode();
        }
    }
}

/// What a touch of a page must show once its updates and flush are done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// Reads give the frame's tag; stores succeed.
    Writable(u64),
    /// Reads give the tag; a store faults as write-protected.
    ReadOnly(u64),
    /// Any read faults: no valid translation.
    NotMapped,
}

/// How a touch differed from what was expected, in one short phrase:
/// `store went through, expected write-protected`.
enum Mismatch {
    Read { seen: Loaded, expect: Expect },
    StoreWentThrough,
    StoreFaulted(Fault),
}

impl core::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Mismatch::Read { seen, expect: Expect::Writable(tag) | Expect::ReadOnly(tag) } => {
                write!(f, "read {seen}, expected {}", Loaded(Ok(*tag)))
            }
            Mismatch::Read { seen, expect: Expect::NotMapped } => write!(f, "read {seen}, expected not mapped"),
            Mismatch::StoreWentThrough => f.write_str("store went through, expected write-protected"),
            Mismatch::StoreFaulted(fault) => write!(f, "store: {fault}"),
        }
    }
}

/// Touches `va` through the MMU and compares with `expect`. A store writes
/// the tag the page should hold, so a store through a stale translation
/// changes nothing a later read could mistake.
fn touch(env: &dyn Env, va: VirtAddr, expect: Expect) -> Result<(), Mismatch> {
    let read = env.read(va);
    let read_ok = match expect {
        Expect::Writable(tag) | Expect::ReadOnly(tag) => read == Ok(tag),
        Expect::NotMapped => matches!(read, Err(Fault { kind: FaultKind::NotMapped, .. })),
    };
    if !read_ok {
        return Err(Mismatch::Read { seen: Loaded(read), expect });
    }
    match expect {
        Expect::Writable(tag) => env.write(va, tag).map_err(Mismatch::StoreFaulted),
        Expect::ReadOnly(tag) => match env.write(va, tag) {
            Err(Fault { kind: FaultKind::WriteProtected, .. }) => Ok(()),
            Err(fault) => Err(Mismatch::StoreFaulted(fault)),
            Ok(()) => Err(Mismatch::StoreWentThrough),
        },
        Expect::NotMapped => Ok(()),
    }
}

/// Touches `va` and records an MMU failure at the caller's line when it does
/// not show `expect`; returns whether it did.
#[track_caller]
fn check_touch(ctx: &mut Ctx, env: &dyn Env, va: VirtAddr, expect: Expect, what: &str) -> bool {
    match touch(env, va, expect) {
        Ok(()) => true,
        Err(mismatch) => kcheck!(ctx, Judge::Mmu, false, "{what} at {va}: {mismatch}"),
    }
}

/// A non-present entry that still names `frame`, as Linux's migration and
/// swap entries do: the walker faults on it, and it is not `pte_none`.
fn migration_entry(env: &dyn Env, frame: PhysAddr) -> PteValue {
    // Bit 0 is x86's P and arm64's valid bit: clear in a page-aligned frame
    // address; bit 1 is ignored by both walkers when bit 0 is clear.
    let entry = PteValue(frame.as_u64() | 1 << 1);
    debug_assert!(!env.mm().pte_format().is_present(entry));
    entry
}
