//! `lazymmu-run bench --readme`: from the saved `target/bench/<arch>.json`
//! of both arches, print the tables again, redraw the plots, and rewrite the
//! block of README.md between [`BEGIN`] and [`END`]: every benchmark figure
//! the README gives, made by the code that made `make bench`'s tables.

use std::fmt::Write;
use std::path::Path;

use super::load::{load, Saved};
use super::records::{of_kind, outlier, Record, Stats, OUTLIER_FACTOR};
use super::table::{boot_stats, count, partner, per_rep, ratio, FLAVOURS};
use super::{svg, table};
use crate::args::Arch;
use crate::verdict::ExitCode;

pub const BEGIN: &str = "<!-- bench figures: written by `scripts/run bench --readme` from target/bench/<arch>.json -->";
pub const END: &str = "<!-- end of bench figures -->";

const OPS: [&str; 2] = ["apply", "vmap"];
const EVENTS: [&str; 3] = ["barriers", "invalidations", "drains"];
/// The sizes whose guest time the README quotes.
const TIME_SIZES: [&str; 2] = ["1", "512"];

pub fn run(root: &Path) -> ExitCode {
    let fail = |message: String| {
        eprintln!("lazymmu-run bench --readme: {message}");
        ExitCode::SetupError
    };
    let dir = root.join("target/bench");
    let mut saved = Vec::new();
    for arch in [Arch::X86_64, Arch::Aarch64] {
        match load(&dir.join(format!("{}.json", arch.name()))) {
            Ok(run) => saved.push(run),
            Err(message) => return fail(format!("{message}; `make bench` writes it")),
        }
    }
    for run in &saved {
        print!("{}", table::render(&run.result, run.runs));
        let path = dir.join(format!("{}-batching.svg", run.result.arch.name()));
        if let Err(e) = std::fs::write(&path, svg::render(&run.result)) {
            return fail(format!("{}: {e}", path.display()));
        }
        println!("redrew {}\n", path.display());
    }
    let path = root.join("README.md");
    let written = std::fs::read_to_string(&path)
        .map_err(|e| e.to_string())
        .and_then(|text| replace_block(&text, &figures(&saved)))
        .and_then(|text| std::fs::write(&path, text).map_err(|e| e.to_string()));
    match written {
        Ok(()) => {
            println!("rewrote the benchmark figures in {}", path.display());
            ExitCode::Pass
        }
        Err(message) => fail(format!("{}: {message}", path.display())),
    }
}

/// `text` with the lines between [`BEGIN`] and [`END`] replaced by `block`.
pub fn replace_block(text: &str, block: &str) -> Result<String, String> {
    let missing = || format!("no `{BEGIN}` ... `{END}` block");
    let start = text.find(BEGIN).ok_or_else(missing)? + BEGIN.len();
    let end = text[start..].find(END).ok_or_else(missing)? + start;
    Ok(format!("{}\n{}{}", &text[..start], block, &text[end..]))
}

/// The README's benchmark figures in Markdown.
pub fn figures(saved: &[Saved]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}\n", provenance(saved));
    boot_table(&mut out, saved);
    events(&mut out, saved);
    times(&mut out, saved);
    others(&mut out, saved);
    out
}

fn arch_label(run: &Saved) -> &'static str {
    match run.result.arch {
        Arch::X86_64 => "x86_64",
        Arch::Aarch64 => "arm64",
    }
}

fn provenance(saved: &[Saved]) -> String {
    let each: Vec<String> = saved
        .iter()
        .map(|run| {
            let version = run.result.qemu_version.split_whitespace().nth(3).unwrap_or("?");
            let revision: String = run.revision.chars().take(12).collect();
            let dirty = if run.revision.ends_with("-dirty") { " with local changes" } else { "" };
            let load = run.result.host_load.map_or(String::new(), |load| format!(", host load average {load:.1}"));
            format!(
                "{} at `{revision}`{dirty} (QEMU {version} TCG, median of {} runs{load})",
                arch_label(run),
                run.runs
            )
        })
        .collect();
    format!("Measured with `make bench`: {}.", each.join("; "))
}

