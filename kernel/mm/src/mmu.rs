//! The MMU interface: every access `mm` makes to page-table memory, barriers
//! and TLBs goes through [`Mmu`]. The kernel implements it per architecture
//! with real instructions; the host model implements it in software, so the
//! same `mm` code runs against both judges (docs/design.md, "The host
//! model").

use crate::addr::{PhysAddr, VirtAddr};
use crate::pte::PteValue;

/// CPUs the per-CPU state is sized for; `Mmu::cpu_id` is always below this.
pub const MAX_CPUS: usize = 4;

/// The page-table entry encoding in use: decides how `mm` builds and reads
/// entries (see [`crate::pte`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PteFormat {
    /// x86_64, 4-level, 4 KiB pages, bit 63 NX.
    X86_64,
    /// arm64 stage 1, 4 KiB granule, 48-bit VA (T0SZ = T1SZ = 16), 4 levels.
    Arm64,
}

/// Which CPUs a TLB invalidation must reach.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TlbScope {
    /// This CPU only (x86 `invlpg`; arm64 `tlbi vaae1`).
    Local,
    /// Every CPU (x86 `invlpg` + shootdown IPI; arm64 `tlbi vaae1is`).
    Broadcast,
}

/// The two halves of the virtual address space. On arm64, VA bit 63 picks
/// TTBR0 (Low) or TTBR1 (High); on x86_64 both halves live under one CR3.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RootHalf {
    Low,
    High,
}

/// A barrier instruction, by its arm64 name (x86_64 keeps stores and
/// translations in order on its own: a compiler fence for each).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Barrier {
    /// `dsb ishst`: earlier stores (PTE stores included) complete, so the
    /// table walkers of every CPU see them. It does not complete a TLBI.
    DsbIshSt,
    /// `dsb ish`: every earlier access completes, and every earlier TLBI
    /// of this CPU takes effect (on every CPU for the broadcast forms).
    DsbIsh,
    /// `isb`: a context synchronisation; this CPU's later walks see what
    /// an earlier DSB completed (docs/litmus.md, the `IFB-ob` rule).
    Isb,
}

/// What a TLB invalidation drops.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TlbiTarget {
    /// The translation of the page holding this VA, at every level (arm64
    /// `tlbi vaae1[is]`).
    Page(VirtAddr),
    /// Every translation (arm64 `tlbi vmalle1[is]`).
    All,
}

/// One step of a TLB flush as `mm` issues it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FlushStep {
    Barrier(Barrier),
    Tlbi,
}

/// arm64's flush (Linux `flush_tlb_kernel_range`): publish earlier PTE
/// stores to the walkers (`dsb ishst`), invalidate, wait for the
/// invalidation to complete on every CPU it reaches (`dsb ish`: a TLBI
/// completes only at a `dsb ish` of the CPU that issued it), and
/// resynchronise this CPU (`isb`). docs/litmus.md gives the rules.
pub const FLUSH_SEQUENCE: [FlushStep; 4] = [
    FlushStep::Barrier(Barrier::DsbIshSt),
    FlushStep::Tlbi,
    FlushStep::Barrier(Barrier::DsbIsh),
    FlushStep::Barrier(Barrier::Isb),
];

/// Issues `steps` on `mmu`, each `Tlbi` step for `target` in `scope`.
pub fn issue_flush<M: Mmu + ?Sized>(mmu: &M, steps: &[FlushStep], target: TlbiTarget, scope: TlbScope) {
    for step in steps {
        match *step {
            FlushStep::Barrier(barrier) => mmu.barrier(barrier),
            FlushStep::Tlbi => mmu.tlbi(target, scope),
        }
    }
}

