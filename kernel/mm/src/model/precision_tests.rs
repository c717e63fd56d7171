//! The model's TLB invalidates exactly what it is asked to (one page of one
//! CPU, every page of one CPU, or of all), and its walker applies the limits
//! of upper-level entries (read-only and no-execute tables, non-present
//! entries). A model that invalidates too much hides stale translations; one
//! that ignores table limits hides permission bugs.

use super::test_rig::Rig;
use crate::addr::{PhysAddr, VirtAddr, PAGE_SIZE};
use crate::fault::FaultKind;
use crate::mmu::{Mmu, PteFormat, TlbScope};
use crate::pte::{Entry, Level, Prot, PteValue};

/// Two neighbouring pages, and one in another 1 GiB region.
const VAS: [VirtAddr; 3] =
    [VirtAddr::new(0xffff_c000_0010_0000), VirtAddr::new(0xffff_c000_0010_1000), VirtAddr::new(0xffff_c000_4020_0000)];
const FORMATS: [PteFormat; 2] = [PteFormat::X86_64, PteFormat::Arm64];

impl Rig {
    /// Points `va` at `frame` in memory without any flush: TLBs keep the old.
    fn remap_unflushed(&self, va: VirtAddr, frame: PhysAddr) {
        self.tables.unmap_page(va).expect("unmap").ignore();
        self.map(va, frame, Prot::KERNEL_RW);
    }

    fn read_on(&self, cpu: usize, va: VirtAddr) -> Result<u64, FaultKind> {
        self.mmu.set_cpu(cpu);
        let seen = self.mmu.read(va).map_err(|fault| fault.kind);
        self.mmu.set_cpu(0);
        seen
    }

    /// Maps each of `VAS` to a frame tagged `i`, loads it into both CPUs'
    /// TLBs, then remaps each to a frame tagged `0x10 + i` unflushed.
    fn stale_everywhere(&self) {
        for (i, &va) in VAS.iter().enumerate() {
            self.map(va, self.frame(i as u64), Prot::KERNEL_RW);
            assert_eq!((self.read_on(0, va), self.read_on(1, va)), (Ok(i as u64), Ok(i as u64)));
            self.remap_unflushed(va, self.frame(0x10 + i as u64));
        }
    }

    /// What each CPU reads at each of `VAS`: `(cpu0, cpu1)` per page.
    fn seen(&self) -> Vec<(Result<u64, FaultKind>, Result<u64, FaultKind>)> {
        VAS.iter().map(|&va| (self.read_on(0, va), self.read_on(1, va))).collect()
    }

    /// The address of `va`'s entry at `level`, by walking memory.
    fn entry_at(&self, va: VirtAddr, level: Level) -> PhysAddr {
        let format = self.mmu.format();
        let half = crate::pgtable::Roots::half_of(format, va).expect("a mapped half");
        let mut table = self.mmu.root(half);
        for walked in Level::ALL {
            let ptep = PhysAddr::new(table.as_u64() + 8 * walked.index(va) as u64);
            if walked == level {
                return ptep;
            }
            match format.decode(walked, PteValue(self.mmu.phys_read(ptep))) {
                Entry::Table { next, .. } => table = next,
                other => panic!("{walked:?} entry of {va}: {other:?}"),
            }
        }
        unreachable!("{level:?} is one of Level::ALL")
    }

    /// Rewrites the entry at `ptep` with `f` and drops every translation.
    fn rewrite(&self, ptep: PhysAddr, f: impl Fn(u64) -> u64) {
        self.mmu.phys_write(ptep, f(self.mmu.phys_read(ptep)));
        self.mmu.flush_tlb_all(TlbScope::Broadcast);
    }
}

const OLD: [u64; 3] = [0, 1, 2];
const NEW: [u64; 3] = [0x10, 0x11, 0x12];

#[test]
fn a_page_flush_drops_that_page_only() {
    for format in FORMATS {
        let rig = Rig::new(format);
        rig.stale_everywhere();
        rig.mmu.flush_tlb_page(VAS[0], TlbScope::Local);
        let expected = vec![(Ok(NEW[0]), Ok(OLD[0])), (Ok(OLD[1]), Ok(OLD[1])), (Ok(OLD[2]), Ok(OLD[2]))];
        assert_eq!(rig.seen(), expected, "{format:?}: a local page flush on cpu0");
        rig.mmu.flush_tlb_page(VAS[1], TlbScope::Broadcast);
        let expected = vec![(Ok(NEW[0]), Ok(OLD[0])), (Ok(NEW[1]), Ok(NEW[1])), (Ok(OLD[2]), Ok(OLD[2]))];
        assert_eq!(rig.seen(), expected, "{format:?}: then a broadcast flush of the neighbour");
    }
}

#[test]
fn a_local_full_flush_stays_on_its_cpu() {
    for format in FORMATS {
        let rig = Rig::new(format);
        rig.stale_everywhere();
        rig.mmu.set_cpu(1);
        rig.mmu.flush_tlb_all(TlbScope::Local);
        rig.mmu.set_cpu(0);
        let expected: Vec<_> = (0..3).map(|i| (Ok(OLD[i]), Ok(NEW[i]))).collect();
        assert_eq!(rig.seen(), expected, "{format:?}: a local full flush on cpu1");
        rig.mmu.flush_tlb_all(TlbScope::Broadcast);
        let expected: Vec<_> = (0..3).map(|i| (Ok(NEW[i]), Ok(NEW[i]))).collect();
        assert_eq!(rig.seen(), expected, "{format:?}: then a broadcast one");
    }
}

