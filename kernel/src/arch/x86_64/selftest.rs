//! Bring-up checks printed at boot: what the boot adapter handed over, the
//! probes, `catch`, the timer, CPU1 and IPIs. With `x86.crash=pf|df|ud` on
//! the command line it then takes that unexpected trap on purpose, to show
//! the crash dump (the run must end with status 37).

use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use boot::BootInfo;
use mm::{Mmu, TlbScope, VirtAddr};

use super::{catch, mmu, probe, smp, time, Caught};
use crate::kprintln;

/// Canonical, but above the 4 GiB the boot map covers.
const UNMAPPED: u64 = 0x1_0000_0000;
const NON_CANONICAL: u64 = 0x8000_0000_0000_0000;

pub fn run(info: &BootInfo) {
    print_boot_info(info);
    check_probes();
    check_catch();
    check_timer();
    check_cpu1();
    let cmdline = info.cmdline();
    if let Some(at) = cmdline.windows(10).position(|window| window == b"x86.crash=") {
        crash_on_purpose(&cmdline[at + 10..]);
    }
}

fn print_boot_info(info: &BootInfo) {
    kprintln!("# x86_64: kernel image {:#x}..{:#x}", info.kernel_phys.base, info.kernel_phys.end());
    for region in info.ram() {
        kprintln!("# x86_64: ram    {:#012x}..{:#012x}", region.base, region.end());
    }
    for region in info.usable() {
        kprintln!("# x86_64: usable {:#012x}..{:#012x}", region.base, region.end());
    }
    let cmdline = core::str::from_utf8(info.cmdline()).unwrap_or("<not UTF-8>");
    kprintln!("# x86_64: cmdline {:?} (truncated: {})", cmdline, info.cmdline_truncated);
    kprintln!("# x86_64: rsdp {:x?}", info.rsdp_phys);
    kprintln!(
        "# x86_64: tsc {} Hz, lapic timer {} Hz, cpu {}",
        time::ticks_per_sec(),
        time::lapic_timer_hz(),
        super::cpu_id()
    );
}

/// A `ret` to execute: in .data, which the boot map leaves executable.
static RET_INSTRUCTION: AtomicU64 = AtomicU64::new(0xc3);

fn check_probes() {
    let word = AtomicU64::new(0x1234_5678);
    let word_va = word.as_ptr() as u64;
    kprintln!("# x86_64: probe_read(mapped) = {:x?}", probe::probe_read(word_va));
    kprintln!(
        "# x86_64: probe_write(mapped) = {:?}, now {:#x}",
        probe::probe_write(word_va, 7),
        word.load(Ordering::Relaxed)
    );
    kprintln!("# x86_64: probe_read({UNMAPPED:#x}) = {:?}", probe::probe_read(UNMAPPED));
    kprintln!("# x86_64: probe_write({UNMAPPED:#x}) = {:?}", probe::probe_write(UNMAPPED, 1));
    kprintln!("# x86_64: probe_read({NON_CANONICAL:#x}) = {:?}", probe::probe_read(NON_CANONICAL));
    kprintln!("# x86_64: probe_exec(ret) = {:?}", probe::probe_exec(RET_INSTRUCTION.as_ptr() as u64));
    kprintln!("# x86_64: probe_exec({UNMAPPED:#x}) = {:?}", probe::probe_exec(UNMAPPED));
}

fn check_catch() {
    let result = catch::catch(&mut || (), None);
    kprintln!("# x86_64: catch(nothing) = {result:?}");
    let result = catch::catch(
        &mut || {
            // SAFETY: not safe at all: a wild store, which `catch` must
            // turn into Err(Fault).
            unsafe { core::ptr::write_volatile(UNMAPPED as *mut u64, 1) }
        },
        None,
    );
    kprintln!("# x86_64: catch(wild store) = {result:?}");
    let start = time::ticks();
    let result = catch::catch(
        &mut || loop {
            core::hint::spin_loop();
        },
        Some(100_000),
    );
    let elapsed_us = (time::ticks() - start) * 1_000_000 / time::ticks_per_sec();
    kprintln!("# x86_64: catch(loop, 100 ms) = {result:?} after {elapsed_us} us");
    let mut inner = None;
    let result = catch::catch(
        &mut || {
            inner = Some(catch::catch(
                &mut || {
                    // SAFETY: a wild store on purpose (see above).
                    unsafe { core::ptr::write_volatile(UNMAPPED as *mut u64, 2) }
                },
                None,
            ));
            loop {
                core::hint::spin_loop();
            }
        },
        Some(20_000),
    );
    kprintln!("# x86_64: nested: inner = {inner:?}, outer = {result:?}");
    let result = catch::catch(
        &mut || {
            let _ = catch::catch(
                &mut || loop {
                    core::hint::spin_loop()
                },
                None,
            );
        },
        Some(20_000),
    );
    kprintln!("# x86_64: timeout inside an inner catch: outer = {result:?}, in_interrupt {}", super::in_interrupt());
    debug_assert!(result == Err(Caught::Timeout));
}

