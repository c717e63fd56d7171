//! Leaf result counts and the counts a suite line printed.

use super::Status;

/// Leaf result counts. `fail` includes `timeout`, as the kernel's
/// `# name: pass:.. fail:..` lines count a TIMEOUT as a `not ok`.
/// `crashed` and `errors` are kunit.py's: the test the log stopped in, and
/// the KTAP problems found while this test's lines were read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub pass: usize,
    pub fail: usize,
    pub skip: usize,
    pub timeout: usize,
    pub crashed: usize,
    pub errors: usize,
}

impl Counts {
    pub fn of(status: Status) -> Counts {
        let mut counts = Counts::default();
        match status {
            Status::Pass => counts.pass = 1,
            Status::Fail => counts.fail = 1,
            Status::Skip => counts.skip = 1,
            Status::Timeout => {
                counts.fail = 1;
                counts.timeout = 1;
            }
            Status::Crashed => counts.crashed = 1,
        }
        counts
    }

    /// Tests counted (kunit.py's `tests`); `errors` are not tests.
    pub fn total(&self) -> usize {
        self.pass + self.fail + self.skip + self.crashed
    }
}

impl std::ops::Add for Counts {
    type Output = Counts;
    fn add(self, other: Counts) -> Counts {
        Counts {
            pass: self.pass + other.pass,
            fail: self.fail + other.fail,
            skip: self.skip + other.skip,
            timeout: self.timeout + other.timeout,
            crashed: self.crashed + other.crashed,
            errors: self.errors + other.errors,
        }
    }
}

impl std::iter::Sum for Counts {
    fn sum<I: Iterator<Item = Counts>>(iter: I) -> Counts {
        iter.fold(Counts::default(), |a, b| a + b)
    }
}

/// The counts a `# <name>: pass:P fail:F skip:S total:T` line printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrintedCounts {
    pub pass: usize,
    pub fail: usize,
    pub skip: usize,
    pub total: usize,
}

impl PrintedCounts {
    pub(crate) fn matches(&self, counts: &Counts) -> bool {
        self.pass == counts.pass && self.fail == counts.fail && self.skip == counts.skip && self.total == counts.total()
    }
}
