//! The Rust side of every exception: probe fixups, `catch`, interrupts, and
//! for anything else a full register dump, a backtrace and a crash exit.

use core::arch::asm;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};

use aarch64_cpu::registers::{Readable, ESR_EL1, FAR_EL1, TTBR0_EL1, TTBR1_EL1};

use super::fault::{
    decode_abort, exception_class, exception_class_name, fault_status, fault_status_name, is_abort, is_write,
};
use super::vectors::{decode_vector, TrapFrame, VectorGroup, VectorKind};
use super::{catch, exit_qemu, gic, percpu, probe, timer};
use crate::arch::QemuExitCode;
use crate::console::print_unlocked;

/// Handlers already active on this CPU beyond which nothing is printed any
/// more: the dump itself keeps faulting.
const RUNAWAY_DEPTH: usize = 3;
/// Frames the backtrace follows at most.
const BACKTRACE_MAX: usize = 32;

static VTIMER_INTID: AtomicU32 = AtomicU32::new(u32::MAX);
static IPI_CALLBACK: AtomicUsize = AtomicUsize::new(0);
/// Set by the first unexpected exception: a second one is recursion.
static DUMPING: AtomicBool = AtomicBool::new(false);

pub fn set_vtimer_intid(intid: u32) {
    VTIMER_INTID.store(intid, Ordering::Relaxed);
}

pub fn set_ipi_callback(f: fn()) {
    IPI_CALLBACK.store(f as usize, Ordering::Release);
}

#[no_mangle]
extern "C" fn handle_exception(index: u64, frame: &mut TrapFrame) {
    let (group, kind) = decode_vector(index);
    if percpu::enter_handler() >= RUNAWAY_DEPTH {
        exit_qemu(QemuExitCode::Crash);
    }
    let schedule = match (group, kind) {
        (VectorGroup::Thread | VectorGroup::Handler, VectorKind::Sync) => handle_sync(group, frame),
        (VectorGroup::Thread, VectorKind::Irq) => {
            handle_irq(frame);
            true
        }
        _ => unexpected(group, kind, frame),
    };
    percpu::leave_handler();
    // An interrupt or the yield leaving task context: the scheduling
    // point, with `in_interrupt()` false again.
    if schedule && !percpu::in_interrupt() {
        crate::arch::preempt::on_interrupt_exit(frame);
    }
}

/// Returns whether the exception was the yield (`svc` from task context).
fn handle_sync(group: VectorGroup, frame: &mut TrapFrame) -> bool {
    let esr = ESR_EL1.get();
    let far = FAR_EL1.get();
    if group == VectorGroup::Thread && exception_class(esr) == super::fault::EC_SVC64 {
        return true;
    }
    if is_abort(esr) {
        if probe::fixup(frame, esr, far) {
            return false;
        }
        if group == VectorGroup::Thread && catch::on_fault(frame, decode_abort(esr, far)) {
            return false;
        }
    }
    unexpected(group, VectorKind::Sync, frame);
}

fn handle_irq(frame: &mut TrapFrame) {
    let intid = gic::acknowledge();
    if intid >= gic::SPURIOUS_INTID_MIN {
        return;
    }
    if intid == VTIMER_INTID.load(Ordering::Relaxed) {
        let event = timer::handle_irq();
        gic::end_of_interrupt(intid);
        if event == timer::TimerEvent::CatchExpired {
            catch::on_timeout(frame);
        }
        return;
    }
    if intid == gic::RESCHED_SGI {
        // Only asks for the exit path's switch.
    } else if intid == gic::IPI_SGI {
        let callback = IPI_CALLBACK.load(Ordering::Acquire);
        if callback != 0 {
            // SAFETY: IPI_CALLBACK only ever holds a `fn()` from `set_ipi_callback`.
            let callback: fn() = unsafe { core::mem::transmute::<usize, fn()>(callback) };
            callback();
        }
    } else {
        print_unlocked(format_args!("# arm64: unexpected interrupt {intid} ignored\n"));
    }
    gic::end_of_interrupt(intid);
}