fn seconds(stats: Option<Stats>) -> String {
    stats.map_or("-".to_string(), |s| format!("{:.3} s", s.median))
}

fn boot_table(out: &mut String, saved: &[Saved]) {
    let header: Vec<&str> = saved.iter().map(arch_label).collect();
    let _ = writeln!(out, "| | {} |\n|---|{}", header.join(" | "), "---|".repeat(saved.len()));
    let mut row = |label: &str, cell: &dyn Fn(&Saved) -> String| {
        let cells: Vec<String> = saved.iter().map(cell).collect();
        let _ = writeln!(out, "| {label} | {} |", cells.join(" | "));
    };
    let floor = |run: &Saved| boot_stats(&run.result.floor, |b| Some(b.exit_s));
    row("floor: QEMU start to exit", &|run| seconds(floor(run)));
    let against_floor =
        |run: &Saved, stats: Option<Stats>| format!("{} ({} floor)", seconds(stats), ratio(stats, floor(run)));
    row("default run: start to KTAP plan line", &|run| {
        against_floor(run, boot_stats(&run.result.default_run, |b| b.clock.plan_s))
    });
    row("default run: start to exit", &|run| {
        against_floor(run, boot_stats(&run.result.default_run, |b| Some(b.exit_s)))
    });
    let names: Vec<String> = saved[0]
        .result
        .default_run
        .runs
        .first()
        .map_or(Vec::new(), |boot| boot.clock.suites.iter().map(|suite| suite.name.clone()).collect());
    for name in &names {
        row(&format!("of which suite `{name}`"), &|run| {
            let span = |b: &super::timing::TimedBoot| {
                b.clock.suites.iter().find(|s| s.name == *name).map(|s| s.end_s - s.start_s)
            };
            seconds(boot_stats(&run.result.default_run, span))
        });
    }
    row("peak frames (4 KiB), default run", &|run| {
        boot_stats(&run.result.default_run, |b| b.clock.peak_frames.map(|p| p as f64))
            .map_or("-".to_string(), |s| format!("{:.0}", s.max))
    });
    out.push('\n');
}

/// Each (flavour, op, event) whose count inside differs from outside at
/// some N, with its "in / out" cells.
fn event_rows(records: &[Record], sizes: &[String]) -> Vec<(String, Vec<String>)> {
    let mut rows = Vec::new();
    for flavour in FLAVOURS {
        for op in OPS {
            for event in EVENTS {
                let cells: Vec<(f64, f64)> = sizes
                    .iter()
                    .filter_map(|pages| {
                        let inside = batching(records, flavour, op, pages)?;
                        Some((per_rep(inside, event), per_rep(partner(records, inside, "out")?, event)))
                    })
                    .collect();
                if cells.iter().any(|(inside, outside)| inside != outside) {
                    let text = cells.iter().map(|(i, o)| format!("{} / {}", count(*i), count(*o))).collect();
                    rows.push((format!("{flavour} | {op} | {event}"), text));
                }
            }
        }
    }
    rows
}

fn batching<'a>(records: &'a [Record], flavour: &str, op: &str, pages: &str) -> Option<&'a Record> {
    of_kind(records, "batching").find(|r| {
        r.key("flavour") == Some(flavour)
            && r.key("op") == Some(op)
            && r.key("lazy") == Some("in")
            && r.key("pages") == Some(pages)
    })
}

fn sizes(records: &[Record]) -> Vec<String> {
    let mut sizes: Vec<u64> = of_kind(records, "batching").filter_map(|r| r.key("pages")?.parse().ok()).collect();
    sizes.sort_unstable();
    sizes.dedup();
    sizes.iter().map(u64::to_string).collect()
}

