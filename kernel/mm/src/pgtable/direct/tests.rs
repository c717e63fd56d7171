use core::panic::Location;

use crate::addr::{PhysAddr, VirtAddr, PAGE_SIZE};
use crate::context::Switch;
use crate::lazy::{ReportDetail, Rule};
use crate::mmu::PteFormat;
use crate::pte::Prot;
use crate::test_mmu::{Fixture, TEST_LAYOUT, TEST_RAM_START};

const VA: VirtAddr = VirtAddr::new(0xffff_c000_0010_0000);
const FRAME: PhysAddr = PhysAddr::new(0x9000_0000);

#[test]
fn set_up_writes_outside_a_section_are_not_reported() {
    let fx = Fixture::new(PteFormat::Arm64);
    let mm = fx.mm();
    let tables = mm.page_tables();
    tables.map_page(VA, FRAME, Prot::KERNEL_RW).unwrap();
    let _ = tables.unmap_page(VA).unwrap();
    mm.pte_alloc_kernel(VA.add(PAGE_SIZE)).unwrap();
    assert_eq!(mm.take_reports(), []);
}

#[test]
fn a_set_up_write_inside_a_section_is_reported_once_at_its_caller() {
    for format in [PteFormat::X86_64, PteFormat::Arm64] {
        let fx = Fixture::new(format);
        let mm = fx.mm();
        let entered_at = Location::caller();
        mm.lazy_mmu_mode_enable();
        // Four stores (three tables linked in, one leaf): one report.
        let at = Location::caller();
        mm.page_tables().map_page(VA, FRAME, Prot::KERNEL_RW).unwrap();
        mm.lazy_mmu_mode_disable();
        let reports = mm.take_reports();
        assert_eq!(reports.len(), 1, "{format:?}: {reports:?}");
        assert_eq!(reports[0].rule, Rule::DirectWriteInLazy);
        assert_eq!(reports[0].at.file(), at.file());
        assert_eq!(reports[0].at.line(), at.line() + 1, "the report names the map_page call");
        assert_eq!(reports[0].section_entered_at.map(Location::file), Some(entered_at.file()));
        assert_eq!(reports[0].detail, ReportDetail::Va(VA));
    }
}

#[test]
fn a_lookup_that_writes_nothing_inside_a_section_is_not_reported() {
    let fx = Fixture::new(PteFormat::X86_64);
    let mm = fx.mm();
    mm.pte_alloc_kernel(VA).unwrap();
    mm.lazy_mmu_mode_enable();
    mm.pte_alloc_kernel(VA.add(PAGE_SIZE)).unwrap();
    mm.page_tables().pte_offset(VA).unwrap();
    mm.lazy_mmu_mode_disable();
    assert_eq!(mm.take_reports(), []);
}

#[test]
fn switching_debug_pagealloc_inside_a_section_is_reported() {
    let fx = Fixture::new(PteFormat::X86_64);
    let mm = fx.mm();
    let ram = TEST_LAYOUT.phys_to_virt(TEST_RAM_START);
    mm.page_tables().map_range(ram, TEST_RAM_START, 16 * PAGE_SIZE, Prot::KERNEL_RW).unwrap();
    mm.lazy_mmu_mode_enable();
    mm.set_debug_pagealloc(Switch::On).unwrap();
    mm.lazy_mmu_mode_disable();
    let rules: Vec<_> = mm.take_reports().iter().map(|report| report.rule).collect();
    assert_eq!(rules, [Rule::DirectWriteInLazy]);
}
