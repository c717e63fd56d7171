//! The real `mm::Mmu` for arm64: PTE words through the phys→virt window,
//! `dsb`/`isb` barriers, `tlbi` invalidation, and the switch from the boot
//! map to the kernel's own TTBR0/TTBR1 tables.

use core::arch::asm;
use core::sync::atomic::{AtomicU64, Ordering};

use aarch64_cpu::registers::{Readable, ID_AA64MMFR0_EL1, TCR_EL1, TTBR0_EL1, TTBR1_EL1};
use mm::mmu::{Barrier, Mmu, PteFormat, PteWrite, RootHalf, TlbScope, TlbiTarget};
use mm::{PhysAddr, VirtAddr, PAGE_SIZE};

use super::{barrier, percpu};

/// TTBR1 half: the linear map of all RAM starts here (PA 0 at this VA).
pub const LINEAR_MAP_BASE: u64 = 0xffff_0000_0000_0000;
/// TTBR1 half: vmalloc/vmap area.
pub const VMALLOC_BASE: u64 = 0xffff_8000_0000_0000;

/// BADDR of a TTBRn_EL1 value for 4 KiB-aligned tables.
const TTBR_BADDR_MASK: u64 = 0x0000_ffff_ffff_f000;
/// TLBI VA operand: VA[55:12] in bits 43:0.
const TLBI_VA_MASK: u64 = (1 << 44) - 1;

/// TCR_EL1 for the kernel's tables: 48-bit VAs in both halves (T0SZ =
/// T1SZ = 16), 4 KiB granules, table walks inner/outer write-back
/// write-allocate, inner shareable. IPS is added from the CPU's ID register.
const TCR_KERNEL: u64 = TCR_EL1::T0SZ.val(16).value
    | TCR_EL1::TG0::KiB_4.value
    | TCR_EL1::IRGN0::WriteBack_ReadAlloc_WriteAlloc_Cacheable.value
    | TCR_EL1::ORGN0::WriteBack_ReadAlloc_WriteAlloc_Cacheable.value
    | TCR_EL1::SH0::Inner.value
    | TCR_EL1::T1SZ.val(16).value
    | TCR_EL1::TG1::KiB_4.value
    | TCR_EL1::IRGN1::WriteBack_ReadAlloc_WriteAlloc_Cacheable.value
    | TCR_EL1::ORGN1::WriteBack_ReadAlloc_WriteAlloc_Cacheable.value
    | TCR_EL1::SH1::Inner.value;

/// Added to a physical address to reach it: the boot adapter's window
/// (`BootInfo::phys_window`: 0 for an identity map) until `install_tables`,
/// then `LINEAR_MAP_BASE`.
static PHYS_TO_VIRT: AtomicU64 = AtomicU64::new(0);
/// Added to an MMIO address to reach it: the boot window until
/// `install_tables`, then 0 (the kernel maps `mmio_regions()` identity).
static MMIO_OFFSET: AtomicU64 = AtomicU64::new(0);

/// Records where the boot adapter left RAM and MMIO mapped; called once,
/// before anything reaches physical memory.
pub fn set_boot_window(phys_window: u64) {
    PHYS_TO_VIRT.store(phys_window, Ordering::Relaxed);
    MMIO_OFFSET.store(phys_window, Ordering::Relaxed);
}

/// Where physical RAM at `phys` is reachable now.
pub fn phys_to_virt(phys: u64) -> u64 {
    phys + PHYS_TO_VIRT.load(Ordering::Relaxed)
}

/// Where the MMIO register at physical `phys` is reachable now.
pub fn mmio_virt(phys: u64) -> u64 {
    phys + MMIO_OFFSET.load(Ordering::Relaxed)
}

/// The operand of a `tlbi va*` instruction for the page holding `va`.
fn tlbi_operand(va: VirtAddr) -> u64 {
    (va.as_u64() >> 12) & TLBI_VA_MASK
}

fn entry_ptr(pa: PhysAddr) -> *mut u64 {
    phys_to_virt(pa.as_u64()) as *mut u64
}

/// `mm`'s window on the hardware of the CPU it runs on.
pub struct HwMmu;

impl Mmu for HwMmu {
    fn format(&self) -> PteFormat {
        PteFormat::Arm64
    }

    fn read_pte(&self, ptep: PhysAddr) -> u64 {
        // SAFETY: `mm` passes the address of an entry in a table page it
        // owns; all RAM is mapped at PHYS_TO_VIRT.
        unsafe { entry_ptr(ptep).read_volatile() }
    }

