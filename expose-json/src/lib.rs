//! prism-json: expvar-compatible JSON of a prism registry (`/debug/vars`).
//!
//! Empty until its issue lands (expose-json); the crate exists so that the facade's
//! `json` feature and the workspace layout of DESIGN.md are in place.

#![deny(missing_docs)]
#![forbid(unsafe_code)]
