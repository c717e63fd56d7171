//! Decoding ESR_EL1 for aborts into `mm::Fault`, and names for the dump.

use mm::{Access, Fault, FaultAddr, FaultKind};

/// ESR_EL1.EC values this kernel tells apart.
/// `svc` in AArch64 state: the yield of arch/preempt.rs.
pub const EC_SVC64: u64 = 0x15;
pub const EC_INSTR_ABORT_SAME_EL: u64 = 0x21;
pub const EC_DATA_ABORT_SAME_EL: u64 = 0x25;
/// Data abort ISS: write not read.
const ISS_WNR: u64 = 1 << 6;

pub fn exception_class(esr: u64) -> u64 {
    (esr >> 26) & 0x3f
}

/// DFSC / IFSC: the fault status code of an abort.
pub fn fault_status(esr: u64) -> u64 {
    esr & 0x3f
}

pub fn is_write(esr: u64) -> bool {
    exception_class(esr) == EC_DATA_ABORT_SAME_EL && esr & ISS_WNR != 0
}

pub fn is_abort(esr: u64) -> bool {
    matches!(exception_class(esr), EC_INSTR_ABORT_SAME_EL | EC_DATA_ABORT_SAME_EL)
}

/// The fault an abort reports; `far` is the faulting address.
pub fn decode_abort(esr: u64, far: u64) -> Fault {
    let access = match (exception_class(esr), is_write(esr)) {
        (EC_INSTR_ABORT_SAME_EL, _) => Access::Exec,
        (_, true) => Access::Write,
        (_, false) => Access::Read,
    };
    let kind = match (fault_status(esr) >> 2, access) {
        (0b0001, _) => FaultKind::NotMapped,
        (0b0011, Access::Write) => FaultKind::WriteProtected,
        (0b0011, Access::Exec) => FaultKind::NoExecute,
        _ => FaultKind::Other(esr),
    };
    Fault { kind, access, addr: FaultAddr(far) }
}

pub fn exception_class_name(ec: u64) -> &'static str {
    match ec {
        0x00 => "unknown reason (undefined instruction?)",
        0x01 => "WFI/WFE trapped",
        0x07 => "FP/SIMD access trapped",
        0x0e => "illegal execution state",
        0x15 => "SVC",
        0x16 => "HVC",
        0x17 => "SMC",
        0x18 => "MSR/MRS trapped",
        0x20 => "instruction abort from EL0",
        EC_INSTR_ABORT_SAME_EL => "instruction abort",
        0x22 => "PC alignment fault",
        0x24 => "data abort from EL0",
        EC_DATA_ABORT_SAME_EL => "data abort",
        0x26 => "SP alignment fault",
        0x2f => "SError",
        0x3c => "BRK",
        _ => "other",
    }
}

pub fn fault_status_name(status: u64) -> &'static str {
    match status >> 2 {
        0b0000 => "address size fault",
        0b0001 => "translation fault",
        0b0010 => "access flag fault",
        0b0011 => "permission fault",
        _ if status == 0b10_0001 => "alignment fault",
        _ => "other fault status",
    }
}
