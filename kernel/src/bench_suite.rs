//! Suite `bench`: what lazy MMU batching saves, as `# bench:` lines the
//! host's `lazymmu-run bench` turns into tables. Mapping and unmapping N
//! pages with `apply_to_page_range` and with `vmap`/`vunmap`, inside and
//! outside lazy mode, under each flavour (the shape of Linux's
//! test_vmalloc); the sanitizer's cost on the same work; the frames each
//! benchmark needs. A manual suite: it runs only when a filter names `bench.`.

use core::convert::Infallible;
use core::sync::atomic::{AtomicU64, Ordering};

use alloc::vec::Vec;

use ktest::{ktest_case, Ctx, Judge};
use mm::{Flavour, Lazy, LazyCounters, PhysAddr, Prot, Switch, TlbScope, VirtAddr, PAGE_SIZE};
use scenarios::KernelMm;

use crate::arch;

pub const SUITE: &str = "bench";

/// test_vmalloc's sizes, from one page to eight leaf tables.
const PAGE_COUNTS: [u64; 7] = [1, 4, 16, 64, 256, 512, 4096];
const MAX_PAGES: u64 = 4096;
/// Small N is repeated until a point covers about this many pages, so its
/// median is not one timer tick.
const PAGES_PER_POINT: u64 = 1024;
const MAX_REPS: u64 = 16;
/// The sanitizer's workload: one full leaf table.
const SANITIZER_PAGES: u64 = 512;
const SANITIZER_REPS: u64 = 8;
/// Room each `apply` point gets, so every point starts on a fresh leaf
/// table boundary (2 MiB) and its first map allocates its own tables.
const APPLY_SPAN: u64 = MAX_PAGES * PAGE_SIZE;

/// Bench VAs: the last quarter of the vmalloc area, which neither `vmap`
/// (from the bottom) nor the scenarios' scratch range (the middle) reach.
static NEXT_VA_OFFSET: AtomicU64 = AtomicU64::new(0);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    /// `apply_to_page_range` on a fixed range whose tables stay.
    Apply,
    /// `vmap`/`vunmap` on fresh VAs; outside lazy mode it is the same loop
    /// without the section (vmap_pte_range before the lazy-MMU patch).
    Vmap,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Apply => "apply",
            Op::Vmap => "vmap",
        }
    }
}

fn lazy_name(lazy: Lazy) -> &'static str {
    match lazy {
        Lazy::Yes => "in",
        Lazy::No => "out",
    }
}

/// Why a benchmark stopped: the mm call that failed, with its error.
enum BenchError {
    Apply(mm::ApplyError<Infallible>),
    Vmap(mm::VmapError),
    Frames(mm::AllocError),
}

impl core::fmt::Display for BenchError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            BenchError::Apply(error) => write!(f, "apply_to_page_range failed: {error:?}"),
            BenchError::Vmap(error) => write!(f, "vmap/vunmap failed: {error:?}"),
            BenchError::Frames(error) => write!(f, "data frames: {error:?}"),
        }
    }
}

/// Fresh bench VA for `nr_pages` plus a guard page, aligned to `align`.
fn fresh_va(mm: &KernelMm, nr_pages: u64, align: u64) -> VirtAddr {
    let layout = mm.layout();
    let base = layout.vmalloc_base.as_u64() + layout.vmalloc_size / 4 * 3;
    let span = (nr_pages + 1) * PAGE_SIZE;
    let mut offset = NEXT_VA_OFFSET.load(Ordering::Relaxed);
    loop {
        let start = (base + offset).next_multiple_of(align) - base;
        match NEXT_VA_OFFSET.compare_exchange(offset, start + span, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return VirtAddr::new(base + start),
            Err(seen) => offset = seen,
        }
    }
}

/// Maps `frames` at `va` through the lazy layer, one section per leaf table
/// (`Lazy::Yes`) or none.
fn map_range(mm: &KernelMm, va: VirtAddr, frames: &[PhysAddr], lazy: Lazy) -> Result<(), BenchError> {
    let format = mm.pte_format();
    let set = |pte: &mut mm::PteRef| {
        let index = (pte.va.offset_from(va) / PAGE_SIZE) as usize;
        mm.set_pte_at(pte.va, pte.ptep, format.page_entry(frames[index], Prot::KERNEL_RW));
        Ok::<(), Infallible>(())
    };
    let size = frames.len() as u64 * PAGE_SIZE;
    match lazy {
        Lazy::Yes => mm.apply_to_page_range(va, size, set),
        Lazy::No => mm.apply_to_page_range_nolazy(va, size, set),
    }
    .map_err(BenchError::Apply)
}

