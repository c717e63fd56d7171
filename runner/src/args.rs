//! The command line of `lazymmu-run`, parsed by hand: a handful of options,
//! each error one clear line (the caller adds the usage hint and exits 4).

use std::fmt;
use std::path::PathBuf;

pub const USAGE: &str = "\
usage: lazymmu-run [OPTIONS]

Builds the lazymmu kernel, boots it under QEMU, streams its KTAP output and
maps the outcome to an exit code.

  --arch x86_64|aarch64      architecture to run (arm64 = aarch64; default x86_64)
  --boot direct|limine       boot path (default direct)
  --firmware uefi|bios       with --boot limine: OVMF or SeaBIOS on x86_64
                             (default uefi; arm64 is always UEFI)
  --filter NAME[,NAME]       run only these tests: suite, suite.case (every
                             flavour, with its .detects_bug), suite.case.flavour
                             (a FAIL line's name: that test alone), globs
  --flavour NAME[,NAME]|all  lazy MMU backend(s) to run (default all)
  --only fixed|detects|all   only the plain forms, or only the .detects_bug
                             self-tests (default all)
  --inject SUITE.CASE        run that case in its pre-patch (buggy) order
  --timeout SECONDS          per-case watchdog in the kernel (kernel default 10)
  --run-timeout SECONDS      kill QEMU after this long (default 120)
  --log LEVEL                kernel log level: error|warn|info|debug|trace
  --list                     list the runnable cases instead of running them
  --verbose                  print the exact QEMU command line (and, with --list,
                             the judge table)
  --junit FILE               write JUnit XML
  --json FILE                write kunit.py-style JSON
  --gdb                      start QEMU halted with a gdb stub and print the gdb command
  --kernel PATH              use this kernel ELF, do not build
  --smp N                    number of CPUs (default 2)
  --append \"K=V ...\"         extra raw kernel arguments (may repeat)
  --help                     this text

Exit codes: 0 pass, 1 a test failed, 2 crash or malformed output,
3 timeout, 4 set-up error or bad input, 130 interrupted.";

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
    pub filter: Option<String>,
    pub flavour: Option<String>,
    /// `--only`: passed to the kernel as `only=`, which checks it.
    pub only: Option<String>,
    pub inject: Option<String>,
    pub case_timeout_s: Option<u64>,
    pub run_timeout_s: Option<u64>,
    pub log: Option<String>,
    pub list: bool,
    pub verbose: bool,
    pub junit: Option<PathBuf>,
    pub json: Option<PathBuf>,
    pub gdb: bool,
    pub kernel: Option<PathBuf>,
    pub smp: u32,
    pub append: Vec<String>,
}

/// Without `--run-timeout`; `--gdb` sessions wait for the person instead.
pub const DEFAULT_RUN_TIMEOUT_S: u64 = 120;
const MAX_SMP: u32 = 8;
const LOG_LEVELS: [&str; 5] = ["error", "warn", "info", "debug", "trace"];

impl Default for Options {
    fn default() -> Self {
        Options {
            arch: Arch::X86_64,
            boot: Boot::Direct,
            firmware: None,
            filter: None,
            flavour: None,
            only: None,
            inject: None,
            case_timeout_s: None,
            run_timeout_s: None,
            log: None,
            list: false,
            verbose: false,
            junit: None,
            json: None,
            gdb: false,
            kernel: None,
            smp: 2,
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
        if let Some(filter) = &self.filter {
            words.push(format!("filter={filter}"));
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
        match (&self.log, self.list && self.verbose) {
            (Some(level), _) => words.push(format!("log={level}")),
            (None, true) => words.push("log=debug".to_string()),
            (None, false) => {}
        }
        words.extend(self.append.iter().cloned());
        words.join(" ")
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Run(Box<Options>),
    Help,
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
        }
    }
}

/// Parses the arguments after the program name.
pub fn parse_args<I>(args: I) -> Result<Command, ArgError>
where
    I: IntoIterator<Item = String>,
{
    let mut options = Options::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (name, inline_value) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => (name.to_string(), Some(value.to_string())),
            _ => (arg.clone(), None),
        };
        let Some(option) = OPTIONS.iter().find(|o| o.name == name) else {
            return Err(if arg.starts_with('-') {
                ArgError::UnknownOption(name)
            } else {
                ArgError::UnexpectedArgument(arg)
            });
        };
        let value = match (option.takes_value, inline_value) {
            (false, None) => String::new(),
            (false, Some(_)) => {
                return Err(ArgError::BadValue { option: option.name, value: arg, expected: "a flag without a value" })
            }
            (true, Some(value)) => value,
            (true, None) => match args.next() {
                Some(value) if !value.starts_with("--") => value,
                _ => return Err(ArgError::MissingValue(option.name)),
            },
        };
        if option.name == "--help" {
            return Ok(Command::Help);
        }
        (option.apply)(&mut options, value)?;
    }
    Ok(Command::Run(Box::new(options)))
}

struct OptionSpec {
    name: &'static str,
    takes_value: bool,
    apply: fn(&mut Options, String) -> Result<(), ArgError>,
}

