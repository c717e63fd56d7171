//! Where a run writes: a serial log per run (two runs at once never share
//! one), report paths checked before QEMU starts, relative paths taken
//! from the caller's directory; and reading a saved log back (`parse`) and
//! repeating a run (`--repeat`).

mod common;

use std::fs;
use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;

/// The log path the verdict line names.
fn logged_path(output: &std::process::Output) -> String {
    let all = text(output);
    let line = all.lines().rfind(|line| line.starts_with("lazymmu-run: ")).expect("a verdict line").to_string();
    line.rsplit("; log: ").next().expect("a log").to_string()
}

#[test]
fn two_runs_at_once_keep_their_own_logs() {
    let scratch = Scratch::new("concurrent");
    // Each fake QEMU tags its lines with its pid, slowly enough to overlap.
    scratch.qemu(
        QEMU_10,
        "printf 'KTAP version 1\\n1..1\\n    KTAP version 1\\n    # Subtest: s\\n    1..5\\n'; for i in 1 2 3 4 5; do \
         echo \"    # from $$\"; echo \"    ok $i t$i\"; sleep 0.1; done; echo 'ok 1 s'; exit 33",
    );
    let spawn = || scratch.runner(&[]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("runner");
    let (first, second) = (spawn(), spawn());
    let outputs = [first.wait_with_output().expect("first"), second.wait_with_output().expect("second")];
    let mut logs = Vec::new();
    for output in &outputs {
        assert_exit(output, 0, "all tests passed");
        let log = logged_path(output);
        let text = fs::read_to_string(&log).expect("its own log");
        let writers: std::collections::BTreeSet<&str> =
            text.lines().filter_map(|line| line.strip_prefix("    # from ")).collect();
        assert_eq!(writers.len(), 1, "one QEMU per log: {text}");
        assert_eq!(text.lines().filter(|line| *line == "KTAP version 1").count(), 1, "{text}");
        logs.push(log);
    }
    assert_ne!(logs[0], logs[1]);
    assert!(logs.iter().all(|log| log.contains("/target/lazymmu/x86_64-direct-")), "{logs:?}");
    let latest = scratch.log().with_file_name(fs::read_link(scratch.log()).expect("the latest-log link"));
    assert!(logs.contains(&latest.display().to_string()), "{latest:?} is one of {logs:?}");
}

#[test]
fn report_paths_are_checked_before_qemu_starts() {
    let scratch = Scratch::new("report-paths");
    let started = scratch.file("qemu.started");
    scratch.qemu(QEMU_10, &format!("touch '{}'; sleep 30", started.display()));
    let dir = scratch.file("reports");
    fs::create_dir_all(&dir).expect("reports dir");
    let (dir_s, same) = (dir.display().to_string(), dir.join("r.out").display().to_string());
    let link = scratch.log().display().to_string();
    let cases: [(&[&str], &str); 5] = [
        (&["--junit", &dir_s], "is a directory, not a file"),
        (&["--junit", &same, "--json", &same], "is the same file as --junit"),
        (&["--junit", &link], "is the same file as the latest-log link"),
        (&["--log-file", &same, "--json", &same], "is the same file as --json"),
        (&["--log-file", &dir_s], "--log-file"),
    ];
    for (args, needle) in cases {
        let clock = Instant::now();
        let output = scratch.run(args);
        assert_exit(&output, 4, needle);
        assert!(clock.elapsed() < Duration::from_secs(5), "{args:?} took {:?}", clock.elapsed());
        assert!(!started.exists(), "QEMU started for {args:?}");
    }
}

#[test]
fn relative_paths_are_the_callers() {
    let scratch = Scratch::new("caller-dir");
    scratch.qemu(QEMU_10, PASSING_QEMU);
    let caller = scratch.file("caller");
    fs::create_dir_all(&caller).expect("caller dir");
    let output = scratch
        .runner(&["--junit", "out.xml", "--log-file", "serial.log"])
        .env("LAZYMMU_CALLER_DIR", &caller)
        .output()
        .expect("runner");
    assert_exit(&output, 0, &format!("log: {}", caller.join("serial.log").display()));
    assert!(caller.join("out.xml").is_file() && caller.join("serial.log").is_file());
    assert!(!scratch.workspace().join("out.xml").exists(), "not in the repository");
}

#[test]
fn parse_reads_a_saved_log_back() {
    let scratch = Scratch::new("parse");
    let saved = scratch.file("saved.log");
    let ktap = "KTAP version 1\n# lazymmu: arch=aarch64 flavours=all\n1..1\n    KTAP version 1\n    # Subtest: s\n    1..2\n    \
                ok 1 a\n    not ok 2 b # expected 1, saw 2\nnot ok 1 s\n";
    fs::write(&saved, ktap).expect("log");
    let junit = scratch.file("parsed.xml");
    let saved_s = saved.display().to_string();
    let output = scratch
        .command(&scratch.path(), &["parse", &saved_s, "--junit", "parsed.xml"])
        .env("LAZYMMU_CALLER_DIR", &scratch.root)
        .output()
        .expect("parse");
    assert_exit(&output, 1, "FAIL s.b: expected 1, saw 2");
    assert_exit(&output, 1, "lazymmu-run: 1 of 2 tests failed (exit 1)");
    let xml = fs::read_to_string(&junit).expect("JUnit written");
    assert!(xml.contains("classname=\"aarch64.s\"") && xml.contains("<failure"), "{xml}");

    let cut = &ktap[..ktap.find("    not ok").expect("cut point")];
    let mut from_stdin = scratch
        .command(&scratch.path(), &["parse", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("parse");
    from_stdin.stdin.take().expect("stdin").write_all(cut.as_bytes()).expect("feed");
    assert_exit(&from_stdin.wait_with_output().expect("ends"), 2, "malformed KTAP");
    let output = scratch.command(&scratch.path(), &["parse", &saved_s, "--junit", &saved_s]).output().expect("parse");
    assert_exit(&output, 4, "is the same file as the log");
}

#[test]
fn repeat_runs_n_times_with_one_verdict() {
    let scratch = Scratch::new("repeat");
    let counter = scratch.file("boots");
    // The second boot fails; the others pass.
    scratch.qemu(
        QEMU_10,
        &format!(
            "echo boot >> '{c}'; n=$(wc -l < '{c}'); printf '{OPENING}'; \
             if [ \"$n\" = 2 ]; then printf '    not ok 1 a # flaky\\nnot ok 1 s\\n'; exit 35; fi; \
             printf '    ok 1 a\\nok 1 s\\n'; exit 33",
            c = counter.display()
        ),
    );
    let output = scratch.run(&["--repeat", "3"]);
    assert_exit(&output, 1, "lazymmu-run: 3 runs: 2 passed; run 2: 1 of 1 tests failed (exit 1)");
    assert_exit(&output, 1, "lazymmu-run: run 2 of 3: 1 of 1 tests failed (exit 1)");
    assert_exit(&output, 1, "FAIL s.a: flaky");
    let logged = logged_path(&output);
    assert!(logged.ends_with(".run2.log"), "the worst run's log: {logged}");
    for run in 1..=3 {
        let log = logged.replace(".run2.log", &format!(".run{run}.log"));
        assert!(fs::read_to_string(&log).expect("each run's log").starts_with("KTAP version 1"));
    }
    let table = text(&output);
    let total = table.lines().find(|line| line.starts_with("total")).expect("a total row");
    assert_eq!(total.split_whitespace().collect::<Vec<_>>(), ["total", "2", "1", "0", "0", "3"], "{table}");
}
