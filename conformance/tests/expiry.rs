//! A family with expiry, under a `ManualClock`: an idle series leaves every format after
//! the timeout while an active one stays, `prism_updates` keeps what the expired series
//! counted, and a label set seen again is a new series from zero in every format.

use std::time::Duration;

use prism_conformance::read::{Schema, Unknown};
use prism_conformance::{assert_conformant, Format, Labels, Number, Point, Samples};
use prism_core::{Counter, Family, ManualClock, Registry};

fn read(format: Format, registry: &Registry) -> Samples {
    let schema = Schema::of_registry(registry);
    format
        .read(&format.render(registry), &schema, Unknown::Error)
        .unwrap_or_else(|e| panic!("{format}: {e}"))
}

fn value(samples: &Samples, family: &str, labels: Labels) -> Option<Point> {
    let series = samples.family(family)?.series.get(&labels)?;
    Some(series.point.clone())
}

fn int(n: i128) -> Option<Point> {
    Some(Point::Number(Number::Int(n)))
}

#[test]
fn idle_series_leave_every_format_and_come_back_from_zero() {
    let clock = ManualClock::new();
    let registry = Registry::new();
    let scope = registry.scoped().label("instance", "a").unwrap();
    let peers = scope
        .register(
            "peer_requests",
            "Requests by peer.",
            Family::<Counter>::builder(["peer"])
                .expire_after(Duration::from_secs(60))
                .clock(clock.clone())
                .build()
                .unwrap(),
        )
        .unwrap();
    let labels = |peer: &str| Labels::new([("instance", "a"), ("peer", peer)]);
    peers.with(&["idle"], |c| c.add(5));
    peers.with(&["busy"], Counter::inc);
    let mut created = None;
    // Reads at 0 s and 30 s see `idle` at 5; `busy` moves between reads.
    for _ in 0..2 {
        for format in Format::ALL {
            let samples = read(format, &registry);
            assert_eq!(
                value(&samples, "peer_requests", labels("idle")),
                int(5),
                "{format}"
            );
            if format.carries().created {
                created = samples.family("peer_requests").unwrap().series[&labels("idle")]
                    .created_unix_nanos;
            }
        }
        assert_conformant(&registry);
        clock.advance(Duration::from_secs(30));
        peers.with(&["busy"], Counter::inc);
    }
    // At 60 s, `idle` has been unchanged for 60 s: gone from the first format's read on.
    for format in Format::ALL {
        let samples = read(format, &registry);
        assert_eq!(
            value(&samples, "peer_requests", labels("idle")),
            None,
            "{format}"
        );
        assert_eq!(
            value(&samples, "peer_requests", labels("busy")),
            int(3),
            "{format}"
        );
        assert_eq!(
            value(&samples, "prism_updates", Labels::new::<&str, &str>([])),
            int(8),
            "{format}: the expired series' 5 is kept"
        );
    }
    assert_conformant(&registry);

    peers.with(&["idle"], Counter::inc);
    for format in Format::ALL {
        let samples = read(format, &registry);
        assert_eq!(
            value(&samples, "peer_requests", labels("idle")),
            int(1),
            "{format}"
        );
        if format.carries().created {
            let again =
                samples.family("peer_requests").unwrap().series[&labels("idle")].created_unix_nanos;
            assert!(again >= created, "{format}: {again:?} < {created:?}");
        }
        assert_eq!(
            value(&samples, "prism_updates", Labels::new::<&str, &str>([])),
            int(9),
            "{format}"
        );
    }
    assert_conformant(&registry);
}
