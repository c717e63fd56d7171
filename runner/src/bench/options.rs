//! The options of `lazymmu-run bench`, parsed by hand like the runner's own.

use crate::args::Arch;
use crate::kernel_build::Profile;

pub const USAGE: &str = "\
usage: lazymmu-run bench [OPTIONS]

Measures, per arch: QEMU start to the KTAP plan line and to exit against a
kernel that exits at its first instruction (the floor); the whole default
run and each suite; lazy MMU batching (events, then guest time) for
apply_to_page_range and vmap/vunmap under every flavour; the sanitizer's
cost; peak frames. Prints tables and writes target/bench/<arch>.json and
target/bench/<arch>-batching.svg.

  --arch x86_64|aarch64|all  architectures to measure (arm64 = aarch64; default all)
  --runs N                   boots per measurement; tables show median [min..max] (default 3)
  --profile NAME             the kernel's cargo profile: release, kernel-dev (what scripts/run
                             boots) or kernel-debug (default release)
  --readme                   boot nothing: from target/bench/x86_64.json and aarch64.json, print
                             the tables again, redraw the SVGs and rewrite the README's
                             generated benchmark figures
  --help                     this text

Guest times come from QEMU TCG: they are not hardware costs. The counted
events are the figure; times say where the emulated run spends its time.";

/// At most this many boots per measurement: more says nothing new and
/// `make bench` must stay short.
pub const MAX_RUNS: u32 = 20;
pub const DEFAULT_RUNS: u32 = 3;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BenchOptions {
    pub arches: Vec<Arch>,
    pub runs: u32,
    pub profile: Profile,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BenchCommand {
    Run(BenchOptions),
    /// `--readme`: the figures again from the saved JSON.
    Readme,
    Help,
}

/// Parses the arguments after `bench`; an error is one line for the user.
pub fn parse(args: &[String]) -> Result<BenchCommand, String> {
    let mut options =
        BenchOptions { arches: vec![Arch::X86_64, Arch::Aarch64], runs: DEFAULT_RUNS, profile: Profile::Release };
    let (mut readme, mut measuring) = (false, false);
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => (name, Some(value.to_string())),
            _ => (arg.as_str(), None),
        };
        let mut value = |option: &str| {
            inline.clone().or_else(|| args.next().cloned()).ok_or(format!("option `{option}` needs a value"))
        };
        match name {
            "--help" => return Ok(BenchCommand::Help),
            "--readme" => readme = true,
            "--arch" => {
                measuring = true;
                options.arches = match value("--arch")?.as_str() {
                    "all" => vec![Arch::X86_64, Arch::Aarch64],
                    "x86_64" => vec![Arch::X86_64],
                    "aarch64" | "arm64" => vec![Arch::Aarch64],
                    other => {
                        return Err(format!("option `--arch`: `{other}` is not one of x86_64, aarch64, arm64, all"))
                    }
                }
            }
            "--runs" => {
                measuring = true;
                let text = value("--runs")?;
                options.runs = match text.parse::<u32>() {
                    Ok(runs) if (1..=MAX_RUNS).contains(&runs) => runs,
                    _ => return Err(format!("option `--runs`: `{text}` is not a whole number from 1 to {MAX_RUNS}")),
                };
            }
            "--profile" => {
                measuring = true;
                let text = value("--profile")?;
                options.profile = Profile::from_cargo_name(&text).ok_or(format!(
                    "option `--profile`: `{text}` is not one of {}",
                    Profile::ALL.map(Profile::cargo_name).join(", ")
                ))?;
            }
            _ if arg.starts_with('-') => return Err(format!("unknown option `{name}`")),
            _ => return Err(format!("unexpected argument `{arg}` (options start with --)")),
        }
    }
    if readme {
        // The README has both arches' figures, from both saved runs.
        if measuring {
            return Err(
                "option `--readme` reads both arches' saved runs: it takes no --arch, --runs or --profile".to_string()
            );
        }
        return Ok(BenchCommand::Readme);
    }
    Ok(BenchCommand::Run(options))
}
