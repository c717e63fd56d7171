//! The serial log of each run: a file of its own,
//! `target/lazymmu/<arch>-<boot>-<run id>.log` (run id = UTC time and the
//! runner's pid), so two runs at once never splice their logs; a stable
//! `<arch>.log` symlink names the latest. Every write is checked: a log
//! that lost a line makes the run exit 4 rather than pass.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::args::{Arch, Boot};

/// Per-run logs kept per arch; older ones are removed when a run starts.
const KEEP_PER_ARCH: usize = 20;

/// `YYYYMMDD-HHMMSS-<pid>` in UTC: sorts by time, unique per process.
pub fn run_id() -> String {
    let seconds = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs());
    let (year, month, day) = civil_from_days(seconds / 86_400);
    let of_day = seconds % 86_400;
    format!(
        "{year:04}{month:02}{day:02}-{:02}{:02}{:02}-{}",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60,
        std::process::id()
    )
}

/// Days since 1970-01-01 to (year, month, day): Howard Hinnant's
/// `civil_from_days`, for days after the epoch.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 };
    let year = era * 400 + year_of_era + u64::from(month <= 2);
    (year, month, day)
}

/// Where a run's log goes when `--log-file` is not given.
pub fn default_path(dir: &Path, arch: Arch, boot: Boot, run_id: &str) -> PathBuf {
    let boot = match boot {
        Boot::Direct => "direct",
        Boot::Limine => "limine",
    };
    dir.join(format!("{}-{boot}-{run_id}.log", arch.name()))
}

/// The stable name of the latest log of `arch`.
pub fn latest_link(dir: &Path, arch: Arch) -> PathBuf {
    dir.join(format!("{}.log", arch.name()))
}

/// Repetition `number` of `count` (`--repeat`) gets `.runN` before the
/// extension; a single run keeps `path`.
pub fn for_repetition(path: &Path, number: u32, count: u32) -> PathBuf {
    if count <= 1 {
        return path.to_path_buf();
    }
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let name = match path.extension() {
        Some(extension) => format!("{stem}.run{number}.{}", extension.to_string_lossy()),
        None => format!("{stem}.run{number}"),
    };
    path.with_file_name(name)
}

/// An open serial log that remembers the first write it lost.
pub struct SerialLog {
    path: PathBuf,
    file: File,
    lost: Option<io::Error>,
}

impl SerialLog {
    /// Creates the log at `path` (its directory too). A per-run name must
    /// be new (`fresh`); `latest` is then pointed at it.
    pub fn create(path: &Path, fresh: bool, latest: Option<&Path>) -> Result<SerialLog, String> {
        let cannot = |e: io::Error| format!("cannot write the log {}: {e}", path.display());
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(cannot)?;
        }
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .create_new(fresh)
            .truncate(!fresh)
            .open(path)
            .map_err(cannot)?;
        if let Some(link) = latest {
            point_link(link, path).map_err(|e| format!("cannot point {} at the new log: {e}", link.display()))?;
        }
        Ok(SerialLog { path: path.to_path_buf(), file, lost: None })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one line; after a failed write, the rest are not tried.
    pub fn line(&mut self, text: &str) {
        if self.lost.is_some() {
            return;
        }
        let mut bytes = Vec::with_capacity(text.len() + 1);
        bytes.extend_from_slice(text.as_bytes());
        bytes.push(b'\n');
        if let Err(e) = self.file.write_all(&bytes) {
            self.lost = Some(e);
        }
    }

    /// The log is complete, or the one-line error saying it is not.
    pub fn finish(mut self) -> Result<(), String> {
        if self.lost.is_none() {
            if let Err(e) = self.file.flush() {
                self.lost = Some(e);
            }
        }
        match self.lost {
            None => Ok(()),
            Some(e) => Err(format!("the serial log {} is incomplete: {e}", self.path.display())),
        }
    }
}

/// Replaces `link` with a symlink to `target` in one rename, so a reader
/// never finds it missing; relative, so the directory can move.
fn point_link(link: &Path, target: &Path) -> io::Result<()> {
    let name = target.file_name().ok_or_else(|| io::Error::other("the log path has no file name"))?;
    let temporary = link.with_file_name(format!(".{}.{}.tmp", name.to_string_lossy(), std::process::id()));
    let _ = std::fs::remove_file(&temporary);
    std::os::unix::fs::symlink(name, &temporary)?;
    std::fs::rename(&temporary, link)
}

