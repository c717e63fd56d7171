//! `apply_range.free_table_after_clean` (arm64): a page-table page goes back
//! to the allocator only once the entry that pointed at it is clean:
//! cleared, published by a DSB of the CPU that wrote it, invalidated by a
//! TLBI and completed by `dsb ish` (casemate's VALID → INVALID_UNCLEAN →
//! INVALID, docs/litmus.md). Until then another CPU's walk cache may still
//! read the page, and whatever its next owner writes there becomes a
//! translation. QEMU TCG caches no table entries, so there only the
//! sanitizer sees the buggy order.

use ktest::{kcheck, ktest_case, Applies, Arch, BuggyExpect, Ctx, Judge, Order, Plan, Target};
use mm::{Entry, Fault, FaultKind, Flavour, Level, PhysAddr, Prot, Rule, TlbScope, VirtAddr, PAGE_SIZE};

use super::{pte_alloc, ptep_of};
use crate::support::{env, linear, page_entry, tag_of, tagged_frame, Loaded, ScratchVa, PAGES_PER_LEAF_TABLE};
use crate::Env;

fn free_table_plan(_flavour: Flavour, target: Target) -> Plan {
    if target.arch != Arch::Aarch64 {
        return Plan {
            fixed: Applies::No("the clean-before-free sequence is arm64's (casemate)"),
            buggy: BuggyExpect::NotApplicable("x86_64 tables are not followed by the sanitizer's clean tracking"),
        };
    }
    let judges: &'static [Judge] =
        if target.on_host_model() { &[Judge::HostModel, Judge::Sanitizer] } else { &[Judge::Sanitizer] };
    Plan { fixed: Applies::Yes, buggy: BuggyExpect::Caught { judges, rules: &[Rule::TableFreedUnclean] } }
}

fn faults(seen: Option<Result<u64, Fault>>) -> bool {
    matches!(seen, None | Some(Err(Fault { kind: FaultKind::NotMapped, .. })))
}

/// The level-2 entry of `va` and the leaf table it points at.
fn pmd_of(env: &dyn Env, va: VirtAddr) -> Option<(PhysAddr, PhysAddr)> {
    let walk = env.mm().page_tables().walk(va);
    let step = walk.steps().find(|step| step.level == Level::Pmd)?;
    match step.entry {
        Entry::Table { next, .. } => Some((step.ptep, next)),
        _ => None,
    }
}

/// A leaf table is emptied, its level-2 entry cleared, and the table
/// freed: after the flush (fixed) or before it (buggy). CPU1 has walked
/// the region, so its walk cache may hold the table; the table page's next
/// owner then writes a valid-looking entry into it. CPU1 must still fault.
fn free_table_after_clean(ctx: &mut Ctx) {
    let env = env(ctx);
    let mm = env.mm();
    // A 2 MiB region no case has had since boot: its leaf table is this
    // case's, to free.
    let va = ScratchVa::take_untouched(ctx, PAGES_PER_LEAF_TABLE).start();
    if ptep_of(env, va).is_some() {
        return ctx.skip("the region's leaf table exists already");
    }
    let (Ok(frame), Ok(reused_as)) = (tagged_frame(env), tagged_frame(env)) else {
        return ctx.skip("out of frames");
    };
    let Ok(ptep) = pte_alloc(env, va) else {
        let _ = (mm.free_page(frame), mm.free_page(reused_as));
        return ctx.skip("out of frames");
    };
    mm.set_pte_at(va, ptep, page_entry(env, frame, Prot::KERNEL_RW));
    let judge = if ctx.target().on_host_model() { Judge::HostModel } else { Judge::Mmu };
    kcheck!(ctx, judge, env.read(va) == Ok(tag_of(frame)), "free_table_after_clean: CPU0 reads {va}");
    let _ = env.remote_read(va);
    mm.pte_clear(va, ptep);
    mm.flush_tlb_page(va, TlbScope::Broadcast);
    // CPU1 walks the region once more: the leaf faults, the table stays
    // cached.
    kcheck!(ctx, judge, faults(env.remote_read(va)), "free_table_after_clean: CPU1 reads {va} after the unmap");
    let Some((pmdp, table)) = pmd_of(env, va) else {
        return ctx.fail(Judge::State, format_args!("free_table_after_clean: no leaf table above {va}"));
    };
    kcheck!(
        ctx,
        Judge::State,
        table.as_u64() == ptep.as_u64() & !(PAGE_SIZE - 1),
        "free_table_after_clean: {ptep} not in {table}"
    );
    mm.pte_clear(va, pmdp);
    if ctx.order() == Order::Fixed {
        mm.flush_tlb_page(va, TlbScope::Broadcast);
    }
    kcheck!(ctx, Judge::State, mm.pte_free_kernel(table).is_ok(), "free_table_after_clean: freeing {table}");
    // The page's next owner writes an entry where `va`'s used to be.
    let reused_slot = linear(env, ptep);
    let reused = env.write(reused_slot, page_entry(env, reused_as, Prot::KERNEL_RW).0).is_ok();
    kcheck!(ctx, Judge::State, reused, "free_table_after_clean: writing the freed table page");
    let seen = env.remote_read(va);
    kcheck!(
        ctx,
        judge,
        faults(seen),
        "free_table_after_clean: CPU1 reads {va} through the freed table: {:?}",
        seen.map(Loaded)
    );
    if ctx.order() == Order::Buggy {
        mm.flush_tlb_page(va, TlbScope::Broadcast);
    }
    let _ = env.write(reused_slot, 0);
    let _ = (mm.free_page(frame), mm.free_page(reused_as));
}

ktest_case!(
    apply_range,
    free_table_after_clean,
    desc = "a leaf table is freed only after its entry is cleared and flushed; CPU1's walk cache must not read it",
    plan = free_table_plan,
    variants = &[Flavour::Arm64],
    free_table_after_clean
);
