//! Self-telemetry: the registry reporting on itself, as ordinary families.
//!
//! All of it is computed when the registry is read, from state each family keeps anyway
//! (its live count, its refused count): the hot path pays nothing for it. A registry built
//! with `self_telemetry(false)` leaves it out.
//!
//! | name (as registered) | kind | labels | what it counts |
//! |---|---|---|---|
//! | `prism_families` | gauge | | families registered, self-telemetry excluded |
//! | `prism_series` | gauge | `family` | series each family exposes: live series plus the overflow series once it exists; 1 for a metric registered on its own |
//! | `prism_cardinality_limit` | gauge | `family` | the cardinality limit of each labelled family |
//! | `prism_refused_label_sets` | counter | `family` | label sets each labelled family refused: new label sets past its limit (routed to the overflow series or dropped) and lookups with the wrong number of values |
//! | `prism_updates` | counter | | the sum of every integer counter in the registry (family series and overflow series included): each `inc` is one, each `add(n)` is `n`. Gauges, float counters and histogram records are not in it, because counting them would add a write to their hot path. The sum wraps at 2^64, as each counter does: only counters that add up past 2^64 between them (one `add(u64::MAX)` is enough) make it go back, which a scraper reads as a reset |
//!
//! Counters get `_total` in the text formats like any other counter:
//! `prism_refused_label_sets_total{family="http_requests"}`.

use crate::metric::{Kind, Value};
use crate::read::{Descriptor, Sample, SampleLabels, Visitor};
use crate::registry::FamilyStats;

/// Names of the self-telemetry families, in name order.
pub(crate) const NAMES: [&str; 5] = [
    "prism_cardinality_limit",
    "prism_families",
    "prism_refused_label_sets",
    "prism_series",
    "prism_updates",
];

pub(crate) fn descriptors() -> Vec<Descriptor> {
    let d = |name: &str, help: &str, kind, labelled: bool| Descriptor {
        name: name.to_owned(),
        help: help.to_owned(),
        unit: None,
        kind,
        label_names: if labelled {
            vec!["family".to_owned()].into()
        } else {
            Box::new([])
        },
        up_down: false,
    };
    vec![
        d(
            "prism_cardinality_limit",
            "Cardinality limit of each labelled family.",
            Kind::Gauge,
            true,
        ),
        d(
            "prism_families",
            "Families registered, self-telemetry excluded.",
            Kind::Gauge,
            false,
        ),
        d(
            "prism_refused_label_sets",
            "Label sets refused by each family's cardinality limit (routed to the overflow \
             series or dropped).",
            Kind::Counter,
            true,
        ),
        d(
            "prism_series",
            "Series each family exposes, the overflow series included.",
            Kind::Gauge,
            true,
        ),
        d(
            "prism_updates",
            "Sum of every integer counter in the registry: increments recorded.",
            Kind::Counter,
            false,
        ),
    ]
}

/// Emits one self-telemetry family from the stats of the registered families.
pub(crate) fn visit_family(
    desc: &Descriptor,
    stats: &[(&str, FamilyStats)],
    created: u64,
    visitor: &mut dyn Visitor,
) {
    let mut emit = |labels: SampleLabels<'_>, value: Value| {
        visitor.sample(
            desc,
            &Sample {
                labels,
                value,
                created_unix_nanos: created,
            },
        );
    };
    match desc.name.as_str() {
        "prism_families" => emit(SampleLabels::None, Value::Gauge(stats.len() as i64)),
        "prism_updates" => emit(
            SampleLabels::None,
            Value::Counter(
                stats
                    .iter()
                    .fold(0u64, |sum, (_, s)| sum.wrapping_add(s.counter_sum)),
            ),
        ),
        "prism_series" => {
            for (name, s) in stats {
                emit(
                    SampleLabels::One(name),
                    Value::Gauge(s.exposed_series as i64),
                );
            }
        }
        "prism_cardinality_limit" => {
            for (name, s) in stats {
                if let Some((limit, _)) = s.cardinality {
                    emit(SampleLabels::One(name), Value::Gauge(limit as i64));
                }
            }
        }
        "prism_refused_label_sets" => {
            for (name, s) in stats {
                if let Some((_, refused)) = s.cardinality {
                    emit(SampleLabels::One(name), Value::Counter(refused));
                }
            }
        }
        _ => {}
    }
}
