//! The EL1 virtual timer (CNTV_*, a PPI through the GIC): the free-running
//! counter and one one-shot deadline per CPU, shared by the scenario
//! callback (`arm_timer_oneshot`) and `catch`'s timeout.

use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use aarch64_cpu::registers::{Readable, Writeable, CNTFRQ_EL0, CNTVCT_EL0, CNTV_CTL_EL0, CNTV_CVAL_EL0};

use super::percpu::{cpu_id, MAX_CPUS};

/// CNTV_CTL_EL0.ENABLE with IMASK clear: the interrupt fires at CVAL.
const CNTV_CTL_ENABLE: u64 = 1;
/// No deadline.
const NONE: u64 = 0;

static CALLBACK: AtomicUsize = AtomicUsize::new(0);
static CALLBACK_DEADLINE: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(NONE) }; MAX_CPUS];
static CATCH_DEADLINE: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(NONE) }; MAX_CPUS];

pub fn ticks() -> u64 {
    CNTVCT_EL0.get()
}

pub fn ticks_per_sec() -> u64 {
    CNTFRQ_EL0.get()
}

/// The counter value `us` microseconds from now (never `NONE`).
pub fn deadline_after_us(us: u64) -> u64 {
    let delta = (u128::from(us) * u128::from(ticks_per_sec()) / 1_000_000) as u64;
    ticks().saturating_add(delta).max(1)
}

pub fn set_callback(f: fn()) {
    CALLBACK.store(f as usize, Ordering::Release);
}

/// Runs the callback once, in interrupt context, `us` from now.
pub fn arm_oneshot(us: u64) {
    CALLBACK_DEADLINE[cpu_id()].store(deadline_after_us(us), Ordering::Relaxed);
    reprogram();
}

/// `catch`'s own deadline on this CPU (`None` disarms it).
pub fn set_catch_deadline(deadline: Option<u64>) {
    CATCH_DEADLINE[cpu_id()].store(deadline.unwrap_or(NONE), Ordering::Relaxed);
    reprogram();
}

fn reprogram() {
    let cpu = cpu_id();
    let next = [&CALLBACK_DEADLINE[cpu], &CATCH_DEADLINE[cpu]]
        .iter()
        .map(|d| d.load(Ordering::Relaxed))
        .filter(|&d| d != NONE)
        .min();
    match next {
        Some(deadline) => {
            CNTV_CVAL_EL0.set(deadline);
            CNTV_CTL_EL0.set(CNTV_CTL_ENABLE);
        }
        None => CNTV_CTL_EL0.set(0),
    }
}

/// What a timer interrupt meant for the interrupted code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimerEvent {
    Nothing,
    /// The innermost `catch` with a timeout ran out of time.
    CatchExpired,
}

/// The timer interrupt: runs a due callback, reports a due catch deadline
/// and re-arms for whatever is still pending.
pub fn handle_irq() -> TimerEvent {
    let cpu = cpu_id();
    // The interrupt is level-triggered: silence it before the EOI.
    CNTV_CTL_EL0.set(0);
    let now = ticks();
    let due = |deadline: &AtomicU64| {
        let d = deadline.load(Ordering::Relaxed);
        d != NONE && d <= now && deadline.swap(NONE, Ordering::Relaxed) == d
    };
    if due(&CALLBACK_DEADLINE[cpu]) {
        let callback = CALLBACK.load(Ordering::Acquire);
        if callback != 0 {
            // SAFETY: CALLBACK only ever holds a `fn()` stored by `set_callback`.
            let callback: fn() = unsafe { core::mem::transmute::<usize, fn()>(callback) };
            callback();
        }
    }
    let event = if due(&CATCH_DEADLINE[cpu]) { TimerEvent::CatchExpired } else { TimerEvent::Nothing };
    reprogram();
    event
}
