//! "mm/kasan: fix vmalloc shadow memory (de-)population races" by Alexander
//! Gordeev (adb258634194593db294c0d1fb35646e894d6ead.1755528662.git.agordeev@linux.ibm.com,
//! in 6.17-rc5's mm hotfixes): `kasan_depopulate_vmalloc_pte()` read the
//! shadow PTE and cached its page outside `init_mm.page_table_lock`, then
//! cleared the entry under the lock and freed the cached page, which by
//! then could be another one. Two CPUs depopulating and repopulating the
//! same shadow page are two tasks here, with a forced window between the
//! read and the lock.

use alloc::sync::Arc;

use ktest::{kcheck_eq, ktest_case, Applies, BuggyExpect, Ctx, Judge, Order, Plan, Target};
use mm::{Entry, Flavour, Level, PhysAddr, PreemptPoint, Prot, TlbScope, VirtAddr, PAGE_SIZE};

use super::EVERY_FLAVOUR;
use crate::env::Env;
use crate::sched::{finish_windows, preempt_at};
use crate::support::{env, linear, load, page_entry, tag_of, tagged_frame, Loaded, ScratchVa};

/// A shadow PTE and the lock that guards it (`init_mm.page_table_lock`).
#[derive(Clone)]
struct Shadow {
    va: VirtAddr,
    ptep: PhysAddr,
    lock: Arc<spin::Mutex<()>>,
}

/// `kasan_depopulate_vmalloc_pte()` on `shadow`, as one CPU's apply walk
/// calls it (lazy mode paused, as "mm/kasan: avoid lazy MMU mode hazards"
/// does). Fixed: the PTE is read under the lock and its page freed after
/// unlock. Buggy: the page comes from a read before the lock. Returns what
/// `free_page` said, if anything was freed.
fn depopulate(env: &dyn Env, shadow: &Shadow, order: Order) -> Option<Result<(), mm::AllocError>> {
    let mm = env.mm();
    let mut freed = None;
    let _ = mm.apply_to_existing_page_range(shadow.va, PAGE_SIZE, |pte| {
        mm.lazy_mmu_mode_pause();
        let early = (order == Order::Buggy).then(|| mm.ptep_get(pte.ptep));
        // Between the read and the lock: the other CPU can get there first.
        mm.might_preempt();
        let guard = shadow.lock.lock();
        let now = mm.ptep_get(pte.ptep);
        if !now.is_none() {
            mm.pte_clear(pte.va, pte.ptep);
        }
        drop(guard);
        if let Entry::Page { pa, .. } = mm.pte_format().decode(Level::Pte, early.unwrap_or(now)) {
            if !now.is_none() {
                freed = Some(mm.free_page(pa));
            }
        }
        mm.lazy_mmu_mode_resume();
        Ok::<(), ()>(())
    });
    mm.flush_tlb_page(shadow.va, TlbScope::Broadcast);
    freed
}

/// `kasan_populate_vmalloc_pte()` with a page allocated before the walk
/// (b6ea95a34cbd): map it under the lock if the entry is still empty.
fn populate(env: &dyn Env, shadow: &Shadow, page: PhysAddr) {
    let mm = env.mm();
    let _guard = shadow.lock.lock();
    if mm.ptep_get(shadow.ptep).is_none() {
        mm.set_pte_at(shadow.va, shadow.ptep, page_entry(env, page, Prot::KERNEL_RW));
    }
}

fn shadow_race_plan(_flavour: Flavour, _target: Target) -> Plan {
    Plan { fixed: Applies::Yes, buggy: BuggyExpect::Caught { judges: &[Judge::Mmu, Judge::State], rules: &[] } }
}

/// This CPU depopulates a shadow page mapped to frame P, and is preempted
/// between its read and the lock. The other CPU depopulates the same
/// entry (frees P), allocates a data page for its next vmalloc area (the
/// allocator hands P out again) and repopulates the shadow with its own
/// preallocated page Q. Back on this CPU, the entry holds Q: fixed, Q is
/// cleared and freed; buggy, Q is cleared and the cached P, the other
/// CPU's live data page, is freed, so the next allocation writes into it
/// (the MMU shows the other CPU's data changed) and Q leaks (the
/// allocator's books end one frame short).
fn kasan_shadow_race(ctx: &mut Ctx) {
    let env = env(ctx);
    let mm = env.mm();
    let order = ctx.order();
    let scratch = ScratchVa::take(ctx, 2);
    let (va, data_va) = (scratch.page(0), scratch.page(1));
    let (Ok(ptep), Ok(data_ptep)) = (mm.page_tables().pte_alloc(va), mm.page_tables().pte_alloc(data_va)) else {
        return ctx.skip("out of frames");
    };
    let used_before = mm.frames().lock().stats().used;
    let (Ok(first), Ok(other_cpus)) = (tagged_frame(env), mm.alloc_page()) else {
        return ctx.skip("out of frames");
    };
    let shadow = Shadow { va, ptep, lock: Arc::new(spin::Mutex::new(())) };
    mm.set_pte_at(va, ptep, page_entry(env, first, Prot::KERNEL_RW));
    let data_page = Arc::new(spin::Mutex::new(None));
    let (other_shadow, other_data) = (shadow.clone(), data_page.clone());
    preempt_at(
        env,
        PreemptPoint::Caller,
        1,
        alloc::boxed::Box::new(move || {
            let mm = env.mm();
            let _ = depopulate(env, &other_shadow, order);
            if let Ok(data) = mm.alloc_page() {
                mm.set_pte_at(data_va, data_ptep, page_entry(env, data, Prot::KERNEL_RW));
                let _ = env.write(data_va, tag_of(data));
                *other_data.lock() = Some(data);
            }
            populate(env, &other_shadow, other_cpus);
        }),
    );
    let freed = depopulate(env, &shadow, order);
    let tally = finish_windows(env, ctx);
    kcheck_eq!(ctx, Judge::State, tally.switched, 1, "kasan_shadow_race: windows switched");
    kcheck_eq!(ctx, Judge::State, freed, Some(Ok(())), "kasan_shadow_race: this CPU's free_page");
    kcheck_eq!(ctx, Judge::Mmu, env.read(va).is_err(), true, "kasan_shadow_race: shadow unmapped");
    // The next allocation anywhere, filled by its new owner.
    let next_owner = tagged_frame(env).ok();
    if let Some(page) = next_owner {
        let _ = env.write(linear(env, page), !tag_of(page));
    }
    let data = *data_page.lock();
    if let Some(data) = data {
        kcheck_eq!(
            ctx,
            Judge::Mmu,
            load(env, data_va),
            Loaded::tag_of(data),
            "kasan_shadow_race: other CPU's data page"
        );
        mm.pte_clear(data_va, data_ptep);
        mm.flush_tlb_page(data_va, TlbScope::Broadcast);
        let _ = mm.free_page(data);
    }
    if let Some(page) = next_owner {
        let _ = mm.free_page(page);
    }
    let used_after = mm.frames().lock().stats().used;
    kcheck_eq!(ctx, Judge::State, used_after, used_before, "kasan_shadow_race: frames in use after both CPUs");
    // A leaked Q goes back so the next case starts with the same books.
    if mm.frames().lock().is_allocated(other_cpus) == Ok(true) {
        let _ = mm.free_page(other_cpus);
    }
}

ktest_case!(
    upstream,
    kasan_shadow_race,
    desc = "two tasks populate one kasan shadow page: a window between the PTE read and page_table_lock",
    plan = shadow_race_plan,
    variants = EVERY_FLAVOUR,
    kasan_shadow_race
);
