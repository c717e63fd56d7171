//! The strict host model of the hardware `mm` runs on (docs/design.md, "The
//! host model"): physical memory, one TLB per CPU that keeps
//! what it loaded until invalidated, and arm64 store visibility (a PTE store
//! reaches the table walker only after a store barrier). It implements
//! [`Mmu`], so the very code the kernel runs is judged here, and it has its
//! own walker so a bug in `mm`'s walk cannot hide a bug in `mm`'s updates.

mod memory;
#[cfg(test)]
mod tests;
mod tlb;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::addr::{PhysAddr, VirtAddr, PAGE_SIZE};
use crate::fault::{Access, Fault, FaultKind};
use crate::mmu::{Mmu, PteFormat, PteWrite, RootHalf, TlbScope, MAX_CPUS};
use memory::Memory;
use tlb::{Tlb, TlbEntry};

/// What the model has seen, for tests that check the judges themselves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ModelStats {
    pub walks: u64,
    pub tlb_hits: u64,
    pub store_barriers: u64,
    pub invalidations: u64,
}

struct State {
    memory: Memory,
    tlbs: [Tlb; MAX_CPUS],
    roots: [PhysAddr; 2],
    stats: ModelStats,
}

/// A software MMU for host tests. The "current CPU" and its interrupt depth
/// are set by the test, which plays every CPU in turn.
pub struct ModelMmu {
    format: PteFormat,
    state: Mutex<State>,
    current_cpu: AtomicUsize,
    irq_depth: [AtomicUsize; MAX_CPUS],
}

