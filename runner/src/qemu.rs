//! The QEMU command line (docs/design.md, "The runner") and one
//! supervised run: serial lines streamed as they come, the full log kept on
//! disk, the whole-run timeout and SIGINT enforced by killing QEMU.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use crate::args::Arch;
use crate::interrupt;
use crate::verdict::RunEnd;

/// How often the supervisor looks at the clock and the SIGINT flag.
const POLL: Duration = Duration::from_millis(50);
/// After QEMU is killed, how long to wait for the last buffered lines.
const DRAIN: Duration = Duration::from_millis(500);

pub struct QemuConfig<'a> {
    pub arch: Arch,
    pub smp: u32,
    /// The ELF on x86_64 (PVH note), the raw Image on arm64.
    pub kernel: &'a Path,
    pub cmdline: &'a str,
    /// `-s -S`: gdb stub on tcp::1234, CPUs halted until gdb continues.
    pub gdb: bool,
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
    if config.gdb {
        args.extend(["-s".to_string(), "-S".to_string()]);
    }
    args.extend(["-kernel".to_string(), config.kernel.display().to_string()]);
    args.extend(["-append".to_string(), config.cmdline.to_string()]);
    args
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

/// Runs QEMU to the end, calling `on_line` for every line of its output and
/// writing every line to `log`. Never waits longer than `run_timeout`.
pub fn run(
    args: &[String],
    run_timeout: Option<Duration>,
    log: &mut File,
    on_line: &mut dyn FnMut(Stream, &str),
) -> Result<RunEnd, String> {
    let (program, rest) = args.split_first().ok_or("empty QEMU command line")?;
    let mut child = Command::new(program)
        .args(rest)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {program}: {e}"))?;
    let (sender, events) = mpsc::channel();
    let stdout = child.stdout.take().expect("stdout is piped");
    let stderr = child.stderr.take().expect("stderr is piped");
    for (stream, pipe) in [(Stream::Serial, Box::new(stdout) as Box<dyn Read + Send>), (Stream::Qemu, Box::new(stderr))]
    {
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
    let mut open_streams = 2;
    let mut handle = |event: Event, open_streams: &mut i32| match event {
        Event::Line(stream, line) => {
            // QEMU's own messages become KTAP diagnostics, so the log stays parseable.
            let _ = match stream {
                Stream::Serial => writeln!(log, "{line}"),
                Stream::Qemu => writeln!(log, "# qemu: {line}"),
            };
            on_line(stream, &line);
        }
        Event::Closed => *open_streams -= 1,
    };
    while open_streams > 0 {
        if interrupt::interrupted() {
            kill(&mut child);
            drain(&events, &mut |e| handle(e, &mut open_streams));
            return Ok(RunEnd::Interrupted);
        }
        if let Some(limit) = run_timeout {
            if started.elapsed() >= limit {
                kill(&mut child);
                drain(&events, &mut |e| handle(e, &mut open_streams));
                return Ok(RunEnd::RunTimeout { seconds: limit.as_secs() });
            }
        }
        match events.recv_timeout(POLL) {
            Ok(event) => handle(event, &mut open_streams),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    let status = child.wait().map_err(|e| format!("waiting for QEMU: {e}"))?;
    let _ = log.flush();
    Ok(match status.code() {
        Some(code) => RunEnd::Exited(code),
        None => RunEnd::Signalled(std::os::unix::process::ExitStatusExt::signal(&status).unwrap_or(0)),
    })
}

fn kill(child: &mut Child) {
    // kill() fails only if QEMU already exited, which is what we want anyway.
    let _ = child.kill();
    let _ = child.wait();
}

/// Hands over what QEMU printed before it was killed, without waiting long.
fn drain(events: &Receiver<Event>, handle: &mut dyn FnMut(Event)) {
    let deadline = Instant::now() + DRAIN;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match events.recv_timeout(left) {
            Ok(event) => handle(event),
            Err(_) => return,
        }
    }
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
            gdb: false,
        };
        assert_eq!(
            command_line(&config).join(" "),
            "qemu-system-x86_64 -machine q35 -cpu max -smp 2 -m 64M -display none -no-reboot -serial stdio \
             -device isa-debug-exit,iobase=0xf4,iosize=0x04 -kernel /k/lazymmu -append filter=boot.*"
        );
    }

    #[test]
    fn arm64_command_line_with_gdb() {
        let config =
            QemuConfig { arch: Arch::Aarch64, smp: 1, kernel: Path::new("/k/lazymmu.Image"), cmdline: "", gdb: true };
        assert_eq!(
            command_line(&config).join(" "),
            "qemu-system-aarch64 -M virt,gic-version=3 -cpu max -smp 1 -m 64M -display none -no-reboot -serial stdio \
             -semihosting-config enable=on,target=native -s -S -kernel /k/lazymmu.Image -append "
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
}
