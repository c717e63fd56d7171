//! The arm64 kernel's barrier and TLB-maintenance code, checked in the
//! built ELF (`lazymmu-run check-barriers`). No run can see a barrier lost
//! there: QEMU TCG makes every store visible at once and the host model
//! never runs the hardware backend. So each barrier and TLBI instruction kind
//! lives in a function of its own (kernel/src/arch/aarch64/barrier.rs: `mm`
//! issues them one at a time), as does the `install_tables` sequence, and
//! this module finds it by its demangled name, decodes its instruction
//! words and compares the barrier, TLBI and system-register writes in it,
//! in order, with [`EXPECTED`]. The few A64 encodings needed are fixed
//! constants (Arm ARM C6.2: DSB, DMB, ISB, SYS/TLBI, MSR), decoded here.

use object::{Object, ObjectSection, ObjectSymbol};

/// Each checked function (the tail of its demangled path) and the
/// instructions of interest it must contain, exactly and in order.
pub const EXPECTED: &[(&str, &[&str])] = &[
    ("arch::aarch64::barrier::dsb_ishst", &["dsb ishst"]),
    ("arch::aarch64::barrier::dsb_ish", &["dsb ish"]),
    ("arch::aarch64::barrier::isb", &["isb"]),
    ("arch::aarch64::barrier::tlbi_vaae1", &["tlbi vaae1"]),
    ("arch::aarch64::barrier::tlbi_vaae1is", &["tlbi vaae1is"]),
    ("arch::aarch64::barrier::tlbi_vmalle1", &["tlbi vmalle1"]),
    ("arch::aarch64::barrier::tlbi_vmalle1is", &["tlbi vmalle1is"]),
    (
        "arch::aarch64::mmu::install_tables",
        &[
            "dsb ishst",
            "msr mair_el1",
            "msr tcr_el1",
            "isb",
            "msr ttbr0_el1",
            "msr ttbr1_el1",
            "isb",
            "tlbi vmalle1is",
            "dsb ish",
            "isb",
        ],
    ),
];

/// The barrier option named by CRm (DSB and DMB).
fn barrier_option(crm: u32) -> Option<&'static str> {
    Some(match crm {
        0b1111 => "sy",
        0b1110 => "st",
        0b1101 => "ld",
        0b1011 => "ish",
        0b1010 => "ishst",
        0b1001 => "ishld",
        0b0111 => "nsh",
        0b0110 => "nshst",
        0b0101 => "nshld",
        0b0011 => "osh",
        0b0010 => "oshst",
        0b0001 => "oshld",
        _ => return None,
    })
}

/// The EL1 TLBI operation named by (CRm, op2) with op1 = 0, CRn = 8.
fn tlbi_el1(crm: u32, op2: u32) -> Option<String> {
    let shareability = match crm {
        0b0011 => "is",
        0b0111 => "",
        0b0001 => "os",
        _ => return None,
    };
    let operation = match op2 {
        0 => "vmalle1",
        1 => "vae1",
        2 => "aside1",
        3 => "vaae1",
        5 => "vale1",
        7 => "vaale1",
        _ => return None,
    };
    Some(format!("{operation}{shareability}"))
}

/// The system registers the MMU set-up writes, by (op0, op1, CRn, CRm, op2).
fn system_register(op0: u32, op1: u32, crn: u32, crm: u32, op2: u32) -> String {
    let name = match (op0, op1, crn, crm, op2) {
        (3, 0, 1, 0, 0) => "sctlr_el1",
        (3, 0, 2, 0, 0) => "ttbr0_el1",
        (3, 0, 2, 0, 1) => "ttbr1_el1",
        (3, 0, 2, 0, 2) => "tcr_el1",
        (3, 0, 10, 2, 0) => "mair_el1",
        _ => return format!("s{op0}_{op1}_c{crn}_c{crm}_{op2}"),
    };
    name.to_string()
}

