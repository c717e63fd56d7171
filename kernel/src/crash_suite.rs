//! Suite `crash`: deliberate crashes and hangs that show what a user sees
//! when a kernel change goes wrong (a register dump and backtrace, exit 2;
//! a watchdog timeout, exit 3). Run only when a filter names `crash.`.

use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use ktest::{ktest_case, Ctx};

pub const SUITE: &str = "crash";

ktest_case!(
    crash,
    wild_pointer,
    desc = "deliberate: a store through a wild pointer ends the run as a crash (exit 2)",
    |_ctx: &mut Ctx| {
        let wild = 0x0000_7bad_0000_0000u64 as *const u64;
        // SAFETY: deliberately unsound: the read must fault and end the run as
        // a crash with a register dump.
        let value = unsafe { core::ptr::read_volatile(wild) };
        log::error!("wild pointer read returned {value:#x}");
    }
);

// The point of the case: recursion without end overflows into the guard page.
#[allow(unconditional_recursion)]
fn recurse(depth: u64) -> u64 {
    let frame = [depth; 64];
    core::hint::black_box(&frame);
    recurse(depth + 1) + core::hint::black_box(frame[0])
}

ktest_case!(
    crash,
    stack_overflow,
    desc = "deliberate: unbounded recursion hits the stack guard, a crash (exit 2)",
    |_ctx: &mut Ctx| {
        log::error!("recursion returned {}", recurse(0));
    }
);

ktest_case!(crash, panic, desc = "deliberate: a panic in a case body, a crash (exit 2)", |_ctx: &mut Ctx| {
    panic!("a test panicked on purpose");
});

ktest_case!(
    crash,
    hang,
    desc = "deliberate: a case that never returns, ended by the watchdog (exit 3)",
    |_ctx: &mut Ctx| {
        // The watchdog ends this case with `# TIMEOUT`.
        loop {
            core::hint::spin_loop();
        }
    }
);

ktest_case!(
    crash,
    undefined_instruction,
    desc = "deliberate: an undefined instruction, a crash (exit 2)",
    |_ctx: &mut Ctx| {
        crate::arch::undefined_instruction();
    }
);

ktest_case!(
    crash,
    fault_in_interrupt,
    desc = "deliberate: a fault inside the interrupt handler, a crash (exit 2)",
    |_ctx: &mut Ctx| {
        crate::arch::fault_in_interrupt();
    }
);

/// A value whose formatting panics: printing the first panic's message
/// panics again, inside the panic handler.
struct PanicsWhenPrinted;

impl core::fmt::Display for PanicsWhenPrinted {
    fn fmt(&self, _f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        panic!("formatting the panic message panicked");
    }
}

ktest_case!(
    crash,
    panic_while_panicking,
    desc = "deliberate: a panic while formatting a panic message, still one crash report",
    |_ctx: &mut Ctx| {
        panic!("the message cannot be printed: {}", PanicsWhenPrinted);
    }
);

/// Set once CPU1 has taken the IPI that wedges it.
static CPU1_WEDGED: AtomicBool = AtomicBool::new(false);
/// IPIs CPU1 answered after it was wedged: stays 0.
static CPU1_ANSWERS: AtomicUsize = AtomicUsize::new(0);

/// The IPI handler's callback: the first IPI on CPU1 never returns, and
/// interrupts stay masked inside the handler, so CPU1 answers nothing more.
fn wedge_cpu1_on_ipi() {
    if crate::arch::cpu_id() != 1 {
        return;
    }
    if !CPU1_WEDGED.swap(true, Ordering::SeqCst) {
        loop {
            core::hint::spin_loop();
        }
    }
    CPU1_ANSWERS.fetch_add(1, Ordering::SeqCst);
}

ktest_case!(
    crash,
    cpu1_never_answers,
    desc = "deliberate: CPU1 never answers an IPI, ended by the watchdog (exit 3)",
    |_ctx: &mut Ctx| {
        // A wait on another CPU with no bound of its own: only the watchdog
        // can end it (`# TIMEOUT`), never a hang.
        crate::arch::set_ipi_callback(wedge_cpu1_on_ipi);
        crate::arch::send_ipi(1);
        while !CPU1_WEDGED.load(Ordering::SeqCst) {
            core::hint::spin_loop();
        }
        crate::arch::send_ipi(1);
        while CPU1_ANSWERS.load(Ordering::SeqCst) == 0 {
            core::hint::spin_loop();
        }
    }
);