    fn write_pte(&self, _: PteWrite, ptep: PhysAddr, value: u64) {
        // SAFETY: as in `read_pte` (only `mm` holds a `PteWrite`, so only
        // `mm` gets here); one 64-bit store, single-copy atomic, as the
        // table walker requires.
        unsafe { entry_ptr(ptep).write_volatile(value) }
    }

    fn zero_page(&self, _: PteWrite, page: PhysAddr) {
        // SAFETY: only `mm` holds a `PteWrite`, and it passes a
        // page-aligned frame it has just allocated for a table.
        unsafe { core::ptr::write_bytes(entry_ptr(page) as *mut u8, 0, PAGE_SIZE as usize) }
    }

    fn barrier(&self, kind: Barrier) {
        match kind {
            Barrier::DsbIshSt => barrier::dsb_ishst(),
            Barrier::DsbIsh => barrier::dsb_ish(),
            Barrier::Isb => barrier::isb(),
        }
    }

    /// Each TLBI alone: `mm` orders it with the barriers around it
    /// (`mm::FLUSH_SEQUENCE`).
    fn tlbi(&self, target: TlbiTarget, scope: TlbScope) {
        match (target, scope) {
            (TlbiTarget::Page(va), TlbScope::Local) => barrier::tlbi_vaae1(tlbi_operand(va)),
            (TlbiTarget::Page(va), TlbScope::Broadcast) => barrier::tlbi_vaae1is(tlbi_operand(va)),
            (TlbiTarget::All, TlbScope::Local) => barrier::tlbi_vmalle1(),
            (TlbiTarget::All, TlbScope::Broadcast) => barrier::tlbi_vmalle1is(),
        }
    }

    fn root(&self, half: RootHalf) -> PhysAddr {
        let ttbr = match half {
            RootHalf::Low => TTBR0_EL1.get(),
            RootHalf::High => TTBR1_EL1.get(),
        };
        PhysAddr::new(ttbr & TTBR_BADDR_MASK)
    }

    fn cpu_id(&self) -> usize {
        percpu::cpu_id()
    }

    fn in_interrupt(&self) -> bool {
        percpu::in_interrupt()
    }
}

/// Switches this CPU from the boot map to the kernel's tables: TTBR0 =
/// `low_root` (identity map of the image and MMIO), TTBR1 = `high_root`
/// (linear map and vmalloc); afterwards `HwMmu` reaches PTEs through the
/// linear map.
///
/// # Safety
/// Both roots must be complete tables in `mm`'s arm64 format, with MAIR
/// indices as in `mm::pte::arm64`. `low_root` must map the running kernel
/// image (text, rodata, data, bss, stacks), the exception stacks and every
/// region of `mmio_regions()` at their physical addresses, and `high_root`
/// all RAM at `LINEAR_MAP_BASE`; otherwise the next instruction faults.
///
/// Never inlined: `lazymmu-run check-barriers` checks its barrier sequence
/// by name in the built ELF, as for the functions of `barrier.rs`.
#[inline(never)]
pub unsafe fn install_tables(low_root: PhysAddr, high_root: PhysAddr) {
    let tcr = TCR_KERNEL | (ID_AA64MMFR0_EL1.get() & 7) << 32;
    // SAFETY: the caller guarantees the new tables map everything running
    // now at the same addresses. The `dsb ishst` publishes the table stores
    // to the walker; the TTBR writes take effect at the `isb`; the full
    // invalidation drops the boot map's 1 GiB block entries. (TCG models no
    // TLB conflict aborts, so the blocks need no break-before-make here.)
    unsafe {
        asm!(
            "dsb ishst",
            "msr mair_el1, {mair}",
            "msr tcr_el1, {tcr}",
            "isb",
            "msr ttbr0_el1, {low}",
            "msr ttbr1_el1, {high}",
            "isb",
            "tlbi vmalle1is",
            "dsb ish",
            "isb",
            mair = in(reg) mm::pte::arm64::MAIR_EL1,
            tcr = in(reg) tcr,
            low = in(reg) low_root.as_u64(),
            high = in(reg) high_root.as_u64(),
            options(nostack, preserves_flags),
        );
    }
    PHYS_TO_VIRT.store(LINEAR_MAP_BASE, Ordering::Relaxed);
    MMIO_OFFSET.store(0, Ordering::Relaxed);
}
