//! The front end: what it reads, and what it refuses (with the reason)
//! rather than guess at.

use litmus::ast::{Atom, FaultKind, Instr, Prop, Quantifier};
use litmus::parse::parse;
use litmus::{Observation, DEFAULT_STATE_LIMIT};

const BASE: &str = "AArch64 base
Variant=vmsa,fatal
Hash=0123
{
 pte_a=(valid:0,db:1); (* invalid *)
 0:X0=pte_a; pteval_t 0:X1=(oa:PA(b), db:1); 0:X2=a; int b=1; [PTE(c)]=(oa:phy_c, af:0);
}
 P0 ;
 MOV W3,#1 ;
 STR X1,[X0] ;
 DSB ISH ;
L0: ;
 LDR W3,[X2] ;
locations [0:X3;]
exists (P0:X3=1 /\\ ~fault(P0:L0,a,MMU:Translation) \\/ b=1 /\\ pte_a=(oa:phy_b))";

/// Replaces `from` by `to` in the base test and returns the refusal.
fn refusal(from: &str, to: &str) -> String {
    let text = BASE.replace(from, to);
    assert_ne!(text, BASE, "{from} not in the base test");
    match litmus::run(&text, DEFAULT_STATE_LIMIT) {
        Ok(v) => panic!("accepted: {text}\n{:?}", v.exploration.observation),
        Err(reason) => reason.0,
    }
}

#[test]
fn reads_the_base_test() {
    let test = parse(BASE).expect("base test parses");
    assert_eq!(test.name, "base");
    assert_eq!(test.threads[0].len(), 4);
    assert_eq!(test.threads[0][3].label.as_deref(), Some("L0"));
    assert!(matches!(test.threads[0][3].instr, Some(Instr::Load { .. })));
    assert_eq!(test.condition.quantifier, Quantifier::Exists);
    let Prop::Or(left, _) = &test.condition.prop else { panic!("\\/ binds loosest: {:?}", test.condition.prop) };
    let Prop::And(_, fault) = left.as_ref() else { panic!("/\\ inside: {left:?}") };
    let Prop::Not(fault) = fault.as_ref() else { panic!("~ is a negation: {fault:?}") };
    assert!(matches!(fault.as_ref(), Prop::Atom(Atom::Fault(f)) if f.kind == Some(FaultKind::Translation)));
    let verdict = litmus::run(BASE, DEFAULT_STATE_LIMIT).expect("base test runs");
    assert_eq!(verdict.exploration.observation, Observation::Always);
}

#[test]
fn refuses_what_the_model_does_not_cover() {
    let cases = [
        ("Variant=vmsa,fatal", "TTHM=HA", "TTHM=HA (hardware access-flag/dirty-bit updates)"),
        ("Variant=vmsa,fatal", "Variant=vmsa,handled", "variant handled (only fatal faults are modelled)"),
        ("Variant=vmsa,fatal", "EL0=P0", "EL0=P0 (threads at EL0)"),
        (" P0 ;", " P0 | P0.F ;", "thread `P0.F` (threads must be P0, P1, ... with no fault handlers)"),
        (" DSB ISH ;", " CAS X1,X3,[X2] ;", "instruction CAS"),
        (" DSB ISH ;", " DSB OSHX ;", "barrier option OSHX"),
        (" LDR W3,[X2] ;", " LDR W3,[X2,#4] ;", "immediate offset in `[X2,#4]`"),
        ("exists (", "filter (", "condition `filter` (only exists, ~exists, forall)"),
        ("0:X2=a;", "0:X2=a; 0:X4=(valid:1);", "descriptor without `oa` outside the initialisation of a table entry"),
        ("(oa:PA(b), db:1)", "(oa:PA(b), attrs:(Normal))", "descriptor field `attrs:(Normal)`"),
        ("P0:L0,", "P0:L7,", "label L7 not in P0"),
        (" DSB ISH ;", " LSR X9,X2,#12 ;\n TLBI VAAE1IS,X2 ;", "TLBI operand that is not a page number (VA>>12)"),
    ];
    for (from, to, reason) in cases {
        assert_eq!(refusal(from, to), reason, "for {to}");
    }
}

#[test]
fn refuses_a_load_after_a_store_to_the_same_location() {
    let reason = refusal(" LDR W3,[X2] ;", " LDR X3,[X0] ;");
    assert!(reason.contains("after storing to it (store forwarding)"), "{reason}");
}

#[test]
fn refuses_when_the_state_space_is_over_the_bound() {
    match litmus::run(BASE, 3) {
        Err(reason) => assert_eq!(reason.0, "state space over 3 states"),
        Ok(_) => panic!("explored within 3 states"),
    }
}

#[test]
fn refuses_text_that_is_not_a_test() {
    assert_eq!(parse("").map(|t| t.name), Err(litmus::Unsupported("no initial state `{ ... }`".into())));
    assert!(parse("X86 t\n{}\n P0 ;\n MOV EAX,1 ;\nexists (0:EAX=1)").is_err());
    assert!(parse("AArch64 t\n{ (* open\n}\n").is_err());
}
