//! The command line of `lazymmu-run`, parsed by hand: a handful of options,
//! each error one clear line (the caller adds the usage hint and exits 4).
//! The option table and value checks are in [`spec`], the help texts in
//! [`usage`].

mod spec;
mod usage;

use std::fmt;
use std::path::{Path, PathBuf};

pub use crate::display::ColorChoice;
pub use usage::{PARSE_USAGE, USAGE};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    X86_64,
    Aarch64,
}

impl Arch {
    /// The name cargo, rustc and the kernel's KTAP header use.
    pub fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
        }
    }

    /// The short name in front of each streamed serial line.
    pub fn label(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "arm64",
        }
    }

    pub fn target_triple(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64-unknown-none",
            Arch::Aarch64 => "aarch64-unknown-none",
        }
    }

    pub fn qemu_binary(self) -> &'static str {
        match self {
            Arch::X86_64 => "qemu-system-x86_64",
            Arch::Aarch64 => "qemu-system-aarch64",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Boot {
    Direct,
    Limine,
}

/// The firmware a `--boot limine` run starts from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Firmware {
    Uefi,
    Bios,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    pub arch: Arch,
    pub boot: Boot,
    /// `--firmware`; `None` = the boot path's default.
    pub firmware: Option<Firmware>,
    /// Every `--filter`'s globs, in order (each option may hold a comma list).
    pub filters: Vec<String>,
    pub flavour: Option<String>,
    /// `--only`: passed to the kernel as `only=`, which checks it.
    pub only: Option<String>,
    pub inject: Option<String>,
    pub case_timeout_s: Option<u64>,
    pub run_timeout_s: Option<u64>,
    pub log_level: Option<String>,
    /// `--log-file`: where the serial log goes instead of a per-run file.
    pub log_file: Option<PathBuf>,
    pub list: bool,
    pub verbose: bool,
    pub junit: Option<PathBuf>,
    pub json: Option<PathBuf>,
    pub color: ColorChoice,
    pub gdb: bool,
    /// `--gdb-port`; `None` = a free port picked at start.
    pub gdb_port: Option<u16>,
    pub kernel: Option<PathBuf>,
    pub smp: u32,
    /// Boots of the same selection, one verdict.
    pub repeat: u32,
    pub append: Vec<String>,
}

/// Without `--run-timeout`; `--gdb` sessions wait for the person instead.
pub const DEFAULT_RUN_TIMEOUT_S: u64 = 120;

impl Default for Options {
    fn default() -> Self {
        Options {
            arch: Arch::X86_64,
            boot: Boot::Direct,
            firmware: None,
            filters: Vec::new(),
            flavour: None,
            only: None,
            inject: None,
            case_timeout_s: None,
            run_timeout_s: None,
            log_level: None,
            log_file: None,
            list: false,
            verbose: false,
            junit: None,
            json: None,
            color: ColorChoice::Auto,
            gdb: false,
            gdb_port: None,
            kernel: None,
            smp: 2,
            repeat: 1,
            append: Vec::new(),
        }
    }
}

impl Options {
    /// The whole-run limit: the default unless `--gdb`, where a person is
    /// stepping through the kernel and only an explicit limit applies.
    pub fn effective_run_timeout_s(&self) -> Option<u64> {
        match (self.run_timeout_s, self.gdb) {
            (Some(seconds), _) => Some(seconds),
            (None, true) => None,
            (None, false) => Some(DEFAULT_RUN_TIMEOUT_S),
        }
    }

