//! Bring-up checks logged at boot, each with an ok/FAILED verdict and what
//! was seen: the boot information, the probes, the kernel's tables (once
//! installed), `catch`, the timer, CPU1, IPIs and TLB shootdowns. With
//! `x86.crash=pf|df|ud|stack|irq` on the command line it then takes that
//! unexpected trap on purpose, to show the crash dump (status 37).

use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use boot::BootInfo;
use mm::{FaultKind, Mmu, TlbScope, VirtAddr};

use super::{catch, mmu, probe, smp, time, Caught};

/// Canonical, but above the 4 GiB the boot map covers and outside every
/// range the kernel's tables map.
const UNMAPPED: u64 = 0x1_0000_0000;
const NON_CANONICAL: u64 = 0x8000_0000_0000_0000;

fn check(what: &str, ok: bool, seen: core::fmt::Arguments) {
    let verdict = if ok { "ok" } else { "FAILED" };
    log::info!("x86_64 selftest: {what}: {verdict} ({seen})");
}

fn elapsed_us(start: u64) -> u64 {
    (time::ticks() - start) * 1_000_000 / time::ticks_per_sec()
}

pub fn run(info: &BootInfo) {
    print_boot_info(info);
    check_probes();
    if mmu::kernel_tables_installed() {
        check_kernel_tables(info);
    }
    check_catch();
    check_timer();
    check_cpu1();
    let cmdline = info.cmdline();
    if let Some(at) = cmdline.windows(10).position(|window| window == b"x86.crash=") {
        crash_on_purpose(&cmdline[at + 10..]);
    }
}

fn print_boot_info(info: &BootInfo) {
    log::info!("x86_64: kernel image {:#x}..{:#x}", info.kernel_phys.base, info.kernel_phys.end());
    for region in info.ram() {
        log::info!("x86_64: ram    {:#012x}..{:#012x}", region.base, region.end());
    }
    for region in info.usable() {
        log::info!("x86_64: usable {:#012x}..{:#012x}", region.base, region.end());
    }
    match core::str::from_utf8(info.cmdline()) {
        Ok(cmdline) => log::info!("x86_64: cmdline {cmdline:?} (truncated: {})", info.cmdline_truncated),
        Err(_) => log::info!("x86_64: cmdline (not UTF-8) {:x?}", info.cmdline()),
    }
    log::info!("x86_64: rsdp {:x?}", info.rsdp_phys);
    log::info!("x86_64: tsc {} Hz, lapic timer {} Hz", time::ticks_per_sec(), time::lapic_timer_hz());
}

/// The target of the successful `probe_exec`: its body is a single `ret`.
#[unsafe(naked)]
pub extern "C" fn return_only() {
    core::arch::naked_asm!("ret");
}

fn check_probes() {
    let mut word = 0x1234_5678u64;
    let word_va = core::ptr::addr_of_mut!(word) as u64;
    let read = probe::probe_read(word_va);
    check("probe_read of a stack word", read == Ok(0x1234_5678), format_args!("{read:x?}"));
    let write = probe::probe_write(word_va, 7);
    // SAFETY: `word` is a live local; the volatile read sees the probe's store.
    let now = unsafe { core::ptr::read_volatile(&word) };
    check("probe_write of a stack word", write.is_ok() && now == 7, format_args!("{write:?}, now {now}"));

    let read = probe::probe_read(UNMAPPED);
    let ok = matches!(read, Err(f) if f.kind == FaultKind::NotMapped && f.addr.0 == UNMAPPED);
    check("probe_read of an unmapped address", ok, format_args!("{read:x?}"));
    let write = probe::probe_write(UNMAPPED, 1);
    let ok = matches!(write, Err(f) if f.kind == FaultKind::NotMapped && f.addr.0 == UNMAPPED);
    check("probe_write of an unmapped address", ok, format_args!("{write:x?}"));
    let read = probe::probe_read(NON_CANONICAL);
    let ok = matches!(read, Err(f) if matches!(f.kind, FaultKind::Other(_)) && f.addr.0 == NON_CANONICAL);
    check("probe_read of a non-canonical address (#GP)", ok, format_args!("{read:x?}"));
    let exec = probe::probe_exec(return_only as *const () as u64);
    check("probe_exec of a ret", exec.is_ok(), format_args!("{exec:x?}"));
    let exec = probe::probe_exec(UNMAPPED);
    let ok = matches!(exec, Err(f) if f.kind == FaultKind::NotMapped && f.addr.0 == UNMAPPED);
    check("probe_exec of an unmapped address", ok, format_args!("{exec:x?}"));
}

extern "C" {
    static __text_start: u8;
    static __data_start: u8;
    static __stack_guard: u8;
}

/// W^X and the guard page, as the kernel's own tables map them.
fn check_kernel_tables(info: &BootInfo) {
    let text = core::ptr::addr_of!(__text_start) as u64;
    let data = core::ptr::addr_of!(__data_start) as u64;
    let guard = core::ptr::addr_of!(__stack_guard) as u64;

    let write = probe::probe_read(text).and_then(|word| probe::probe_write(text, word));
    let ok = matches!(write, Err(f) if f.kind == FaultKind::WriteProtected && f.addr.0 == text);
    check("probe_write to kernel text", ok, format_args!("{write:x?}"));
    let exec = probe::probe_exec(data);
    let ok = matches!(exec, Err(f) if f.kind == FaultKind::NoExecute && f.addr.0 == data);
    check("probe_exec of kernel data", ok, format_args!("{exec:x?}"));
    let read = probe::probe_read(guard);
    let ok = matches!(read, Err(f) if f.kind == FaultKind::NotMapped && f.addr.0 == guard);
    check("probe_read of the stack guard page", ok, format_args!("{read:x?}"));
    let pa = info.kernel_phys.base;
    let linear = probe::probe_read(mmu::LINEAR_MAP_BASE + pa);
    let identity = probe::probe_read(pa);
    check("linear map shows the image", linear.is_ok() && linear == identity, format_args!("{linear:x?}"));
}

