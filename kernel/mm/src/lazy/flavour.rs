//! The run-time choices of the lazy layer: which backend ("flavour") models
//! the architecture, which nesting rule applies, and which deliberate bugs
//! are injected so the scenarios can show that each judge catches them.

/// A lazy-MMU backend (docs/design.md, "The five flavours"). Each is a small faithful
/// model of a real one. The default, `None`, is what a case without
/// variants runs under.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Flavour {
    /// x86 native, riscv: nothing is deferred.
    #[default]
    None,
    /// arm64 with TIF_LAZY_MMU_PENDING (5fdd05efa1cd): PTE stores at once,
    /// the `dsb ishst; isb` after a kernel PTE store is marked pending and
    /// issued once at leave / flush.
    Arm64,
    /// Xen PV multicalls: PTE writes and TLB flushes go to one per-CPU queue
    /// in program order; memory is unchanged until it drains.
    Queued,
    /// powerpc hash, sparc64: PTE writes at once; invalidating the old
    /// translation (and any explicit flush) is batched; a full batch drains
    /// early. The batch is per CPU and, as on sparc, not handled at a
    /// context switch: the section runs with preemption off instead.
    TlbBatch,
    /// PTE writes queued but TLB flushes done at once: breaks the ordering
    /// contract on purpose (the backend the seed's patches 1-2 assumed).
    DeferredPte,
}

impl Flavour {
    pub const ALL: [Flavour; 5] =
        [Flavour::None, Flavour::Arm64, Flavour::Queued, Flavour::TlbBatch, Flavour::DeferredPte];

    /// The name used on the kernel command line (`flavour=`).
    pub const fn name(self) -> &'static str {
        match self {
            Flavour::None => "none",
            Flavour::Arm64 => "arm64",
            Flavour::Queued => "queued",
            Flavour::TlbBatch => "tlb-batch",
            Flavour::DeferredPte => "deferred-pte",
        }
    }

    pub fn from_name(name: &str) -> Option<Flavour> {
        Flavour::ALL.into_iter().find(|flavour| flavour.name() == name)
    }

    /// Whether a TLB flush issued inside a section takes effect after the
    /// PTE updates issued before it (Jann Horn's review of the seed's
    /// patches 1-2: every real backend keeps this).
    pub const fn keeps_ordering_contract(self) -> bool {
        !matches!(self, Flavour::DeferredPte)
    }

    /// Whether PTE stores inside a section stay out of memory until a drain.
    pub const fn defers_pte_writes(self) -> bool {
        matches!(self, Flavour::Queued | Flavour::DeferredPte)
    }

    /// Whether a context switch leaves and re-enters this CPU's arch mode
    /// (Xen's hooks, 291b3abed657); tlb-batch relies on preemption being off.
    pub const fn has_switch_hooks(self) -> bool {
        !matches!(self, Flavour::TlbBatch)
    }

    pub(crate) const fn from_index(index: u8) -> Flavour {
        Flavour::ALL[index as usize]
    }

    pub(crate) const fn index(self) -> u8 {
        self as u8
    }
}

impl core::fmt::Display for Flavour {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// What a nested enter means.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NestingPolicy {
    /// The seed's rule: nesting is a bug, reported by the sanitizer. The
    /// nested enter and its leave are rejected (no transition, no flush):
    /// the outer section goes on, and work done inside stays deferred.
    Strict,
    /// arm64 1ef3095b1405: a nested enter is silently accepted and the
    /// first leave ends the section (kept on purpose: the scenarios show
    /// the outer section losing its laziness).
    PermissiveFlag,
    /// Linux v7.0's per-task `{enable_count, pause_count}` (5ab246749569):
    /// a nested disable flushes, the outermost one leaves.
    Counter,
}

impl NestingPolicy {
    pub const ALL: [NestingPolicy; 3] = [NestingPolicy::Strict, NestingPolicy::PermissiveFlag, NestingPolicy::Counter];

    pub const fn name(self) -> &'static str {
        match self {
            NestingPolicy::Strict => "strict",
            NestingPolicy::PermissiveFlag => "permissive-flag",
            NestingPolicy::Counter => "counter",
        }
    }

    pub fn from_name(name: &str) -> Option<NestingPolicy> {
        NestingPolicy::ALL.into_iter().find(|policy| policy.name() == name)
    }

    pub(crate) const fn from_index(index: u8) -> NestingPolicy {
        NestingPolicy::ALL[index as usize]
    }

    pub(crate) const fn index(self) -> u8 {
        self as u8
    }
}

