//! Output checks: directories, empty paths, and one file under two names.

use super::*;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lazymmu-paths-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn named<'a>(what: &'a str, path: &'a Path) -> Named<'a> {
    Named { what, path }
}

#[test]
fn distinct_files_pass() {
    let dir = scratch("distinct");
    let (junit, json, log) = (dir.join("r.xml"), dir.join("r.json"), dir.join("serial.log"));
    let outputs = [named("--junit", &junit), named("--json", &json), named("the serial log", &log)];
    assert_eq!(check_outputs(&outputs, &[]), Ok(()));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn one_file_twice_is_refused_under_any_spelling() {
    let dir = scratch("twice");
    let report = dir.join("r.xml");
    let spelled_otherwise = dir.join("sub/../r.xml");
    std::fs::create_dir_all(dir.join("sub")).expect("sub");
    let error =
        check_outputs(&[named("--junit", &report), named("--json", &spelled_otherwise)], &[]).expect_err("same");
    assert!(error.starts_with("--json ") && error.contains("is the same file as --junit"), "{error}");

    std::os::unix::fs::symlink(dir.join("serial.log"), dir.join("latest.log")).expect("symlink");
    std::fs::write(dir.join("serial.log"), "").expect("log");
    let link = dir.join("latest.log");
    let log = dir.join("serial.log");
    let error = check_outputs(&[named("--junit", &link)], &[named("the serial log", &log)]).expect_err("via link");
    assert!(error.contains("is the same file as the serial log"), "{error}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn directories_and_missing_directories() {
    let dir = scratch("dirs");
    let error = check_outputs(&[named("--junit", &dir)], &[]).expect_err("a directory");
    assert!(error.ends_with("is a directory, not a file"), "{error}");
    let missing = dir.join("no/such/r.xml");
    let error = check_outputs(&[named("--json", &missing)], &[]).expect_err("no dir");
    assert!(error.contains(": no directory "), "{error}");
    let error = check_outputs(&[named("--json", Path::new("/proc/r.json"))], &[]).expect_err("/proc");
    assert!(error.starts_with("--json /proc/r.json: cannot write in /proc"), "{error}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn devices_may_be_named_twice() {
    let null = Path::new("/dev/null");
    assert_eq!(check_outputs(&[named("--junit", null), named("--json", null)], &[]), Ok(()));
}
