//! herd7's verdicts on its own VMSA tests, as facts the model must keep.
//! Each program is written here in our own words (names and layout ours),
//! with the same meaning as the herd7 test named in its comment; the verdict
//! is herd7's, from `catalogue/aarch64-VMSA/tests/kinds.txt` or the
//! `.expected` file of `herd/tests/instructions/AArch64.kvm`. Together they
//! pin every rule of the model: `make litmus HERD_DIR=...` runs the full
//! suites, and dropping any one rule makes some case here fail.

use litmus::{Observation, DEFAULT_STATE_LIMIT};

/// herd7's verdict on a test.
#[derive(Clone, Copy, Debug)]
enum Herd {
    /// kinds.txt "Allowed": the condition can hold.
    Allowed,
    /// kinds.txt "Forbidden": it never holds.
    Forbidden,
    /// An `Observation` line of a `.expected` file.
    Observed(Observation),
}

fn check(herd: Herd, text: &str) {
    let verdict = litmus::run(text, DEFAULT_STATE_LIMIT).unwrap_or_else(|e| panic!("unsupported: {e}\n{text}"));
    let ours = verdict.exploration.observation;
    let agrees = match herd {
        Herd::Allowed => ours != Observation::Never,
        Herd::Forbidden => ours == Observation::Never,
        Herd::Observed(o) => ours == o,
    };
    assert!(agrees, "{}: ours {ours}, herd7 {herd:?}", verdict.name);
}

/// herd7 `D15347-load-DSB`: a fresh valid entry followed only by DSB ISH;
/// the walk of the next load may have run before the store (DSB does not
/// order translation walks), so the load may fault.
#[test]
fn dsb_alone_allows_a_spurious_fault() {
    check(
        Herd::Allowed,
        "AArch64 map-dsb-load
{ pte_a=(valid:0); 0:X0=pte_a; 0:X1=(oa:phy_b); 0:X2=a; b=7; }
 P0 ;
 STR X1,[X0] ;
 DSB ISH ;
 L9: LDR W3,[X2] ;
exists (fault(P0:L9,a))",
    );
}

/// herd7 `D15347-load-DSB-ISB`: DSB ISH then ISB; the walk runs after the
/// store, and an invalid entry is never cached, so no fault.
#[test]
fn dsb_isb_forbids_the_spurious_fault() {
    check(
        Herd::Forbidden,
        "AArch64 map-dsb-isb-load
{ pte_a=(valid:0); 0:X0=pte_a; 0:X1=(oa:phy_b); 0:X2=a; b=7; }
 P0 ;
 STR X1,[X0] ;
 DSB ISH ;
 ISB ;
 L9: LDR W3,[X2] ;
exists (fault(P0:L9,a))",
    );
}

/// herd7 `I2V-UP-STR-DSB-ISB`: a valid entry (dirty bit clear) may stay in
/// the TLB after it is overwritten, even past DSB+ISB: a permission fault
/// is cached, unlike a translation fault.
#[test]
fn a_valid_entry_stays_cached_without_tlbi() {
    check(
        Herd::Allowed,
        "AArch64 clean-to-dirty
{ pte_a=(oa:phy_a,db:0); 0:X0=pte_a; 0:X1=(oa:phy_a,db:1); 0:X2=a; 0:X3=5; }
 P0 ;
 STR X1,[X0] ;
 DSB ISH ;
 ISB ;
 L9: STR W3,[X2] ;
exists (fault(P0:L9,a))",
    );
}

/// herd7 `D15347-M-load-DSB+DSB-ISB`: two CPUs; the reader sees the flag,
/// then DSB+ISB: its walk is ordered after the store of the entry.
#[test]
fn message_passing_with_dsb_isb_on_the_reader() {
    check(
        Herd::Forbidden,
        "AArch64 mp-map-dsb-isb
{ pte_a=(valid:0); 0:X0=pte_a; 0:X1=(oa:phy_b); 1:X2=a; b=7; 0:X5=flag; 1:X5=flag; }
 P0 | P1 ;
 STR X1,[X0] | LDR W6,[X5] ;
 DSB ISH | DSB ISH ;
 MOV W6,#1 | ISB ;
 STR W6,[X5] | L9: LDR W3,[X2] ;
exists (1:X6=1 /\\ fault(P1:L9,a))",
    );
}

