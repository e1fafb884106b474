//! prism-otel: OTLP encoding and push of a prism registry.
//!
//! Empty until its issue lands (expose-otel); the crate exists so that the facade's
//! `otel` feature and the workspace layout of DESIGN.md are in place.

#![deny(missing_docs)]
#![forbid(unsafe_code)]
