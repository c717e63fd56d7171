//! The arm64 barrier sequence around a PTE update, as docs/litmus.md
//! derives it from Arm's model (herd7): `flush_order.arm64_flush_own_dsb`
//! (the flush's own `dsb ishst` before its TLBI), `tlbi_needs_dsb_ish` (a
//! TLBI completes only at `dsb ish`) and `arm64_map_needs_isb` (a new entry
//! needs `dsb` and `isb` before its own CPU uses it). QEMU TCG makes every
//! store and TLBI take effect at once, so there the buggy forms do no harm
//! an access can see: the sanitizer names them; the host model shows the
//! stale translation or the spurious fault.

use ktest::{kcheck, ktest_case, Applies, Arch, BuggyExpect, Ctx, Judge, Order, Plan, Target};
use mm::{Fault, FaultKind, Flavour, InjectedBug, Prot, Rule, TlbScope};

use super::{Page, Pages};
use crate::support::{env, page_entry, tag_of, tagged_frame, Loaded, ScratchVa};
use crate::Env;

/// The cases run outside lazy sections, under the arm64 flavour: the
/// barrier sequence is the arm64 backend's, whatever section batches it.
pub(super) const ARM64_FLAVOUR: &[Flavour] = &[Flavour::Arm64];

/// Caught by the sanitizer's `rule` everywhere, and by the host model's
/// walker; arm64 only.
pub(super) fn arm64_barrier_plan(target: Target, rule: &'static [Rule]) -> Plan {
    if target.arch != Arch::Aarch64 {
        return Plan {
            fixed: Applies::No("the dsb/isb/tlbi sequence is arm64's"),
            buggy: BuggyExpect::NotApplicable("x86_64 orders PTE stores and invlpg itself"),
        };
    }
    let judges: &'static [Judge] =
        if target.on_host_model() { &[Judge::HostModel, Judge::Sanitizer] } else { &[Judge::Sanitizer] };
    Plan { fixed: Applies::Yes, buggy: BuggyExpect::Caught { judges, rules: rule } }
}

fn flush_own_dsb_plan(_flavour: Flavour, target: Target) -> Plan {
    arm64_barrier_plan(target, &[Rule::TlbiBeforeDsb])
}

fn tlbi_needs_dsb_ish_plan(_flavour: Flavour, target: Target) -> Plan {
    arm64_barrier_plan(target, &[Rule::TlbiNotCompleted])
}

fn map_needs_isb_plan(_flavour: Flavour, target: Target) -> Plan {
    arm64_barrier_plan(target, &[Rule::NewEntryBeforeIsb])
}

/// The judge of what an access shows: the host model where it runs.
pub(super) fn walker(ctx: &Ctx) -> Judge {
    if ctx.target().on_host_model() {
        Judge::HostModel
    } else {
        Judge::Mmu
    }
}

fn faults(seen: Option<Result<u64, Fault>>) -> bool {
    matches!(seen, None | Some(Err(Fault { kind: FaultKind::NotMapped, .. })))
}

/// Unmaps a page both CPUs hold in their TLBs and flushes it everywhere
/// with `bug` injected in the buggy form; both CPUs must then fault.
fn unmap_flushed_everywhere(ctx: &mut Ctx, bug: InjectedBug, what: &str) {
    let env = env(ctx);
    let mm = env.mm();
    let Some(pages) = Pages::map(ctx, 1) else {
        return ctx.skip("out of frames");
    };
    let Page { va, ptep, frame } = pages.pages[0];
    let remote = env.remote_read(va);
    kcheck!(ctx, walker(ctx), remote.is_none_or(|seen| seen == Ok(tag_of(frame))), "{what}: CPU1 reads {va}");
    if ctx.order() == Order::Buggy {
        mm.inject_bug(bug);
    }
    mm.pte_clear(va, ptep);
    mm.flush_tlb_page(va, TlbScope::Broadcast);
    mm.clear_injected_bugs();
    let judge = walker(ctx);
    kcheck!(ctx, judge, faults(Some(env.read(va))), "{what}: CPU0 still reads {va} after the flush");
    kcheck!(ctx, judge, faults(env.remote_read(va)), "{what}: CPU1 still reads {va} after the flush");
    pages.release(env);
}

/// The flush issues its own `dsb ishst` before the TLBI, so the cleared
/// entry reaches the walkers first. Buggy: no DSB between the store and
/// the TLBI; a walk between them refills the old translation
/// (system-litmus-harness `CoWinvT1+tlbi-dsb`).
fn arm64_flush_own_dsb(ctx: &mut Ctx) {
    unmap_flushed_everywhere(ctx, InjectedBug::FlushSkipsStoreBarrier, "arm64_flush_own_dsb");
}

/// The flush waits for its TLBI with `dsb ish`. Buggy: `dsb ishst`, which
/// does not complete a TLBI (herd7 `V2I-W-DSB.ISH-TLBI-DSB.ST-ISB-W`).
fn tlbi_needs_dsb_ish(ctx: &mut Ctx) {
    unmap_flushed_everywhere(ctx, InjectedBug::FlushCompletesWithDsbIshst, "tlbi_needs_dsb_ish");
}

/// A new kernel entry is published with `dsb ish; isb` and used at once.
/// Buggy: no `isb`; the CPU's own access may fault on the new entry
/// (herd7 `D15347-load-DSB` allows it, `D15347-load-DSB-ISB` does not).
fn arm64_map_needs_isb(ctx: &mut Ctx) {
    let env = env(ctx);
    let mm = env.mm();
    let va = ScratchVa::take(ctx, 1).start();
    let Ok(frame) = tagged_frame(env) else {
        return ctx.skip("out of frames");
    };
    let Ok(ptep) = mm.page_tables().pte_alloc(va) else {
        let _ = mm.free_page(frame);
        return ctx.skip("out of frames");
    };
    if ctx.order() == Order::Buggy {
        mm.inject_bug(InjectedBug::PublishSkipsIsb);
    }
    mm.set_pte_at(va, ptep, page_entry(env, frame, Prot::KERNEL_RW));
    mm.clear_injected_bugs();
    let seen = env.read(va);
    kcheck!(ctx, walker(ctx), seen == Ok(tag_of(frame)), "arm64_map_needs_isb: first read of {va}: {}", Loaded(seen));
    release(env, Page { va, ptep, frame });
}

/// Unmaps one page, flushes it and frees its frame.
fn release(env: &dyn Env, page: Page) {
    let mm = env.mm();
    mm.pte_clear(page.va, page.ptep);
    mm.flush_tlb_page(page.va, TlbScope::Broadcast);
    let _ = mm.free_page(page.frame);
}

ktest_case!(
    flush_order,
    arm64_flush_own_dsb,
    desc = "the flush issues its own dsb ishst before the TLBI, so the cleared entry reaches the walkers first",
    plan = flush_own_dsb_plan,
    variants = ARM64_FLAVOUR,
    arm64_flush_own_dsb
);
ktest_case!(
    flush_order,
    tlbi_needs_dsb_ish,
    desc = "the flush waits for its TLBI with dsb ish; dsb ishst does not complete a TLBI",
    plan = tlbi_needs_dsb_ish_plan,
    variants = ARM64_FLAVOUR,
    tlbi_needs_dsb_ish
);
ktest_case!(
    flush_order,
    arm64_map_needs_isb,
    desc = "a new kernel entry is published with dsb ish; isb and used at once",
    plan = map_needs_isb_plan,
    variants = ARM64_FLAVOUR,
    arm64_map_needs_isb
);