/// herd7 `D15347-M-load-shoot+DMB.LD`: with a TLBI of the page completed by
/// DSB ISH before the flag, a reader that sees the flag (DMB LD) cannot
/// fault: any walk that read the old entry had to finish before the DSB.
#[test]
fn broadcast_tlbi_then_dsb_ish_reaches_the_other_cpu() {
    check(
        Herd::Forbidden,
        "AArch64 mp-map-tlbi
{ pte_a=(valid:0); 0:X0=pte_a; 0:X1=(oa:phy_b); 0:X2=a; 1:X2=a; b=7; 0:X5=flag; 1:X5=flag; }
 P0 | P1 ;
 STR X1,[X0] | LDR W6,[X5] ;
 DSB ISH | DMB LD ;
 LSR X8,X2,#12 | L9: LDR W3,[X2] ;
 TLBI VAAE1IS,X8 | ;
 DSB ISH | ;
 MOV W6,#1 | ;
 STR W6,[X5] | ;
exists (1:X6=1 /\\ fault(P1:L9,a))",
    );
}

/// herd7 `D15347-M-load-shoot-noscope+DMB.LD`: the same with a TLBI of
/// another page: it does not touch the entry of `a`.
#[test]
fn tlbi_by_va_covers_only_its_page() {
    check(
        Herd::Allowed,
        "AArch64 mp-map-tlbi-other-page
{ pte_a=(valid:0); 0:X0=pte_a; 0:X1=(oa:phy_b); 0:X2=a; 0:X4=c; 1:X2=a; b=7; 0:X5=flag; 1:X5=flag; }
 P0 | P1 ;
 STR X1,[X0] | LDR W6,[X5] ;
 DSB ISH | DMB LD ;
 LSR X8,X4,#12 | L9: LDR W3,[X2] ;
 TLBI VAAE1IS,X8 | ;
 DSB ISH | ;
 MOV W6,#1 | ;
 STR W6,[X5] | ;
exists (1:X6=1 /\\ fault(P1:L9,a))",
    );
}

/// herd7 `V2I-W-DSB.ISH-TLBI-DSB.ISH-ISB-W`: unmap, TLBI, DSB ISH, ISB: the
/// old translation is gone, the store faults.
#[test]
fn unmap_tlbi_dsb_ish_isb_removes_the_old_entry() {
    check(
        Herd::Forbidden,
        "AArch64 unmap-tlbi-dsb-ish
{ pte_a=(oa:phy_a); 0:X0=pte_a; 0:X1=(oa:phy_a,valid:0); 0:X2=a; 0:X3=4; }
 P0 ;
 STR X1,[X0] ;
 DSB ISH ;
 LSR X8,X2,#12 ;
 TLBI VAAE1,X8 ;
 DSB ISH ;
 ISB ;
 L9: STR W3,[X2] ;
exists (~fault(P0:L9,a))",
    );
}

/// herd7 `V2I-W-DSB.ISH-TLBI-DSB.ST-ISB-W`: the same with DSB ST after the
/// TLBI: a store-only DSB does not complete a TLBI.
#[test]
fn dsb_ishst_does_not_complete_a_tlbi() {
    check(
        Herd::Allowed,
        "AArch64 unmap-tlbi-dsb-st
{ pte_a=(oa:phy_a); 0:X0=pte_a; 0:X1=(oa:phy_a,valid:0); 0:X2=a; 0:X3=4; }
 P0 ;
 STR X1,[X0] ;
 DSB ISH ;
 LSR X8,X2,#12 ;
 TLBI VAAE1,X8 ;
 DSB ST ;
 ISB ;
 L9: STR W3,[X2] ;
exists (~fault(P0:L9,a))",
    );
}

/// herd7 `V2I-W-DSB.ISH-TLBI-DSB.ISH-W+RR`: a local TLBI (no IS) leaves the
/// other CPU's TLB alone: it may still use the unmapped entry.
#[test]
fn local_tlbi_does_not_reach_the_other_cpu() {
    check(
        Herd::Allowed,
        "AArch64 unmap-local-tlbi
{ pte_a=(oa:phy_a); 0:X0=pte_a; 0:X1=(oa:phy_a,valid:0); 0:X2=a; 1:X2=a; 0:X3=1; 0:X5=flag; 1:X5=flag; }
 P0 | P1 ;
 STR X1,[X0] | LDR W6,[X5] ;
 DSB ISH | DMB LD ;
 LSR X8,X2,#12 | L9: LDR W3,[X2] ;
 TLBI VAAE1,X8 | ;
 DSB ISH | ;
 STR W3,[X5] | ;
exists (1:X6=1 /\\ ~fault(P1:L9,a))",
    );
}

/// herd7 `coWRExpNExp+DSB-TLBI-DSB`: map, DSB, TLBI, DSB but no ISB: the
/// load's walk may still have run before the map.
#[test]
fn tlbi_and_dsb_without_isb_still_allow_the_fault() {
    check(
        Herd::Allowed,
        "AArch64 map-tlbi-no-isb
{ pte_a=(valid:0); 0:X0=pte_a; 0:X1=(oa:phy_a); 0:X2=a; }
 P0 ;
 STR X1,[X0] ;
 DSB ISH ;
 LSR X8,X2,#12 ;
 TLBI VAAE1IS,X8 ;
 DSB ISH ;
 L9: LDR W3,[X2] ;
exists (fault(P0:L9,a))",
    );
}