/// Clears `nr_pages` at `va`, then flushes them on every CPU (vunmap's order).
fn unmap_range(mm: &KernelMm, va: VirtAddr, nr_pages: u64, lazy: Lazy) -> Result<(), BenchError> {
    let clear = |pte: &mut mm::PteRef| {
        mm.pte_clear(pte.va, pte.ptep);
        Ok::<(), Infallible>(())
    };
    let size = nr_pages * PAGE_SIZE;
    match lazy {
        Lazy::Yes => mm.apply_to_existing_page_range(va, size, clear),
        Lazy::No => mm.apply_to_existing_page_range_nolazy(va, size, clear),
    }
    .map_err(BenchError::Apply)?;
    mm.flush_tlb_kernel_range(va, va.add(size), TlbScope::Broadcast);
    Ok(())
}

/// One map and unmap; returns their guest ticks.
fn map_unmap(
    mm: &KernelMm,
    op: Op,
    lazy: Lazy,
    frames: &[PhysAddr],
    apply_va: VirtAddr,
) -> Result<(u64, u64), BenchError> {
    let nr_pages = frames.len() as u64;
    let start = arch::ticks();
    let va = match (op, lazy) {
        (Op::Apply, _) => map_range(mm, apply_va, frames, lazy).map(|()| apply_va)?,
        (Op::Vmap, Lazy::Yes) => mm.vmap(frames, Prot::KERNEL_RW).map_err(BenchError::Vmap)?,
        (Op::Vmap, Lazy::No) => {
            let va = fresh_va(mm, nr_pages, PAGE_SIZE);
            map_range(mm, va, frames, lazy).map(|()| va)?
        }
    };
    let mapped = arch::ticks();
    match (op, lazy) {
        (Op::Vmap, Lazy::Yes) => mm.vunmap(va).map_err(BenchError::Vmap)?,
        _ => unmap_range(mm, va, nr_pages, lazy)?,
    }
    Ok((mapped - start, arch::ticks() - mapped))
}

fn ticks_to_ns(ticks: u64) -> u64 {
    (u128::from(ticks) * 1_000_000_000 / u128::from(arch::ticks_per_sec().max(1))) as u64
}

fn median(mut values: Vec<u64>) -> u64 {
    values.sort_unstable();
    values.get(values.len() / 2).copied().unwrap_or(0)
}

fn frames_used(mm: &KernelMm) -> u64 {
    mm.frames().lock().stats().used
}

/// Measures one point and prints its line: events summed over the reps,
/// median guest times, and the frames the first map allocated.
fn measure(ctx: &Ctx, mm: &KernelMm, op: Op, lazy: Lazy, frames: &[PhysAddr]) -> Result<(), BenchError> {
    let nr_pages = frames.len() as u64;
    let reps = (PAGES_PER_POINT / nr_pages).clamp(1, MAX_REPS);
    let apply_va = fresh_va(mm, APPLY_SPAN / PAGE_SIZE, APPLY_SPAN);
    let (mut map_ns, mut unmap_ns) = (Vec::new(), Vec::new());
    let mut table_frames = 0;
    mm.reset_counters();
    for rep in 0..reps {
        let used_before = frames_used(mm);
        let (map_ticks, unmap_ticks) = map_unmap(mm, op, lazy, frames, apply_va)?;
        if rep == 0 {
            table_frames = frames_used(mm) - used_before;
        }
        map_ns.push(ticks_to_ns(map_ticks));
        unmap_ns.push(ticks_to_ns(unmap_ticks));
    }
    let events: LazyCounters = mm.counters_this_cpu();
    let (map_ns, unmap_ns) = (median(map_ns), median(unmap_ns));
    ktest::kdiag!(
        ctx,
        "bench: batching flavour={} op={} lazy={} pages={nr_pages} reps={reps} pte_writes={} barriers={} \
         store_barriers={} invalidations={} drains={} early_drains={} deferred={} sections={} map_ns={map_ns} \
         unmap_ns={unmap_ns} ns_per_page={} table_frames={table_frames}",
        mm.flavour(),
        op.name(),
        lazy_name(lazy),
        events.pte_writes,
        events.barriers,
        events.store_barriers,
        events.invalidations,
        events.drains,
        events.early_drains,
        events.deferred,
        events.enters,
        (map_ns + unmap_ns) / nr_pages,
    );
    Ok(())
}

