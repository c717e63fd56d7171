use core::panic::Location;

use super::*;
use crate::context::Switch;
use crate::lazy::{Flavour, Report, ReportDetail, Rule, Site, MAX_REPORTS};
use crate::mmu::PteFormat;
use crate::test_mmu::Fixture;

#[test]
fn a_section_left_open_is_reported_and_reset() {
    let fx = Fixture::new(PteFormat::X86_64);
    let mm = fx.mm();
    mm.set_flavour(Flavour::Queued);
    let ptep = ptep_of(&fx, 0);
    assert!(mm.check_quiescent());
    mm.lazy_mmu_mode_enable();
    mm.set_pte_at(page(0), ptep, entry(&fx, FRAME_A));
    assert!(!mm.check_quiescent());
    let reports = mm.take_reports();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].rule, Rule::SectionLeftOpen);
    assert!(reports[0].section_entered_at.is_some());
    assert_eq!(fx.mmu.pte_at(ptep), entry(&fx, FRAME_A), "the queued write was applied");
    assert!(!mm.is_lazy_mmu_mode_active());
    assert!(mm.check_quiescent());
}

#[test]
fn a_pause_left_open_is_reported() {
    let fx = Fixture::new(PteFormat::X86_64);
    let mm = fx.mm();
    mm.lazy_mmu_mode_pause();
    assert!(!mm.check_quiescent());
    assert_eq!(mm.take_reports()[0].rule, Rule::SectionLeftOpen);
}

#[test]
fn break_before_make_is_enforced_on_live_arm64_entries_only() {
    let fx = Fixture::new(PteFormat::Arm64);
    let mm = fx.mm();
    let ptep = ptep_of(&fx, 0);
    let live_a = entry(&fx, FRAME_A);
    mm.set_pte_at(page(0), ptep, live_a);
    mm.set_pte_at(page(0), ptep, PteFormat::Arm64.page_entry(FRAME_A, crate::pte::Prot::KERNEL_RO));
    mm.pte_clear(page(0), ptep);
    mm.set_pte_at(page(0), ptep, entry(&fx, FRAME_B));
    assert_eq!(mm.take_reports(), [], "write-protect and break-then-make are legal");

    mm.set_pte_at(page(0), ptep, live_a);
    let reports = mm.take_reports();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].rule, Rule::BreakBeforeMake);
    let detail = ReportDetail::PteChange { va: page(0), old: entry(&fx, FRAME_B), new: live_a };
    assert_eq!(reports[0].detail, detail);

    let x86 = Fixture::new(PteFormat::X86_64);
    let x86_mm = x86.mm();
    let x86_ptep = ptep_of(&x86, 0);
    x86_mm.set_pte_at(page(0), x86_ptep, entry(&x86, FRAME_A));
    x86_mm.set_pte_at(page(0), x86_ptep, entry(&x86, FRAME_B));
    assert_eq!(x86_mm.take_reports(), []);
}

#[test]
fn break_before_make_sees_the_queued_value_under_queued() {
    let fx = Fixture::new(PteFormat::Arm64);
    let mm = fx.mm();
    mm.set_flavour(Flavour::Queued);
    let ptep = ptep_of(&fx, 0);
    mm.lazy_mmu_mode_enable();
    mm.set_pte_at(page(0), ptep, entry(&fx, FRAME_A));
    mm.set_pte_at(page(0), ptep, entry(&fx, FRAME_B));
    mm.lazy_mmu_mode_disable();
    let reports = mm.take_reports();
    assert_eq!(reports.iter().map(|r| r.rule).collect::<Vec<_>>(), [Rule::BreakBeforeMake]);
}

#[test]
fn switched_off_it_reports_nothing() {
    let fx = Fixture::new(PteFormat::X86_64);
    let mm = fx.mm();
    mm.set_sanitizer(Switch::Off);
    mm.lazy_mmu_mode_disable();
    assert_eq!(mm.take_reports(), []);
    mm.set_sanitizer(Switch::On);
    mm.lazy_mmu_mode_disable();
    assert_eq!(mm.take_reports().len(), 1);
}

#[test]
fn the_buffer_is_fixed_and_counts_what_it_drops() {
    let fx = Fixture::new(PteFormat::X86_64);
    let mm = fx.mm();
    for _ in 0..MAX_REPORTS + 3 {
        mm.lazy_mmu_mode_disable();
    }
    assert_eq!(mm.take_reports().len(), MAX_REPORTS);
    assert_eq!(mm.take_dropped_reports(), 3);
    assert_eq!(mm.take_reports(), []);
}

#[test]
fn a_report_is_one_line_rule_first_with_file_and_line_sites() {
    let fx = Fixture::new(PteFormat::Arm64);
    let mm = fx.mm();
    let ptep = ptep_of(&fx, 0);
    mm.set_pte_at(page(0), ptep, entry(&fx, FRAME_A));
    mm.lazy_mmu_mode_enable();
    mm.set_pte_at(page(0), ptep, entry(&fx, FRAME_B));
    mm.lazy_mmu_mode_disable();
    let reports = mm.take_reports();
    assert_eq!(reports.len(), 1);
    let (at, entered) = (reports[0].at.line(), reports[0].section_entered_at.map(|site| site.line()));
    let expected = format!(
        "break-before-make at {}:{at} (section entered at line {}): frame {FRAME_A} -> {FRAME_B}",
        file!(),
        entered.unwrap_or_default()
    );
    assert_eq!(format!("{}", reports[0]), expected);
}

/// A site in this file that a report can name.
fn site_here() -> &'static Location<'static> {
    Location::caller()
}

#[test]
fn a_report_names_a_section_in_another_file_in_full_and_a_same_frame_change_by_its_words() {
    let at = Location::caller();
    let elsewhere = super::site_elsewhere();
    let old = entry_arm64(FRAME_A, Prot::KERNEL_RW);
    let new = entry_arm64(FRAME_A, Prot::KERNEL_RO);
    let report = Report {
        rule: Rule::BreakBeforeMake,
        cpu: 1,
        at,
        section_entered_at: Some(elsewhere),
        detail: ReportDetail::PteChange { va: page(0), old, new },
    };
    let expected = format!(
        "break-before-make at {}:{} on cpu1 (section entered at {}:{}): {old} -> {new}",
        at.file(),
        at.line(),
        elsewhere.file(),
        elsewhere.line()
    );
    assert_eq!(report.to_string(), expected);
    let same_file = Report { section_entered_at: Some(site_here()), detail: ReportDetail::None, ..report };
    assert!(same_file.to_string().ends_with(&format!("(section entered at line {})", site_here().line())));
    assert_eq!(format!("{:?}", Site(at)), format!("{}:{}", at.file(), at.line()), "Debug is the Display form");
}

fn entry_arm64(frame: PhysAddr, prot: Prot) -> crate::pte::PteValue {
    PteFormat::Arm64.page_entry(frame, prot)
}
