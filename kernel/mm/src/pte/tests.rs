use super::arm64::{pgattr_change_is_safe, Arm64Flags, MAIR_EL1};
use super::x86_64::X86Flags;
use super::*;

const FRAME: PhysAddr = PhysAddr::new(0x1234_5000);
const ALL_PROTS: [Prot; 5] = [Prot::KERNEL_RO, Prot::KERNEL_RX, Prot::KERNEL_RW, Prot::KERNEL_RWX, Prot::DEVICE];

#[test]
fn level_indices_split_a_48_bit_va() {
    let va = VirtAddr::new(0xffff_8123_4567_8abc);
    assert_eq!(Level::Pgd.index(va), 0x102);
    assert_eq!(Level::Pud.index(va), 0x08d);
    assert_eq!(Level::Pmd.index(va), 0x02b);
    assert_eq!(Level::Pte.index(va), 0x078);
    assert_eq!(Level::Pmd.entry_span(), 2 << 20);
    assert_eq!(Level::Pgd.next(), Some(Level::Pud));
    assert_eq!(Level::Pte.next(), None);
}

#[test]
fn x86_kernel_rw_page_has_accessed_dirty_and_nx() {
    let value = PteFormat::X86_64.page_entry(FRAME, Prot::KERNEL_RW);
    let expected = X86Flags::PRESENT | X86Flags::WRITABLE | X86Flags::ACCESSED | X86Flags::DIRTY | X86Flags::NO_EXECUTE;
    assert_eq!(value, PteValue(FRAME.as_u64() | expected.bits()));
}

#[test]
fn x86_kernel_rx_page_is_read_only_executable_and_clean() {
    let value = PteFormat::X86_64.page_entry(FRAME, Prot::KERNEL_RX);
    assert_eq!(value, PteValue(FRAME.as_u64() | (X86Flags::PRESENT | X86Flags::ACCESSED).bits()));
}

#[test]
fn x86_device_page_is_uncached() {
    let value = X86Flags::from_bits(PteFormat::X86_64.page_entry(FRAME, Prot::DEVICE).0);
    assert!(value.contains(X86Flags::CACHE_DISABLE | X86Flags::WRITE_THROUGH));
    assert!(value.contains(X86Flags::NO_EXECUTE));
}

#[test]
fn page_entries_decode_to_what_was_asked_on_both_formats() {
    for format in [PteFormat::X86_64, PteFormat::Arm64] {
        for prot in ALL_PROTS {
            let value = format.page_entry(FRAME, prot);
            assert!(format.is_present(value));
            let Entry::Page { pa, attrs } = format.decode(Level::Pte, value) else {
                panic!("{format:?} {prot}: not decoded as a page");
            };
            assert_eq!(pa, FRAME, "{format:?} {prot}");
            assert_eq!(attrs.prot, prot, "{format:?} {prot}");
            assert!(attrs.accessed && !attrs.user, "{format:?} {prot}");
            // x86 G stays clear (see X86Flags::GLOBAL); arm64 kernel entries have nG clear.
            assert_eq!(attrs.global, format == PteFormat::Arm64, "{format:?} {prot}");
            assert_eq!(attrs.dirty, prot.writable, "{format:?} {prot}");
        }
    }
}

#[test]
fn table_entries_decode_to_their_next_table_without_limits() {
    for format in [PteFormat::X86_64, PteFormat::Arm64] {
        for level in [Level::Pgd, Level::Pud, Level::Pmd] {
            let value = format.table_entry(FRAME);
            assert_eq!(format.decode(level, value), Entry::Table { next: FRAME, limits: TableLimits::NONE });
        }
    }
}

#[test]
fn zero_is_none_and_non_present_words_are_invalid() {
    for format in [PteFormat::X86_64, PteFormat::Arm64] {
        assert_eq!(format.decode(Level::Pte, PteValue::NONE), Entry::None);
        let migration_entry = PteValue(0x1234_5000 | 0b100);
        assert!(!format.is_present(migration_entry));
        assert_eq!(format.decode(Level::Pte, migration_entry), Entry::Invalid(migration_entry));
    }
}

