//! The `--help` texts of `lazymmu-run` and its `parse` subcommand.

pub const USAGE: &str = "\
usage: lazymmu-run [OPTIONS]
       lazymmu-run parse [LOG|-] [--junit FILE] [--json FILE] [--color WHEN]
       lazymmu-run bench [--help]

Builds the lazymmu kernel, boots it under QEMU, streams its KTAP output and
maps the outcome to an exit code.

  --arch x86_64|aarch64      architecture to run (arm64 = aarch64; default x86_64)
  --boot direct|limine       boot path (default direct)
  --firmware uefi|bios       with --boot limine: OVMF or SeaBIOS on x86_64
                             (default uefi; arm64 is always UEFI)
  --filter NAME[,NAME]       run only these tests: suite, suite.case (every
                             flavour, with its .detects_bug), suite.case.flavour
                             (a FAIL line's name: that test alone), globs;
                             repeat it to add names
  --flavour NAME[,NAME]|all  lazy MMU backend(s) to run (default all)
  --only fixed|detects|all   only the plain forms, or only the .detects_bug
                             self-tests (default all)
  --inject SUITE.CASE        run that case in its pre-patch (buggy) order
  --timeout SECONDS          per-case watchdog in the kernel (kernel default 10)
  --run-timeout SECONDS      end QEMU after this long (default 120)
  --repeat N                 boot and run the selection N times, one verdict
                             (the highest exit code of the runs)
  --log-level LEVEL          kernel log level: error|warn|info|debug|trace
  --log-file PATH            write the serial log here (default: a new
                             target/lazymmu/<arch>-<boot>-<run id>.log per run,
                             target/lazymmu/<arch>.log links to the latest)
  --list                     list the runnable cases instead of running them
  --verbose                  print the exact QEMU command line (and, with --list,
                             the judge table)
  --junit FILE               write JUnit XML
  --json FILE                write kunit.py-style JSON
  --color auto|always|never  colour the results (auto: on a terminal, unless
                             NO_COLOR is set or TERM=dumb)
  --gdb                      start QEMU halted with a gdb stub and print the gdb command
  --gdb-port N               the stub's TCP port (implies --gdb; default: a free one)
  --kernel PATH              use this kernel ELF (or arm64 Image), do not build
  --smp N                    number of CPUs (default 2)
  --append \"K=V ...\"         extra raw kernel arguments (may repeat)
  --help                     this text

Relative paths are taken from the directory scripts/run was started in.

Exit codes: 0 pass, 1 a test failed, 2 crash or malformed output,
3 timeout, 4 set-up error, bad input, nothing tested or a failed write,
129/130/143 ended by SIGHUP/SIGINT/SIGTERM, 141 stdout was a closed pipe.";

pub const PARSE_USAGE: &str = "\
usage: lazymmu-run parse [LOG|-] [--junit FILE] [--json FILE] [--color WHEN]

Reads a saved serial log (a file, or stdin for `-` or none), prints the
table, the failures and the verdict as a run would, and writes the reports.
The exit code comes from the log's content alone: 0 pass, 1 a test failed,
2 crash or malformed (a cut log too), 3 timeout, 4 nothing tested.";
