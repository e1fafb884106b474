//! The scenario corpus shipped with the crate (`conformance/scenarios/*.json`), and the
//! known failures: adapter bugs this suite found and reported, listed so that the report
//! stays honest while they are open.

use crate::format::Format;
use crate::scenario::{Scenario, ScenarioError};

/// Every scenario file of the corpus: `(file name, JSON text)`.
pub const FILES: &[(&str, &str)] = &[
    ("counters.json", include_str!("../scenarios/counters.json")),
    ("gauges.json", include_str!("../scenarios/gauges.json")),
    (
        "other_kinds.json",
        include_str!("../scenarios/other_kinds.json"),
    ),
    (
        "empty_registry.json",
        include_str!("../scenarios/empty_registry.json"),
    ),
    (
        "empty_families.json",
        include_str!("../scenarios/empty_families.json"),
    ),
    ("escaping.json", include_str!("../scenarios/escaping.json")),
    ("unicode.json", include_str!("../scenarios/unicode.json")),
    (
        "non_finite.json",
        include_str!("../scenarios/non_finite.json"),
    ),
    (
        "big_integers.json",
        include_str!("../scenarios/big_integers.json"),
    ),
    (
        "empty_label_values.json",
        include_str!("../scenarios/empty_label_values.json"),
    ),
    (
        "cardinality_bomb.json",
        include_str!("../scenarios/cardinality_bomb.json"),
    ),
    (
        "cardinality_drop.json",
        include_str!("../scenarios/cardinality_drop.json"),
    ),
    (
        "removed_series.json",
        include_str!("../scenarios/removed_series.json"),
    ),
    (
        "self_telemetry.json",
        include_str!("../scenarios/self_telemetry.json"),
    ),
    ("units.json", include_str!("../scenarios/units.json")),
    (
        "otel_names.json",
        include_str!("../scenarios/otel_names.json"),
    ),
    (
        "overflow_key_collision.json",
        include_str!("../scenarios/overflow_key_collision.json"),
    ),
    (
        "histograms.json",
        include_str!("../scenarios/histograms.json"),
    ),
    (
        "overflow_key_as_label_value.json",
        include_str!("../scenarios/overflow_key_as_label_value.json"),
    ),
    (
        "scalable_and_windowed.json",
        include_str!("../scenarios/scalable_and_windowed.json"),
    ),
];

/// An adapter bug found by this suite and reported, with the scenario and format that show
/// it. A known failure still runs and still prints its mismatches; it only does not fail
/// the corpus test while it is listed here. Remove the entry when the adapter is fixed (the
/// corpus test fails on an entry whose scenario passes, so a fix cannot go unnoticed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownFailure {
    /// The scenario's name.
    pub scenario: &'static str,
    /// The format that disagrees.
    pub format: Format,
    /// What is wrong and where it was reported.
    pub reason: &'static str,
}

/// The open known failures.
pub const KNOWN_FAILURES: &[KnownFailure] = &[];

/// Whether a scenario's failure in a format is a listed known failure.
pub fn known_failure(scenario: &str, format: Format) -> Option<&'static KnownFailure> {
    KNOWN_FAILURES
        .iter()
        .find(|k| k.scenario == scenario && k.format == format)
}

/// Every scenario of the corpus, parsed.
///
/// ```
/// let scenarios = prism_conformance::corpus::scenarios()?;
/// assert!(scenarios.iter().any(|s| s.name == "cardinality_bomb"));
/// # Ok::<(), prism_conformance::ScenarioError>(())
/// ```
pub fn scenarios() -> Result<Vec<Scenario>, ScenarioError> {
    FILES
        .iter()
        .map(|(file, text)| {
            Scenario::from_json(text).map_err(|e| ScenarioError {
                scenario: (*file).to_owned(),
                message: e.message,
            })
        })
        .collect()
}
