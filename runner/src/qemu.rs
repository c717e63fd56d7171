//! The QEMU command line (docs/design.md, "The runner") and one supervised
//! run: serial lines streamed as they come, the whole-run timeout and
//! signals enforced by ending QEMU's process group, whatever QEMU does
//! (closes its output, stops, ignores SIGTERM, leaves children).

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use crate::args::Arch;
use crate::children::{self, POLL, TERM_GRACE};
use crate::interrupt;
use crate::outcome::Stop;
use crate::verdict::RunEnd;

/// After QEMU ended or was ended, how long to wait for the last buffered
/// lines (a child QEMU left behind may hold the pipes open for ever).
const DRAIN: Duration = Duration::from_millis(500);

pub struct QemuConfig<'a> {
    pub arch: Arch,
    pub smp: u32,
    /// The ELF on x86_64 (PVH note), the raw Image on arm64.
    pub kernel: &'a Path,
    pub cmdline: &'a str,
    /// `Some(port)`: a gdb stub on that TCP port, CPUs halted until gdb
    /// continues.
    pub gdb: Option<u16>,
}

/// Guest RAM. The cases need a few MiB; every page of RAM costs time when a
/// case turns debug_pagealloc on or off (each free frame leaves or rejoins
/// the linear map), so the guest gets no more than the heap and cases need.
pub const GUEST_MEMORY: &str = "64M";

/// Program and arguments, exactly as they will be run.
pub fn command_line(config: &QemuConfig) -> Vec<String> {
    let mut args: Vec<String> = vec![config.arch.qemu_binary().to_string()];
    let machine: &[&str] = match config.arch {
        Arch::X86_64 => &["-machine", "q35"],
        Arch::Aarch64 => &["-M", "virt,gic-version=3"],
    };
    args.extend(machine.iter().map(|s| s.to_string()));
    let smp = config.smp.to_string();
    args.extend(
        ["-cpu", "max", "-smp", &smp, "-m", GUEST_MEMORY, "-display", "none", "-no-reboot", "-serial", "stdio"]
            .iter()
            .map(|s| s.to_string()),
    );
    let exit_device: &[&str] = match config.arch {
        Arch::X86_64 => &["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"],
        Arch::Aarch64 => &["-semihosting-config", "enable=on,target=native"],
    };
    args.extend(exit_device.iter().map(|s| s.to_string()));
    if let Some(port) = config.gdb {
        args.extend(["-gdb".to_string(), format!("tcp::{port}"), "-S".to_string()]);
    }
    args.extend(["-kernel".to_string(), config.kernel.display().to_string()]);
    args.extend(["-append".to_string(), config.cmdline.to_string()]);
    args
}

/// A TCP port for the gdb stub: `wanted` if it is free, else an error; with
/// none wanted, one the system says is free now.
pub fn gdb_port(wanted: Option<u16>) -> Result<u16, String> {
    let listener = std::net::TcpListener::bind(("0.0.0.0", wanted.unwrap_or(0))).map_err(|e| match wanted {
        Some(port) => format!("--gdb-port {port}: cannot listen there: {e}"),
        None => format!("cannot find a free TCP port for the gdb stub: {e}"),
    })?;
    listener.local_addr().map(|address| address.port()).map_err(|e| format!("reading the gdb port: {e}"))
}

/// A command line a person can paste into a POSIX shell.
pub fn shell_quote(args: &[String]) -> String {
    let quote = |arg: &String| {
        let safe = !arg.is_empty() && arg.chars().all(|c| c.is_ascii_alphanumeric() || "-_./,=:+@%".contains(c));
        if safe {
            arg.clone()
        } else {
            format!("'{}'", arg.replace('\'', "'\\''"))
        }
    };
    args.iter().map(quote).collect::<Vec<_>>().join(" ")
}

/// Which QEMU stream a line came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// The guest's first serial port.
    Serial,
    /// QEMU's own messages.
    Qemu,
}

enum Event {
    Line(Stream, String),
    Closed,
}