#[test]
fn x86_large_pages_decode_as_blocks_and_are_reserved_in_the_pgd() {
    let flags = X86Flags::PRESENT | X86Flags::WRITABLE | X86Flags::HUGE_PAGE;
    let value = PteValue(0x4020_0000 | flags.bits());
    let Entry::Block { pa, attrs } = PteFormat::X86_64.decode(Level::Pmd, value) else {
        panic!("2 MiB page not decoded as a block");
    };
    assert_eq!(pa, PhysAddr::new(0x4020_0000));
    assert_eq!(attrs.prot, Prot::KERNEL_RWX);
    assert!(matches!(PteFormat::X86_64.decode(Level::Pud, value), Entry::Block { .. }));
    assert_eq!(PteFormat::X86_64.decode(Level::Pgd, value), Entry::Invalid(value));
}

#[test]
fn x86_table_limits_come_from_rw_and_nx() {
    let value = PteValue(FRAME.as_u64() | (X86Flags::PRESENT | X86Flags::NO_EXECUTE).bits());
    let limits = TableLimits { allows_write: false, allows_exec: false };
    assert_eq!(PteFormat::X86_64.decode(Level::Pud, value), Entry::Table { next: FRAME, limits });
}

#[test]
fn arm64_kernel_rw_page_matches_linux_page_kernel() {
    let value = PteFormat::Arm64.page_entry(FRAME, Prot::KERNEL_RW);
    let expected = Arm64Flags::VALID
        | Arm64Flags::TABLE_OR_PAGE
        | Arm64Flags::SH_INNER
        | Arm64Flags::ACCESS_FLAG
        | Arm64Flags::DBM
        | Arm64Flags::PXN
        | Arm64Flags::UXN;
    assert_eq!(value, PteValue(FRAME.as_u64() | expected.bits()));
}

#[test]
fn arm64_kernel_rx_page_is_rdonly_and_privileged_executable() {
    let flags = Arm64Flags::from_bits(PteFormat::Arm64.page_entry(FRAME, Prot::KERNEL_RX).0);
    assert!(flags.contains(Arm64Flags::AP_RDONLY | Arm64Flags::UXN));
    assert!(!flags.contains(Arm64Flags::PXN) && !flags.contains(Arm64Flags::DBM));
    assert!(!flags.contains(Arm64Flags::NOT_GLOBAL));
}

#[test]
fn arm64_device_page_uses_mair_index_1_and_mair_matches() {
    let value = PteFormat::Arm64.page_entry(FRAME, Prot::DEVICE).0;
    assert_eq!((value & Arm64Flags::ATTR_INDX_MASK.bits()) >> 2, 1);
    assert_eq!(MAIR_EL1, 0x00ff);
}

#[test]
fn arm64_blocks_only_at_levels_1_and_2() {
    let block = PteValue(0x4000_0000 | (Arm64Flags::VALID | Arm64Flags::ACCESS_FLAG).bits());
    assert!(matches!(PteFormat::Arm64.decode(Level::Pud, block), Entry::Block { .. }));
    assert!(matches!(PteFormat::Arm64.decode(Level::Pmd, block), Entry::Block { .. }));
    assert_eq!(PteFormat::Arm64.decode(Level::Pgd, block), Entry::Invalid(block));
    assert_eq!(PteFormat::Arm64.decode(Level::Pte, block), Entry::Invalid(block));
}

#[test]
fn arm64_table_limits_come_from_aptable_and_pxntable() {
    let flags = Arm64Flags::VALID | Arm64Flags::TABLE_OR_PAGE | Arm64Flags::AP_TABLE_RDONLY | Arm64Flags::PXN_TABLE;
    let limits = TableLimits { allows_write: false, allows_exec: false };
    let value = PteValue(FRAME.as_u64() | flags.bits());
    assert_eq!(PteFormat::Arm64.decode(Level::Pmd, value), Entry::Table { next: FRAME, limits });
}

