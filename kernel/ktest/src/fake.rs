//! Host-test doubles: a `Platform` that records what it is asked and can
//! play a watchdog timeout, an unexpected fault or a sanitizer report, and
//! a strict reader of the KTAP tree the runner prints.

use std::cell::{Cell, RefCell};
use std::string::String;
use std::sync::{Mutex, MutexGuard};
use std::vec::Vec;

use core::panic::Location;

use mm::{Access, Fault, FaultAddr, FaultKind, Flavour, Rule};

use crate::case::{Case, Order};
use crate::ctx::Ctx;
use crate::platform::{Guarded, Platform};
use crate::target::{Arch, Target};

/// Runs touch process-wide state (the crash path's current case): one at a time.
pub(crate) fn serialise_runs() -> MutexGuard<'static, ()> {
    static RUNS: Mutex<()> = Mutex::new(());
    RUNS.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub(crate) const FAKE_FAULT: Fault =
    Fault { kind: FaultKind::WriteProtected, access: Access::Write, addr: FaultAddr(0x4008_1000) };

#[derive(Default)]
pub(crate) struct FakePlatform {
    pub(crate) out: RefCell<String>,
    /// `before_case` / `after_case` calls as `before suite.case variant order`.
    pub(crate) hooks: RefCell<Vec<String>>,
    /// Case names whose body "hangs": `run_guarded` reports a timeout.
    pub(crate) hang: RefCell<Vec<&'static str>>,
    /// Case names whose body takes an unexpected fault.
    pub(crate) crash: RefCell<Vec<&'static str>>,
    /// Case names after which the "sanitizer" reports an open lazy section.
    pub(crate) sanitizer_reports: RefCell<Vec<&'static str>>,
    /// What the next `expect_fault` returns.
    pub(crate) next_fault: Cell<Option<Fault>>,
    /// The target reported; `None`: the x86_64 host model.
    pub(crate) target: Cell<Option<Target>>,
    running: Cell<Option<&'static str>>,
}

impl FakePlatform {
    pub(crate) fn output(&self) -> String {
        self.out.borrow().clone()
    }
}

impl Platform for FakePlatform {
    fn write(&self, s: &str) {
        self.out.borrow_mut().push_str(s);
    }

    fn target(&self) -> Target {
        self.target.get().unwrap_or(Target::host_model(Arch::X86_64))
    }

    fn run_guarded(&self, f: &mut dyn FnMut(), _timeout_ms: u64) -> Guarded {
        let running = self.running.get().unwrap_or_default();
        if self.hang.borrow().contains(&running) {
            return Guarded::TimedOut;
        }
        if self.crash.borrow().contains(&running) {
            return Guarded::Faulted(FAKE_FAULT);
        }
        f();
        Guarded::Returned
    }

    fn expect_fault(&self, f: &mut dyn FnMut()) -> Option<Fault> {
        f();
        self.next_fault.take()
    }

    fn before_case(&self, case: &Case, variant: Option<Flavour>, order: Order) {
        self.running.set(Some(case.name));
        self.hooks.borrow_mut().push(std::format!(
            "before {}.{} {} {order:?}",
            case.suite,
            case.name,
            variant.map_or("-", Flavour::name)
        ));
    }

    fn after_case(&self, ctx: &mut Ctx) {
        if self.sanitizer_reports.borrow().contains(&ctx.case_name()) {
            ctx.fail_rule(Rule::SectionLeftOpen, Location::caller(), format_args!("lazy section left open"));
        }
        self.hooks.borrow_mut().push(std::format!("after {}.{}", ctx.suite(), ctx.case_name()));
        self.running.set(None);
    }
}

/// One test line of the KTAP tree, with the `#` lines printed at its own
/// indentation right before it.
#[derive(Debug)]
pub(crate) struct Node {
    pub(crate) ok: bool,
    pub(crate) name: String,
    /// What follows ` # ` on the result line.
    pub(crate) directive: Option<String>,
    pub(crate) diags: Vec<String>,
    pub(crate) children: Vec<Node>,
}

impl Node {
    pub(crate) fn child(&self, name: &str) -> &Node {
        self.children
            .iter()
            .find(|child| child.name == name)
            .unwrap_or_else(|| panic!("{} has no child {name}: {:?}", self.name, self.children))
    }
}

/// Reads a KTAP log strictly: every block has a header and a plan its
/// results match, numbers count from 1, indentation is 4 spaces per level.
/// Returns the top-level nodes and the `#` lines after the last one.
pub(crate) fn parse_ktap(log: &str) -> (Vec<Node>, Vec<String>) {
    let lines: Vec<(usize, &str)> = log
        .lines()
        .map(|line| {
            let text = line.trim_start_matches(' ');
            let indent = line.len() - text.len();
            assert_eq!(indent % 4, 0, "indentation not a multiple of 4: {line:?}");
            (indent / 4, text)
        })
        .collect();
    let mut pos = 0;
    let nodes = parse_block(&lines, &mut pos, 0);
    let trailer = lines[pos..].iter().map(|(_, text)| String::from(*text)).collect();
    (nodes, trailer)
}

fn parse_block(lines: &[(usize, &str)], pos: &mut usize, depth: usize) -> Vec<Node> {
    assert_eq!(lines[*pos], (depth, "KTAP version 1"), "block header at line {}", *pos);
    *pos += 1;
    while lines[*pos].1.starts_with('#') {
        assert_eq!(lines[*pos].0, depth, "header comment at line {}", *pos);
        *pos += 1;
    }
    let plan = lines[*pos].1.strip_prefix("1..").unwrap_or_else(|| panic!("no plan at line {}", *pos));
    let planned: usize = plan.parse().expect("plan count");
    *pos += 1;
    let mut nodes = Vec::new();
    let mut diags = Vec::new();
    let mut children = Vec::new();
    while nodes.len() < planned {
        let (line_depth, text) = lines[*pos];
        if line_depth == depth + 1 && text == "KTAP version 1" {
            children = parse_block(lines, pos, depth + 1);
            continue;
        }
        assert_eq!(line_depth, depth, "line {} {text:?} out of place", *pos);
        *pos += 1;
        if let Some(diag) = text.strip_prefix("# ") {
            diags.push(String::from(diag));
            continue;
        }
        let (ok, rest) = match text.strip_prefix("ok ") {
            Some(rest) => (true, rest),
            None => (false, text.strip_prefix("not ok ").unwrap_or_else(|| panic!("not a result: {text:?}"))),
        };
        let (number, rest) = rest.split_once(' ').expect("number and name");
        assert_eq!(number.parse::<usize>().expect("test number"), nodes.len() + 1, "numbering: {text:?}");
        let (name, directive) = match rest.split_once(" # ") {
            Some((name, directive)) => (name, Some(String::from(directive))),
            None => (rest, None),
        };
        nodes.push(Node {
            ok,
            name: String::from(name),
            directive,
            diags: std::mem::take(&mut diags),
            children: std::mem::take(&mut children),
        });
    }
    nodes
}
