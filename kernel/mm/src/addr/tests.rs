use super::*;

#[test]
fn virtual_addresses_are_canonical_in_either_half() {
    for addr in [0, 0x0000_7fff_ffff_f000, 0x0000_8000_0000_0000, 0xffff_0000_0000_0000, u64::MAX] {
        assert_eq!(VirtAddr::try_new(addr).map(VirtAddr::as_u64), Ok(addr), "{addr:#x}");
    }
    for addr in [0x0001_0000_0000_0000, 0x8000_0000_0000_0000, 0xfffe_ffff_ffff_ffff] {
        assert_eq!(VirtAddr::try_new(addr), Err(AddrError::NonCanonical(addr)), "{addr:#x}");
    }
}

#[test]
#[should_panic(expected = "non-canonical virtual address")]
fn new_panics_on_a_non_canonical_address() {
    VirtAddr::new(0x8000_0000_0000_0000);
}

#[test]
fn virtual_arithmetic_stays_in_its_half() {
    let top_of_low = VirtAddr::new(0x0000_ffff_ffff_f000);
    assert_eq!(top_of_low.checked_add(0xfff), Some(VirtAddr::new(0x0000_ffff_ffff_ffff)));
    assert_eq!(top_of_low.checked_add(PAGE_SIZE), None, "into the hole");
    assert_eq!(VirtAddr::new(u64::MAX).checked_add(1), None, "no wrap to 0");
    let high = VirtAddr::new(0xffff_8000_0000_0000);
    assert_eq!(high.add(PAGE_SIZE).offset_from(high), PAGE_SIZE);
}

#[test]
#[should_panic(expected = "left its half")]
fn add_panics_where_checked_add_says_none() {
    VirtAddr::new(u64::MAX - 0xfff).add(PAGE_SIZE);
}

#[test]
fn physical_addresses_fit_52_bits_and_do_not_wrap() {
    let last = (1 << PHYS_ADDR_BITS) - 1;
    assert_eq!(PhysAddr::try_new(last).map(PhysAddr::as_u64), Ok(last));
    assert_eq!(PhysAddr::try_new(1 << PHYS_ADDR_BITS), Err(AddrError::TooHigh(1 << PHYS_ADDR_BITS)));
    assert_eq!(PhysAddr::new(last).checked_add(1), None);
    assert_eq!(PhysAddr::new(0x4000_0000).add(PAGE_SIZE).pfn().addr(), PhysAddr::new(0x4000_1000));
}

#[test]
fn addresses_print_in_hex_either_way() {
    let va = VirtAddr::new(0xffff_8080_04e2_0000);
    assert_eq!(format!("{va} {va:?}"), "0xffff808004e20000 0xffff808004e20000");
    let pa = PhysAddr::new(0x4000_1000);
    assert_eq!(format!("{pa} {pa:?}"), "0x40001000 0x40001000");
}
