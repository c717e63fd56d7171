//! The kernel command line as ktest reads it: `filter=`, `list`, `verbose`,
//! `flavour=`, `only=`, `inject=`, `log=`, `timeout=`, separated by spaces.
//! Every mistake is a named error whose one-line message says what was
//! wrong and the nearest valid name. How `filter=` names select leaves is
//! in [`select`].

mod error;
#[cfg(test)]
mod fuzz;
mod select;
#[cfg(test)]
mod tests;

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use mm::Flavour;

pub use self::error::CmdlineError;
pub use self::select::leaf_names;
use self::select::{nearest, pattern_names};
use crate::case::{Case, CaseId, Form};

/// The keys the command line knows, in the order error messages list them.
pub const KEYS: [&str; 8] = ["filter", "list", "verbose", "flavour", "only", "inject", "log", "timeout"];

/// `timeout=` default, seconds per case body.
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 10;
/// `timeout=` upper bound: a case that needs longer is a broken case.
pub const MAX_TIMEOUT_SECONDS: u64 = 3600;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Run,
    /// Print the selected cases and stop.
    List,
}

/// `flavour=`: the flavours whose leaves run, `all` or a comma list
/// (`flavour=arm64,queued`). A case without variants runs under any.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Flavours {
    /// Bit `i` stands for `Flavour::ALL[i]`.
    mask: u8,
}

impl Flavours {
    pub const ALL: Flavours = Flavours { mask: (1 << Flavour::ALL.len()) - 1 };

    /// Exactly the flavours in `list`.
    pub fn of(list: &[Flavour]) -> Flavours {
        Flavours { mask: list.iter().fold(0, |mask, flavour| mask | Self::bit(*flavour)) }
    }

    fn bit(flavour: Flavour) -> u8 {
        let index = Flavour::ALL.iter().position(|known| *known == flavour).unwrap_or_default();
        1 << index
    }

    pub fn includes(self, flavour: Flavour) -> bool {
        self.mask & Self::bit(flavour) != 0
    }

    pub fn is_all(self) -> bool {
        self == Flavours::ALL
    }
}

impl Default for Flavours {
    fn default() -> Self {
        Flavours::ALL
    }
}

/// The `flavour=` value that selects this: `all` or `arm64,queued`.
impl fmt::Display for Flavours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_all() {
            return f.write_str("all");
        }
        let names: Vec<&str> =
            Flavour::ALL.into_iter().filter(|flavour| self.includes(*flavour)).map(Flavour::name).collect();
        f.write_str(&names.join(","))
    }
}

impl fmt::Debug for Flavours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Flavours({self})")
    }
}

/// `only=`: which forms run. A case selected by name runs both, its
/// `.detects_bug` self-test dragged along, unless `only=fixed`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Only {
    #[default]
    All,
    /// The plain forms only (the fixed order; the buggy one under `inject=`).
    Fixed,
    /// The `.detects_bug` self-tests only.
    Detects,
}

impl Only {
    pub const ALL: [Only; 3] = [Only::All, Only::Fixed, Only::Detects];

    pub const fn name(self) -> &'static str {
        match self {
            Only::All => "all",
            Only::Fixed => "fixed",
            Only::Detects => "detects",
        }
    }

    pub fn includes(self, form: Form) -> bool {
        matches!((self, form), (Only::All, _) | (Only::Fixed, Form::Plain) | (Only::Detects, Form::DetectsBug))
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
    /// Names and globs ([`select`]); empty selects everything.
    pub filter: Vec<String>,
    pub mode: Mode,
    /// List mode also prints each case's description and the judge table
    /// (as does `log=debug`).
    pub verbose: bool,
    pub flavour: Flavours,
    pub only: Only,
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
            flavour: Flavours::ALL,
            only: Only::All,
            inject: None,
            log: LogLevel::Info,
            timeout_ms: DEFAULT_TIMEOUT_SECONDS * 1000,
        }
    }
}

impl Options {
    /// The leaves of `case`'s `form` this run covers, in the case's variant
    /// order: `None` is the one leaf of a case without variants.
    pub fn leaves(&self, case: &Case, form: Form) -> Vec<Option<Flavour>> {
        if !self.only.includes(form) || (form == Form::DetectsBug && !case.has_buggy_form()) {
            return Vec::new();
        }
        let under_flavour = |variant: &Option<Flavour>| variant.is_none_or(|flavour| self.flavour.includes(flavour));
        let named = |variant: &Option<Flavour>| {
            self.filter.is_empty()
                || pattern_names(case, form, *variant)
                    .iter()
                    .any(|name| self.filter.iter().any(|glob| crate::glob::glob_match(glob, name)))
        };
        variants(case).filter(under_flavour).filter(named).collect()
    }

