//! `flush_order.pagemap_scan_wp` (seed patch 1): `pagemap_scan` write-protects
//! a range in a lazy section, and its `flush_tlb_range` must follow the
//! leave, or under a backend that defers PTE writes but not flushes a store
//! still goes through a writable translation refilled in between.

use ktest::{ktest_case, Ctx};
use mm::{Flavour, Prot};

use super::{check_touch, end_section, ordering_contract_plan, Expect, Pages};
use crate::support::{env, page_entry, tag_of};

const NR_PAGES: u64 = 4;

/// Write-protecting touched pages in a section, then leave and flush: a
/// store to each page faults; flush-then-leave lets stores through under
/// deferred-pte only.
fn pagemap_scan_wp(ctx: &mut Ctx) {
    let env = env(ctx);
    let mm = env.mm();
    let Some(pages) = Pages::map(ctx, NR_PAGES) else {
        return ctx.skip("out of frames");
    };
    mm.arch_enter_lazy_mmu_mode();
    for page in &pages.pages {
        mm.set_pte_at(page.va, page.ptep, page_entry(env, page.frame, Prot::KERNEL_RW.read_only()));
    }
    end_section(env, ctx.order(), pages.start(), pages.end(), &mut |va| env.speculate(va));
    for page in &pages.pages {
        check_touch(
            ctx,
            env,
            page.va,
            Expect::ReadOnly(tag_of(page.frame)),
            "pagemap_scan_wp: store after write-protect faults",
        );
    }
    pages.release(env);
}

ktest_case!(
    flush_order,
    pagemap_scan_wp,
    desc = "pagemap_scan_pmd_entry: write-protect in a section, leave, then flush; stores fault",
    plan = ordering_contract_plan,
    variants = &Flavour::ALL,
    pagemap_scan_wp
);
