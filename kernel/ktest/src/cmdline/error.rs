//! The command line's errors. Each message names what was wrong and lists
//! what would have been accepted, so a mistyped `-append` fixes itself.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use super::{LogLevel, KEYS, MAX_TIMEOUT_SECONDS};

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
    /// `filter`, `flavour`, `inject`, `log`, `timeout` given without `=VALUE`.
    MissingValue {
        key: String,
    },
    /// `list` or `verbose` given a value.
    UnexpectedValue {
        key: String,
    },
    /// `filter=` with nothing, or an empty glob between commas.
    EmptyFilter,
    /// A glob with a character no case name has and `*`/`?` are not.
    MalformedGlob {
        glob: String,
        bad: char,
    },
    NoMatch {
        glob: String,
        names: Vec<String>,
    },
    UnknownFlavour {
        name: String,
        known: Vec<&'static str>,
    },
    UnknownCase {
        name: String,
        injectable: Vec<String>,
    },
    NoBuggyForm {
        name: String,
        injectable: Vec<String>,
    },
    /// `inject=` names a case `filter=` leaves out: the injection would
    /// silently do nothing.
    InjectFiltered {
        inject: String,
        filter: Vec<String>,
    },
    /// Every glob matches some case, but none of them runs under the
    /// chosen flavour: the run would be zero tests reported as a pass.
    NothingSelected {
        filter: Vec<String>,
        flavour: &'static str,
    },
    BadLogLevel {
        value: String,
    },
    BadTimeout {
        value: String,
    },
}

fn write_list<T: fmt::Display>(f: &mut fmt::Formatter<'_>, items: &[T]) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
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
                write!(f, "unknown key `{key}`; valid keys: ")?;
                write_list(f, &KEYS)
            }
            CmdlineError::MissingValue { key } => write!(f, "`{key}` needs a value: {key}=..."),
            CmdlineError::UnexpectedValue { key } => write!(f, "`{key}` takes no value"),
            CmdlineError::EmptyFilter => f.write_str("empty filter: give filter=GLOB[,GLOB] on suite.case names"),
            CmdlineError::MalformedGlob { glob, bad } => write!(
                f,
                "malformed glob `{glob}`: `{}` is not allowed; a glob has letters, digits, `_`, `.`, `-`, \
                 `*` (any run) and `?` (one character)",
                bad.escape_debug()
            ),
            CmdlineError::NoMatch { glob, names } => {
                write!(f, "filter `{glob}` matches no case; cases: ")?;
                write_list(f, names)
            }
            CmdlineError::UnknownFlavour { name, known } => {
                write!(f, "unknown flavour `{name}`; valid flavours: all, ")?;
                write_list(f, known)
            }
            CmdlineError::UnknownCase { name, injectable } => {
                write!(f, "inject: no case `{name}`; cases with a buggy form: ")?;
                write_list(f, injectable)
            }
            CmdlineError::NoBuggyForm { name, injectable } => {
                write!(f, "inject: `{name}` has no buggy form; cases with one: ")?;
                write_list(f, injectable)
            }
            CmdlineError::InjectFiltered { inject, filter } => {
                write!(f, "inject: `{inject}` is not selected by filter=")?;
                write_list(f, filter)
            }
            CmdlineError::NothingSelected { filter, flavour } => {
                f.write_str("nothing to run: filter=")?;
                if filter.is_empty() {
                    f.write_str("*")?;
                }
                write_list(f, filter)?;
                write!(f, " selects no case that runs under flavour={flavour}; pick another flavour or filter")
            }
            CmdlineError::BadLogLevel { value } => {
                write!(f, "unknown log level `{value}`; valid levels: ")?;
                let names: Vec<&str> = LogLevel::ALL.iter().map(|level| level.name()).collect();
                write_list(f, &names)
            }
            CmdlineError::BadTimeout { value } => {
                write!(f, "bad timeout `{value}`: whole seconds from 1 to {MAX_TIMEOUT_SECONDS}")
            }
        }
    }
}