    /// Whether any leaf of `case` runs.
    pub fn selects(&self, case: &Case) -> bool {
        [Form::Plain, Form::DetectsBug].into_iter().any(|form| !self.leaves(case, form).is_empty())
    }

    /// The log level asks for descriptions and the judge table.
    pub fn wants_details(&self) -> bool {
        self.verbose || self.log >= LogLevel::Debug
    }
}

/// A case's leaves before selection: its variants, or the one leaf `None`.
fn variants(case: &Case) -> impl Iterator<Item = Option<Flavour>> + '_ {
    let none: &[Option<Flavour>] = if case.variants.is_empty() { &[None] } else { &[] };
    none.iter().copied().chain(case.variants.iter().map(|flavour| Some(*flavour)))
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
            ("filter" | "flavour" | "only" | "inject" | "log" | "timeout", None) => {
                return Err(CmdlineError::MissingValue { key: key.into() })
            }
            ("filter", Some(value)) => options.filter = parse_filter(value, cases)?,
            ("flavour", Some(value)) => options.flavour = parse_flavour(value, cases)?,
            ("only", Some(value)) => options.only = parse_only(value)?,
            ("inject", Some(value)) => options.inject = Some(parse_inject(value, cases)?),
            ("log", Some(value)) => options.log = parse_log(value)?,
            ("timeout", Some(value)) => options.timeout_ms = parse_timeout(value)? * 1000,
            _ => return Err(CmdlineError::UnknownKey { key: key.into() }),
        }
    }
    if !cases.iter().any(|case| options.selects(case)) {
        return Err(CmdlineError::NothingSelected {
            filter: options.filter,
            flavour: options.flavour,
            only: options.only,
        });
    }
    if let Some(inject) = options.inject {
        let injected = cases.iter().find(|case| case.id() == inject);
        if injected.is_some_and(|case| options.leaves(case, Form::Plain).is_empty()) {
            return Err(CmdlineError::InjectNotRun { inject: inject.to_string() });
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
        if !cases.iter().any(|case| single.selects(case)) {
            let names = cases.iter().flat_map(|case| leaf_names(case));
            return Err(CmdlineError::NoMatch { glob: glob.clone(), nearest: nearest(glob, names) });
        }
    }
    Ok(globs)
}

/// What a glob may hold: the characters of leaf names plus `*` and `?`.
/// Anything else (`[`, `{`, `\\`, `!`, ...) would be a feature of some
/// other glob dialect that this one does not have, so it is refused rather
/// than matched literally against names that can never contain it.
fn is_glob_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '*' | '?')
}

/// `all`, or a comma list of flavours some case runs under.
fn parse_flavour(value: &str, cases: &[&'static Case]) -> Result<Flavours, CmdlineError> {
    if value == "all" {
        return Ok(Flavours::ALL);
    }
    let known = known_variants(cases);
    let mut chosen = Vec::new();
    for name in value.split(',') {
        match known.iter().find(|variant| variant.name() == name) {
            Some(variant) => chosen.push(*variant),
            None => {
                return Err(CmdlineError::UnknownFlavour {
                    name: name.into(),
                    known: known.iter().map(|variant| variant.name()).collect(),
                })
            }
        }
    }
    Ok(Flavours::of(&chosen))
}

fn parse_only(value: &str) -> Result<Only, CmdlineError> {
    Only::ALL.into_iter().find(|only| only.name() == value).ok_or_else(|| CmdlineError::BadOnly { value: value.into() })
}

fn parse_inject(value: &str, cases: &[&'static Case]) -> Result<CaseId, CmdlineError> {
    let injectable = || cases.iter().filter(|case| case.has_buggy_form()).map(|case| case.id().to_string());
    match cases.iter().find(|case| case.id().to_string() == value) {
        Some(case) if case.has_buggy_form() => Ok(case.id()),
        Some(_) => Err(CmdlineError::NoBuggyForm { name: value.into(), nearest: nearest(value, injectable()) }),
        None => Err(CmdlineError::UnknownCase { name: value.into(), nearest: nearest(value, injectable()) }),
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
