//! `flush_order.migrate_collect` (seed patch 2): `migrate_vma_collect_pmd`
//! replaces present PTEs by migration entries in a lazy section and must
//! flush after the leave, still under the PTE lock, or a CPU keeps reading
//! the frame being migrated.

use alloc::vec::Vec;

use ktest::{ktest_case, Ctx};
use mm::Flavour;

use super::{check_touch, end_section, migration_entry, ordering_contract_plan, Expect, Pages};
use crate::support::env;

const NR_PAGES: u64 = 4;

/// Present PTEs replaced by migration entries in a section, then leave and
/// flush: a touch faults; flush-then-leave reads the old frame under
/// deferred-pte.
fn migrate_collect(ctx: &mut Ctx) {
    let env = env(ctx);
    let mm = env.mm();
    let Some(pages) = Pages::map(ctx, NR_PAGES) else {
        return ctx.skip("out of frames");
    };
    // The section and the flush both run under the PTE lock in Linux; no
    // other user of these scratch PTEs exists here, so the lock is implied.
    let entries: Vec<_> = pages.pages.iter().map(|page| migration_entry(env, page.frame)).collect();
    mm.arch_enter_lazy_mmu_mode();
    for (page, &entry) in pages.pages.iter().zip(&entries) {
        mm.set_pte_at(page.va, page.ptep, entry);
    }
    end_section(env, ctx.order(), pages.start(), pages.end(), &mut |va| env.speculate(va));
    for page in &pages.pages {
        check_touch(ctx, env, page.va, Expect::NotMapped, "migrate_collect: touch of a migration entry faults");
    }
    pages.release(env);
}

ktest_case!(
    flush_order,
    migrate_collect,
    desc = "migrate_vma_collect_pmd: PTEs become migration entries, leave, then flush; touches fault",
    plan = ordering_contract_plan,
    variants = &Flavour::ALL,
    migrate_collect
);