/// Before a run creates its log: removes all but the newest per-run logs
/// of `arch` in `dir`, leaving room for the new one, best effort (a log
/// another run still writes is among the newest).
pub fn prune(dir: &Path, arch: Arch) {
    let prefix = format!("{}-", arch.name());
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut logs: Vec<(SystemTime, PathBuf)> = entries
        .flatten()
        .filter(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            name.starts_with(&prefix) && name.ends_with(".log")
        })
        .filter_map(|entry| {
            let metadata = entry.metadata().ok().filter(|m| m.is_file())?;
            Some((metadata.modified().ok()?, entry.path()))
        })
        .collect();
    logs.sort_by_key(|(modified, _)| std::cmp::Reverse(*modified));
    for (_, old) in logs.into_iter().skip(KEEP_PER_ARCH - 1) {
        let _ = std::fs::remove_file(old);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_from_days() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_454), (2026, 1, 1));
    }

    #[test]
    fn names_carry_arch_boot_and_run() {
        let dir = Path::new("/t");
        assert_eq!(
            default_path(dir, Arch::Aarch64, Boot::Limine, "20260101-000000-7"),
            Path::new("/t/aarch64-limine-20260101-000000-7.log")
        );
        assert_eq!(latest_link(dir, Arch::X86_64), Path::new("/t/x86_64.log"));
        assert_eq!(for_repetition(Path::new("/t/a.log"), 2, 3), Path::new("/t/a.run2.log"));
        assert_eq!(for_repetition(Path::new("/t/serial"), 1, 3), Path::new("/t/serial.run1"));
        assert_eq!(for_repetition(Path::new("/t/a.log"), 1, 1), Path::new("/t/a.log"));
        let id = run_id();
        assert!(id.len() > 16 && id.ends_with(&format!("-{}", std::process::id())), "{id}");
    }

    #[test]
    fn a_lost_line_is_reported_with_the_path() {
        let mut log = SerialLog::create(Path::new("/dev/full"), false, None).expect("/dev/full opens");
        log.line("KTAP version 1");
        let error = log.finish().expect_err("nothing fits on /dev/full");
        assert_eq!(error, "the serial log /dev/full is incomplete: No space left on device (os error 28)");
    }

    #[test]
    fn only_the_newest_logs_of_an_arch_are_kept() {
        let dir = std::env::temp_dir().join(format!("lazymmu-serial-prune-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let epoch = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
        for age in 0..KEEP_PER_ARCH + 5 {
            let path = dir.join(format!("x86_64-direct-{age:03}.log"));
            let file = File::create(&path).expect("log");
            file.set_modified(epoch - std::time::Duration::from_secs(age as u64 * 60)).expect("mtime");
        }
        std::fs::write(dir.join("aarch64-direct-old.log"), "").expect("other arch");
        prune(&dir, Arch::X86_64);
        let mut left: Vec<String> = std::fs::read_dir(&dir)
            .expect("dir")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left.len(), KEEP_PER_ARCH, "room for the new log, and the other arch's: {left:?}");
        assert!(
            left.contains(&"aarch64-direct-old.log".to_string()) && left.contains(&"x86_64-direct-000.log".to_string())
        );
        assert!(!left.contains(&format!("x86_64-direct-{:03}.log", KEEP_PER_ARCH - 1)), "the oldest go");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_link_follows_the_latest_log() {
        let dir = std::env::temp_dir().join(format!("lazymmu-serial-log-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let link = latest_link(&dir, Arch::X86_64);
        for id in ["1", "2"] {
            let path = default_path(&dir, Arch::X86_64, Boot::Direct, id);
            let mut log = SerialLog::create(&path, true, Some(&link)).expect("log");
            log.line(id);
            log.finish().expect("written");
            assert_eq!(std::fs::read_to_string(&link).expect("link"), format!("{id}\n"));
        }
        let again = SerialLog::create(&default_path(&dir, Arch::X86_64, Boot::Direct, "2"), true, None);
        assert!(again.is_err(), "a per-run log is never reused");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
