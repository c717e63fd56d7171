//! CPU1: started once at boot, it then serves remote reads (a real load on
//! the second CPU through its own TLB), runs closures handed to it (a task
//! migrated to CPU1, docs/lazy-mmu-v7.md) and answers IPIs, TLB shootdowns
//! included. Every wait on it is bounded.

use mm::{Fault, VirtAddr};

use crate::arch;
use crate::env::elapsed_ms;

const CPU1_STACK_BYTES: usize = 64 << 10;
const REMOTE_WAIT_MS: u64 = 500;
/// A migrated task's stretch runs a few mm calls; past this CPU1 is hung.
const RUN_WAIT_MS: u64 = 2_000;

#[repr(C, align(16))]
struct Stack([u8; CPU1_STACK_BYTES]);

static mut CPU1_STACK: Stack = Stack([0; CPU1_STACK_BYTES]);

/// A closure for CPU1, erased to `'static`: valid only while
/// [`run_on_cpu1`] waits for it.
#[derive(Clone, Copy)]
struct Work(*mut (dyn FnMut() + 'static));

// SAFETY: CPU1 dereferences the pointer only between `run_on_cpu1` storing
// it and CPU1 reporting `Ran`, while the storing frame waits.
unsafe impl Send for Work {}

#[derive(Clone, Copy)]
enum Mailbox {
    Idle,
    Read(VirtAddr),
    Done(Result<u64, Fault>),
    Run(Work),
    Ran,
}

static MAILBOX: spin::Mutex<Mailbox> = spin::Mutex::new(Mailbox::Idle);
/// CPUs running kernel code: the boot CPU, and CPU1 once it started. gdb's
/// `lazymmu-lazy` reads it (scripts/gdb/lazymmu.py).
static CPUS_ONLINE: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(1);

fn cpu1_online() -> bool {
    CPUS_ONLINE.load(core::sync::atomic::Ordering::Acquire) >= 2
}

pub fn start_cpu1() {
    let stack_top = core::ptr::addr_of!(CPU1_STACK) as u64 + CPU1_STACK_BYTES as u64;
    match arch::start_cpu1(stack_top, cpu1_main) {
        Ok(()) => CPUS_ONLINE.store(2, core::sync::atomic::Ordering::Release),
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
            Mailbox::Run(Work(f)) => {
                // SAFETY: `run_on_cpu1` stored the pointer and waits for
                // `Ran` (or crashes the kernel), so the closure is alive.
                unsafe { (*f)() };
                *MAILBOX.lock() = Mailbox::Ran;
            }
            Mailbox::Idle | Mailbox::Done(_) | Mailbox::Ran => {}
        }
        core::hint::spin_loop();
    }
}

/// Runs `f` on CPU1 and waits for it; false if CPU1 is offline. CPU1 not
/// finishing in time is a crash: `f` borrows this frame, which cannot be
/// left while CPU1 may still run it.
pub fn run_on_cpu1(f: &mut dyn FnMut()) -> bool {
    if !cpu1_online() {
        return false;
    }
    // SAFETY: only the lifetime is erased; this frame waits below until
    // CPU1 reports `Ran`, and panics rather than return before that.
    let f: *mut (dyn FnMut() + 'static) = unsafe { core::mem::transmute(f as *mut dyn FnMut()) };
    *MAILBOX.lock() = Mailbox::Run(Work(f));
    let start = arch::ticks();
    loop {
        let mut mailbox = MAILBOX.lock();
        if let Mailbox::Ran = *mailbox {
            *mailbox = Mailbox::Idle;
            return true;
        }
        drop(mailbox);
        assert!(elapsed_ms(start) < RUN_WAIT_MS, "CPU1 did not finish the work handed to it");
        core::hint::spin_loop();
    }
}

/// Has CPU1 load through `va`; `None` if it is offline or did not answer.
pub fn remote_read(va: VirtAddr) -> Option<Result<u64, Fault>> {
    if !cpu1_online() {
        return None;
    }
    *MAILBOX.lock() = Mailbox::Read(va);
    let start = arch::ticks();
    while elapsed_ms(start) < REMOTE_WAIT_MS {
        let mut mailbox = MAILBOX.lock();
        if let Mailbox::Done(seen) = *mailbox {
            *mailbox = Mailbox::Idle;
            return Some(seen);
        }
        drop(mailbox);
        core::hint::spin_loop();
    }
    *MAILBOX.lock() = Mailbox::Idle;
    None
}
