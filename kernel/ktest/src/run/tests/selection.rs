//! Selection and list mode against the fake platform: flavour lists,
//! filters by leaf, case and suite name, descriptions and the running
//! leaf's name (the judge table's tests are in `exact_tests`).

use std::string::{String, ToString};
use std::vec::Vec;

use mm::Flavour;

use super::{case, mmu_plan, planned, run_with, top, ALL};
use crate::case::{Case, Judge, Order};
use crate::cmdline::{Flavours, Mode, Options};
use crate::kcheck_eq;

#[test]
fn flavour_selection_keeps_only_that_variant() {
    let options = Options { flavour: Flavours::of(&[Flavour::Queued]), ..Options::default() };
    let run = run_with(&options, &ALL);
    let batched = top(&run.nodes, "lazy_batch").child("batched");
    let variants: Vec<&str> = batched.children.iter().map(|node| node.name.as_str()).collect();
    assert_eq!(variants, ["queued"]);
    assert!(top(&run.nodes, "lazy_batch").children.iter().all(|case| !case.name.starts_with("toothless")));
    assert!(top(&run.nodes, "boot").children.len() == 5, "cases without variants still run");
}

#[test]
fn filter_selects_forms_and_drops_empty_suites() {
    let options = Options { filter: vec![String::from("*.detects_bug")], ..Options::default() };
    let run = run_with(&options, &ALL);
    let names: Vec<&str> = run.nodes.iter().map(|node| node.name.as_str()).collect();
    assert_eq!(names, ["lazy_batch", "nesting"]);
    assert!(top(&run.nodes, "lazy_batch").children.iter().all(|case| case.name.ends_with(".detects_bug")));

    let options = Options { filter: vec![String::from("lazy_batch.batched")], ..Options::default() };
    let run = run_with(&options, &ALL);
    let cases: Vec<&str> = run.nodes[0].children.iter().map(|node| node.name.as_str()).collect();
    assert_eq!(cases, ["batched", "batched.detects_bug"]);
}

#[test]
fn list_mode_prints_cases_and_an_empty_plan() {
    let options = Options { mode: Mode::List, ..Options::default() };
    let run = run_with(&options, &ALL);
    assert!(run.nodes.is_empty());
    let output = run.platform.output();
    let lines: Vec<&str> = output.lines().collect();
    assert_eq!(lines.first(), Some(&"KTAP version 1"));
    assert_eq!(lines.last(), Some(&"1..0"));
    assert!(lines.contains(&"# case: boot.passes"));
    assert!(lines.contains(&"# case: lazy_batch.batched [variants: none,arm64,queued]"));
    assert!(lines.contains(&"# case: lazy_batch.batched.detects_bug [variants: none,arm64,queued]"));
    assert!(!lines.iter().any(|line| line.starts_with("# judge:")));
    assert!(!lines.iter().any(|line| line.contains("one barrier pair")), "descriptions only with details");
    assert!(run.platform.hooks.borrow().is_empty(), "list runs nothing");
    assert_eq!(run.summary, crate::run::Summary::default());
}

#[test]
fn a_leaf_name_runs_that_leaf_alone() {
    let options = Options { filter: vec![String::from("lazy_batch.batched.detects_bug.arm64")], ..Options::default() };
    let run = run_with(&options, &ALL);
    assert_eq!(run.summary.total, 1, "{}", run.platform.output());
    let detects = top(&run.nodes, "lazy_batch").child("batched.detects_bug");
    let variants: Vec<&str> = detects.children.iter().map(|node| node.name.as_str()).collect();
    assert_eq!(variants, ["arm64"]);
    let options = Options { filter: vec![String::from("boot.fails")], ..Options::default() };
    assert_eq!(run_with(&options, &ALL).summary.total, 1);
}

#[test]
fn the_running_leaf_is_named_as_filter_takes_it() {
    static NAMES: Case = planned(
        case("nesting", "names", &[Flavour::Queued], |ctx| {
            let name = crate::current().expect("running").leaf_name().to_string();
            let expected = match ctx.order() {
                Order::Fixed => "nesting.names.queued",
                Order::Buggy => "nesting.names.detects_bug.queued",
            };
            kcheck_eq!(ctx, Judge::State, name.as_str(), expected, "leaf name");
            if ctx.order() == Order::Buggy {
                ctx.fail(Judge::Mmu, format_args!("caught"));
            }
        }),
        mmu_plan,
    );
    let run = run_with(&Options::default(), &[&NAMES]);
    assert!(run.summary.passed(), "{}", run.platform.output());
    assert_eq!(run.summary.total, 2);
}
