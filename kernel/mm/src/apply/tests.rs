use super::*;
use crate::frame::AllocError;
use crate::lazy::{ArchOp, Flavour, Rule};
use crate::mmu::PteFormat;
use crate::pte::Prot;
use crate::test_mmu::Fixture;

/// Two pages before and two after a leaf-table boundary.
const START: VirtAddr = VirtAddr::new(0xffff_c000_003f_e000);
const SIZE: u64 = 4 * PAGE_SIZE;
const FRAME: PhysAddr = PhysAddr::new(0x9000_0000);

fn map_all<'m, E>(mm: &'m Mm<'_, crate::test_mmu::FakeMmu>) -> impl FnMut(&mut PteRef) -> Result<(), E> + 'm {
    move |pte| {
        let pa = FRAME.add(pte.va.offset_from(START));
        mm.set_pte_at(pte.va, pte.ptep, mm.pte_format().page_entry(pa, Prot::KERNEL_RW));
        Ok(())
    }
}

#[test]
fn creates_tables_and_runs_one_section_per_leaf_table() {
    for format in [PteFormat::X86_64, PteFormat::Arm64] {
        let fx = Fixture::new(format);
        let mm = fx.mm();
        mm.set_flavour(Flavour::Queued);
        let mut seen_lazy = Vec::new();
        let mut map = map_all::<()>(&mm);
        mm.apply_to_page_range(START, SIZE, |pte| {
            seen_lazy.push(mm.is_lazy_mmu_mode_active());
            map(pte)
        })
        .unwrap();
        assert_eq!(seen_lazy, [true; 4]);
        for page in 0..4 {
            let va = START.add(page * PAGE_SIZE);
            assert_eq!(mm.page_tables().translate(va), Some((FRAME.add(page * PAGE_SIZE), Prot::KERNEL_RW)));
        }
        let sections = [ArchOp::Enter, ArchOp::Leave, ArchOp::Enter, ArchOp::Leave];
        assert_eq!(mm.take_arch_trace(), sections);
        assert_eq!(mm.take_reports(), [], "{format:?}: tables are allocated outside the sections");
    }
}

#[test]
fn nolazy_calls_back_outside_lazy_mode() {
    let fx = Fixture::new(PteFormat::X86_64);
    let mm = fx.mm();
    mm.set_flavour(Flavour::Queued);
    let mut map = map_all::<()>(&mm);
    mm.apply_to_page_range_nolazy(START, SIZE, |pte| {
        assert!(!mm.is_lazy_mmu_mode_active());
        map(pte)?;
        assert_eq!(
            mm.ptep_get(pte.ptep),
            mm.pte_format().page_entry(FRAME.add(pte.va.offset_from(START)), Prot::KERNEL_RW)
        );
        Ok::<(), ()>(())
    })
    .unwrap();
    assert_eq!(mm.take_arch_trace(), []);
}

#[test]
fn existing_skips_holes_and_empty_entries_and_allocates_nothing() {
    for lazy in [Lazy::Yes, Lazy::No] {
        let fx = Fixture::new(PteFormat::X86_64);
        let mm = fx.mm();
        mm.apply_to_page_range(START, PAGE_SIZE, map_all::<()>(&mm)).unwrap();
        let used = fx.frames.lock().stats().used;
        let mut visited = Vec::new();
        let mut visit = |pte: &mut PteRef| {
            visited.push(pte.va);
            Ok::<(), ()>(())
        };
        let hole = VirtAddr::new(0xffff_c000_4000_0000);
        match lazy {
            Lazy::Yes => {
                mm.apply_to_existing_page_range(START, SIZE, &mut visit).unwrap();
                mm.apply_to_existing_page_range(hole, SIZE, &mut visit).unwrap();
            }
            Lazy::No => {
                mm.apply_to_existing_page_range_nolazy(START, SIZE, &mut visit).unwrap();
                mm.apply_to_existing_page_range_nolazy(hole, SIZE, &mut visit).unwrap();
            }
        }
        assert_eq!(visited, [START], "{lazy:?}");
        assert_eq!(fx.frames.lock().stats().used, used, "{lazy:?}");
    }
}

#[test]
fn a_callback_error_midway_leaves_lazy_mode_with_earlier_pages_applied() {
    let fx = Fixture::new(PteFormat::X86_64);
    let mm = fx.mm();
    mm.set_flavour(Flavour::Queued);
    let fail_at = START.add(PAGE_SIZE);
    let mut map = map_all(&mm);
    let result = mm.apply_to_page_range(START, SIZE, |pte| if pte.va == fail_at { Err("full") } else { map(pte) });
    assert_eq!(result, Err(ApplyError::Callback { at: fail_at, error: "full" }));
    assert!(!mm.is_lazy_mmu_mode_active());
    assert_eq!(mm.page_tables().translate(START), Some((FRAME, Prot::KERNEL_RW)), "page 0 landed");
    assert_eq!(mm.page_tables().translate(fail_at), None);
    assert!(mm.check_quiescent(), "nothing stays queued");
}

#[test]
fn a_table_allocation_failure_midway_is_out_of_frames_at_that_page() {
    let fx = Fixture::new(PteFormat::X86_64);
    let mm = fx.mm();
    mm.set_flavour(Flavour::Queued);
    // The first leaf table needs pud, pmd and pte tables; the second one more.
    fx.frames.lock().fail_after(3);
    let result = mm.apply_to_page_range(START, SIZE, map_all::<()>(&mm));
    let second_table = START.add(2 * PAGE_SIZE);
    assert_eq!(result, Err(ApplyError::OutOfFrames { at: second_table }));
    assert_eq!(mm.page_tables().translate(START.add(PAGE_SIZE)), Some((FRAME.add(PAGE_SIZE), Prot::KERNEL_RW)));
    assert!(mm.check_quiescent());
}

#[test]
fn an_allocating_callback_is_reported_only_in_the_lazy_variant() {
    let fx = Fixture::new(PteFormat::X86_64);
    let mm = fx.mm();
    let mut frames = Vec::new();
    mm.apply_to_page_range_nolazy(START, PAGE_SIZE, |_| {
        frames.push(mm.alloc_page()?);
        Ok::<(), AllocError>(())
    })
    .unwrap();
    assert_eq!(mm.take_reports(), []);
    mm.apply_to_page_range(START, PAGE_SIZE, |_| {
        frames.push(mm.alloc_page()?);
        Ok::<(), AllocError>(())
    })
    .unwrap();
    let reports = mm.take_reports();
    assert_eq!(reports.iter().map(|r| r.rule).collect::<Vec<_>>(), [Rule::AllocInLazy]);
    assert!(reports[0].section_entered_at.is_some());
}

#[test]
fn misaligned_ranges_are_walk_errors() {
    let fx = Fixture::new(PteFormat::Arm64);
    let mm = fx.mm();
    let result = mm.apply_to_page_range(START.add(8), PAGE_SIZE, map_all::<()>(&mm));
    assert!(matches!(result, Err(ApplyError::Walk(MapError::Misaligned { .. }))));
}
