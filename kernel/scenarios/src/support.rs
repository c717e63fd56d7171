//! Small pieces every suite uses: the environment, tagged frames (a frame
//! whose first word names it, so a read through a mapping says which frame
//! the MMU really used), a scratch VA range for mappings under test, and a
//! rule-by-rule check of the sanitizer's reports.

use core::fmt::Debug;
use core::panic::Location;

use alloc::vec::Vec;

use ktest::{Arch, Ctx, Target};
use mm::{AllocError, Flavour, PhysAddr, Prot, PteValue, Rule, VirtAddr, PAGE_SIZE};

use crate::env::{Env, EnvRef};

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

/// The first word of frame `pa`, as a tag: distinct per frame and never 0.
pub const fn tag_of(pa: PhysAddr) -> u64 {
    0x7a60_0000_0000_0000 | pa.0
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

/// Page `index` of the scratch range: kernel VAs in the vmalloc area that
/// `vmap` never hands out, for cases that build their own mappings.
pub fn scratch_va(env: &dyn Env, index: u64) -> VirtAddr {
    let layout = env.mm().layout();
    layout.vmalloc_base.add(layout.vmalloc_size / 2 + index * PAGE_SIZE)
}

/// The leaf entry that maps `pa` with `prot` in this MMU's format.
pub fn page_entry(env: &dyn Env, pa: PhysAddr, prot: Prot) -> PteValue {
    env.mm().mmu().format().page_entry(pa, prot)
}

/// Checks the sanitizer's reports (`rule` and what else the case compares,
/// such as the call site) against the expected ones, rule by rule: each
/// rule whose reports differ is a failure of the sanitizer judge for that
/// rule, so a plan can name the rules a buggy form silences.
#[track_caller]
pub fn check_reports<T: PartialEq + Debug>(ctx: &mut Ctx, seen: &[(Rule, T)], expected: &[(Rule, T)], what: &str) {
    let site = Location::caller();
    let mut rules: Vec<Rule> = Vec::new();
    for (rule, _) in expected.iter().chain(seen) {
        if !rules.contains(rule) {
            rules.push(*rule);
        }
    }
    for rule in rules {
        let (seen, expected) = (reports_of(rule, seen), reports_of(rule, expected));
        if seen != expected {
            ctx.fail_rule(
                rule,
                site,
                format_args!("{what}: {} reports: expected {expected:?}, saw {seen:?}", rule.name()),
            );
        }
    }
}

fn reports_of<T>(rule: Rule, reports: &[(Rule, T)]) -> Vec<&T> {
    reports.iter().filter(|(reported, _)| *reported == rule).map(|(_, rest)| rest).collect()
}
