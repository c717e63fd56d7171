//! A context switch inside a section (Xen's `arch_start_context_switch` /
//! `arch_end_context_switch`, 291b3abed657): the task's deferred work
//! drains and this CPU leaves its arch mode, the next task runs non-lazy,
//! and the arch mode comes back when the task, whose counts are its own,
//! runs again.

use ktest::{kcheck_eq, ktest_case, Applies, BuggyExpect, Ctx, Judge, Plan, Target};
use mm::{Flavour, Prot, Rule, Site};

use super::{drop_scratch_page, own_and_next_pages};
use crate::sched::switch_task;
use crate::support::{env, load, model_hides_unbarriered_stores, page_entry, Loaded};

/// Why tlb-batch is not switched inside a section.
const NO_SWITCH_IN_BATCH: &str = "tlb-batch sections run with preemption off and no switch hooks (sparc, a1d416bf9faf)";
/// The depth the switched-out task's section has.
const SWITCH_DEPTH: u8 = 2;

fn context_switch_unwinds_plan(flavour: Flavour, target: Target) -> Plan {
    if !flavour.has_switch_hooks() {
        return Plan { fixed: Applies::No(NO_SWITCH_IN_BATCH), buggy: BuggyExpect::NotApplicable(NO_SWITCH_IN_BATCH) };
    }
    // The next task starts lazy (state) under every flavour; the previous
    // task's update is not drained where it is queued, or behind its
    // barrier on the arm64 model (mmu); under arm64 that barrier is still
    // owed when the case ends (the sanitizer: section left open).
    let buggy = match flavour {
        Flavour::Queued | Flavour::DeferredPte => {
            BuggyExpect::Caught { judges: &[Judge::Mmu, Judge::State], rules: &[] }
        }
        Flavour::Arm64 if model_hides_unbarriered_stores(flavour, target) => BuggyExpect::Caught {
            judges: &[Judge::Mmu, Judge::State, Judge::Sanitizer],
            rules: &[Rule::SectionLeftOpen],
        },
        Flavour::Arm64 => {
            BuggyExpect::Caught { judges: &[Judge::State, Judge::Sanitizer], rules: &[Rule::SectionLeftOpen] }
        }
        Flavour::None | Flavour::TlbBatch => BuggyExpect::Caught { judges: &[Judge::State], rules: &[] },
    };
    Plan { fixed: Applies::Yes, buggy }
}

/// Switching away from a task inside a section applies its updates and
/// leaves the next task non-lazy; switching back resumes the section at
/// the same depth.
fn context_switch_unwinds(ctx: &mut Ctx) {
    let env = env(ctx);
    let mm = env.mm();
    let cpu = mm.cpu_id();
    let Some([own, next]) = own_and_next_pages(ctx, env) else { return ctx.skip("out of frames") };
    for _ in 0..SWITCH_DEPTH {
        mm.lazy_mmu_mode_enable();
    }
    mm.set_pte_at(own.0, own.1, page_entry(env, own.2, Prot::KERNEL_RW));
    let suspended = mm.lazy_state(cpu);
    let order = ctx.order();
    switch_task(env, order, &mut || {
        // The next task: not lazy, nor is this CPU's arch mode (the counts
        // are per task, so only the CPU's mode can leak across), and the
        // previous task's update landed.
        let lazy = (mm.is_lazy_mmu_mode_active(), mm.arch_in_lazy_mmu_mode());
        kcheck_eq!(ctx, Judge::State, lazy, (false, false), "context_switch_unwinds: next task (task, CPU) lazy");
        let seen = env.read(own.0);
        kcheck_eq!(
            ctx,
            Judge::Mmu,
            Loaded(seen),
            Loaded::tag_of(own.2),
            "context_switch_unwinds: previous task's update"
        );
        mm.set_pte_at(next.0, next.1, page_entry(env, next.2, Prot::KERNEL_RW));
        let seen = env.read(next.0);
        kcheck_eq!(
            ctx,
            Judge::Mmu,
            Loaded(seen),
            Loaded::tag_of(next.2),
            "context_switch_unwinds: next task's own update"
        );
    });
    let resumed = mm.lazy_state(cpu);
    let depth = (resumed.enable_count, resumed.pause_count, resumed.is_active, resumed.entered_at.map(Site));
    let expected = (SWITCH_DEPTH, 0, true, suspended.entered_at.map(Site));
    kcheck_eq!(ctx, Judge::State, depth, expected, "context_switch_unwinds: (enable, pause, active, entered) back");
    for _ in 0..resumed.enable_count {
        mm.lazy_mmu_mode_disable();
    }
    kcheck_eq!(
        ctx,
        Judge::Mmu,
        load(env, own.0),
        Loaded::tag_of(own.2),
        "context_switch_unwinds: own page after leave"
    );
    drop_scratch_page(env, own);
    drop_scratch_page(env, next);
}

ktest_case!(
    nesting,
    context_switch_unwinds,
    desc = "switching out of a section applies its updates, the next task is not lazy, switching back resumes it",
    plan = context_switch_unwinds_plan,
    variants = &Flavour::ALL,
    context_switch_unwinds
);
