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

impl core::fmt::Display for Fault {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:?} fault on {:?} at {}", self.kind, self.access, self.addr)
    }
}
