//! OTLP's names back to the core names the other formats print: [`OtelNames`].
//!
//! OTLP carries each family's OpenTelemetry name, UCUM unit and attribute names
//! (`http.server.request.duration`, `s`, `http.request.method`); Prometheus text and JSON
//! carry its Prometheus names (`http_server_request_duration_seconds`, `seconds`,
//! `http_request_method`). The OTLP read is renamed through this mapping before it is
//! compared, so a difference in a name shows as a missing family or series, and one in a
//! unit as a unit mismatch.
//!
//! | OTLP | samples |
//! |---|---|
//! | a metric named as a family's OpenTelemetry name | that family's core name |
//! | its `unit`, when it is the family's OpenTelemetry unit | the family's Prometheus unit (`""` for none) |
//! | an attribute named as one of the family's attribute names | that label's name |
//! | any other name, unit or attribute name | itself, followed by what it is not (`url_scheme (not an attribute name of the family)`), so that it differs even where it is spelled as the Prometheus name |
//!
//! Built from a registry's read ([`of_snapshot`](OtelNames::of_snapshot)) the mapping is
//! the registry's own. Without one ([`translation`](OtelNames::translation), what a live
//! check of a service has) names are mapped by the OpenTelemetry-to-Prometheus
//! translation (`prism_core::otel`): a metric whose name is already a family's core name in
//! the form the translation gives back maps to itself, so the default names of families
//! registered by their Prometheus names compare as they are; names with runs of `_` or a
//! `:` would not, and an up-down counter with unit `1` would be read as a gauge ratio.

use std::collections::BTreeMap;

use prism_core::Snapshot;

use crate::model::{Family, Kind, Labels, Samples};

/// The OpenTelemetry names of a registry's families and their core names.
///
/// ```
/// use prism_conformance::read::OtelNames;
/// use prism_core::{Family, Histogram, Metadata, Registry};
///
/// let registry = Registry::builder().self_telemetry(false).build();
/// registry.register_with(
///     Metadata::otel("http.server.request.duration", "s", "Duration."),
///     Family::<Histogram>::new(["http.route"]),
/// )?;
/// let names = OtelNames::of_snapshot(&registry.snapshot());
/// assert_eq!(names.core_name("http.server.request.duration"),
///            Some("http_server_request_duration_seconds"));
/// # Ok::<(), prism_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtelNames {
    families: BTreeMap<String, Names>,
    /// Whether names the mapping lacks are translated (no registry at hand) rather than
    /// marked as unknown.
    translate: bool,
}

impl Default for OtelNames {
    /// [`OtelNames::translation`].
    fn default() -> Self {
        Self::translation()
    }
}

/// One family's names.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Names {
    core: String,
    otel_unit: String,
    unit: String,
    /// Attribute name to label name.
    attributes: BTreeMap<String, String>,
}

impl OtelNames {
    /// The mapping of one read of a registry: each family's OpenTelemetry name, unit and
    /// attribute names to its core name, Prometheus unit and label names.
    pub fn of_snapshot(snapshot: &Snapshot) -> Self {
        let families = snapshot
            .families
            .iter()
            .map(|f| {
                let d = &f.descriptor;
                let names = Names {
                    core: d.name().to_owned(),
                    otel_unit: d.otel_unit().to_owned(),
                    unit: d.unit().unwrap_or("").to_owned(),
                    attributes: d
                        .attribute_names()
                        .iter()
                        .cloned()
                        .zip(d.label_names().iter().cloned())
                        .collect(),
                };
                (d.otel_name().to_owned(), names)
            })
            .collect();
        Self {
            families,
            translate: false,
        }
    }

    /// No registry's names: every metric is mapped by the OpenTelemetry-to-Prometheus
    /// translation (see the module docs).
    pub fn translation() -> Self {
        Self {
            families: BTreeMap::new(),
            translate: true,
        }
    }

    /// The core name of the family with this OpenTelemetry name, where the mapping has it.
    pub fn core_name(&self, otel_name: &str) -> Option<&str> {
        self.families.get(otel_name).map(|n| n.core.as_str())
    }

    /// Renames an OTLP read to core names (see the module docs).
    pub fn to_core(&self, samples: Samples) -> Samples {
        let mut out = Samples::default();
        for (otel_name, family) in samples.families {
            let family = match self.families.get(&otel_name) {
                Some(names) => rename(family, names),
                None if self.translate => translate(family),
                None => Family {
                    name: format!("{otel_name} (not an OpenTelemetry name of the registry)"),
                    ..family
                },
            };
            out.families.insert(family.name.clone(), family);
        }
        out
    }
}

fn rename(family: Family, names: &Names) -> Family {
    let unit = family.unit.map(|u| {
        if u == names.otel_unit {
            names.unit.clone()
        } else {
            format!("{u} (not the OpenTelemetry unit {:?})", names.otel_unit)
        }
    });
    relabel(
        Family {
            name: names.core.clone(),
            unit,
            ..family
        },
        |attribute| {
            Some(
                names.attributes.get(attribute).cloned().unwrap_or_else(|| {
                    format!("{attribute} (not an attribute name of the family)")
                }),
            )
        },
    )
}

fn translate(family: Family) -> Family {
    let kind = match family.kind {
        Some(Kind::Counter) => prism_core::Kind::Counter,
        Some(Kind::Histogram) => prism_core::Kind::Histogram,
        Some(Kind::Summary) => prism_core::Kind::Summary,
        _ => prism_core::Kind::Gauge,
    };
    let otel_unit = family.unit.clone().unwrap_or_default();
    let Ok((name, unit)) = prism_core::otel::prometheus_name(&family.name, &otel_unit, kind) else {
        // Not an OpenTelemetry name (a `:`, a leading `_`): a Prometheus name as is.
        return family;
    };
    relabel(
        Family {
            name,
            unit: family.unit.as_ref().map(|_| unit.unwrap_or_default()),
            ..family
        },
        |attribute| Some(prism_core::otel::prometheus_label_name(attribute)),
    )
}

/// The family with each label name but the overflow marker passed through `map` (kept as
/// is where it gives `None`).
fn relabel(mut family: Family, map: impl Fn(&str) -> Option<String>) -> Family {
    family.series = std::mem::take(&mut family.series)
        .into_iter()
        .map(|(labels, series)| {
            // The overflow marker is no attribute of the family: kept as is, beside the
            // constant labels of a scoped family's overflow series.
            let pairs = labels.pairs().iter().map(|(k, v)| {
                let k = if k == prism_core::OVERFLOW_LABEL {
                    k.clone()
                } else {
                    map(k).unwrap_or_else(|| k.clone())
                };
                (k, v.clone())
            });
            (Labels::new(pairs), series)
        })
        .collect();
    family
}
