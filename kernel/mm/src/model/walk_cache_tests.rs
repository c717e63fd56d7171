//! The model's TLB beyond single translations: the leaf table each 2 MiB
//! region was walked through is cached (a walk after its upper entry
//! changed still reads the old table, until a TLBI of the region drops it),
//! and a full TLBI issued before the PTE store's DSB is refilled, page by
//! page, from what the walker saw before the store landed.

use super::test_rig::Rig;
use crate::addr::{PhysAddr, VirtAddr};
use crate::mmu::{store_pte, zero_table_page, Barrier, Mmu, PteFormat, TlbScope, TlbiTarget};
use crate::pte::{Level, Prot};

const VA: VirtAddr = VirtAddr::new(0xffff_c000_0010_0000);
/// Sixteen pages on, in the same 2 MiB region and leaf table as `VA`.
const SAME_REGION: VirtAddr = VirtAddr::new(0xffff_c000_0011_0000);

impl Rig {
    /// A frame tagged with its own address.
    fn tagged(&self) -> PhysAddr {
        let frame = self.frames.lock().alloc().expect("frame");
        self.mmu.phys_write(frame, frame.as_u64());
        frame
    }

    fn ptep(&self, va: VirtAddr, level: Level) -> PhysAddr {
        self.tables.walk(va).steps().find(|step| step.level == level).expect("that level").ptep
    }

    fn read(&self, va: VirtAddr) -> Option<u64> {
        self.mmu.read(va).ok()
    }
}

#[test]
fn a_walk_reads_the_cached_leaf_table_until_a_tlbi_of_its_region() {
    let rig = Rig::new(PteFormat::Arm64);
    let (old_frame, new_frame) = (rig.tagged(), rig.tagged());
    rig.map(VA, old_frame, Prot::KERNEL_RW);
    rig.map(SAME_REGION, old_frame, Prot::KERNEL_RW);
    assert_eq!(rig.read(VA), Some(old_frame.as_u64()), "the walk caches the leaf table");
    // A second leaf table that maps SAME_REGION elsewhere; the region's
    // upper entry now points at it.
    let new_table = rig.frames.lock().alloc().expect("frame");
    zero_table_page(rig.mmu, new_table);
    let index = Level::Pte.index(SAME_REGION) as u64;
    store_pte(rig.mmu, new_table.add(8 * index), PteFormat::Arm64.page_entry(new_frame, Prot::KERNEL_RW));
    store_pte(rig.mmu, rig.ptep(VA, Level::Pmd), PteFormat::Arm64.table_entry(new_table));
    rig.mmu.full_barrier();
    assert_eq!(rig.read(SAME_REGION), Some(old_frame.as_u64()), "walked through the cached old table");
    rig.mmu.flush_tlb_page(SAME_REGION, TlbScope::Local);
    assert_eq!(rig.read(SAME_REGION), Some(new_frame.as_u64()), "the TLBI dropped the cached table");
}

#[test]
fn a_full_tlbi_before_the_dsb_is_refilled_from_the_old_entries() {
    let rig = Rig::new(PteFormat::Arm64);
    let (old_frame, new_frame) = (rig.tagged(), rig.tagged());
    rig.map(VA, old_frame, Prot::KERNEL_RW);
    assert_eq!(rig.read(VA), Some(old_frame.as_u64()));
    store_pte(rig.mmu, rig.ptep(VA, Level::Pte), PteFormat::Arm64.page_entry(new_frame, Prot::KERNEL_RW));
    rig.mmu.tlbi(TlbiTarget::All, TlbScope::Local);
    rig.mmu.barrier(Barrier::DsbIsh);
    rig.mmu.barrier(Barrier::Isb);
    assert_eq!(rig.read(VA), Some(old_frame.as_u64()), "the walk that refilled it ran before the store landed");
    rig.mmu.flush_tlb_all(TlbScope::Local);
    assert_eq!(rig.read(VA), Some(new_frame.as_u64()));
}
