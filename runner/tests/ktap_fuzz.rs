//! Fuzzing the KTAP parser and the exit-code decision with proptest, from a
//! small corpus of real kernel logs (`tests/ktap-corpus/`, one per outcome).
//! Whatever the damage (QEMU killed mid-line, garbage bytes, a result or
//! plan lost, repeated or renumbered, a verdict flipped), the run must never
//! read as its original outcome: it is "malformed" (exit 2). Random text
//! must never make the parser panic. Each property prints how many inputs
//! it tried (`cargo test --test ktap_fuzz -- --nocapture`). Logs 5,000
//! levels deep and 50,000 suites wide must parse and report in time and
//! size linear in the log (the sizes and times are printed too).

use std::cell::Cell;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use runner::ktap::parse;
use runner::verdict::{decide, qemu_status, ExitCode, RunEnd};

/// Inputs each property tries; the count is printed and asserted.
const INPUTS: u32 = 3000;

/// A real log and the QEMU status the kernel ended it with.
struct Sample {
    name: &'static str,
    log: &'static str,
    status: i32,
    code: ExitCode,
}

/// Names the sample only: a failing input prints its damaged log anyway.
impl std::fmt::Debug for Sample {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.log", self.name)
    }
}

const CORPUS: [Sample; 4] = [
    Sample { name: "pass", log: include_str!("ktap-corpus/pass.log"), status: qemu_status::PASS, code: ExitCode::Pass },
    Sample { name: "fail", log: include_str!("ktap-corpus/fail.log"), status: qemu_status::FAIL, code: ExitCode::Fail },
    Sample {
        name: "timeout",
        log: include_str!("ktap-corpus/timeout.log"),
        status: qemu_status::FAIL,
        code: ExitCode::Timeout,
    },
    Sample {
        name: "crash",
        log: include_str!("ktap-corpus/crash.log"),
        status: qemu_status::CRASH,
        code: ExitCode::CrashOrMalformed,
    },
];

/// The samples whose outcome a damaged log could fake (a crash is exit 2 anyway).
fn completed() -> impl Strategy<Value = &'static Sample> {
    proptest::sample::select(vec![&CORPUS[0], &CORPUS[1], &CORPUS[2]])
}

fn run_property<S: Strategy>(name: &str, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>) {
    let config = Config { cases: INPUTS, failure_persistence: None, ..Config::default() };
    let tried = Cell::new(0u32);
    let result = TestRunner::new(config).run(&strategy, |value| {
        tried.set(tried.get() + 1);
        test(value)
    });
    let tried = tried.get();
    eprintln!("ktap fuzz ({name}): {tried} inputs tried, {result:?}");
    if let Err(failure) = result {
        panic!("ktap fuzz ({name}) failed: {failure}");
    }
    assert!(tried >= INPUTS, "only {tried} inputs tried");
}

#[test]
fn the_corpus_gives_its_own_outcome() {
    for sample in &CORPUS {
        let verdict = decide(RunEnd::Exited(sample.status), &parse(sample.log));
        assert_eq!(verdict.code, sample.code, "{}: {}", sample.name, verdict.reason);
    }
}

/// Byte offset just past the content of the last top-level result line:
/// a cut before it loses part of the KTAP.
fn end_of_last_result(log: &str) -> usize {
    let mut offset = 0;
    let mut end = 0;
    for line in log.split_inclusive('\n') {
        if line.starts_with("ok ") || line.starts_with("not ok ") {
            end = offset + line.trim_end().len();
        }
        offset += line.len();
    }
    end
}

#[test]
fn a_log_cut_anywhere_is_malformed() {
    let strategy = (completed(), any::<prop::sample::Index>(), any::<bool>());
    run_property("cut short", strategy, |(sample, index, killed)| {
        let cut = index.index(end_of_last_result(sample.log));
        // Cutting inside a multi-byte character is what a killed QEMU leaves.
        let text = String::from_utf8_lossy(&sample.log.as_bytes()[..cut]);
        let end = if killed { RunEnd::Signalled(9) } else { RunEnd::Exited(sample.status) };
        let verdict = decide(end, &parse(&text));
        prop_assert_eq!(verdict.code, ExitCode::CrashOrMalformed, "cut at {}: {}", cut, verdict.reason);
        Ok(())
    });
}

/// One damaged line in a log's KTAP.
#[derive(Clone, Debug)]
enum Damage {
    Delete,
    Duplicate,
    Renumber(usize),
    FlipVerdict,
    InsertGarbage(Vec<u8>),
}

fn damage() -> impl Strategy<Value = Damage> {
    // Bytes that start no KTAP line (not '#', a space, a digit or a letter)
    // followed by anything but a newline.
    let garbage = (
        proptest::sample::select(vec![0x00u8, 0x1b, b'@', b'!', 0xff, 0xc3, b'~']),
        proptest::collection::vec(any::<u8>().prop_filter("one line", |b| *b != b'\n'), 0..40),
    )
        .prop_map(|(first, rest)| [vec![first], rest].concat());
    prop_oneof![
        Just(Damage::Delete),
        Just(Damage::Duplicate),
        (1usize..5).prop_map(Damage::Renumber),
        Just(Damage::FlipVerdict),
        garbage.prop_map(Damage::InsertGarbage),
    ]
}

