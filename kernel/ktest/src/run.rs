//! The runner: selects cases from the options, prints the KTAP tree (run →
//! suites → cases → variants) and returns the leaf counts.

use alloc::string::String;
use alloc::vec::Vec;
use core::any::Any;

use mm::Flavour;

use crate::case::{Case, Order};
use crate::cmdline::{detects_bug_id, Mode, Options, DETECTS_BUG_SUFFIX};
use crate::judge_table::judge_rows;
use crate::ktap::{Counts, Ktap};
use crate::leaf::Leaf;
use crate::platform::Platform;

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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Form {
    Plain,
    DetectsBug,
}

/// One child of a suite: a case's plain form or its self-test.
struct Entry {
    case: &'static Case,
    form: Form,
    variants: Vec<Flavour>,
}

impl Entry {
    fn name(&self) -> String {
        match self.form {
            Form::Plain => String::from(self.case.name),
            Form::DetectsBug => {
                let mut name = String::from(self.case.name);
                name.push_str(DETECTS_BUG_SUFFIX);
                name
            }
        }
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
    let flavours = options.flavour.name();
    let filter = if options.filter.is_empty() { String::from("*") } else { options.filter.join(",") };
    match options.inject {
        Some(inject) => ktap.diag(
            0,
            format_args!("lazymmu: arch={} flavours={flavours} inject={inject} filter={filter}", platform.target()),
        ),
        None => ktap.diag(
            0,
            format_args!("lazymmu: arch={} flavours={flavours} inject=none filter={filter}", platform.target()),
        ),
    }
}

/// Groups the selected forms by suite; a suite with nothing selected is left out.
fn select(options: &Options, cases: &[&'static Case]) -> Vec<Suite> {
    let mut suites: Vec<Suite> = Vec::new();
    for case in cases.iter().copied().filter(|case| options.runs_under_flavour(case)) {
        let variants = options.variants_of(case);
        let mut forms = Vec::new();
        if options.selects_plain(case) {
            forms.push(Form::Plain);
        }
        if options.selects_detects_bug(case) {
            forms.push(Form::DetectsBug);
        }
        if forms.is_empty() {
            continue;
        }
        let index = match suites.iter().position(|suite| suite.name == case.suite) {
            Some(index) => index,
            None => {
                suites.push(Suite { name: case.suite, entries: Vec::new() });
                suites.len() - 1
            }
        };
        for form in forms {
            suites[index].entries.push(Entry { case, form, variants: variants.clone() });
        }
    }
    suites
}

/// `list`: one `# case:` line per runnable form, the judge table when asked,
/// then an empty plan so KTAP parsers accept the output.
fn list(ktap: &Ktap, platform: &dyn Platform, options: &Options, suites: &[Suite]) {
    for entry in suites.iter().flat_map(|suite| suite.entries.iter()) {
        let id = match entry.form {
            Form::Plain => alloc::format!("{}", entry.case.id()),
            Form::DetectsBug => detects_bug_id(entry.case),
        };
        if entry.variants.is_empty() {
            ktap.diag(0, format_args!("case: {id}"));
        } else {
            let names: Vec<&str> = entry.variants.iter().map(|variant| variant.name()).collect();
            ktap.diag(0, format_args!("case: {id} [variants: {}]", names.join(",")));
        }
    }
    if options.wants_judge_table() {
        let columns: Vec<&str> =
            Flavour::ALL.into_iter().filter(|flavour| options.flavour.includes(*flavour)).map(Flavour::name).collect();
        ktap.diag(0, format_args!("judge flavours: {}", columns.join(" ")));
        let mut selected: Vec<&'static Case> = Vec::new();
        for entry in suites.iter().flat_map(|suite| suite.entries.iter()) {
            if entry.case.has_buggy_form() && !selected.iter().any(|case| case.id() == entry.case.id()) {
                selected.push(entry.case);
            }
        }
        for row in judge_rows(&selected, platform.target()) {
            if row.variant.is_some_and(|variant| !options.flavour.includes(variant)) {
                continue;
            }
            ktap.diag(0, format_args!("judge: {row}"));
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
    ktap.plan(2, entry.variants.len());
    let mut counts = Counts::default();
    for (index, variant) in entry.variants.iter().enumerate() {
        let outcome = leaf(Some(*variant), variant.name(), 2);
        ktap.result(2, index + 1, variant.name(), &outcome);
        counts.add(outcome.counts());
    }
    ktap.counts(1, &name, &counts);
    ktap.result(1, number, &name, &counts.parent_result("all variants skipped"));
    counts
}