/// A bug the lazy layer can be told to have, so that a scenario's buggy
/// form exists in `mm` itself and a judge can be shown to catch it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InjectedBug {
    /// arm64 flavour: leave / flush forget the pending barrier (the host
    /// model's "barrier dropped" case; TCG cannot show it).
    DropPendingBarrier,
    /// Interrupt context joins the interrupted task's section instead of
    /// writing at once (what b81c688426a9 fixed).
    IrqJoinsSection,
    /// tlb-batch: a full batch drops new invalidations instead of draining.
    BatchOverflowDrops,
    /// queued / deferred-pte: a drain runs the queue newest first.
    DrainReorders,
    /// Counter policy: an inner disable does not flush.
    NestedDisableSkipsFlush,
    /// Xen as shipped in 7.0, before 4594437880ce: entering the arch mode
    /// while it is on, or leaving it while it is off, is a BUG
    /// (`enter_lazy` / `leave_lazy`), reported as
    /// [`Rule::ArchEnterWhileEntered`](super::Rule::ArchEnterWhileEntered) /
    /// [`Rule::ArchLeaveWhileLeft`](super::Rule::ArchLeaveWhileLeft). Fixed,
    /// both are tolerated.
    XenIntolerantNesting,
    /// The switch-in hook resumes `current`, which is still the previous
    /// task when it runs, instead of `next` (the hazard of the withdrawn
    /// patch 20260508080514.454607-1-jgross@suse.com).
    SwitchInResumesCurrent,
    /// tlb-batch: entering the arch mode does not disable preemption (sparc
    /// before a1d416bf9faf, powerpc hash before b9ef323ea168), so the task
    /// can be switched or migrated with the per-CPU batch open.
    BatchPreemptible,
    /// Generic `set_ptes()` enters and leaves lazy mode itself, so it nests
    /// inside its callers' sections (before 691ee97e1a9d / eb61ad14c459).
    SetPtesEntersLazy,
    /// Enable and disable inside a pause change the counts, as this
    /// repository's pre-v7.0 pause did; v7.0 makes every call between pause
    /// and resume a no-op.
    PauseDoesNotMask,
    /// arm64: the flush issues its TLBI with no `dsb ishst` before it, so
    /// a PTE store just made may reach the walker after the invalidation.
    FlushSkipsStoreBarrier,
    /// arm64: the flush waits for its TLBI with `dsb ishst`, which does not
    /// complete it, instead of `dsb ish`.
    FlushCompletesWithDsbIshst,
    /// arm64: a new valid entry is published with `dsb ish` and no `isb`.
    PublishSkipsIsb,
    /// Xen with 49147beb0ccb "x86/xen: allow nesting of same lazy mode"
    /// (reverted by c36549ff8d84): a nested section enters the arch mode
    /// again and Xen counts it per CPU (`xen_lazy_nesting`); each leave
    /// undoes one level, so the switch-out hook's single leave does not
    /// unwind a nested section, and leaving while out is a BUG
    /// ([`Rule::ArchLeaveWhileLeft`](super::Rule::ArchLeaveWhileLeft)).
    XenPerCpuNesting,
}

impl InjectedBug {
    pub const ALL: [InjectedBug; 14] = [
        InjectedBug::DropPendingBarrier,
        InjectedBug::IrqJoinsSection,
        InjectedBug::BatchOverflowDrops,
        InjectedBug::DrainReorders,
        InjectedBug::NestedDisableSkipsFlush,
        InjectedBug::XenIntolerantNesting,
        InjectedBug::SwitchInResumesCurrent,
        InjectedBug::BatchPreemptible,
        InjectedBug::SetPtesEntersLazy,
        InjectedBug::PauseDoesNotMask,
        InjectedBug::FlushSkipsStoreBarrier,
        InjectedBug::FlushCompletesWithDsbIshst,
        InjectedBug::PublishSkipsIsb,
        InjectedBug::XenPerCpuNesting,
    ];

    pub(crate) const fn bit(self) -> u32 {
        1 << self as u32
    }
}
