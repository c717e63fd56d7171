//! Host tests of the bench's pure parts: options, the line clock, records
//! merged over runs, and the JSON and SVG writers.

use super::options::{parse, BenchCommand, BenchOptions, DEFAULT_RUNS};
use super::records::{merge, Record, Stats};
use super::timing::{LineClock, SuiteSpan};
use crate::args::Arch;
use crate::kernel_build::Profile;

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

#[test]
fn options_default_to_both_arches_and_three_runs() {
    let both =
        BenchOptions { arches: vec![Arch::X86_64, Arch::Aarch64], runs: DEFAULT_RUNS, profile: Profile::Release };
    assert_eq!(parse(&[]), Ok(BenchCommand::Run(both)));
    let one = BenchOptions { arches: vec![Arch::Aarch64], runs: 5, profile: Profile::Dev };
    assert_eq!(
        parse(&strings(&["--arch", "arm64", "--runs=5", "--profile", "kernel-dev"])),
        Ok(BenchCommand::Run(one))
    );
    assert_eq!(parse(&strings(&["--runs", "1", "--help"])), Ok(BenchCommand::Help));
}

#[test]
fn options_reject_bad_values_by_name() {
    assert!(parse(&strings(&["--runs", "0"])).unwrap_err().contains("--runs"));
    assert!(parse(&strings(&["--arch", "riscv"])).unwrap_err().contains("riscv"));
    assert!(parse(&strings(&["--arch"])).unwrap_err().contains("needs a value"));
    assert!(parse(&strings(&["--profile", "dev"])).unwrap_err().contains("kernel-dev"));
    assert!(parse(&strings(&["--fast"])).unwrap_err().contains("unknown option"));
}

#[test]
fn line_clock_stamps_plan_suites_bench_lines_and_frames() {
    let mut clock = LineClock::default();
    let lines = [
        (0.1, "KTAP version 1"),
        (0.2, "1..2"),
        (0.3, "    KTAP version 1"),
        (0.3, "    # Subtest: boot"),
        (0.4, "    1..1"),
        (0.5, "    ok 1 a"),
        (0.6, "ok 1 boot"),
        (0.7, "    # Subtest: bench"),
        (0.8, "        # bench: batching flavour=none pages=1 barriers=1"),
        (0.9, "not ok 2 bench # a reason"),
        (1.0, "# lazymmu: frames total=10 peak_used=7 used=3"),
    ];
    for (at, line) in lines {
        clock.observe(at, line);
    }
    assert_eq!(clock.plan_s, Some(0.2));
    assert_eq!(
        clock.suites,
        [
            SuiteSpan { name: "boot".to_string(), start_s: 0.3, end_s: 0.6 },
            SuiteSpan { name: "bench".to_string(), start_s: 0.7, end_s: 0.9 }
        ]
    );
    assert_eq!(clock.bench_lines, ["batching flavour=none pages=1 barriers=1"]);
    assert_eq!(clock.peak_frames, Some(7));
}

#[test]
fn records_merge_runs_by_key_and_take_the_lower_median() {
    let mut records: Vec<Record> = Vec::new();
    for ns in [30, 10, 20, 40] {
        merge(&mut records, &format!("batching flavour=arm64 op=vmap lazy=in pages=4 barriers=4 ns_per_page={ns}"));
    }
    merge(&mut records, "batching flavour=arm64 op=vmap lazy=out pages=4 barriers=16 ns_per_page=5");
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].key("lazy"), Some("in"));
    assert_eq!(records[0].stats("ns_per_page"), Some(Stats { median: 20.0, min: 10.0, max: 40.0 }));
    assert_eq!(records[0].median("barriers"), 4.0);
    assert_eq!(records[1].median("barriers"), 16.0);
    assert_eq!(Stats::of(&[]), None);
}

#[test]
fn json_strings_are_escaped() {
    assert_eq!(super::json::quote("a\"b\\c\n"), "\"a\\\"b\\\\c\\u000a\"");
}
