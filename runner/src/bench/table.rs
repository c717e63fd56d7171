//! The terminal tables: boot and suites against the floor, where the time
//! goes, batching per flavour (events first, guest time second), the
//! sanitizer's cost and peak frames.

use std::fmt::Write;

use super::records::{of_kind, outlier, Record, Stats, OUTLIER_FACTOR};
use super::timing::TimedBoot;
use super::{ArchResult, Boots};

pub const FLAVOURS: [&str; 5] = ["none", "arm64", "queued", "tlb-batch", "deferred-pte"];

/// One field over the runs of a measurement.
pub fn boot_stats(boots: &Boots, field: impl Fn(&TimedBoot) -> Option<f64>) -> Option<Stats> {
    Stats::of(&boots.runs.iter().filter_map(field).collect::<Vec<_>>())
}

fn seconds(stats: Option<Stats>) -> String {
    stats.map_or("-".to_string(), |s| format!("{:.3} [{:.3}..{:.3}]", s.median, s.min, s.max))
}

pub fn ratio(value: Option<Stats>, floor: Option<Stats>) -> String {
    match (value, floor) {
        (Some(value), Some(floor)) if floor.median > 0.0 => format!("x{:.2}", value.median / floor.median),
        _ => "-".to_string(),
    }
}

pub fn render(result: &ArchResult, runs: u32) -> String {
    let mut out = String::new();
    let arch = result.arch.name();
    let load = result.host_load.map_or(String::new(), |load| format!("; host load average {load:.1} at the start"));
    let _ = writeln!(
        out,
        "\n== {arch}: {} (TCG), direct boot, {} kernel; host seconds, median [min..max] of {runs} runs{load}",
        result.qemu_version,
        result.profile.cargo_name()
    );
    boot_table(&mut out, result);
    time_table(&mut out, result);
    memory_table(&mut out, result);
    batching_tables(&mut out, result);
    sanitizer_table(&mut out, result);
    out
}

fn boot_table(out: &mut String, result: &ArchResult) {
    let floor = boot_stats(&result.floor, |b| Some(b.exit_s));
    let _ = writeln!(out, "\n{:<42} {:<26} {:>8}", "boot (same QEMU command, -smp 2)", "seconds", "x floor");
    let mut row = |label: &str, stats: Option<Stats>| {
        let _ = writeln!(out, "{label:<42} {:<26} {:>8}", seconds(stats), ratio(stats, floor));
    };
    row("floor kernel: start to exit", floor);
    row("default run: start to KTAP plan line", boot_stats(&result.default_run, |b| b.clock.plan_s));
    row("default run: start to exit", boot_stats(&result.default_run, |b| Some(b.exit_s)));
    for suite in &result.suites {
        row(&format!("{}: start to exit", suite.what), boot_stats(suite, |b| Some(b.exit_s)));
    }
}

fn time_table(out: &mut String, result: &ArchResult) {
    let default_run = &result.default_run;
    let _ = writeln!(out, "\n{:<42} {:<26}", "where the time goes (default run)", "seconds");
    let mut row = |label: &str, text: String| {
        let _ = writeln!(out, "{label:<42} {text:<26}");
    };
    row("build: kernel (cargo, warm or cold)", format!("{:.3}", result.kernel_build_s));
    row("build: floor kernel", format!("{:.3}", result.floor_build_s));
    row("QEMU start and exit (the floor)", seconds(boot_stats(&result.floor, |b| Some(b.exit_s))));
    row("firmware", "none (direct boot)".to_string());
    row("boot: start to KTAP plan line", seconds(boot_stats(default_run, |b| b.clock.plan_s)));
    let names: Vec<String> =
        default_run.runs.first().map_or(Vec::new(), |b| b.clock.suites.iter().map(|s| s.name.clone()).collect());
    for name in names {
        let span = |b: &TimedBoot| b.clock.suites.iter().find(|s| s.name == name).map(|s| s.end_s - s.start_s);
        row(&format!("suite {name}"), seconds(boot_stats(default_run, span)));
    }
    let tail = |b: &TimedBoot| b.clock.suites.last().map(|s| b.exit_s - s.end_s);
    row("last suite's end to QEMU exit", seconds(boot_stats(default_run, tail)));
}

