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

/// A small saved run: one boot per measurement, `batching` records for two
/// flavours at two sizes, the vmap point at 512 under `arm64` 20 times
/// slower than under `none`.
fn saved_run() -> super::ArchResult {
    use super::timing::TimedBoot;
    use super::Boots;
    use crate::verdict::ExitCode;
    let boot = |what: &str, exit_s: f64| {
        let mut clock = LineClock::default();
        for (at, line) in [(0.1, "1..1"), (0.2, "    # Subtest: boot"), (exit_s - 0.1, "ok 1 boot")] {
            clock.observe(at, line);
        }
        let run = TimedBoot { clock, exit_s, code: ExitCode::Pass };
        Boots { what: what.to_string(), command: vec!["qemu".to_string()], runs: vec![run] }
    };
    let mut records = Vec::new();
    for flavour in ["none", "arm64", "queued"] {
        for (lazy, barriers) in [("in", 1), ("out", 512)] {
            for pages in [1, 512] {
                let slow = flavour == "arm64" && lazy == "in" && pages == 512;
                let ns = if slow { 20_000 } else { 1000 / pages + 500 };
                merge(
                    &mut records,
                    &format!(
                        "batching flavour={flavour} op=vmap lazy={lazy} pages={pages} reps=1 barriers={} drains=0 \
                         invalidations=1 ns_per_page={ns}",
                        barriers.min(pages)
                    ),
                );
            }
        }
    }
    super::ArchResult {
        arch: Arch::Aarch64,
        profile: Profile::Release,
        qemu_version: "QEMU emulator version 10.0.2".to_string(),
        host_load: Some(0.5),
        kernel_build_s: 1.0,
        floor_build_s: 1.0,
        floor: boot("floor", 0.2),
        default_run: boot("default run", 0.5),
        suites: vec![boot("filter=boot.*", 0.3)],
        bench: boot(super::BENCH_CMDLINE, 0.4),
        records,
    }
}

#[test]
fn an_outlier_is_far_from_the_same_point_under_every_flavour() {
    let result = saved_run();
    let flagged: Vec<(&str, &str, &str)> = result
        .records
        .iter()
        .filter(|r| super::records::outlier(&result.records, r).is_some())
        .map(|r| (r.key("flavour").unwrap(), r.key("lazy").unwrap(), r.key("pages").unwrap()))
        .collect();
    // N = 1 is slower per page than N = 512 everywhere: that is no outlier.
    assert_eq!(flagged, [("arm64", "in", "512")]);
}

#[test]
fn the_saved_json_reads_back_as_measured() {
    let result = saved_run();
    let json: serde_json::Value = serde_json::from_str(&super::json::render(&result, "abc123", 1)).expect("valid JSON");
    let saved = super::load::read(&json).expect("reads back");
    assert_eq!((saved.revision.as_str(), saved.runs), ("abc123", 1));
    assert_eq!(saved.result.records.len(), result.records.len());
    for (read, written) in saved.result.records.iter().zip(&result.records) {
        assert_eq!(read.kind, written.kind);
        assert_eq!(read.stats("ns_per_page"), written.stats("ns_per_page"));
        assert!(written.key.iter().all(|(k, v)| read.key(k) == Some(v.as_str())));
    }
    assert_eq!(saved.result.default_run.runs[0].clock, result.default_run.runs[0].clock);
    assert_eq!(saved.result.suites.len(), 1);
    assert_eq!(saved.result.host_load, Some(0.5));
    // The terminal tables are the same from the saved run as from the measured one.
    assert_eq!(super::table::render(&saved.result, 1), super::table::render(&result, 1));
}

#[test]
fn the_plot_labels_its_axes_ticks_only_the_sizes_run_and_rings_outliers() {
    let svg = super::svg::render(&saved_run());
    for label in ["barriers", "invalidations", "drains inside", "guest ns per page", "N pages", "flavour deferred-pte"]
    {
        assert!(svg.contains(&format!(">{label}<")), "no `{label}`");
    }
    let ticks = |size: &str| svg.matches(&format!("font-size=\"9.5\">{size}</text>")).count();
    assert_eq!((ticks("1"), ticks("512"), ticks("4")), (20, 20, 0), "x ticks: 5 flavours x 4 rows, sizes run only");
    assert_eq!(svg.matches("r=\"7.5\"").count(), 2, "the outlier's ring and the legend's");
    assert!(svg.contains(">x40<"), "the outlier says how far out it is: 20000 / 501 ns");
}

#[test]
fn the_readme_block_is_replaced_between_its_markers() {
    use super::readme::{replace_block, BEGIN, END};
    let text = format!("intro\n{BEGIN}\nold figures\n{END}\nafter\n");
    assert_eq!(replace_block(&text, "new\n").unwrap(), format!("intro\n{BEGIN}\nnew\n{END}\nafter\n"));
    assert!(replace_block("no markers", "new").unwrap_err().contains("block"));
}
