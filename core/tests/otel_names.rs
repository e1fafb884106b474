//! OpenTelemetry names beside the Prometheus ones: registration by either side, the
//! defaults, the overrides, the refusals, and a property test that every valid
//! OpenTelemetry name registers under a valid Prometheus name.

use prism_core::{
    otel, Counter, Descriptor, Error, Family, Gauge, Histogram, Kind, Metadata, Registry,
    UpDownCounter,
};
use proptest::prelude::*;

fn registry() -> Registry {
    Registry::builder().self_telemetry(false).build()
}

fn descriptor(registry: &Registry, name: &str) -> Descriptor {
    registry
        .descriptors()
        .into_iter()
        .find(|d| d.name() == name)
        .unwrap_or_else(|| panic!("{name} is not registered"))
}

const HTTP_ATTRIBUTES: [&str; 5] = [
    "http.request.method",
    "http.route",
    "http.response.status_code",
    "error.type",
    "url.scheme",
];

const HTTP_LABELS: [&str; 5] = [
    "http_request_method",
    "http_route",
    "http_response_status_code",
    "error_type",
    "url_scheme",
];

/// The HTTP server semantic conventions, registered by their OpenTelemetry names.
#[test]
fn http_semantic_conventions_register_by_otel_name() {
    let r = registry();
    r.register_with(
        Metadata::otel(
            "http.server.request.duration",
            "s",
            "Duration of HTTP server requests.",
        ),
        Family::<Histogram>::new(HTTP_ATTRIBUTES),
    )
    .unwrap();
    r.register_with(
        Metadata::otel(
            "http.server.active_requests",
            "{request}",
            "Number of active HTTP server requests.",
        ),
        Family::<UpDownCounter>::new(["http.request.method", "url.scheme"]),
    )
    .unwrap();
    for (otel_name, prom) in [
        (
            "http.server.request.body.size",
            "http_server_request_body_size_bytes",
        ),
        (
            "http.server.response.body.size",
            "http_server_response_body_size_bytes",
        ),
    ] {
        r.register_with(
            Metadata::otel(otel_name, "By", "Size of HTTP message bodies."),
            Family::<Histogram>::new(HTTP_ATTRIBUTES),
        )
        .unwrap();
        let d = descriptor(&r, prom);
        assert_eq!(d.otel_name(), otel_name);
        assert_eq!((d.otel_unit(), d.unit()), ("By", Some("bytes")));
    }

    let d = descriptor(&r, "http_server_request_duration_seconds");
    assert_eq!(d.otel_name(), "http.server.request.duration");
    assert_eq!((d.otel_unit(), d.unit()), ("s", Some("seconds")));
    assert_eq!(d.label_names(), HTTP_LABELS);
    assert_eq!(d.attribute_names(), HTTP_ATTRIBUTES);

    let d = descriptor(&r, "http_server_active_requests");
    assert_eq!(d.otel_name(), "http.server.active_requests");
    assert_eq!((d.otel_unit(), d.unit()), ("{request}", None));
    assert!(d.is_up_down_counter());
    assert_eq!(d.label_names(), ["http_request_method", "url_scheme"]);
}

/// A family registered by its Prometheus name keeps it in OTLP, with the UCUM form of its
/// unit and its label names as attribute names.
#[test]
fn prometheus_names_default_their_otel_side() {
    let r = registry();
    r.register_with(
        Metadata::new("request_duration_seconds", "h").unit("seconds"),
        Family::<Histogram>::new(["method"]),
    )
    .unwrap();
    r.register("jobs", "h", Counter::new()).unwrap();
    r.register_with(
        Metadata::new("cache_hit_ratio", "h").unit("ratio"),
        Gauge::new(),
    )
    .unwrap();
    let d = descriptor(&r, "request_duration_seconds");
    assert_eq!(
        (d.otel_name(), d.otel_unit()),
        ("request_duration_seconds", "s")
    );
    assert_eq!(d.attribute_names(), ["method"]);
    let d = descriptor(&r, "jobs");
    assert_eq!((d.otel_name(), d.otel_unit()), ("jobs", ""));
    assert_eq!(descriptor(&r, "cache_hit_ratio").otel_unit(), "1");
}

#[test]
fn overrides_and_scopes() {
    let r = registry();
    r.register_with(
        Metadata::new("queue_wait_seconds", "h")
            .unit("seconds")
            .otel_name("queue.wait")
            .otel_unit("ms"),
        Gauge::new(),
    )
    .unwrap();
    let d = descriptor(&r, "queue_wait_seconds");
    assert_eq!((d.otel_name(), d.otel_unit()), ("queue.wait", "ms"));

    let scope = r
        .scoped()
        .prefix("mylib")
        .unwrap()
        .label("instance", "a")
        .unwrap();
    scope
        .register_with(
            Metadata::otel("cache.hits", "{hit}", "h"),
            Family::<Counter>::new(["cache.name"]),
        )
        .unwrap()
        .get(&["users"])
        .inc();
    scope.register("misses", "h", Counter::new()).unwrap();
    let d = descriptor(&r, "mylib_cache_hits");
    assert_eq!(d.otel_name(), "mylib.cache.hits");
    assert_eq!(d.label_names(), ["instance", "cache_name"]);
    assert_eq!(d.attribute_names(), ["instance", "cache.name"]);
    assert_eq!(descriptor(&r, "mylib_misses").otel_name(), "mylib_misses");
}

