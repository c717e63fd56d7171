//! The command-line parser: every key, every error kind, and that each
//! error's message lists what would have been valid.

use std::string::{String, ToString};
use std::vec;

use super::{parse, CmdlineError, Flavours, LogLevel, Mode, Only, Options};
use mm::Flavour;

use crate::case::{Applies, BuggyExpect, Case, CaseId, Plan};
use crate::target::Target;

fn fixed_only(_flavour: Flavour, _target: Target) -> Plan {
    Plan { fixed: Applies::Yes, buggy: BuggyExpect::Harmless("test") }
}

static WX: Case = Case {
    suite: "boot",
    name: "wx_text",
    variants: &[],
    desc: "",
    run: |_| {},
    plan: None,
    file: file!(),
    line: line!(),
};
pub(super) static BATCHED: Case = Case {
    suite: "lazy_batch",
    name: "barriers_batched",
    variants: &[Flavour::None, Flavour::Arm64],
    desc: "",
    run: |_| {},
    plan: Some(fixed_only),
    file: file!(),
    line: line!(),
};
pub(super) static DRAINS: Case = Case {
    suite: "lazy_batch",
    name: "batch_full_drains",
    variants: &[Flavour::TlbBatch, Flavour::None],
    desc: "",
    run: |_| {},
    plan: None,
    file: file!(),
    line: line!(),
};
/// One plain case and two with flavours (one with a buggy form); the
/// fuzzer uses them too.
pub(super) static CASES: [&Case; 3] = [&WX, &BATCHED, &DRAINS];

pub(super) fn parse_str(line: &str) -> Result<Options, CmdlineError> {
    parse(line.as_bytes(), false, &CASES)
}

#[test]
fn empty_line_gives_the_defaults() {
    let options = parse_str("").expect("empty line");
    assert_eq!(options, Options::default());
    assert_eq!(options.timeout_ms, 10_000);
    assert_eq!(options.flavour, Flavours::ALL);
    assert_eq!(options.only, Only::All);
    assert_eq!(parse_str("   ").expect("blanks"), Options::default());
}

#[test]
fn every_key_is_read() {
    let options = parse_str(
        "  filter=boot.*,lazy_batch.barriers_batched  list verbose flavour=arm64 only=fixed \
         inject=lazy_batch.barriers_batched log=trace timeout=3 ",
    )
    .expect("valid line");
    assert_eq!(options.filter, ["boot.*", "lazy_batch.barriers_batched"]);
    assert_eq!(options.mode, Mode::List);
    assert!(options.verbose);
    assert_eq!(options.flavour, Flavours::of(&[Flavour::Arm64]));
    assert_eq!(options.only, Only::Fixed);
    assert_eq!(options.inject, Some(CaseId { suite: "lazy_batch", name: "barriers_batched" }));
    assert_eq!(options.log, LogLevel::Trace);
    assert_eq!(options.timeout_ms, 3000);
    assert_eq!(parse_str("flavour=all").expect("all").flavour, Flavours::ALL);
}

#[test]
fn a_later_key_overrides_an_earlier_one() {
    assert_eq!(parse_str("log=warn log=error").expect("two logs").log, LogLevel::Error);
}

#[test]
fn truncated_and_non_utf8_lines_are_refused() {
    assert_eq!(parse(b"list", true, &CASES), Err(CmdlineError::Truncated { kept: 4 }));
    assert_eq!(parse(b"list \xff", false, &CASES), Err(CmdlineError::NotUtf8 { valid_up_to: 5 }));
}

#[test]
fn unknown_key_lists_the_keys() {
    let error = parse_str("list filtr=boot.*").unwrap_err();
    assert_eq!(error, CmdlineError::UnknownKey { key: "filtr".into() });
    assert_eq!(
        error.to_string(),
        "unknown key `filtr`; valid keys: filter, list, verbose, flavour, only, inject, log, timeout"
    );
    assert!(matches!(parse_str("console=ttyS0"), Err(CmdlineError::UnknownKey { .. })));
}

