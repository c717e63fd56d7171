//! The KTAP v1 writer: one function per line kind, four spaces per level
//! (docs/design.md, "The harness"; the host runner parses the same).

use alloc::string::String;
use core::fmt::{self, Write};

use crate::platform::Platform;

/// Leaf counts of a subtree: variants count one each, a case without
/// variants counts once.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub pass: usize,
    pub fail: usize,
    pub skip: usize,
    /// Failures that were watchdog timeouts (also counted in `fail`).
    pub timeouts: usize,
}

impl Counts {
    pub fn total(&self) -> usize {
        self.pass + self.fail + self.skip
    }

    pub(crate) fn add(&mut self, other: Counts) {
        self.pass += other.pass;
        self.fail += other.fail;
        self.skip += other.skip;
        self.timeouts += other.timeouts;
    }

    /// What a parent over these leaves reports.
    pub(crate) fn parent_result(&self, all_skipped: &'static str) -> Outcome {
        if self.fail > 0 {
            Outcome::Fail(String::new())
        } else if self.pass == 0 && self.skip > 0 {
            Outcome::Skip(String::from(all_skipped))
        } else {
            Outcome::Pass
        }
    }
}

/// The result of one KTAP test line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Skip(String),
    /// With the one-line reason (empty for a parent: its children say why).
    Fail(String),
    Timeout {
        after_ms: u64,
    },
}

impl Outcome {
    pub(crate) fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        match self {
            Outcome::Pass => counts.pass = 1,
            Outcome::Skip(_) => counts.skip = 1,
            Outcome::Fail(_) => counts.fail = 1,
            Outcome::Timeout { .. } => {
                counts.fail = 1;
                counts.timeouts = 1;
            }
        }
        counts
    }
}

pub(crate) struct Ktap<'p> {
    platform: &'p dyn Platform,
}

impl<'p> Ktap<'p> {
    pub(crate) fn new(platform: &'p dyn Platform) -> Self {
        Ktap { platform }
    }

    /// Writes one whole line with a single `Platform::write`, so a line from
    /// another CPU's logger cannot land inside it.
    pub(crate) fn line(&self, depth: usize, args: fmt::Arguments) {
        let mut text = String::new();
        for _ in 0..depth {
            text.push_str("    ");
        }
        // Writing into a String cannot fail.
        let _ = text.write_fmt(args);
        text.push('\n');
        self.platform.write(&text);
    }

    pub(crate) fn header(&self, depth: usize) {
        self.line(depth, format_args!("KTAP version 1"));
    }

    pub(crate) fn subtest(&self, depth: usize, name: &str) {
        self.header(depth);
        self.line(depth, format_args!("# Subtest: {name}"));
    }

    pub(crate) fn plan(&self, depth: usize, nr_tests: usize) {
        self.line(depth, format_args!("1..{nr_tests}"));
    }

    pub(crate) fn diag(&self, depth: usize, args: fmt::Arguments) {
        self.line(depth, format_args!("# {}", one_line(args)));
    }

    /// `#   <text>`: the detail under a diagnostic, as KUnit indents the
    /// lines of a failed expectation; one such line per line of `text`.
    pub(crate) fn detail(&self, depth: usize, args: fmt::Arguments) {
        let mut text = String::new();
        let _ = text.write_fmt(args);
        for line in text.lines() {
            self.line(depth, format_args!("#   {line}"));
        }
    }

    /// `# <name>: pass:.. fail:.. skip:.. total:..`, KUnit's summary line.
    pub(crate) fn counts(&self, depth: usize, name: &str, counts: &Counts) {
        self.line(
            depth,
            format_args!(
                "# {name}: pass:{} fail:{} skip:{} total:{}",
                counts.pass,
                counts.fail,
                counts.skip,
                counts.total()
            ),
        );
    }

    pub(crate) fn result(&self, depth: usize, number: usize, name: &str, outcome: &Outcome) {
        match outcome {
            Outcome::Pass => self.line(depth, format_args!("ok {number} {name}")),
            Outcome::Skip(reason) => {
                self.line(depth, format_args!("ok {number} {name} # SKIP {}", one_line(format_args!("{reason}"))))
            }
            Outcome::Fail(reason) if reason.is_empty() => self.line(depth, format_args!("not ok {number} {name}")),
            Outcome::Fail(reason) => {
                self.line(depth, format_args!("not ok {number} {name} # {}", plain_reason(reason)))
            }
            Outcome::Timeout { after_ms } => {
                self.line(depth, format_args!("not ok {number} {name} # TIMEOUT after {after_ms} ms"))
            }
        }
    }
}

/// Folds a message onto one line: a KTAP line must not be split.
pub(crate) fn one_line(args: fmt::Arguments) -> String {
    let mut text = String::new();
    let _ = text.write_fmt(args);
    text.replace(['\n', '\r'], " ")
}

/// A failure reason may not carry a KTAP directive word (`SKIP`, `TODO`,
/// `TIMEOUT`) that a parser would take for what happened: lower-case them.
pub(crate) fn plain_reason(reason: &str) -> String {
    let mut text = one_line(format_args!("{reason}"));
    for directive in ["TIMEOUT", "SKIP", "TODO"] {
        text = text.replace(directive, &directive.to_ascii_lowercase());
    }
    text
}
