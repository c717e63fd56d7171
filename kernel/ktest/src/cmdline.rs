//! The kernel command line as ktest reads it: `filter=`, `list`, `verbose`,
//! `flavour=`, `inject=`, `log=`, `timeout=`, separated by spaces. Every
//! mistake is a named error whose message lists what would have been valid.

mod error;
#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod tests;

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use mm::Flavour;

pub use self::error::CmdlineError;
use crate::case::{Case, CaseId};
use crate::glob::glob_match;

/// The keys the command line knows, in the order error messages list them.
pub const KEYS: [&str; 7] = ["filter", "list", "verbose", "flavour", "inject", "log", "timeout"];

/// `timeout=` default, seconds per case body.
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 10;
/// `timeout=` upper bound: a case that needs longer is a broken case.
pub const MAX_TIMEOUT_SECONDS: u64 = 3600;

pub const DETECTS_BUG_SUFFIX: &str = ".detects_bug";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Run,
    /// Print the selected cases and stop.
    List,
}

/// `flavour=`: every variant of every case, or only the leaves of one flavour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavours {
    All,
    Only(Flavour),
}

impl Flavours {
    /// The `flavour=` value that selects this (`all`, `arm64`, ...).
    pub const fn name(self) -> &'static str {
        match self {
            Flavours::All => "all",
            Flavours::Only(flavour) => flavour.name(),
        }
    }

    pub fn includes(self, flavour: Flavour) -> bool {
        match self {
            Flavours::All => true,
            Flavours::Only(only) => flavour == only,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl LogLevel {
    pub const ALL: [LogLevel; 5] = [LogLevel::Error, LogLevel::Warn, LogLevel::Info, LogLevel::Debug, LogLevel::Trace];

    pub const fn name(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Globs on `suite.case`; empty selects everything.
    pub filter: Vec<String>,
    pub mode: Mode,
    /// List mode also prints the judge table (as does `log=debug`).
    pub verbose: bool,
    pub flavour: Flavours,
    /// The case whose plain form runs its buggy ordering.
    pub inject: Option<CaseId>,
    pub log: LogLevel,
    pub timeout_ms: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            filter: Vec::new(),
            mode: Mode::Run,
            verbose: false,
            flavour: Flavours::All,
            inject: None,
            log: LogLevel::Info,
            timeout_ms: DEFAULT_TIMEOUT_SECONDS * 1000,
        }
    }
}

impl Options {
    /// Whether the plain form of `case` runs: a glob matches `suite.case`.
    pub fn selects_plain(&self, case: &Case) -> bool {
        self.filter.is_empty() || self.filter.iter().any(|glob| glob_match(glob, &case.id().to_string()))
    }

    /// Whether `<case>.detects_bug` runs: the case has a buggy form and a
    /// glob matches either `suite.case` or `suite.case.detects_bug`.
    pub fn selects_detects_bug(&self, case: &Case) -> bool {
        case.has_buggy_form()
            && (self.selects_plain(case) || self.filter.iter().any(|glob| glob_match(glob, &detects_bug_id(case))))
    }

    /// The variants of `case` this run covers, in the case's order.
    pub fn variants_of(&self, case: &Case) -> Vec<Flavour> {
        case.variants.iter().copied().filter(|variant| self.flavour.includes(*variant)).collect()
    }

    /// Whether `case` runs at all under the flavour selection: a case with
    /// variants but none of them selected is left out.
    pub fn runs_under_flavour(&self, case: &Case) -> bool {
        case.variants.is_empty() || !self.variants_of(case).is_empty()
    }

    /// The log level asks for the judge table.
    pub fn wants_judge_table(&self) -> bool {
        self.verbose || self.log >= LogLevel::Debug
    }
}

pub(crate) fn detects_bug_id(case: &Case) -> String {
    let mut id = case.id().to_string();
    id.push_str(DETECTS_BUG_SUFFIX);
    id
}

/// Parses the raw command line against the registered `cases`.
/// `truncated`: the boot protocol had to cut the line (BootInfo's
/// `cmdline_truncated`); running on half a line would mislead, so it is an error.
pub fn parse(line: &[u8], truncated: bool, cases: &[&'static Case]) -> Result<Options, CmdlineError> {
    if truncated {
        return Err(CmdlineError::Truncated { kept: line.len() });
    }
    let line =
        core::str::from_utf8(line).map_err(|error| CmdlineError::NotUtf8 { valid_up_to: error.valid_up_to() })?;
    let mut options = Options::default();
    for token in line.split_ascii_whitespace() {
        let (key, value) = match token.split_once('=') {
            Some((key, value)) => (key, Some(value)),
            None => (token, None),
        };
        match (key, value) {
            ("list", None) => options.mode = Mode::List,
            ("verbose", None) => options.verbose = true,
            ("list" | "verbose", Some(_)) => return Err(CmdlineError::UnexpectedValue { key: key.into() }),
            ("filter" | "flavour" | "inject" | "log" | "timeout", None) => {
                return Err(CmdlineError::MissingValue { key: key.into() })
            }
            ("filter", Some(value)) => options.filter = parse_filter(value, cases)?,
            ("flavour", Some(value)) => options.flavour = parse_flavour(value, cases)?,
            ("inject", Some(value)) => options.inject = Some(parse_inject(value, cases)?),
            ("log", Some(value)) => options.log = parse_log(value)?,
            ("timeout", Some(value)) => options.timeout_ms = parse_timeout(value)? * 1000,
            _ => return Err(CmdlineError::UnknownKey { key: key.into() }),
        }
    }
    let runs = |case: &&&Case| {
        options.runs_under_flavour(case) && (options.selects_plain(case) || options.selects_detects_bug(case))
    };
    if !cases.iter().any(|case| runs(&case)) {
        return Err(CmdlineError::NothingSelected { filter: options.filter, flavour: options.flavour.name() });
    }
    if let Some(inject) = options.inject {
        let injected = cases.iter().find(|case| case.id() == inject);
        if injected.is_some_and(|case| !options.selects_plain(case)) {
            return Err(CmdlineError::InjectFiltered { inject: inject.to_string(), filter: options.filter });
        }
    }
    Ok(options)
}

fn parse_filter(value: &str, cases: &[&'static Case]) -> Result<Vec<String>, CmdlineError> {
    let globs: Vec<String> = value.split(',').map(String::from).collect();
    if globs.iter().any(|glob| glob.is_empty()) {
        return Err(CmdlineError::EmptyFilter);
    }
    for glob in &globs {
        if let Some(bad) = glob.chars().find(|&c| !is_glob_char(c)) {
            return Err(CmdlineError::MalformedGlob { glob: glob.clone(), bad });
        }
    }
    for glob in &globs {
        let single = Options { filter: alloc::vec![glob.clone()], ..Options::default() };
        if !cases.iter().any(|case| single.selects_plain(case) || single.selects_detects_bug(case)) {
            return Err(CmdlineError::NoMatch { glob: glob.clone(), names: all_names(cases) });
        }
    }
    Ok(globs)
}

/// What a glob may hold: the characters of `suite.case` names plus `*` and
/// `?`. Anything else (`[`, `{`, `\\`, `!`, ...) would be a feature of some
/// other glob dialect that this one does not have, so it is refused rather
/// than matched literally against names that can never contain it.
fn is_glob_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '*' | '?')
}

fn parse_flavour(value: &str, cases: &[&'static Case]) -> Result<Flavours, CmdlineError> {
    if value == "all" {
        return Ok(Flavours::All);
    }
    let known = known_variants(cases);
    match known.iter().find(|variant| variant.name() == value) {
        Some(variant) => Ok(Flavours::Only(*variant)),
        None => Err(CmdlineError::UnknownFlavour {
            name: value.into(),
            known: known.iter().map(|variant| variant.name()).collect(),
        }),
    }
}

fn parse_inject(value: &str, cases: &[&'static Case]) -> Result<CaseId, CmdlineError> {
    let injectable: Vec<String> =
        cases.iter().filter(|case| case.has_buggy_form()).map(|case| case.id().to_string()).collect();
    match cases.iter().find(|case| case.id().to_string() == value) {
        Some(case) if case.has_buggy_form() => Ok(case.id()),
        Some(_) => Err(CmdlineError::NoBuggyForm { name: value.into(), injectable }),
        None => Err(CmdlineError::UnknownCase { name: value.into(), injectable }),
    }
}

fn parse_log(value: &str) -> Result<LogLevel, CmdlineError> {
    LogLevel::ALL
        .into_iter()
        .find(|level| level.name() == value)
        .ok_or_else(|| CmdlineError::BadLogLevel { value: value.into() })
}

fn parse_timeout(value: &str) -> Result<u64, CmdlineError> {
    let is_decimal = !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
    match value.parse::<u64>() {
        Ok(seconds) if is_decimal && (1..=MAX_TIMEOUT_SECONDS).contains(&seconds) => Ok(seconds),
        _ => Err(CmdlineError::BadTimeout { value: value.into() }),
    }
}

/// Every variant some case runs under, first-seen order, no repeats.
pub fn known_variants(cases: &[&'static Case]) -> Vec<Flavour> {
    let mut known: Vec<Flavour> = Vec::new();
    for variant in cases.iter().flat_map(|case| case.variants.iter()) {
        if !known.contains(variant) {
            known.push(*variant);
        }
    }
    known
}

/// Every runnable name: `suite.case` and, with a buggy form, its self-test.
fn all_names(cases: &[&'static Case]) -> Vec<String> {
    let mut names = Vec::new();
    for case in cases {
        names.push(case.id().to_string());
        if case.has_buggy_form() {
            names.push(detects_bug_id(case));
        }
    }
    names
}
