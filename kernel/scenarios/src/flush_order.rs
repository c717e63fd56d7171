//! Suite `flush_order` (scenarios.md).