/// All hardware access `mm` needs. Methods take `&self` and may be called
/// from any CPU and from interrupt context, so implementations keep their
/// own state per CPU or behind atomics.
///
/// Contract for `mm`'s use of it:
/// - `write_pte` is one plain store of the whole entry: no barrier, no TLB
///   maintenance. `mm` issues barriers and invalidations itself so that the
///   lazy-MMU flavours can defer or batch them.
/// - Only `mm` can call `write_pte` and `zero_page`: both take a
///   [`PteWrite`], which nothing outside this module can make. `mm` passes
///   only entries of tables reached from its roots and pages it has just
///   allocated for a table.
/// - `barrier` and `tlbi` are single instructions; `tlbi` only issues the
///   invalidation, which takes effect at a later `Barrier::DsbIsh` of the
///   same CPU. The sequences `mm` builds from them are the provided methods
///   (`store_barrier`, `full_barrier`, the flushes): an implementation does
///   not override them, so the sequence the host model judges is the one
///   the kernel runs.
/// - `mm` counts a `full_barrier` as the "dsb + isb pair" that arm64's
///   `__set_pte` issues after a kernel PTE store.
pub trait Mmu: Sync {
    fn format(&self) -> PteFormat;
    /// Reads the entry at physical address `ptep`.
    fn read_pte(&self, ptep: PhysAddr) -> u64;
    /// Stores `value` at physical address `ptep`: one raw store, no barrier.
    fn write_pte(&self, token: PteWrite, ptep: PhysAddr, value: u64);
    /// Fills the 4 KiB page at `page` with zeroes (a fresh table page).
    fn zero_page(&self, token: PteWrite, page: PhysAddr);
    /// One barrier instruction.
    fn barrier(&self, barrier: Barrier);
    /// Issues one TLB invalidation (arm64 `tlbi`; x86_64 `invlpg`, a CR3
    /// reload, or a shootdown, all complete at once).
    fn tlbi(&self, target: TlbiTarget, scope: TlbScope);
    /// arm64 `dsb ishst`.
    fn store_barrier(&self) {
        self.barrier(Barrier::DsbIshSt);
    }
    /// arm64 `dsb ish; isb`.
    fn full_barrier(&self) {
        self.barrier(Barrier::DsbIsh);
        self.barrier(Barrier::Isb);
    }
    /// Invalidates the translation of the page holding `va`
    /// ([`FLUSH_SEQUENCE`]).
    fn flush_tlb_page(&self, va: VirtAddr, scope: TlbScope) {
        issue_flush(self, &FLUSH_SEQUENCE, TlbiTarget::Page(va), scope);
    }
    /// Invalidates every translation ([`FLUSH_SEQUENCE`]).
    fn flush_tlb_all(&self, scope: TlbScope) {
        issue_flush(self, &FLUSH_SEQUENCE, TlbiTarget::All, scope);
    }
    /// The table root the hardware walks for `half` (arm64 TTBR0/TTBR1;
    /// x86_64 CR3 for both).
    fn root(&self, half: RootHalf) -> PhysAddr;
    /// The current CPU, below [`MAX_CPUS`].
    fn cpu_id(&self) -> usize;
    /// True inside an interrupt or exception handler: lazy MMU mode never
    /// applies there.
    fn in_interrupt(&self) -> bool;
}

/// The capability to store into page-table memory. Only this module makes
/// one, and only `store_pte` and `zero_table_page` hand it out, so the
/// raw writes of [`Mmu`] are reachable from `mm` alone: a scenario (or any
/// other crate) holding an `Mmu` cannot write physical memory past the lazy
/// layer and the sanitizer. A capability rather than a safety contract:
/// `mm` forbids unchecked code, and the model's stores need none.
///
/// ```compile_fail
/// // Outside `mm` no `PteWrite` can be made, so no raw store issued.
/// fn store(mmu: &dyn mm::Mmu) {
///     mmu.write_pte(mm::PteWrite(()), mm::PhysAddr::new(0x1000), 0);
/// }
/// ```
pub struct PteWrite(());

/// The one raw PTE store in `mm`. Two paths lead here: the lazy layer's
/// store (`lazy::update`), after a flavour decided to write now, and the
/// direct writes of table construction (`pgtable::DirectWrites`),
/// which the sanitizer checks.
pub(crate) fn store_pte<M: Mmu + ?Sized>(mmu: &M, ptep: PhysAddr, value: PteValue) {
    mmu.write_pte(PteWrite(()), ptep, value.0);
}

/// Zeroes a page just allocated for a table, before it is linked in.
pub(crate) fn zero_table_page<M: Mmu + ?Sized>(mmu: &M, page: PhysAddr) {
    mmu.zero_page(PteWrite(()), page);
}
