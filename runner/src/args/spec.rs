//! The option tables (`lazymmu-run` and `lazymmu-run parse`), the value
//! checks, and the options refused with a hint.

use std::path::PathBuf;

use super::{Arch, ArgError, Boot, ColorChoice, Command, Firmware, Options, ParseOptions};

pub(super) struct OptionSpec<T> {
    pub name: &'static str,
    takes_value: bool,
    pub apply: fn(&mut T, String) -> Result<(), ArgError>,
}

const MAX_SMP: u32 = 8;
const MAX_REPEAT: u32 = 1000;
const LOG_LEVELS: [&str; 5] = ["error", "warn", "info", "debug", "trace"];

/// Options from kunit.py and other runners that mean something else here.
const REFUSED: [(&str, &str); 2] = [
    (
        "--log",
        "it is ambiguous; use --log-level LEVEL for the kernel's log level or --log-file PATH for the serial log",
    ),
    (
        "--seed",
        "nothing in a lazymmu run is randomised (cases run in a fixed order and the kernel takes no seed), \
         so there is no seed to set",
    ),
];

pub(super) const OPTIONS: &[OptionSpec<Options>] = &[
    OptionSpec { name: "--arch", takes_value: true, apply: |o, v| set(&mut o.arch, parse_arch(v)?) },
    OptionSpec { name: "--boot", takes_value: true, apply: |o, v| set(&mut o.boot, parse_boot(v)?) },
    OptionSpec { name: "--firmware", takes_value: true, apply: |o, v| set(&mut o.firmware, Some(parse_firmware(v)?)) },
    OptionSpec {
        name: "--filter",
        takes_value: true,
        apply: |o, v| {
            o.filters.push(word("--filter", v)?);
            Ok(())
        },
    },
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
    OptionSpec { name: "--repeat", takes_value: true, apply: |o, v| set(&mut o.repeat, parse_repeat(v)?) },
    OptionSpec {
        name: "--log-level",
        takes_value: true,
        apply: |o, v| set(&mut o.log_level, Some(parse_log_level(v)?)),
    },
    OptionSpec {
        name: "--log-file",
        takes_value: true,
        apply: |o, v| set(&mut o.log_file, Some(path("--log-file", v)?)),
    },
    OptionSpec { name: "--list", takes_value: false, apply: |o, _| set(&mut o.list, true) },
    OptionSpec { name: "--verbose", takes_value: false, apply: |o, _| set(&mut o.verbose, true) },
    OptionSpec { name: "--junit", takes_value: true, apply: |o, v| set(&mut o.junit, Some(path("--junit", v)?)) },
    OptionSpec { name: "--json", takes_value: true, apply: |o, v| set(&mut o.json, Some(path("--json", v)?)) },
    OptionSpec { name: "--color", takes_value: true, apply: |o, v| set(&mut o.color, parse_color(v)?) },
    OptionSpec { name: "--gdb", takes_value: false, apply: |o, _| set(&mut o.gdb, true) },
    OptionSpec {
        name: "--gdb-port",
        takes_value: true,
        apply: |o, v| {
            o.gdb = true;
            set(&mut o.gdb_port, Some(parse_port(v)?))
        },
    },
    OptionSpec { name: "--kernel", takes_value: true, apply: |o, v| set(&mut o.kernel, Some(path("--kernel", v)?)) },
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

const PARSE_OPTIONS: &[OptionSpec<ParseOptions>] = &[
    OptionSpec { name: "--junit", takes_value: true, apply: |o, v| set(&mut o.junit, Some(path("--junit", v)?)) },
    OptionSpec { name: "--json", takes_value: true, apply: |o, v| set(&mut o.json, Some(path("--json", v)?)) },
    OptionSpec { name: "--color", takes_value: true, apply: |o, v| set(&mut o.color, parse_color(v)?) },
    OptionSpec { name: "--help", takes_value: false, apply: |_, _| Ok(()) },
];

/// The option `arg` names and its value (from `--name=value` or the next
/// argument).
pub(super) fn next_option<'t, T>(
    table: &'t [OptionSpec<T>],
    arg: &str,
    rest: &mut dyn Iterator<Item = String>,
) -> Result<(&'t OptionSpec<T>, String), ArgError> {
    let (name, inline_value) = match arg.split_once('=') {
        Some((name, value)) if name.starts_with("--") => (name, Some(value.to_string())),
        _ => (arg, None),
    };
    if let Some(&(option, hint)) = REFUSED.iter().find(|(option, _)| *option == name) {
        return Err(ArgError::Refused { option, hint });
    }
    let Some(option) = table.iter().find(|o| o.name == name) else {
        return Err(if arg.starts_with('-') {
            ArgError::UnknownOption(name.to_string())
        } else {
            ArgError::UnexpectedArgument(arg.to_string())
        });
    };
    let value = match (option.takes_value, inline_value) {
        (false, None) => String::new(),
        (false, Some(_)) => {
            return Err(ArgError::BadValue {
                option: option.name,
                value: arg.to_string(),
                expected: "a flag without a value",
            })
        }
        (true, Some(value)) => value,
        (true, None) => match rest.next() {
            Some(value) if !value.starts_with("--") => value,
            _ => return Err(ArgError::MissingValue(option.name)),
        },
    };
    Ok((option, value))
}

