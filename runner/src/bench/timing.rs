//! One timed boot: QEMU supervised by `qemu::run`, each serial line stamped
//! with the host time since launch, and what the bench reads from it: the
//! KTAP plan line, each top-level suite's span, the kernel's `# bench:`
//! lines and its closing frame counts.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::ktap::Parser;
use crate::qemu::{self, Stream};
use crate::verdict::{self, ExitCode};

/// Where a top-level suite started and ended, seconds after QEMU's launch.
#[derive(Clone, Debug, PartialEq)]
pub struct SuiteSpan {
    pub name: String,
    pub start_s: f64,
    pub end_s: f64,
}

/// What one boot's serial lines said, with their arrival times.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LineClock {
    /// The top-level KTAP plan (`1..N`): the kernel is up and ready to run.
    pub plan_s: Option<f64>,
    pub suites: Vec<SuiteSpan>,
    /// The text after `# bench: `.
    pub bench_lines: Vec<String>,
    /// `peak_used` of the kernel's closing `# lazymmu: frames` line.
    pub peak_frames: Option<u64>,
    open_suite: Option<(String, f64)>,
}

impl LineClock {
    pub fn observe(&mut self, at_s: f64, line: &str) {
        let line = line.trim_end();
        if self.plan_s.is_none() && line.starts_with("1..") {
            self.plan_s = Some(at_s);
        } else if let Some(name) = line.strip_prefix("    # Subtest: ") {
            self.open_suite = Some((name.to_string(), at_s));
        } else if let Some(text) = line.trim_start().strip_prefix("# bench: ") {
            self.bench_lines.push(text.to_string());
        } else if let Some(counts) = line.strip_prefix("# lazymmu: frames ") {
            self.peak_frames = value_of(counts, "peak_used").and_then(|v| v.parse().ok());
        } else if let Some((name, start_s)) = self.open_suite.take() {
            if ends_suite(line, &name) {
                self.suites.push(SuiteSpan { name, start_s, end_s: at_s });
            } else {
                self.open_suite = Some((name, start_s));
            }
        }
    }
}

/// A top-level result line (`ok 2 boot`, `not ok 3 lazy_batch # ...`).
fn ends_suite(line: &str, name: &str) -> bool {
    let rest = line.strip_prefix("not ok ").or_else(|| line.strip_prefix("ok "));
    rest.and_then(|rest| rest.split_once(' ')).is_some_and(|(_, tail)| tail.split(" #").next() == Some(name))
}

/// `key`'s value in a line of space-separated `key=value` words.
pub fn value_of<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.split_ascii_whitespace().find_map(|word| word.strip_prefix(key)?.strip_prefix('='))
}

#[derive(Clone, Debug)]
pub struct TimedBoot {
    pub clock: LineClock,
    /// QEMU's launch to its exit, host seconds.
    pub exit_s: f64,
    /// The runner's verdict on the KTAP and status (meaningless for the floor).
    pub code: ExitCode,
}

/// Boots `command` once, its serial log to `log_path`.
pub fn boot(command: &[String], log_path: &Path, timeout: Duration) -> Result<TimedBoot, String> {
    let mut log = std::fs::File::create(log_path).map_err(|e| format!("cannot write {}: {e}", log_path.display()))?;
    let mut parser = Parser::new();
    let mut clock = LineClock::default();
    let started = Instant::now();
    let end = qemu::run(command, Some(timeout), &mut log, &mut |stream, line| {
        if stream == Stream::Serial {
            clock.observe(started.elapsed().as_secs_f64(), line);
            parser.feed(line);
        }
    })?;
    let exit_s = started.elapsed().as_secs_f64();
    let code = verdict::decide(end, &parser.finish()).code;
    Ok(TimedBoot { clock, exit_s, code })
}
