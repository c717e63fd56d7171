//! The runner: selects cases from the options, prints the KTAP tree (run →
//! suites → cases → variants) and returns the leaf counts.

use alloc::string::String;
use alloc::vec::Vec;
use core::any::Any;

use mm::Flavour;

use crate::case::{Case, Form, Order, DETECTS_BUG};
use crate::cmdline::{Mode, Options};
use crate::judge_table::judge_rows;
use crate::ktap::{Counts, Ktap};
use crate::leaf::Leaf;
use crate::platform::Platform;
use crate::target::Target;

#[cfg(test)]
mod exact_tests;
#[cfg(test)]
mod tests;

/// Leaf counts of a whole run (the `# Totals:` line).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub pass: usize,
    pub fail: usize,
    pub skip: usize,
    pub total: usize,
    /// Failures that were watchdog timeouts (also counted in `fail`).
    pub timeouts: usize,
}

impl Summary {
    /// No leaf failed: the kernel reports Pass.
    pub fn passed(&self) -> bool {
        self.fail == 0
    }
}

impl From<Counts> for Summary {
    fn from(counts: Counts) -> Self {
        Summary {
            pass: counts.pass,
            fail: counts.fail,
            skip: counts.skip,
            total: counts.total(),
            timeouts: counts.timeouts,
        }
    }
}

/// One child of a suite: a case's plain form or its self-test, with the
/// leaves the options select (`None`: the one leaf of a case without
/// variants).
struct Entry {
    case: &'static Case,
    form: Form,
    leaves: Vec<Option<Flavour>>,
}

impl Entry {
    /// The KTAP name under the suite: `case` or `case.detects_bug`.
    fn name(&self) -> String {
        match self.form {
            Form::Plain => String::from(self.case.name),
            Form::DetectsBug => alloc::format!("{}.{DETECTS_BUG}", self.case.name),
        }
    }

    /// `suite.case` or `suite.case.detects_bug`, as `list` prints it.
    fn id(&self) -> String {
        alloc::format!("{}.{}", self.case.suite, self.name())
    }
}

struct Suite {
    name: &'static str,
    entries: Vec<Entry>,
}

/// Runs (or lists) every registered case the options select.
pub fn run(platform: &dyn Platform, options: &Options, env: &dyn Any) -> Summary {
    run_cases(platform, options, env, &crate::registry::cases())
}

