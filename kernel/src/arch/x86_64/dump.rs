//! The end of an unexpected trap: a register dump with the decoded cause
//! and a frame-pointer backtrace (`#   bt #N 0x<addr>` lines, which the
//! host runner symbolises), then the crash exit. A trap taken while dumping
//! exits at once instead of looping.

use core::sync::atomic::{AtomicBool, Ordering};

use x86_64::registers::control::{Cr0, Cr2, Cr3, Cr4};

use super::idt::{exception_name, TrapFrame};
use super::percpu::{cpu_id, NR_CPUS};
use super::trap::{pf_error, PAGE_FAULT};
use super::{probe, serial};
use crate::arch::QemuExitCode;
use crate::console::print_unlocked;

const MAX_BACKTRACE_FRAMES: usize = 32;

static DUMPING: [AtomicBool; NR_CPUS] = [const { AtomicBool::new(false) }; NR_CPUS];

/// Exceptions that push a segment-selector error code.
const SELECTOR_ERROR_VECTORS: [u64; 4] = [10, 11, 12, 13];

pub fn unexpected(frame: &TrapFrame) -> ! {
    let cpu = cpu_id();
    if DUMPING[cpu].swap(true, Ordering::SeqCst) {
        print_unlocked(format_args!(
            "\n# CRASH: vector {} ({}) at rip {:#x} while dumping an earlier trap\n",
            frame.vector,
            exception_name(frame.vector),
            frame.rip
        ));
        serial::exit_qemu(QemuExitCode::Crash);
    }
    let name = exception_name(frame.vector);
    print_unlocked(format_args!(
        "\n# x86_64 trap: vector {} ({name}) on CPU {cpu}, error code {:#x}, {} traps deep\n",
        frame.vector,
        frame.error_code,
        super::trap::depth()
    ));
    let cr2 = Cr2::read_raw();
    if frame.vector == PAGE_FAULT {
        print_page_fault_cause(frame.error_code, cr2);
    } else if SELECTOR_ERROR_VECTORS.contains(&frame.vector) && frame.error_code != 0 {
        print_selector_cause(frame.error_code);
    }
    print_registers(frame, cr2);
    backtrace(frame.rip, frame.rbp);
    if frame.vector == PAGE_FAULT {
        crate::crash::crash_exit(format_args!(
            "unexpected page fault at {cr2:#x} (error code {:#x}) at rip {:#x}",
            frame.error_code, frame.rip
        ))
    }
    crate::crash::crash_exit(format_args!("unexpected {name} at rip {:#x}", frame.rip))
}

/// Linux's `dump_stack()` with `show_regs()`, for a panic: the registers
/// at this call and a backtrace from it, in the trap dump's format.
#[inline(never)]
pub fn dump_stack() {
    let mut gprs = [0u64; 15];
    let (rip, rsp, rflags, cs, ss): (u64, u64, u64, u64, u64);
    // SAFETY: stores only into the 15 slots of `gprs` (`base` points at
    // it) and reads registers; pushfq/pop leave the stack as it was.
    unsafe {
        core::arch::asm!(
            "mov [{base}], rax", "mov [{base} + 8], rbx", "mov [{base} + 16], rcx", "mov [{base} + 24], rdx",
            "mov [{base} + 32], rsi", "mov [{base} + 40], rdi", "mov [{base} + 48], rbp", "mov [{base} + 56], r8",
            "mov [{base} + 64], r9", "mov [{base} + 72], r10", "mov [{base} + 80], r11", "mov [{base} + 88], r12",
            "mov [{base} + 96], r13", "mov [{base} + 104], r14", "mov [{base} + 112], r15",
            "lea {rip}, [rip]", "mov {rsp}, rsp", "pushfq", "pop {rflags}", "mov {cs}, cs", "mov {ss}, ss",
            base = in(reg) gprs.as_mut_ptr(),
            rip = out(reg) rip, rsp = out(reg) rsp, rflags = out(reg) rflags, cs = out(reg) cs, ss = out(reg) ss,
        );
    }
    let [rax, rbx, rcx, rdx, rsi, rdi, rbp, r8, r9, r10, r11, r12, r13, r14, r15] = gprs;
    let frame = TrapFrame {
        rax,
        rbx,
        rcx,
        rdx,
        rsi,
        rdi,
        rbp,
        r8,
        r9,
        r10,
        r11,
        r12,
        r13,
        r14,
        r15,
        vector: 0,
        error_code: 0,
        rip,
        cs,
        rflags,
        rsp,
        ss,
    };
    print_unlocked(format_args!("\n# x86_64 dump_stack on CPU {} (registers at the call, not a trap)\n", cpu_id()));
    print_registers(&frame, Cr2::read_raw());
    backtrace(frame.rip, frame.rbp);
}

