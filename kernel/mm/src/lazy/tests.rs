//! Host tests of the lazy layer against the logging fake MMU: each
//! flavour's deferral and drain, each nesting policy, each sanitizer rule.

mod barriers;
mod bookkeeping;
mod flavours;
mod irq_exit;
mod nesting;
mod ranges;
mod sanitizer;
mod v7;

use crate::addr::{PhysAddr, VirtAddr, PAGE_SIZE};
use crate::pte::{Prot, PteValue};
use crate::test_mmu::HwOp;

/// VAs the tests map: consecutive pages in one leaf table.
const VA: VirtAddr = VirtAddr::new(0xffff_c000_0020_0000);
const FRAME_A: PhysAddr = PhysAddr::new(0x9000_0000);
const FRAME_B: PhysAddr = PhysAddr::new(0x9000_1000);

fn page(n: u64) -> VirtAddr {
    VA.add(n * PAGE_SIZE)
}

fn ptep_of(fixture: &crate::test_mmu::Fixture, n: u64) -> PhysAddr {
    fixture.ptep(page(n))
}

fn entry(fixture: &crate::test_mmu::Fixture, frame: PhysAddr) -> PteValue {
    fixture.roots.format.page_entry(frame, Prot::KERNEL_RW)
}

/// A call site in this file, for reports that name a site in another.
fn site_elsewhere() -> &'static core::panic::Location<'static> {
    core::panic::Location::caller()
}

fn count(log: &[HwOp], wanted: impl Fn(&HwOp) -> bool) -> usize {
    log.iter().filter(|op| wanted(op)).count()
}
