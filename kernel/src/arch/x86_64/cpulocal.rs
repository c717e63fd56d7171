//! State that one CPU shares only with its own interrupt handlers.

use core::cell::UnsafeCell;

use super::percpu::{cpu_id, NR_CPUS};

/// One `T` per CPU. Each is reached only from its own CPU, with interrupts
/// disabled, so a handler can never see it half-updated.
pub struct CpuLocal<T>([UnsafeCell<T>; NR_CPUS]);

// SAFETY: every access goes through `with`, which touches only the calling
// CPU's element and keeps interrupts off while it does.
unsafe impl<T: Send> Sync for CpuLocal<T> {}

// `new` spells out one cell per CPU (array repetition needs `Copy` cells).
const _: () = assert!(NR_CPUS == 2);

impl<T: Copy> CpuLocal<T> {
    /// Every CPU starts with a copy of `initial`.
    pub const fn new(initial: T) -> Self {
        CpuLocal([UnsafeCell::new(initial), UnsafeCell::new(initial)])
    }

    /// Runs `f` on this CPU's `T`. `f` must not call `with` on the same
    /// `CpuLocal` (that would alias the `&mut`).
    pub fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        x86_64::instructions::interrupts::without_interrupts(|| {
            // SAFETY: only this CPU reaches its element, and with
            // interrupts off nothing else on this CPU runs until `f`
            // returns; `f` does not re-enter (documented above).
            f(unsafe { &mut *self.0[cpu_id()].get() })
        })
    }
}