/// Traps nested deeper than any legitimate path: a handler faulting on
/// itself. No dump (it could fault again): one line and out.
pub fn recursion(frame: &TrapFrame, depth: usize) -> ! {
    print_unlocked(format_args!(
        "\n# CRASH: trap recursion: vector {} ({}) at rip {:#x}, {depth} traps deep\n",
        frame.vector,
        exception_name(frame.vector),
        frame.rip
    ));
    serial::exit_qemu(QemuExitCode::Crash)
}

fn print_page_fault_cause(error_code: u64, cr2: u64) {
    let presence = if error_code & pf_error::PRESENT != 0 { "protection violation" } else { "not-present page" };
    let access = if error_code & pf_error::INSTRUCTION_FETCH != 0 {
        "instruction fetch"
    } else if error_code & pf_error::WRITE != 0 {
        "write"
    } else {
        "read"
    };
    let mode = if error_code & pf_error::USER != 0 { "user" } else { "kernel" };
    let reserved = if error_code & pf_error::RESERVED_BIT != 0 { ", reserved bit set in a PTE" } else { "" };
    print_unlocked(format_args!("# cause: {presence}, {access}, {mode} mode{reserved}; address (cr2) {cr2:#x}\n"));
}

fn print_selector_cause(error_code: u64) {
    let table = match (error_code >> 1) & 0b11 {
        0b00 => "GDT",
        0b10 => "LDT",
        _ => "IDT",
    };
    let external = if error_code & 1 != 0 { ", external event" } else { "" };
    print_unlocked(format_args!("# cause: {table} entry {}{external}\n", (error_code >> 3) & 0x1fff));
}

fn print_registers(frame: &TrapFrame, cr2: u64) {
    let rows: [[(&str, u64); 4]; 6] = [
        [("rax", frame.rax), ("rbx", frame.rbx), ("rcx", frame.rcx), ("rdx", frame.rdx)],
        [("rsi", frame.rsi), ("rdi", frame.rdi), ("rbp", frame.rbp), ("rsp", frame.rsp)],
        [("r8 ", frame.r8), ("r9 ", frame.r9), ("r10", frame.r10), ("r11", frame.r11)],
        [("r12", frame.r12), ("r13", frame.r13), ("r14", frame.r14), ("r15", frame.r15)],
        [("rip", frame.rip), ("rfl", frame.rflags), ("cs ", frame.cs), ("ss ", frame.ss)],
        [
            ("cr0", Cr0::read_raw()),
            ("cr2", cr2),
            ("cr3", Cr3::read_raw().0.start_address().as_u64()),
            ("cr4", Cr4::read_raw()),
        ],
    ];
    for row in rows {
        print_unlocked(format_args!(
            "# {} {:#018x}  {} {:#018x}  {} {:#018x}  {} {:#018x}\n",
            row[0].0, row[0].1, row[1].0, row[1].1, row[2].0, row[2].1, row[3].0, row[3].1
        ));
    }
}

/// Walks the frame-pointer chain (every crate is built with frame
/// pointers). Reads go through `probe_read`, so a corrupt chain ends the
/// walk instead of faulting.
fn backtrace(rip: u64, rbp: u64) {
    print_unlocked(format_args!("#   bt #0 {rip:#x}\n"));
    let mut frame_pointer = rbp;
    for depth in 1..MAX_BACKTRACE_FRAMES {
        if frame_pointer == 0 || !frame_pointer.is_multiple_of(8) {
            break;
        }
        let (Ok(caller_frame), Ok(return_address)) =
            (probe::probe_read(frame_pointer), probe::probe_read(frame_pointer + 8))
        else {
            break;
        };
        if return_address == 0 {
            break;
        }
        print_unlocked(format_args!("#   bt #{depth} {return_address:#x}\n"));
        // Stacks grow down, so callers' frames are at higher addresses.
        if caller_frame <= frame_pointer {
            break;
        }
        frame_pointer = caller_frame;
    }
}
