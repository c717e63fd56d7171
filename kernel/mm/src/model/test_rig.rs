//! A model MMU with its own page tables and frames, for the model's host
//! tests: map a page, tag a frame, and read through the model's TLB.

use super::ModelMmu;
use crate::addr::{PhysAddr, VirtAddr};
use crate::frame::FrameAllocator;
use crate::mmu::{Mmu, PteFormat};
use crate::pgtable::PageTables;
use crate::pte::Prot;

const RAM: PhysAddr = PhysAddr::new(0x4000_0000);
const RAM_BYTES: u64 = 16 << 20;

pub(super) type Frames = spin::Mutex<FrameAllocator>;

pub(super) struct Rig {
    pub(super) mmu: &'static ModelMmu,
    pub(super) tables: PageTables<'static, ModelMmu, Frames>,
    pub(super) frames: &'static Frames,
}

impl Rig {
    pub(super) fn new(format: PteFormat) -> Rig {
        let mmu: &'static ModelMmu = Box::leak(Box::new(ModelMmu::new(format)));
        let frames: &'static Frames =
            Box::leak(Box::new(spin::Mutex::new(FrameAllocator::new(&[(RAM, RAM_BYTES)]).expect("frames"))));
        let tables = PageTables::new(mmu, frames).expect("tables");
        mmu.set_roots(tables.roots().low, tables.roots().high);
        Rig { mmu, tables, frames }
    }

    /// A fresh frame holding `tag` in its first word.
    pub(super) fn frame(&self, tag: u64) -> PhysAddr {
        let frame = self.frames.lock().alloc().expect("frame");
        self.mmu.phys_write(frame, tag);
        frame
    }

    /// Maps `va` to `frame` and publishes it (`dsb ish; isb`).
    pub(super) fn map(&self, va: VirtAddr, frame: PhysAddr, prot: Prot) {
        self.tables.map_page(va, frame, prot).expect("map");
        self.mmu.full_barrier();
    }
}
