//! The model's own rules, checked before it is trusted as a judge.

use super::ModelMmu;
use crate::addr::{PhysAddr, VirtAddr};
use crate::fault::FaultKind;
use crate::frame::FrameAllocator;
use crate::mmu::{issue_flush, store_pte, Barrier, Mmu, PteFormat, TlbScope, TlbiTarget, FLUSH_SEQUENCE};
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

/// herd7 `D15347-load-DSB` / `D15347-load-DSB-ISB` (docs/litmus.md): a
/// new valid entry, then a load through it on the same CPU. With no
/// barrier no walker sees it; after `dsb` alone the load may fault (the
/// model takes the fault) while another CPU's walk sees the entry; after
/// `dsb; isb` the load is forbidden to fault.
#[test]
fn arm64_new_entry_needs_dsb_and_isb_on_its_own_cpu() {
    let (mmu, frames) = setup(PteFormat::Arm64);
    let tables = installed_tables(&mmu, &frames);
    let a = tagged_frame(&mmu, &frames, 0xa);
    let ptep = tables.pte_alloc(VA).expect("leaf table");
    mmu.full_barrier();
    store_pte(&mmu, ptep, PteFormat::Arm64.page_entry(a, Prot::KERNEL_RW));
    assert_ne!(mmu.read_pte(ptep), 0, "the storing CPU sees its own store");
    let fault = mmu.read(VA).expect_err("no barrier yet: the walker sees no entry");
    assert_eq!(fault.kind, FaultKind::NotMapped);
    mmu.barrier(Barrier::DsbIsh);
    assert_eq!(mmu.read(VA).map_err(|f| f.kind), Err(FaultKind::NotMapped), "D15347-load-DSB: the fault is allowed");
    mmu.set_cpu(1);
    assert_eq!(mmu.read(VA), Ok(0xa), "another CPU's walk sees the completed store");
    mmu.set_cpu(0);
    mmu.barrier(Barrier::Isb);
    assert_eq!(mmu.read(VA), Ok(0xa), "D15347-load-DSB-ISB: no fault after dsb; isb");
}

/// Maps `VA` to a frame tagged 0xa on both CPUs' TLBs, then repoints the
/// entry to one tagged 0xb with no flush yet.
fn cached_then_repointed(mmu: &ModelMmu, frames: &spin::Mutex<FrameAllocator>) {
    let tables = installed_tables(mmu, frames);
    let a = tagged_frame(mmu, frames, 0xa);
    let b = tagged_frame(mmu, frames, 0xb);
    tables.map_page(VA, a, Prot::KERNEL_RW).expect("map");
    mmu.full_barrier();
    for cpu in [1, 0] {
        mmu.set_cpu(cpu);
        assert_eq!(mmu.read(VA), Ok(0xa));
    }
    let ptep = tables.pte_offset(VA).expect("walk").expect("leaf entry");
    store_pte(mmu, ptep, PteFormat::Arm64.page_entry(b, Prot::KERNEL_RW));
}

fn reads_on(mmu: &ModelMmu, cpu: usize) -> Result<u64, FaultKind> {
    mmu.set_cpu(cpu);
    let seen = mmu.read(VA).map_err(|f| f.kind);
    mmu.set_cpu(0);
    seen
}

/// A TLBI takes effect at a `dsb ish` of its CPU, not at `dsb ishst`
/// (herd7 `V2I-W-DSB.ISH-TLBI-DSB.ST-ISB-W` keeps the old translation).
#[test]
fn arm64_tlbi_completes_only_at_dsb_ish() {
    let (mmu, frames) = setup(PteFormat::Arm64);
    cached_then_repointed(&mmu, &frames);
    mmu.barrier(Barrier::DsbIshSt);
    mmu.tlbi(TlbiTarget::Page(VA), TlbScope::Broadcast);
    mmu.barrier(Barrier::DsbIshSt);
    mmu.barrier(Barrier::Isb);
    assert_eq!(reads_on(&mmu, 1), Ok(0xa), "dsb ishst does not complete the TLBI");
    mmu.barrier(Barrier::DsbIsh);
    assert_eq!(reads_on(&mmu, 1), Ok(0xb), "dsb ish does");
}

/// A TLBI with the PTE store not yet published (no DSB between) may run
/// before the walker sees the store, and a walk refills the old entry
/// (system-litmus-harness `CoWinvT1+tlbi-dsb`).
#[test]
fn arm64_tlbi_before_the_store_reaches_the_walker_leaves_it_stale() {
    let (mmu, frames) = setup(PteFormat::Arm64);
    cached_then_repointed(&mmu, &frames);
    issue_flush(&mmu, &FLUSH_SEQUENCE[1..], TlbiTarget::Page(VA), TlbScope::Broadcast);
    assert_eq!(reads_on(&mmu, 1), Ok(0xa), "the other CPU refilled the old translation");
    mmu.flush_tlb_page(VA, TlbScope::Broadcast);
    assert_eq!(reads_on(&mmu, 1), Ok(0xb), "the whole sequence drops it");
}

/// The local forms complete on the issuing CPU only.
#[test]
fn arm64_local_tlbi_leaves_other_cpus() {
    let (mmu, frames) = setup(PteFormat::Arm64);
    cached_then_repointed(&mmu, &frames);
    mmu.flush_tlb_page(VA, TlbScope::Local);
    assert_eq!(reads_on(&mmu, 0), Ok(0xb));
    assert_eq!(reads_on(&mmu, 1), Ok(0xa), "tlbi vaae1 leaves CPU1's entry");
    mmu.flush_tlb_all(TlbScope::Broadcast);
    assert_eq!(reads_on(&mmu, 1), Ok(0xb));
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
