//! The real `mm::Mmu`: PTE words through the phys→virt offset (0 before the
//! switch, the linear map after), `invlpg` / CR3 reload, and the TLB
//! shootdown IPI that makes a flush reach the other CPU (x86 has no
//! broadcast invalidation: Linux's `flush_tlb_kernel_range` sends IPIs too).

use core::arch::asm;
use core::sync::atomic::{AtomicU64, Ordering};

use boot::MemoryRegion;
use mm::{Barrier, Mmu, PhysAddr, PteFormat, PteWrite, RootHalf, TlbScope, TlbiTarget};
use x86_64::instructions::interrupts::without_interrupts;
use x86_64::registers::control::Cr3;

use super::idt::TLB_SHOOTDOWN_VECTOR;
use super::percpu::{cpu_id, NR_CPUS};
use super::{apic, smp, time, trap};

pub const LINEAR_MAP_BASE: u64 = 0xffff_8000_0000_0000;
pub const VMALLOC_BASE: u64 = 0xffff_c000_0000_0000;

/// Added to a physical address to reach it: the boot adapter's window
/// (`BootInfo::phys_window`: 0 for an identity map) until
/// `install_tables`, then `LINEAR_MAP_BASE`.
static PHYS_OFFSET: AtomicU64 = AtomicU64::new(0);
/// Added to an MMIO address to reach it: the boot window until
/// `install_tables`, then 0 (the kernel maps `mmio_regions()` identity).
static MMIO_OFFSET: AtomicU64 = AtomicU64::new(0);

pub fn phys_to_virt(phys: u64) -> u64 {
    phys + PHYS_OFFSET.load(Ordering::Relaxed)
}

/// Where the MMIO register at physical `phys` is reachable now.
pub fn mmio_virt(phys: u64) -> u64 {
    phys + MMIO_OFFSET.load(Ordering::Relaxed)
}

/// Records where the boot adapter left RAM and MMIO mapped; called once,
/// before anything reaches physical memory.
pub fn set_boot_window(phys_window: u64) {
    PHYS_OFFSET.store(phys_window, Ordering::Relaxed);
    MMIO_OFFSET.store(phys_window, Ordering::Relaxed);
}

/// What must stay mapped, identity and uncached, after the switch: the
/// LAPIC page. (COM1 and isa-debug-exit are I/O ports.)
pub fn mmio_regions() -> &'static [MemoryRegion] {
    static REGIONS: [MemoryRegion; 1] = [MemoryRegion { base: apic::LAPIC_BASE, len: 0x1000 }];
    &REGIONS
}

/// Switches this CPU to the kernel's tables and PTE access to the linear
/// map. One root serves both halves on x86_64, so `_high_root` is unused.
///
/// # Safety
/// `low_root` must be a PML4 that maps the running kernel (text, data,
/// stacks) at the addresses it runs at, the linear map of all RAM at
/// `LINEAR_MAP_BASE`, and `mmio_regions()`.
pub unsafe fn install_tables(low_root: PhysAddr, _high_root: PhysAddr) {
    // SAFETY: the caller guarantees the new tables map everything this CPU
    // touches next; a CR3 write also flushes the old translations.
    unsafe { asm!("mov cr3, {}", in(reg) low_root.as_u64(), options(nostack, preserves_flags)) };
    PHYS_OFFSET.store(LINEAR_MAP_BASE, Ordering::Relaxed);
    MMIO_OFFSET.store(0, Ordering::Relaxed);
}

fn invlpg(va: u64) {
    // SAFETY: invlpg only drops a translation; it cannot fault.
    unsafe { asm!("invlpg [{}]", in(reg) va, options(nostack, preserves_flags)) };
}

/// CR4.PGE is never set, so a CR3 reload drops every translation (global
/// ones included).
fn reload_cr3() {
    // SAFETY: writing CR3 back unchanged keeps the same tables and only
    // flushes the TLB.
    unsafe {
        asm!("mov {0}, cr3", "mov cr3, {0}", out(reg) _, options(nostack, preserves_flags));
    }
}

/// `va` value meaning "flush everything" in a shootdown request.
const FLUSH_ALL: u64 = u64::MAX;

/// A shootdown waits this long for the other CPU before declaring a crash
/// (TCG can be slow to schedule the other vCPU on a busy host).
const SHOOTDOWN_TIMEOUT_US: u64 = 5_000_000;

/// Requests to one CPU: the sender bumps `request` after writing `va`; the
/// target flushes and copies `request` into `ack`.
struct Mailbox {
    va: AtomicU64,
    request: AtomicU64,
    ack: AtomicU64,
}