fn is_result(line: &str) -> bool {
    let body = line.trim_start_matches(' ');
    body.starts_with("ok ") || body.starts_with("not ok ")
}

fn is_plan(line: &str) -> bool {
    line.trim_start_matches(' ').starts_with("1..")
}

/// `    ok 3 name` -> `    ok 5 name`; `    1..7` -> `    1..9`.
fn renumber(line: &str, by: usize) -> String {
    let indent = line.len() - line.trim_start_matches(' ').len();
    let (head, body) = line.split_at(indent);
    let (prefix, rest) = if let Some(rest) = body.strip_prefix("1..") {
        ("1..", rest)
    } else if let Some(rest) = body.strip_prefix("not ok ") {
        ("not ok ", rest)
    } else {
        ("ok ", body.strip_prefix("ok ").expect("a result line"))
    };
    let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let number: usize = rest[..digits].parse().expect("a number");
    format!("{head}{prefix}{}{}", number + by, &rest[digits..])
}

fn flip(line: &str) -> String {
    match line.split_once("not ok ") {
        Some((indent, rest)) => format!("{indent}ok {rest}"),
        None => line.replacen("ok ", "not ok ", 1),
    }
}

/// Applies `damage` to the `pick`-th line it can apply to; `None` if none.
fn apply(log: &str, damage: &Damage, pick: prop::sample::Index) -> Option<String> {
    let lines: Vec<&str> = log.lines().collect();
    let header = lines.iter().position(|l| *l == "KTAP version 1")?;
    let targets: Vec<usize> = (header + 1..lines.len())
        .filter(|&i| match damage {
            Damage::Delete | Damage::Duplicate | Damage::Renumber(_) => is_result(lines[i]) || is_plan(lines[i]),
            // A SKIP wins over ok/not ok, so flipping one changes nothing.
            Damage::FlipVerdict => is_result(lines[i]) && !lines[i].contains("# SKIP"),
            Damage::InsertGarbage(_) => true,
        })
        .collect();
    let at = targets[pick.index(targets.len())];
    let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    match damage {
        Damage::Delete => {
            out.remove(at);
        }
        Damage::Duplicate => out.insert(at, lines[at].to_string()),
        Damage::Renumber(by) => out[at] = renumber(lines[at], *by),
        Damage::FlipVerdict => out[at] = flip(lines[at]),
        Damage::InsertGarbage(bytes) => out.insert(at, String::from_utf8_lossy(bytes).into_owned()),
    }
    Some(out.join("\n") + "\n")
}

#[test]
fn a_damaged_line_is_malformed() {
    let strategy = (completed(), damage(), any::<prop::sample::Index>());
    run_property("damaged line", strategy, |(sample, damage, pick)| {
        let damaged = apply(sample.log, &damage, pick).expect("every sample has a header");
        let verdict = decide(RunEnd::Exited(sample.status), &parse(&damaged));
        prop_assert_eq!(verdict.code, ExitCode::CrashOrMalformed, "{:?}: {}\n{}", damage, verdict.reason, damaged);
        Ok(())
    });
}

#[test]
fn random_text_never_panics() {
    let pattern = |regex: &str| proptest::string::string_regex(regex).expect("a valid regex");
    let line = prop_oneof![
        proptest::collection::vec(any::<u8>().prop_filter("one line", |b| *b != b'\n'), 0..60)
            .prop_map(|bytes| String::from_utf8_lossy(&bytes).into_owned()),
        pattern("( {0,9})(ok|not ok) [0-9]{1,3}( [a-z_.]{0,12})?( # (SKIP|TIMEOUT|x)[ a-z]{0,8})?"),
        pattern("( {0,9})1\\.\\.[0-9]{0,3}"),
        pattern("( {0,9})# (Subtest: |CRASH: |case: )?[a-z .:0-9]{0,20}"),
        Just("KTAP version 1".to_string()),
        Just("    KTAP version 1".to_string()),
    ];
    let logs = (proptest::collection::vec(line, 0..24), 0..4usize, any::<bool>());
    run_property("random text", logs, |(lines, status, killed)| {
        let report = parse(&lines.join("\n"));
        let statuses = [qemu_status::PASS, qemu_status::FAIL, qemu_status::CRASH, qemu_status::BAD_INPUT];
        let end = if killed { RunEnd::Signalled(9) } else { RunEnd::Exited(statuses[status]) };
        let verdict = decide(end, &report);
        prop_assert!(!verdict.reason.is_empty());
        if verdict.code == ExitCode::Pass {
            prop_assert!(report.problems.is_empty() && report.crash.is_none() && !report.has_failure());
        }
        Ok(())
    });
}