/// Allocates `nr_pages` data frames, outside any section.
fn data_frames(mm: &KernelMm, nr_pages: u64) -> Result<Vec<PhysAddr>, BenchError> {
    (0..nr_pages).map(|_| mm.alloc_page().map_err(BenchError::Frames)).collect()
}

fn free_frames(mm: &KernelMm, frames: Vec<PhysAddr>) -> Result<(), BenchError> {
    frames.into_iter().try_for_each(|pa| mm.free_page(pa).map_err(BenchError::Frames))
}

/// Runs `body` with the data frames and prints the case's frame peak
/// above what was in use when it started.
fn with_frames(
    ctx: &mut Ctx,
    nr_pages: u64,
    body: impl FnOnce(&Ctx, &KernelMm, &[PhysAddr]) -> Result<(), BenchError>,
) {
    let mm = crate::mm();
    let used_at_start = frames_used(mm);
    mm.frames().lock().reset_peak();
    let result = data_frames(mm, nr_pages).and_then(|frames| {
        let measured = body(ctx, mm, &frames);
        free_frames(mm, frames).and(measured)
    });
    let peak = mm.frames().lock().stats().peak_used;
    ktest::kdiag!(
        ctx,
        "bench: memory case={} flavour={} data_frames={nr_pages} peak_frames={}",
        ctx.case_name(),
        mm.flavour(),
        peak - used_at_start
    );
    if let Err(error) = result {
        ctx.fail(Judge::State, format_args!("{}: {error}", ctx.case_name()));
    }
}

ktest_case!(
    bench,
    batching,
    desc = "measures barriers, invalidations and time per page inside and outside lazy mode",
    variants = &Flavour::ALL,
    |ctx: &mut Ctx| {
        with_frames(ctx, MAX_PAGES, |ctx, mm, frames| {
            for op in [Op::Apply, Op::Vmap] {
                for lazy in [Lazy::Yes, Lazy::No] {
                    for nr_pages in PAGE_COUNTS {
                        measure(ctx, mm, op, lazy, &frames[..nr_pages as usize])?;
                    }
                }
            }
            Ok(())
        });
    }
);

ktest_case!(
    bench,
    sanitizer,
    desc = "measures what the sanitizer's checks cost per PTE update",
    variants = &Flavour::ALL,
    |ctx: &mut Ctx| {
        with_frames(ctx, SANITIZER_PAGES, |ctx, mm, frames| {
            for op in [Op::Apply, Op::Vmap] {
                let apply_va = fresh_va(mm, APPLY_SPAN / PAGE_SIZE, APPLY_SPAN);
                let (mut on_ns, mut off_ns) = (Vec::new(), Vec::new());
                // Alternating on and off keeps a drift of the host's load out of the ratio.
                for _ in 0..SANITIZER_REPS {
                    for (switch, samples) in [(Switch::On, &mut on_ns), (Switch::Off, &mut off_ns)] {
                        mm.set_sanitizer(switch);
                        let measured = map_unmap(mm, op, Lazy::Yes, frames, apply_va);
                        mm.set_sanitizer(Switch::On);
                        let (map_ticks, unmap_ticks) = measured?;
                        samples.push(ticks_to_ns(map_ticks + unmap_ticks) / SANITIZER_PAGES);
                    }
                }
                ktest::kdiag!(
                    ctx,
                    "bench: sanitizer flavour={} op={} lazy=in pages={SANITIZER_PAGES} reps={SANITIZER_REPS} \
                 on_ns_per_page={} off_ns_per_page={}",
                    mm.flavour(),
                    op.name(),
                    median(on_ns),
                    median(off_ns)
                );
            }
            Ok(())
        });
    }
);
