//! The facade: one error type that every configuration error converts into, and typed label
//! sets rendering exactly as the slice path does in every text format.

use prism::histogram::{HdrLayout, Histogram, HistogramError, LayoutError};
use prism::{Counter, Error, Registry};

/// `?` from a histogram configuration error.
fn histogram_with_bounds(bounds: &[f64]) -> Result<Histogram, Error> {
    Ok(Histogram::builder()
        .buckets(bounds.iter().copied())
        .build()?)
}

/// `?` from a layout error.
fn layout(low: u64, high: u64, sigfig: u8) -> Result<HdrLayout, Error> {
    Ok(HdrLayout::new(low, high, sigfig)?)
}

/// `?` from a registration error.
fn register_twice() -> Result<(), Error> {
    let registry = Registry::new();
    registry.register("jobs", "Jobs.", Counter::new())?;
    registry.register("jobs", "Jobs.", Counter::new())?;
    Ok(())
}

#[test]
fn every_error_converts_with_the_question_mark() {
    let err = histogram_with_bounds(&[1.0, 0.5]).unwrap_err();
    assert_eq!(
        err,
        Error::Histogram(HistogramError::Bounds { bound: 0.5 }),
        "{err}"
    );
    assert!(err.to_string().contains("strictly increasing"), "{err}");
    assert!(std::error::Error::source(&err).is_some());

    let err = layout(0, 100, 2).unwrap_err();
    assert_eq!(
        err,
        Error::Histogram(HistogramError::Layout(LayoutError::LowIsZero))
    );
    assert!(err.to_string().contains("at least 1"), "{err}");

    assert!(matches!(
        register_twice(),
        Err(Error::AlreadyRegistered { .. })
    ));
    assert!(histogram_with_bounds(&[0.5, 1.0]).is_ok());
}

/// Typed label sets through the facade's derives, rendered by its formats.
#[cfg(all(feature = "derive", feature = "json", feature = "prom"))]
mod typed {
    use prism::{Counter, Error, Family, LabelSet, LabelValue, Registry, TypedFamily};

    #[derive(LabelValue, Clone, Copy)]
    #[prism(rename_all = "lowercase")]
    enum Outcome {
        Hit,
        Miss,
        #[prism(rename = "stale-hit")]
        Stale,
    }

    #[derive(LabelSet)]
    struct CacheLabels<'a> {
        cache: &'a str,
        outcome: Outcome,
        shard: u8,
    }

    /// The same updates through a typed family in one registry and a slice family in another
    /// render the same bytes in Prometheus text and in JSON (neither prints start times).
    #[test]
    fn typed_and_slice_families_render_identically() -> Result<(), Error> {
        let (typed_registry, slice_registry) = (Registry::new(), Registry::new());
        let typed = typed_registry.register(
            "cache_lookups",
            "Cache lookups.",
            TypedFamily::<CacheLabels<'_>, Counter>::new(),
        )?;
        let slice = slice_registry.register(
            "cache_lookups",
            "Cache lookups.",
            Family::<Counter>::new(["cache", "outcome", "shard"]),
        )?;
        let outcomes = [
            (Outcome::Hit, "hit"),
            (Outcome::Miss, "miss"),
            (Outcome::Stale, "stale-hit"),
        ];
        for i in 0..60u8 {
            let (outcome, text) = outcomes[usize::from(i) % 3];
            let cache = ["users", "sessions"][usize::from(i) % 2];
            let shard = i % 7;
            typed
                .get(&CacheLabels {
                    cache,
                    outcome,
                    shard,
                })
                .add(u64::from(i));
            slice
                .get(&[cache, text, &shard.to_string()])
                .add(u64::from(i));
        }
        let prom = |r: &Registry| prism::prom::render(r, prism::prom::Format::Prometheus);
        let text = prom(&typed_registry);
        assert!(
            text.contains(r#"cache_lookups_total{cache="users",outcome="stale-hit",shard="2"} "#),
            "{text}"
        );
        assert_eq!(text, prom(&slice_registry));
        assert_eq!(
            prism::json::render_to_string(&typed_registry),
            prism::json::render_to_string(&slice_registry)
        );
        Ok(())
    }
}

/// A histogram error reporting a NaN equals itself, so `Error` can be `Eq`.
#[test]
fn a_histogram_error_with_a_nan_equals_itself() {
    let nan = Error::from(HistogramError::Scale(f64::NAN));
    assert_eq!(nan, nan.clone());
    assert_ne!(nan, Error::from(HistogramError::Scale(1.0)));
    assert_ne!(
        Error::from(HistogramError::Bounds { bound: 1.0 }),
        Error::from(HistogramError::Scale(1.0))
    );
}
