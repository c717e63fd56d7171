//! The sanitizer: each lazy-MMU rule as an immediate, named report with the
//! call site that broke it and where the current section was entered.
//! Reports go to a fixed buffer and never panic, so a case keeps running
//! and the harness decides what a report means.

use core::panic::Location;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use alloc::vec::Vec;

use super::clean::{BarrierTracker, Violation};
use crate::addr::VirtAddr;
use crate::mmu::PteFormat;
use crate::pte::{Level, PteValue};

/// Reports kept between two `take_reports`; later ones are counted only.
pub const MAX_REPORTS: usize = 32;

/// A rule of lazy MMU mode (docs/design.md, "The judges").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rule {
    /// A page allocated inside a section: the allocator may itself change
    /// page tables (debug_pagealloc) and its update would be deferred.
    AllocInLazy,
    /// A TLB flush while PTE updates are still queued, under a flavour that
    /// does not keep the ordering contract: the flush runs before them.
    FlushBeforePendingUpdates,
    /// An enter inside a section under the strict (seed) policy.
    NestedEnter,
    /// `arch_leave_lazy_mmu_mode` outside a section.
    LeaveWithoutEnter,
    /// `lazy_mmu_mode_disable` with `enable_count == 0`.
    DisableWithoutEnable,
    /// `lazy_mmu_mode_resume` with `pause_count == 0`.
    ResumeWithoutPause,
    /// A section (or pause) still open, or work still queued, at a test
    /// boundary.
    SectionLeftOpen,
    /// A live arm64 entry changed in a way `pgattr_change_is_safe` forbids.
    BreakBeforeMake,
    /// `lazy_mmu_mode_enable` with `enable_count == U8_MAX` (v7.0's
    /// `VM_WARN_ON_ONCE`); the enable is refused.
    EnableCountOverflow,
    /// `lazy_mmu_mode_pause` with `pause_count == U8_MAX`; refused.
    PauseCountOverflow,
    /// The arch mode entered while this CPU is already in it: Xen's
    /// `BUG_ON(xen_lazy_mode != XEN_LAZY_NONE)` in `enter_lazy`.
    ArchEnterWhileEntered,
    /// The arch mode left while this CPU is not in it: Xen's
    /// `BUG_ON(xen_lazy_mode != mode)` in `leave_lazy`.
    ArchLeaveWhileLeft,
    /// A page-table entry written directly (table construction, not
    /// `set_pte_at`) inside a section: it lands at once, ahead of the
    /// updates the section defers, and no flavour sees it.
    DirectWriteInLazy,
    /// arm64: a TLBI issued while a PTE store of its CPU has had no DSB;
    /// the walker may refill the old entry after the invalidation
    /// (docs/litmus.md).
    TlbiBeforeDsb,
    /// arm64: a flush returned with a TLBI that no `dsb ish` of its CPU
    /// completed (`dsb ishst` does not).
    TlbiNotCompleted,
    /// arm64: a new valid kernel entry handed back without `dsb` and then
    /// `isb`; the CPU's own next access may fault on it.
    NewEntryBeforeIsb,
    /// arm64: a page-table page freed while the entry that pointed at it
    /// was not yet clean (cleared, DSB by its writer, TLBI, `dsb ish`).
    TableFreedUnclean,
}

impl Rule {
    /// A stable name for logs and KTAP diagnostics.
    pub const fn name(self) -> &'static str {
        match self {
            Rule::AllocInLazy => "allocation in lazy mode",
            Rule::FlushBeforePendingUpdates => "TLB flush before pending updates",
            Rule::NestedEnter => "nested enter",
            Rule::LeaveWithoutEnter => "leave without enter",
            Rule::DisableWithoutEnable => "disable without enable",
            Rule::ResumeWithoutPause => "resume without pause",
            Rule::SectionLeftOpen => "section left open",
            Rule::BreakBeforeMake => "break-before-make",
            Rule::EnableCountOverflow => "enable_count overflow",
            Rule::PauseCountOverflow => "pause_count overflow",
            Rule::ArchEnterWhileEntered => "arch enter while entered (BUG)",
            Rule::ArchLeaveWhileLeft => "arch leave while left (BUG)",
            Rule::DirectWriteInLazy => "direct page-table write in lazy mode",
            Rule::TlbiBeforeDsb => "TLBI before the PTE store's DSB",
            Rule::TlbiNotCompleted => "TLBI not completed by dsb ish",
            Rule::NewEntryBeforeIsb => "new valid entry used before dsb+isb",
            Rule::TableFreedUnclean => "table page freed before clean",
        }
    }
}

impl From<Violation> for Rule {
    fn from(violation: Violation) -> Rule {
        match violation {
            Violation::TlbiBeforeDsb => Rule::TlbiBeforeDsb,
            Violation::TlbiNotCompleted => Rule::TlbiNotCompleted,
            Violation::NewEntryBeforeIsb => Rule::NewEntryBeforeIsb,
            Violation::TableFreedUnclean => Rule::TableFreedUnclean,
        }
    }
}

