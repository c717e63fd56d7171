//! ktest: the lazymmu test harness (registry, KTAP writer, command line).
#![cfg_attr(not(test), no_std)]
