//! Trap dispatch: every vector lands in [`dispatch`], which routes it to
//! its handler and keeps the per-CPU nesting depth behind `in_interrupt()`.
//! Exceptions are tried, in order, as a probe's fault, as a fault inside
//! `catch`, and otherwise end the run with a register dump.

use core::sync::atomic::{AtomicUsize, Ordering};

use mm::{Access, Fault, FaultAddr, FaultKind};
use x86_64::registers::control::Cr2;

use super::idt::{self, TrapFrame};
use super::percpu::{cpu_id, NR_CPUS};
use super::{apic, catch, dump, mmu, probe, smp, time};

pub const PAGE_FAULT: u64 = 14;
pub const GENERAL_PROTECTION: u64 = 13;

/// Deep enough for an interrupt whose callback probes, or a crash dump
/// whose backtrace probes from inside an interrupt; more is a handler
/// faulting on itself.
const MAX_TRAP_DEPTH: usize = 4;

static TRAP_DEPTH: [AtomicUsize; NR_CPUS] = [const { AtomicUsize::new(0) }; NR_CPUS];

/// Traps (interrupts and exceptions) this CPU is inside of.
pub fn depth() -> usize {
    TRAP_DEPTH[cpu_id()].load(Ordering::Relaxed)
}

/// Called by `trap_common` (idt.rs) with the saved context.
pub extern "C" fn dispatch(frame: &mut TrapFrame) {
    let cpu = cpu_id();
    let depth = TRAP_DEPTH[cpu].fetch_add(1, Ordering::Relaxed) + 1;
    if depth > MAX_TRAP_DEPTH {
        dump::recursion(frame, depth);
    }
    match frame.vector {
        0..=31 => exception(frame),
        // Only spurious ones can come from the masked 8259s: no EOI.
        vector if idt::PIC_VECTORS.contains(&vector) => {}
        // The LAPIC's spurious vector takes no EOI either.
        vector if vector == u64::from(idt::SPURIOUS_VECTOR) => {}
        vector if vector == u64::from(idt::TIMER_VECTOR) => {
            apic::eoi();
            time::timer_interrupt(frame);
        }
        vector if vector == u64::from(idt::IPI_VECTOR) => {
            apic::eoi();
            smp::ipi_interrupt();
        }
        vector if vector == u64::from(idt::TLB_SHOOTDOWN_VECTOR) => {
            apic::eoi();
            mmu::shootdown_interrupt();
        }
        // Both only ask for the exit path below.
        vector if vector == u64::from(idt::RESCHED_VECTOR) => apic::eoi(),
        vector if vector == u64::from(idt::YIELD_VECTOR) => {}
        _ => dump::unexpected(frame),
    }
    TRAP_DEPTH[cpu].fetch_sub(1, Ordering::Relaxed);
    // An interrupt (not an exception) leaving task context: the scheduling
    // point, with `in_interrupt()` false again.
    if depth == 1 && frame.vector >= 32 {
        crate::arch::preempt::on_interrupt_exit(frame);
    }
}

fn exception(frame: &mut TrapFrame) {
    if (frame.vector == PAGE_FAULT || frame.vector == GENERAL_PROTECTION) && probe::fixup(frame) {
        return;
    }
    if frame.vector == PAGE_FAULT && catch::catch_fault(frame, page_fault(frame.error_code)) {
        return;
    }
    dump::unexpected(frame);
}

/// #PF error code bits (SDM vol. 3, 4.7).
pub mod pf_error {
    pub const PRESENT: u64 = 1 << 0;
    pub const WRITE: u64 = 1 << 1;
    pub const USER: u64 = 1 << 2;
    pub const RESERVED_BIT: u64 = 1 << 3;
    pub const INSTRUCTION_FETCH: u64 = 1 << 4;
}

/// Decodes the page fault being handled (error code + CR2).
pub fn page_fault(error_code: u64) -> Fault {
    let access = if error_code & pf_error::INSTRUCTION_FETCH != 0 {
        Access::Exec
    } else if error_code & pf_error::WRITE != 0 {
        Access::Write
    } else {
        Access::Read
    };
    let kind = if error_code & pf_error::RESERVED_BIT != 0 {
        FaultKind::Other(error_code)
    } else if error_code & pf_error::PRESENT == 0 {
        FaultKind::NotMapped
    } else {
        match access {
            Access::Exec => FaultKind::NoExecute,
            Access::Write => FaultKind::WriteProtected,
            Access::Read => FaultKind::Other(error_code),
        }
    };
    Fault { kind, access, addr: FaultAddr(Cr2::read_raw()) }
}
