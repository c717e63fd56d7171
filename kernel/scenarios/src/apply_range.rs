//! Suite `apply_range` (scenarios.md).
