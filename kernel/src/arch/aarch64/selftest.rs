//! Bring-up checks printed at boot while the arch layer is young; the lead
//! removes the call once the ktest suites cover the same ground. Each line
//! says what was checked and what was seen. `arm64.crash=fault`,
//! `arm64.crash=stack` or `arm64.crash=irq` on the command line ends the run
//! with a deliberate unexpected fault (a wild store, a stack overflow into
//! the guard page, a fault inside an interrupt handler) to show the dump and
//! the crash exit status.

use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use boot::BootInfo;
use mm::FaultKind;

use super::percpu::MAX_CPUS;
use super::Caught;

/// In the first 512 GiB of TTBR0 but beyond the boot map's RAM window.
const UNMAPPED_VA: u64 = 0x0000_7f00_0000_1238;
const CPU1_STACK_SIZE: usize = 64 * 1024;
const WAIT_US: u64 = 5_000_000;

#[repr(C, align(16))]
struct Stack([u8; CPU1_STACK_SIZE]);
static mut CPU1_STACK: Stack = Stack([0; CPU1_STACK_SIZE]);

static TIMER_FIRED: AtomicBool = AtomicBool::new(false);
static TIMER_SAW_INTERRUPT: AtomicBool = AtomicBool::new(false);
static IPIS_SEEN: [AtomicUsize; MAX_CPUS] = [const { AtomicUsize::new(0) }; MAX_CPUS];

fn check(what: &str, ok: bool, seen: core::fmt::Arguments) {
    let verdict = if ok { "ok" } else { "FAILED" };
    log::info!("arm64 selftest: {what}: {verdict} ({seen})");
}

pub fn run(info: &BootInfo) {
    print_boot_info(info);
    check_probes();
    if super::mmu::kernel_tables_installed() {
        check_kernel_tables(info);
    }
    check_catch();
    check_timer();
    check_cpu1();
    let cmdline = info.cmdline();
    if cmdline.windows(17).any(|w| w == b"arm64.crash=fault") {
        log::info!("arm64 selftest: wild store to {UNMAPPED_VA:#x} outside catch");
        // SAFETY: not safe at all: the point is the crash dump.
        unsafe { (UNMAPPED_VA as *mut u64).write_volatile(0x5a) };
    }
    if cmdline.windows(17).any(|w| w == b"arm64.crash=stack") {
        log::info!("arm64 selftest: unbounded recursion into the stack guard");
        log::info!("never printed: {}", recurse(1));
    }
    if cmdline.windows(15).any(|w| w == b"arm64.crash=irq") {
        log::info!("arm64 selftest: wild store from a timer callback");
        super::set_timer_callback(wild_store);
        super::arm_timer_oneshot(1_000);
        loop {
            core::hint::spin_loop();
        }
    }
}

fn wild_store() {
    // SAFETY: not safe at all: a fault in interrupt context must end the run.
    unsafe { (UNMAPPED_VA as *mut u64).write_volatile(0x5a) };
}

fn recurse(n: u64) -> u64 {
    if n == 0 {
        return 0;
    }
    let buf = [n; 64];
    core::hint::black_box(&buf);
    recurse(n + 1) + core::hint::black_box(buf[3])
}

fn print_boot_info(info: &BootInfo) {
    for region in info.ram() {
        log::info!("arm64: RAM    {:#x}..{:#x}", region.base, region.end());
    }
    for region in info.usable() {
        log::info!("arm64: usable {:#x}..{:#x}", region.base, region.end());
    }
    log::info!(
        "arm64: kernel {:#x}..{:#x}, dtb {:#x}",
        info.kernel_phys.base,
        info.kernel_phys.end(),
        info.dtb_phys.unwrap_or(0)
    );
    match core::str::from_utf8(info.cmdline()) {
        Ok(cmdline) => log::info!("arm64: cmdline {cmdline:?}"),
        Err(_) => log::info!("arm64: cmdline (not UTF-8) {:x?}", info.cmdline()),
    }
    for region in super::mmio_regions() {
        log::info!("arm64: mmio   {:#x}..{:#x}", region.base, region.end());
    }
}

fn check_probes() {
    let read = super::probe_read(UNMAPPED_VA);
    let ok = matches!(read, Err(f) if f.kind == FaultKind::NotMapped && f.addr.0 == UNMAPPED_VA);
    check("probe_read of an unmapped VA", ok, format_args!("{read:x?}"));

    let write = super::probe_write(UNMAPPED_VA, 1);
    let ok = matches!(write, Err(f) if f.kind == FaultKind::NotMapped && f.access == mm::Access::Write);
    check("probe_write of an unmapped VA", ok, format_args!("{write:x?}"));

    let mut word = 7u64;
    let va = core::ptr::addr_of_mut!(word) as u64;
    let write = super::probe_write(va, 42);
    let read = super::probe_read(va);
    let ok = write.is_ok() && read == Ok(42);
    check("probe_write+probe_read of a stack word", ok, format_args!("{write:?} {read:?}"));

    let exec = super::probe_exec(UNMAPPED_VA);
    let ok = matches!(exec, Err(f) if f.kind == FaultKind::NotMapped && f.access == mm::Access::Exec);
    check("probe_exec of an unmapped VA", ok, format_args!("{exec:x?}"));

    let ret = return_only as *const () as u64;
    let exec = super::probe_exec(ret);
    check("probe_exec of a `ret` in kernel text", exec.is_ok(), format_args!("{exec:x?}"));

    // The boot map's first GiB is Device memory with PXN set.
    let device = super::mmio_regions().first().map_or(0x0900_0000, |r| r.base);
    let exec = super::probe_exec(device);
    let ok = matches!(exec, Err(f) if f.kind == FaultKind::NoExecute);
    check("probe_exec of the UART (PXN)", ok, format_args!("{exec:x?}"));
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

    let write = super::probe_read(text).and_then(|word| super::probe_write(text, word));
    let ok = matches!(write, Err(f) if f.kind == FaultKind::WriteProtected && f.addr.0 == text);
    check("probe_write to kernel text", ok, format_args!("{write:x?}"));

    let exec = super::probe_exec(data);
    let ok = matches!(exec, Err(f) if f.kind == FaultKind::NoExecute);
    check("probe_exec of kernel data", ok, format_args!("{exec:x?}"));

    let read = super::probe_read(guard);
    let ok = matches!(read, Err(f) if f.kind == FaultKind::NotMapped && f.addr.0 == guard);
    check("probe_read of the stack guard page", ok, format_args!("{read:x?}"));

    let pa = info.kernel_phys.base;
    let linear = super::probe_read(super::LINEAR_MAP_BASE + pa);
    let identity = super::probe_read(pa);
    check("linear map shows the image", linear.is_ok() && linear == identity, format_args!("{linear:x?}"));
}