#[test]
fn pgattr_change_is_safe_allows_permission_changes_only() {
    let rw = PteFormat::Arm64.page_entry(FRAME, Prot::KERNEL_RW);
    let ro = PteFormat::Arm64.page_entry(FRAME, Prot::KERNEL_RO);
    let rx = PteFormat::Arm64.page_entry(FRAME, Prot::KERNEL_RX);
    let other_frame = PteFormat::Arm64.page_entry(FRAME.add(0x1000), Prot::KERNEL_RW);
    let device = PteFormat::Arm64.page_entry(FRAME, Prot::DEVICE);
    let not_global = PteValue(rw.0 | Arm64Flags::NOT_GLOBAL.bits());
    let contiguous = PteValue(rw.0 | Arm64Flags::CONTIGUOUS.bits());

    assert!(pgattr_change_is_safe(rw, ro), "write-protect");
    assert!(pgattr_change_is_safe(ro, rx), "make executable");
    assert!(pgattr_change_is_safe(PteValue::NONE, rw), "create");
    assert!(pgattr_change_is_safe(rw, PteValue::NONE), "take down");
    assert!(pgattr_change_is_safe(rw, not_global), "global to non-global");
    assert!(!pgattr_change_is_safe(not_global, rw), "non-global to global");
    assert!(!pgattr_change_is_safe(rw, other_frame), "output address");
    assert!(!pgattr_change_is_safe(rw, device), "memory type");
    assert!(!pgattr_change_is_safe(rw, contiguous), "contiguous hint");
}

#[test]
fn prot_read_only_and_display() {
    assert_eq!(Prot::KERNEL_RW.read_only(), Prot::KERNEL_RO);
    assert_eq!(Prot::KERNEL_RX.to_string(), "R-X");
    assert_eq!(Prot::DEVICE.to_string(), "RW- device");
}

#[test]
fn values_and_addresses_print_in_hex_with_display_and_debug() {
    let value = PteValue(0x0068_0000_4002_e703);
    assert_eq!(format!("{value}"), "0x6800004002e703");
    assert_eq!(format!("{value:?}"), "0x6800004002e703");
    assert_eq!(format!("{:?}", VirtAddr::new(0xffff_8080_04e2_0000)), "0xffff808004e20000");
    assert_eq!(format!("{}", PhysAddr::new(0x4002_e000)), "0x4002e000");
}

#[test]
fn described_entries_name_validity_permissions_kind_and_frame_per_format() {
    let arm64 = |level, value| format!("{}", PteFormat::Arm64.describe(level, value));
    let x86 = |level, value| format!("{}", PteFormat::X86_64.describe(level, value));
    let rw = PteFormat::Arm64.page_entry(FRAME, Prot::KERNEL_RW);
    assert_eq!(arm64(Level::Pte, rw), format!("{rw} valid RW-EL1 NX page -> 0x12345000"));
    let rx = PteFormat::Arm64.page_entry(FRAME, Prot::KERNEL_RX);
    assert_eq!(arm64(Level::Pte, rx), format!("{rx} valid RO-EL1 X page -> 0x12345000"));
    let table = PteFormat::Arm64.table_entry(FRAME);
    assert_eq!(arm64(Level::Pgd, table), format!("{table} valid table -> 0x12345000"));
    assert_eq!(arm64(Level::Pte, PteValue::NONE), "0x0 none");
    assert_eq!(arm64(Level::Pte, PteValue(FRAME.as_u64() | 2)), "0x12345002 not valid");

    let device = PteFormat::X86_64.page_entry(FRAME, Prot::DEVICE);
    assert_eq!(x86(Level::Pte, device), format!("{device} present RW NX UC page -> 0x12345000"));
    let ro = PteFormat::X86_64.page_entry(FRAME, Prot::KERNEL_RO);
    assert_eq!(
        x86(Level::Pmd, PteValue(ro.0 | X86Flags::HUGE_PAGE.bits())).split_once(' ').unwrap().1,
        "present RO NX block -> 0x12200000"
    );
    assert_eq!(x86(Level::Pte, PteValue(FRAME.as_u64())), "0x12345000 not present");
    assert_eq!(
        PteFormat::X86_64.describe(Level::Pte, device),
        PteFormat::X86_64.describe(Level::Pte, device),
        "equal words describe equal"
    );
}
