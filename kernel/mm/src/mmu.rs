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
/// - `store_barrier` orders earlier PTE stores before later accesses by the
///   table walker (arm64 `dsb ishst`); `full_barrier` additionally completes
///   them and resynchronises the instruction stream (arm64 `dsb ish; isb`).
///   `mm` counts a `full_barrier` as the "dsb + isb pair" that arm64's
///   `__set_pte` issues after a kernel PTE store.
/// - The TLB flushes include whatever barriers the architecture needs around
///   the invalidation itself (arm64 `dsb ishst; tlbi ...; dsb ish; isb`).
pub trait Mmu: Sync {
    fn format(&self) -> PteFormat;
    /// Reads the entry at physical address `ptep`.
    fn read_pte(&self, ptep: PhysAddr) -> u64;
    /// Stores `value` at physical address `ptep`: one raw store, no barrier.
    fn write_pte(&self, token: PteWrite, ptep: PhysAddr, value: u64);
    /// Fills the 4 KiB page at `page` with zeroes (a fresh table page).
    fn zero_page(&self, token: PteWrite, page: PhysAddr);
    /// arm64 `dsb ishst`; x86_64 a compiler fence.
    fn store_barrier(&self);
    /// arm64 `dsb ish; isb`; x86_64 a compiler fence.
    fn full_barrier(&self);
    /// Invalidates the translation of the page holding `va`.
    fn flush_tlb_page(&self, va: VirtAddr, scope: TlbScope);
    /// Invalidates every translation.
    fn flush_tlb_all(&self, scope: TlbScope);
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