/// [`run`] over an explicit list of cases, in the given order within each
/// suite (suites in order of first appearance).
pub fn run_cases(platform: &dyn Platform, options: &Options, env: &dyn Any, cases: &[&'static Case]) -> Summary {
    let ktap = Ktap::new(platform);
    let suites = select(options, cases);
    ktap.header(0);
    print_settings(&ktap, platform, options);
    if options.mode == Mode::List {
        list(&ktap, platform, options, &suites);
        return Summary::default();
    }
    ktap.plan(0, suites.len());
    let mut totals = Counts::default();
    for (index, suite) in suites.iter().enumerate() {
        ktap.subtest(1, suite.name);
        ktap.plan(1, suite.entries.len());
        let mut counts = Counts::default();
        for (entry_index, entry) in suite.entries.iter().enumerate() {
            counts.add(run_entry(platform, options, env, entry, entry_index + 1));
        }
        ktap.counts(0, suite.name, &counts);
        ktap.result(0, index + 1, suite.name, &counts.parent_result("all cases skipped"));
        totals.add(counts);
    }
    ktap.counts(0, "Totals", &totals);
    Summary::from(totals)
}

fn print_settings(ktap: &Ktap, platform: &dyn Platform, options: &Options) {
    let filter = if options.filter.is_empty() { String::from("*") } else { options.filter.join(",") };
    let inject = options.inject.map_or(String::from("none"), |inject| alloc::format!("{inject}"));
    ktap.diag(
        0,
        format_args!(
            "lazymmu: arch={} flavours={} only={} inject={inject} filter={filter}",
            platform.target(),
            options.flavour,
            options.only.name()
        ),
    );
}

/// Groups the selected leaves by suite; a suite with nothing selected is left out.
fn select(options: &Options, cases: &[&'static Case]) -> Vec<Suite> {
    let mut suites: Vec<Suite> = Vec::new();
    for &case in cases {
        for form in [Form::Plain, Form::DetectsBug] {
            let leaves = options.leaves(case, form);
            if leaves.is_empty() {
                continue;
            }
            let index = match suites.iter().position(|suite| suite.name == case.suite) {
                Some(index) => index,
                None => {
                    suites.push(Suite { name: case.suite, entries: Vec::new() });
                    suites.len() - 1
                }
            };
            suites[index].entries.push(Entry { case, form, leaves });
        }
    }
    suites
}

/// `list`: one `# case:` line per runnable form; with details, each case's
/// description under its first line and the judge table; then an empty
/// plan so KTAP parsers accept the output.
fn list(ktap: &Ktap, platform: &dyn Platform, options: &Options, suites: &[Suite]) {
    let mut described: Vec<&'static Case> = Vec::new();
    for entry in suites.iter().flat_map(|suite| suite.entries.iter()) {
        let flavours: Vec<&str> = entry.leaves.iter().flatten().map(|flavour| flavour.name()).collect();
        if flavours.is_empty() {
            ktap.diag(0, format_args!("case: {}", entry.id()));
        } else {
            ktap.diag(0, format_args!("case: {} [variants: {}]", entry.id(), flavours.join(",")));
        }
        let first_of_case = !described.iter().any(|case| core::ptr::eq(*case, entry.case));
        if options.wants_details() && first_of_case && !entry.case.desc.is_empty() {
            ktap.detail(0, format_args!("{}", entry.case.desc));
            described.push(entry.case);
        }
    }
    if options.wants_details() {
        let columns: Vec<&str> =
            Flavour::ALL.into_iter().filter(|flavour| options.flavour.includes(*flavour)).map(Flavour::name).collect();
        ktap.diag(0, format_args!("judge flavours: {}", columns.join(" ")));
        let mut selected: Vec<&'static Case> = Vec::new();
        for entry in suites.iter().flat_map(|suite| suite.entries.iter()) {
            if entry.case.has_buggy_form() && !selected.iter().any(|case| case.id() == entry.case.id()) {
                selected.push(entry.case);
            }
        }
        let target = platform.target();
        let model = Target::host_model(target.arch);
        let both = [target, model];
        let targets = if target == model { &both[..1] } else { &both[..] };
        for &target in targets {
            for row in judge_rows(&selected, target) {
                if row.variant.is_some_and(|variant| !options.flavour.includes(variant)) {
                    continue;
                }
                ktap.diag(0, format_args!("judge: {row}"));
            }
        }
    }
    ktap.plan(0, 0);
}

/// Runs one entry: a leaf of its own, or a subtest with a leaf per variant.
fn run_entry(platform: &dyn Platform, options: &Options, env: &dyn Any, entry: &Entry, number: usize) -> Counts {
    let ktap = Ktap::new(platform);
    let name = entry.name();
    let order = if options.inject == Some(entry.case.id()) { Order::Buggy } else { Order::Fixed };
    let leaf = |variant: Option<Flavour>, leaf_name: &str, depth: usize| {
        let leaf =
            Leaf { platform, env, case: entry.case, variant, name: leaf_name, depth, timeout_ms: options.timeout_ms };
        match entry.form {
            Form::Plain => leaf.run_plain(order),
            Form::DetectsBug => leaf.run_detects_bug(),
        }
    };
    if entry.case.variants.is_empty() {
        let outcome = leaf(None, &name, 1);
        ktap.result(1, number, &name, &outcome);
        return outcome.counts();
    }
    ktap.subtest(2, &name);
    ktap.plan(2, entry.leaves.len());
    let mut counts = Counts::default();
    for (index, variant) in entry.leaves.iter().flatten().enumerate() {
        let outcome = leaf(Some(*variant), variant.name(), 2);
        ktap.result(2, index + 1, variant.name(), &outcome);
        counts.add(outcome.counts());
    }
    ktap.counts(1, &name, &counts);
    ktap.result(1, number, &name, &counts.parent_result("all variants skipped"));
    counts
}