const OPTIONS: &[OptionSpec] = &[
    OptionSpec { name: "--arch", takes_value: true, apply: |o, v| set(&mut o.arch, parse_arch(v)?) },
    OptionSpec { name: "--boot", takes_value: true, apply: |o, v| set(&mut o.boot, parse_boot(v)?) },
    OptionSpec { name: "--firmware", takes_value: true, apply: |o, v| set(&mut o.firmware, Some(parse_firmware(v)?)) },
    OptionSpec { name: "--filter", takes_value: true, apply: |o, v| set(&mut o.filter, Some(word("--filter", v)?)) },
    OptionSpec { name: "--flavour", takes_value: true, apply: |o, v| set(&mut o.flavour, Some(word("--flavour", v)?)) },
    OptionSpec { name: "--only", takes_value: true, apply: |o, v| set(&mut o.only, Some(word("--only", v)?)) },
    OptionSpec { name: "--inject", takes_value: true, apply: |o, v| set(&mut o.inject, Some(word("--inject", v)?)) },
    OptionSpec {
        name: "--timeout",
        takes_value: true,
        apply: |o, v| set(&mut o.case_timeout_s, Some(seconds("--timeout", v)?)),
    },
    OptionSpec {
        name: "--run-timeout",
        takes_value: true,
        apply: |o, v| set(&mut o.run_timeout_s, Some(seconds("--run-timeout", v)?)),
    },
    OptionSpec { name: "--log", takes_value: true, apply: |o, v| set(&mut o.log, Some(parse_log(v)?)) },
    OptionSpec { name: "--list", takes_value: false, apply: |o, _| set(&mut o.list, true) },
    OptionSpec { name: "--verbose", takes_value: false, apply: |o, _| set(&mut o.verbose, true) },
    OptionSpec { name: "--junit", takes_value: true, apply: |o, v| set(&mut o.junit, Some(PathBuf::from(v))) },
    OptionSpec { name: "--json", takes_value: true, apply: |o, v| set(&mut o.json, Some(PathBuf::from(v))) },
    OptionSpec { name: "--gdb", takes_value: false, apply: |o, _| set(&mut o.gdb, true) },
    OptionSpec { name: "--kernel", takes_value: true, apply: |o, v| set(&mut o.kernel, Some(PathBuf::from(v))) },
    OptionSpec { name: "--smp", takes_value: true, apply: |o, v| set(&mut o.smp, parse_smp(v)?) },
    OptionSpec {
        name: "--append",
        takes_value: true,
        apply: |o, v| {
            o.append.push(v);
            Ok(())
        },
    },
    OptionSpec { name: "--help", takes_value: false, apply: |_, _| Ok(()) },
];

fn set<T>(field: &mut T, value: T) -> Result<(), ArgError> {
    *field = value;
    Ok(())
}

fn parse_arch(value: String) -> Result<Arch, ArgError> {
    match value.as_str() {
        "x86_64" => Ok(Arch::X86_64),
        "aarch64" | "arm64" => Ok(Arch::Aarch64),
        _ => Err(ArgError::BadValue { option: "--arch", value, expected: "one of x86_64, aarch64, arm64" }),
    }
}

fn parse_boot(value: String) -> Result<Boot, ArgError> {
    match value.as_str() {
        "direct" => Ok(Boot::Direct),
        "limine" => Ok(Boot::Limine),
        _ => Err(ArgError::BadValue { option: "--boot", value, expected: "one of direct, limine" }),
    }
}

fn parse_firmware(value: String) -> Result<Firmware, ArgError> {
    match value.as_str() {
        "uefi" => Ok(Firmware::Uefi),
        "bios" => Ok(Firmware::Bios),
        _ => Err(ArgError::BadValue { option: "--firmware", value, expected: "one of uefi, bios" }),
    }
}

fn parse_log(value: String) -> Result<String, ArgError> {
    if LOG_LEVELS.contains(&value.as_str()) {
        Ok(value)
    } else {
        Err(ArgError::BadValue { option: "--log", value, expected: "one of error, warn, info, debug, trace" })
    }
}

fn seconds(option: &'static str, value: String) -> Result<u64, ArgError> {
    match value.parse::<u64>() {
        Ok(seconds) if seconds >= 1 => Ok(seconds),
        _ => Err(ArgError::BadValue { option, value, expected: "a whole number of seconds, at least 1" }),
    }
}

fn parse_smp(value: String) -> Result<u32, ArgError> {
    match value.parse::<u32>() {
        Ok(cpus) if (1..=MAX_SMP).contains(&cpus) => Ok(cpus),
        _ => Err(ArgError::BadValue { option: "--smp", value, expected: "a CPU count from 1 to 8" }),
    }
}

fn word(option: &'static str, value: String) -> Result<String, ArgError> {
    if value.is_empty() {
        Err(ArgError::BadValue { option, value, expected: "a non-empty value" })
    } else if value.contains(char::is_whitespace) {
        Err(ArgError::ValueHasSpace { option, value })
    } else {
        Ok(value)
    }
}

#[cfg(test)]
mod tests;
