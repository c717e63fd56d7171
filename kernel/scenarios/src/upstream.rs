//! Suite `upstream`: one case per lazy-MMU bug that shipped in Linux (or
//! was proposed and withdrawn), named after it and citing its commit or
//! message id, plus the v7.0 KUnit test's own sequence and the v7.0 rules
//! it rests on. Each fixed form must pass; each shipped buggy form must be
//! caught (docs/lazy-mmu-v7.md has the story of each). Race windows are
//! forced through [`crate::sched`], so every run explores the same ones.
//! Scratch pages come from indices 40000..49999.

mod generic;
mod kasan;
mod kunit;
mod xen;

use mm::Flavour;

/// The Xen PV cases run under the flavour that models Xen's multicalls.
const XEN: &[Flavour] = &[Flavour::Queued];
/// The per-CPU batch cases run under the sparc / powerpc hash flavour.
const PERCPU_BATCH: &[Flavour] = &[Flavour::TlbBatch];
/// The generic cases run under every flavour.
const EVERY_FLAVOUR: &[Flavour] = &Flavour::ALL;