#[test]
fn values_where_none_belong_and_none_where_one_is_needed() {
    assert_eq!(parse_str("list=yes"), Err(CmdlineError::UnexpectedValue { key: "list".into() }));
    assert_eq!(parse_str("verbose="), Err(CmdlineError::UnexpectedValue { key: "verbose".into() }));
    for key in ["filter", "flavour", "only", "inject", "log", "timeout"] {
        assert_eq!(parse_str(key), Err(CmdlineError::MissingValue { key: key.into() }), "{key}");
    }
}

#[test]
fn empty_filters_are_refused() {
    assert_eq!(parse_str("filter="), Err(CmdlineError::EmptyFilter));
    assert_eq!(parse_str("filter=boot.*,"), Err(CmdlineError::EmptyFilter));
    assert_eq!(parse_str("filter=,boot.*"), Err(CmdlineError::EmptyFilter));
}

#[test]
fn malformed_globs_are_refused() {
    for (glob, bad) in [("[", '['), ("boot.[ab]*", '['), ("boot.{wx}", '{'), ("!boot.*", '!'), ("boot\\.wx", '\\')] {
        let error = parse_str(&format!("filter={glob}")).unwrap_err();
        assert_eq!(error, CmdlineError::MalformedGlob { glob: glob.into(), bad }, "{glob}");
    }
    let message = parse_str("filter=[").unwrap_err().to_string();
    assert_eq!(
        message,
        "malformed glob `[`: `[` is not allowed; a glob has letters, digits, `_`, `.`, `-`, `*` (any run) and `?` (one)"
    );
    let message = parse_str("filter=nesting.underflow_warns[arm64]").unwrap_err().to_string();
    assert_eq!(
        message,
        "malformed glob `nesting.underflow_warns[arm64]`: `[` is not allowed; did you mean `nesting.underflow_warns.arm64`?"
    );
    assert!(matches!(parse_str("filter=boot.*,a]"), Err(CmdlineError::MalformedGlob { bad: ']', .. })));
}

#[test]
fn a_name_matching_nothing_suggests_the_nearest() {
    let error = parse_str("filter=boot.*,lazy_batch.barriers_batchd").unwrap_err();
    assert_eq!(
        error,
        CmdlineError::NoMatch {
            glob: "lazy_batch.barriers_batchd".into(),
            nearest: Some("lazy_batch.barriers_batched".into())
        }
    );
    assert_eq!(
        error.to_string(),
        "filter `lazy_batch.barriers_batchd` matches no test; did you mean `lazy_batch.barriers_batched`?"
    );
    let error = parse_str("filter=lazy_batch.barriers_batched.detects_bug.arm46").unwrap_err();
    assert!(error.to_string().ends_with("did you mean `lazy_batch.barriers_batched.detects_bug.arm64`?"), "{error}");
    let error = parse_str("filter=lazy_bach").unwrap_err();
    assert!(error.to_string().ends_with("did you mean `lazy_batch`?"), "{error}");
    assert!(matches!(parse_str("filter=boot.wx_text.detects_bug"), Err(CmdlineError::NoMatch { .. })));
    assert!(matches!(parse_str("filter=lazy_batch.batch_full_drains.arm64"), Err(CmdlineError::NoMatch { .. })));
}

#[test]
fn unknown_flavour_lists_the_known_ones() {
    let error = parse_str("flavour=xen").unwrap_err();
    assert_eq!(error, CmdlineError::UnknownFlavour { name: "xen".into(), known: vec!["none", "arm64", "tlb-batch"] });
    assert_eq!(error.to_string(), "unknown flavour `xen`; valid flavours: all, none, arm64, tlb-batch");
    assert!(matches!(parse_str("flavour=arm64,xen"), Err(CmdlineError::UnknownFlavour { name, .. }) if name == "xen"));
}

#[test]
fn only_names_the_forms() {
    assert_eq!(parse_str("only=all").expect("all").only, Only::All);
    assert_eq!(parse_str("only=detects").expect("detects").only, Only::Detects);
    let error = parse_str("only=buggy").unwrap_err();
    assert_eq!(error, CmdlineError::BadOnly { value: "buggy".into() });
    assert_eq!(error.to_string(), "unknown only=`buggy`; valid: all, fixed (no .detects_bug), detects (only them)");
}

