//! prism-prom: Prometheus 0.0.4 and OpenMetrics text of a prism registry (`/metrics`).
//!
//! Empty until its issue lands (expose-prom); the crate exists so that the facade's
//! `prom` feature and the workspace layout of DESIGN.md are in place.

#![deny(missing_docs)]
#![forbid(unsafe_code)]
