//! Registration through the linker section, and the check macros' sites.

use std::string::String;
use std::vec::Vec;

use mm::Flavour;

use crate::case::{Applies, BuggyExpect, Judge, Plan};
use crate::cmdline::Options;
use crate::fake::{parse_ktap, serialise_runs, FakePlatform, FAKE_FAULT};
use crate::target::{Arch, Target};
use crate::{kcheck, kcheck_eq, kdiag, ktest_case};

fn registered_plan(flavour: Flavour, _target: Target) -> Plan {
    match flavour {
        Flavour::Arm64 => {
            Plan { fixed: Applies::Yes, buggy: BuggyExpect::Caught { judges: &[Judge::Counters], rules: &[] } }
        }
        _ => Plan { fixed: Applies::No("arm64 flavour only"), buggy: BuggyExpect::NotApplicable("no barriers") },
    }
}

fn named_body(ctx: &mut crate::Ctx) {
    kdiag!(ctx, "running in {}", ctx.target());
}

ktest_case!(zz_registry, plain, |ctx| {
    kcheck!(ctx, Judge::Mmu, true, "never fails");
});
ktest_case!(zz_registry, with_variants, variants = &[Flavour::None, Flavour::Arm64], named_body);
ktest_case!(zz_registry, with_plan, plan = registered_plan, variants = &[Flavour::None, Flavour::Arm64], |ctx| {
    if ctx.order() == crate::Order::Buggy {
        kcheck_eq!(ctx, Judge::Counters, 512, 1, "barrier pairs");
    }
});
ktest_case!(zz_registry, plan_none, plan = None, variants = &[Flavour::Queued], |_ctx| {});
ktest_case!(zz_registry, plan_no_variants, plan = registered_plan, |_ctx| {});
ktest_case!(aa_registry, sorts_first, |ctx| {
    let fault = ctx.expect_fault(|| {});
    kcheck_eq!(ctx, Judge::Mmu, fault, Some(FAKE_FAULT), "expected fault");
});

#[test]
fn macro_registers_into_the_section_sorted() {
    let ids: Vec<String> = crate::cases().iter().map(|case| case.id().to_string()).collect();
    let ours: Vec<&str> = ids.iter().map(String::as_str).filter(|id| id.contains("_registry.")).collect();
    assert_eq!(
        ours,
        [
            "aa_registry.sorts_first",
            "zz_registry.plain",
            "zz_registry.plan_no_variants",
            "zz_registry.plan_none",
            "zz_registry.with_plan",
            "zz_registry.with_variants",
        ]
    );
    let cases = crate::cases();
    let with_plan = cases.iter().find(|case| case.name == "with_plan").expect("registered");
    assert_eq!(with_plan.variants, [Flavour::None, Flavour::Arm64]);
    assert!(with_plan.has_buggy_form());
    assert!(with_plan.file.ends_with("src/tests.rs"));
    let plan_none = cases.iter().find(|case| case.name == "plan_none").expect("registered");
    assert!(!plan_none.has_buggy_form());
}

#[test]
fn registered_cases_run_through_run() {
    let _serial = serialise_runs();
    let platform = FakePlatform::default();
    platform.next_fault.set(Some(FAKE_FAULT));
    let options = crate::cmdline::parse(b"filter=*_registry.*", false, &crate::cases()).expect("valid");
    let summary = crate::run(&platform, &options, &());
    let output = platform.output();
    let (nodes, _) = parse_ktap(&output);
    let names: Vec<&str> = nodes.iter().map(|node| node.name.as_str()).collect();
    assert_eq!(names, ["aa_registry", "zz_registry"], "{output}");
    assert!(summary.passed(), "{output}");
    // plain 1 + with_variants 2 + with_plan 2 + its detects_bug 2 + plan_none 1
    // + plan_no_variants 1 + its detects_bug 1 + sorts_first 1.
    assert_eq!(summary.total, 11, "{output}");
    assert!(output.contains("        # running in x86_64-model\n"), "{output}");
    assert!(
        output.contains("# arm64: caught by counters\n        #   barrier pairs: expected 1, saw 512\n"),
        "{output}"
    );
}

#[test]
fn judge_table_covers_cases_with_a_plan() {
    let target = Target::qemu(Arch::Aarch64);
    let rows = crate::judge_table(target);
    let ours: Vec<String> =
        rows.iter().filter(|row| row.case.suite == "zz_registry").map(|row| row.to_string()).collect();
    assert_eq!(
        ours,
        [
            "aarch64 zz_registry.plan_no_variants - fixed=no:arm64 flavour only buggy=n/a:no barriers",
            "aarch64 zz_registry.with_plan none fixed=no:arm64 flavour only buggy=n/a:no barriers",
            "aarch64 zz_registry.with_plan arm64 fixed=yes buggy=caught:counters",
        ]
    );
    assert!(rows.iter().all(|row| row.target == target));
}

#[test]
fn checks_record_the_line_they_are_written_on() {
    let _serial = serialise_runs();
    static CHECKS: crate::Case = crate::Case {
        suite: "site",
        name: "checks",
        variants: &[],
        desc: "",
        run: |ctx| {
            let expected_line = line!() + 1;
            kcheck!(ctx, Judge::Mmu, false, "first");
            kcheck_eq!(ctx, Judge::Mmu, 1, 2, "second");
            ctx.fail(Judge::Mmu, format_args!("third"));
            let lines: Vec<u32> = ctx.failures().iter().map(|failure| failure.line).collect();
            kdiag!(ctx, "lines {:?} from {}", lines, expected_line);
            let sites_right = lines == [expected_line, expected_line + 1, expected_line + 2];
            let file_right = ctx.failures().iter().all(|failure| failure.file.ends_with("src/tests.rs"));
            kdiag!(ctx, "sites right: {}", sites_right && file_right);
        },
        plan: None,
        file: file!(),
        line: line!(),
    };
    let platform = FakePlatform::default();
    crate::run_cases(&platform, &Options::default(), &(), &[&CHECKS]);
    assert!(platform.output().contains("# sites right: true"), "{}", platform.output());
}
