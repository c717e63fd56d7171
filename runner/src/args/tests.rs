//! Argument parser tests: every option, every error kind, the kernel command line.

use super::*;

fn parse(args: &[&str]) -> Result<Command, ArgError> {
    parse_args(args.iter().map(|s| s.to_string()))
}

fn options(args: &[&str]) -> Options {
    match parse(args) {
        Ok(Command::Run(options)) => *options,
        other => panic!("{args:?} gave {other:?}"),
    }
}

#[test]
fn defaults() {
    let o = options(&[]);
    assert_eq!(o, Options::default());
    assert_eq!((o.arch, o.boot, o.smp), (Arch::X86_64, Boot::Direct, 2));
    assert_eq!(o.effective_run_timeout_s(), Some(120));
    assert_eq!(o.kernel_cmdline(), "");
}

#[test]
fn every_option() {
    let o = options(&[
        "--arch",
        "arm64",
        "--boot",
        "limine",
        "--filter",
        "boot.*,paging.*",
        "--flavour",
        "queued",
        "--inject",
        "flush_order.vmap",
        "--timeout",
        "5",
        "--run-timeout",
        "30",
        "--log",
        "debug",
        "--list",
        "--verbose",
        "--junit",
        "out/j.xml",
        "--json",
        "out/k.json",
        "--gdb",
        "--kernel",
        "/tmp/k",
        "--smp",
        "1",
        "--append",
        "a=1 b=2",
        "--append",
        "c",
    ]);
    assert_eq!(o.arch, Arch::Aarch64);
    assert_eq!(o.boot, Boot::Limine);
    assert_eq!(o.filter.as_deref(), Some("boot.*,paging.*"));
    assert_eq!(o.junit, Some(PathBuf::from("out/j.xml")));
    assert_eq!(o.json, Some(PathBuf::from("out/k.json")));
    assert_eq!(o.kernel, Some(PathBuf::from("/tmp/k")));
    assert!(o.list && o.verbose && o.gdb);
    assert_eq!(o.smp, 1);
    assert_eq!(o.effective_run_timeout_s(), Some(30));
    assert_eq!(
        o.kernel_cmdline(),
        "list filter=boot.*,paging.* flavour=queued inject=flush_order.vmap timeout=5 log=debug a=1 b=2 c"
    );
}

#[test]
fn only_goes_to_the_kernel_which_checks_it() {
    let o = options(&["--filter", "nesting.underflow_warns.arm64", "--flavour", "arm64,queued", "--only", "fixed"]);
    assert_eq!(o.kernel_cmdline(), "filter=nesting.underflow_warns.arm64 flavour=arm64,queued only=fixed");
}

#[test]
fn equals_form_and_arch_names() {
    assert_eq!(options(&["--arch=aarch64"]).arch, Arch::Aarch64);
    assert_eq!(options(&["--arch", "x86_64"]).arch, Arch::X86_64);
    assert_eq!(options(&["--append=--odd"]).append, vec!["--odd"]);
}

#[test]
fn list_verbose_asks_for_the_judge_table() {
    assert_eq!(options(&["--list", "--verbose"]).kernel_cmdline(), "list log=debug");
    assert_eq!(options(&["--list", "--verbose", "--log", "trace"]).kernel_cmdline(), "list log=trace");
}

#[test]
fn gdb_waits_without_a_default_timeout() {
    assert_eq!(options(&["--gdb"]).effective_run_timeout_s(), None);
    assert_eq!(options(&["--gdb", "--run-timeout", "9"]).effective_run_timeout_s(), Some(9));
}

#[test]
fn help() {
    assert_eq!(parse(&["--help"]), Ok(Command::Help));
    assert_eq!(parse(&["--arch", "arm64", "--help"]), Ok(Command::Help));
}

#[test]
fn errors() {
    assert_eq!(parse(&["--frobnicate"]), Err(ArgError::UnknownOption("--frobnicate".to_string())));
    assert_eq!(parse(&["-x"]), Err(ArgError::UnknownOption("-x".to_string())));
    assert_eq!(parse(&["arm64"]), Err(ArgError::UnexpectedArgument("arm64".to_string())));
    assert_eq!(parse(&["--arch"]), Err(ArgError::MissingValue("--arch")));
    assert_eq!(parse(&["--filter", "--list"]), Err(ArgError::MissingValue("--filter")));
    assert!(matches!(parse(&["--arch", "mips"]), Err(ArgError::BadValue { option: "--arch", .. })));
    assert!(matches!(parse(&["--boot", "uefi"]), Err(ArgError::BadValue { option: "--boot", .. })));
    assert!(matches!(parse(&["--timeout", "0"]), Err(ArgError::BadValue { option: "--timeout", .. })));
    assert!(matches!(parse(&["--timeout", "1.5"]), Err(ArgError::BadValue { option: "--timeout", .. })));
    assert!(matches!(parse(&["--run-timeout", "-3"]), Err(ArgError::BadValue { option: "--run-timeout", .. })));
    assert!(matches!(parse(&["--run-timeout", "x"]), Err(ArgError::BadValue { option: "--run-timeout", .. })));
    assert!(matches!(parse(&["--smp", "0"]), Err(ArgError::BadValue { option: "--smp", .. })));
    assert!(matches!(parse(&["--smp", "9"]), Err(ArgError::BadValue { option: "--smp", .. })));
    assert!(matches!(parse(&["--log", "loud"]), Err(ArgError::BadValue { option: "--log", .. })));
    assert!(matches!(parse(&["--list=yes"]), Err(ArgError::BadValue { option: "--list", .. })));
    assert!(matches!(parse(&["--filter", "a b"]), Err(ArgError::ValueHasSpace { option: "--filter", .. })));
    assert!(matches!(parse(&["--flavour", ""]), Err(ArgError::BadValue { option: "--flavour", .. })));
}

#[test]
fn error_messages_are_one_line() {
    let messages = [
        parse(&["--frobnicate"]),
        parse(&["--arch"]),
        parse(&["--arch", "mips"]),
        parse(&["--filter", "a b"]),
        parse(&["stray"]),
    ];
    for result in messages {
        let message = result.expect_err("an error").to_string();
        assert!(!message.contains('\n') && !message.is_empty(), "{message:?}");
    }
    assert_eq!(
        parse(&["--arch", "mips"]).unwrap_err().to_string(),
        "option `--arch`: `mips` is not one of x86_64, aarch64, arm64"
    );
}
