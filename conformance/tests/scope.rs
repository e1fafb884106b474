//! Families registered through a [`Scope`](prism_core::Scope) reach every format under
//! their prefixed names with the scope's constant labels on every series (the overflow
//! series too, beside its marker), and the formats agree.

use prism_conformance::read::{Schema, Unknown};
use prism_conformance::{assert_conformant, Format, Labels, Number, Point};
use prism_core::{Counter, Family, Gauge, Histogram, Registry};

fn registry() -> Registry {
    let registry = Registry::new();
    let scope = registry
        .scoped()
        .prefix("mylib")
        .unwrap()
        .label("instance", "a")
        .unwrap();
    scope
        .register("restarts", "Restarts.", Counter::new())
        .unwrap()
        .add(2);
    let errors = scope
        .register(
            "errors",
            "Errors by kind.",
            Family::<Counter>::builder(["kind"])
                .cardinality_limit(2)
                .build()
                .unwrap(),
        )
        .unwrap();
    errors.get(&["timeout"]).add(3);
    errors.get(&["reset"]).inc();
    errors.get(&["refused"]).add(5); // past the limit: the overflow series
    let pool = scope.prefix("pool").unwrap().label("pool", "main").unwrap();
    pool.register("open", "Open connections.", Gauge::new())
        .unwrap()
        .set(4);
    pool.register("wait", "Waits.", Histogram::new())
        .unwrap()
        .record(200);
    registry
}

#[test]
fn every_format_agrees_on_scoped_families() {
    assert_conformant(&registry());
}

#[test]
fn every_format_prints_the_prefix_and_the_constant_labels() {
    let registry = registry();
    let schema = Schema::of_registry(&registry);
    for format in Format::ALL {
        let bytes = format.render(&registry);
        let samples = format
            .read(&bytes, &schema, Unknown::Error)
            .unwrap_or_else(|e| panic!("{format}: {e}"));
        let point = |family: &str, labels: Labels| {
            samples
                .family(family)
                .unwrap_or_else(|| panic!("{format}: no family {family}"))
                .series
                .get(&labels)
                .unwrap_or_else(|| panic!("{format}: no {family} {labels:?}"))
                .point
                .clone()
        };
        let int = |n: i128| Point::Number(Number::Int(n));
        assert_eq!(
            point("mylib_restarts", Labels::new([("instance", "a")])),
            int(2),
            "{format}"
        );
        assert_eq!(
            point(
                "mylib_errors",
                Labels::new([("instance", "a"), ("kind", "timeout")])
            ),
            int(3),
            "{format}"
        );
        assert_eq!(
            point(
                "mylib_errors",
                Labels::new([("instance", "a"), (prism_core::OVERFLOW_LABEL, "true")])
            ),
            int(5),
            "{format}"
        );
        assert_eq!(
            point(
                "mylib_pool_open",
                Labels::new([("instance", "a"), ("pool", "main")])
            ),
            int(4),
            "{format}"
        );
        assert!(
            matches!(
                point(
                    "mylib_pool_wait",
                    Labels::new([("instance", "a"), ("pool", "main")])
                ),
                Point::Histogram { count: 1, .. }
            ),
            "{format}"
        );
        // Self-telemetry names the family by its full name.
        assert_eq!(
            point("prism_series", Labels::new([("family", "mylib_errors")])),
            int(3),
            "{format}"
        );
    }
}

/// Two constant labels, label values shaped like the overflow marker at every level, and
/// a family whose overflow series is all that is left of it: every format keeps the
/// constant labels on the overflow series and reads the marker-shaped values back as values.
fn marker_shaped() -> Registry {
    let registry = Registry::new();
    let marker = prism_json::OVERFLOW_KEY;
    let scope = registry
        .scoped()
        .label("region", marker)
        .unwrap()
        .label("zone", "_otel_metric_overflow=true")
        .unwrap();
    let family = |limit| {
        Family::<Counter>::builder(["kind", "code"])
            .cardinality_limit(limit)
            .build()
            .unwrap()
    };
    let calls = scope.register("calls", "Calls.", family(3)).unwrap();
    calls.get(&[marker, marker]).add(1);
    calls.get(&["_otel_metric_overflow=true", "200"]).add(2);
    calls.get(&["__otel_metric_overflow=true", "500"]).add(3);
    calls.get(&["refused", "200"]).add(4); // past the limit
    let gone = scope.register("gone", "Gone.", family(1)).unwrap();
    gone.get(&["a", "1"]).add(1);
    gone.get(&["b", "2"]).add(6); // past the limit
    gone.remove(&["a", "1"]);
    registry
}

#[test]
fn the_overflow_series_keeps_the_constant_labels_in_every_format() {
    let registry = marker_shaped();
    assert_conformant(&registry);
    let schema = Schema::of_registry(&registry);
    let consts = [
        ("region", prism_json::OVERFLOW_KEY),
        ("zone", "_otel_metric_overflow=true"),
    ];
    let overflow = Labels::new(
        consts
            .into_iter()
            .chain([(prism_core::OVERFLOW_LABEL, "true")]),
    );
    for format in Format::ALL {
        let bytes = format.render(&registry);
        let samples = format
            .read(&bytes, &schema, Unknown::Error)
            .unwrap_or_else(|e| panic!("{format}: {e}"));
        let series = |family: &str| &samples.family(family).unwrap().series;
        let int = |n: i128| Point::Number(Number::Int(n));
        assert_eq!(series("calls")[&overflow].point, int(4), "{format}");
        assert_eq!(
            series("calls")[&Labels::new(
                consts
                    .into_iter()
                    .chain([("kind", "_otel_metric_overflow=true"), ("code", "200")])
            )]
                .point,
            int(2),
            "{format}"
        );
        assert_eq!(series("calls").len(), 4, "{format}");
        assert_eq!(series("gone")[&overflow].point, int(6), "{format}");
        assert_eq!(series("gone").len(), 1, "{format}");
    }
    // In JSON the overflow key sits beside the first own label, inside the constant maps.
    let json = String::from_utf8(Format::Json.render(&registry)).unwrap();
    assert!(
        json.contains(
            r#""gone": {"otel_metric_overflow=true": {"_otel_metric_overflow=true": {"otel_metric_overflow=true": 6}}}"#
        ),
        "{json}"
    );
}
