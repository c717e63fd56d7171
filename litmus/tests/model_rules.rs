//! Rules of herd7's VMSA model that none of its published tests in our
//! subset exercises, checked on programs of our own. The expected verdicts
//! follow from the herd7 cat clause named on each case (not from a herd7
//! run): each case is the allowed variant of a forbidden program that
//! `herd_verdicts.rs` pins with herd7's own verdict.

use litmus::{Observation, DEFAULT_STATE_LIMIT};

fn observe(text: &str) -> Observation {
    litmus::run(text, DEFAULT_STATE_LIMIT)
        .unwrap_or_else(|e| panic!("unsupported: {e}\n{text}"))
        .exploration
        .observation
}

/// Unmap `a`, invalidate it with `tlbi` followed by `after`, then publish a
/// flag; the other CPU reads the flag and then `a`. The condition: it saw
/// the flag and still used the old translation.
fn unmap_and_publish(between: &str, after: &str) -> String {
    format!(
        "AArch64 unmap-publish
{{ pte_a=(oa:phy_a); 0:X0=pte_a; 0:X1=(oa:phy_a,valid:0); 0:X2=a; 1:X2=a; 0:X5=flag; 1:X5=flag; }}
 P0 | P1 ;
 STR X1,[X0] | LDR W6,[X5] ;
 {between} | DMB LD ;
 LSR X8,X2,#12 | L9: LDR W3,[X2] ;
 TLBI VAAE1IS,X8 | ;
 {after} | ;
 MOV W6,#1 | ;
 STR W6,[X5] | ;
exists (1:X6=1 /\\ ~fault(P1:L9,a))"
    )
}

/// The reference shape: DSB ISH between the store and the TLBI, DSB ISH
/// after it. Forbidden (the pattern of herd7 `D15347-M-load-shoot+DMB.LD`,
/// unmapping instead of mapping).
#[test]
fn dsb_tlbi_dsb_publishes_the_unmap() {
    assert_eq!(observe(&unmap_and_publish("DSB ISH", "DSB ISH")), Observation::Never);
}

/// `C_TLBI = TLBI & domain(po; [dsb.full])` (enumerations.cat): with no
/// DSB SY/ISH after it a TLBI is not complete, and nothing after it is
/// ordered after it (`DSB-ob`), so it constrains no walk.
#[test]
fn tlbi_without_a_dsb_is_not_complete() {
    assert_eq!(observe(&unmap_and_publish("DSB ISH", "")), Observation::Sometimes);
}

/// `dsb.st` does not count for `C_TLBI`, and `DSB-ob` from a TLBI needs a
/// full DSB: a DSB ISHST after the TLBI leaves it incomplete.
#[test]
fn dsb_ishst_after_the_tlbi_is_not_enough() {
    assert_eq!(observe(&unmap_and_publish("DSB ISH", "DSB ISHST")), Observation::Sometimes);
}

/// `bob` orders explicit accesses only: a DMB between the store of the
/// entry and the TLBI does not keep the TLBI after the store (`DSB-ob`
/// does, and so does `dsb.st`), so the TLBI may run first and miss it.
#[test]
fn dmb_does_not_order_the_tlbi_after_the_store() {
    assert_eq!(observe(&unmap_and_publish("DMB SY", "DSB ISH")), Observation::Sometimes);
    assert_eq!(observe(&unmap_and_publish("DSB ISHST", "DSB ISH")), Observation::Never);
}