impl ModelMmu {
    pub fn new(format: PteFormat) -> Self {
        ModelMmu {
            format,
            state: Mutex::new(State {
                memory: Memory::default(),
                tlbs: Default::default(),
                roots: [PhysAddr::new(0); 2],
                stats: ModelStats::default(),
            }),
            current_cpu: AtomicUsize::new(0),
            irq_depth: Default::default(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A test that panicked while holding the lock has already failed.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Loads the table roots, as a CR3 / TTBR write would: every TLB entry
    /// of every CPU goes (the model has no ASIDs, like QEMU TCG).
    pub fn set_roots(&self, low: PhysAddr, high: PhysAddr) {
        let mut state = self.state();
        state.roots = [low, high];
        state.tlbs.iter_mut().for_each(Tlb::clear);
    }

    /// Makes `cpu` the CPU that later calls run on.
    pub fn set_cpu(&self, cpu: usize) {
        assert!(cpu < MAX_CPUS, "model: cpu {cpu} out of range");
        self.current_cpu.store(cpu, Ordering::SeqCst);
    }

    pub fn enter_interrupt(&self) {
        self.irq_depth[self.cpu_id()].fetch_add(1, Ordering::SeqCst);
    }

    pub fn exit_interrupt(&self) {
        self.irq_depth[self.cpu_id()].fetch_sub(1, Ordering::SeqCst);
    }

    pub fn stats(&self) -> ModelStats {
        self.state().stats
    }

    /// A load of 8 bytes through `va` on the current CPU.
    pub fn read(&self, va: VirtAddr) -> Result<u64, Fault> {
        let pa = self.access(va, Access::Read)?;
        Ok(self.state().memory.read(pa))
    }

    /// A store of 8 bytes through `va` on the current CPU.
    pub fn write(&self, va: VirtAddr, value: u64) -> Result<(), Fault> {
        let pa = self.access(va, Access::Write)?;
        self.state().memory.write(pa, value);
        Ok(())
    }

    /// An instruction fetch from `va` on the current CPU.
    pub fn fetch(&self, va: VirtAddr) -> Result<(), Fault> {
        self.access(va, Access::Exec).map(|_| ())
    }

    /// A walk the CPU may do at any time (speculation, a prefetch, another
    /// agent's access): it fills the TLB from the tables as the walker sees
    /// them, without an architectural access.
    pub fn speculate(&self, va: VirtAddr) {
        let cpu = self.cpu_id();
        let mut state = self.state();
        if let Some(entry) = self.walk(&mut state, va) {
            state.tlbs[cpu].insert(va, entry);
        }
    }

    /// The frame the current CPU's TLB holds for `va`, if any.
    pub fn tlb_lookup(&self, va: VirtAddr) -> Option<PhysAddr> {
        let cpu = self.cpu_id();
        self.state().tlbs[cpu].get(va).map(|entry| entry.frame)
    }

    /// Physical memory as the walker sees it (committed stores only).
    pub fn phys_read(&self, pa: PhysAddr) -> u64 {
        self.state().memory.read(pa)
    }

    pub fn phys_write(&self, pa: PhysAddr, value: u64) {
        self.state().memory.write(pa, value);
    }

    fn access(&self, va: VirtAddr, access: Access) -> Result<PhysAddr, Fault> {
        let cpu = self.cpu_id();
        let mut state = self.state();
        let entry = match state.tlbs[cpu].get(va) {
            Some(entry) => {
                state.stats.tlb_hits += 1;
                entry
            }
            None => {
                let entry =
                    self.walk(&mut state, va).ok_or(Fault { kind: FaultKind::NotMapped, access, addr: va.into() })?;
                state.tlbs[cpu].insert(va, entry);
                entry
            }
        };
        let denied = match access {
            Access::Read => None,
            Access::Write => (!entry.prot.writable).then_some(FaultKind::WriteProtected),
            Access::Exec => (!entry.prot.executable).then_some(FaultKind::NoExecute),
        };
        if let Some(kind) = denied {
            // Both architectures drop the entry that faulted.
            state.tlbs[cpu].remove(va);
            return Err(Fault { kind, access, addr: va.into() });
        }
        Ok(PhysAddr::new(entry.frame.as_u64() + (va.as_u64() & (PAGE_SIZE - 1))))
    }

    /// The hardware walk over committed memory, independent of `mm`'s walk.
    fn walk(&self, state: &mut State, va: VirtAddr) -> Option<TlbEntry> {
        state.stats.walks += 1;
        let half = self.half_of(va)?;
        let root = state.roots[half as usize];
        tlb::walk(self.format, &state.memory, root, va)
    }

    fn half_of(&self, va: VirtAddr) -> Option<RootHalf> {
        crate::pgtable::Roots::half_of(self.format, va)
    }

    fn drain_store_buffer(&self, state: &mut State) {
        let cpu = self.cpu_id();
        state.memory.commit(cpu);
    }
}

impl Mmu for ModelMmu {
    fn format(&self) -> PteFormat {
        self.format
    }

    fn read_pte(&self, ptep: PhysAddr) -> u64 {
        // A CPU sees its own stores at once (store forwarding); only the
        // walker waits for the barrier.
        let cpu = self.cpu_id();
        self.state().memory.read_forwarded(cpu, ptep)
    }

    fn write_pte(&self, _: PteWrite, ptep: PhysAddr, value: u64) {
        let cpu = self.cpu_id();
        let mut state = self.state();
        match self.format {
            PteFormat::Arm64 => state.memory.buffer_store(cpu, ptep, value),
            PteFormat::X86_64 => state.memory.write(ptep, value),
        }
    }

    fn zero_page(&self, _: PteWrite, page: PhysAddr) {
        let mut state = self.state();
        state.memory.zero_page(page);
    }

    fn store_barrier(&self) {
        let mut state = self.state();
        state.stats.store_barriers += 1;
        self.drain_store_buffer(&mut state);
    }

    fn full_barrier(&self) {
        self.store_barrier();
    }

    fn flush_tlb_page(&self, va: VirtAddr, scope: TlbScope) {
        let cpu = self.cpu_id();
        let mut state = self.state();
        // The invalidation sequence starts with `dsb ishst` on arm64.
        self.drain_store_buffer(&mut state);
        state.stats.invalidations += 1;
        match scope {
            TlbScope::Local => state.tlbs[cpu].remove(va),
            TlbScope::Broadcast => state.tlbs.iter_mut().for_each(|tlb| tlb.remove(va)),
        }
    }

    fn flush_tlb_all(&self, scope: TlbScope) {
        let cpu = self.cpu_id();
        let mut state = self.state();
        self.drain_store_buffer(&mut state);
        state.stats.invalidations += 1;
        match scope {
            TlbScope::Local => state.tlbs[cpu].clear(),
            TlbScope::Broadcast => state.tlbs.iter_mut().for_each(Tlb::clear),
        }
    }

    fn root(&self, half: RootHalf) -> PhysAddr {
        let state = self.state();
        match self.format {
            PteFormat::X86_64 => state.roots[RootHalf::Low as usize],
            PteFormat::Arm64 => state.roots[half as usize],
        }
    }

    fn cpu_id(&self) -> usize {
        self.current_cpu.load(Ordering::SeqCst)
    }

    fn in_interrupt(&self) -> bool {
        self.irq_depth[self.cpu_id()].load(Ordering::SeqCst) > 0
    }
}
