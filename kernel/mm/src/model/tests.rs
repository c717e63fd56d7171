//! The model's own rules, checked before it is trusted as a judge.

use super::ModelMmu;
use crate::addr::{PhysAddr, VirtAddr};
use crate::fault::FaultKind;
use crate::frame::FrameAllocator;
use crate::mmu::{store_pte, Mmu, PteFormat, TlbScope};
use crate::pgtable::PageTables;
use crate::pte::Prot;

const RAM: PhysAddr = PhysAddr::new(0x4000_0000);
const VA: VirtAddr = VirtAddr::new(0xffff_c000_0010_0000);

fn frames() -> spin::Mutex<FrameAllocator> {
    spin::Mutex::new(FrameAllocator::new(&[(RAM, 16 << 20)]).expect("frame allocator"))
}

fn setup(format: PteFormat) -> (ModelMmu, spin::Mutex<FrameAllocator>) {
    (ModelMmu::new(format), frames())
}

/// Empty tables the model's walker uses from now on.
fn installed_tables<'a>(
    mmu: &'a ModelMmu,
    frames: &'a spin::Mutex<FrameAllocator>,
) -> PageTables<'a, ModelMmu, spin::Mutex<FrameAllocator>> {
    let tables = PageTables::new(mmu, frames).expect("tables");
    mmu.set_roots(tables.roots().low, tables.roots().high);
    tables
}

/// A fresh frame holding `tag` in its first word.
fn tagged_frame(mmu: &ModelMmu, frames: &spin::Mutex<FrameAllocator>, tag: u64) -> PhysAddr {
    let frame = frames.lock().alloc().expect("frame");
    mmu.phys_write(frame, tag);
    frame
}

#[test]
fn stale_translation_stays_until_invalidated() {
    for format in [PteFormat::X86_64, PteFormat::Arm64] {
        let (mmu, frames) = setup(format);
        let tables = installed_tables(&mmu, &frames);
        let a = tagged_frame(&mmu, &frames, 0xa);
        let b = tagged_frame(&mmu, &frames, 0xb);
        tables.map_page(VA, a, Prot::KERNEL_RW).expect("map");
        mmu.full_barrier();
        assert_eq!(mmu.read(VA), Ok(0xa));
        tables.unmap_page(VA).expect("unmap").ignore();
        tables.map_page(VA, b, Prot::KERNEL_RW).expect("remap");
        mmu.full_barrier();
        assert_eq!(mmu.read(VA), Ok(0xa), "{format:?}: the TLB keeps the old frame");
        mmu.flush_tlb_page(VA, TlbScope::Local);
        assert_eq!(mmu.read(VA), Ok(0xb), "{format:?}: the flush makes the walker reload");
    }
}

#[test]
fn arm64_pte_store_needs_a_barrier_to_reach_the_walker() {
    let (mmu, frames) = setup(PteFormat::Arm64);
    let tables = installed_tables(&mmu, &frames);
    let a = tagged_frame(&mmu, &frames, 0xa);
    let ptep = tables.pte_alloc(VA).expect("leaf table");
    store_pte(&mmu, ptep, PteFormat::Arm64.page_entry(a, Prot::KERNEL_RW));
    assert_ne!(mmu.read_pte(ptep), 0, "the storing CPU sees its own store");
    let fault = mmu.read(VA).expect_err("no barrier yet: the walker sees no entry");
    assert_eq!(fault.kind, FaultKind::NotMapped);
    mmu.store_barrier();
    assert_eq!(mmu.read(VA), Ok(0xa));
}

#[test]
fn x86_pte_store_is_visible_at_once() {
    let (mmu, frames) = setup(PteFormat::X86_64);
    let tables = installed_tables(&mmu, &frames);
    let a = tagged_frame(&mmu, &frames, 0xa);
    let ptep = tables.pte_alloc(VA).expect("leaf table");
    store_pte(&mmu, ptep, PteFormat::X86_64.page_entry(a, Prot::KERNEL_RW));
    assert_eq!(mmu.read(VA), Ok(0xa));
}

#[test]
fn tlbs_are_per_cpu_and_broadcast_reaches_all() {
    let (mmu, frames) = setup(PteFormat::Arm64);
    let tables = installed_tables(&mmu, &frames);
    let a = tagged_frame(&mmu, &frames, 0xa);
    let b = tagged_frame(&mmu, &frames, 0xb);
    tables.map_page(VA, a, Prot::KERNEL_RW).expect("map");
    mmu.full_barrier();
    mmu.set_cpu(1);
    assert_eq!(mmu.read(VA), Ok(0xa));
    mmu.set_cpu(0);
    tables.unmap_page(VA).expect("unmap").ignore();
    tables.map_page(VA, b, Prot::KERNEL_RW).expect("remap");
    mmu.flush_tlb_page(VA, TlbScope::Local);
    assert_eq!(mmu.read(VA), Ok(0xb));
    mmu.set_cpu(1);
    assert_eq!(mmu.read(VA), Ok(0xa), "a local flush leaves CPU1 stale");
    mmu.set_cpu(0);
    mmu.flush_tlb_page(VA, TlbScope::Broadcast);
    mmu.set_cpu(1);
    assert_eq!(mmu.read(VA), Ok(0xb));
}

#[test]
fn permissions_fault_and_speculation_fills_the_tlb() {
    let (mmu, frames) = setup(PteFormat::X86_64);
    let tables = installed_tables(&mmu, &frames);
    let a = tagged_frame(&mmu, &frames, 0xa);
    tables.map_page(VA, a, Prot::KERNEL_RO).expect("map");
    assert_eq!(mmu.write(VA, 1).map_err(|f| f.kind), Err(FaultKind::WriteProtected));
    assert_eq!(mmu.fetch(VA).map_err(|f| f.kind), Err(FaultKind::NoExecute));
    assert_eq!(mmu.tlb_lookup(VA), None, "a faulting entry is dropped");
    mmu.speculate(VA);
    assert_eq!(mmu.tlb_lookup(VA), Some(a));
}
