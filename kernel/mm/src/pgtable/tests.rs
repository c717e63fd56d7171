use super::*;
use crate::frame::FrameAllocator;
use crate::mmu::{store_pte, TlbScope};
use crate::pte::x86_64::X86Flags;
use crate::test_mmu::{test_frames, FakeMmu, HwOp, TEST_RAM_START};

const FORMATS: [PteFormat; 2] = [PteFormat::X86_64, PteFormat::Arm64];
const KERNEL_VA: VirtAddr = VirtAddr::new(0xffff_c000_0010_0000);
const LOW_VA: VirtAddr = VirtAddr::new(0x0000_0000_4000_0000);
/// A VA where one leaf table ends and the next begins.
const PMD_BOUNDARY: VirtAddr = VirtAddr::new(0xffff_c000_0040_0000);
const FRAME: PhysAddr = PhysAddr::new(0x9000_0000);

fn used(frames: &spin::Mutex<FrameAllocator>) -> u64 {
    frames.lock().stats().used
}

#[test]
fn new_allocates_one_root_on_x86_and_two_on_arm64() {
    for (format, roots) in [(PteFormat::X86_64, 1), (PteFormat::Arm64, 2)] {
        let (mmu, frames) = (FakeMmu::new(format), test_frames());
        let tables = PageTables::new(&mmu, &frames).unwrap();
        assert_eq!(used(&frames), roots, "{format:?}");
        assert_eq!(tables.roots().low == tables.roots().high, format == PteFormat::X86_64);
        assert!(mmu.take_log().iter().all(|op| matches!(op, HwOp::ZeroPage(_))), "roots are zeroed");
    }
}

#[test]
fn map_page_builds_four_levels_and_translates() {
    for format in FORMATS {
        let (mmu, frames) = (FakeMmu::new(format), test_frames());
        let tables = PageTables::new(&mmu, &frames).unwrap();
        tables.map_page(KERNEL_VA, FRAME, Prot::KERNEL_RW).unwrap();
        assert_eq!(used(&frames), (format == PteFormat::Arm64) as u64 + 4, "{format:?}: root(s) + pud, pmd, pte");

        let walk = tables.walk(KERNEL_VA);
        assert_eq!(walk.half, Some(RootHalf::High));
        assert_eq!(walk.steps().count(), 4);
        let leaf = walk.leaf().expect("mapped page has a leaf");
        assert_eq!(leaf.level, Level::Pte);
        assert_eq!(leaf.value, format.page_entry(FRAME, Prot::KERNEL_RW));
        assert_eq!(tables.translate(KERNEL_VA.add(0x123)), Some((FRAME.add(0x123), Prot::KERNEL_RW)));
        assert_eq!(tables.translate(KERNEL_VA.add(PAGE_SIZE)), None);
        assert!(walk.to_string().contains("pte[256]"), "{walk}");
        assert_eq!(mmu.take_log().last(), Some(&HwOp::FullBarrier), "the page is published by a barrier");
    }
}

#[test]
fn halves_use_their_own_root_on_arm64_and_one_root_on_x86() {
    for format in FORMATS {
        let (mmu, frames) = (FakeMmu::new(format), test_frames());
        let tables = PageTables::new(&mmu, &frames).unwrap();
        tables.map_page(LOW_VA, FRAME, Prot::KERNEL_RO).unwrap();
        tables.map_page(KERNEL_VA, FRAME.add(PAGE_SIZE), Prot::KERNEL_RX).unwrap();
        let roots = tables.roots();
        let first_ptep = |va| tables.walk(va).steps().next().unwrap().ptep;
        assert_eq!(first_ptep(LOW_VA), entry_addr(roots.low, Level::Pgd, LOW_VA));
        assert_eq!(first_ptep(KERNEL_VA), entry_addr(roots.high, Level::Pgd, KERNEL_VA));
        assert_eq!(tables.translate(LOW_VA), Some((FRAME, Prot::KERNEL_RO)));
        assert_eq!(tables.translate(KERNEL_VA), Some((FRAME.add(PAGE_SIZE), Prot::KERNEL_RX)));
    }
}

