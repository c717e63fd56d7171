//! How `filter=` names select leaves. A leaf answers to its own kunit.py
//! name and to each of its parents' names:
//!
//! | leaf                                   | answers to                                                                 |
//! |----------------------------------------|----------------------------------------------------------------------------|
//! | plain, flavour `F`                     | `suite`, `suite.case`, `suite.case.F`                                      |
//! | self-test, flavour `F`                 | `suite`, `suite.case`, `suite.case.detects_bug`, `suite.case.detects_bug.F` |
//! | plain / self-test of a case without variants | the same without the flavour                                          |
//!
//! So a leaf's own name (a FAIL line's, pasted back) selects exactly that
//! leaf; `suite.case` selects every flavour of both forms (a case drags its
//! `.detects_bug` along; `only=fixed` drops it); a bare `suite` selects the
//! suite. A glob matches any of these names, `*` spanning dots.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use mm::Flavour;

use crate::case::{Case, Form, LeafName, DETECTS_BUG};

/// The names a leaf answers to (the table above).
pub(super) fn pattern_names(case: &Case, form: Form, variant: Option<Flavour>) -> Vec<String> {
    let mut names = vec![String::from(case.suite), case.id().to_string()];
    if form == Form::DetectsBug {
        names.push(format!("{}.{DETECTS_BUG}", case.id()));
    }
    if variant.is_some() {
        names.push(LeafName { case: case.id(), form, variant }.to_string());
    }
    names
}

/// Every name that selects something of `case`: its suite, its own name,
/// its self-test's, and each leaf's. Suggestions are picked from these.
pub fn leaf_names(case: &Case) -> Vec<String> {
    let mut names = vec![String::from(case.suite), case.id().to_string()];
    let forms: &[Form] = if case.has_buggy_form() { &[Form::Plain, Form::DetectsBug] } else { &[Form::Plain] };
    for &form in forms {
        if form == Form::DetectsBug {
            names.push(format!("{}.{DETECTS_BUG}", case.id()));
        }
        for &flavour in case.variants {
            names.push(LeafName { case: case.id(), form, variant: Some(flavour) }.to_string());
        }
    }
    names
}

/// The name closest to `typed` by edit distance (first of equals), to
/// suggest instead of listing every name.
pub(super) fn nearest(typed: &str, names: impl IntoIterator<Item = String>) -> Option<String> {
    let mut best: Option<(usize, String)> = None;
    for name in names {
        let distance = edit_distance(typed, &name);
        if best.as_ref().is_none_or(|(best_distance, _)| distance < *best_distance) {
            best = Some((distance, name));
        }
    }
    best.map(|(_, name)| name)
}

/// Levenshtein distance over characters: insertions, deletions and
/// substitutions each cost one.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, a_char) in a.chars().enumerate() {
        let mut current = Vec::with_capacity(b.len() + 1);
        current.push(i + 1);
        for (j, &b_char) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(a_char != b_char);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests;
