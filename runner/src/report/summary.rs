//! The table printed at the end of a run: one row per suite with its leaf
//! counts, then a total row.

use crate::ktap::{Counts, Report};

pub fn table(report: &Report) -> String {
    let rows: Vec<(&str, Counts)> = report.suites.iter().map(|s| (s.name.as_str(), s.leaf_counts())).collect();
    let width = rows.iter().map(|(name, _)| name.len()).chain(["suite".len(), "total".len()]).max().unwrap_or(5);
    let mut out =
        format!("{:<width$}  {:>5}  {:>5}  {:>5}  {:>7}  {:>5}\n", "suite", "pass", "fail", "skip", "timeout", "total");
    let mut line = |name: &str, c: &Counts| {
        out.push_str(&format!(
            "{name:<width$}  {:>5}  {:>5}  {:>5}  {:>7}  {:>5}\n",
            c.pass,
            c.fail - c.timeout,
            c.skip,
            c.timeout,
            c.total()
        ));
    };
    for (name, counts) in &rows {
        line(name, counts);
    }
    line("total", &report.counts());
    out
}
