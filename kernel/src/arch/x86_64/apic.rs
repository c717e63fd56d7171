//! The local APIC in xAPIC mode (MMIO at 0xfee0_0000, reached through the
//! boot adapter's window before the switch and, through `mmio_regions()`,
//! identity mapped by the kernel's tables after it),
//! and the legacy 8259 PICs, which are remapped away from the exception
//! vectors and masked.

use core::ptr::{read_volatile, write_volatile};

use x86_64::instructions::port::Port;
use x86_64::registers::model_specific::Msr;

use super::idt::{PIC_VECTORS, SPURIOUS_VECTOR, TIMER_VECTOR};
use super::mmu;

pub const LAPIC_BASE: u64 = 0xfee0_0000;

const REG_ID: u64 = 0x20;
const REG_TPR: u64 = 0x80;
const REG_EOI: u64 = 0xb0;
const REG_SVR: u64 = 0xf0;
const REG_ICR_LOW: u64 = 0x300;
const REG_ICR_HIGH: u64 = 0x310;
const REG_LVT_TIMER: u64 = 0x320;
const REG_TIMER_INITIAL: u64 = 0x380;
const REG_TIMER_CURRENT: u64 = 0x390;
const REG_TIMER_DIVIDE: u64 = 0x3e0;

const IA32_APIC_BASE: u32 = 0x1b;
const APIC_BASE_ENABLE: u64 = 1 << 11;
const SVR_APIC_ENABLE: u32 = 1 << 8;
/// Divide configuration 0b0011: the timer counts at bus clock / 16, so a
/// 32-bit count spans over a minute at QEMU's 1 GHz bus.
const TIMER_DIVIDE_BY_16: u32 = 0b0011;
const ICR_DELIVERY_PENDING: u32 = 1 << 12;
const ICR_LEVEL_ASSERT: u32 = 1 << 14;
const ICR_INIT: u32 = 0b101 << 8;
const ICR_STARTUP: u32 = 0b110 << 8;

fn read(reg: u64) -> u32 {
    // SAFETY: an xAPIC register, 4-byte aligned, in the LAPIC page, which
    // `mmio_virt` reaches (boot window, then the kernel's identity map);
    // reads have no side effects on these.
    unsafe { read_volatile(mmu::mmio_virt(LAPIC_BASE + reg) as *const u32) }
}

fn write(reg: u64, value: u32) {
    // SAFETY: as in `read`; each write is the documented way to program
    // that register.
    unsafe { write_volatile(mmu::mmio_virt(LAPIC_BASE + reg) as *mut u32, value) }
}

/// Remaps the 8259s to `PIC_VECTORS` (the BIOS leaves them on the
/// exception vectors) and masks every line: interrupts come from the LAPIC.
pub fn disable_legacy_pic() {
    let base = *PIC_VECTORS.start() as u8;
    let writes: [(u16, u8); 10] = [
        (0x20, 0x11), // ICW1: init, ICW4 follows
        (0xa0, 0x11),
        (0x21, base), // ICW2: vector base
        (0xa1, base + 8),
        (0x21, 0x04), // ICW3: slave on IRQ2
        (0xa1, 0x02),
        (0x21, 0x01), // ICW4: 8086 mode
        (0xa1, 0x01),
        (0x21, 0xff), // mask all
        (0xa1, 0xff),
    ];
    for (port, value) in writes {
        // SAFETY: the PIC command/data ports; this is the standard
        // initialisation sequence and leaves every line masked.
        unsafe { Port::<u8>::new(port).write(value) };
    }
}

/// Enables this CPU's LAPIC with the timer stopped, one-shot, on
/// `TIMER_VECTOR`.
pub fn init_local() {
    let mut base = Msr::new(IA32_APIC_BASE);
    // SAFETY: IA32_APIC_BASE exists on every x86_64 CPU; setting the
    // global enable bit keeps the base address unchanged.
    unsafe {
        let value = base.read();
        base.write(value | APIC_BASE_ENABLE);
    }
    write(REG_TPR, 0);
    write(REG_SVR, SVR_APIC_ENABLE | u32::from(SPURIOUS_VECTOR));
    write(REG_TIMER_DIVIDE, TIMER_DIVIDE_BY_16);
    write(REG_TIMER_INITIAL, 0);
    write(REG_LVT_TIMER, u32::from(TIMER_VECTOR));
}

pub fn id() -> u32 {
    read(REG_ID) >> 24
}

pub fn eoi() {
    write(REG_EOI, 0);
}

/// Starts the one-shot timer at `count` (0 stops it).
pub fn timer_start(count: u32) {
    write(REG_TIMER_INITIAL, count);
}

pub fn timer_current() -> u32 {
    read(REG_TIMER_CURRENT)
}

/// Sends a fixed interrupt `vector` to the CPU with LAPIC `apic_id`.
pub fn send_fixed_ipi(apic_id: u32, vector: u8) {
    send_icr(apic_id, ICR_LEVEL_ASSERT | u32::from(vector));
}

/// INIT (assert) to `apic_id`: puts the CPU in wait-for-SIPI.
pub fn send_init(apic_id: u32) {
    send_icr(apic_id, ICR_LEVEL_ASSERT | ICR_INIT);
}

/// STARTUP to `apic_id`: the CPU starts in real mode at `page << 12`.
pub fn send_startup(apic_id: u32, page: u8) {
    send_icr(apic_id, ICR_LEVEL_ASSERT | ICR_STARTUP | u32::from(page));
}

fn send_icr(apic_id: u32, low: u32) {
    // The two ICR writes must not be split by an interrupt handler that
    // sends its own IPI.
    x86_64::instructions::interrupts::without_interrupts(|| {
        // Bounded: QEMU accepts an IPI at once, the bit is for hardware.
        for _ in 0..1_000_000 {
            if read(REG_ICR_LOW) & ICR_DELIVERY_PENDING == 0 {
                break;
            }
            core::hint::spin_loop();
        }
        write(REG_ICR_HIGH, apic_id << 24);
        write(REG_ICR_LOW, low);
    });
}