fn unexpected(group: VectorGroup, kind: VectorKind, frame: &TrapFrame) -> ! {
    let esr = ESR_EL1.get();
    let far = FAR_EL1.get();
    let cpu = percpu::cpu_id();
    if DUMPING.swap(true, Ordering::SeqCst) {
        // The dump itself (or another CPU's) faulted: say the least and stop.
        print_unlocked(format_args!(
            "\n# EXCEPTION while dumping an exception, cpu {cpu}: {kind:?} ESR {esr:#x} FAR {far:#x} PC {:#x}\n",
            frame.elr
        ));
        crate::crash::crash_exit(format_args!("exception inside the exception handler"));
    }
    let ec = exception_class(esr);
    print_unlocked(format_args!(
        "\n# EXCEPTION: {kind:?} from {group:?} on cpu {cpu}\n#   ESR {esr:#018x} EC {ec:#04x} ({})\n",
        exception_class_name(ec)
    ));
    if kind == VectorKind::Sync && is_abort(esr) {
        let status = fault_status(esr);
        print_unlocked(format_args!(
            "#   {} {status:#04x} ({}, level {}) WnR {}\n#   {}\n",
            if ec == super::fault::EC_INSTR_ABORT_SAME_EL { "IFSC" } else { "DFSC" },
            fault_status_name(status),
            status & 3,
            u8::from(is_write(esr)),
            decode_abort(esr, far),
        ));
    }
    print_unlocked(format_args!("#   FAR {far:#018x}\n"));
    print_registers(frame);
    print_backtrace(frame.elr, frame.x[29]);
    let reason = match kind {
        VectorKind::Sync => exception_class_name(ec),
        VectorKind::Irq => "IRQ taken in an unexpected state",
        VectorKind::Fiq => "FIQ",
        VectorKind::SError => "SError",
    };
    crate::crash::crash_exit(format_args!("unexpected exception: {reason} at PC {:#x}", frame.elr))
}

fn print_registers(frame: &TrapFrame) {
    print_unlocked(format_args!("#   PC  {:#018x} SP {:#018x} SPSR {:#010x}\n", frame.elr, frame.sp, frame.spsr));
    for (row, regs) in frame.x.chunks(4).enumerate() {
        print_unlocked(format_args!("#  "));
        for (col, value) in regs.iter().enumerate() {
            print_unlocked(format_args!(" x{:<2} {value:#018x}", row * 4 + col));
        }
        print_unlocked(format_args!("\n"));
    }
    print_unlocked(format_args!("#   TTBR0 {:#018x} TTBR1 {:#018x}\n", TTBR0_EL1.get(), TTBR1_EL1.get()));
}

/// Linux's `dump_stack()` with `show_regs()`, for a panic: the registers
/// at this call and a backtrace from it, in the exception dump's format.
/// SPSR shows the current PSTATE (NZCV, DAIF, EL, SPSel) as an exception
/// would have saved it.
#[inline(never)]
pub fn dump_stack() {
    let mut x = [0u64; 31];
    let (pc, sp, nzcv, daif, current_el, spsel): (u64, u64, u64, u64, u64, u64);
    // SAFETY: stores only into the 31 slots of `x` (`base` points at it)
    // and reads registers.
    unsafe {
        asm!(
            "stp x0, x1, [{base}]", "stp x2, x3, [{base}, #16]", "stp x4, x5, [{base}, #32]",
            "stp x6, x7, [{base}, #48]", "stp x8, x9, [{base}, #64]", "stp x10, x11, [{base}, #80]",
            "stp x12, x13, [{base}, #96]", "stp x14, x15, [{base}, #112]", "stp x16, x17, [{base}, #128]",
            "stp x18, x19, [{base}, #144]", "stp x20, x21, [{base}, #160]", "stp x22, x23, [{base}, #176]",
            "stp x24, x25, [{base}, #192]", "stp x26, x27, [{base}, #208]", "stp x28, x29, [{base}, #224]",
            "str x30, [{base}, #240]",
            "adr {pc}, .", "mov {sp}, sp", "mrs {nzcv}, nzcv", "mrs {daif}, daif",
            "mrs {el}, CurrentEL", "mrs {spsel}, SPSel",
            base = in(reg) x.as_mut_ptr(),
            pc = out(reg) pc, sp = out(reg) sp, nzcv = out(reg) nzcv, daif = out(reg) daif,
            el = out(reg) current_el, spsel = out(reg) spsel,
            options(nostack),
        );
    }
    let spsr = nzcv | daif | current_el | spsel;
    let frame = TrapFrame { x, sp, elr: pc, spsr, q: [0; 32], fpsr: 0, fpcr: 0 };
    print_unlocked(format_args!(
        "\n# dump_stack on cpu {} (registers at the call, not an exception)\n",
        percpu::cpu_id()
    ));
    print_registers(&frame);
    print_backtrace(frame.elr, frame.x[29]);
}

/// Follows the AAPCS64 frame records ({previous x29, return address}) from
/// `fp`; each load is a probe, so a corrupt chain ends the walk instead of
/// faulting again.
fn print_backtrace(pc: u64, mut fp: u64) {
    print_unlocked(format_args!("#   bt #0 {pc:#x}\n"));
    for n in 1..BACKTRACE_MAX {
        if fp == 0 || !fp.is_multiple_of(16) {
            break;
        }
        let (Ok(next), Ok(ret)) = (probe::probe_read(fp), probe::probe_read(fp + 8)) else {
            break;
        };
        if ret == 0 {
            break;
        }
        print_unlocked(format_args!("#   bt #{n} {ret:#x}\n"));
        // Callers' frames are higher on the stack: anything else is a loop.
        if next <= fp {
            break;
        }
        fp = next;
    }
}
