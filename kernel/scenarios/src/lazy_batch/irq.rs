//! `lazy_batch.irq_is_never_lazy`: interrupt context never joins the
//! section of the task it interrupted (arm64 b81c688426a9, after KFENCE
//! changed the linear map from softirq inside a task's section). A handler
//! that maps a page must be able to use it at once.

use ktest::{kcheck, kcheck_eq, ktest_case, Applies, BuggyExpect, Ctx, Judge, Order, Plan, Target};
use mm::{Fault, Flavour, InjectedBug, PhysAddr, Prot};

use super::{free_frames, scratch_pages, tagged_frames, unmap_scratch, ScratchPage};
use crate::support::{env, linear, load, model_hides_unbarriered_stores, page_entry, Loaded};

fn irq_is_never_lazy_plan(flavour: Flavour, target: Target) -> Plan {
    // Every flavour's handler would see in_lazy() true (state); what else
    // shows depends on what the flavour defers.
    let judges: &'static [Judge] = match flavour {
        // The handler's PTE write, and the barrier that publishes it, sit in
        // the task's queue (counters): its touch faults.
        Flavour::Queued | Flavour::DeferredPte => &[Judge::Mmu, Judge::State, Judge::Counters],
        // The handler's barrier is left pending in the task's section; the
        // arm64 model keeps its store from the walker until then.
        Flavour::Arm64 if model_hides_unbarriered_stores(flavour, target) => {
            &[Judge::Mmu, Judge::State, Judge::Counters]
        }
        Flavour::Arm64 => &[Judge::State, Judge::Counters],
        // Nothing deferred for a fresh mapping: only in_lazy() tells.
        Flavour::None | Flavour::TlbBatch => &[Judge::State],
    };
    Plan { fixed: Applies::Yes, buggy: BuggyExpect::Caught { judges, rules: &[] } }
}

/// What the handler observed, checked once back in the task.
struct HandlerSaw {
    is_lazy: bool,
    barriers: u64,
    read: Result<u64, Fault>,
}

/// A timer interrupt inside a task's section maps a page and touches it:
/// in the handler in_lazy() is false, the store is published at once and
/// the touch reads the frame; the task's section goes on untouched. The
/// buggy handler joins the task's section.
fn irq_is_never_lazy(ctx: &mut Ctx) {
    let env = env(ctx);
    let Some(frames) = tagged_frames(env, 2) else {
        return ctx.skip("out of frames");
    };
    let Some(pages) = scratch_pages(ctx, 2) else {
        free_frames(env, &frames);
        return ctx.skip("out of frames for page tables");
    };
    if ctx.order() == Order::Buggy {
        env.mm().inject_bug(InjectedBug::IrqJoinsSection);
    }
    interrupt_the_section(ctx, [pages[0], pages[1]], [frames[0], frames[1]]);
    env.mm().clear_injected_bugs();
    unmap_scratch(env, &pages);
    free_frames(env, &frames);
}

fn interrupt_the_section(ctx: &mut Ctx, [task, irq]: [ScratchPage; 2], [task_frame, irq_frame]: [PhysAddr; 2]) {
    let env = env(ctx);
    let mm = env.mm();
    let cpu = mm.cpu_id();
    let entry = |pa| page_entry(env, pa, Prot::KERNEL_RW);

    mm.arch_enter_lazy_mmu_mode();
    mm.set_pte_at(task.va, task.ptep, entry(task_frame));
    // The task's PTE word as memory holds it: a handler that drained the
    // task's queue would change it.
    let task_word = env.read(linear(env, task.ptep));
    let mut saw = None;
    let came = env.in_interrupt(&mut || {
        let is_lazy = mm.arch_in_lazy_mmu_mode();
        let barriers = mm.counters_this_cpu().barriers;
        mm.set_pte_at(irq.va, irq.ptep, entry(irq_frame));
        let barriers = mm.counters_this_cpu().barriers - barriers;
        saw = Some(HandlerSaw { is_lazy, barriers, read: env.read(irq.va) });
    });
    let task_word_after = env.read(linear(env, task.ptep));
    let still_lazy = mm.arch_in_lazy_mmu_mode();
    let depth = mm.lazy_state(cpu).enable_count;
    // Both pages were unmapped before, so no TLB holds a translation that
    // a flush would have to remove: reads after leave need none.
    mm.arch_leave_lazy_mmu_mode();

    kcheck!(ctx, Judge::State, came, "irq_is_never_lazy: the timer interrupt never came");
    if let Some(saw) = saw {
        kcheck_eq!(
            ctx,
            Judge::Mmu,
            Loaded(saw.read),
            Loaded::tag_of(irq_frame),
            "irq_is_never_lazy: handler's touch of its page"
        );
        kcheck_eq!(ctx, Judge::Counters, saw.barriers, 1, "irq_is_never_lazy: barriers for the handler's PTE store");
        kcheck!(ctx, Judge::State, !saw.is_lazy, "irq_is_never_lazy: in_lazy() true in the handler");
    }
    kcheck!(ctx, Judge::State, still_lazy, "irq_is_never_lazy: task's section not lazy after the interrupt");
    kcheck_eq!(ctx, Judge::State, depth, 1, "irq_is_never_lazy: task's section depth after the interrupt");
    if mm.flavour().defers_pte_writes() {
        // Only a queue can be robbed: the arm64 flavour's store is already
        // done, and the handler's own barrier rightly publishes it.
        kcheck_eq!(
            ctx,
            Judge::Mmu,
            task_word_after,
            task_word,
            "irq_is_never_lazy: task's queued PTE word across the interrupt"
        );
    }
    kcheck_eq!(
        ctx,
        Judge::Mmu,
        load(env, task.va),
        Loaded::tag_of(task_frame),
        "irq_is_never_lazy: task's page after leave"
    );
    kcheck_eq!(
        ctx,
        Judge::Mmu,
        load(env, irq.va),
        Loaded::tag_of(irq_frame),
        "irq_is_never_lazy: handler's page after leave"
    );
}

ktest_case!(
    lazy_batch,
    irq_is_never_lazy,
    desc = "an interrupt inside a section is not lazy: its PTE store is published at once, the task's queue kept",
    plan = irq_is_never_lazy_plan,
    variants = &Flavour::ALL,
    irq_is_never_lazy
);