/// A chain of `depth` nested subtests `t1` .. `t<depth>` around one passing
/// leaf, in the kernel's KTAP shape (four spaces per level), so the log
/// itself grows with the square of the depth.
fn nested_log(depth: usize) -> String {
    let mut log = String::from("KTAP version 1\n1..1\n");
    for level in 1..=depth {
        let pad = " ".repeat(4 * level);
        log.push_str(&format!("{pad}KTAP version 1\n{pad}# Subtest: t{level}\n{pad}1..1\n"));
    }
    log.push_str(&format!("{}ok 1 leaf\n", " ".repeat(4 * depth)));
    for level in (1..=depth).rev() {
        log.push_str(&format!("{}ok 1 t{level}\n", " ".repeat(4 * (level - 1))));
    }
    log
}

/// `width` one-case suites, then one suite whose `width` results all carry
/// number 1 (each a duplicate the parser must notice).
fn wide_log(width: usize) -> String {
    let mut log = format!("KTAP version 1\n1..{}\n", width + 1);
    for suite in 1..=width {
        log.push_str(&format!(
            "    KTAP version 1\n    # Subtest: s{suite}\n    1..1\n    ok 1 case\nok {suite} s{suite}\n"
        ));
    }
    log.push_str(&format!("    KTAP version 1\n    # Subtest: dup\n    1..{width}\n"));
    log.push_str(&"    ok 1 again\n".repeat(width));
    log.push_str(&format!("ok {} dup\n", width + 1));
    log
}

/// A parse and both reports of `log` must take less CPU time than this. A
/// linear run of the logs below takes about a tenth of a second; the bound
/// is loose for a busy machine and far below what a quadratic writer takes
/// (the old JSON writer: 48 s for 800 levels). CPU time, not wall time: on
/// a shared machine the wall clock of one test can stretch tenfold.
const REPORT_BOUND: Duration = Duration::from_secs(5);

/// This thread's CPU time (user + system) from `/proc/thread-self/stat`,
/// in Linux's USER_HZ ticks of 10 ms; `None` where there is no such file.
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

/// Parses `log` and writes both reports; prints the sizes and times (the
/// CPU time is also bounded by [`REPORT_BOUND`]); returns (JSON, JUnit) bytes.
fn report_sizes(what: &str, log: &str) -> (usize, usize) {
    let (started, cpu_before) = (Instant::now(), cpu_time());
    let report = parse(log);
    let parsed = started.elapsed();
    let json = runner::report::json::to_json(&report, "x86_64", "/build");
    let written_json = started.elapsed();
    let xml = runner::report::junit::to_xml(&report, "x86_64", None);
    let written_xml = started.elapsed();
    let cpu = cpu_time().zip(cpu_before).map(|(after, before)| after - before);
    eprintln!(
        "{what}: log {} bytes parsed in {parsed:.2?}; JSON {} bytes by {written_json:.2?}; \
         JUnit {} bytes by {written_xml:.2?} ({})",
        log.len(),
        json.len(),
        xml.len(),
        cpu.map_or("no CPU time".to_string(), |cpu| format!("CPU {cpu:.2?}"))
    );
    let spent = cpu.unwrap_or(written_xml);
    assert!(spent < REPORT_BOUND, "{what}: {spent:?}");
    (json.len(), xml.len())
}

/// Issue 16: a 5,000-level log parses, and its reports are written, in time
/// linear in the log and size linear in the depth (the log itself grows
/// with the square of the depth: KTAP indents).
#[test]
fn reports_grow_linearly_with_nesting_depth() {
    const DEPTH: usize = 5000;
    let half = nested_log(DEPTH / 2);
    let (half_json, half_xml) = report_sizes(&format!("{} levels", DEPTH / 2), &half);
    let log = nested_log(DEPTH);
    let report = parse(&log);
    assert!(report.problems.is_empty(), "{:?}", report.problems.first());
    assert_eq!(report.counts().pass, 1);
    let (json, xml) = report_sizes(&format!("{DEPTH} levels"), &log);
    // Twice the depth, at most 2.5 times the output (quadratic would be 4).
    assert!(json * 2 <= half_json * 5, "JSON {half_json} -> {json} bytes");
    assert!(xml * 2 <= half_xml * 5, "JUnit {half_xml} -> {xml} bytes");
    assert!(json < log.len() && xml < log.len());
}

/// The same for a wide log: many suites, many duplicate numbers.
#[test]
fn reports_grow_linearly_with_width() {
    const WIDTH: usize = 50_000;
    let (half_json, half_xml) = report_sizes(&format!("{} wide", WIDTH / 2), &wide_log(WIDTH / 2));
    let log = wide_log(WIDTH);
    let report = parse(&log);
    assert_eq!(report.problems.len(), WIDTH - 1, "{:?}", report.problems.first());
    let (json, xml) = report_sizes(&format!("{WIDTH} wide"), &log);
    assert!(json * 2 <= half_json * 5, "JSON {half_json} -> {json} bytes");
    assert!(xml * 2 <= half_xml * 5, "JUnit {half_xml} -> {xml} bytes");
}
