//! The judge table: for each case with a buggy form, per variant and arch,
//! whether the fixed form applies and which judge must catch the buggy one.
//! `list verbose` prints it; the README's table is generated from it.

use alloc::vec::Vec;
use core::fmt;

use crate::case::{Case, Plan};

/// One cell: case × variant × arch → plan.
#[derive(Clone, Copy, Debug)]
pub struct JudgeRow {
    pub case: &'static Case,
    /// `None` for a case without variants.
    pub variant: Option<&'static str>,
    pub arch: &'static str,
    pub plan: Plan,
}

/// `<suite>.<case> <variant> fixed=.. buggy=..` (`-` for no variant).
impl fmt::Display for JudgeRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {} {}", self.case.id(), self.variant.unwrap_or("-"), self.plan.fixed, self.plan.buggy)
    }
}

/// The rows of every registered case with a buggy form, for `arch`.
pub fn judge_table(arch: &'static str) -> Vec<JudgeRow> {
    judge_rows(&crate::registry::cases(), arch)
}

/// The rows of `cases` (those with a buggy form), in their order, for `arch`.
pub fn judge_rows(cases: &[&'static Case], arch: &'static str) -> Vec<JudgeRow> {
    let mut rows = Vec::new();
    for case in cases {
        let Some(plan) = case.plan else { continue };
        if case.variants.is_empty() {
            rows.push(JudgeRow { case, variant: None, arch, plan: plan("", arch) });
        }
        for variant in case.variants {
            rows.push(JudgeRow { case, variant: Some(variant), arch, plan: plan(variant, arch) });
        }
    }
    rows
}
