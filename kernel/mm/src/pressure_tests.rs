//! mm under memory pressure: the frame allocator runs dry at a random point
//! half-way through an `apply_to_page_range`, a `vmap` or a page-table
//! allocation. Each time the error must come back, lazy MMU mode must be
//! left with nothing queued, and no frame may leak: every frame the
//! allocator counts as used is a table page reachable from the roots (the
//! leaf PAs lie outside the test RAM), after the failure and after a retry
//! that must then succeed. Each operation runs [`RUNS`] times with a seeded
//! xorshift choosing the format, flavour, range and failure point, so a
//! failure is reproducible from its run number.

use alloc::vec::Vec;

use crate::apply::{ApplyError, PteRef};
use crate::lazy::Flavour;
use crate::mmu::{Mmu, PteFormat};
use crate::pgtable::MapError;
use crate::pte::{Entry, Level, Prot, PteValue};
use crate::test_mmu::{FakeMmu, Fixture, TEST_LAYOUT};
use crate::vmap::VmapError;
use crate::{Mm, PhysAddr, VirtAddr, PAGE_SIZE};

const RUNS: u64 = 1000;
const SEED: u64 = 0x9e37_79b9_7f4a_7c15;
/// Leaf PAs the tests map: outside the test RAM, never dereferenced.
const FRAME: PhysAddr = PhysAddr::new(0x9000_0000);
/// Up to 160 pages: about one range in six crosses a leaf-table boundary.
const MAX_PAGES: u64 = 160;
/// The failure point is drawn from `0..=FAIL_POINTS`: a range on fresh
/// tables needs three table pages (pud, pmd, pte), more when it crosses a
/// table boundary, so most runs fail and some get through.
const FAIL_POINTS: u64 = 3;
/// How far into the vmalloc area a range may start (8 GiB: crosses pmd and
/// pud tables as well).
const START_PAGES: u64 = 1 << 21;

/// Marsaglia's xorshift64: small, deterministic, no crate needed.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// In `0..n`; the modulo bias does not matter for choosing test inputs.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

/// One run's random choices.
struct Setup {
    format: PteFormat,
    flavour: Flavour,
    start: VirtAddr,
    pages: u64,
}

impl Setup {
    fn draw(rng: &mut XorShift) -> Setup {
        Setup {
            format: rng.pick(&[PteFormat::X86_64, PteFormat::Arm64]),
            flavour: rng.pick(&Flavour::ALL),
            start: TEST_LAYOUT.vmalloc_base.add(rng.below(START_PAGES) * PAGE_SIZE),
            pages: 1 + rng.below(MAX_PAGES),
        }
    }

    fn fixture(&self) -> Fixture {
        Fixture::new(self.format)
    }

    fn mm<'f>(&self, fx: &'f Fixture) -> Mm<'f, FakeMmu> {
        let mm = fx.mm();
        mm.set_flavour(self.flavour);
        mm
    }

    fn contains(&self, va: VirtAddr) -> bool {
        (self.start.as_u64()..self.start.as_u64() + self.pages * PAGE_SIZE).contains(&va.as_u64())
    }
}

/// Lazy mode left, nothing deferred on any CPU, no sanitizer report.
fn assert_quiescent(mm: &Mm<'_, FakeMmu>, run: u64) {
    assert!(!mm.is_lazy_mmu_mode_active(), "run {run}: still in lazy mode");
    let state = mm.lazy_state(mm.cpu_id());
    assert_eq!((state.enable_count, state.pause_count, state.has_pending), (0, 0, false), "run {run}");
    assert!(mm.check_quiescent(), "run {run}: work left queued");
    assert_eq!(mm.take_reports(), [], "run {run}");
}

/// Table pages reachable from `table` (itself included) at `level`.
fn tables_below(fx: &Fixture, table: PhysAddr, level: Level) -> u64 {
    let Some(next_level) = level.next() else { return 1 };
    let format = fx.mmu.format();
    let entries = PAGE_SIZE / 8;
    1 + (0..entries)
        .filter_map(|index| match format.decode(level, PteValue(fx.mmu.read_pte(table.add(index * 8)))) {
            Entry::Table { next, .. } => Some(tables_below(fx, next, next_level)),
            _ => None,
        })
        .sum::<u64>()
}

/// No leaked frame: the allocator's `used` is exactly the table pages the
/// roots reach.
fn assert_no_leak(fx: &Fixture, name: &str, run: u64) {
    // x86_64 has one root for both halves.
    let mut reachable = tables_below(fx, fx.roots.low, Level::Pgd);
    if fx.roots.high != fx.roots.low {
        reachable += tables_below(fx, fx.roots.high, Level::Pgd);
    }
    let used = fx.frames.lock().stats().used;
    assert_eq!(used, reachable, "{name} run {run}: frames in use that no table links");
}

