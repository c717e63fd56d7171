use super::*;

const BASE: PhysAddr = PhysAddr::new(0x8000_0000);

fn frames(nr: u64) -> FrameAllocator {
    FrameAllocator::new(&[(BASE, nr * PAGE_SIZE)]).unwrap()
}

#[test]
fn allocates_lowest_first_and_counts() {
    let mut frames = frames(4);
    assert_eq!(frames.alloc(), Ok(BASE));
    assert_eq!(frames.alloc(), Ok(BASE.add(PAGE_SIZE)));
    let stats = frames.stats();
    assert_eq!((stats.total, stats.free, stats.used, stats.peak_used), (4, 2, 2, 2));
    frames.free(BASE).unwrap();
    assert_eq!(frames.alloc(), Ok(BASE), "a freed frame is the lowest free again");
    frames.free(BASE).unwrap();
    let stats = frames.stats();
    assert_eq!((stats.used, stats.peak_used, stats.allocs, stats.frees), (1, 2, 3, 2));
    frames.reset_peak();
    assert_eq!(frames.stats().peak_used, 1);
}

#[test]
fn runs_out_and_says_so() {
    let mut frames = frames(2);
    frames.alloc().unwrap();
    frames.alloc().unwrap();
    assert_eq!(frames.alloc(), Err(AllocError::OutOfFrames));
    assert_eq!(frames.stats().failed_allocs, 1);
    frames.free(BASE.add(PAGE_SIZE)).unwrap();
    assert_eq!(frames.alloc(), Ok(BASE.add(PAGE_SIZE)));
}

#[test]
fn double_free_is_an_error_value_and_changes_nothing() {
    let mut frames = frames(2);
    let pa = frames.alloc().unwrap();
    frames.free(pa).unwrap();
    let before = frames.stats();
    assert_eq!(frames.free(pa), Err(AllocError::DoubleFree(pa)));
    assert_eq!(frames.stats(), before);
}

#[test]
fn foreign_and_misaligned_frees_are_rejected() {
    let mut frames = frames(2);
    assert_eq!(frames.free(PhysAddr::new(0x1000)), Err(AllocError::NotManaged(PhysAddr::new(0x1000))));
    assert_eq!(frames.free(BASE.add(8)), Err(AllocError::Misaligned(BASE.add(8))));
    assert_eq!(frames.is_allocated(BASE), Ok(false));
}

#[test]
fn ranges_are_trimmed_to_whole_frames_and_chained() {
    let mut frames = FrameAllocator::empty();
    assert_eq!(frames.add_range(PhysAddr::new(0x1800), 0x2000), Ok(1), "only 0x2000..0x3000 is whole");
    assert_eq!(frames.add_range(PhysAddr::new(0x10_0000), 0x800), Ok(0));
    assert_eq!(frames.add_range(BASE, 2 * PAGE_SIZE), Ok(2));
    assert_eq!(frames.add_range(BASE.add(PAGE_SIZE), PAGE_SIZE), Err(AllocError::Overlaps(BASE.add(PAGE_SIZE))));
    let got: Vec<_> = (0..3).map(|_| frames.alloc().unwrap()).collect();
    assert_eq!(got, [PhysAddr::new(0x2000), BASE, BASE.add(PAGE_SIZE)]);
    assert_eq!(frames.alloc(), Err(AllocError::OutOfFrames));
}

#[test]
fn capacity_is_one_gib() {
    let mut frames = FrameAllocator::empty();
    assert_eq!(frames.add_range(PhysAddr::new(0), 2 << 30), Ok(MAX_FRAMES as u64));
    assert_eq!(frames.add_range(PhysAddr::new(4 << 30), PAGE_SIZE), Ok(0));
    assert_eq!(frames.stats().free, MAX_FRAMES as u64);
}

#[test]
fn fail_after_fails_exactly_the_next_kth_allocation_once() {
    let mut frames = frames(8);
    frames.fail_after(2);
    assert!(frames.alloc().is_ok());
    assert!(frames.alloc().is_ok());
    assert_eq!(frames.alloc(), Err(AllocError::Injected));
    assert!(frames.alloc().is_ok());
    assert_eq!(frames.stats().used, 3);
    frames.fail_after(0);
    frames.clear_fail_injection();
    assert!(frames.alloc().is_ok());
}

#[test]
fn a_locked_allocator_is_a_frame_source() {
    let frames = spin::Mutex::new(frames(1));
    let pa = frames.alloc_frame().unwrap();
    assert_eq!(frames.free_frame(pa), Ok(()));
    assert_eq!(frames.free_frame(pa), Err(AllocError::DoubleFree(pa)));
}
