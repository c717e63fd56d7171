//! CPU1: started once at boot, it then serves remote reads (a real load on
//! the second CPU through its own TLB), held reads (loads with interrupts
//! masked while CPU0 runs something) and register reads, and answers IPIs,
//! TLB shootdowns and the resched IPI that switches a migrated task in
//! (arch/preempt.rs, docs/lazy-mmu-v7.md) included. Every wait on it is
//! bounded.

use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use mm::{Fault, VirtAddr};
use scenarios::HeldReads;

use crate::arch;
use crate::env::elapsed_ms;

const CPU1_STACK_BYTES: usize = 64 << 10;
const REMOTE_WAIT_MS: u64 = 500;

#[repr(C, align(16))]
struct Stack([u8; CPU1_STACK_BYTES]);

static mut CPU1_STACK: Stack = Stack([0; CPU1_STACK_BYTES]);

#[derive(Clone, Copy)]
enum Mailbox {
    Idle,
    Read(VirtAddr),
    Done(Result<u64, Fault>),
    ReadRegisters,
    Registers(arch::TranslationRegisters),
    Hold { va: VirtAddr, hold_us: u64 },
    Held(HeldReads),
}

/// Set by CPU1 once its interrupts are masked for a hold.
static HOLD_STARTED: AtomicBool = AtomicBool::new(false);
/// Set by CPU0 once the call the hold is around has returned.
static CALL_RETURNED: AtomicBool = AtomicBool::new(false);

static MAILBOX: spin::Mutex<Mailbox> = spin::Mutex::new(Mailbox::Idle);
/// CPUs running kernel code: the boot CPU, and CPU1 once it started. gdb's
/// `lazymmu-lazy` reads it (scripts/gdb/lazymmu.py).
static CPUS_ONLINE: AtomicUsize = AtomicUsize::new(1);

pub fn cpu1_online() -> bool {
    CPUS_ONLINE.load(Ordering::Acquire) >= 2
}

pub fn start_cpu1() {
    let stack_top = core::ptr::addr_of!(CPU1_STACK) as u64 + CPU1_STACK_BYTES as u64;
    match arch::start_cpu1(stack_top, cpu1_main) {
        Ok(()) => CPUS_ONLINE.store(2, Ordering::Release),
        Err(why) => log::warn!("CPU1 not started: {why}"),
    }
}

fn cpu1_main() -> ! {
    loop {
        let request = *MAILBOX.lock();
        match request {
            Mailbox::Read(va) => {
                let seen = arch::probe_read(va.as_u64());
                *MAILBOX.lock() = Mailbox::Done(seen);
            }
            Mailbox::ReadRegisters => *MAILBOX.lock() = Mailbox::Registers(arch::translation_registers()),
            Mailbox::Hold { va, hold_us } => {
                let held = arch::without_interrupts(|| hold_reading(va, hold_us));
                *MAILBOX.lock() = Mailbox::Held(held);
            }
            Mailbox::Idle | Mailbox::Done(_) | Mailbox::Registers(_) | Mailbox::Held(_) => {}
        }
        core::hint::spin_loop();
    }
}

/// CPU1, interrupts masked: loads through `va` for `hold_us`, counting
/// the loads made after CPU0's call returned.
fn hold_reading(va: VirtAddr, hold_us: u64) -> HeldReads {
    HOLD_STARTED.store(true, Ordering::Release);
    let start = arch::ticks();
    let hold_ticks = hold_us * arch::ticks_per_sec() / 1_000_000;
    let mut held = HeldReads { after: 0, first_after: None };
    while arch::ticks() - start < hold_ticks {
        // The flag first: a load after it saw `true` follows the return.
        let returned = CALL_RETURNED.load(Ordering::Acquire);
        let seen = arch::probe_read(va.as_u64());
        if returned {
            held.after += 1;
            held.first_after.get_or_insert(seen);
        }
        core::hint::spin_loop();
    }
    held
}

/// Holds CPU1 (see `scenarios::Env::remote_hold_reading`) around `f`.
pub fn remote_hold_reading(va: VirtAddr, hold_us: u64, f: &mut dyn FnMut()) -> Option<HeldReads> {
    if !cpu1_online() {
        return None;
    }
    HOLD_STARTED.store(false, Ordering::Relaxed);
    CALL_RETURNED.store(false, Ordering::Relaxed);
    *MAILBOX.lock() = Mailbox::Hold { va, hold_us };
    let start = arch::ticks();
    while !HOLD_STARTED.load(Ordering::Acquire) {
        if elapsed_ms(start) >= REMOTE_WAIT_MS {
            *MAILBOX.lock() = Mailbox::Idle;
            return None;
        }
        core::hint::spin_loop();
    }
    f();
    CALL_RETURNED.store(true, Ordering::Release);
    wait_for_cpu1(REMOTE_WAIT_MS + hold_us / 1000, |mailbox| match mailbox {
        Mailbox::Held(held) => Some(held),
        _ => None,
    })
}

/// Posts `request` to CPU1 and waits (bounded) for the answer `answer`
/// picks out; `None` if CPU1 is offline or did not answer.
fn ask_cpu1<T>(request: Mailbox, answer: impl Fn(Mailbox) -> Option<T>) -> Option<T> {
    if !cpu1_online() {
        return None;
    }
    *MAILBOX.lock() = request;
    wait_for_cpu1(REMOTE_WAIT_MS, answer)
}

/// Waits up to `wait_ms` for the answer `answer` picks out of the mailbox.
fn wait_for_cpu1<T>(wait_ms: u64, answer: impl Fn(Mailbox) -> Option<T>) -> Option<T> {
    let start = arch::ticks();
    while elapsed_ms(start) < wait_ms {
        let mut mailbox = MAILBOX.lock();
        if let Some(seen) = answer(*mailbox) {
            *mailbox = Mailbox::Idle;
            return Some(seen);
        }
        drop(mailbox);
        core::hint::spin_loop();
    }
    *MAILBOX.lock() = Mailbox::Idle;
    None
}

/// Has CPU1 load through `va`; `None` if it is offline or did not answer.
pub fn remote_read(va: VirtAddr) -> Option<Result<u64, Fault>> {
    ask_cpu1(Mailbox::Read(va), |mailbox| match mailbox {
        Mailbox::Done(seen) => Some(seen),
        _ => None,
    })
}

/// CPU1's translation-control registers; `None` if it is offline or did
/// not answer.
pub fn remote_translation_registers() -> Option<arch::TranslationRegisters> {
    ask_cpu1(Mailbox::ReadRegisters, |mailbox| match mailbox {
        Mailbox::Registers(registers) => Some(registers),
        _ => None,
    })
}