/// `parse [LOG|-] [--junit F] [--json F] [--color WHEN]`.
pub(super) fn parse_parse_args(mut args: impl Iterator<Item = String>) -> Result<Command, ArgError> {
    let mut options = ParseOptions::default();
    let mut log_seen = false;
    while let Some(arg) = args.next() {
        if arg == "-" || !arg.starts_with('-') {
            if log_seen {
                return Err(ArgError::UnexpectedArgument(arg));
            }
            log_seen = true;
            options.log = (arg != "-").then(|| PathBuf::from(&arg));
            continue;
        }
        let (option, value) = next_option(PARSE_OPTIONS, &arg, &mut args)?;
        if option.name == "--help" {
            return Ok(Command::ParseHelp);
        }
        (option.apply)(&mut options, value)?;
    }
    Ok(Command::Parse(options))
}

pub(super) fn check_combinations(options: &Options) -> Result<(), ArgError> {
    if options.repeat > 1 && options.gdb {
        return Err(ArgError::Conflict { first: "--repeat", second: "--gdb", why: "a gdb session is one boot" });
    }
    if options.repeat > 1 && options.list {
        return Err(ArgError::Conflict { first: "--repeat", second: "--list", why: "--list runs nothing to repeat" });
    }
    Ok(())
}

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

fn parse_color(value: String) -> Result<ColorChoice, ArgError> {
    match value.as_str() {
        "auto" => Ok(ColorChoice::Auto),
        "always" => Ok(ColorChoice::Always),
        "never" => Ok(ColorChoice::Never),
        _ => Err(ArgError::BadValue { option: "--color", value, expected: "one of auto, always, never" }),
    }
}

fn parse_log_level(value: String) -> Result<String, ArgError> {
    if LOG_LEVELS.contains(&value.as_str()) {
        Ok(value)
    } else {
        Err(ArgError::BadValue { option: "--log-level", value, expected: "one of error, warn, info, debug, trace" })
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

fn parse_repeat(value: String) -> Result<u32, ArgError> {
    match value.parse::<u32>() {
        Ok(runs) if (1..=MAX_REPEAT).contains(&runs) => Ok(runs),
        _ => Err(ArgError::BadValue { option: "--repeat", value, expected: "a run count from 1 to 1000" }),
    }
}

fn parse_port(value: String) -> Result<u16, ArgError> {
    match value.parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ => Err(ArgError::BadValue { option: "--gdb-port", value, expected: "a TCP port from 1 to 65535" }),
    }
}

fn path(option: &'static str, value: String) -> Result<PathBuf, ArgError> {
    if value.is_empty() {
        Err(ArgError::BadValue { option, value, expected: "a path (it is empty)" })
    } else {
        Ok(PathBuf::from(value))
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
