//! Suite `nesting` (docs/scenarios.md): what `arch_in_lazy_mmu_mode` says, and
//! the nesting rules: the seed's strict one (patches 4 and 6), arm64's
//! permissive flag (1ef3095b1405) and upstream's `{enable_count,
//! pause_count}` counter.

mod policy;
mod switch;
mod timer;

use core::panic::Location;

use alloc::vec::Vec;

use ktest::{kcheck, kcheck_eq, ktest_case, Applies, BuggyExpect, Ctx, Judge, Order, Plan, Target};
use mm::lazy::ReportDetail;
use mm::{Flavour, InjectedBug, PhysAddr, Prot, Report, Rule, Switch, TlbScope, VirtAddr};

use crate::env::Env;
use crate::support::{check_reports, env, page_entry, tagged_frame, ScratchVa};
use crate::KernelMm;

/// Maps scratch page `va` to a fresh tagged frame outside any section,
/// or only allocates its leaf table when `map` is false.
pub(crate) fn scratch_page(env: &dyn Env, va: VirtAddr, map: bool) -> Option<(VirtAddr, PhysAddr, PhysAddr)> {
    let mm = env.mm();
    let ptep = mm.page_tables().pte_alloc(va).ok()?;
    let pa = tagged_frame(env).ok()?;
    if map {
        mm.set_pte_at(va, ptep, page_entry(env, pa, Prot::KERNEL_RW));
    }
    Some((va, ptep, pa))
}

/// Two unmapped scratch pages (leaf tables and frames ready): one for a
/// task, one for the task that preempts it. `None`, with nothing left
/// allocated, when frames run out.
pub(crate) fn own_and_next_pages(ctx: &Ctx, env: &dyn Env) -> Option<[(VirtAddr, PhysAddr, PhysAddr); 2]> {
    let scratch = ScratchVa::take(ctx, 2);
    let own = scratch_page(env, scratch.page(0), false)?;
    let Some(next) = scratch_page(env, scratch.page(1), false) else {
        drop_scratch_page(env, own);
        return None;
    };
    Some([own, next])
}

/// Unmaps and frees what [`scratch_page`] made, outside any section.
pub(crate) fn drop_scratch_page(env: &dyn Env, (va, ptep, pa): (VirtAddr, PhysAddr, PhysAddr)) {
    let mm = env.mm();
    mm.pte_clear(va, ptep);
    mm.flush_tlb_page(va, TlbScope::Broadcast);
    let _ = mm.free_page(pa);
}

fn in_lazy_semantics_plan(_flavour: Flavour, _target: Target) -> Plan {
    Plan { fixed: Applies::Yes, buggy: BuggyExpect::Caught { judges: &[Judge::State], rules: &[] } }
}

/// `arch_in_lazy_mmu_mode()` is false before enter, true inside, false
/// after leave, and false in an interrupt taken inside the section.
fn in_lazy_semantics(ctx: &mut Ctx) {
    let env = env(ctx);
    let mm = env.mm();
    if ctx.order() == Order::Buggy {
        // b81c688426a9's bug: the handler sees (and joins) the task's section.
        mm.inject_bug(InjectedBug::IrqJoinsSection);
    }
    kcheck!(ctx, Judge::State, !mm.arch_in_lazy_mmu_mode(), "in_lazy_semantics: lazy before enter");
    mm.arch_enter_lazy_mmu_mode();
    kcheck!(ctx, Judge::State, mm.arch_in_lazy_mmu_mode(), "in_lazy_semantics: not lazy inside");
    let mut in_irq = None;
    let interrupted = env.in_interrupt(&mut || {
        in_irq = Some((mm.arch_in_lazy_mmu_mode(), mm.is_lazy_mmu_mode_active()));
    });
    kcheck!(ctx, Judge::State, mm.arch_in_lazy_mmu_mode(), "in_lazy_semantics: not lazy after the interrupt");
    mm.arch_leave_lazy_mmu_mode();
    kcheck!(ctx, Judge::State, !mm.arch_in_lazy_mmu_mode(), "in_lazy_semantics: lazy after leave");
    if let Some(seen) = in_irq {
        kcheck_eq!(ctx, Judge::State, seen, (false, false), "in_lazy_semantics: (seed, upstream) in irq");
    } else if !interrupted {
        ctx.skip("the timer interrupt never came");
    }
}

ktest_case!(
    nesting,
    in_lazy_semantics,
    desc = "arch_in_lazy_mmu_mode() is false before enter, true inside, false after and in an interrupt",
    plan = in_lazy_semantics_plan,
    variants = &Flavour::ALL,
    in_lazy_semantics
);

/// A call that underflows one of the counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Underflow {
    Disable,
    Resume,
    Leave,
}

impl Underflow {
    fn rule(self) -> Rule {
        match self {
            Underflow::Disable => Rule::DisableWithoutEnable,
            Underflow::Resume => Rule::ResumeWithoutPause,
            Underflow::Leave => Rule::LeaveWithoutEnter,
        }
    }
}

/// Makes the underflowing call; returns its site, as the sanitizer names it.
#[track_caller]
fn underflow(mm: &KernelMm, call: Underflow) -> &'static Location<'static> {
    match call {
        Underflow::Disable => mm.lazy_mmu_mode_disable(),
        Underflow::Resume => mm.lazy_mmu_mode_resume(),
        Underflow::Leave => mm.arch_leave_lazy_mmu_mode(),
    }
    Location::caller()
}

fn underflow_warns_plan(_flavour: Flavour, _target: Target) -> Plan {
    // The sanitizer is off: each underflow's report is missing.
    Plan {
        fixed: Applies::Yes,
        buggy: BuggyExpect::Caught {
            judges: &[Judge::Sanitizer],
            rules: &[Rule::DisableWithoutEnable, Rule::ResumeWithoutPause, Rule::LeaveWithoutEnter],
        },
    }
}

/// Disable without enable, resume without pause and leave without enter
/// are each reported at their call site, and change no state; so is a
/// resume without pause inside a section, which goes on.
fn underflow_warns(ctx: &mut Ctx) {
    let env = env(ctx);
    let mm = env.mm();
    let cpu = mm.cpu_id();
    if ctx.order() == Order::Buggy {
        // Underflow accepted silently: nothing checks the counts.
        mm.set_sanitizer(Switch::Off);
    }
    let report =
        |rule, at, section_entered_at| Report { rule, cpu, at, section_entered_at, detail: ReportDetail::None };
    let mut expected: Vec<Report> = Vec::with_capacity(4);
    let quiet = mm.lazy_state(cpu);
    for call in [Underflow::Disable, Underflow::Resume, Underflow::Leave] {
        let at = underflow(mm, call);
        expected.push(report(call.rule(), at, None));
        kcheck_eq!(ctx, Judge::State, mm.lazy_state(cpu), quiet, "underflow_warns: state after {call:?} underflow");
    }
    mm.lazy_mmu_mode_enable();
    let open = mm.lazy_state(cpu);
    let at = underflow(mm, Underflow::Resume);
    expected.push(report(Rule::ResumeWithoutPause, at, open.entered_at));
    kcheck_eq!(ctx, Judge::State, mm.lazy_state(cpu), open, "underflow_warns: section after resume underflow");
    mm.lazy_mmu_mode_disable();
    mm.set_sanitizer(Switch::On);
    check_reports(ctx, "underflow_warns", &mm.take_reports(), &expected);
}

ktest_case!(
    nesting,
    underflow_warns,
    desc = "disable, resume and leave without their pair are reported at their call site and change no state",
    plan = underflow_warns_plan,
    variants = &Flavour::ALL,
    underflow_warns
);
