//! `flush_order.remote_cpu`: CPU1 keeps reading V while CPU0 repoints it
//! V→B (break-before-make, as in `remap_new_frame`) and shoots the old
//! translation down everywhere. CPU1 must follow within a bounded time.

use alloc::format;
use alloc::string::String;

use ktest::{kcheck, ktest_case, Ctx, Judge};
use mm::{Fault, FaultKind, Flavour, Prot, VirtAddr};

use super::{end_section, ordering_contract_plan, Pages};
use crate::support::{env, page_entry, tag_of, Loaded};
use crate::Env;

/// Reads CPU1 gets to see the change. A shootdown is synchronous, so the
/// first read after it should already do; the rest is margin for a slow
/// vCPU, and each read is itself bounded.
const REMOTE_POLLS: usize = 16;

/// CPU1 reads `va` until `wanted` holds or the polls run out; returns what
/// it saw last (`None`: CPU1 never answered).
fn remote_sees(
    env: &dyn Env,
    va: VirtAddr,
    wanted: impl Fn(&Result<u64, Fault>) -> bool,
) -> (bool, Option<Result<u64, Fault>>) {
    let mut last = None;
    for _ in 0..REMOTE_POLLS {
        last = env.remote_read(va);
        match &last {
            Some(seen) if wanted(seen) => return (true, last),
            Some(_) => {}
            None => break,
        }
    }
    (false, last)
}

/// What CPU1's last read gave, for a message.
fn answer(seen: Option<Result<u64, Fault>>) -> String {
    match seen {
        Some(read) => format!("{}", Loaded(read)),
        None => String::from("no answer"),
    }
}

/// CPU0 repoints V→B in sections that leave, then shoot down: CPU1 faults
/// after the break and reads B after the make; a shootdown before the
/// deferred clear lands lets CPU1 refill A and keep reading it.
fn remote_cpu(ctx: &mut Ctx) {
    let env = env(ctx);
    let mm = env.mm();
    let Some((pages, new_frame)) = Pages::map_one_with_spare(ctx) else {
        return ctx.skip("out of frames");
    };
    let page = pages.pages[0];
    let old_tag = tag_of(page.frame);
    let Some(first) = env.remote_read(page.va) else {
        pages.release(env);
        return ctx.skip("no second CPU answered");
    };
    kcheck!(ctx, Judge::Mmu, first == Ok(old_tag), "remote_cpu: CPU1 reads A first: {}", Loaded(first));
    // Between the shootdown and the leave, CPU1 reads V again: the refill
    // another CPU may do at any moment.
    let cpu1_reads = &mut |va| {
        let _ = env.remote_read(va);
    };

    mm.arch_enter_lazy_mmu_mode();
    mm.pte_clear(page.va, page.ptep);
    end_section(env, ctx.order(), pages.start(), pages.end(), cpu1_reads);
    let (faulted, seen) =
        remote_sees(env, page.va, |seen| matches!(seen, Err(Fault { kind: FaultKind::NotMapped, .. })));
    kcheck!(
        ctx,
        Judge::Mmu,
        faulted,
        "remote_cpu: CPU1 faults after the break, within {REMOTE_POLLS} reads: {}",
        answer(seen)
    );

    mm.arch_enter_lazy_mmu_mode();
    mm.set_pte_at(page.va, page.ptep, page_entry(env, new_frame, Prot::KERNEL_RW));
    end_section(env, ctx.order(), pages.start(), pages.end(), cpu1_reads);
    let (sees_new, seen) = remote_sees(env, page.va, |seen| *seen == Ok(tag_of(new_frame)));
    kcheck!(ctx, Judge::Mmu, sees_new, "remote_cpu: CPU1 reads B within {REMOTE_POLLS} reads: {}", answer(seen));
    pages.release(env);
}

ktest_case!(
    flush_order,
    remote_cpu,
    desc = "CPU0 repoints V->B and shoots down: CPU1 faults after the break and reads B after the make",
    plan = ordering_contract_plan,
    variants = &Flavour::ALL,
    remote_cpu
);