#[test]
fn a_permission_fault_drops_the_faulting_entry_only() {
    for format in FORMATS {
        let rig = Rig::new(format);
        let frames = [rig.frame(1), rig.frame(2)];
        rig.map(VAS[0], frames[0], Prot::KERNEL_RO);
        rig.map(VAS[1], frames[1], Prot::KERNEL_RW);
        assert_eq!(rig.seen()[..2], [(Ok(1), Ok(1)), (Ok(2), Ok(2))]);
        assert_eq!(rig.mmu.write(VAS[0], 0).map_err(|f| f.kind), Err(FaultKind::WriteProtected));
        assert_eq!(rig.mmu.tlb_lookup(VAS[0]), None, "{format:?}: the faulting entry goes");
        assert_eq!(rig.mmu.tlb_lookup(VAS[1]), Some(frames[1]), "{format:?}: its neighbour stays");
        rig.mmu.set_cpu(1);
        assert_eq!(rig.mmu.tlb_lookup(VAS[0]), Some(frames[0]), "{format:?}: cpu1's entry stays");
        rig.mmu.set_cpu(0);
    }
}

/// `value` with the table-level "read-only below" or "no execution below" bit.
fn limit(format: PteFormat, value: u64, read_only: bool, no_exec: bool) -> u64 {
    let (read_only_bits, no_exec_bits) = match format {
        // x86: clear RW; set XD. arm64: set APTable[1]; set PXNTable.
        PteFormat::X86_64 => (!(1u64 << 1), 1 << 63),
        PteFormat::Arm64 => (1 << 62, 1 << 59),
    };
    let mut value = value;
    if read_only {
        value = match format {
            PteFormat::X86_64 => value & read_only_bits,
            PteFormat::Arm64 => value | read_only_bits,
        };
    }
    if no_exec {
        value |= no_exec_bits;
    }
    value
}

#[test]
fn upper_level_limits_restrict_every_page_below() {
    for format in FORMATS {
        for level in [Level::Pgd, Level::Pud, Level::Pmd] {
            let rig = Rig::new(format);
            rig.map(VAS[0], rig.frame(1), Prot::KERNEL_RWX);
            let ptep = rig.entry_at(VAS[0], level);
            let original = rig.mmu.phys_read(ptep);
            let what = format!("{format:?} {level:?}");

            rig.rewrite(ptep, |value| limit(format, value, true, false));
            assert_eq!(rig.mmu.read(VAS[0]), Ok(1), "{what}: read-only table still reads");
            assert_eq!(rig.mmu.write(VAS[0], 2).map_err(|f| f.kind), Err(FaultKind::WriteProtected), "{what}");
            assert_eq!(rig.mmu.fetch(VAS[0]), Ok(()), "{what}: read-only table still executes");

            rig.rewrite(ptep, |_| limit(format, original, false, true));
            assert_eq!(rig.mmu.fetch(VAS[0]).map_err(|f| f.kind), Err(FaultKind::NoExecute), "{what}");
            assert_eq!(rig.mmu.write(VAS[0], 3), Ok(()), "{what}: no-execute table still writes");

            rig.rewrite(ptep, |_| original);
            assert_eq!((rig.mmu.write(VAS[0], 4), rig.mmu.fetch(VAS[0])), (Ok(()), Ok(())), "{what}: restored");
        }
    }
}

#[test]
fn a_non_present_upper_entry_hides_the_tables_below() {
    for format in FORMATS {
        for level in [Level::Pgd, Level::Pud, Level::Pmd] {
            let rig = Rig::new(format);
            rig.map(VAS[0], rig.frame(1), Prot::KERNEL_RW);
            let ptep = rig.entry_at(VAS[0], level);
            // Bit 0 is x86's P and arm64's valid bit; the table address stays.
            rig.rewrite(ptep, |value| value & !1);
            let what = format!("{format:?} {level:?}");
            assert_eq!(rig.mmu.read(VAS[0]).map_err(|f| f.kind), Err(FaultKind::NotMapped), "{what}");
            rig.mmu.speculate(VAS[0]);
            assert_eq!(rig.mmu.tlb_lookup(VAS[0]), None, "{what}: no walk fills the TLB through it");
            rig.rewrite(ptep, |value| value | 1);
            assert_eq!(rig.mmu.read(VAS[0]), Ok(1), "{what}: present again");
        }
    }
}

#[test]
fn neighbouring_pages_never_share_an_entry() {
    for format in FORMATS {
        let rig = Rig::new(format);
        let frames = [rig.frame(1), rig.frame(2)];
        rig.map(VAS[0], frames[0], Prot::KERNEL_RW);
        rig.map(VAS[0].add(PAGE_SIZE), frames[1], Prot::KERNEL_RW);
        assert_eq!(rig.mmu.read(VAS[0].add(8)), Ok(0), "{format:?}: second word of the first frame");
        assert_eq!(rig.mmu.read(VAS[0].add(PAGE_SIZE)), Ok(2), "{format:?}");
        assert_eq!(rig.mmu.tlb_lookup(VAS[0].add(PAGE_SIZE - 8)), Some(frames[0]), "{format:?}");
    }
}
