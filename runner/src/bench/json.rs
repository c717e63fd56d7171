//! `target/bench/<arch>.json`: every boot's timings with its QEMU command
//! line, and every `# bench:` record with its per-run samples, plus the
//! QEMU version and git revision, so a figure can be traced to its run.

use std::fmt::Write;

use super::records::{Record, Stats};
use super::timing::TimedBoot;
use super::{ArchResult, Boots};

/// A JSON string literal.
pub fn quote(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn number(value: f64) -> String {
    if value.is_finite() {
        format!("{value}")
    } else {
        "null".to_string()
    }
}

fn optional(value: Option<f64>) -> String {
    value.map_or("null".to_string(), number)
}

fn list(items: impl Iterator<Item = String>) -> String {
    format!("[{}]", items.collect::<Vec<_>>().join(", "))
}

fn boot_run(boot: &TimedBoot) -> String {
    let suites = list(boot.clock.suites.iter().map(|s| {
        format!("{{\"name\": {}, \"start_s\": {}, \"end_s\": {}}}", quote(&s.name), number(s.start_s), number(s.end_s))
    }));
    format!(
        "{{\"exit_s\": {}, \"plan_s\": {}, \"peak_frames\": {}, \"exit_code\": {}, \"suites\": {suites}}}",
        number(boot.exit_s),
        optional(boot.clock.plan_s),
        optional(boot.clock.peak_frames.map(|p| p as f64)),
        boot.code.code()
    )
}

fn boots(boots: &Boots) -> String {
    format!(
        "{{\"what\": {}, \"command\": {}, \"runs\": {}}}",
        quote(&boots.what),
        list(boots.command.iter().map(|arg| quote(arg))),
        list(boots.runs.iter().map(boot_run))
    )
}

fn stats(samples: &[f64]) -> String {
    match Stats::of(samples) {
        Some(s) => format!(
            "{{\"median\": {}, \"min\": {}, \"max\": {}, \"samples\": {}}}",
            number(s.median),
            number(s.min),
            number(s.max),
            list(samples.iter().map(|&v| number(v)))
        ),
        None => "null".to_string(),
    }
}

fn record(record: &Record) -> String {
    let key = record.key.iter().map(|(k, v)| format!("{}: {}", quote(k), quote(v))).collect::<Vec<_>>().join(", ");
    let values = record
        .values
        .iter()
        .map(|(k, samples)| format!("{}: {}", quote(k), stats(samples)))
        .collect::<Vec<_>>()
        .join(", ");
    format!("{{\"kind\": {}, \"key\": {{{key}}}, \"values\": {{{values}}}}}", quote(&record.kind))
}

pub fn render(result: &ArchResult, revision: &str, runs: u32) -> String {
    let all_boots = [&result.floor, &result.default_run].into_iter().chain(&result.suites).chain([&result.bench]);
    let mut out = String::from("{\n");
    let _ = writeln!(out, "  \"arch\": {},", quote(result.arch.name()));
    let _ = writeln!(out, "  \"qemu_version\": {},", quote(&result.qemu_version));
    let _ = writeln!(out, "  \"git_revision\": {},", quote(revision));
    let _ = writeln!(out, "  \"cargo_profile\": {},", quote(result.profile.cargo_name()));
    let _ = writeln!(out, "  \"runs\": {runs},");
    let _ = writeln!(out, "  \"host_load_1min\": {},", optional(result.host_load));
    let _ =
        writeln!(out, "  \"note\": \"guest times are QEMU TCG times, not hardware costs; event counts are exact\",");
    let _ = writeln!(
        out,
        "  \"build_seconds\": {{\"kernel\": {}, \"floor\": {}}},",
        number(result.kernel_build_s),
        number(result.floor_build_s)
    );
    let _ = writeln!(out, "  \"boots\": [\n    {}\n  ],", all_boots.map(boots).collect::<Vec<_>>().join(",\n    "));
    let _ = writeln!(
        out,
        "  \"records\": [\n    {}\n  ]",
        result.records.iter().map(record).collect::<Vec<_>>().join(",\n    ")
    );
    out.push_str("}\n");
    out
}