/// herd7 `D15347-2+2W+DMBST+DSB-ISB`: the store after DSB+ISB on the second
/// CPU is translated after the first CPU's map became visible.
#[test]
fn isb_orders_the_walk_of_a_later_store() {
    check(
        Herd::Forbidden,
        "AArch64 2+2w-map
{ int c; int b=1; pte_a=(valid:0); 0:X0=pte_a; 0:X1=(oa:phy_b); 1:X2=a; 0:X5=c; 1:X5=c; }
 P0 | P1 ;
 STR X1,[X0] | MOV W6,#2 ;
 DMB ST | STR W6,[X5] ;
 MOV W6,#1 | DSB ISH ;
 STR W6,[X5] | ISB ;
  | L9: STR W3,[X2] ;
exists (c=2 /\\ fault(P1:L9,a))",
    );
}

/// herd7 `coRR-pte2`: two loads of one location cannot see the writes in
/// reverse order (`Exp-haz-ob`).
#[test]
fn two_loads_of_one_location_keep_coherence() {
    check(
        Herd::Forbidden,
        "AArch64 corr
{ 0:X1=a; 0:X2=a; 1:X2=a; 1:X3=1; pte_a=(db:1); }
 P0 | P1 ;
 LDR W4,[X1] | STR W3,[X2] ;
 LDR W5,[X2] | ;
exists (0:X4=1 /\\ 0:X5=0)",
    );
}

/// herd7 `VIS01-store`: the walk of an earlier store comes before a later
/// store to the table entry, so the earlier store cannot use the new entry.
#[test]
fn walk_of_an_earlier_store_precedes_a_later_store() {
    check(
        Herd::Forbidden,
        "AArch64 store-then-remap
{ 0:X1=a; 0:X3=(oa:phy_b,db:1); 0:X4=pte_a; pte_a=(db:1); }
 P0 ;
 MOV W2,#1 ;
 STR W2,[X1] ;
 STR X3,[X4] ;
exists (b=1)",
    );
}

/// herd7 `coRR-pte15`: a load that used an entry a remote TLBI removes must
/// finish, with the thread's earlier walks, before the TLBI's DSB.
#[test]
fn tlbi_waits_for_earlier_walks_of_a_remote_access() {
    check(
        Herd::Forbidden,
        "AArch64 corr-remap
{ 0:X1=a; 0:X2=a; 1:X2=pte_a; 2:X2=pte_a; pte_a=(db:1); 2:X4=(oa:phy_b,db:1); b=1;
  1:X0=(oa:phy_a,valid:0,db:1); 2:X1=a; }
 P0 | P1 | P2 ;
 L1: LDR W5,[X1] | STR X0,[X2] | ;
 L0: LDR W6,[X2] | | LDR X7,[X2] ;
  | | DSB ISH ;
  | | LSR X8,X1,#12 ;
  | | TLBI VAAE1IS,X8 ;
  | | DSB ISH ;
  | | STR X4,[X2] ;
exists (0:X5=1 /\\ 0:X6=0 /\\ 2:X7=(oa:phy_a,valid:0,db:1) /\\ ~fault(P0:L0,a))",
    );
}

/// herd7 `A023` (AArch64.kvm, "Observation A023 Never"): an address
/// dependency orders the load before the TLBI; TLBI, DSB, ISB then make the
/// unmapped page fault.
#[test]
fn address_dependency_into_a_tlbi() {
    check(
        Herd::Observed(Observation::Never),
        "AArch64 addr-tlbi
{ [c]=b; pteval_t 0:X0=(oa:PA(a), valid:0); 0:X1=PTE(a); 0:X3=b; 1:X3=b; 1:X5=a; }
 P0 | P1 ;
 STR X0,[X1] | LDR W2,[X3] ;
 DMB ST | EOR W6,W2,W2 ;
 MOV W2,#1 | ADD X7,X5,W6,SXTW ;
 STR W2,[X3] | LSR X9,X7,#12 ;
  | TLBI VAAE1IS,X9 ;
  | DSB ISH ;
  | ISB ;
  | LDR W4,[X5] ;
~exists (1:X2=1 /\\ not (fault(P1,a,MMU:Translation)))",
    );
}

/// herd7 `A001` (AArch64.kvm, "Observation A001 Always"): a fault is fatal:
/// the faulting load writes nothing and later instructions never run.
#[test]
fn a_fault_ends_the_thread() {
    check(
        Herd::Observed(Observation::Always),
        "AArch64 fatal
{ a=1; [PTE(a)]=(oa:PA(a),valid:0); 0:X1=a; 0:X2=0; }
 P0 ;
 LDR W0,[X1] ;
 MOV W2,#1 ;
forall (0:X0=0 /\\ 0:X2=0)",
    );
}
