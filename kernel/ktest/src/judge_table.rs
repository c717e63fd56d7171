//! The judge table: for each case with a buggy form, per flavour and target,
//! whether the fixed form applies and which judge must catch the buggy one.
//! `list verbose` prints it (after a `# judge flavours:` line naming the
//! columns, from `Flavour::ALL`); `scripts/judge-table.sh` turns that into
//! the README's table.

use alloc::vec::Vec;
use core::fmt;

use mm::Flavour;

use crate::case::{Case, Plan};
use crate::target::Target;

/// One cell: case × variant × target → plan.
#[derive(Clone, Copy, Debug)]
pub struct JudgeRow {
    pub case: &'static Case,
    /// `None` for a case without variants (planned under the default flavour).
    pub variant: Option<Flavour>,
    pub target: Target,
    pub plan: Plan,
}

/// `<suite>.<case> <variant> fixed=.. buggy=..` (`-` for no variant).
impl fmt::Display for JudgeRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {}",
            self.case.id(),
            self.variant.map_or("-", Flavour::name),
            self.plan.fixed,
            self.plan.buggy
        )
    }
}

/// The rows of every registered case with a buggy form, for `target`.
pub fn judge_table(target: Target) -> Vec<JudgeRow> {
    judge_rows(&crate::registry::cases(), target)
}

/// The rows of `cases` (those with a buggy form), in their order, for `target`.
pub fn judge_rows(cases: &[&'static Case], target: Target) -> Vec<JudgeRow> {
    let mut rows = Vec::new();
    for case in cases {
        let variants: Vec<Option<Flavour>> = if case.variants.is_empty() {
            alloc::vec![None]
        } else {
            case.variants.iter().copied().map(Some).collect()
        };
        for variant in variants {
            if let Some(plan) = case.plan_for(variant, target) {
                rows.push(JudgeRow { case, variant, target, plan });
            }
        }
    }
    rows
}
