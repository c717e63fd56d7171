use super::*;
use crate::lazy::Flavour;
use crate::mmu::PteFormat;
use crate::test_mmu::{Fixture, HwOp};

const PAGES: [PhysAddr; 3] = [PhysAddr::new(0x9000_0000), PhysAddr::new(0x9000_5000), PhysAddr::new(0x9000_2000)];

#[test]
fn vmap_maps_each_page_and_vunmap_clears_and_flushes() {
    for flavour in Flavour::ALL {
        let fx = Fixture::new(PteFormat::Arm64);
        let mm = fx.mm();
        mm.set_flavour(flavour);
        let va = mm.vmap(&PAGES, Prot::KERNEL_RW).unwrap();
        assert!(mm.layout().is_vmalloc(va));
        for (n, &pa) in PAGES.iter().enumerate() {
            let page = va.add(n as u64 * PAGE_SIZE);
            assert_eq!(mm.page_tables().translate(page), Some((pa, Prot::KERNEL_RW)), "{flavour}");
        }
        assert_eq!(mm.page_tables().translate(va.add(3 * PAGE_SIZE)), None, "guard page");
        fx.mmu.take_log();
        mm.vunmap(va).unwrap();
        assert_eq!(mm.page_tables().translate(va), None, "{flavour}");
        let flushes =
            fx.mmu.take_log().iter().filter(|op| matches!(op, HwOp::FlushPage(_, TlbScope::Broadcast))).count();
        assert!(flushes >= 3, "{flavour}: every page flushed");
        assert_eq!(mm.vunmap(va), Err(VmapError::Space(VmallocError::NotVmapped { va })));
        assert!(mm.check_quiescent());
        assert_eq!(mm.take_reports(), [], "{flavour}");
    }
}

#[test]
fn vmap_areas_do_not_overlap() {
    let fx = Fixture::new(PteFormat::X86_64);
    let mm = fx.mm();
    let first = mm.vmap(&PAGES, Prot::KERNEL_RO).unwrap();
    let second = mm.vmap(&PAGES[..1], Prot::KERNEL_RO).unwrap();
    assert!(second.as_u64() >= first.as_u64() + 4 * PAGE_SIZE);
}

#[test]
fn change_protection_keeps_frames_and_hands_back_the_flush() {
    let fx = Fixture::new(PteFormat::X86_64);
    let mm = fx.mm();
    mm.set_flavour(Flavour::Queued);
    let va = mm.vmap(&PAGES, Prot::KERNEL_RW).unwrap();
    mm.lazy_mmu_mode_enable();
    let flush = mm.change_protection(va, 3 * PAGE_SIZE, Prot::KERNEL_RO).unwrap();
    mm.lazy_mmu_mode_disable();
    assert_eq!(flush, TlbFlush::range(va, 3));
    for (n, &pa) in PAGES.iter().enumerate() {
        assert_eq!(mm.page_tables().translate(va.add(n as u64 * PAGE_SIZE)), Some((pa, Prot::KERNEL_RO)));
    }
    fx.mmu.take_log();
    mm.flush_tlb(flush, TlbScope::Broadcast);
    assert_eq!(fx.mmu.take_log().len(), 3);
}
