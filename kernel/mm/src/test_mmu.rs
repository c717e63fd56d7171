//! A minimal software [`Mmu`] for unit tests: sparse memory, a log of every
//! hardware operation in order, a settable CPU id and interrupt flag. It has
//! no TLB; the strict host model (`mm::model`) is the judge with one.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::addr::{PhysAddr, VirtAddr, PAGE_SIZE};
use crate::context::Mm;
use crate::frame::FrameAllocator;
use crate::layout::KernelLayout;
use crate::mmu::{Barrier, Mmu, PteFormat, PteWrite, RootHalf, TlbScope, TlbiTarget};
use crate::pgtable::{PageTables, Roots};
use crate::pte::PteValue;

/// RAM the tests hand to their frame allocator.
pub const TEST_RAM_START: PhysAddr = PhysAddr::new(0x4000_0000);
pub const TEST_RAM_FRAMES: u64 = 256;

/// One call the code under test made on the MMU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HwOp {
    WritePte(PhysAddr, u64),
    ZeroPage(PhysAddr),
    StoreBarrier,
    FullBarrier,
    FlushPage(VirtAddr, TlbScope),
    FlushAll(TlbScope),
    Barrier(Barrier),
    Tlbi(TlbiTarget, TlbScope),
}

pub struct FakeMmu {
    format: PteFormat,
    memory: Mutex<HashMap<u64, u64>>,
    log: Mutex<Vec<HwOp>>,
    roots: Mutex<[PhysAddr; 2]>,
    cpu: AtomicUsize,
    interrupt: AtomicBool,
}

impl FakeMmu {
    pub fn new(format: PteFormat) -> Self {
        FakeMmu {
            format,
            memory: Mutex::new(HashMap::new()),
            log: Mutex::new(Vec::new()),
            roots: Mutex::new([PhysAddr::new(0); 2]),
            cpu: AtomicUsize::new(0),
            interrupt: AtomicBool::new(false),
        }
    }

    /// Takes the operations logged so far.
    pub fn take_log(&self) -> Vec<HwOp> {
        std::mem::take(&mut *self.log.lock().unwrap())
    }

    pub fn set_roots(&self, low: PhysAddr, high: PhysAddr) {
        *self.roots.lock().unwrap() = [low, high];
    }

    pub fn set_cpu(&self, cpu: usize) {
        self.cpu.store(cpu, Ordering::Relaxed);
    }

    pub fn set_in_interrupt(&self, in_interrupt: bool) {
        self.interrupt.store(in_interrupt, Ordering::Relaxed);
    }

    /// The PTE word in memory at `ptep`.
    pub fn pte_at(&self, ptep: PhysAddr) -> PteValue {
        PteValue(self.read_pte(ptep))
    }

    fn record(&self, op: HwOp) {
        self.log.lock().unwrap().push(op);
    }
}

impl Mmu for FakeMmu {
    fn format(&self) -> PteFormat {
        self.format
    }

    fn read_pte(&self, ptep: PhysAddr) -> u64 {
        self.memory.lock().unwrap().get(&ptep.as_u64()).copied().unwrap_or(0)
    }

    fn write_pte(&self, _: PteWrite, ptep: PhysAddr, value: u64) {
        assert_eq!(ptep.as_u64() % 8, 0, "PTE store to a misaligned address");
        self.memory.lock().unwrap().insert(ptep.as_u64(), value);
        self.record(HwOp::WritePte(ptep, value));
    }

    fn zero_page(&self, _: PteWrite, page: PhysAddr) {
        let mut memory = self.memory.lock().unwrap();
        for offset in (0..PAGE_SIZE).step_by(8) {
            memory.remove(&(page.as_u64() + offset));
        }
        drop(memory);
        self.record(HwOp::ZeroPage(page));
    }

    fn barrier(&self, barrier: Barrier) {
        self.record(HwOp::Barrier(barrier));
    }

    fn tlbi(&self, target: TlbiTarget, scope: TlbScope) {
        self.record(HwOp::Tlbi(target, scope));
    }

    // The sequences are logged whole, as the lazy layer's tests name them.
    fn store_barrier(&self) {
        self.record(HwOp::StoreBarrier);
    }

    fn full_barrier(&self) {
        self.record(HwOp::FullBarrier);
    }

    fn flush_tlb_page(&self, va: VirtAddr, scope: TlbScope) {
        self.record(HwOp::FlushPage(va, scope));
    }

    fn flush_tlb_all(&self, scope: TlbScope) {
        self.record(HwOp::FlushAll(scope));
    }

    fn root(&self, half: RootHalf) -> PhysAddr {
        let roots = self.roots.lock().unwrap();
        match half {
            RootHalf::Low => roots[0],
            RootHalf::High => roots[1],
        }
    }

    fn cpu_id(&self) -> usize {
        self.cpu.load(Ordering::Relaxed)
    }

    fn in_interrupt(&self) -> bool {
        self.interrupt.load(Ordering::Relaxed)
    }
}

/// A locked allocator over the test RAM.
pub fn test_frames() -> spin::Mutex<FrameAllocator> {
    let frames = FrameAllocator::new(&[(TEST_RAM_START, TEST_RAM_FRAMES * PAGE_SIZE)]).unwrap();
    spin::Mutex::new(frames)
}

/// The layout the tests give `Mm`: the x86_64 kernel's, which is canonical
/// on arm64 too (both in the high half).
pub const TEST_LAYOUT: KernelLayout = KernelLayout {
    linear_map_base: VirtAddr::new(0xffff_8000_0000_0000),
    linear_map_size: 1 << 32,
    vmalloc_base: VirtAddr::new(0xffff_c000_0000_0000),
    vmalloc_size: 1 << 40,
};

/// A fake MMU, frames and empty kernel tables, ready to make an `Mm`.
pub struct Fixture {
    pub mmu: FakeMmu,
    pub frames: spin::Mutex<FrameAllocator>,
    pub roots: Roots,
}

impl Fixture {
    pub fn new(format: PteFormat) -> Self {
        let mmu = FakeMmu::new(format);
        let frames = test_frames();
        let roots = PageTables::new(&mmu, &frames).unwrap().roots();
        mmu.take_log();
        Fixture { mmu, frames, roots }
    }

    pub fn mm(&self) -> Mm<'_, FakeMmu> {
        Mm::new(&self.mmu, &self.frames, self.roots, TEST_LAYOUT)
    }

    /// The leaf entry address of `va`, allocating tables; clears the log.
    pub fn ptep(&self, va: VirtAddr) -> PhysAddr {
        let ptep = self.mm().page_tables().pte_alloc(va).unwrap();
        self.mmu.take_log();
        ptep
    }
}
