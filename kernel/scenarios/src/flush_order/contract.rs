//! `flush_order.contract_check`: every flavour runs one script of PTE
//! updates, each followed by its TLB flush inside the same section. The
//! patched script asks for the section's deferred work first
//! (`arch_flush_lazy_mmu_mode`); the pre-patch one relies on the ordering
//! contract, which `deferred-pte` breaks: it is reported with the first VA
//! left stale.

use ktest::{kcheck, ktest_case, Ctx, Judge, Order};
use mm::{Flavour, PhysAddr, Prot, TlbScope, VirtAddr};

use super::{migration_entry, ordering_contract_plan, touch, Expect, Page, Pages};
use crate::support::{env, page_entry, tag_of};
use crate::Env;

/// One step of the script, on its own page.
#[derive(Clone, Copy)]
enum Step {
    WriteProtect,
    Unmap,
    Migrate,
    /// Break-before-make to a spare frame: two flushes in one section.
    Repoint(PhysAddr),
}

/// A flush inside the section, followed by the refill a speculative walk
/// may do at once.
fn flush_in_section(env: &dyn Env, order: Order, va: VirtAddr) {
    if order == Order::Fixed {
        env.mm().arch_flush_lazy_mmu_mode();
    }
    env.mm().flush_tlb_page(va, TlbScope::Broadcast);
    env.speculate(va);
}

/// Applies `step` to `page` with its flushes; returns what a touch must show.
fn run_step(env: &dyn Env, order: Order, page: Page, step: Step) -> Expect {
    let mm = env.mm();
    match step {
        Step::WriteProtect => {
            mm.set_pte_at(page.va, page.ptep, page_entry(env, page.frame, Prot::KERNEL_RO));
            flush_in_section(env, order, page.va);
            Expect::ReadOnly(tag_of(page.frame))
        }
        Step::Unmap => {
            mm.pte_clear(page.va, page.ptep);
            flush_in_section(env, order, page.va);
            Expect::NotMapped
        }
        Step::Migrate => {
            mm.set_pte_at(page.va, page.ptep, migration_entry(env, page.frame));
            flush_in_section(env, order, page.va);
            Expect::NotMapped
        }
        Step::Repoint(new_frame) => {
            mm.pte_clear(page.va, page.ptep);
            flush_in_section(env, order, page.va);
            mm.set_pte_at(page.va, page.ptep, page_entry(env, new_frame, Prot::KERNEL_RW));
            flush_in_section(env, order, page.va);
            Expect::Writable(tag_of(new_frame))
        }
    }
}

/// Updates with in-section flushes leave no stale translation under every
/// flavour when the section's work is flushed first; relying on the
/// contract instead, deferred-pte leaves stale VAs and the first is named.
fn contract_check(ctx: &mut Ctx) {
    let env = env(ctx);
    let mm = env.mm();
    let Some(mut pages) = Pages::map(ctx, 4) else {
        return ctx.skip("out of frames");
    };
    let Some(new_frame) = pages.spare_frame(env) else {
        pages.release(env);
        return ctx.skip("out of frames");
    };
    let script = [Step::WriteProtect, Step::Unmap, Step::Migrate, Step::Repoint(new_frame)];
    mm.arch_enter_lazy_mmu_mode();
    let expected: [Expect; 4] = core::array::from_fn(|i| run_step(env, ctx.order(), pages.pages[i], script[i]));
    mm.arch_leave_lazy_mmu_mode();

    let mut stale = pages
        .pages
        .iter()
        .zip(expected)
        .filter_map(|(page, expect)| touch(env, page.va, expect).err().map(|mismatch| (page.va, mismatch)));
    if let Some((va, mismatch)) = stale.next() {
        let more = stale.count();
        kcheck!(ctx, Judge::Mmu, false, "contract_check: stale at {va}: {mismatch}; {more} more stale");
    }
    pages.release(env);
}

ktest_case!(
    flush_order,
    contract_check,
    desc = "in-section flushes leave no stale VA once the section's work is flushed; deferred-pte breaks this",
    plan = ordering_contract_plan,
    variants = &Flavour::ALL,
    contract_check
);
