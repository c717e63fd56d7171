//! A fault as a value: what the MMU (real or modelled) reported for one access.

use crate::addr::FaultAddr;

/// The access that was attempted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
    Exec,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// No valid translation (x86 not-present, arm64 translation fault).
    NotMapped,
    /// A store to a read-only mapping.
    WriteProtected,
    /// An instruction fetch from a no-execute mapping.
    NoExecute,
    /// Anything else, with the raw cause (x86 error code / arm64 ESR).
    Other(u64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault {
    pub kind: FaultKind,
    pub access: Access,
    pub addr: FaultAddr,
}

impl Access {
    /// As in "write fault": `read`, `write`, `exec` (an instruction fetch).
    pub const fn name(self) -> &'static str {
        match self {
            Access::Read => "read",
            Access::Write => "write",
            Access::Exec => "exec",
        }
    }
}

impl core::fmt::Display for FaultKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            FaultKind::NotMapped => f.write_str("not mapped"),
            FaultKind::WriteProtected => f.write_str("write-protected"),
            FaultKind::NoExecute => f.write_str("no-execute"),
            FaultKind::Other(cause) => write!(f, "cause {cause:#x}"),
        }
    }
}

/// `write fault (not mapped) at 0xffff808004e20000`: how a kernel oops
/// names it, never a `Debug` dump.
impl core::fmt::Display for Fault {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} fault ({}) at {}", self.access.name(), self.kind, self.addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fault_reads_as_the_kernel_words_for_it() {
        let fault = Fault { kind: FaultKind::NotMapped, access: Access::Write, addr: FaultAddr(0xffff_8080_04e2_0000) };
        assert_eq!(format!("{fault}"), "write fault (not mapped) at 0xffff808004e20000");
        let fault = Fault { kind: FaultKind::Other(0x9600_0045), access: Access::Exec, addr: FaultAddr(0x1000) };
        assert_eq!(format!("{fault}"), "exec fault (cause 0x96000045) at 0x1000");
    }
}
