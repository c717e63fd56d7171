//! The programs the runner starts (cargo, objcopy, make-image.sh, QEMU),
//! each in a process group of its own: ending the group ends whatever the
//! program started too (rustc and the linker, xorriso, a wrapper's QEMU).
//! The runner decides when they end (a signal, a timeout), not the
//! terminal; the groups still alive are kept for the panic hook. A runner
//! killed outright (SIGKILL, the OOM killer) cannot end them, so each
//! program also asks the kernel for SIGKILL when the runner dies.

use std::io::{self, Read};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use crate::interrupt::{self, SIGKILL, SIGTERM};
use crate::outcome::Stop;

/// How often a wait looks at the signal flag.
pub const POLL: Duration = Duration::from_millis(50);
/// How long a group gets to end on SIGTERM before SIGKILL.
pub const TERM_GRACE: Duration = Duration::from_secs(1);
/// After SIGKILL, how long to wait for the process to be reaped.
const REAP_LIMIT: Duration = Duration::from_secs(5);

/// The process groups started and not yet ended.
static LIVE: Mutex<Vec<i32>> = Mutex::new(Vec::new());

extern "C" {
    /// libc's `kill(2)`; a negative pid names a process group.
    fn kill(pid: i32, signum: i32) -> i32;
    /// libc's `prctl(2)`.
    fn prctl(option: i32, ...) -> i32;
    /// libc's `getppid(2)`.
    fn getppid() -> i32;
}

/// `PR_SET_PDEATHSIG` from <linux/prctl.h>.
const PR_SET_PDEATHSIG: i32 = 1;

/// In the forked child, before exec: SIGKILL when the runner dies. If the
/// runner died between fork and here, the request came too late; exit.
fn die_with_parent(parent: i32) -> io::Result<()> {
    // SAFETY: prctl(PR_SET_PDEATHSIG, sig) and getppid() only set or read
    // this process's own attributes; both are async-signal-safe, as code
    // between fork and exec must be.
    unsafe {
        if prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 {
            return Err(io::Error::last_os_error());
        }
        if getppid() != parent {
            // A bare kind: no allocation between fork and exec.
            return Err(io::ErrorKind::Interrupted.into());
        }
    }
    Ok(())
}

fn signal_group(pgid: i32, signum: i32) {
    // SAFETY: kill(2) has no memory-safety preconditions; `-pgid` names only
    // the group this runner created for its child (pgid > 0 by construction).
    unsafe {
        kill(-pgid, signum);
    }
}

/// A started program and its process group; dropping it ends the group.
pub struct Group {
    child: Child,
    pgid: i32,
    ended: bool,
}

/// Starts `command` as the leader of a new process group.
pub fn spawn(command: &mut Command) -> io::Result<Group> {
    use std::os::unix::process::CommandExt;
    let parent = i32::try_from(std::process::id()).map_err(io::Error::other)?;
    // SAFETY: the closure runs between fork and exec; it makes only
    // async-signal-safe calls and does not allocate (die_with_parent).
    unsafe {
        command.pre_exec(move || die_with_parent(parent));
    }
    let child = command.process_group(0).spawn()?;
    let pgid = i32::try_from(child.id()).map_err(io::Error::other)?;
    if let Ok(mut live) = LIVE.lock() {
        live.push(pgid);
    }
    Ok(Group { child, pgid, ended: false })
}

impl Group {
    pub fn child(&mut self) -> &mut Child {
        &mut self.child
    }

    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.child.try_wait()
    }

    /// Waits for the program to exit, ending it if a signal comes first.
    pub fn wait(&mut self, during: &str) -> Result<ExitStatus, Stop> {
        loop {
            if let Some(signum) = interrupt::received() {
                self.end(Duration::ZERO);
                return Err(Stop::Signal { signum, during: during.to_string() });
            }
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    // Anything the program left running in its group goes too.
                    self.end(Duration::ZERO);
                    return Ok(status);
                }
                Ok(None) => thread::sleep(POLL),
                Err(e) => return Err(Stop::Setup(format!("waiting for a child process: {e}"))),
            }
        }
    }

    /// Ends the whole group: SIGTERM and up to `grace` for the leader to go
    /// (QEMU then says why it stopped), then SIGKILL for everything left,
    /// which also ends a stopped process or one that ignores SIGTERM.
    pub fn end(&mut self, grace: Duration) {
        if self.ended {
            return;
        }
        if !grace.is_zero() && matches!(self.child.try_wait(), Ok(None)) {
            signal_group(self.pgid, SIGTERM);
            let deadline = Instant::now() + grace;
            while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
                thread::sleep(Duration::from_millis(10));
            }
        }
        signal_group(self.pgid, SIGKILL);
        // A process in uninterruptible sleep is not reaped at once; do not
        // hang the runner on it.
        let deadline = Instant::now() + REAP_LIMIT;
        while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
            thread::sleep(Duration::from_millis(10));
        }
        self.ended = true;
        if let Ok(mut live) = LIVE.lock() {
            live.retain(|&pgid| pgid != self.pgid);
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.end(Duration::ZERO);
    }
}

/// Ends every group still alive, from the panic hook: no waiting, and no
/// blocking on the list if the panic happened while it was held.
pub fn kill_all() {
    if let Ok(live) = LIVE.try_lock() {
        for &pgid in live.iter() {
            signal_group(pgid, SIGKILL);
        }
    }
}

/// Runs `command` to the end with its output captured, ending it if a
/// signal comes (`during` says what it was doing, for that message).
pub fn output(command: &mut Command, during: &str) -> Result<Output, Stop> {
    let program = command.get_program().to_string_lossy().into_owned();
    let mut group = spawn(command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()))
        .map_err(|e| Stop::Setup(format!("cannot run {program}: {e}")))?;
    let collect = |pipe: Option<Box<dyn Read + Send>>| {
        thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = collect(group.child().stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let stderr = collect(group.child().stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let status = group.wait(during)?;
    Ok(Output { status, stdout: stdout.join().unwrap_or_default(), stderr: stderr.join().unwrap_or_default() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alive(pid: &str) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| !stat.contains(") Z "))
    }

    #[test]
    fn ending_a_group_ends_what_its_leader_started() {
        let dir = std::env::temp_dir().join(format!("lazymmu-children-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        let pid_file = dir.join("grandchild.pid");
        let script = format!("trap '' TERM; sleep 30 & echo $! > '{}'; wait", pid_file.display());
        let mut group = spawn(Command::new("sh").args(["-c", &script])).expect("sh starts");
        let started = Instant::now();
        while !pid_file.exists() || std::fs::read_to_string(&pid_file).unwrap_or_default().trim().is_empty() {
            assert!(started.elapsed() < Duration::from_secs(10), "no grandchild");
            thread::sleep(Duration::from_millis(10));
        }
        let grandchild = std::fs::read_to_string(&pid_file).expect("pid").trim().to_string();
        group.end(Duration::from_millis(100));
        assert!(matches!(group.try_wait(), Ok(Some(_))), "the leader ignores SIGTERM and still ends");
        let reaped = Instant::now();
        while alive(&grandchild) {
            assert!(reaped.elapsed() < Duration::from_secs(5), "grandchild {grandchild} outlived its group");
            thread::sleep(Duration::from_millis(10));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn output_is_captured() {
        let output =
            output(Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]), "testing").expect("runs");
        assert_eq!(
            (output.status.code(), output.stdout.as_slice(), output.stderr.as_slice()),
            (Some(3), &b"out\n"[..], &b"err\n"[..])
        );
    }
}
