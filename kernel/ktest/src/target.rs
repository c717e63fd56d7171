//! Where a run happens: which architecture's page-table format and rules
//! (`Arch`), checked by which machine (`Backend`: QEMU's MMU or the host
//! model). The [`Platform`](crate::Platform) reports it; plans take it.

use core::fmt;

/// The architecture whose MMU the run exercises.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Arch {
    X86_64,
    Aarch64,
}

impl Arch {
    pub const ALL: [Arch; 2] = [Arch::X86_64, Arch::Aarch64];

    /// The name KTAP, the command line and the runner use.
    pub const fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What plays the MMU: decides which judges can see a bug (TCG keeps no
/// store buffer, so only the host model sees a dropped barrier).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Backend {
    /// The kernel under QEMU: the emulated MMU walks the real page tables.
    Qemu,
    /// `cargo test`: `mm::model`, the strict host model of memory, TLBs and
    /// store visibility.
    HostModel,
}

/// One arch on one backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Target {
    pub arch: Arch,
    pub backend: Backend,
}

impl Target {
    pub const fn qemu(arch: Arch) -> Target {
        Target { arch, backend: Backend::Qemu }
    }

    pub const fn host_model(arch: Arch) -> Target {
        Target { arch, backend: Backend::HostModel }
    }

    pub const fn on_host_model(self) -> bool {
        matches!(self.backend, Backend::HostModel)
    }
}

/// The arch name, with `-model` appended on the host model (`aarch64`,
/// `x86_64-model`), as the `# lazymmu: arch=` line prints it.
impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.backend {
            Backend::Qemu => write!(f, "{}", self.arch),
            Backend::HostModel => write!(f, "{}-model", self.arch),
        }
    }
}
