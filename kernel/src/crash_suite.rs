//! Suite `crash`: deliberate crashes and hangs that show what a user sees
//! when a kernel change goes wrong (a register dump and backtrace, exit 2;
//! a watchdog timeout, exit 3). Run only when a filter names `crash.`.

use ktest::{ktest_case, Ctx};

pub const SUITE: &str = "crash";

ktest_case!(crash, wild_pointer, |_ctx: &mut Ctx| {
    let wild = 0x0000_7bad_0000_0000u64 as *const u64;
    // SAFETY: deliberately unsound: the read must fault and end the run as
    // a crash with a register dump.
    let value = unsafe { core::ptr::read_volatile(wild) };
    log::error!("wild pointer read returned {value:#x}");
});

// The point of the case: recursion without end overflows into the guard page.
#[allow(unconditional_recursion)]
fn recurse(depth: u64) -> u64 {
    let frame = [depth; 64];
    core::hint::black_box(&frame);
    recurse(depth + 1) + core::hint::black_box(frame[0])
}

ktest_case!(crash, stack_overflow, |_ctx: &mut Ctx| {
    log::error!("recursion returned {}", recurse(0));
});

ktest_case!(crash, panic, |_ctx: &mut Ctx| {
    panic!("a test panicked on purpose");
});

ktest_case!(crash, hang, |_ctx: &mut Ctx| {
    // The watchdog ends this case with `# TIMEOUT`.
    loop {
        core::hint::spin_loop();
    }
});

ktest_case!(crash, arch_selftest, |_ctx: &mut Ctx| {
    crate::arch::bringup_selftest();
});
