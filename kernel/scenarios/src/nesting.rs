//! Suite `nesting` (scenarios.md).