/// `RUNS` times: runs `op` on fresh tables with one allocation failing at
/// a random point (past the last one it needs, sometimes: then it must
/// succeed); `op` returns whether it succeeded. Checks the error comes back, the lazy
/// state is clean, no frame leaked, and a retry succeeds. Returns how many
/// runs failed on purpose.
fn under_pressure(name: &str, seed: u64, op: impl Fn(&Setup, &Mm<'_, FakeMmu>, u64) -> bool) -> u64 {
    let mut rng = XorShift(seed);
    let mut failed_runs = 0;
    for run in 0..RUNS {
        let setup = Setup::draw(&mut rng);
        let fx = setup.fixture();
        let mm = setup.mm(&fx);
        let fail_at = rng.below(FAIL_POINTS + 1);
        fx.frames.lock().fail_after(fail_at);
        let succeeded = op(&setup, &mm, run);
        // Success only when the op needed no more than `fail_at` tables.
        let failed_allocs = fx.frames.lock().stats().failed_allocs;
        assert_eq!(failed_allocs, u64::from(!succeeded), "{name} run {run}: failure at allocation {fail_at}");
        assert_quiescent(&mm, run);
        assert_no_leak(&fx, name, run);
        fx.frames.lock().clear_fail_injection();
        if !succeeded {
            failed_runs += 1;
            assert!(op(&setup, &mm, run), "{name} run {run}: the retry fails");
            assert_quiescent(&mm, run);
            assert_no_leak(&fx, name, run);
        }
    }
    std::eprintln!("{name}: {RUNS} runs, {failed_runs} with the allocator running dry");
    failed_runs
}

fn map_page(mm: &Mm<'_, FakeMmu>, setup: &Setup, pte: &mut PteRef) {
    let pa = FRAME.add(pte.va.offset_from(setup.start));
    mm.set_pte_at(pte.va, pte.ptep, mm.pte_format().page_entry(pa, Prot::KERNEL_RW));
}

#[test]
fn apply_to_page_range_runs_dry_midway() {
    let failed = under_pressure("apply_to_page_range", SEED, |setup, mm, run| {
        let result = mm.apply_to_page_range(setup.start, setup.pages * PAGE_SIZE, |pte| {
            map_page(mm, setup, pte);
            Ok::<(), ()>(())
        });
        match result {
            Ok(()) => {
                let last = setup.start.add((setup.pages - 1) * PAGE_SIZE);
                let expected = FRAME.add((setup.pages - 1) * PAGE_SIZE);
                assert_eq!(mm.page_tables().translate(last), Some((expected, Prot::KERNEL_RW)), "run {run}");
                true
            }
            Err(ApplyError::OutOfFrames { at }) => {
                assert!(setup.contains(at), "run {run}: error at {at:?} outside the range");
                assert_eq!(mm.page_tables().translate(at), None, "run {run}: the failing page was mapped");
                false
            }
            Err(other) => panic!("run {run}: unexpected {other:?}"),
        }
    });
    assert!(failed > RUNS / 2, "too few runs hit the failure: {failed}");
}

#[test]
fn vmap_runs_dry_midway() {
    let failed = under_pressure("vmap", SEED ^ 0x5555, |setup, mm, run| {
        let pages: Vec<PhysAddr> = (0..setup.pages).map(|n| FRAME.add(n * PAGE_SIZE)).collect();
        match mm.vmap(&pages, Prot::KERNEL_RO) {
            Ok(va) => {
                assert_eq!(mm.page_tables().translate(va), Some((FRAME, Prot::KERNEL_RO)), "run {run}");
                mm.vunmap(va).expect("vunmap of a fresh vmap");
                true
            }
            Err(VmapError::Apply(ApplyError::OutOfFrames { at })) => {
                assert_eq!(mm.page_tables().translate(at), None, "run {run}");
                false
            }
            Err(other) => panic!("run {run}: unexpected {other:?}"),
        }
    });
    assert!(failed > RUNS / 2, "too few runs hit the failure: {failed}");
}

#[test]
fn page_table_allocation_runs_dry_midway() {
    let failed = under_pressure("pte_alloc", SEED ^ 0xaaaa, |setup, mm, run| {
        let tables = mm.page_tables();
        for page in 0..setup.pages {
            let va = setup.start.add(page * PAGE_SIZE);
            match tables.pte_alloc(va) {
                Ok(_) => {}
                Err(MapError::OutOfFrames { at, .. }) => {
                    assert_eq!(at, va, "run {run}");
                    assert!(tables.pte_offset(va).is_ok(), "run {run}: a half-built walk");
                    return false;
                }
                Err(other) => panic!("run {run}: unexpected {other:?}"),
            }
        }
        true
    });
    assert!(failed > RUNS / 2, "too few runs hit the failure: {failed}");
}