#[test]
fn a_filter_and_flavour_that_select_nothing_are_refused() {
    let error = parse_str("filter=lazy_batch.batch_full_drains flavour=arm64").unwrap_err();
    assert_eq!(
        error,
        CmdlineError::NothingSelected {
            filter: vec![String::from("lazy_batch.batch_full_drains")],
            flavour: Flavours::of(&[Flavour::Arm64]),
            only: Only::All
        }
    );
    assert_eq!(
        error.to_string(),
        "nothing to run: filter=lazy_batch.batch_full_drains selects no test under flavour=arm64 only=all"
    );
    assert!(parse_str("filter=lazy_batch.* flavour=arm64").is_ok(), "barriers_batched runs under arm64");
    assert!(parse_str("filter=boot.* flavour=arm64").is_ok(), "a case without variants runs under any flavour");
    assert!(matches!(parse(b"", false, &[]), Err(CmdlineError::NothingSelected { .. })), "no case at all");
}

#[test]
fn inject_must_name_a_case_with_a_buggy_form() {
    let error = parse_str("inject=lazy_batch.barriers").unwrap_err();
    assert!(matches!(&error, CmdlineError::UnknownCase { name, .. } if name == "lazy_batch.barriers"));
    assert_eq!(error.to_string(), "inject: no case `lazy_batch.barriers`; did you mean `lazy_batch.barriers_batched`?");
    let error = parse_str("inject=boot.wx_text").unwrap_err();
    assert!(matches!(&error, CmdlineError::NoBuggyForm { name, .. } if name == "boot.wx_text"));
    assert!(error.to_string().ends_with("has no buggy form; did you mean `lazy_batch.barriers_batched`?"), "{error}");
}

#[test]
fn inject_of_a_plain_form_the_selection_leaves_out_is_refused() {
    for line in [
        "filter=boot.* inject=lazy_batch.barriers_batched",
        "filter=lazy_batch.barriers_batched.detects_bug inject=lazy_batch.barriers_batched",
        "only=detects inject=lazy_batch.barriers_batched",
    ] {
        let error = parse_str(line).unwrap_err();
        assert_eq!(error, CmdlineError::InjectNotRun { inject: "lazy_batch.barriers_batched".into() }, "{line}");
    }
    assert!(parse_str("filter=lazy_batch.* inject=lazy_batch.barriers_batched").is_ok());
    assert!(parse_str("filter=lazy_batch.barriers_batched.arm64 inject=lazy_batch.barriers_batched").is_ok());
}

#[test]
fn errors_stay_short_whatever_was_typed() {
    let long = "x".repeat(300);
    for line in [
        format!("filter={long}"),
        format!("filter=lazy_batch.*,{long}"),
        format!("inject={long}"),
        format!("flavour={long}"),
        format!("log={long}"),
        format!("timeout={long}"),
        format!("only={long}"),
        format!("{long}=1"),
        format!("filter=[{long}"),
    ] {
        let message = parse_str(&line).unwrap_err().to_string();
        assert!(message.len() < 160, "{} characters: {message}", message.len());
    }
}

#[test]
fn log_levels() {
    for (name, level) in [
        ("error", LogLevel::Error),
        ("warn", LogLevel::Warn),
        ("info", LogLevel::Info),
        ("debug", LogLevel::Debug),
        ("trace", LogLevel::Trace),
    ] {
        assert_eq!(parse_str(&format!("log={name}")).expect(name).log, level);
    }
    let error = parse_str("log=loud").unwrap_err();
    assert_eq!(error, CmdlineError::BadLogLevel { value: "loud".into() });
    assert_eq!(error.to_string(), "unknown log level `loud`; valid levels: error, warn, info, debug, trace");
    assert!(parse_str("log=debug").expect("debug").wants_details());
    assert!(!parse_str("log=info").expect("info").wants_details());
}

#[test]
fn timeouts_are_whole_seconds_in_range() {
    assert_eq!(parse_str("timeout=3600").expect("max").timeout_ms, 3_600_000);
    for bad in ["0", "3601", "-1", "+5", "1.5", "10s", "99999999999999999999999"] {
        let error = parse_str(&format!("timeout={bad}")).unwrap_err();
        assert_eq!(error, CmdlineError::BadTimeout { value: bad.into() }, "{bad}");
    }
    assert_eq!(parse_str("timeout=").unwrap_err().to_string(), "bad timeout ``: whole seconds from 1 to 3600");
}
