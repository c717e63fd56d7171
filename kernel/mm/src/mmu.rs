//! The MMU interface: every access `mm` makes to page-table memory, barriers
//! and TLBs goes through [`Mmu`]. The kernel implements it per architecture
//! with real instructions; the host model implements it in software, so the
//! same `mm` code runs against both judges (docs/design.md, "The host
//! model").

use crate::addr::{PhysAddr, VirtAddr};

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
    fn write_pte(&self, ptep: PhysAddr, value: u64);
    /// Fills the 4 KiB page at `page` with zeroes (a fresh table page).
    fn zero_page(&self, page: PhysAddr);
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