fn memory_table(out: &mut String, result: &ArchResult) {
    let _ = writeln!(out, "\n{:<42} {:>12}", "peak frames used (4 KiB; allocator counters)", "frames");
    let peak = |boots: &Boots| {
        boot_stats(boots, |b| b.clock.peak_frames.map(|p| p as f64))
            .map_or("-".to_string(), |s| format!("{:.0}", s.max))
    };
    let _ = writeln!(out, "{:<42} {:>12}", "default run (all suites)", peak(&result.default_run));
    for suite in &result.suites {
        let _ = writeln!(out, "{:<42} {:>12}", suite.what, peak(suite));
    }
    for record in of_kind(&result.records, "memory") {
        let label = format!("bench.{} {}", record.key("case").unwrap_or("?"), record.key("flavour").unwrap_or("?"));
        let text = format!("{:.0} ({:.0} data)", record.median("peak_frames"), record.median("data_frames"));
        let _ = writeln!(out, "{label:<42} {text:>12}");
    }
}

/// Events per map+unmap (the kernel sums them over its repetitions).
pub fn per_rep(record: &Record, field: &str) -> f64 {
    record.median(field) / record.median("reps").max(1.0)
}

pub fn count(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
    }
}

/// The inside-lazy record for `outside`'s flavour, op and size.
pub fn partner<'a>(records: &'a [Record], record: &Record, lazy: &str) -> Option<&'a Record> {
    of_kind(records, "batching")
        .find(|r| r.key("lazy") == Some(lazy) && ["flavour", "op", "pages"].iter().all(|k| r.key(k) == record.key(k)))
}

fn batching_tables(out: &mut String, result: &ArchResult) {
    let _ = writeln!(
        out,
        "\nbatching: map then unmap N pages, inside (in) and outside (out) lazy mode, -smp 1.\n\
         Events are per map+unmap and exact; the figure is their in/out ratio. Guest ns come\n\
         from TCG (TSC / CNTVCT_EL0): barriers are nearly free there, so they are not hardware costs.\n\
         outlier: ns/page over x{OUTLIER_FACTOR} the median of the same op, mode and N under all flavours."
    );
    for flavour in FLAVOURS {
        let _ = writeln!(
            out,
            "\nflavour {flavour:<13} {:>5} {:>6} {:>13} {:>13} {:>11} {:>9} {:>20} {:>20}  outlier",
            "pages", "writes", "barriers i/o", "invals i/o", "drains i/o", "sections", "ns/page in", "ns/page out",
        );
        for record in of_kind(&result.records, "batching")
            .filter(|r| r.key("flavour") == Some(flavour) && r.key("lazy") == Some("in"))
        {
            let Some(outside) = partner(&result.records, record, "out") else { continue };
            let pair = |field: &str| format!("{}/{}", count(per_rep(record, field)), count(per_rep(outside, field)));
            let ns = |r: &Record| {
                r.stats("ns_per_page")
                    .map_or("-".to_string(), |s| format!("{:.0} [{:.0}..{:.0}]", s.median, s.min, s.max))
            };
            let flagged: Vec<String> = [("in", record), ("out", outside)]
                .iter()
                .filter_map(|(lazy, r)| outlier(&result.records, r).map(|times| format!("{lazy} x{times:.1}")))
                .collect();
            let _ = writeln!(
                out,
                "  {:<19} {:>5} {:>6} {:>13} {:>13} {:>11} {:>9} {:>20} {:>20}  {}",
                record.key("op").unwrap_or("?"),
                record.key("pages").unwrap_or("?"),
                count(per_rep(record, "pte_writes")),
                pair("barriers"),
                pair("invalidations"),
                pair("drains"),
                count(per_rep(record, "sections")),
                ns(record),
                ns(outside),
                flagged.join(", "),
            );
        }
    }
}

fn sanitizer_table(out: &mut String, result: &ArchResult) {
    let _ = writeln!(
        out,
        "\n{:<14} {:<6} {:>6} {:>16} {:>17} {:>8}",
        "sanitizer", "op", "pages", "on ns/page", "off ns/page", "on/off"
    );
    for record in of_kind(&result.records, "sanitizer") {
        let (on, off) = (record.median("on_ns_per_page"), record.median("off_ns_per_page"));
        let _ = writeln!(
            out,
            "{:<14} {:<6} {:>6} {:>16.0} {:>17.0} {:>8}",
            record.key("flavour").unwrap_or("?"),
            record.key("op").unwrap_or("?"),
            record.key("pages").unwrap_or("?"),
            on,
            off,
            if off > 0.0 { format!("x{:.2}", on / off) } else { "-".to_string() }
        );
    }
}
