//! The case registry: every [`Case`] that [`ktest_case!`](crate::ktest_case)
//! placed in the `ktest_cases` linker section. The kernel's linker scripts
//! bracket the section with `__start_ktest_cases` / `__stop_ktest_cases`; on
//! a Linux host the linker defines both itself because the section's name
//! is a C identifier. A binary that calls [`cases`] must register at least
//! one case on the host, or those symbols are missing at link time.

use alloc::vec::Vec;
use core::mem::size_of;
use core::ptr::addr_of;

use crate::case::Case;

extern "C" {
    static __start_ktest_cases: u8;
    static __stop_ktest_cases: u8;
}

/// The section as the linker laid it out (link order, not sorted).
fn section() -> &'static [Case] {
    // Only the addresses of the bracketing symbols are taken; they are never
    // read as `u8`.
    let (start, stop) = (addr_of!(__start_ktest_cases), addr_of!(__stop_ktest_cases));
    let nr_cases = (stop as usize - start as usize) / size_of::<Case>();
    // SAFETY:
    // - only `ktest_case!` writes to `ktest_cases`, and only `Case` statics,
    //   whose size is a multiple of their alignment, so the linker packs
    //   them as an array of `Case` between the two symbols;
    // - the statics are immutable and live for the whole program.
    unsafe { core::slice::from_raw_parts(start.cast::<Case>(), nr_cases) }
}

/// All registered cases, sorted by suite then case name: link order is an
/// accident of the linker, the run order must not be.
pub fn cases() -> Vec<&'static Case> {
    let mut cases: Vec<&'static Case> = section().iter().collect();
    sort_cases(&mut cases);
    cases
}

pub(crate) fn sort_cases(cases: &mut [&'static Case]) {
    cases.sort_by(|a, b| (a.suite, a.name).cmp(&(b.suite, b.name)));
}
