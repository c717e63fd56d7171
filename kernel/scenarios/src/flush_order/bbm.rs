//! `flush_order.break_before_make` (arm64 page-table format): a live kernel
//! entry's output address changes only through valid → invalid → dsb →
//! tlbi → dsb → new; on a live entry only PXN, RDONLY, WRITE and nG may
//! change in one store (Linux's `pgattr_change_is_safe`).

use ktest::{ktest_case, Applies, Arch, BuggyExpect, Ctx, Judge, Order, Plan, Target};
use mm::{Flavour, Prot, Rule};

use super::{check_touch, end_section, Expect, Pages};
use crate::support::{env, page_entry, tag_of};

fn break_before_make_plan(_flavour: Flavour, target: Target) -> Plan {
    if target.arch == Arch::Aarch64 {
        Plan {
            fixed: Applies::Yes,
            buggy: BuggyExpect::Caught { judges: &[Judge::Sanitizer], rules: &[Rule::BreakBeforeMake] },
        }
    } else {
        Plan {
            fixed: Applies::No("break-before-make is a rule of the arm64 page-table format"),
            buggy: BuggyExpect::NotApplicable("x86_64 may change a live entry's frame in one store"),
        }
    }
}

/// A live entry goes to a new frame through an invalid entry and a flush,
/// then only its permissions change in place: silent sanitizer, touches
/// see each state; a direct valid → valid change of frame is reported.
fn break_before_make(ctx: &mut Ctx) {
    let env = env(ctx);
    let mm = env.mm();
    let Some((pages, new_frame)) = Pages::map_one_with_spare(ctx) else {
        return ctx.skip("out of frames");
    };
    let page = pages.pages[0];
    let speculate = &mut |va| env.speculate(va);
    // Each section ends leave-then-flush: what is under test here is the
    // shape of the change, not where the flush goes.
    if ctx.order() == Order::Fixed {
        mm.arch_enter_lazy_mmu_mode();
        mm.pte_clear(page.va, page.ptep);
        end_section(env, Order::Fixed, pages.start(), pages.end(), speculate);
        check_touch(ctx, env, page.va, Expect::NotMapped, "break_before_make: touch of the broken entry faults");
    }
    mm.arch_enter_lazy_mmu_mode();
    mm.set_pte_at(page.va, page.ptep, page_entry(env, new_frame, Prot::KERNEL_RW));
    end_section(env, Order::Fixed, pages.start(), pages.end(), speculate);
    check_touch(
        ctx,
        env,
        page.va,
        Expect::Writable(tag_of(new_frame)),
        "break_before_make: touch after the make reads B",
    );

    mm.arch_enter_lazy_mmu_mode();
    mm.set_pte_at(page.va, page.ptep, page_entry(env, new_frame, Prot::KERNEL_RO));
    end_section(env, Order::Fixed, pages.start(), pages.end(), speculate);
    check_touch(
        ctx,
        env,
        page.va,
        Expect::ReadOnly(tag_of(new_frame)),
        "break_before_make: store after an in-place RDONLY change faults",
    );
    pages.release(env);
}

ktest_case!(
    flush_order,
    break_before_make,
    desc = "a live arm64 entry changes frame only through invalid + flush; a direct valid->valid change is reported",
    plan = break_before_make_plan,
    variants = &Flavour::ALL,
    break_before_make
);