/// What else a report knows, by rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportDetail {
    None,
    /// The address a flush or a PTE change was for.
    Va(VirtAddr),
    /// The entry a break-before-make violation changed, old and new.
    PteChange {
        va: VirtAddr,
        old: PteValue,
        new: PteValue,
    },
}

/// One rule broken once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Report {
    pub rule: Rule,
    pub cpu: usize,
    /// The call that broke the rule.
    pub at: &'static Location<'static>,
    /// Where the section that was open at the time was entered.
    pub section_entered_at: Option<&'static Location<'static>>,
    pub detail: ReportDetail,
}

/// A call site as `file:line`, the form a person opens in an editor (the
/// column `Location`'s own `Display` adds is noise in a log).
/// `Debug` prints the same, so a tuple holding a `Site` stays short.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Site(pub &'static Location<'static>);

impl core::fmt::Display for Site {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}:{}", self.0.file(), self.0.line())
    }
}

impl core::fmt::Debug for Site {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Display::fmt(self, f)
    }
}

/// One line, the rule first: `break-before-make at kernel/.../bbm.rs:45
/// (section entered at line 44): frame 0x4002e000 -> 0x40031000`. The section's site gives only its line when it is in the
/// same file; the CPU is named when it is not the boot CPU.
impl core::fmt::Display for Report {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} at {}", self.rule.name(), Site(self.at))?;
        if self.cpu != 0 {
            write!(f, " on cpu{}", self.cpu)?;
        }
        match self.section_entered_at {
            Some(entered) if entered.file() == self.at.file() => {
                write!(f, " (section entered at line {})", entered.line())?
            }
            Some(entered) => write!(f, " (section entered at {})", Site(entered))?,
            None => {}
        }
        match self.detail {
            ReportDetail::None => Ok(()),
            ReportDetail::Va(va) => write!(f, " for {va}"),
            // The site names the entry; its VA (kept for tests and gdb) would
            // push the line past what a terminal shows.
            ReportDetail::PteChange { va: _, old, new } => {
                // Break-before-make is an arm64 rule: the words are arm64's.
                let frame = |value| PteFormat::Arm64.decode(Level::Pte, value).leaf().map(|(pa, _)| pa);
                match (frame(old), frame(new)) {
                    (Some(from), Some(to)) if from != to => write!(f, ": frame {from} -> {to}"),
                    _ => write!(f, ": {old} -> {new}"),
                }
            }
        }
    }
}

pub(crate) struct Sanitizer {
    enabled: AtomicBool,
    /// The arm64 barrier rules' state (`TlbiBeforeDsb` and the next three).
    pub(crate) barriers: BarrierTracker,
    pub(super) reports: spin::Mutex<ReportBuffer>,
    /// Reports lost to a full buffer or to a contended lock in interrupt
    /// context.
    dropped: AtomicU64,
}

/// The recorded reports, oldest first; no allocation when recording.
pub(super) struct ReportBuffer {
    items: [Option<Report>; MAX_REPORTS],
    len: usize,
}

impl Sanitizer {
    pub(crate) const fn new() -> Self {
        Sanitizer {
            enabled: AtomicBool::new(true),
            barriers: BarrierTracker::new(),
            reports: spin::Mutex::new(ReportBuffer { items: [None; MAX_REPORTS], len: 0 }),
            dropped: AtomicU64::new(0),
        }
    }

    /// Whether this CPU could take the sanitizer's locks now (none is held
    /// by a task an interrupt froze): what a switch on the interrupt's exit
    /// path needs, as it may store PTEs, flush and report.
    pub(crate) fn locks_free(&self) -> bool {
        self.reports.try_lock().is_some() && self.barriers.lock_free()
    }

    /// Also forgets the barrier rules' state: what comes next starts clean.
    pub(crate) fn set_enabled(&self, enabled: bool) {
        self.barriers.reset();
        self.enabled.store(enabled, Ordering::Relaxed);
    }

    pub(crate) fn is_enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    /// Records `report`. In interrupt context the buffer lock is only tried:
    /// the interrupted code may hold it.
    pub(crate) fn report(&self, report: Report, in_interrupt: bool) {
        if !self.is_enabled() {
            return;
        }
        let buffer = if in_interrupt { self.reports.try_lock() } else { Some(self.reports.lock()) };
        let Some(mut buffer) = buffer.filter(|b| b.len < MAX_REPORTS) else {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let slot = buffer.len;
        buffer.items[slot] = Some(report);
        buffer.len += 1;
    }

    pub(crate) fn take(&self) -> Vec<Report> {
        let mut buffer = self.reports.lock();
        let len = core::mem::replace(&mut buffer.len, 0);
        buffer.items[..len].iter_mut().filter_map(Option::take).collect()
    }

    pub(crate) fn take_dropped(&self) -> u64 {
        self.dropped.swap(0, Ordering::Relaxed)
    }
}
