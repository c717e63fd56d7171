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
        "--log-level",
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
    assert_eq!(o.filters, ["boot.*,paging.*"]);
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
    assert_eq!(options(&["--list", "--verbose", "--log-level", "trace"]).kernel_cmdline(), "list log=trace");
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
    assert!(matches!(parse(&["--log-level", "loud"]), Err(ArgError::BadValue { option: "--log-level", .. })));
    assert!(matches!(parse(&["--junit", ""]), Err(ArgError::BadValue { option: "--junit", .. })));
    assert!(matches!(parse(&["--log-file="]), Err(ArgError::BadValue { option: "--log-file", .. })));
    assert!(matches!(parse(&["--repeat", "0"]), Err(ArgError::BadValue { option: "--repeat", .. })));
    assert!(matches!(parse(&["--gdb-port", "0"]), Err(ArgError::BadValue { option: "--gdb-port", .. })));
    assert!(matches!(parse(&["--gdb-port", "65536"]), Err(ArgError::BadValue { option: "--gdb-port", .. })));
    assert!(matches!(parse(&["--color", "yes"]), Err(ArgError::BadValue { option: "--color", .. })));
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

#[test]
fn repeated_filters_accumulate_into_one_kernel_list() {
    let o = options(&["--filter", "boot.*", "--filter=flush_order.vmap,nesting.*", "--filter", "paging.walk"]);
    assert_eq!(o.filters, ["boot.*", "flush_order.vmap,nesting.*", "paging.walk"]);
    assert_eq!(o.kernel_cmdline(), "filter=boot.*,flush_order.vmap,nesting.*,paging.walk");
}

#[test]
fn options_from_other_tools_are_refused_with_a_hint() {
    let log = parse(&["--log", "debug"]).expect_err("ambiguous");
    assert!(matches!(log, ArgError::Refused { option: "--log", .. }));
    assert!(log.to_string().contains("--log-level LEVEL") && log.to_string().contains("--log-file PATH"), "{log}");
    let seed = parse(&["--seed=7"]).expect_err("no seed");
    assert!(seed.to_string().contains("nothing in a lazymmu run is randomised"), "{seed}");
}

#[test]
fn new_options() {
    let o = options(&["--gdb-port", "4321", "--log-file", "serial.txt", "--color", "never"]);
    assert!(o.gdb, "--gdb-port implies --gdb");
    assert_eq!((o.gdb_port, o.color), (Some(4321), ColorChoice::Never));
    assert_eq!(o.log_file, Some(PathBuf::from("serial.txt")));
    assert_eq!(options(&["--repeat", "3"]).repeat, 3);
    assert_eq!(options(&[]).color, ColorChoice::Auto);
}

#[test]
fn repeat_conflicts() {
    assert!(matches!(
        parse(&["--repeat", "2", "--gdb"]),
        Err(ArgError::Conflict { first: "--repeat", second: "--gdb", .. })
    ));
    assert!(matches!(parse(&["--list", "--repeat", "2"]), Err(ArgError::Conflict { second: "--list", .. })));
    assert!(parse(&["--repeat", "1", "--gdb"]).is_ok());
}

#[test]
fn relative_paths_are_the_callers() {
    let mut o = options(&["--junit", "out/j.xml", "--json", "/abs/k.json", "--log-file", "s.log", "--kernel", "../k"]);
    o.resolve_paths(Path::new("/home/me/work"));
    assert_eq!(o.junit, Some(PathBuf::from("/home/me/work/out/j.xml")));
    assert_eq!(o.json, Some(PathBuf::from("/abs/k.json")));
    assert_eq!(o.log_file, Some(PathBuf::from("/home/me/work/s.log")));
    assert_eq!(o.kernel, Some(PathBuf::from("/home/me/work/../k")));
}

#[test]
fn parse_subcommand() {
    assert_eq!(parse(&["parse", "--help"]), Ok(Command::ParseHelp));
    let Ok(Command::Parse(o)) = parse(&["parse", "saved.log", "--junit", "j.xml"]) else { panic!("parse mode") };
    assert_eq!((o.log, o.junit), (Some(PathBuf::from("saved.log")), Some(PathBuf::from("j.xml"))));
    let Ok(Command::Parse(stdin)) = parse(&["parse", "-"]) else { panic!("parse mode") };
    assert_eq!(stdin.log, None);
    assert_eq!(parse(&["parse", "a.log", "b.log"]), Err(ArgError::UnexpectedArgument("b.log".to_string())));
    assert!(matches!(parse(&["parse", "--arch", "x86_64"]), Err(ArgError::UnknownOption(_))));
}