static CALLBACK_RAN_IN_INTERRUPT: AtomicUsize = AtomicUsize::new(0);

fn timer_callback() {
    CALLBACK_RAN_IN_INTERRUPT.store(if super::in_interrupt() { 1 } else { 2 }, Ordering::SeqCst);
}

fn check_timer() {
    time::set_timer_callback(timer_callback);
    let start = time::ticks();
    time::arm_timer_oneshot(5_000);
    while CALLBACK_RAN_IN_INTERRUPT.load(Ordering::SeqCst) == 0 && time::ticks() - start < time::ticks_per_sec() {
        core::hint::spin_loop();
    }
    let elapsed_us = (time::ticks() - start) * 1_000_000 / time::ticks_per_sec();
    let state = match CALLBACK_RAN_IN_INTERRUPT.load(Ordering::SeqCst) {
        0 => "did not run within 1 s",
        1 => "ran, in_interrupt() = true",
        _ => "ran, in_interrupt() = false",
    };
    kprintln!(
        "# x86_64: timer callback (5 ms): {state}, after {elapsed_us} us; in_interrupt() now {}",
        super::in_interrupt()
    );
}

#[repr(C, align(16))]
struct Cpu1Stack([u8; 64 * 1024]);
static mut CPU1_STACK: Cpu1Stack = Cpu1Stack([0; 64 * 1024]);

static IPI_SEEN_ON: AtomicUsize = AtomicUsize::new(usize::MAX);
static CPU1_RUNNING: AtomicBool = AtomicBool::new(false);

fn cpu1_main() -> ! {
    CPU1_RUNNING.store(true, Ordering::SeqCst);
    loop {
        x86_64::instructions::hlt();
    }
}

fn ipi_callback() {
    IPI_SEEN_ON.store(super::cpu_id(), Ordering::SeqCst);
}

fn check_cpu1() {
    let stack_top = core::ptr::addr_of!(CPU1_STACK) as u64 + core::mem::size_of::<Cpu1Stack>() as u64;
    let start = time::ticks();
    let started = smp::start_cpu1(stack_top, cpu1_main);
    let elapsed_us = (time::ticks() - start) * 1_000_000 / time::ticks_per_sec();
    kprintln!(
        "# x86_64: start_cpu1 = {started:?} after {elapsed_us} us, entry ran: {}",
        CPU1_RUNNING.load(Ordering::SeqCst)
    );
    if started.is_err() {
        return;
    }
    smp::set_ipi_callback(ipi_callback);
    let start = time::ticks();
    smp::send_ipi(1);
    while IPI_SEEN_ON.load(Ordering::SeqCst) == usize::MAX && time::ticks() - start < time::ticks_per_sec() {
        core::hint::spin_loop();
    }
    let elapsed_us = (time::ticks() - start) * 1_000_000 / time::ticks_per_sec();
    kprintln!("# x86_64: IPI to CPU1 handled on CPU {:?} after {elapsed_us} us", IPI_SEEN_ON.load(Ordering::SeqCst));
    let start = time::ticks();
    mmu::HwMmu.flush_tlb_page(VirtAddr(stack_top), TlbScope::Broadcast);
    mmu::HwMmu.flush_tlb_all(TlbScope::Broadcast);
    let elapsed_us = (time::ticks() - start) * 1_000_000 / time::ticks_per_sec();
    kprintln!("# x86_64: two broadcast TLB flushes acknowledged in {elapsed_us} us");
}

fn crash_on_purpose(kind: &[u8]) {
    kprintln!("# x86_64: taking an unexpected trap on purpose ({})", core::str::from_utf8(kind).unwrap_or("?"));
    if kind.starts_with(b"pf") {
        // SAFETY: not safe: a wild store outside any catch, to see the dump.
        unsafe { core::ptr::write_volatile(UNMAPPED as *mut u64, 3) }
    } else if kind.starts_with(b"df") {
        // SAFETY: not safe: with RSP unmapped the #PF cannot be delivered,
        // which must become a #DF on its IST stack, not a reset.
        unsafe { core::arch::asm!("mov rsp, {}", "push rax", in(reg) UNMAPPED + 0x1000, options(noreturn)) }
    } else if kind.starts_with(b"ud") {
        // SAFETY: not safe: an invalid opcode on purpose.
        unsafe { core::arch::asm!("ud2", options(noreturn)) }
    }
}
