//! The decoder against words gdb-multiarch disassembled from the kernel
//! (`disassemble /r`), and the verdict on a function's sequence.

use super::{decode, sequence, FunctionCheck, EXPECTED};

/// (word, what gdb-multiarch printed, register operand dropped).
const GDB_SAYS: &[(u32, &str)] = &[
    (0xd503_3a9f, "dsb ishst"),
    (0xd503_3b9f, "dsb ish"),
    (0xd503_3f9f, "dsb sy"),
    (0xd503_3bbf, "dmb ish"),
    (0xd503_3fdf, "isb"),
    (0xd508_831f, "tlbi vmalle1is"),
    (0xd508_871f, "tlbi vmalle1"),
    (0xd508_8760, "tlbi vaae1"),
    (0xd508_8368, "tlbi vaae1is"),
    (0xd508_8728, "tlbi vae1"),
    (0xd508_87a8, "tlbi vale1"),
    (0xd518_a208, "msr mair_el1"),
    (0xd518_2049, "msr tcr_el1"),
    (0xd518_2000, "msr ttbr0_el1"),
    (0xd518_2021, "msr ttbr1_el1"),
    (0xd518_1000, "msr sctlr_el1"),
];

/// Instructions the check must pass over: not barriers, TLBIs or writes.
const OTHERS: &[u32] = &[
    0xa9bf_7bfd, // stp x29, x30, [sp, #-16]!
    0x9100_03fd, // mov x29, sp
    0xd538_0708, // mrs x8, id_aa64mmfr0_el1
    0xd65f_03c0, // ret
    0xd503_201f, // nop
    0xd503_4fdf, // msr daifset, #0xf (an immediate, not a register write)
];

#[test]
fn decodes_what_gdb_disassembled() {
    for &(word, text) in GDB_SAYS {
        assert_eq!(decode(word).as_deref(), Some(text), "{word:#010x}");
    }
    for &word in OTHERS {
        assert_eq!(decode(word), None, "{word:#010x}");
    }
}

fn code(words: &[u32]) -> Vec<u8> {
    words.iter().flat_map(|word| word.to_le_bytes()).collect()
}

/// tlbi_page_broadcast as the kernel build laid it out.
const TLBI_PAGE_BROADCAST: [u32; 8] =
    [0xa9bf_7bfd, 0x9100_03fd, 0xd503_3a9f, 0xd508_8360, 0xd503_3b9f, 0xd503_3fdf, 0xa8c1_7bfd, 0xd65f_03c0];

fn broadcast_check(words: &[u32]) -> FunctionCheck {
    let (name, expected) = EXPECTED.iter().copied().find(|(name, _)| name.ends_with("tlbi_page_broadcast")).unwrap();
    FunctionCheck { name, expected, seen: Some(sequence(&code(words))) }
}

#[test]
fn the_right_sequence_passes() {
    let check = broadcast_check(&TLBI_PAGE_BROADCAST);
    assert!(check.passed(), "{}", check.describe());
    assert_eq!(
        check.describe(),
        "ok   arch::aarch64::barrier::tlbi_page_broadcast: dsb ishst; tlbi vaae1is; dsb ish; isb"
    );
}

#[test]
fn a_lost_weakened_or_moved_barrier_fails() {
    let mut lost = TLBI_PAGE_BROADCAST.to_vec();
    lost.remove(4); // the dsb ish that waits for the other CPUs
    let mut weakened = TLBI_PAGE_BROADCAST;
    weakened[4] = 0xd503_3a9f; // dsb ishst: does not wait for the TLBI
    let mut local = TLBI_PAGE_BROADCAST;
    local[3] = 0xd508_8760; // tlbi vaae1: this CPU only
    let mut moved = TLBI_PAGE_BROADCAST;
    moved.swap(2, 3); // the store barrier after the TLBI
    for (words, found) in [
        (&lost[..], "dsb ishst; tlbi vaae1is; isb"),
        (&weakened[..], "dsb ishst; tlbi vaae1is; dsb ishst; isb"),
        (&local[..], "dsb ishst; tlbi vaae1; dsb ish; isb"),
        (&moved[..], "tlbi vaae1is; dsb ishst; dsb ish; isb"),
    ] {
        let check = broadcast_check(words);
        assert!(!check.passed());
        assert_eq!(
            check.describe(),
            format!(
                "FAIL arch::aarch64::barrier::tlbi_page_broadcast: expected dsb ishst; tlbi vaae1is; dsb ish; \
                 isb, found {found}"
            )
        );
    }
}

#[test]
fn a_missing_function_fails_by_name() {
    let check = FunctionCheck { name: "arch::aarch64::barrier::store_barrier", expected: &["dsb ishst"], seen: None };
    assert!(!check.passed());
    assert_eq!(
        check.describe(),
        "FAIL arch::aarch64::barrier::store_barrier: no such function in the kernel ELF (expected dsb ishst)"
    );
}

#[test]
fn a_non_arm64_file_is_refused() {
    assert!(super::check(b"not an elf").is_err());
}
