//! The host model against the exhaustive VMSA model of `litmus/`
//! (docs/litmus.md, held against herd7): each small program runs through
//! both, and the strict host model must produce the outcome exactly when
//! `litmus` says the architecture allows it. One CPU, one page: a store to
//! its entry (mapping it, or unmapping it after its translation was used),
//! the barriers and TLBIs under test, then an access.

use litmus::{Observation, DEFAULT_STATE_LIMIT};

use super::ModelMmu;
use crate::addr::{PhysAddr, VirtAddr};
use crate::frame::FrameAllocator;
use crate::mmu::{store_pte, Barrier, Mmu, PteFormat, TlbScope, TlbiTarget};
use crate::pgtable::PageTables;
use crate::pte::{Prot, PteValue};

const RAM: PhysAddr = PhysAddr::new(0x4000_0000);
const VA: VirtAddr = VirtAddr::new(0xffff_c000_0020_0000);

#[derive(Clone, Copy, Debug)]
enum Step {
    Dsb(Barrier),
    Isb,
    Tlbi(TlbScope),
}

impl Step {
    fn litmus(self) -> &'static str {
        match self {
            Step::Dsb(Barrier::DsbIsh) => "DSB ISH",
            Step::Dsb(_) => "DSB ISHST",
            Step::Isb => "ISB",
            Step::Tlbi(TlbScope::Local) => "TLBI VAAE1,X8",
            Step::Tlbi(TlbScope::Broadcast) => "TLBI VAAE1IS,X8",
        }
    }

    fn issue(self, mmu: &ModelMmu) {
        match self {
            Step::Dsb(barrier) => mmu.barrier(barrier),
            Step::Isb => mmu.barrier(Barrier::Isb),
            Step::Tlbi(scope) => mmu.tlbi(TlbiTarget::Page(VA), scope),
        }
    }
}

/// What the store to the entry does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Change {
    /// invalid → valid; the outcome asked about: the load faults.
    Map,
    /// valid (and used) → invalid; the outcome: the store does not fault.
    Unmap,
}

fn litmus_program(change: Change, steps: &[Step]) -> String {
    let (init, access, outcome) = match change {
        Change::Map => ("pte_a=(valid:0); 0:X1=(oa:phy_b); b=7;", "LDR W3,[X2]", "fault(P0:L9,a)"),
        Change::Unmap => ("pte_a=(oa:phy_a); 0:X1=(oa:phy_a,valid:0); 0:X3=4;", "STR W3,[X2]", "~fault(P0:L9,a)"),
    };
    let mut text = format!("AArch64 host-model-check\n{{ {init} 0:X0=pte_a; 0:X2=a; }}\n P0 ;\n STR X1,[X0] ;\n");
    if steps.iter().any(|step| matches!(step, Step::Tlbi(_))) {
        text.push_str(" LSR X8,X2,#12 ;\n");
    }
    for step in steps {
        text.push_str(&format!(" {} ;\n", step.litmus()));
    }
    text.push_str(&format!(" L9: {access} ;\nexists ({outcome})\n"));
    text
}

/// Whether the host model shows the outcome `litmus_program` asks about.
fn host_model_shows(change: Change, steps: &[Step]) -> bool {
    let mmu = ModelMmu::new(PteFormat::Arm64);
    let frames = spin::Mutex::new(FrameAllocator::new(&[(RAM, 1 << 20)]).expect("frames"));
    let tables = PageTables::new(&mmu, &frames).expect("tables");
    mmu.set_roots(tables.roots().low, tables.roots().high);
    let frame = frames.lock().alloc().expect("frame");
    let ptep = tables.pte_alloc(VA).expect("leaf table");
    let entry = PteFormat::Arm64.page_entry(frame, Prot::KERNEL_RW);
    mmu.full_barrier();
    if change == Change::Unmap {
        store_pte(&mmu, ptep, entry);
        mmu.full_barrier();
        assert!(mmu.read(VA).is_ok(), "the mapping is used before it is removed");
    }
    store_pte(&mmu, ptep, if change == Change::Map { entry } else { PteValue::NONE });
    steps.iter().for_each(|step| step.issue(&mmu));
    match change {
        Change::Map => mmu.read(VA).is_err(),
        Change::Unmap => mmu.write(VA, 4).is_ok(),
    }
}

#[test]
fn host_model_agrees_with_the_vmsa_model() {
    use Step::{Dsb, Isb, Tlbi};
    const ISH: Barrier = Barrier::DsbIsh;
    const ISHST: Barrier = Barrier::DsbIshSt;
    const BROADCAST: TlbScope = TlbScope::Broadcast;
    let programs: &[(Change, &[Step])] = &[
        (Change::Map, &[]),
        (Change::Map, &[Dsb(ISH)]),
        (Change::Map, &[Dsb(ISH), Isb]),
        (Change::Map, &[Dsb(ISHST), Isb]),
        (Change::Map, &[Isb]),
        (Change::Unmap, &[]),
        (Change::Unmap, &[Dsb(ISH), Isb]),
        (Change::Unmap, &[Dsb(ISHST), Tlbi(BROADCAST), Dsb(ISH), Isb]),
        (Change::Unmap, &[Dsb(ISH), Tlbi(BROADCAST), Dsb(ISH), Isb]),
        (Change::Unmap, &[Dsb(ISH), Tlbi(BROADCAST), Dsb(ISHST), Isb]),
        (Change::Unmap, &[Dsb(ISH), Tlbi(TlbScope::Local), Dsb(ISH), Isb]),
        (Change::Unmap, &[Dsb(ISH), Tlbi(BROADCAST), Isb]),
        (Change::Unmap, &[Tlbi(BROADCAST), Dsb(ISH), Isb]),
    ];
    let mut disagreements = Vec::new();
    for &(change, steps) in programs {
        let text = litmus_program(change, steps);
        let verdict = litmus::run(&text, DEFAULT_STATE_LIMIT).unwrap_or_else(|e| panic!("unsupported: {e}\n{text}"));
        let allowed = verdict.exploration.observation != Observation::Never;
        let shown = host_model_shows(change, steps);
        if allowed != shown {
            disagreements.push(format!("{change:?} {steps:?}: litmus allowed={allowed}, host model shows={shown}"));
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}