#[test]
fn refusals_say_what_is_wrong() {
    let r = registry();
    let err = r
        .register_with(Metadata::otel("9.lives", "", "h"), Counter::new())
        .unwrap_err();
    assert!(matches!(err, Error::InvalidOtelName { .. }), "{err}");
    assert_eq!(err.name(), Some("9.lives"));

    let err = r
        .register_with(
            Metadata::otel("a.b", "", "h"),
            Family::<Counter>::new(["x.y", "x-y"]),
        )
        .unwrap_err();
    let Error::InvalidAttributeName { attribute, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(attribute, "x-y");
    assert!(
        err.to_string().contains("same Prometheus label name"),
        "{err}"
    );

    let err = r
        .register_with(
            Metadata::otel("a.b", "s", "h").unit("seconds"),
            Gauge::new(),
        )
        .unwrap_err();
    assert!(matches!(err, Error::InvalidOtelUnit { .. }), "{err}");

    let err = r
        .register_with(Metadata::otel("a.b", "s e", "h"), Gauge::new())
        .unwrap_err();
    assert!(matches!(err, Error::InvalidOtelUnit { .. }), "{err}");

    let err = r
        .register_with(
            Metadata::otel("a.b", "", "h"),
            Family::<Gauge>::new(["otel.metric.overflow"]),
        )
        .unwrap_err();
    assert!(matches!(err, Error::InvalidAttributeName { .. }), "{err}");

    // Two families with one OpenTelemetry name would be one metric given twice in OTLP.
    r.register_with(Metadata::otel("x.y", "", "h"), Gauge::new())
        .unwrap();
    let err = r
        .register_with(Metadata::new("other", "h").otel_name("x.y"), Gauge::new())
        .unwrap_err();
    assert!(matches!(err, Error::Clash { .. }), "{err}");
    // Its Prometheus name is taken as well.
    let err = r
        .register_with(Metadata::otel("x-y", "", "h"), Gauge::new())
        .unwrap_err();
    assert!(matches!(err, Error::AlreadyRegistered { .. }), "{err}");
    // Unregistering frees the OpenTelemetry name.
    assert!(r.unregister("x_y"));
    r.register_with(Metadata::new("other", "h").otel_name("x.y"), Gauge::new())
        .unwrap();
}

#[test]
fn get_or_register_compares_the_otel_side() {
    let r = registry();
    let meta = Metadata::new("q", "h").otel_name("q.a");
    r.get_or_register_with(meta.clone(), Gauge::new).unwrap();
    r.get_or_register_with(meta, Gauge::new).unwrap();
    let err = r
        .get_or_register_with(Metadata::new("q", "h").otel_name("q.b"), Gauge::new)
        .unwrap_err();
    assert!(matches!(err, Error::Mismatch { .. }), "{err}");
}

fn metric_re() -> regex::Regex {
    regex::Regex::new(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$").unwrap()
}

fn kinds() -> impl Strategy<Value = Kind> {
    prop_oneof![
        Just(Kind::Counter),
        Just(Kind::Gauge),
        Just(Kind::Histogram),
        Just(Kind::Summary),
    ]
}

fn units() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("s".to_owned()),
        Just("By".to_owned()),
        Just("1".to_owned()),
        Just("ms".to_owned()),
        Just("By/s".to_owned()),
        "\\{[a-z]{1,8}\\}",
        "[a-zA-Z]{1,6}",
        "[a-zA-Z%]{1,3}/[a-z]{1,3}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    /// Every valid OpenTelemetry name, with any unit and kind, translates to a valid
    /// Prometheus name whose Prometheus unit is its suffix, and registers; the one refusal
    /// is a counter whose name is `total` alone.
    #[test]
    fn every_valid_otel_name_has_a_valid_prometheus_name(
        name in "[a-zA-Z][a-zA-Z0-9_./-]{0,40}",
        unit in units(),
        kind in kinds(),
        attribute in "[!-~]{1,20}",
    ) {
        prop_assert!(otel::validate_otel_name(&name).is_ok());
        let words: Vec<&str> = name
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        match otel::prometheus_name(&name, &unit, kind) {
            Ok((prom, prom_unit)) => {
                prop_assert!(metric_re().is_match(&prom), "{} -> {}", name, prom);
                prop_assert!(prism_core::validate_name(&prom).is_ok(), "{} -> {}", name, prom);
                if let Some(u) = &prom_unit {
                    let suffix = format!("_{u}");
                    prop_assert!(prom.ends_with(&suffix), "{} -> {} {:?}", name, prom, u);
                }
            }
            Err(e) => {
                let refused = matches!(e, Error::InvalidOtelName { .. });
                prop_assert!(refused, "{}", e);
                prop_assert!(kind == Kind::Counter && words == ["total"], "{}: {}", name, e);
            }
        }
        let label = otel::prometheus_label_name(&attribute);
        if attribute.bytes().any(|b| b.is_ascii_alphanumeric())
            && label != "otel_metric_overflow"
            && !label.starts_with("__")
        {
            prop_assert!(prism_core::validate_label_name("f", &label).is_ok(), "{} -> {}", attribute, label);
        }
    }

    /// Registering by the OpenTelemetry name succeeds for every valid name a gauge or a
    /// histogram can have, and the descriptor carries both sides.
    #[test]
    fn valid_otel_names_register(
        name in "[a-zA-Z][a-zA-Z0-9_./-]{0,40}",
        unit in units(),
    ) {
        let r = registry();
        let (prom, _) = otel::prometheus_name(&name, &unit, Kind::Histogram).unwrap();
        r.register_with(Metadata::otel(name.as_str(), unit.as_str(), "h"), Histogram::new())
            .unwrap();
        let d = descriptor(&r, &prom);
        prop_assert_eq!(d.otel_name(), name.as_str());
        prop_assert_eq!(d.otel_unit(), unit.as_str());
    }
}