/// Runs QEMU to the end, calling `on_line` for every line of its output;
/// an `Err` from it (stdout went away) ends QEMU and is returned. Never
/// waits longer than `run_timeout` (plus the grace to end QEMU), and a
/// signal ends QEMU at once.
pub fn supervise(
    args: &[String],
    run_timeout: Option<Duration>,
    on_line: &mut dyn FnMut(Stream, &str) -> Result<(), Stop>,
) -> Result<RunEnd, Stop> {
    let (program, rest) = args.split_first().ok_or_else(|| Stop::Setup("empty QEMU command line".to_string()))?;
    let mut qemu = children::spawn(
        Command::new(program).args(rest).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()),
    )
    .map_err(|e| Stop::Setup(format!("cannot start {program}: {e}")))?;
    let (sender, events) = mpsc::channel();
    let pipes: [(Stream, Option<Box<dyn Read + Send>>); 2] = [
        (Stream::Serial, qemu.child().stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>)),
        (Stream::Qemu, qemu.child().stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>)),
    ];
    let mut open_streams = 0;
    for (stream, pipe) in pipes {
        let Some(pipe) = pipe else { continue };
        open_streams += 1;
        let sender = sender.clone();
        thread::spawn(move || {
            let mut reader = BufReader::new(pipe);
            let mut bytes = Vec::new();
            // Serial output is bytes: a kernel bug must not stop the log at invalid UTF-8.
            while reader.read_until(b'\n', &mut bytes).is_ok_and(|n| n > 0) {
                let line = String::from_utf8_lossy(&bytes).trim_end_matches(['\n', '\r']).to_string();
                if sender.send(Event::Line(stream, line)).is_err() {
                    return;
                }
                bytes.clear();
            }
            let _ = sender.send(Event::Closed);
        });
    }
    drop(sender);

    let started = Instant::now();
    let mut exited: Option<(Instant, std::process::ExitStatus)> = None;
    let mut handle = |event: Event, open_streams: &mut usize| match event {
        Event::Line(stream, line) => on_line(stream, &line),
        Event::Closed => {
            *open_streams -= 1;
            Ok(())
        }
    };
    loop {
        let ended_by_runner = if interrupt::interrupted() {
            Some(RunEnd::Interrupted)
        } else {
            run_timeout
                .filter(|limit| started.elapsed() >= *limit)
                .map(|limit| RunEnd::RunTimeout { seconds: limit.as_secs() })
        };
        if let Some(end) = ended_by_runner {
            qemu.end(if end == RunEnd::Interrupted { Duration::ZERO } else { TERM_GRACE });
            drain(&events, &mut |event| handle(event, &mut open_streams))?;
            return Ok(end);
        }
        if exited.is_none() {
            let status = qemu.try_wait().map_err(|e| Stop::Setup(format!("waiting for QEMU: {e}")))?;
            exited = status.map(|status| (Instant::now(), status));
        }
        if let Some((when, status)) = exited {
            if open_streams == 0 || when.elapsed() >= DRAIN {
                qemu.end(Duration::ZERO);
                return Ok(match status.code() {
                    Some(code) => RunEnd::Exited(code),
                    None => RunEnd::Signalled(std::os::unix::process::ExitStatusExt::signal(&status).unwrap_or(0)),
                });
            }
        }
        let result = match events.recv_timeout(POLL) {
            Ok(event) => handle(event, &mut open_streams),
            Err(RecvTimeoutError::Timeout) => Ok(()),
            // Both readers are done: QEMU's exit is what is left to wait for.
            Err(RecvTimeoutError::Disconnected) => {
                open_streams = 0;
                thread::sleep(POLL);
                Ok(())
            }
        };
        if let Err(stop) = result {
            qemu.end(Duration::ZERO);
            return Err(stop);
        }
    }
}

/// `supervise` with every line (QEMU's own as `# qemu:` diagnostics, so the
/// log stays parseable KTAP) written to `log`; a lost log line is an error
/// after the run.
pub fn run(
    args: &[String],
    run_timeout: Option<Duration>,
    log: &mut File,
    on_line: &mut dyn FnMut(Stream, &str),
) -> Result<RunEnd, String> {
    let mut lost = None;
    let end = supervise(args, run_timeout, &mut |stream, line| {
        let written = match stream {
            Stream::Serial => writeln!(log, "{line}"),
            Stream::Qemu => writeln!(log, "# qemu: {line}"),
        };
        if let Err(e) = written {
            lost.get_or_insert(e);
        }
        on_line(stream, line);
        Ok(())
    })
    .map_err(|stop| stop.to_string())?;
    match lost.or_else(|| log.flush().err()) {
        Some(e) => Err(format!("the log lost a line: {e}")),
        None => Ok(end),
    }
}

