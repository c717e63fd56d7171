//! The end of a log that stopped inside a subtest (a crash, QEMU killed):
//! the open subtests become [`Status::Crashed`] tests holding the results
//! they finished, down to the test that was running, so a report can name
//! the test a crash happened in.

use std::mem;

use super::{elapsed, Parser};
use crate::ktap::{Counts, Status, TestNode};

impl Parser {
    /// Closes every open subtest as [`Status::Crashed`], innermost first,
    /// keeping the results each finished; the innermost gets the test that
    /// was running (unless it had run all it planned) with the lines printed
    /// since the last result: the crash dump.
    pub(super) fn close_unfinished(&mut self) -> TestNode {
        let open: Vec<String> = self.position().open_subtests;
        let crash = self.report.crash.as_ref().filter(|crash| {
            crash.position.open_subtests == open
                && crash.position.running_number == self.stack.last().map_or(0, |g| g.last_number + 1)
        });
        let (reason, line) = crash.map_or((None, self.line_no), |crash| (Some(crash.reason.clone()), crash.line));
        let mut inner: Option<TestNode> = None;
        while self.stack.len() > 1 {
            let mut group = self.stack.pop().expect("checked the depth");
            let ran_all = group.plan.is_some_and(|planned| group.children.len() >= planned);
            let mut diagnostics = Vec::new();
            match inner.take() {
                Some(node) => group.children.push(node),
                None if ran_all => diagnostics = mem::take(&mut group.pending),
                None => {
                    let number = group.last_number + 1;
                    let name = reason
                        .as_deref()
                        .and_then(|reason| running_name(reason, &open))
                        .unwrap_or_else(|| format!("#{number}"));
                    let mut running = crashed(number, name, mem::take(&mut group.pending), line);
                    running.reason = reason.clone();
                    running.time = elapsed(group.mark, self.now);
                    running.count(0);
                    group.children.push(running);
                }
            }
            let parent = self.stack.last().expect("root stays");
            let name = group.name.unwrap_or_else(|| "?".to_string());
            let mut node = crashed(parent.last_number + 1, name, diagnostics, self.line_no);
            node.children = group.children;
            node.time = elapsed(parent.mark, self.now);
            node.count(group.errors);
            inner = Some(node);
        }
        inner.expect("called with a subtest open")
    }
}

/// A test the log stopped in.
fn crashed(number: usize, name: String, diagnostics: Vec<String>, line: usize) -> TestNode {
    TestNode {
        number,
        name,
        status: Status::Crashed,
        reason: None,
        diagnostics,
        children: Vec::new(),
        line,
        time: None,
        counts: Counts::default(),
    }
}

/// The running test's name below the open subtests, from the kernel's
/// `# CRASH: <reason> (in <suite>.<case>[<variant>])` (`[-]` without a
/// variant; a dotted `suite.case.variant` is read too). `None` when the
/// kernel named no case or one outside the open suite. The kernel does not
/// say whether the buggy (`.detects_bug`) order was running: under a case's
/// `.detects_bug` subtest the variant is still right, but a case without
/// variants is named without its `.detects_bug`.
pub(in crate::ktap) fn running_name(reason: &str, open: &[String]) -> Option<String> {
    let named = reason.strip_suffix(')')?.rsplit_once("(in ")?.1;
    let (case, variant) = match named.strip_suffix(']').and_then(|name| name.split_once('[')) {
        Some((case, "-")) => (case, None),
        Some((case, variant)) => (case, Some(variant)),
        None => (named, None),
    };
    let dotted = match variant {
        Some(variant) => format!("{case}.{variant}"),
        None => case.to_string(),
    };
    let below = |prefix: &str| dotted.strip_prefix(prefix)?.strip_prefix('.').map(str::to_string);
    match open {
        [] => None,
        [suite] => below(suite),
        [suite, ..] => below(&open.join(".")).or_else(|| {
            below(suite)?;
            variant.map(str::to_string).or_else(|| dotted.rsplit('.').next().map(str::to_string))
        }),
    }
}
