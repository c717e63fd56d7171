//! The command line's errors. Each message is one short line (under 160
//! characters whatever was typed): what was wrong and, for a name, the
//! nearest valid one rather than a list of them all.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use super::{Flavours, LogLevel, Only, KEYS, MAX_TIMEOUT_SECONDS};

/// Longest piece of user input a message repeats; the rest becomes `...`.
const MAX_ECHO: usize = 40;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CmdlineError {
    /// The boot protocol cut the line after `kept` bytes.
    Truncated {
        kept: usize,
    },
    NotUtf8 {
        valid_up_to: usize,
    },
    UnknownKey {
        key: String,
    },
    /// `filter`, `flavour`, `only`, `inject`, `log`, `timeout` given without `=VALUE`.
    MissingValue {
        key: String,
    },
    /// `list` or `verbose` given a value.
    UnexpectedValue {
        key: String,
    },
    /// `filter=` with nothing, or an empty glob between commas.
    EmptyFilter,
    /// A glob with a character no leaf name has and `*`/`?` are not.
    MalformedGlob {
        glob: String,
        bad: char,
    },
    /// No leaf answers to `glob`; `nearest` is the closest name that would.
    NoMatch {
        glob: String,
        nearest: Option<String>,
    },
    UnknownFlavour {
        name: String,
        known: Vec<&'static str>,
    },
    BadOnly {
        value: String,
    },
    UnknownCase {
        name: String,
        nearest: Option<String>,
    },
    NoBuggyForm {
        name: String,
        nearest: Option<String>,
    },
    /// `inject=` names a case whose plain form the selection leaves out:
    /// the injection would silently do nothing.
    InjectNotRun {
        inject: String,
    },
    /// Every glob matches some leaf, but none of them runs under the chosen
    /// flavours and forms: the run would be zero tests reported as a pass.
    NothingSelected {
        filter: Vec<String>,
        flavour: Flavours,
        only: Only,
    },
    BadLogLevel {
        value: String,
    },
    BadTimeout {
        value: String,
    },
}

/// Writes `items` separated by `, `.
fn write_list<T: fmt::Display>(f: &mut fmt::Formatter<'_>, items: &[T]) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

/// User input as a message repeats it: at most [`MAX_ECHO`] characters.
struct Echo<'a>(&'a str);

impl fmt::Display for Echo<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.char_indices().nth(MAX_ECHO) {
            Some((cut, _)) => write!(f, "{}...", &self.0[..cut]),
            None => f.write_str(self.0),
        }
    }
}

/// `; did you mean `NAME`?` when there is a nearest name.
fn suggest(f: &mut fmt::Formatter<'_>, nearest: &Option<String>) -> fmt::Result {
    match nearest {
        Some(name) => write!(f, "; did you mean `{name}`?"),
        None => Ok(()),
    }
}

impl fmt::Display for CmdlineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CmdlineError::Truncated { kept } => {
                write!(f, "command line too long: the boot protocol kept only {kept} bytes; shorten it")
            }
            CmdlineError::NotUtf8 { valid_up_to } => {
                write!(f, "command line is not UTF-8 (bad byte at offset {valid_up_to})")
            }
            CmdlineError::UnknownKey { key } => {
                write!(f, "unknown key `{}`; valid keys: ", Echo(key))?;
                write_list(f, &KEYS)
            }
            CmdlineError::MissingValue { key } => write!(f, "`{key}` needs a value: {key}=..."),
            CmdlineError::UnexpectedValue { key } => write!(f, "`{key}` takes no value"),
            CmdlineError::EmptyFilter => f.write_str("empty filter: give filter=NAME[,NAME], names or globs"),
            CmdlineError::MalformedGlob { glob, bad } => {
                write!(f, "malformed glob `{}`: `{}` is not allowed", Echo(glob), bad.escape_debug())?;
                // The bracketed form older runners printed: `suite.case[flavour]`.
                match glob.strip_suffix(']').and_then(|rest| rest.split_once('[')) {
                    Some((case, flavour)) if !flavour.contains(['[', ']']) => {
                        write!(f, "; did you mean `{}.{}`?", Echo(case), Echo(flavour))
                    }
                    _ => f.write_str("; a glob has letters, digits, `_`, `.`, `-`, `*` (any run) and `?` (one)"),
                }
            }
            CmdlineError::NoMatch { glob, nearest } => {
                write!(f, "filter `{}` matches no test", Echo(glob))?;
                suggest(f, nearest)
            }
            CmdlineError::UnknownFlavour { name, known } => {
                write!(f, "unknown flavour `{}`; valid flavours: all, ", Echo(name))?;
                write_list(f, known)
            }
            CmdlineError::BadOnly { value } => {
                write!(f, "unknown only=`{}`; valid: all, fixed (no .detects_bug), detects (only them)", Echo(value))
            }
            CmdlineError::UnknownCase { name, nearest } => {
                write!(f, "inject: no case `{}`", Echo(name))?;
                suggest(f, nearest)
            }
            CmdlineError::NoBuggyForm { name, nearest } => {
                write!(f, "inject: `{}` has no buggy form", Echo(name))?;
                suggest(f, nearest)
            }
            CmdlineError::InjectNotRun { inject } => {
                write!(f, "inject: `{inject}` is not run by this filter, flavour and only=")
            }
            CmdlineError::NothingSelected { filter, flavour, only } => {
                let filter = if filter.is_empty() { String::from("*") } else { filter.join(",") };
                write!(
                    f,
                    "nothing to run: filter={} selects no test under flavour={} only={}",
                    Echo(&filter),
                    Echo(&alloc::format!("{flavour}")),
                    only.name()
                )
            }
            CmdlineError::BadLogLevel { value } => {
                write!(f, "unknown log level `{}`; valid levels: ", Echo(value))?;
                let names: Vec<&str> = LogLevel::ALL.iter().map(|level| level.name()).collect();
                write_list(f, &names)
            }
            CmdlineError::BadTimeout { value } => {
                write!(f, "bad timeout `{}`: whole seconds from 1 to {MAX_TIMEOUT_SECONDS}", Echo(value))
            }
        }
    }
}