#[test]
fn non_canonical_addresses_are_refused_per_format() {
    let x86_hole = VirtAddr::new(0x0000_8000_0000_0000);
    assert_eq!(Roots::half_of(PteFormat::X86_64, x86_hole), None);
    assert_eq!(Roots::half_of(PteFormat::Arm64, x86_hole), Some(RootHalf::Low), "TTBR0 covers 48 bits");
    // Outside both formats' halves, no `VirtAddr` exists to hand them.
    assert!(VirtAddr::try_new(0x0001_0000_0000_0000).is_err());
    let (mmu, frames) = (FakeMmu::new(PteFormat::X86_64), test_frames());
    let tables = PageTables::new(&mmu, &frames).unwrap();
    let va = x86_hole;
    assert_eq!(tables.map_page(va, FRAME, Prot::KERNEL_RW), Err(MapError::NonCanonical { va }));
    assert_eq!(tables.walk(va).steps().count(), 0);
    assert_eq!(tables.translate(va), None);
}

#[test]
fn map_range_crosses_leaf_tables() {
    for format in FORMATS {
        let (mmu, frames) = (FakeMmu::new(format), test_frames());
        let tables = PageTables::new(&mmu, &frames).unwrap();
        let start = VirtAddr::new(PMD_BOUNDARY.as_u64() - 2 * PAGE_SIZE);
        tables.map_range(start, FRAME, 4 * PAGE_SIZE, Prot::KERNEL_RW).unwrap();
        for page in 0..4 {
            let va = start.add(page * PAGE_SIZE);
            assert_eq!(tables.translate(va), Some((FRAME.add(page * PAGE_SIZE), Prot::KERNEL_RW)), "{format:?} {va}");
        }
        let barriers = mmu.take_log().iter().filter(|op| **op == HwOp::FullBarrier).count();
        assert_eq!(barriers, 3 + 1 + 1, "{format:?}: pud, pmd, two pte tables, one for the range");
    }
}

#[test]
fn map_page_refuses_a_present_entry() {
    for format in FORMATS {
        let (mmu, frames) = (FakeMmu::new(format), test_frames());
        let tables = PageTables::new(&mmu, &frames).unwrap();
        tables.map_page(KERNEL_VA, FRAME, Prot::KERNEL_RW).unwrap();
        let existing = format.page_entry(FRAME, Prot::KERNEL_RW);
        let err = tables.map_page(KERNEL_VA, FRAME.add(PAGE_SIZE), Prot::KERNEL_RW);
        assert_eq!(err, Err(MapError::AlreadyMapped { va: KERNEL_VA, existing }));
        assert_eq!(tables.translate(KERNEL_VA), Some((FRAME, Prot::KERNEL_RW)));
    }
}

#[test]
fn unmap_page_clears_and_hands_back_a_flush() {
    for format in FORMATS {
        let (mmu, frames) = (FakeMmu::new(format), test_frames());
        let tables = PageTables::new(&mmu, &frames).unwrap();
        tables.map_page(KERNEL_VA, FRAME, Prot::KERNEL_RW).unwrap();
        mmu.take_log();
        let flush = tables.unmap_page(KERNEL_VA).unwrap();
        assert_eq!(flush, TlbFlush::page(KERNEL_VA));
        assert_eq!(tables.translate(KERNEL_VA), None);
        flush.flush(&mmu, TlbScope::Broadcast);
        let ptep = tables.pte_offset(KERNEL_VA).unwrap().unwrap();
        let expected = [HwOp::WritePte(ptep, 0), HwOp::FullBarrier, HwOp::FlushPage(KERNEL_VA, TlbScope::Broadcast)];
        assert_eq!(mmu.take_log(), expected);
        assert_eq!(tables.unmap_page(KERNEL_VA), Err(MapError::NotMapped { va: KERNEL_VA }));
        assert_eq!(tables.unmap_page(LOW_VA), Err(MapError::NotMapped { va: LOW_VA }));
    }
}

#[test]
fn pte_offset_finds_holes_without_allocating() {
    for format in FORMATS {
        let (mmu, frames) = (FakeMmu::new(format), test_frames());
        let tables = PageTables::new(&mmu, &frames).unwrap();
        let before = used(&frames);
        assert_eq!(tables.pte_offset(KERNEL_VA), Ok(None));
        assert_eq!(used(&frames), before);
        let ptep = tables.pte_alloc(KERNEL_VA).unwrap();
        assert_eq!(tables.pte_offset(KERNEL_VA), Ok(Some(ptep)));
        assert_eq!(tables.pte_offset(KERNEL_VA.add(PAGE_SIZE)), Ok(Some(ptep.add(8))));
    }
}

