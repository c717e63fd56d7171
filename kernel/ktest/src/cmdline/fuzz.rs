//! Fuzzing [`parse`] with proptest: random bytes and random token soups
//! built from the command line's own vocabulary. Whatever the input, the
//! parser must not panic, an error must be one line naming the problem, and
//! an accepted line must select at least one case (a run of zero tests
//! reported as a pass is the failure this guards against). Each property
//! prints how many inputs it tried (`cargo test -- --nocapture`).

use std::string::{String, ToString};
use std::vec::Vec;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

// The same three cases the parser's unit tests use.
use super::tests::CASES;
use super::{parse, CmdlineError, Options, KEYS, MAX_TIMEOUT_SECONDS};

/// Inputs each property tries; the count is printed and asserted.
const INPUTS: u32 = 4000;

/// An error is one line a terminal shows whole, whatever was typed.
const MAX_MESSAGE: usize = 160;

/// What every outcome of `parse` must satisfy.
fn check_outcome(line: &[u8], outcome: Result<Options, CmdlineError>) -> Result<(), TestCaseError> {
    match outcome {
        Ok(options) => {
            let selected = CASES.iter().filter(|case| options.selects(case));
            prop_assert!(
                selected.count() > 0,
                "accepted a line that runs nothing: {:?}",
                String::from_utf8_lossy(line)
            );
            prop_assert!((1000..=MAX_TIMEOUT_SECONDS * 1000).contains(&options.timeout_ms));
            if !options.flavour.is_all() {
                prop_assert!(CASES.iter().any(|case| case.variants.iter().any(|f| options.flavour.includes(*f))));
            }
            if let Some(inject) = options.inject {
                prop_assert!(CASES.iter().any(|case| case.id() == inject && case.has_buggy_form()));
            }
        }
        Err(error) => {
            let message = error.to_string();
            prop_assert!(!message.is_empty() && !message.contains('\n'), "{message:?}");
            prop_assert!(message.chars().count() < MAX_MESSAGE, "{} characters: {message}", message.len());
            if let CmdlineError::UnknownKey { .. } = error {
                prop_assert!(KEYS.iter().all(|key| message.contains(key)), "{message}");
            }
        }
    }
    Ok(())
}

fn run_property(name: &str, strategy: impl Strategy<Value = (Vec<u8>, bool)>) {
    let config = Config { cases: INPUTS, failure_persistence: None, ..Config::default() };
    let mut runner = TestRunner::new(config);
    let tried = core::cell::Cell::new(0u32);
    let accepted = core::cell::Cell::new(0u32);
    let result = runner.run(&strategy, |(line, truncated)| {
        tried.set(tried.get() + 1);
        let outcome = parse(&line, truncated, &CASES);
        accepted.set(accepted.get() + u32::from(outcome.is_ok()));
        check_outcome(&line, outcome)
    });
    let tried = tried.get();
    std::eprintln!("cmdline fuzz ({name}): {tried} inputs tried, {} accepted, {result:?}", accepted.get());
    if let Err(failure) = result {
        panic!("cmdline fuzz ({name}) failed: {failure}");
    }
    assert!(tried >= INPUTS, "only {tried} inputs tried");
}

#[test]
fn random_bytes_never_panic() {
    run_property("random bytes", (proptest::collection::vec(any::<u8>(), 0..300), any::<bool>()));
}

/// Pieces of real and nearly-real command lines.
fn token() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        proptest::sample::select(KEYS.to_vec()).prop_map(str::to_string),
        "[a-z]{1,8}",
        Just("x86.crash".to_string()),
    ];
    let value = prop_oneof![
        proptest::sample::select(vec![
            "boot.*",
            "*",
            "lazy_batch.barriers_batched",
            "lazy_batch.batch_full_drains",
            "lazy_batch.barriers_batched.detects_bug.arm64",
            "lazy_batch.batch_full_drains.tlb-batch",
            "lazy_batch",
            "*.detects_bug",
            "arm64,none",
            "fixed",
            "detects",
            "arm64",
            "tlb-batch",
            "none",
            "all",
            "trace",
            "10",
            "0",
            "3601",
            "",
            "[",
            ",",
        ])
        .prop_map(str::to_string),
        "[a-z_.*?,\\[\\]{}!-]{0,12}",
        "[a-z_.*?,-]{150,300}",
        "[0-9]{1,22}",
    ];
    prop_oneof![(key.clone(), value).prop_map(|(key, value)| format!("{key}={value}")), key, "\\PC{1,6}",]
}

#[test]
fn token_soups_never_panic_and_never_select_nothing() {
    let line = (proptest::collection::vec(token(), 0..8), proptest::sample::select(vec![" ", "  ", "\t", " \n"]))
        .prop_map(|(tokens, separator)| tokens.join(separator).into_bytes());
    run_property("token soup", (line, proptest::bool::weighted(0.05)));
}
