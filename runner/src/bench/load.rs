//! `target/bench/<arch>.json` read back into what the bench measured, so the
//! tables, the plot and the README figures can be made again from a saved
//! run (`lazymmu-run bench --readme`) with the same code `make bench` used.

use std::path::Path;

use serde_json::Value;

use super::records::Record;
use super::timing::{LineClock, SuiteSpan, TimedBoot};
use super::{ArchResult, Boots, BENCH_CMDLINE};
use crate::args::Arch;
use crate::kernel_build::Profile;
use crate::verdict::ExitCode;

/// One arch's saved run.
pub struct Saved {
    pub result: ArchResult,
    pub revision: String,
    pub runs: u32,
}

pub fn load(path: &Path) -> Result<Saved, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let json: Value = serde_json::from_str(&text).map_err(|e| format!("{}: not JSON: {e}", path.display()))?;
    read(&json).map_err(|what| format!("{}: {what} (not written by `make bench`?)", path.display()))
}

pub(super) fn read(json: &Value) -> Result<Saved, String> {
    let text = |value: &Value, what: &str| value.as_str().map(str::to_string).ok_or(format!("no {what}"));
    let arch = match json["arch"].as_str() {
        Some("x86_64") => Arch::X86_64,
        Some("aarch64") => Arch::Aarch64,
        _ => return Err("no arch".to_string()),
    };
    let boots = json["boots"].as_array().ok_or("no boots")?.iter().map(boots).collect::<Result<Vec<_>, _>>()?;
    let find = |what: &str| boots.iter().find(|b| b.what == what).cloned().ok_or(format!("no `{what}` boots"));
    let (floor, default_run, bench) = (find("floor")?, find("default run")?, find(BENCH_CMDLINE)?);
    let suites = boots.iter().filter(|b| b.what.starts_with("filter=") && b.what != BENCH_CMDLINE).cloned().collect();
    let records = json["records"].as_array().ok_or("no records")?.iter().map(record).collect::<Result<_, _>>()?;
    let result = ArchResult {
        arch,
        // Runs saved before the field existed were all `release` builds.
        profile: json["cargo_profile"]
            .as_str()
            .map_or(Some(Profile::Release), Profile::from_cargo_name)
            .ok_or("an unknown cargo_profile")?,
        qemu_version: text(&json["qemu_version"], "qemu_version")?,
        host_load: json["host_load_1min"].as_f64(),
        kernel_build_s: json["build_seconds"]["kernel"].as_f64().unwrap_or(0.0),
        floor_build_s: json["build_seconds"]["floor"].as_f64().unwrap_or(0.0),
        floor,
        default_run,
        suites,
        bench,
        records,
    };
    let runs = json["runs"].as_u64().and_then(|runs| u32::try_from(runs).ok()).ok_or("no runs")?;
    Ok(Saved { result, revision: text(&json["git_revision"], "git_revision")?, runs })
}

fn boots(json: &Value) -> Result<Boots, String> {
    let what = json["what"].as_str().ok_or("a boot without `what`")?.to_string();
    let command = json["command"].as_array().ok_or("a boot without a command")?;
    let command = command.iter().filter_map(|arg| arg.as_str().map(str::to_string)).collect();
    let runs = json["runs"].as_array().ok_or("a boot without runs")?.iter().map(timed_boot).collect();
    Ok(Boots { what, command, runs })
}

fn timed_boot(json: &Value) -> TimedBoot {
    let suites = json["suites"].as_array().map_or(Vec::new(), |suites| {
        suites
            .iter()
            .map(|suite| SuiteSpan {
                name: suite["name"].as_str().unwrap_or("?").to_string(),
                start_s: suite["start_s"].as_f64().unwrap_or(f64::NAN),
                end_s: suite["end_s"].as_f64().unwrap_or(f64::NAN),
            })
            .collect()
    });
    let mut clock = LineClock::default();
    clock.plan_s = json["plan_s"].as_f64();
    clock.suites = suites;
    clock.peak_frames = json["peak_frames"].as_u64();
    let codes = [
        ExitCode::Pass,
        ExitCode::Fail,
        ExitCode::CrashOrMalformed,
        ExitCode::Timeout,
        ExitCode::SetupError,
        ExitCode::Interrupted,
    ];
    let saved = json["exit_code"].as_i64();
    let code =
        codes.into_iter().find(|code| saved == Some(i64::from(code.code()))).unwrap_or(ExitCode::CrashOrMalformed);
    TimedBoot { clock, exit_s: json["exit_s"].as_f64().unwrap_or(f64::NAN), code }
}

fn record(json: &Value) -> Result<Record, String> {
    let strings = |value: &Value| -> Vec<(String, String)> {
        value.as_object().map_or(Vec::new(), |map| {
            map.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect()
        })
    };
    let values = json["values"].as_object().ok_or("a record without values")?;
    let values = values
        .iter()
        .map(|(field, stats)| {
            let samples =
                stats["samples"].as_array().map_or(Vec::new(), |s| s.iter().filter_map(Value::as_f64).collect());
            (field.clone(), samples)
        })
        .collect();
    Ok(Record {
        kind: json["kind"].as_str().ok_or("a record without kind")?.to_string(),
        key: strings(&json["key"]),
        values,
    })
}
