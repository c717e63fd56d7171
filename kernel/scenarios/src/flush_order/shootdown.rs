//! `flush_order.shootdown_waits_for_cpu1`: a flush "on every CPU" has taken
//! effect on CPU1 when it returns, even while CPU1 keeps its interrupts
//! masked and so cannot answer a shootdown IPI at once. CPU1 loads the
//! unmapped page in a loop, interrupts masked, for a bounded time; every
//! load it makes after the flush returned must fault. On x86_64 the flush
//! can only return once CPU1 unmasked and acknowledged, so no such load
//! happens; a shootdown that returns before the acknowledgement lets CPU1
//! read the old frame. On arm64 the broadcast TLBI reaches CPU1 without
//! its help, and CPU1's loads after it must fault.

use ktest::{kcheck, kdiag, ktest_case, Ctx, Judge};
use mm::{Fault, FaultKind, TlbScope};

use super::Pages;
use crate::support::{env, Loaded};

/// How long CPU1 keeps its interrupts masked: far longer than a flush.
const HOLD_US: u64 = 20_000;

#[derive(Clone, Copy, Debug)]
enum Flush {
    /// `flush_tlb_page(va, Broadcast)`.
    Page,
    /// `flush_tlb_all(Broadcast)`.
    All,
}

fn is_not_mapped(seen: &Result<u64, Fault>) -> bool {
    matches!(seen, Err(Fault { kind: FaultKind::NotMapped, .. }))
}

/// One round: CPU1 caches V→A, V is unmapped, CPU1 is held while `flush`
/// runs. Returns false when there is no CPU1 to hold.
fn held_round(ctx: &mut Ctx, flush: Flush) -> bool {
    let env = env(ctx);
    let mm = env.mm();
    let Some(pages) = Pages::map(ctx, 1) else {
        ctx.skip("out of frames");
        return false;
    };
    let page = pages.pages[0];
    let Some(first) = env.remote_read(page.va) else {
        pages.release(env);
        ctx.skip("no second CPU answered");
        return false;
    };
    let first = Loaded(first);
    kcheck!(ctx, Judge::Mmu, first == Loaded::tag_of(page.frame), "shootdown ({flush:?}): CPU1 reads A first: {first}");
    mm.pte_clear(page.va, page.ptep);
    let held = env.remote_hold_reading(page.va, HOLD_US, &mut || match flush {
        Flush::Page => mm.flush_tlb_page(page.va, TlbScope::Broadcast),
        Flush::All => mm.flush_tlb_all(TlbScope::Broadcast),
    });
    match held {
        None => {
            kcheck!(ctx, Judge::Mmu, false, "shootdown ({flush:?}): CPU1 did not take part in the hold");
        }
        Some(held) => {
            kdiag!(ctx, "shootdown ({flush:?}): CPU1 loaded {} times after the flush returned", held.after);
            if let Some(seen) = held.first_after {
                kcheck!(
                    ctx,
                    Judge::Mmu,
                    is_not_mapped(&seen),
                    "shootdown ({flush:?}): CPU1, interrupts masked, read {} after the flush returned\n\
                     the flush on every CPU returned before CPU1 had invalidated",
                    Loaded(seen)
                );
            }
        }
    }
    let after = env.remote_read(page.va);
    kcheck!(
        ctx,
        Judge::Mmu,
        after.as_ref().is_some_and(is_not_mapped),
        "shootdown ({flush:?}): CPU1 reads the unmapped page after its hold: {:?}",
        after.map(Loaded)
    );
    pages.release(env);
    true
}

fn shootdown_waits_for_cpu1(ctx: &mut Ctx) {
    if held_round(ctx, Flush::Page) {
        held_round(ctx, Flush::All);
    }
}

ktest_case!(
    flush_order,
    shootdown_waits_for_cpu1,
    desc = "a flush on every CPU has taken effect on CPU1 when it returns, though CPU1 masks its interrupts",
    shootdown_waits_for_cpu1
);