static MAILBOXES: [Mailbox; NR_CPUS] =
    [const { Mailbox { va: AtomicU64::new(0), request: AtomicU64::new(0), ack: AtomicU64::new(0) } }; NR_CPUS];

fn flush_local(va: u64) {
    if va == FLUSH_ALL {
        reload_cr3();
    } else {
        invlpg(va);
    }
}

/// Answers a pending request aimed at this CPU, if any.
fn service_mailbox() {
    let mailbox = &MAILBOXES[cpu_id()];
    let request = mailbox.request.load(Ordering::Acquire);
    if mailbox.ack.load(Ordering::Relaxed) != request {
        flush_local(mailbox.va.load(Ordering::Relaxed));
        mailbox.ack.store(request, Ordering::Release);
    }
}

/// The shootdown vector's handler.
pub fn shootdown_interrupt() {
    service_mailbox();
}

/// Flushes `va` (or everything) here and on every other online CPU, and
/// waits (bounded) until each has done it. Runs with interrupts off, so a
/// handler on this CPU cannot reuse the mailbox mid-request; while waiting
/// it answers requests aimed at this CPU, so two CPUs shooting at each
/// other cannot deadlock.
fn shootdown(va: u64) {
    without_interrupts(|| {
        flush_local(va);
        let me = cpu_id();
        for other in (0..NR_CPUS).filter(|&cpu| cpu != me && smp::cpu_online(cpu)) {
            let mailbox = &MAILBOXES[other];
            mailbox.va.store(va, Ordering::Relaxed);
            let request = mailbox.request.load(Ordering::Relaxed) + 1;
            mailbox.request.store(request, Ordering::Release);
            smp::send_vector(other, TLB_SHOOTDOWN_VECTOR);
            let deadline = time::ticks() + time::us_to_ticks(SHOOTDOWN_TIMEOUT_US);
            while mailbox.ack.load(Ordering::Acquire) != request {
                service_mailbox();
                if time::ticks() > deadline {
                    crate::crash::crash_exit(format_args!(
                        "TLB shootdown of {va:#x}: CPU{other} did not acknowledge within 5 s \
                         (interrupts disabled there?)"
                    ));
                }
                core::hint::spin_loop();
            }
        }
    });
}

/// The hardware MMU of this machine.
pub struct HwMmu;

impl Mmu for HwMmu {
    fn format(&self) -> PteFormat {
        PteFormat::X86_64
    }

    fn read_pte(&self, ptep: PhysAddr) -> u64 {
        // SAFETY: `mm` passes only entries of table pages it allocated from
        // RAM, which the current offset maps; volatile keeps the one load.
        unsafe { (phys_to_virt(ptep.as_u64()) as *const u64).read_volatile() }
    }

    fn write_pte(&self, _: PteWrite, ptep: PhysAddr, value: u64) {
        // SAFETY: as in `read_pte` (only `mm` holds a `PteWrite`, so only
        // `mm` gets here); one aligned 8-byte store, which the walker sees
        // whole (x86 TSO, no barrier needed).
        unsafe { (phys_to_virt(ptep.as_u64()) as *mut u64).write_volatile(value) }
    }

    fn zero_page(&self, _: PteWrite, page: PhysAddr) {
        // SAFETY: only `mm` holds a `PteWrite`; `page` is a whole RAM page
        // it just allocated for a table, mapped through the current offset.
        unsafe { core::ptr::write_bytes(phys_to_virt(page.as_u64()) as *mut u8, 0, 4096) }
    }

    /// x86 orders stores for the walker already: only the compiler must
    /// not move the PTE store.
    fn barrier(&self, _barrier: Barrier) {
        // x86_64 orders stores and table walks itself (TSO); only the
        // compiler must keep the order.
        core::sync::atomic::compiler_fence(Ordering::SeqCst);
    }

    fn tlbi(&self, target: TlbiTarget, scope: TlbScope) {
        match (target, scope) {
            (TlbiTarget::Page(va), TlbScope::Local) => invlpg(va.as_u64()),
            (TlbiTarget::Page(va), TlbScope::Broadcast) => shootdown(va.as_u64()),
            (TlbiTarget::All, TlbScope::Local) => reload_cr3(),
            (TlbiTarget::All, TlbScope::Broadcast) => shootdown(FLUSH_ALL),
        }
    }

    fn root(&self, _half: RootHalf) -> PhysAddr {
        PhysAddr::new(Cr3::read_raw().0.start_address().as_u64())
    }

    fn cpu_id(&self) -> usize {
        cpu_id()
    }

    fn in_interrupt(&self) -> bool {
        trap::depth() > 0
    }
}
