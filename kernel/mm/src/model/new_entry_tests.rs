//! The model hides a newly valid entry from its own CPU's walks until a DSB
//! and then an ISB (herd7 `D15347-load-DSB` allows the fault that
//! `D15347-load-DSB-ISB` forbids), and only a newly valid one: a valid
//! entry changed to another frame is seen after the DSB alone, and a new
//! entry stored again before its ISB stays hidden until that ISB.

use super::ModelMmu;
use crate::addr::{PhysAddr, VirtAddr};
use crate::fault::FaultKind;
use crate::frame::FrameAllocator;
use crate::mmu::{store_pte, Barrier, Mmu, PteFormat};
use crate::pgtable::PageTables;
use crate::pte::{Level, Prot};

const RAM: PhysAddr = PhysAddr::new(0x4000_0000);
const VA: VirtAddr = VirtAddr::new(0xffff_c000_0010_0000);
/// In the same leaf table as `VA`: mapping it builds that table.
const NEIGHBOUR: VirtAddr = VirtAddr::new(0xffff_c000_0010_1000);

type Frames = spin::Mutex<FrameAllocator>;

/// An arm64 model with `VA`'s leaf table built and `VA` unmapped, two
/// frames tagged with their own address, and `VA`'s entry address.
fn rig() -> (&'static ModelMmu, [PhysAddr; 2], PhysAddr) {
    let mmu: &'static ModelMmu = Box::leak(Box::new(ModelMmu::new(PteFormat::Arm64)));
    let frames: &'static Frames =
        Box::leak(Box::new(spin::Mutex::new(FrameAllocator::new(&[(RAM, 4 << 20)]).expect("frames"))));
    let tables = PageTables::new(mmu, frames).expect("tables");
    mmu.set_roots(tables.roots().low, tables.roots().high);
    let tagged = || {
        let frame = frames.lock().alloc().expect("frame");
        mmu.phys_write(frame, frame.as_u64());
        frame
    };
    let (a, b) = (tagged(), tagged());
    tables.map_page(NEIGHBOUR, a, Prot::KERNEL_RW).expect("map");
    mmu.full_barrier();
    let walk = tables.walk(VA);
    let leaf = walk.steps().find(|step| step.level == Level::Pte).expect("a leaf table").ptep;
    (mmu, [a, b], leaf)
}

fn store(mmu: &ModelMmu, ptep: PhysAddr, frame: PhysAddr) {
    store_pte(mmu, ptep, PteFormat::Arm64.page_entry(frame, Prot::KERNEL_RW));
}

fn read(mmu: &ModelMmu) -> Result<u64, FaultKind> {
    mmu.read(VA).map_err(|fault| fault.kind)
}

#[test]
fn a_valid_entry_changed_to_another_frame_is_seen_after_the_dsb() {
    let (mmu, [a, b], ptep) = rig();
    store(mmu, ptep, a);
    mmu.full_barrier();
    store(mmu, ptep, b);
    mmu.barrier(Barrier::DsbIsh);
    assert_eq!(read(mmu), Ok(b.as_u64()), "not a new entry: no ISB owed");
}

#[test]
fn a_new_entry_stored_again_before_its_isb_stays_hidden_until_it() {
    let (mmu, [a, b], ptep) = rig();
    store(mmu, ptep, a);
    mmu.barrier(Barrier::DsbIsh);
    store(mmu, ptep, b);
    mmu.barrier(Barrier::DsbIsh);
    assert_eq!(read(mmu), Err(FaultKind::NotMapped), "no ISB yet since the entry became valid");
    mmu.barrier(Barrier::Isb);
    assert_eq!(read(mmu), Ok(b.as_u64()));
}
