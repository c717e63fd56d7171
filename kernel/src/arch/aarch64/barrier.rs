//! The barrier and TLB-maintenance sequences of the hardware MMU backend,
//! one `#[inline(never)]` function per sequence. QEMU TCG makes every store
//! visible at once and the host model never runs this code, so a barrier
//! lost here shows in no run: `lazymmu-run check-barriers` (run by `make
//! test`) finds each function by name in the built ELF and checks its
//! barrier and TLBI instructions, in order (runner/src/arm64_code.rs holds
//! the expected sequences). Renaming one of these functions means updating
//! that table.

use core::arch::asm;

/// `dsb ishst`: earlier PTE stores reach the table walker.
#[inline(never)]
pub(super) fn store_barrier() {
    // SAFETY: a barrier only.
    unsafe { asm!("dsb ishst", options(nostack, preserves_flags)) }
}

/// `dsb ish; isb`: all earlier accesses complete, and later instructions
/// are fetched under the new translations.
#[inline(never)]
pub(super) fn full_barrier() {
    // SAFETY: barriers only.
    unsafe { asm!("dsb ish", "isb", options(nostack, preserves_flags)) }
}

// The four TLB invalidations below publish earlier PTE stores first (`dsb
// ishst`), invalidate (all ASIDs, every level: the `vaa`/`vmalle1` forms),
// wait for the invalidation to complete, on every CPU for the `is` forms
// (`dsb ish`), and resynchronise this CPU's instruction stream (`isb`).
// SAFETY (for each): invalidating translations only makes the next access
// walk the tables again.

/// Drops this CPU's translation of the page whose `tlbi` operand
/// (VA[55:12]) is `operand`.
#[inline(never)]
pub(super) fn tlbi_page_local(operand: u64) {
    // SAFETY: see above.
    unsafe { asm!("dsb ishst", "tlbi vaae1, {}", "dsb ish", "isb", in(reg) operand, options(nostack, preserves_flags)) }
}

/// Drops every CPU's translation of that page (inner shareable broadcast).
#[inline(never)]
pub(super) fn tlbi_page_broadcast(operand: u64) {
    // SAFETY: see above.
    unsafe {
        asm!("dsb ishst", "tlbi vaae1is, {}", "dsb ish", "isb", in(reg) operand, options(nostack, preserves_flags))
    }
}

/// Drops every translation of this CPU.
#[inline(never)]
pub(super) fn tlbi_all_local() {
    // SAFETY: see above.
    unsafe { asm!("dsb ishst", "tlbi vmalle1", "dsb ish", "isb", options(nostack, preserves_flags)) }
}

/// Drops every translation of every CPU.
#[inline(never)]
pub(super) fn tlbi_all_broadcast() {
    // SAFETY: see above.
    unsafe { asm!("dsb ishst", "tlbi vmalle1is", "dsb ish", "isb", options(nostack, preserves_flags)) }
}
