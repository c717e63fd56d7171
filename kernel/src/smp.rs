//! CPU1: started once at boot, it then serves remote reads (a real load on
//! the second CPU through its own TLB) and answers IPIs, TLB shootdowns and
//! the resched IPI that switches a migrated task in (arch/preempt.rs,
//! docs/lazy-mmu-v7.md) included. Every wait on it is bounded.

use mm::{Fault, VirtAddr};

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
}

static MAILBOX: spin::Mutex<Mailbox> = spin::Mutex::new(Mailbox::Idle);
/// CPUs running kernel code: the boot CPU, and CPU1 once it started. gdb's
/// `lazymmu-lazy` reads it (scripts/gdb/lazymmu.py).
static CPUS_ONLINE: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(1);

pub fn cpu1_online() -> bool {
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
            Mailbox::Idle | Mailbox::Done(_) => {}
        }
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
