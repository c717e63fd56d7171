//! Name selection: a leaf's own name (a FAIL line's) selects exactly it,
//! a case drags its self-test unless `only=fixed`, suites, globs, comma
//! lists and flavour lists; and the nearest-name suggestion.

use std::string::{String, ToString};
use std::vec::Vec;

use super::{edit_distance, leaf_names, nearest};
use crate::case::{Form, LeafName};
use crate::cmdline::tests::{parse_str, BATCHED, CASES, DRAINS};
use crate::cmdline::{CmdlineError, Flavours, Only, Options};
use mm::Flavour;

/// The leaves `options` selects, by their kunit.py names.
fn selected(options: &Options) -> Vec<String> {
    let mut names = Vec::new();
    for case in CASES {
        for form in [Form::Plain, Form::DetectsBug] {
            for variant in options.leaves(case, form) {
                names.push(LeafName { case: case.id(), form, variant }.to_string());
            }
        }
    }
    names
}

fn selected_by(line: &str) -> Vec<String> {
    selected(&parse_str(line).unwrap_or_else(|error| panic!("{line}: {error}")))
}

#[test]
fn a_leaf_name_selects_exactly_that_leaf() {
    let all = selected(&Options::default());
    assert_eq!(all.len(), 7, "{all:?}");
    for name in &all {
        assert_eq!(selected_by(&std::format!("filter={name}")), std::slice::from_ref(name), "{name}");
    }
    assert!(all.contains(&String::from("boot.wx_text")));
    assert!(all.contains(&String::from("lazy_batch.barriers_batched.detects_bug.arm64")));
    assert!(all.contains(&String::from("lazy_batch.batch_full_drains.tlb-batch")));
}

#[test]
fn a_case_selects_its_flavours_and_drags_its_self_test_unless_only_fixed() {
    let both = selected_by("filter=lazy_batch.barriers_batched");
    assert_eq!(
        both,
        [
            "lazy_batch.barriers_batched.none",
            "lazy_batch.barriers_batched.arm64",
            "lazy_batch.barriers_batched.detects_bug.none",
            "lazy_batch.barriers_batched.detects_bug.arm64"
        ]
    );
    let fixed = selected_by("filter=lazy_batch.barriers_batched only=fixed");
    assert_eq!(fixed, both[..2]);
    assert_eq!(selected_by("filter=lazy_batch.barriers_batched.detects_bug"), both[2..]);
    assert_eq!(selected_by("only=detects"), both[2..]);
    assert!(matches!(
        parse_str("filter=boot.wx_text only=detects"),
        Err(CmdlineError::NothingSelected { only: Only::Detects, .. })
    ));
}

#[test]
fn a_bare_suite_globs_and_comma_lists_select_their_leaves() {
    assert_eq!(selected_by("filter=boot"), ["boot.wx_text"]);
    assert_eq!(selected_by("filter=lazy_batch").len(), 6);
    assert_eq!(selected_by("filter=lazy_batch.*"), selected_by("filter=lazy_batch"));
    assert_eq!(
        selected_by("filter=*.arm64"),
        ["lazy_batch.barriers_batched.arm64", "lazy_batch.barriers_batched.detects_bug.arm64"]
    );
    assert_eq!(
        selected_by("filter=boot,lazy_batch.batch_full_drains.none"),
        ["boot.wx_text", "lazy_batch.batch_full_drains.none"]
    );
    assert_eq!(selected_by("filter=*.detects_bug"), selected_by("only=detects"));
    let options = parse_str("filter=lazy_batch.barriers_?atched").expect("? glob");
    assert!(!options.leaves(&BATCHED, Form::Plain).is_empty());
    assert!(!options.leaves(&BATCHED, Form::DetectsBug).is_empty());
    assert!(!options.selects(&DRAINS));
}

#[test]
fn flavour_takes_a_list() {
    let options = parse_str("flavour=arm64,tlb-batch").expect("two flavours");
    assert_eq!(options.flavour, Flavours::of(&[Flavour::Arm64, Flavour::TlbBatch]));
    assert_eq!(options.flavour.to_string(), "arm64,tlb-batch");
    assert_eq!(
        selected(&options),
        [
            "boot.wx_text",
            "lazy_batch.barriers_batched.arm64",
            "lazy_batch.barriers_batched.detects_bug.arm64",
            "lazy_batch.batch_full_drains.tlb-batch"
        ]
    );
}

#[test]
fn every_suggested_name_selects_something() {
    for case in CASES {
        for name in leaf_names(case) {
            assert!(!selected_by(&std::format!("filter={name}")).is_empty(), "{name}");
        }
    }
}

#[test]
fn edit_distance_counts_single_character_edits() {
    assert_eq!(edit_distance("", ""), 0);
    assert_eq!(edit_distance("nesting", "nesting"), 0);
    assert_eq!(edit_distance("nestin", "nesting"), 1);
    assert_eq!(edit_distance("kitten", "sitting"), 3);
    assert_eq!(edit_distance("", "abc"), 3);
}

#[test]
fn nearest_picks_the_closest_and_the_first_of_equals() {
    let names = || ["nesting", "lazy_batch", "lazy_batch.flush_keeps_lazy"].map(String::from);
    assert_eq!(nearest("lazy_bach", names()).as_deref(), Some("lazy_batch"));
    assert_eq!(nearest("lazy_batch.flush_keep_lazy", names()).as_deref(), Some("lazy_batch.flush_keeps_lazy"));
    assert_eq!(nearest("x", []), None);
}
