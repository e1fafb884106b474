//! The self-telemetry series reach every format: each format's own read of the rendered
//! bytes finds `prism_label_arity_errors` for the family given the wrong number of label
//! values, apart from `prism_refused_label_sets`, and `prism_updates` keeping what removed
//! series counted.

use prism_conformance::read::{Schema, Unknown};
use prism_conformance::{assert_conformant, Format, Kind, Labels, Number, Point};
use prism_core::{Counter, Family, Registry};

fn number(
    format: Format,
    samples: &prism_conformance::Samples,
    family: &str,
    labels: Labels,
) -> Number {
    let f = samples
        .family(family)
        .unwrap_or_else(|| panic!("{format}: no family {family}"));
    if let Some(kind) = f.kind {
        assert_eq!(kind, Kind::Counter, "{format}: {family}");
    }
    match &f
        .series
        .get(&labels)
        .unwrap_or_else(|| panic!("{format}: no {family} {labels:?}"))
        .point
    {
        Point::Number(n) => *n,
        other => panic!("{format}: {family} reads {other:?}"),
    }
}

#[test]
fn arity_errors_and_updates_reach_every_format() {
    let registry = Registry::new();
    let jobs = registry
        .register("jobs", "Jobs by queue.", Family::<Counter>::new(["queue"]))
        .unwrap();
    jobs.get(&["a"]).add(5);
    jobs.get(&["b"]).add(7);
    for _ in 0..3 {
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            jobs.with(&["a", "extra"], Counter::inc);
        }));
        assert_eq!(caught.is_err(), cfg!(debug_assertions));
    }
    assert!(jobs.remove(&["b"]));

    let schema = Schema::of_registry(&registry);
    let family = || Labels::new([("family", "jobs")]);
    for format in Format::ALL {
        let bytes = format.render(&registry);
        let samples = format
            .read(&bytes, &schema, Unknown::Error)
            .unwrap_or_else(|e| panic!("{format}: {e}"));
        assert_eq!(
            number(format, &samples, "prism_label_arity_errors", family()),
            Number::Int(3),
            "{format}"
        );
        assert_eq!(
            number(format, &samples, "prism_refused_label_sets", family()),
            Number::Int(0),
            "{format}"
        );
        assert_eq!(
            number(format, &samples, "prism_updates", Labels::default()),
            Number::Int(15),
            "{format}: 5 + 7 (removed) + 3 to the overflow series"
        );
    }
    assert_conformant(&registry);
}
