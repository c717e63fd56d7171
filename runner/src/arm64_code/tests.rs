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

const RET: u32 = 0xd65f_03c0;
const DSB_ISH: u32 = 0xd503_3b9f;
const DSB_ISHST: u32 = 0xd503_3a9f;
const ISB: u32 = 0xd503_3fdf;

/// The check of the function named `tail` in [`EXPECTED`] on `words`.
fn check_of(tail: &str, words: &[u32]) -> FunctionCheck {
    let (name, expected) = EXPECTED.iter().copied().find(|(name, _)| name.ends_with(tail)).unwrap();
    FunctionCheck { name, expected, seen: Some(sequence(&code(words))) }
}

#[test]
fn one_function_per_barrier_and_tlbi_kind() {
    let kinds: Vec<&str> =
        EXPECTED.iter().filter(|(name, _)| name.contains("::barrier::")).map(|(_, seq)| seq[0]).collect();
    assert_eq!(kinds, ["dsb ishst", "dsb ish", "isb", "tlbi vaae1", "tlbi vaae1is", "tlbi vmalle1", "tlbi vmalle1is"]);
    assert!(EXPECTED.iter().filter(|(name, _)| name.contains("::barrier::")).all(|(_, seq)| seq.len() == 1));
}

#[test]
fn the_right_instruction_passes() {
    let check = check_of("barrier::dsb_ish", &[DSB_ISH, RET]);
    assert!(check.passed(), "{}", check.describe());
    assert_eq!(check.describe(), "ok   arch::aarch64::barrier::dsb_ish: dsb ish");
    let check = check_of("barrier::tlbi_vaae1is", &[0xd508_8360, RET]);
    assert_eq!(check.describe(), "ok   arch::aarch64::barrier::tlbi_vaae1is: tlbi vaae1is");
}

#[test]
fn a_weakened_lost_or_extra_instruction_fails() {
    for (words, found) in [
        (&[DSB_ISHST, RET][..], "dsb ishst"),
        (&[RET][..], "nothing"),
        (&[DSB_ISH, ISB, RET][..], "dsb ish; isb"),
        (&[DSB_ISH, DSB_ISH, RET][..], "dsb ish; dsb ish"),
    ] {
        let check = check_of("barrier::dsb_ish", words);
        assert!(!check.passed());
        assert_eq!(check.describe(), format!("FAIL arch::aarch64::barrier::dsb_ish: expected dsb ish, found {found}"));
    }
    let local = check_of("barrier::tlbi_vaae1is", &[0xd508_8760, RET]);
    assert_eq!(local.describe(), "FAIL arch::aarch64::barrier::tlbi_vaae1is: expected tlbi vaae1is, found tlbi vaae1");
}

#[test]
fn a_missing_function_fails_by_name() {
    let check = FunctionCheck { name: "arch::aarch64::barrier::dsb_ishst", expected: &["dsb ishst"], seen: None };
    assert!(!check.passed());
    assert_eq!(
        check.describe(),
        "FAIL arch::aarch64::barrier::dsb_ishst: no such function in the kernel ELF (expected dsb ishst)"
    );
}

#[test]
fn a_non_arm64_file_is_refused() {
    assert!(super::check(b"not an elf").is_err());
}