/// Hands over what QEMU printed before it was ended, without waiting long.
fn drain(events: &Receiver<Event>, handle: &mut dyn FnMut(Event) -> Result<(), Stop>) -> Result<(), Stop> {
    let deadline = Instant::now() + DRAIN;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match events.recv_timeout(left) {
            Ok(event) => handle(event)?,
            Err(_) => return Ok(()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x86_64_command_line_is_the_contracts() {
        let config = QemuConfig {
            arch: Arch::X86_64,
            smp: 2,
            kernel: Path::new("/k/lazymmu"),
            cmdline: "filter=boot.*",
            gdb: None,
        };
        assert_eq!(
            command_line(&config).join(" "),
            "qemu-system-x86_64 -machine q35 -cpu max -smp 2 -m 64M -display none -no-reboot -serial stdio \
             -device isa-debug-exit,iobase=0xf4,iosize=0x04 -kernel /k/lazymmu -append filter=boot.*"
        );
    }

    #[test]
    fn arm64_command_line_with_gdb() {
        let config = QemuConfig {
            arch: Arch::Aarch64,
            smp: 1,
            kernel: Path::new("/k/lazymmu.Image"),
            cmdline: "",
            gdb: Some(1234),
        };
        assert_eq!(
            command_line(&config).join(" "),
            "qemu-system-aarch64 -M virt,gic-version=3 -cpu max -smp 1 -m 64M -display none -no-reboot -serial stdio \
             -semihosting-config enable=on,target=native -gdb tcp::1234 -S -kernel /k/lazymmu.Image -append "
        );
    }

    #[test]
    fn quoting_survives_a_shell() {
        let args: Vec<String> = ["qemu", "-append", "a=1 b='2'", "", "x,y=z"].iter().map(|s| s.to_string()).collect();
        assert_eq!(shell_quote(&args), "qemu -append 'a=1 b='\\''2'\\''' '' x,y=z");
    }

    #[test]
    fn streams_lines_and_reports_the_status() {
        let args: Vec<String> = ["sh", "-c", "printf 'one\\ntwo\\r\\nthree'; echo oops >&2; exit 35"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let log_path = std::env::temp_dir().join(format!("lazymmu-run-test-{}.log", std::process::id()));
        let mut log = File::create(&log_path).expect("log");
        let mut serial = Vec::new();
        let mut qemu = Vec::new();
        let end = run(&args, Some(Duration::from_secs(10)), &mut log, &mut |stream, line| match stream {
            Stream::Serial => serial.push(line.to_string()),
            Stream::Qemu => qemu.push(line.to_string()),
        });
        assert_eq!(end, Ok(RunEnd::Exited(35)));
        assert_eq!(serial, ["one", "two", "three"]);
        assert_eq!(qemu, ["oops"]);
        // The two pipes interleave in any order; each keeps its own.
        let logged = std::fs::read_to_string(&log_path).expect("log written");
        let serial_lines: Vec<&str> = logged.lines().filter(|l| !l.starts_with("# qemu: ")).collect();
        assert_eq!(serial_lines, ["one", "two", "three"]);
        assert!(logged.lines().any(|l| l == "# qemu: oops"));
        let _ = std::fs::remove_file(&log_path);
    }

    #[test]
    fn kills_a_run_that_outlives_its_timeout() {
        let args: Vec<String> = ["sh", "-c", "echo started; exec sleep 30"].iter().map(|s| s.to_string()).collect();
        let log_path = std::env::temp_dir().join(format!("lazymmu-run-timeout-{}.log", std::process::id()));
        let mut log = File::create(&log_path).expect("log");
        let started = Instant::now();
        let mut lines = Vec::new();
        let end = run(&args, Some(Duration::from_secs(1)), &mut log, &mut |_, line| lines.push(line.to_string()));
        assert_eq!(end, Ok(RunEnd::RunTimeout { seconds: 1 }));
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(lines, ["started"]);
        let _ = std::fs::remove_file(&log_path);
    }

    fn shell(script: &str) -> Vec<String> {
        ["sh", "-c", script].iter().map(|s| s.to_string()).collect()
    }

    /// The timeout holds however the child behaves; each case must end
    /// within the limit plus the SIGTERM grace plus a margin.
    #[test]
    fn the_timeout_holds_whatever_the_child_does() {
        let cases = [
            ("closes its output", "echo started; exec sleep 30 >&- 2>&-"),
            ("stops itself", "echo started; kill -STOP $$"),
            ("ignores SIGTERM", "trap '' TERM; echo started; while :; do sleep 1; done"),
        ];
        for (what, script) in cases {
            let started = Instant::now();
            let mut lines = Vec::new();
            let end = supervise(&shell(script), Some(Duration::from_secs(1)), &mut |_, line| {
                lines.push(line.to_string());
                Ok(())
            });
            assert_eq!(end, Ok(RunEnd::RunTimeout { seconds: 1 }), "{what}");
            assert!(started.elapsed() < Duration::from_secs(4), "{what}: took {:?}", started.elapsed());
            assert_eq!(lines, ["started"], "{what}");
        }
    }

    #[test]
    fn an_exit_is_seen_while_a_grandchild_holds_the_pipes() {
        let started = Instant::now();
        let end = supervise(&shell("sleep 30 & exit 33"), Some(Duration::from_secs(20)), &mut |_, _| Ok(()));
        assert_eq!(end, Ok(RunEnd::Exited(33)));
        assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
    }

    #[test]
    fn a_stop_from_the_line_handler_ends_the_run() {
        let end = supervise(&shell("echo one; exec sleep 30"), None, &mut |_, _| Err(Stop::ClosedStdout));
        assert_eq!(end, Err(Stop::ClosedStdout));
    }

    #[test]
    fn a_busy_gdb_port_is_refused() {
        let port = gdb_port(None).expect("a free port");
        let taken = std::net::TcpListener::bind(("0.0.0.0", port)).expect("bind");
        let error = gdb_port(Some(port)).expect_err("in use");
        assert!(error.starts_with(&format!("--gdb-port {port}: cannot listen there")), "{error}");
        drop(taken);
    }
}
