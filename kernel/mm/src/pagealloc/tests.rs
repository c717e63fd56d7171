use super::*;
use crate::lazy::{Flavour, NestingPolicy, Rule};
use crate::mmu::PteFormat;
use crate::test_mmu::{FakeMmu, Fixture, TEST_LAYOUT, TEST_RAM_FRAMES, TEST_RAM_START};

/// A fixture whose test RAM is in the linear map, as the kernel's is.
fn with_linear_map(format: PteFormat) -> Fixture {
    let fx = Fixture::new(format);
    let va = TEST_LAYOUT.phys_to_virt(TEST_RAM_START);
    fx.mm().page_tables().map_range(va, TEST_RAM_START, TEST_RAM_FRAMES * PAGE_SIZE, Prot::KERNEL_RW).unwrap();
    fx.mmu.take_log();
    fx
}

fn is_linear_mapped(mm: &Mm<'_, FakeMmu>, pa: PhysAddr) -> bool {
    mm.page_tables().translate(mm.layout().phys_to_virt(pa)).is_some()
}

#[test]
fn debug_pagealloc_unmaps_free_frames_and_maps_allocated_ones() {
    for format in [PteFormat::X86_64, PteFormat::Arm64] {
        let fx = with_linear_map(format);
        let mm = fx.mm();
        let kept = mm.alloc_page().unwrap();
        mm.set_debug_pagealloc(Switch::On).unwrap();
        assert!(is_linear_mapped(&mm, kept), "{format:?}: allocated frames stay");
        let free = TEST_RAM_START.add((TEST_RAM_FRAMES - 1) * PAGE_SIZE);
        assert!(!is_linear_mapped(&mm, free), "{format:?}: free frames leave");

        let pa = mm.alloc_page().unwrap();
        assert!(is_linear_mapped(&mm, pa), "{format:?}: allocation maps back");
        mm.free_page(pa).unwrap();
        assert!(!is_linear_mapped(&mm, pa), "{format:?}: free unmaps");
        let va = mm.layout().phys_to_virt(pa);
        assert!(fx.mmu.take_log().contains(&crate::test_mmu::HwOp::FlushPage(va, TlbScope::Broadcast)));
        assert_eq!(mm.free_page(pa), Err(AllocError::DoubleFree(pa)));

        mm.set_debug_pagealloc(Switch::Off).unwrap();
        assert!(is_linear_mapped(&mm, free), "{format:?}: off maps them back");
        assert_eq!(mm.take_reports(), []);
    }
}

#[test]
fn pause_lazy_allocation_is_usable_at_once_and_resumes_the_section() {
    let fx = with_linear_map(PteFormat::X86_64);
    let mm = fx.mm();
    mm.set_flavour(Flavour::Queued);
    mm.set_debug_pagealloc(Switch::On).unwrap();
    mm.lazy_mmu_mode_enable();
    let pa = mm.alloc_pages_pause_lazy().unwrap();
    assert!(is_linear_mapped(&mm, pa));
    assert!(mm.is_lazy_mmu_mode_active());
    mm.lazy_mmu_mode_disable();
    assert_eq!(mm.take_reports(), []);
}

#[test]
fn allocating_in_a_section_under_each_policy() {
    for policy in NestingPolicy::ALL {
        let fx = with_linear_map(PteFormat::X86_64);
        let mm = fx.mm();
        mm.set_flavour(Flavour::Queued);
        mm.set_nesting_policy(policy);
        mm.set_debug_pagealloc(Switch::On).unwrap();
        mm.lazy_mmu_mode_enable();
        let pa = mm.alloc_page().unwrap();
        let (mapped, still_lazy) = (is_linear_mapped(&mm, pa), mm.is_lazy_mmu_mode_active());
        let rules: Vec<_> = mm.take_reports().iter().map(|r| r.rule).collect();
        match policy {
            // The allocator's nested section is rejected: its mapping stays queued.
            NestingPolicy::Strict => {
                assert_eq!((mapped, still_lazy), (false, true));
                assert_eq!(rules, [Rule::AllocInLazy, Rule::NestedEnter]);
            }
            // 1ef3095b1405: the allocator's leave ends the caller's section.
            NestingPolicy::PermissiveFlag => {
                assert_eq!((mapped, still_lazy), (true, false));
                assert_eq!(rules, [Rule::AllocInLazy]);
            }
            // The nested disable flushes: mapped, and the section goes on.
            NestingPolicy::Counter => {
                assert_eq!((mapped, still_lazy), (true, true));
                assert_eq!(rules, [Rule::AllocInLazy]);
            }
        }
        if still_lazy {
            mm.lazy_mmu_mode_disable();
        }
        assert!(is_linear_mapped(&mm, pa), "{policy:?}");
        assert!(mm.check_quiescent(), "{policy:?}");
    }
}

#[test]
fn interrupt_context_allocation_is_not_a_lazy_allocation() {
    let fx = Fixture::new(PteFormat::X86_64);
    let mm = fx.mm();
    mm.lazy_mmu_mode_enable();
    fx.mmu.set_in_interrupt(true);
    mm.alloc_page().unwrap();
    fx.mmu.set_in_interrupt(false);
    mm.lazy_mmu_mode_disable();
    assert_eq!(mm.take_reports(), []);
}
