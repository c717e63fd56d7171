//! CPU1: started once at boot, it then serves remote reads (a real load on
//! the second CPU through its own TLB) and answers IPIs, TLB shootdowns
//! included. Every wait on it is bounded.

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
static ONLINE: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

pub fn start_cpu1() {
    let stack_top = core::ptr::addr_of!(CPU1_STACK) as u64 + CPU1_STACK_BYTES as u64;
    match arch::start_cpu1(stack_top, cpu1_main) {
        Ok(()) => ONLINE.store(true, core::sync::atomic::Ordering::Release),
        Err(why) => log::warn!("CPU1 not started: {why}"),
    }
}

fn cpu1_main() -> ! {
    loop {
        let request = match *MAILBOX.lock() {
            Mailbox::Read(va) => Some(va),
            _ => None,
        };
        if let Some(va) = request {
            let seen = arch::probe_read(va.as_u64());
            *MAILBOX.lock() = Mailbox::Done(seen);
        }
        core::hint::spin_loop();
    }
}

/// Has CPU1 load through `va`; `None` if it is offline or did not answer.
pub fn remote_read(va: VirtAddr) -> Option<Result<u64, Fault>> {
    if !ONLINE.load(core::sync::atomic::Ordering::Acquire) {
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
