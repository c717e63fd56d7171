//! Probes: one access whose fault comes back as a value. Each probe
//! instruction has a fixup address (a two-entry exception table); the trap
//! handler records the fault for this CPU and resumes at the fixup. The
//! exec probe calls the target: a fault whose RIP is the armed target is
//! the probe's, and the handler completes it as if the target had `ret`.

use core::arch::global_asm;
use core::ptr::addr_of;

use mm::{Access, Fault, FaultAddr, FaultKind};
use x86_64::instructions::interrupts::without_interrupts;

use super::cpulocal::CpuLocal;
use super::idt::TrapFrame;
use super::trap::{self, GENERAL_PROTECTION, PAGE_FAULT};

// Each probe returns 0 in rax/edx when the access completed; a fixup sets
// the flag to 1 instead. `probe_exec` keeps the stack 16-byte aligned for
// the callee.
global_asm!(
    r#"
    .pushsection .text.probes, "ax"
    .global lazymmu_probe_read, lazymmu_probe_read_insn, lazymmu_probe_read_fixup
lazymmu_probe_read:             # rdi = va -> rax = value, rdx = faulted
    xor edx, edx
lazymmu_probe_read_insn:
    mov rax, [rdi]
    ret
lazymmu_probe_read_fixup:
    mov edx, 1
    xor eax, eax
    ret

    .global lazymmu_probe_write, lazymmu_probe_write_insn, lazymmu_probe_write_fixup
lazymmu_probe_write:            # rdi = va, rsi = value -> rax = faulted
    xor eax, eax
lazymmu_probe_write_insn:
    mov [rdi], rsi
    ret
lazymmu_probe_write_fixup:
    mov eax, 1
    ret

    .global lazymmu_probe_exec
lazymmu_probe_exec:             # rdi = va
    sub rsp, 8
    call rdi
    add rsp, 8
    ret
    .popsection
"#
);

#[repr(C)]
struct ReadResult {
    value: u64,
    faulted: u64,
}

extern "C" {
    fn lazymmu_probe_read(va: u64) -> ReadResult;
    fn lazymmu_probe_write(va: u64, value: u64) -> u64;
    fn lazymmu_probe_exec(va: u64);
    static lazymmu_probe_read_insn: u8;
    static lazymmu_probe_read_fixup: u8;
    static lazymmu_probe_write_insn: u8;
    static lazymmu_probe_write_fixup: u8;
}

/// Per CPU: the probe in flight and the fault it took.
#[derive(Clone, Copy)]
struct ProbeState {
    /// (va, access) of the probe in flight; `Access::Exec` arms the exec
    /// fixup for a fault at RIP == va.
    in_flight: Option<(u64, Access)>,
    fault: Option<Fault>,
}

static PROBES: CpuLocal<ProbeState> = CpuLocal::new(ProbeState { in_flight: None, fault: None });

/// Runs one probe with interrupts off (so no handler's own probe can reuse
/// this CPU's slot in between) and returns the fault it recorded.
fn run_probe<R>(va: u64, access: Access, probe: impl FnOnce() -> R) -> (R, Option<Fault>) {
    without_interrupts(|| {
        PROBES.with(|state| *state = ProbeState { in_flight: Some((va, access)), fault: None });
        let result = probe();
        let fault = PROBES.with(|state| {
            state.in_flight = None;
            state.fault.take()
        });
        (result, fault)
    })
}

/// Reads the u64 at `va`; a fault comes back as `Err`.
pub fn probe_read(va: u64) -> Result<u64, Fault> {
    // SAFETY: the probe's one access may fault; the fixup table below
    // turns that into a value, and a successful read has no side effect on
    // memory.
    let (result, fault) = run_probe(va, Access::Read, || unsafe { lazymmu_probe_read(va) });
    match fault {
        Some(fault) if result.faulted != 0 => Err(fault),
        _ => Ok(result.value),
    }
}

/// Writes `value` at `va`; a fault comes back as `Err`.
pub fn probe_write(va: u64, value: u64) -> Result<(), Fault> {
    // SAFETY: the caller chose to store to `va` (that is the test); a
    // fault is turned into a value by the fixup table.
    let (faulted, fault) = run_probe(va, Access::Write, || unsafe { lazymmu_probe_write(va, value) });
    match fault {
        Some(fault) if faulted != 0 => Err(fault),
        _ => Ok(()),
    }
}

/// Calls `va`; put a `ret` there for success. An instruction-fetch fault
/// at `va` comes back as `Err`.
pub fn probe_exec(va: u64) -> Result<(), Fault> {
    // SAFETY: the caller chose to execute `va` (that is the test) and put
    // a `ret` there; a fetch fault at `va` is completed by `fixup`.
    let ((), fault) = run_probe(va, Access::Exec, || unsafe { lazymmu_probe_exec(va) });
    fault.map_or(Ok(()), Err)
}

/// Trap path for #PF and #GP: claims the fault if a probe took it.
pub fn fixup(frame: &mut TrapFrame) -> bool {
    let Some((va, access)) = PROBES.with(|state| state.in_flight) else {
        return false;
    };
    let resume_at = if access == Access::Exec {
        (frame.rip == va).then_some(None)
    } else {
        let table = [
            (addr_of!(lazymmu_probe_read_insn), addr_of!(lazymmu_probe_read_fixup)),
            (addr_of!(lazymmu_probe_write_insn), addr_of!(lazymmu_probe_write_fixup)),
        ];
        table.iter().find(|(insn, _)| *insn as u64 == frame.rip).map(|(_, fixup)| Some(*fixup as u64))
    };
    let Some(resume_at) = resume_at else {
        return false;
    };
    let fault = match frame.vector {
        PAGE_FAULT => trap::page_fault(frame.error_code),
        // #GP (a non-canonical address) has no CR2: the probe knows the
        // address. Raw cause: vector in bits 32.., error code below.
        GENERAL_PROTECTION => {
            Fault { kind: FaultKind::Other((GENERAL_PROTECTION << 32) | frame.error_code), access, addr: FaultAddr(va) }
        }
        _ => return false,
    };
    PROBES.with(|state| state.fault = Some(fault));
    match resume_at {
        Some(fixup) => frame.rip = fixup,
        None => {
            // The target was entered by `call`: pop its return address.
            // SAFETY: RSP points at the return address `lazymmu_probe_exec`
            // pushed an instruction ago, on this CPU's live stack.
            frame.rip = unsafe { *(frame.rsp as *const u64) };
            frame.rsp += 8;
        }
    }
    true
}
