//! Time: the TSC as the free-running counter, its rate and the LAPIC
//! timer's measured against PIT channel 2 at boot, and the one-shot LAPIC
//! timer shared by two users, each with its own deadline on each CPU:
//! `arm_timer_oneshot` (runs the timer callback) and `catch`'s timeout.

use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use x86_64::instructions::interrupts::without_interrupts;
use x86_64::instructions::port::Port;

use super::idt::TrapFrame;
use super::percpu::{cpu_id, NR_CPUS};
use super::{apic, catch};

static TSC_HZ: AtomicU64 = AtomicU64::new(0);
static LAPIC_TIMER_HZ: AtomicU64 = AtomicU64::new(0);

pub fn ticks() -> u64 {
    // SAFETY: rdtsc exists on every x86_64 CPU and has no side effects.
    unsafe { core::arch::x86_64::_rdtsc() }
}

pub fn ticks_per_sec() -> u64 {
    TSC_HZ.load(Ordering::Relaxed)
}

pub fn us_to_ticks(us: u64) -> u64 {
    (u128::from(us) * u128::from(ticks_per_sec()) / 1_000_000) as u64
}

const PIT_HZ: u64 = 1_193_182;
const CALIBRATION_MS: u64 = 10;

/// Measures the TSC and LAPIC timer rates over 10 ms of PIT channel 2
/// (the way Linux's `pit_calibrate_tsc` does). Under TCG the TSC follows
/// the host's and the PIT and LAPIC timer QEMU's virtual clock, so both
/// rates are measured rather than assumed. Call with interrupts disabled.
pub fn calibrate() {
    let mut gate = Port::<u8>::new(0x61);
    let mut command = Port::<u8>::new(0x43);
    let mut channel2 = Port::<u8>::new(0x42);
    let latch = PIT_HZ * CALIBRATION_MS / 1000;
    // SAFETY: port 0x61 bit 0 gates PIT channel 2 and bit 1 routes it to
    // the speaker (kept off); 0xb0 = channel 2, lobyte/hibyte, mode 0.
    // The speaker and channel 2 are used by nothing else.
    unsafe {
        let value = gate.read();
        gate.write((value & !0x02) | 0x01);
        command.write(0xb0);
        channel2.write((latch & 0xff) as u8);
        channel2.write((latch >> 8) as u8);
    }
    apic::timer_start(u32::MAX);
    let tsc_start = ticks();
    let lapic_start = apic::timer_current();
    // Bounded in case the PIT is absent: the rates then stay at a guess.
    for _ in 0..100_000_000u64 {
        // SAFETY: reading port 0x61 has no side effects; bit 5 is the
        // channel 2 output, high once the count has run out.
        if unsafe { gate.read() } & 0x20 != 0 {
            break;
        }
    }
    let tsc_elapsed = ticks() - tsc_start;
    let lapic_elapsed = u64::from(lapic_start - apic::timer_current());
    apic::timer_start(0);
    TSC_HZ.store((tsc_elapsed * 1000 / CALIBRATION_MS).max(1), Ordering::Relaxed);
    LAPIC_TIMER_HZ.store((lapic_elapsed * 1000 / CALIBRATION_MS).max(1), Ordering::Relaxed);
}

pub fn lapic_timer_hz() -> u64 {
    LAPIC_TIMER_HZ.load(Ordering::Relaxed)
}

/// TSC values at which each user's timer expires; 0 = not armed.
struct Deadlines {
    callback: AtomicU64,
    catch: AtomicU64,
}

static DEADLINES: [Deadlines; NR_CPUS] =
    [const { Deadlines { callback: AtomicU64::new(0), catch: AtomicU64::new(0) } }; NR_CPUS];

/// The `fn()` the timer runs, as an address; 0 = none.
static TIMER_CALLBACK: AtomicUsize = AtomicUsize::new(0);

pub fn set_timer_callback(callback: fn()) {
    TIMER_CALLBACK.store(callback as usize, Ordering::Release);
}

/// Runs the timer callback, in interrupt context on this CPU, `us`
/// microseconds from now. Re-arming replaces the previous deadline.
pub fn arm_timer_oneshot(us: u64) {
    without_interrupts(|| {
        let deadline = ticks() + us_to_ticks(us).max(1);
        DEADLINES[cpu_id()].callback.store(deadline, Ordering::Relaxed);
        reprogram();
    });
}

/// `catch`'s timeout: at `deadline` (TSC) the timer interrupt abandons the
/// catch that armed it.
pub fn set_catch_deadline(deadline: Option<u64>) {
    without_interrupts(|| {
        DEADLINES[cpu_id()].catch.store(deadline.unwrap_or(0), Ordering::Relaxed);
        reprogram();
    });
}

/// Programs the LAPIC timer for the earliest armed deadline, or stops it.
fn reprogram() {
    let deadlines = &DEADLINES[cpu_id()];
    let earliest = [&deadlines.callback, &deadlines.catch]
        .iter()
        .map(|deadline| deadline.load(Ordering::Relaxed))
        .filter(|&deadline| deadline != 0)
        .min();
    let Some(earliest) = earliest else {
        apic::timer_start(0);
        return;
    };
    let delta = u128::from(earliest.saturating_sub(ticks()));
    let count = delta * u128::from(lapic_timer_hz()) / u128::from(ticks_per_sec());
    apic::timer_start(count.clamp(1, u128::from(u32::MAX)) as u32);
}

/// Takes a deadline that has passed, leaving it disarmed.
fn take_if_due(deadline: &AtomicU64, now: u64) -> bool {
    let at = deadline.load(Ordering::Relaxed);
    if at != 0 && at <= now {
        deadline.store(0, Ordering::Relaxed);
        true
    } else {
        false
    }
}

/// The LAPIC timer's vector handler. A count rounded short fires early:
/// nothing is due then, and `reprogram` waits for the rest.
pub fn timer_interrupt(frame: &mut TrapFrame) {
    let now = ticks();
    let deadlines = &DEADLINES[cpu_id()];
    let callback_due = take_if_due(&deadlines.callback, now);
    let catch_due = take_if_due(&deadlines.catch, now);
    if callback_due {
        let callback = TIMER_CALLBACK.load(Ordering::Acquire);
        if callback != 0 {
            // SAFETY: the only non-zero values stored are `fn()` pointers
            // (set_timer_callback), so this turns one back into what it was.
            let callback: fn() = unsafe { core::mem::transmute::<usize, fn()>(callback) };
            callback();
        }
    }
    reprogram();
    if catch_due {
        catch::abandon_on_timeout(frame);
    }
}

/// Busy-waits `us` microseconds on the TSC.
pub fn delay_us(us: u64) {
    let end = ticks() + us_to_ticks(us);
    while ticks() < end {
        core::hint::spin_loop();
    }
}
