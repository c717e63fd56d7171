//! The strict host model of the hardware `mm` runs on (docs/design.md, "The
//! host model"): physical memory, one TLB per CPU that keeps what it loaded
//! until invalidated, and the arm64 rules of docs/litmus.md for the
//! instructions `mm` uses: a PTE store reaches the walkers at a DSB (`ishst`
//! or `ish`); a TLBI takes effect only at a `dsb ish` of the CPU that
//! issued it, and one issued before earlier stores reached the walker may
//! leave the old translation behind; a newly valid entry is seen by its own
//! CPU's walks only after a DSB and an ISB. Where the architecture allows
//! several outcomes the model takes the strictest (the stale translation,
//! the spurious fault), so a missing barrier shows every time. It implements
//! [`Mmu`], so the very code the kernel runs is judged here, and it has its
//! own walker so a bug in `mm`'s walk cannot hide a bug in `mm`'s updates.

#[cfg(test)]
mod accounting_tests;
#[cfg(test)]
mod litmus_tests;
mod memory;
#[cfg(test)]
mod new_entry_tests;
#[cfg(test)]
mod precision_tests;
mod sync;
#[cfg(test)]
mod test_rig;
#[cfg(test)]
mod tests;
mod tlb;
#[cfg(test)]
mod walk_cache_tests;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::addr::{PhysAddr, VirtAddr, PAGE_SIZE};
use crate::fault::{Access, Fault, FaultKind};
use crate::mmu::{Barrier, Mmu, PteFormat, PteWrite, RootHalf, TlbScope, TlbiTarget, MAX_CPUS};
use crate::pte::PteValue;
use memory::Memory;
use sync::{CpuSync, NewEntry, PendingTlbi};
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
    sync: [CpuSync; MAX_CPUS],
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
                sync: Default::default(),
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
    /// of every CPU goes (the model has no ASIDs, like QEMU TCG), and the
    /// tables are published as the boot path does.
    pub fn set_roots(&self, low: PhysAddr, high: PhysAddr) {
        let mut state = self.state();
        state.roots = [low, high];
        state.tlbs.iter_mut().for_each(Tlb::clear);
        for cpu in 0..MAX_CPUS {
            state.memory.commit(cpu);
            state.sync[cpu] = CpuSync::default();
        }
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
        let _ = self.walk(&mut state, cpu, va);
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
                self.walk(&mut state, cpu, va).ok_or(Fault { kind: FaultKind::NotMapped, access, addr: va.into() })?
            }
        };
        let denied = match access {
            Access::Read => None,
            Access::Write => (!entry.prot.writable).then_some(FaultKind::WriteProtected),
            Access::Exec => (!entry.prot.executable).then_some(FaultKind::NoExecute),
        };
        if let Some(kind) = denied {
            // Both architectures drop the entry that faulted.
            state.tlbs[cpu].remove(va, false);
            return Err(Fault { kind, access, addr: va.into() });
        }
        Ok(PhysAddr::new(entry.frame.as_u64() + (va.as_u64() & (PAGE_SIZE - 1))))
    }

    /// `cpu`'s hardware walk over committed memory, independent of `mm`'s
    /// walk; a translation it finds goes into `cpu`'s TLB.
    fn walk(&self, state: &mut State, cpu: usize, va: VirtAddr) -> Option<TlbEntry> {
        state.stats.walks += 1;
        let half = self.half_of(va)?;
        let root = state.roots[half as usize];
        let (memory, sync) = (&state.memory, &state.sync[cpu]);
        let read = |ptep| sync.hidden(ptep).unwrap_or_else(|| memory.read(ptep));
        let found = tlb::walk(self.format, read, root, va, state.tlbs[cpu].leaf_table(va));
        if let Some(table) = found.leaf_table {
            state.tlbs[cpu].insert_leaf_table(va, table);
        }
        let entry = found.entry?;
        state.tlbs[cpu].insert(va, entry);
        Some(entry)
    }

    /// A `dsb ish` of `cpu` completes its TLBIs: each drops its scope's
    /// translations; one that was unordered with earlier stores is refilled
    /// from memory as the walker saw it before those stores land.
    fn complete_tlbis(&self, state: &mut State, cpu: usize) {
        for tlbi in core::mem::take(&mut state.sync[cpu].pending_tlbis) {
            let cpus = match tlbi.scope {
                TlbScope::Local => cpu..cpu + 1,
                TlbScope::Broadcast => 0..MAX_CPUS,
            };
            for target_cpu in cpus {
                let dropped = match tlbi.target {
                    TlbiTarget::Page(va) => vec![va],
                    TlbiTarget::All => state.tlbs[target_cpu].pages(),
                };
                match tlbi.target {
                    TlbiTarget::Page(va) => state.tlbs[target_cpu].remove(va, true),
                    TlbiTarget::All => state.tlbs[target_cpu].clear(),
                }
                if tlbi.unordered {
                    for va in dropped {
                        let _ = self.walk(state, target_cpu, va);
                    }
                }
            }
        }
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
            PteFormat::Arm64 => {
                let old = state.memory.read(ptep);
                let becomes_valid = self.format.is_present(PteValue(value)) && !self.format.is_present(PteValue(old));
                let sync = &mut state.sync[cpu];
                match sync.new_entries.get(&ptep) {
                    Some(&(_, hidden)) if self.format.is_present(PteValue(value)) => {
                        sync.new_entries.insert(ptep, (NewEntry::Stored, hidden));
                    }
                    _ if becomes_valid => {
                        sync.new_entries.insert(ptep, (NewEntry::Stored, old));
                    }
                    _ => {
                        sync.new_entries.remove(&ptep);
                    }
                }
                state.memory.buffer_store(cpu, ptep, value);
            }
            PteFormat::X86_64 => state.memory.write(ptep, value),
        }
    }

    fn zero_page(&self, _: PteWrite, page: PhysAddr) {
        let mut state = self.state();
        state.memory.zero_page(page);
    }

    fn barrier(&self, barrier: Barrier) {
        let cpu = self.cpu_id();
        let mut state = self.state();
        match barrier {
            Barrier::DsbIshSt | Barrier::DsbIsh => {
                state.stats.store_barriers += 1;
                if barrier == Barrier::DsbIsh {
                    self.complete_tlbis(&mut state, cpu);
                }
                self.drain_store_buffer(&mut state);
                state.sync[cpu].dsb();
            }
            Barrier::Isb => state.sync[cpu].isb(),
        }
    }

    fn tlbi(&self, target: TlbiTarget, scope: TlbScope) {
        let cpu = self.cpu_id();
        let mut state = self.state();
        state.stats.invalidations += 1;
        let unordered = state.memory.has_buffered_stores(cpu);
        state.sync[cpu].pending_tlbis.push(PendingTlbi { target, scope, unordered });
        if self.format == PteFormat::X86_64 {
            // invlpg and a shootdown are complete when they return.
            self.complete_tlbis(&mut state, cpu);
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
