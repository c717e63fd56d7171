//! Simulated physical memory, sparse by page, with a per-CPU buffer of PTE
//! stores the table walker cannot see yet (arm64 before `dsb ishst`).

use std::collections::HashMap;

use crate::addr::{PhysAddr, PAGE_SIZE};
use crate::mmu::MAX_CPUS;

const WORDS_PER_PAGE: usize = (PAGE_SIZE / 8) as usize;

#[derive(Default)]
pub(super) struct Memory {
    pages: HashMap<u64, Box<[u64; WORDS_PER_PAGE]>>,
    /// The newest buffered store per address: the walker sees none of them
    /// until the barrier, and then all at once, so their order is moot.
    store_buffers: [HashMap<PhysAddr, u64>; MAX_CPUS],
}

fn split(pa: PhysAddr) -> (u64, usize) {
    assert!(pa.as_u64().is_multiple_of(8), "model: unaligned 8-byte access at {pa}");
    (pa.as_u64() / PAGE_SIZE, ((pa.as_u64() % PAGE_SIZE) / 8) as usize)
}

impl Memory {
    /// What the walker and other CPUs see.
    pub(super) fn read(&self, pa: PhysAddr) -> u64 {
        let (page, word) = split(pa);
        self.pages.get(&page).map_or(0, |p| p[word])
    }

    pub(super) fn write(&mut self, pa: PhysAddr, value: u64) {
        let (page, word) = split(pa);
        self.pages.entry(page).or_insert_with(|| Box::new([0; WORDS_PER_PAGE]))[word] = value;
    }

    pub(super) fn zero_page(&mut self, page: PhysAddr) {
        self.pages.remove(&(page.as_u64() / PAGE_SIZE));
    }

    /// What `cpu` itself reads: its newest buffered store, else memory.
    pub(super) fn read_forwarded(&self, cpu: usize, pa: PhysAddr) -> u64 {
        self.store_buffers[cpu].get(&pa).copied().unwrap_or_else(|| self.read(pa))
    }

    pub(super) fn buffer_store(&mut self, cpu: usize, pa: PhysAddr, value: u64) {
        self.store_buffers[cpu].insert(pa, value);
    }

    pub(super) fn has_buffered_stores(&self, cpu: usize) -> bool {
        !self.store_buffers[cpu].is_empty()
    }

    /// A store barrier on `cpu`: its buffered stores land, in order.
    pub(super) fn commit(&mut self, cpu: usize) {
        let stores = core::mem::take(&mut self.store_buffers[cpu]);
        for (pa, value) in stores {
            self.write(pa, value);
        }
    }
}
