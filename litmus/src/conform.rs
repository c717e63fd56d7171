//! Conformance against herd7: runs every test of a herdtools7 checkout's
//! `herd/tests/instructions/AArch64.kvm` (herd7's output in `NAME.litmus.expected`)
//! and `catalogue/aarch64-VMSA/tests` (the expected kind in `kinds.txt`),
//! and compares the verdicts.

use crate::condition::Observation;
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

pub const KVM_DIR: &str = "herd/tests/instructions/AArch64.kvm";
pub const CATALOGUE_DIR: &str = "catalogue/aarch64-VMSA/tests";

/// What herd7 says about a test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reference {
    /// The `Observation` word of a `.expected` file.
    Observed(Observation),
    /// `kinds.txt`: the proposition can hold.
    Allowed,
    /// `kinds.txt`: the proposition never holds.
    Forbidden,
    /// `kinds.txt`: the proposition always holds.
    Required,
}

impl Reference {
    pub fn agrees(self, ours: Observation) -> bool {
        match self {
            Reference::Observed(o) => o == ours,
            Reference::Allowed => ours != Observation::Never,
            Reference::Forbidden => ours == Observation::Never,
            Reference::Required => ours == Observation::Always,
        }
    }
}

/// One test to check: its file and, once read, herd7's reference verdict.
#[derive(Clone, Debug)]
pub struct Case {
    pub suite: &'static str,
    pub path: PathBuf,
    pub reference: Option<Reference>,
}

/// The result of one test.
#[derive(Clone, Debug)]
pub enum CaseResult {
    Agree,
    Disagree {
        ours: Observation,
        herd: Reference,
    },
    Unsupported(String),
    /// herd7 gives no (or a contradictory) verdict for it.
    NoReference,
}

/// Finds the two suites under `herd_dir`, or says what is missing.
pub fn collect(herd_dir: &Path) -> Result<Vec<Case>, String> {
    let kvm = herd_dir.join(KVM_DIR);
    let catalogue = herd_dir.join(CATALOGUE_DIR);
    let kinds_path = catalogue.join("kinds.txt");
    for needed in [&kvm, &kinds_path] {
        if !needed.exists() {
            return Err(format!("{} not found: HERD_DIR must be a herdtools7 checkout", needed.display()));
        }
    }
    let mut cases = Vec::new();
    for path in litmus_files(&kvm)? {
        let expected = PathBuf::from(format!("{}.expected", path.display()));
        let reference = fs::read_to_string(&expected).ok().and_then(|text| observation_line(&text));
        cases.push(Case { suite: "AArch64.kvm", path, reference: reference.map(Reference::Observed) });
    }
    let kinds = fs::read_to_string(&kinds_path).map_err(|e| format!("{}: {e}", kinds_path.display()))?;
    let kinds = parse_kinds(&kinds);
    for path in litmus_files(&catalogue)? {
        let reference = test_name(&path).and_then(|name| kinds.get(&name).copied().flatten());
        cases.push(Case { suite: "aarch64-VMSA", path, reference });
    }
    Ok(cases)
}

/// Every `.litmus` file under `dir`, sorted.
fn litmus_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for entry in entries {
            let path = entry.map_err(|e| format!("{}: {e}", dir.display()))?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "litmus") {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// The test name from the first line of the file (`AArch64 NAME`).
fn test_name(path: &Path) -> Option<String> {
    let text = fs::read_to_string(path).ok()?;
    text.lines().find(|l| !l.trim().is_empty())?.split_whitespace().nth(1).map(str::to_string)
}

/// `Observation NAME Never|Sometimes|Always ...` in herd7's output.
fn observation_line(text: &str) -> Option<Observation> {
    let line = text.lines().find(|l| l.starts_with("Observation "))?;
    match line.split_whitespace().nth(2)? {
        "Never" => Some(Observation::Never),
        "Sometimes" => Some(Observation::Sometimes),
        "Always" => Some(Observation::Always),
        _ => None,
    }
}

/// `NAME KIND [# comment]` lines; a name listed twice with different kinds
/// has no reference (`None`).
fn parse_kinds(text: &str) -> HashMap<String, Option<Reference>> {
    let mut kinds: HashMap<String, Option<Reference>> = HashMap::new();
    for line in text.lines().map(str::trim).filter(|l| !l.starts_with('#')) {
        let mut words = line.split_whitespace();
        let (Some(name), Some(kind)) = (words.next(), words.next()) else { continue };
        let kind = match kind {
            "Allowed" | "Allow" => Reference::Allowed,
            "Forbidden" | "Forbid" => Reference::Forbidden,
            "Required" | "Require" => Reference::Required,
            _ => continue,
        };
        let entry = kinds.entry(name.to_string()).or_insert(Some(kind));
        if *entry != Some(kind) {
            *entry = None;
        }
    }
    kinds
}

/// Checks one case with the model.
pub fn check(case: &Case, state_limit: usize) -> CaseResult {
    let text = match fs::read_to_string(&case.path) {
        Ok(text) => text,
        Err(e) => return CaseResult::Unsupported(format!("unreadable: {e}")),
    };
    let verdict = match crate::run(&text, state_limit) {
        Ok(v) => v,
        Err(reason) => return CaseResult::Unsupported(reason.0),
    };
    let ours = verdict.exploration.observation;
    match case.reference {
        None => CaseResult::NoReference,
        Some(herd) if herd.agrees(ours) => CaseResult::Agree,
        Some(herd) => CaseResult::Disagree { ours, herd },
    }
}

/// Counts per suite: agree, disagree, unsupported, no reference.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub agree: usize,
    pub disagree: usize,
    pub unsupported: usize,
    pub no_reference: usize,
}

impl Tally {
    pub fn add(&mut self, result: &CaseResult) {
        match result {
            CaseResult::Agree => self.agree += 1,
            CaseResult::Disagree { .. } => self.disagree += 1,
            CaseResult::Unsupported(_) => self.unsupported += 1,
            CaseResult::NoReference => self.no_reference += 1,
        }
    }
}

/// Groups unsupported reasons: the reason's first word (thread numbers
/// dropped) and its closing explanation in parentheses, or the whole
/// reason when it has none; most frequent first.
pub fn reason_summary<'a>(reasons: impl Iterator<Item = &'a str>) -> Vec<(usize, String)> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for reason in reasons {
        let key = match (reason.ends_with(')'), reason.rfind(" (")) {
            (true, Some(open)) => {
                let first = reason.split([' ', '=']).next().unwrap_or("");
                let first =
                    if first.starts_with('P') && first[1..].chars().all(|c| c.is_ascii_digit()) { "Pn" } else { first };
                format!("{first}{}", &reason[open..])
            }
            _ => reason.to_string(),
        };
        *counts.entry(key).or_default() += 1;
    }
    let mut sorted: Vec<(usize, String)> = counts.into_iter().map(|(k, n)| (n, k)).collect();
    sorted.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    sorted
}
