//! Small pieces every suite uses: the environment, tagged frames (a frame
//! whose first word names it, so a read through a mapping says which frame
//! the MMU really used), scratch VA ranges for mappings under test
//! ([`ScratchVa`]), and a rule-by-rule check of the sanitizer's reports.

use core::fmt;
use core::panic::Location;

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use ktest::{Arch, Ctx, Target};
use mm::{AllocError, Fault, Flavour, PhysAddr, Prot, PteValue, Report, Rule, VirtAddr};

use crate::env::{Env, EnvRef};
pub use crate::scratch::{ScratchVa, PAGES_PER_LEAF_TABLE};

/// The environment the harness passed to this case.
pub fn env(ctx: &Ctx) -> &'static dyn Env {
    ctx.env::<EnvRef>().get()
}

/// Whether a PTE store only reaches the walker at its barrier here: the
/// arm64 flavour on the aarch64 host model, whose store buffer keeps a
/// kernel PTE store from the walker until `dsb`. QEMU TCG makes every store
/// visible at once, so a buggy form that skips or loses a barrier shows as a
/// wrong read (the MMU judge) only there; plans add that judge for it.
pub fn model_hides_unbarriered_stores(flavour: Flavour, target: Target) -> bool {
    flavour == Flavour::Arm64 && target.on_host_model() && target.arch == Arch::Aarch64
}

/// The high bits every tag carries: a word with them names its frame.
const TAG_BITS: u64 = 0x7a60_0000_0000_0000;

/// The first word of frame `pa`, as a tag: distinct per frame and never 0.
pub const fn tag_of(pa: PhysAddr) -> u64 {
    TAG_BITS | pa.as_u64()
}

/// What an 8-byte load through a VA gave, for checks and messages: a word
/// (`tag of 0x4002e000` when it is a frame's tag, else hex) or the fault
/// (`read fault (not mapped) at 0xffff...`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Loaded(pub Result<u64, Fault>);

impl Loaded {
    /// What a load of a page that holds frame `pa`'s tag gives.
    pub const fn tag_of(pa: PhysAddr) -> Loaded {
        Loaded(Ok(tag_of(pa)))
    }
}

impl fmt::Display for Loaded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Ok(word) if word & !0xffff_ffff_ffff == TAG_BITS => {
                write!(f, "tag of {}", PhysAddr::new(word & 0xffff_ffff_ffff))
            }
            Ok(word) => write!(f, "{word:#x}"),
            Err(fault) => write!(f, "{fault}"),
        }
    }
}

/// The same words inside an `Option` or a tuple (`Some(tag of 0x4002e000)`).
impl fmt::Debug for Loaded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Loads through `va` on this CPU.
pub fn load(env: &dyn Env, va: VirtAddr) -> Loaded {
    Loaded(env.read(va))
}

/// Where the linear map shows `pa`.
pub fn linear(env: &dyn Env, pa: PhysAddr) -> VirtAddr {
    env.mm().layout().phys_to_virt(pa)
}

/// Allocates a frame (outside any lazy section) and writes its tag through
/// the linear map.
pub fn tagged_frame(env: &dyn Env) -> Result<PhysAddr, AllocError> {
    let pa = env.mm().alloc_page()?;
    env.write(linear(env, pa), tag_of(pa)).map_err(|_| AllocError::NotManaged(pa))?;
    Ok(pa)
}

/// The leaf entry that maps `pa` with `prot` in this MMU's format.
pub fn page_entry(env: &dyn Env, pa: PhysAddr, prot: Prot) -> PteValue {
    env.mm().pte_format().page_entry(pa, prot)
}

/// Checks the sanitizer's reports against `expected`, rule by rule: each
/// rule whose reports differ (in number, order, site or detail) is one
/// failure of the sanitizer judge for that rule, at the caller's line, so a
/// plan can name exactly the rules a buggy form breaks or silences. The
/// failure names the first difference, the expected and the seen report on
/// a line each, as the sanitizer prints them, never the list.
#[track_caller]
pub fn check_reports(ctx: &mut Ctx, what: &str, seen: &[Report], expected: &[Report]) -> bool {
    let site = Location::caller();
    let mut rules: Vec<Rule> = Vec::new();
    for report in expected.iter().chain(seen) {
        if !rules.contains(&report.rule) {
            rules.push(report.rule);
        }
    }
    let mut same = true;
    for rule in rules {
        let (seen, expected) = (reports_of(rule, seen), reports_of(rule, expected));
        let Some(index) = (0..seen.len().max(expected.len())).find(|&i| seen.get(i) != expected.get(i)) else {
            continue;
        };
        same = false;
        let shown = |report: Option<&&Report>| report.map_or_else(|| String::from("none"), ToString::to_string);
        ctx.fail_rule(
            rule,
            site,
            format_args!(
                "{what}: {} report {} of {} differs\nexpected {}\nsaw      {}",
                rule.name(),
                index + 1,
                expected.len(),
                shown(expected.get(index)),
                shown(seen.get(index))
            ),
        );
    }
    same
}

/// Checks that the sanitizer reported exactly `expected` (each rule as many
/// times as it appears there), whatever the sites: one failure of the
/// sanitizer judge per rule whose count differs.
#[track_caller]
pub fn check_report_rules(ctx: &mut Ctx, what: &str, seen: &[Report], expected: &[Rule]) -> bool {
    let site = Location::caller();
    let mut rules: Vec<Rule> = Vec::new();
    for rule in expected.iter().copied().chain(seen.iter().map(|report| report.rule)) {
        if !rules.contains(&rule) {
            rules.push(rule);
        }
    }
    let mut same = true;
    for rule in rules {
        let nr_seen = seen.iter().filter(|report| report.rule == rule).count();
        let nr_expected = expected.iter().filter(|&&expected| expected == rule).count();
        if nr_seen != nr_expected {
            same = false;
            ctx.fail_rule(
                rule,
                site,
                format_args!("{what}: expected {nr_expected} {} reports, saw {nr_seen}", rule.name()),
            );
        }
    }
    same
}

fn reports_of(rule: Rule, reports: &[Report]) -> Vec<&Report> {
    reports.iter().filter(|report| report.rule == rule).collect()
}