    /// The kernel command line (ktest's keys), `--append` last and verbatim.
    pub fn kernel_cmdline(&self) -> String {
        let mut words: Vec<String> = Vec::new();
        if self.list {
            words.push("list".to_string());
        }
        if !self.filters.is_empty() {
            // ktest's `filter=` takes one comma-separated list of globs.
            words.push(format!("filter={}", self.filters.join(",")));
        }
        if let Some(flavour) = &self.flavour {
            words.push(format!("flavour={flavour}"));
        }
        if let Some(only) = &self.only {
            words.push(format!("only={only}"));
        }
        if let Some(inject) = &self.inject {
            words.push(format!("inject={inject}"));
        }
        if let Some(seconds) = self.case_timeout_s {
            words.push(format!("timeout={seconds}"));
        }
        // The judge table is printed in list mode at log level debug.
        match (&self.log_level, self.list && self.verbose) {
            (Some(level), _) => words.push(format!("log={level}")),
            (None, true) => words.push("log=debug".to_string()),
            (None, false) => {}
        }
        words.extend(self.append.iter().cloned());
        words.join(" ")
    }

    /// Makes every relative path absolute against `base`, the directory the
    /// person started the run from (scripts/run changes to the repository).
    pub fn resolve_paths(&mut self, base: &Path) {
        for path in [&mut self.junit, &mut self.json, &mut self.log_file, &mut self.kernel].into_iter().flatten() {
            *path = resolve(base, path);
        }
    }
}

/// `path` if absolute, else `base` joined with it.
pub fn resolve(base: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    }
}

/// `lazymmu-run parse`: a saved serial log instead of a boot.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParseOptions {
    /// `None` = stdin.
    pub log: Option<PathBuf>,
    pub junit: Option<PathBuf>,
    pub json: Option<PathBuf>,
    pub color: ColorChoice,
}

impl ParseOptions {
    pub fn resolve_paths(&mut self, base: &Path) {
        for path in [&mut self.log, &mut self.junit, &mut self.json].into_iter().flatten() {
            *path = resolve(base, path);
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Run(Box<Options>),
    Parse(ParseOptions),
    Help,
    ParseHelp,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArgError {
    UnknownOption(String),
    UnexpectedArgument(String),
    MissingValue(&'static str),
    BadValue {
        option: &'static str,
        value: String,
        expected: &'static str,
    },
    /// Kernel arguments are separated by spaces, so a value cannot hold one.
    ValueHasSpace {
        option: &'static str,
        value: String,
    },
    /// An option people bring from other tools that lazymmu-run does not
    /// take, with what to use instead.
    Refused {
        option: &'static str,
        hint: &'static str,
    },
    /// Two options that cannot go together.
    Conflict {
        first: &'static str,
        second: &'static str,
        why: &'static str,
    },
}

impl fmt::Display for ArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgError::UnknownOption(option) => write!(f, "unknown option `{option}`"),
            ArgError::UnexpectedArgument(arg) => write!(f, "unexpected argument `{arg}` (options start with --)"),
            ArgError::MissingValue(option) => write!(f, "option `{option}` needs a value"),
            ArgError::BadValue { option, value, expected } => {
                write!(f, "option `{option}`: `{value}` is not {expected}")
            }
            ArgError::ValueHasSpace { option, value } => {
                write!(f, "option `{option}`: `{value}` contains a space (kernel arguments are space-separated)")
            }
            ArgError::Refused { option, hint } => write!(f, "option `{option}` is not taken: {hint}"),
            ArgError::Conflict { first, second, why } => {
                write!(f, "`{first}` and `{second}` do not go together: {why}")
            }
        }
    }
}

/// Parses the arguments after the program name.
pub fn parse_args<I>(args: I) -> Result<Command, ArgError>
where
    I: IntoIterator<Item = String>,
{
    let mut args = args.into_iter().peekable();
    if args.peek().is_some_and(|first| first == "parse") {
        args.next();
        return spec::parse_parse_args(args);
    }
    let mut options = Options::default();
    while let Some(arg) = args.next() {
        let (option, value) = spec::next_option(spec::OPTIONS, &arg, &mut args)?;
        if option.name == "--help" {
            return Ok(Command::Help);
        }
        (option.apply)(&mut options, value)?;
    }
    spec::check_combinations(&options)?;
    Ok(Command::Run(Box::new(options)))
}

#[cfg(test)]
mod tests;
