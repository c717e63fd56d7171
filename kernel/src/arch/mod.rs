//! The one place for `asm!`, system registers, port I/O and MMIO addresses.
//! Both arch modules export the same names, so nothing outside `arch/` needs
//! a `cfg(target_arch)`:
//!
//! - `init_cpu0(&BootInfo)`: exception vectors, serial console, interrupt
//!   controller and timer base state of the boot CPU.
//! - `console_write(&[u8])`: raw bytes to the first serial port.
//! - `exit_qemu(QemuExitCode) -> !`: ends QEMU with a status the runner reads.
//! - `HwMmu`: the real implementation of `mm::Mmu` (PTE stores, barriers,
//!   TLB invalidation, table roots).
//! - `probe_read(va)`, `probe_write(va, val)`, `probe_exec(va)`: one access
//!   whose fault comes back as a value (`Err(Fault)`) instead of a crash.
//! - `ticks()`, `ticks_per_sec()`: a free-running counter (TSC / CNTVCT_EL0).
//! - timer and IPI/SGI hooks for the watchdog, `irq_is_never_lazy` and the
//!   cross-CPU scenarios; `start_cpu1(entry)`.
//! - `without_interrupts(f)`: runs `f` with this CPU's interrupts masked.
//! - `translation_registers()` (a `TranslationRegisters` of this CPU) and
//!   `translation_fields(&regs)`: each translation-control field the
//!   kernel depends on, with the value it must have ([`TranslationField`]).
//! - `preempt`: task switches by interrupt (a second task per CPU, the
//!   periodic tick, migration), the same code on both arches over each
//!   arch's `switch` module.

#[cfg(target_arch = "aarch64")]
mod aarch64;
#[cfg(target_arch = "aarch64")]
pub use aarch64::*;

#[cfg(target_arch = "x86_64")]
mod x86_64;
#[cfg(target_arch = "x86_64")]
pub use self::x86_64::*;

/// One field of a translation-control register: what it must be, and what
/// a CPU held.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TranslationField {
    pub register: &'static str,
    pub field: &'static str,
    /// Why it must have that value, in a few words.
    pub meaning: &'static str,
    pub expected: u64,
    pub seen: u64,
}

#[cfg(target_arch = "x86_64")]
use self::x86_64::switch;
#[cfg(target_arch = "aarch64")]
use aarch64::switch;

pub mod preempt;

/// A function whose body is a single `ret` (the mnemonic of both arches):
/// what the exec probes call.
#[unsafe(naked)]
pub extern "C" fn return_only() {
    core::arch::naked_asm!("ret");
}

/// The C-ABI function the arch assembly calls to run a Rust closure (the
/// recovery point of `catch`): `data`
/// points to a `&mut dyn FnMut()` that outlives the call.
extern "C" fn call_closure(data: *mut u8) {
    // SAFETY: every caller passes a pointer to its own live
    // `&mut dyn FnMut()`, which it keeps alive until the call returns.
    let f = unsafe { &mut *data.cast::<&mut dyn FnMut()>() };
    f();
}

/// How the run ended, as the runner reads it from QEMU's exit status: one
/// definition shared with the runner.
pub use exit_status::QemuExitCode;