fn wild_store(value: u64) {
    // SAFETY: not safe at all: a store to an unmapped address on purpose.
    unsafe { core::ptr::write_volatile(UNMAPPED as *mut u64, value) }
}

fn check_catch() {
    let result = catch::catch(&mut || (), None);
    check("catch of a closure that returns", result.is_ok(), format_args!("{result:?}"));
    let result = catch::catch(&mut || wild_store(1), None);
    let ok = matches!(result, Err(Caught::Fault(f)) if f.kind == FaultKind::NotMapped && f.addr.0 == UNMAPPED);
    check("catch of a wild store", ok, format_args!("{result:x?}"));

    let start = time::ticks();
    let result = catch::catch(
        &mut || loop {
            core::hint::spin_loop()
        },
        Some(100_000),
    );
    let took = elapsed_us(start);
    let ok = result == Err(Caught::Timeout) && (100_000..150_000).contains(&took);
    check("catch of loop {} with a 100 ms timeout", ok, format_args!("{result:?} after {took} us"));

    let mut inner = None;
    let result = catch::catch(
        &mut || {
            inner = Some(catch::catch(&mut || wild_store(2), None));
            loop {
                core::hint::spin_loop();
            }
        },
        Some(20_000),
    );
    let ok = matches!(inner, Some(Err(Caught::Fault(_)))) && result == Err(Caught::Timeout);
    check("nested: inner catches a fault, outer times out", ok, format_args!("inner {inner:?}, outer {result:?}"));
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
    let ok =
        result == Err(Caught::Timeout) && !super::in_interrupt() && x86_64::instructions::interrupts::are_enabled();
    check("timeout taken inside an inner catch", ok, format_args!("outer {result:?}"));
}

/// 0 = not run, 1 = ran with in_interrupt(), 2 = ran without.
static TIMER_CALLBACK_SAW: AtomicUsize = AtomicUsize::new(0);

fn timer_callback() {
    TIMER_CALLBACK_SAW.store(if super::in_interrupt() { 1 } else { 2 }, Ordering::SeqCst);
}

fn wait_until(done: impl Fn() -> bool) {
    let start = time::ticks();
    while !done() && time::ticks() - start < time::ticks_per_sec() {
        core::hint::spin_loop();
    }
}

fn check_timer() {
    time::set_timer_callback(timer_callback);
    let start = time::ticks();
    time::arm_timer_oneshot(5_000);
    wait_until(|| TIMER_CALLBACK_SAW.load(Ordering::SeqCst) != 0);
    let took = elapsed_us(start);
    let saw = TIMER_CALLBACK_SAW.load(Ordering::SeqCst);
    check(
        "5 ms one-shot timer callback runs in interrupt context",
        saw == 1 && took >= 5_000 && !super::in_interrupt(),
        format_args!("state {saw}, after {took} us"),
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
    wait_until(|| CPU1_RUNNING.load(Ordering::SeqCst));
    let took = elapsed_us(start);
    let running = CPU1_RUNNING.load(Ordering::SeqCst);
    check("start_cpu1", started.is_ok() && running, format_args!("{started:?}, entry ran {running}, {took} us"));
    if started.is_err() {
        return;
    }
    smp::set_ipi_callback(ipi_callback);
    let start = time::ticks();
    smp::send_ipi(1);
    wait_until(|| IPI_SEEN_ON.load(Ordering::SeqCst) != usize::MAX);
    let seen_on = IPI_SEEN_ON.load(Ordering::SeqCst);
    check("IPI to CPU1", seen_on == 1, format_args!("callback ran on CPU {seen_on}, {} us", elapsed_us(start)));
    let start = time::ticks();
    mmu::HwMmu.flush_tlb_page(VirtAddr(stack_top), TlbScope::Broadcast);
    mmu::HwMmu.flush_tlb_all(TlbScope::Broadcast);
    check("two broadcast TLB flushes acknowledged", true, format_args!("{} us", elapsed_us(start)));
}

/// Never reaches 0 when started at 1: recurses until the stack runs out.
fn recurse(depth: u64) -> u64 {
    if depth == 0 {
        return 0;
    }
    let frame = [depth; 64];
    core::hint::black_box(&frame);
    recurse(depth + 1) + core::hint::black_box(frame[3])
}

fn crash_on_purpose(kind: &[u8]) {
    log::info!("x86_64 selftest: unexpected trap on purpose: {}", core::str::from_utf8(kind).unwrap_or("?"));
    if kind.starts_with(b"pf") {
        wild_store(3);
    } else if kind.starts_with(b"df") {
        // SAFETY: not safe: with RSP unmapped the #PF cannot be delivered,
        // which must become a #DF on its IST stack, not a reset.
        unsafe { core::arch::asm!("mov rsp, {}", "push rax", in(reg) UNMAPPED + 0x1000, options(noreturn)) }
    } else if kind.starts_with(b"ud") {
        // SAFETY: not safe: an invalid opcode on purpose.
        unsafe { core::arch::asm!("ud2", options(noreturn)) }
    } else if kind.starts_with(b"stack") {
        // Into the guard page (unmapped once the kernel's tables are in).
        log::info!("never printed: {}", recurse(1));
    } else if kind.starts_with(b"irq") {
        time::set_timer_callback(|| wild_store(4));
        time::arm_timer_oneshot(1_000);
        loop {
            core::hint::spin_loop();
        }
    }
}
