//! The files a run writes (`--junit`, `--json`, the serial log), checked
//! before anything is built or booted: each must be a file that can be
//! created, and no two may be one file (nor the kernel being booted), so a
//! report can never replace the log or another report after the run.
//! Relative paths are the caller's: scripts/run passes the directory it was
//! started in as `LAZYMMU_CALLER_DIR` before it changes to the repository.

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Component, Path, PathBuf};

/// Set by scripts/run to the directory the person ran it from.
pub const CALLER_DIR_VARIABLE: &str = "LAZYMMU_CALLER_DIR";

/// The directory relative paths on the command line are taken from.
pub fn caller_dir() -> PathBuf {
    match std::env::var_os(CALLER_DIR_VARIABLE).map(PathBuf::from) {
        Some(dir) if dir.is_absolute() => dir,
        _ => std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/")),
    }
}

/// One path the run will write or read, with the option that named it.
#[derive(Clone, Debug)]
pub struct Named<'a> {
    pub what: &'a str,
    pub path: &'a Path,
}

/// Checks each output: not empty, not a directory, its directory writable;
/// and no output the same file as another output or an input.
pub fn check_outputs(outputs: &[Named], inputs: &[Named]) -> Result<(), String> {
    for output in outputs {
        check_output(output)?;
    }
    for (index, output) in outputs.iter().enumerate() {
        let earlier = outputs[..index].iter().chain(inputs);
        if let Some(other) = earlier.into_iter().find(|other| same_file(output.path, other.path)) {
            return Err(format!(
                "{} {} is the same file as {} {}: give each its own file",
                output.what,
                output.path.display(),
                other.what,
                other.path.display()
            ));
        }
    }
    Ok(())
}

fn check_output(output: &Named) -> Result<(), String> {
    let Named { what, path } = output;
    if path.as_os_str().is_empty() {
        return Err(format!("{what}: the path is empty"));
    }
    if path.is_dir() {
        return Err(format!("{what} {}: is a directory, not a file", path.display()));
    }
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(format!("{what} {}: no directory {}", path.display(), dir.display()));
    }
    let probe = dir.join(format!(".lazymmu-run-probe-{}", std::process::id()));
    match std::fs::File::create(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) => Err(format!("{what} {}: cannot write in {}: {e}", path.display(), dir.display())),
    }
}

/// Whether two paths name one file: the same path once `.`, `..` and
/// symlinked directories are resolved, or (when both exist) the same inode
/// through any link. Devices such as /dev/null may be named twice.
pub fn same_file(a: &Path, b: &Path) -> bool {
    if let (Ok(first), Ok(second)) = (std::fs::metadata(a), std::fs::metadata(b)) {
        if first.file_type().is_char_device() || second.file_type().is_char_device() {
            return false;
        }
        if (first.dev(), first.ino()) == (second.dev(), second.ino()) {
            return true;
        }
    }
    normalise(a) == normalise(b)
}

/// The path with its directory canonicalised when it exists (the last
/// component is kept as written: it may be a link to be replaced, or not
/// exist yet), else lexically cleaned.
fn normalise(path: &Path) -> PathBuf {
    let absolute =
        if path.is_absolute() { path.to_path_buf() } else { std::env::current_dir().unwrap_or_default().join(path) };
    let mut clean = PathBuf::new();
    for component in absolute.components() {
        match component {
            Component::ParentDir => {
                clean.pop();
            }
            Component::CurDir => {}
            other => clean.push(other),
        }
    }
    match (clean.parent().and_then(|dir| dir.canonicalize().ok()), clean.file_name()) {
        (Some(dir), Some(name)) => dir.join(name),
        _ => clean,
    }
}

#[cfg(test)]
mod tests;