/// The target of the successful `probe_exec`: its body is a single `ret`.
#[unsafe(naked)]
pub extern "C" fn return_only() {
    core::arch::naked_asm!("ret");
}

fn check_catch() {
    let mut after_store = false;
    let caught = super::catch(
        &mut || {
            // SAFETY: deliberately wild: `catch` must turn the fault into
            // an error value.
            unsafe { (UNMAPPED_VA as *mut u64).write_volatile(1) };
            after_store = true;
        },
        None,
    );
    let ok = matches!(caught, Err(Caught::Fault(f)) if f.kind == FaultKind::NotMapped) && !after_store;
    check("catch of a wild store", ok, format_args!("{caught:x?}"));

    let start = super::ticks();
    let caught = super::catch(
        &mut || loop {
            core::hint::spin_loop()
        },
        Some(100_000),
    );
    let elapsed_ms = (super::ticks() - start) * 1000 / super::ticks_per_sec();
    let ok = caught == Err(Caught::Timeout) && (100..1000).contains(&elapsed_ms);
    check("catch of loop {} with 100 ms timeout", ok, format_args!("{caught:?} after {elapsed_ms} ms"));

    let mut inner = None;
    let outer = super::catch(
        &mut || {
            inner = Some(super::catch(
                &mut || {
                    // SAFETY: deliberately wild, as above.
                    unsafe { (UNMAPPED_VA as *const u64).read_volatile() };
                },
                None,
            ));
            loop {
                core::hint::spin_loop()
            }
        },
        Some(20_000),
    );
    let ok = outer == Err(Caught::Timeout) && matches!(inner, Some(Err(Caught::Fault(_))));
    check("nested catch: inner fault, outer timeout", ok, format_args!("{outer:?} / {inner:x?}"));
    let ok = matches!(super::catch(&mut || {}, None), Ok(()));
    check("catch of a closure that returns", ok, format_args!("Ok"));
}

fn on_timer() {
    TIMER_SAW_INTERRUPT.store(super::in_interrupt(), Ordering::Relaxed);
    TIMER_FIRED.store(true, Ordering::Release);
}

fn check_timer() {
    super::set_timer_callback(on_timer);
    let outside = super::in_interrupt();
    super::arm_timer_oneshot(1_000);
    let deadline = super::ticks() + super::ticks_per_sec() * WAIT_US / 1_000_000;
    while !TIMER_FIRED.load(Ordering::Acquire) && super::ticks() < deadline {
        core::hint::spin_loop();
    }
    let fired = TIMER_FIRED.load(Ordering::Acquire);
    let inside = TIMER_SAW_INTERRUPT.load(Ordering::Relaxed);
    check(
        "arm_timer_oneshot(1 ms) callback in interrupt context",
        fired && inside && !outside,
        format_args!("fired {fired}, in_interrupt() inside {inside}, outside {outside}"),
    );
}

fn on_ipi() {
    IPIS_SEEN[super::cpu_id()].fetch_add(1, Ordering::Release);
}

/// CPU 1's life: answer each IPI with one back to CPU 0.
fn cpu1_main() -> ! {
    let mut answered = 0;
    loop {
        aarch64_cpu::asm::wfi();
        let seen = IPIS_SEEN[1].load(Ordering::Acquire);
        while answered < seen {
            super::send_ipi(0);
            answered += 1;
        }
    }
}

fn wait_for(counter: &AtomicUsize, value: usize) -> bool {
    let deadline = super::ticks() + super::ticks_per_sec() * WAIT_US / 1_000_000;
    while counter.load(Ordering::Acquire) < value {
        if super::ticks() > deadline {
            return false;
        }
        core::hint::spin_loop();
    }
    true
}

fn check_cpu1() {
    super::set_ipi_callback(on_ipi);
    let stack_top = core::ptr::addr_of_mut!(CPU1_STACK) as u64 + CPU1_STACK_SIZE as u64;
    let started = super::start_cpu1(stack_top, cpu1_main);
    check("start_cpu1", started.is_ok(), format_args!("{started:?}"));
    if started.is_err() {
        return;
    }
    let start = super::ticks();
    super::send_ipi(1);
    let cpu1_got = wait_for(&IPIS_SEEN[1], 1);
    let cpu0_got = wait_for(&IPIS_SEEN[0], 1);
    let us = (super::ticks() - start) * 1_000_000 / super::ticks_per_sec();
    check(
        "IPI cpu0 -> cpu1 and the answer back",
        cpu1_got && cpu0_got,
        format_args!("cpu1 saw it: {cpu1_got}, cpu0 saw the answer: {cpu0_got}, {us} us"),
    );
}