fn events(out: &mut String, saved: &[Saved]) {
    let sizes = sizes(&saved[0].result.records);
    let tables: Vec<Vec<(String, Vec<String>)>> =
        saved.iter().map(|run| event_rows(&run.result.records, &sizes)).collect();
    let same = tables.windows(2).all(|pair| pair[0] == pair[1]);
    let _ = writeln!(
        out,
        "Events per map + unmap of N pages, inside / outside lazy mode (exact counts; {}). Rows not listed \
         have the same count inside and outside at every N.\n",
        if same { "the same on both arches".to_string() } else { "they differ between the arches".to_string() }
    );
    for (run, rows) in saved.iter().zip(&tables).take(if same { 1 } else { saved.len() }) {
        if !same {
            let _ = writeln!(out, "{}:\n", arch_label(run));
        }
        let _ = writeln!(
            out,
            "| flavour | op | event | {} |",
            sizes.iter().map(|n| format!("N = {n}")).collect::<Vec<_>>().join(" | ")
        );
        let _ = writeln!(out, "|---|---|---|{}", "---|".repeat(sizes.len()));
        for (label, cells) in rows {
            let _ = writeln!(out, "| {label} | {} |", cells.join(" | "));
        }
        out.push('\n');
    }
}

fn times(out: &mut String, saved: &[Saved]) {
    let _ = writeln!(
        out,
        "Guest ns per page, inside / outside lazy mode (QEMU TCG, median of the runs: emulated time, not a \
         hardware cost; `*` marks an outlier, over x{OUTLIER_FACTOR} the median of the same op, mode and N under all five flavours):\n"
    );
    let mut header = vec!["flavour".to_string(), "op".to_string()];
    for run in saved {
        header.extend(TIME_SIZES.iter().map(|n| format!("{} N = {n}", arch_label(run))));
    }
    let _ = writeln!(out, "| {} |\n|{}", header.join(" | "), "---|".repeat(header.len()));
    let mut flagged = Vec::new();
    for flavour in FLAVOURS {
        for op in OPS {
            let mut cells = vec![flavour.to_string(), op.to_string()];
            for run in saved {
                let records = &run.result.records;
                for pages in TIME_SIZES {
                    let Some(inside) = batching(records, flavour, op, pages) else { continue };
                    let pair: Vec<String> = [Some(inside), partner(records, inside, "out")]
                        .into_iter()
                        .flatten()
                        .map(|record| {
                            let ns = record.median("ns_per_page");
                            let mark = if outlier(records, record).is_some() { "*" } else { "" };
                            format!("{ns:.0}{mark}")
                        })
                        .collect();
                    cells.push(pair.join(" / "));
                }
                for record in of_kind(records, "batching")
                    .filter(|r| r.key("flavour") == Some(flavour) && r.key("op") == Some(op))
                {
                    if let Some(times) = outlier(records, record) {
                        let (lazy, pages) = (record.key("lazy").unwrap_or("?"), record.key("pages").unwrap_or("?"));
                        flagged
                            .push(format!("{} {flavour} {op} N = {pages} {lazy}side (x{times:.1})", arch_label(run)));
                    }
                }
            }
            let _ = writeln!(out, "| {} |", cells.join(" | "));
        }
    }
    let list = if flagged.is_empty() { "none".to_string() } else { flagged.join("; ") };
    let _ = writeln!(out, "\nOutliers at any N: {list}.\n");
}

fn others(out: &mut String, saved: &[Saved]) {
    let sanitizer: Vec<String> = saved
        .iter()
        .map(|run| {
            let ratios: Vec<f64> = of_kind(&run.result.records, "sanitizer")
                .filter(|r| r.median("off_ns_per_page") > 0.0)
                .map(|r| r.median("on_ns_per_page") / r.median("off_ns_per_page"))
                .collect();
            let low = ratios.iter().copied().fold(f64::INFINITY, f64::min);
            let high = ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            format!("x{low:.2} to x{high:.2} on {}", arch_label(run))
        })
        .collect();
    let _ = writeln!(
        out,
        "The sanitizer on against off, same workload (512 pages inside lazy mode, each flavour and op): {}.",
        sanitizer.join(", ")
    );
    let frames: Vec<String> = saved
        .iter()
        .map(|run| {
            let peaks = of_kind(&run.result.records, "memory").filter(|r| r.key("case") == Some("batching"));
            let peak = peaks.map(|r| r.median("peak_frames")).fold(0.0, f64::max);
            format!("{peak:.0} on {}", arch_label(run))
        })
        .collect();
    let _ = writeln!(out, "Peak frames of `bench.batching` with its 4096 data pages: {}.", frames.join(", "));
}
