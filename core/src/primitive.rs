//! The atomics every metric is built from, swapped for loom's under `cfg(loom)`.
//!
//! Every compare-and-swap loop in this crate goes through this module, so that
//! `RUSTFLAGS="--cfg loom" cargo test -p prism-core --test loom --release` explores
//! its interleavings with the same code that ships.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize};
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize};

pub(crate) use std::sync::atomic::Ordering;
