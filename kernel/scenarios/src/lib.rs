//! The lazy-MMU scenarios (scenarios.md), written once as `fn(order)` and run
//! on the real MMU (QEMU) and on the host model.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