/// The assembler text of `word` when it is a barrier, a TLBI or a write to
/// a system register (without its register operand, which is the
/// compiler's choice); `None` for any other instruction.
pub fn decode(word: u32) -> Option<String> {
    let field = |shift: u32, bits: u32| (word >> shift) & ((1 << bits) - 1);
    // Barriers: 1101 0101 0000 0011 0011 CRm op2 11111.
    if word & 0xffff_f01f == 0xd503_301f {
        let crm = field(8, 4);
        let option = || barrier_option(crm).map_or_else(|| format!("#{crm}"), str::to_string);
        return match field(5, 3) {
            0b100 => Some(format!("dsb {}", option())),
            0b101 => Some(format!("dmb {}", option())),
            0b110 if crm == 0b1111 => Some("isb".to_string()),
            0b110 => Some(format!("isb #{crm}")),
            _ => None,
        };
    }
    // SYS (op0 = 1): 1101 0101 0000 1 op1 CRn CRm op2 Rt; TLBI is CRn = 8.
    if word & 0xfff8_0000 == 0xd508_0000 && field(12, 4) == 8 {
        let (op1, crm, op2) = (field(16, 3), field(8, 4), field(5, 3));
        return Some(match (op1, tlbi_el1(crm, op2)) {
            (0, Some(name)) => format!("tlbi {name}"),
            _ => format!("tlbi op1={op1},c8,c{crm},op2={op2}"),
        });
    }
    // MSR (register), op0 = 2 or 3: 1101 0101 0001 o0 op1 CRn CRm op2 Rt.
    if word & 0xfff0_0000 == 0xd510_0000 {
        let op0 = 2 + field(19, 1);
        let name = system_register(op0, field(16, 3), field(12, 4), field(8, 4), field(5, 3));
        return Some(format!("msr {name}"));
    }
    None
}

/// The instructions of interest in `code` (little-endian A64 words), in order.
pub fn sequence(code: &[u8]) -> Vec<String> {
    code.chunks_exact(4).filter_map(|word| decode(u32::from_le_bytes([word[0], word[1], word[2], word[3]]))).collect()
}

/// One checked function: what it holds and whether that is what it must.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionCheck {
    pub name: &'static str,
    pub expected: &'static [&'static str],
    /// `None` when no function of that name is in the ELF.
    pub seen: Option<Vec<String>>,
}

impl FunctionCheck {
    pub fn passed(&self) -> bool {
        self.seen.as_deref().is_some_and(|seen| seen.iter().map(String::as_str).eq(self.expected.iter().copied()))
    }

    /// One line: `ok` or `FAIL`, the function, and what it holds.
    pub fn describe(&self) -> String {
        let expected = self.expected.join("; ");
        match &self.seen {
            None => format!("FAIL {}: no such function in the kernel ELF (expected {expected})", self.name),
            Some(seen) if self.passed() => format!("ok   {}: {}", self.name, seen.join("; ")),
            Some(seen) if seen.is_empty() => format!("FAIL {}: expected {expected}, found nothing", self.name),
            Some(seen) => format!("FAIL {}: expected {expected}, found {}", self.name, seen.join("; ")),
        }
    }
}

/// The demangled names (without hash) and code of the ELF's functions.
fn functions(elf: &[u8]) -> Result<Vec<(String, Vec<u8>)>, String> {
    let file = object::File::parse(elf).map_err(|e| format!("not an ELF: {e}"))?;
    if file.architecture() != object::Architecture::Aarch64 {
        return Err(format!("not an arm64 ELF ({:?})", file.architecture()));
    }
    let mut functions = Vec::new();
    for symbol in file.symbols().filter(|symbol| symbol.kind() == object::SymbolKind::Text && symbol.size() > 0) {
        let (Ok(name), Some(index)) = (symbol.name(), symbol.section_index()) else { continue };
        let section = file.section_by_index(index).map_err(|e| format!("symbol {name}: {e}"))?;
        let data = section.data().map_err(|e| format!("section of {name}: {e}"))?;
        let start = symbol.address().checked_sub(section.address()).and_then(|offset| usize::try_from(offset).ok());
        let code = start.and_then(|start| data.get(start..start.checked_add(usize::try_from(symbol.size()).ok()?)?));
        if let Some(code) = code {
            functions.push((format!("{:#}", rustc_demangle::demangle(name)), code.to_vec()));
        }
    }
    Ok(functions)
}

/// Checks every function of [`EXPECTED`] in the arm64 kernel ELF `elf`.
pub fn check(elf: &[u8]) -> Result<Vec<FunctionCheck>, String> {
    let functions = functions(elf)?;
    Ok(EXPECTED
        .iter()
        .map(|&(name, expected)| {
            let seen = functions
                .iter()
                .find(|(demangled, _)| demangled.strip_suffix(name).is_some_and(|head| head.ends_with("::")))
                .map(|(_, code)| sequence(code));
            FunctionCheck { name, expected, seen }
        })
        .collect())
}

pub mod command;
#[cfg(test)]
mod tests;
