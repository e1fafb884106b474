//! prism-conformance: proof that the formats of a prism registry say the same thing.
//!
//! Empty until its issue lands (conformance); the crate exists so that the workspace
//! layout of DESIGN.md is in place.

#![deny(missing_docs)]
#![forbid(unsafe_code)]
