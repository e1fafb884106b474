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
//! | `prism_refused_label_sets` | counter | `family` | label sets each labelled family refused ([`Family::refused`]): new label sets past its cardinality limit, and label values it cannot store (over [`MAX_LABEL_VALUE_BYTES`], or holding NUL); their updates went to the overflow series or were dropped |
//! | `prism_label_arity_errors` | counter | `family` | calls of [`Family::get`] or [`Family::with`] on each labelled family given the wrong number of label values ([`Family::arity_errors`]): bugs in the calling code, which a debug build panics on; their updates went where refused label sets' go |
//! | `prism_updates` | counter | | increments recorded by prism's own integer counters ([`Counter`], [`Capped`] and the scalable counters), on their own and in families, overflow series included: each `inc` is one, each `add(n)` is `n`. Series removed by [`Family::remove`] or [`Family::clear`], and metrics removed by [`Registry::unregister`], keep what they had counted when removed in it. Gauges, float counters and histograms are not in it (counting them would add a write to their hot path), nor is any metric whose value user code computes ([`CounterFn`], a [`Metric`] of your own), which may go down |
//!
//! Counters get `_total` in the text formats like any other counter:
//! `prism_refused_label_sets_total{family="http_requests"}`.
//!
//! # `prism_updates` never goes down
//!
//! Each read sums the counters it reads, each series read once, plus what removed series had
//! counted. A read that races a removal can find the removed series in neither place and
//! come out lower than the read before; the registry keeps the last total it reported and
//! reports that instead, so a scraper never sees a false reset. The total is kept modulo
//! 2^64, as each counter is: a total that moved forward by less than 2^63 since the last
//! report (wrapping past 2^64 included) is reported; one that moved less than 0 is a race
//! and is not. So counters that add up past 2^64 between them make `prism_updates` go back to
//! a small number, which a scraper reads as a reset, and a jump of 2^63 or more between two
//! reads (one `add(u64::MAX)` is one) cannot be told from a step back: the last total stays
//! reported until the sum is within 2^63 ahead of it again. Updates through a handle kept
//! after its series was removed reach no series and are not counted; a metric unregistered
//! and registered again counts what it had before twice.
//!
//! [`Family::refused`]: crate::Family::refused
//! [`Family::arity_errors`]: crate::Family::arity_errors
//! [`Family::get`]: crate::Family::get
//! [`Family::with`]: crate::Family::with
//! [`Family::remove`]: crate::Family::remove
//! [`Family::clear`]: crate::Family::clear
//! [`Registry::unregister`]: crate::Registry::unregister
//! [`MAX_LABEL_VALUE_BYTES`]: crate::MAX_LABEL_VALUE_BYTES
//! [`Counter`]: crate::Counter
//! [`Capped`]: crate::Capped
//! [`CounterFn`]: crate::CounterFn
//! [`Metric`]: crate::Metric

use std::any::TypeId;

use crate::metric::{Kind, Value};
use crate::read::{Descriptor, Sample, SampleLabels, Visitor};
use crate::registry::FamilyStats;

/// Names of the self-telemetry families, in name order.
pub(crate) const NAMES: [&str; 6] = [
    "prism_cardinality_limit",
    "prism_families",
    "prism_label_arity_errors",
    "prism_refused_label_sets",
    "prism_series",
    UPDATES,
];

/// The one self-telemetry family that needs the series' values.
pub(crate) const UPDATES: &str = "prism_updates";

/// Whether the values of a metric of type `M` count towards `prism_updates`: prism's own
/// integer counters, whose value only grows by the increments recorded. A closure's value
/// or a user type's is whatever user code says, and may go down.
pub(crate) fn counts_updates<M: 'static>() -> bool {
    let t = TypeId::of::<M>();
    [
        TypeId::of::<crate::Counter>(),
        TypeId::of::<crate::Capped>(),
        TypeId::of::<crate::ShardedCounter>(),
        TypeId::of::<crate::PerCpuCounter>(),
        TypeId::of::<crate::SloppyCounter>(),
        TypeId::of::<crate::StripedCounter>(),
        TypeId::of::<crate::NumaCounter>(),
        TypeId::of::<crate::PerThreadCounter>(),
    ]
    .contains(&t)
}

pub(crate) fn descriptors() -> Vec<Descriptor> {
    let labels = |labelled: bool| -> Box<[String]> {
        if labelled {
            vec!["family".to_owned()].into()
        } else {
            Box::new([])
        }
    };
    let d = |name: &str, help: &str, kind, labelled: bool| Descriptor {
        name: name.to_owned(),
        help: help.to_owned(),
        unit: None,
        otel_name: name.to_owned(),
        otel_unit: String::new(),
        attribute_names: labels(labelled),
        kind,
        label_names: labels(labelled),
        const_values: Box::new([]),
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
            "prism_label_arity_errors",
            "Lookups given the wrong number of label values, by family (a bug in the calling \
             code; the update went where refused label sets' go).",
            Kind::Counter,
            true,
        ),
        d(
            "prism_refused_label_sets",
            "Label sets refused by each family: past its cardinality limit, or with a label \
             value it cannot store (too long, or holding NUL); routed to the overflow series \
             or dropped.",
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
            UPDATES,
            "Increments recorded by prism's integer counters, removed series included, \
             function-backed counters excluded; goes down only by wrapping at 2^64.",
            Kind::Counter,
            false,
        ),
    ]
}

/// Emits one self-telemetry family from the stats of the registered families; `updates`
/// is the value `prism_updates` reports.
pub(crate) fn visit_family(
    desc: &Descriptor,
    stats: &[(&str, FamilyStats)],
    updates: u64,
    created: u64,
    visitor: &mut dyn Visitor,
) {
    let mut emit = |labels: SampleLabels<'_>, value: Value| {
        visitor.sample(
            desc,
            &Sample {
                consts: &[],
                labels,
                value,
                created_unix_nanos: created,
            },
        );
    };
    let labelled = stats
        .iter()
        .filter_map(|(name, s)| s.labelled.as_ref().map(|l| (*name, l)));
    match desc.name.as_str() {
        "prism_families" => emit(SampleLabels::None, Value::Gauge(stats.len() as i64)),
        UPDATES => emit(SampleLabels::None, Value::Counter(updates)),
        "prism_series" => {
            for (name, s) in stats {
                emit(
                    SampleLabels::One(name),
                    Value::Gauge(s.exposed_series as i64),
                );
            }
        }
        "prism_cardinality_limit" => {
            for (name, l) in labelled {
                emit(SampleLabels::One(name), Value::Gauge(l.limit as i64));
            }
        }
        "prism_refused_label_sets" => {
            for (name, l) in labelled {
                emit(SampleLabels::One(name), Value::Counter(l.refused));
            }
        }
        "prism_label_arity_errors" => {
            for (name, l) in labelled {
                emit(SampleLabels::One(name), Value::Counter(l.arity_errors));
            }
        }
        _ => {}
    }
}
