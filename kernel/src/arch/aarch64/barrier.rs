//! The barrier and TLB-invalidation instructions of the hardware MMU
//! backend, one `#[inline(never)]` function per instruction kind: `mm`
//! issues them one at a time (`Mmu::barrier`, `Mmu::tlbi`) in the order of
//! `mm::FLUSH_SEQUENCE`. QEMU TCG makes every store visible at once and the
//! host model never runs this code, so a wrong instruction here shows in no
//! run: `lazymmu-run check-barriers` (run by `make test`) finds each
//! function by name in the built ELF and checks that it holds exactly its
//! instruction (runner/src/arm64_code.rs holds the table). Renaming one of
//! these functions means updating that table.
//!
//! SAFETY (for each): a barrier only orders and completes accesses; a TLB
//! invalidation (all ASIDs, every level: the `vaa` and `vmalle1` forms) only
//! makes later accesses walk the tables again.

use core::arch::asm;

/// `dsb ishst`: earlier stores (PTE stores included) reach every CPU's
/// table walker.
#[inline(never)]
pub(super) fn dsb_ishst() {
    // SAFETY: see the module comment.
    unsafe { asm!("dsb ishst", options(nostack, preserves_flags)) }
}

/// `dsb ish`: every earlier access, and every earlier TLBI of this CPU,
/// completes (on every CPU for the broadcast forms).
#[inline(never)]
pub(super) fn dsb_ish() {
    // SAFETY: see the module comment.
    unsafe { asm!("dsb ish", options(nostack, preserves_flags)) }
}

/// `isb`: later instructions are fetched, and later walks made, under what
/// an earlier DSB completed.
#[inline(never)]
pub(super) fn isb() {
    // SAFETY: see the module comment.
    unsafe { asm!("isb", options(nostack, preserves_flags)) }
}

/// `tlbi vaae1`: drops this CPU's translation of the page whose operand
/// (VA[55:12]) is `operand`.
#[inline(never)]
pub(super) fn tlbi_vaae1(operand: u64) {
    // SAFETY: see the module comment.
    unsafe { asm!("tlbi vaae1, {}", in(reg) operand, options(nostack, preserves_flags)) }
}

/// `tlbi vaae1is`: drops every CPU's translation of that page.
#[inline(never)]
pub(super) fn tlbi_vaae1is(operand: u64) {
    // SAFETY: see the module comment.
    unsafe { asm!("tlbi vaae1is, {}", in(reg) operand, options(nostack, preserves_flags)) }
}

/// `tlbi vmalle1`: drops every translation of this CPU.
#[inline(never)]
pub(super) fn tlbi_vmalle1() {
    // SAFETY: see the module comment.
    unsafe { asm!("tlbi vmalle1", options(nostack, preserves_flags)) }
}

/// `tlbi vmalle1is`: drops every translation of every CPU.
#[inline(never)]
pub(super) fn tlbi_vmalle1is() {
    // SAFETY: see the module comment.
    unsafe { asm!("tlbi vmalle1is", options(nostack, preserves_flags)) }
}
