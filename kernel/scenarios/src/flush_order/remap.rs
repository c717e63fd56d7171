//! `flush_order.remap_new_frame`: repointing a touched page to a new frame in
//! a lazy section. The repoint is break-before-make on every format (Linux's
//! generic `ptep_clear_flush` + `set_pte_at`; arm64 requires it for a live
//! entry's output address), each half a section that ends in leave, flush.

use ktest::{ktest_case, Ctx};
use mm::{Flavour, Prot};

use super::{check_touch, end_section, ordering_contract_plan, Expect, Pages};
use crate::support::{env, page_entry, tag_of};

/// V→A touched, repointed V→B in sections that leave, then flush: a touch
/// after the break faults and one after the make reads B; flush-then-leave
/// keeps reading A after the break under deferred-pte.
fn remap_new_frame(ctx: &mut Ctx) {
    let env = env(ctx);
    let mm = env.mm();
    let Some((pages, new_frame)) = Pages::map_one_with_spare(ctx) else {
        return ctx.skip("out of frames");
    };
    let page = pages.pages[0];
    let speculate = &mut |va| env.speculate(va);

    mm.arch_enter_lazy_mmu_mode();
    mm.pte_clear(page.va, page.ptep);
    end_section(env, ctx.order(), pages.start(), pages.end(), speculate);
    check_touch(ctx, env, page.va, Expect::NotMapped, "remap_new_frame: touch after the break faults");

    mm.arch_enter_lazy_mmu_mode();
    mm.set_pte_at(page.va, page.ptep, page_entry(env, new_frame, Prot::KERNEL_RW));
    end_section(env, ctx.order(), pages.start(), pages.end(), speculate);
    check_touch(
        ctx,
        env,
        page.va,
        Expect::Writable(tag_of(new_frame)),
        "remap_new_frame: touch after the make reads B",
    );
    pages.release(env);
}

ktest_case!(
    flush_order,
    remap_new_frame,
    desc = "V->A repointed to B through a break, leave, then flush: faults after the break, reads B after",
    plan = ordering_contract_plan,
    variants = &Flavour::ALL,
    remap_new_frame
);
