//! One open test list: a subtest (or the top level) whose result line has
//! not come yet.

use std::collections::HashSet;
use std::time::Duration;

use super::Path;
use crate::ktap::TestNode;

/// A test list whose result line has not been seen yet.
pub(super) struct OpenGroup {
    pub(super) level: usize,
    pub(super) name: Option<String>,
    /// This group's dotted path (its parent's while it has no name).
    pub(super) path: Path,
    pub(super) saw_version: bool,
    pub(super) plan: Option<usize>,
    pub(super) children: Vec<TestNode>,
    /// The numbers of `children`, for the duplicate check.
    pub(super) numbers: HashSet<usize>,
    /// Diagnostics since the last result; they belong to the next result.
    pub(super) pending: Vec<String>,
    pub(super) last_number: usize,
    /// When the next child started: the group's first line, then each
    /// child's result line.
    pub(super) mark: Option<Duration>,
    /// Problems found while this was the innermost open group.
    pub(super) errors: usize,
}

impl OpenGroup {
    pub(super) fn new(
        level: usize,
        name: Option<String>,
        path: Path,
        saw_version: bool,
        now: Option<Duration>,
    ) -> OpenGroup {
        OpenGroup {
            level,
            name,
            path,
            saw_version,
            plan: None,
            children: Vec::new(),
            numbers: HashSet::new(),
            pending: Vec::new(),
            last_number: 0,
            mark: now,
            errors: 0,
        }
    }

    pub(super) fn label(&self) -> String {
        match (&self.name, self.level) {
            (Some(name), _) => format!("subtest `{name}`"),
            (None, 0) => "the top level".to_string(),
            (None, level) => format!("the unnamed subtest at level {level}"),
        }
    }
}