#[test]
fn table_allocation_failure_names_the_address_and_keeps_earlier_pages() {
    for format in FORMATS {
        let (mmu, frames) = (FakeMmu::new(format), test_frames());
        let tables = PageTables::new(&mmu, &frames).unwrap();
        let start = VirtAddr::new(PMD_BOUNDARY.as_u64() - PAGE_SIZE);
        // The first page takes pud, pmd and pte tables; the second needs a new pte table.
        frames.lock().fail_after(3);
        let err = tables.map_range(start, FRAME, 2 * PAGE_SIZE, Prot::KERNEL_RW);
        let at = start.add(PAGE_SIZE);
        assert_eq!(err, Err(MapError::OutOfFrames { at, cause: AllocError::Injected }), "{format:?}");
        assert_eq!(tables.translate(start), Some((FRAME, Prot::KERNEL_RW)));
        assert_eq!(tables.translate(at), None);
    }
}

#[test]
fn new_leaks_nothing_when_the_second_root_fails() {
    let (mmu, frames) = (FakeMmu::new(PteFormat::Arm64), test_frames());
    frames.lock().fail_after(1);
    assert!(matches!(PageTables::new(&mmu, &frames), Err(MapError::OutOfFrames { .. })));
    assert_eq!(used(&frames), 0);
}

#[test]
fn blocks_translate_and_stand_in_the_way_of_tables() {
    let (mmu, frames) = (FakeMmu::new(PteFormat::X86_64), test_frames());
    let tables = PageTables::new(&mmu, &frames).unwrap();
    let pmd_ptep = {
        tables.map_page(LOW_VA, FRAME, Prot::KERNEL_RW).unwrap();
        tables.walk(LOW_VA).steps().nth(2).unwrap().ptep
    };
    let flags = X86Flags::PRESENT | X86Flags::WRITABLE | X86Flags::HUGE_PAGE | X86Flags::NO_EXECUTE;
    store_pte(&mmu, pmd_ptep, PteValue(TEST_RAM_START.as_u64() | flags.bits()));
    assert_eq!(tables.translate(LOW_VA.add(0x1_2345)), Some((TEST_RAM_START.add(0x1_2345), Prot::KERNEL_RW)));
    let va = LOW_VA.add(PAGE_SIZE);
    assert_eq!(tables.map_page(va, FRAME, Prot::KERNEL_RW), Err(MapError::BlockInTheWay { va, level: Level::Pmd }));
}

#[test]
fn table_limits_restrict_the_translation() {
    let (mmu, frames) = (FakeMmu::new(PteFormat::X86_64), test_frames());
    let tables = PageTables::new(&mmu, &frames).unwrap();
    tables.map_page(LOW_VA, FRAME, Prot::KERNEL_RWX).unwrap();
    let pud = *tables.walk(LOW_VA).steps().nth(1).unwrap();
    store_pte(&mmu, pud.ptep, PteValue(pud.value.0 & !X86Flags::WRITABLE.bits()));
    assert_eq!(tables.translate(LOW_VA), Some((FRAME, Prot::KERNEL_RX)));
}

#[test]
fn bad_and_misaligned_inputs_are_named_errors() {
    let (mmu, frames) = (FakeMmu::new(PteFormat::Arm64), test_frames());
    let tables = PageTables::new(&mmu, &frames).unwrap();
    assert_eq!(
        tables.map_page(LOW_VA.add(8), FRAME, Prot::KERNEL_RW),
        Err(MapError::Misaligned { value: LOW_VA.as_u64() + 8 })
    );
    assert_eq!(tables.map_range(LOW_VA, FRAME, 100, Prot::KERNEL_RW), Err(MapError::Misaligned { value: 100 }));
    let pgd_ptep = entry_addr(tables.roots().low, Level::Pgd, LOW_VA);
    store_pte(&mmu, pgd_ptep, PteValue(0x1000));
    let err = tables.map_page(LOW_VA, FRAME, Prot::KERNEL_RW);
    assert_eq!(err, Err(MapError::BadEntry { va: LOW_VA, level: Level::Pgd, value: PteValue(0x1000) }));
}

#[test]
fn from_hardware_reads_the_live_roots() {
    let (mmu, frames) = (FakeMmu::new(PteFormat::Arm64), test_frames());
    let built = PageTables::new(&mmu, &frames).unwrap();
    built.map_page(KERNEL_VA, FRAME, Prot::KERNEL_RW).unwrap();
    mmu.set_roots(built.roots().low, built.roots().high);
    let live = PageTables::from_hardware(&mmu, &frames);
    assert_eq!(live.roots(), built.roots());
    assert_eq!(live.translate(KERNEL_VA), Some((FRAME, Prot::KERNEL_RW)));
}
