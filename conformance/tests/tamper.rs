//! The comparison catches what an adapter could get wrong: each test takes what prism
//! writes, changes it the way a buggy writer would, and expects the exact mismatch.

use prism_conformance::read::{read_json, read_openmetrics, read_prometheus, Schema, Unknown};
use prism_conformance::{compare, expected, Field, Format, Mismatch, Rules, Samples, Source};
use prism_core::{Counter, Family, FloatGauge, Metadata, Registry};

fn registry() -> Registry {
    let registry = Registry::builder().self_telemetry(false).build();
    let requests = registry
        .register(
            "http_requests",
            "Requests served.",
            Family::<Counter>::new(["method", "code"]),
        )
        .unwrap();
    requests.get(&["GET", "200"]).add(3);
    requests.get(&["POST", "500"]).inc();
    registry
        .register_with(
            Metadata::new("temperature_celsius", "Temperature.").unit("celsius"),
            FloatGauge::new(),
        )
        .unwrap()
        .set(21.5);
    registry
}

fn text(format: Format, registry: &Registry) -> String {
    String::from_utf8(format.render(registry)).unwrap()
}

fn diff(registry: &Registry, format: Format, read: Samples) -> Vec<Mismatch> {
    let core = expected(&registry.snapshot()).unwrap();
    compare(
        (&core, Source::Core),
        (&read, Source::Format(format)),
        Rules::default(),
    )
}

fn messages(ms: &[Mismatch]) -> Vec<String> {
    ms.iter().map(ToString::to_string).collect()
}

#[test]
fn untouched_renderings_agree() {
    let r = registry();
    let schema = Schema::of_registry(&r);
    for format in Format::ALL {
        let read = format
            .read(&format.render(&r), &schema, Unknown::Error)
            .unwrap();
        assert_eq!(diff(&r, format, read), vec![], "{format}");
    }
}

#[test]
fn a_changed_value_names_the_series_the_formats_and_both_values() {
    let r = registry();
    let t = text(Format::Prometheus, &r).replace(
        "http_requests_total{method=\"GET\",code=\"200\"} 3",
        "http_requests_total{method=\"GET\",code=\"200\"} 4",
    );
    let ms = diff(
        &r,
        Format::Prometheus,
        read_prometheus(t.as_bytes()).unwrap(),
    );
    assert_eq!(
        messages(&ms),
        [
            r#"series http_requests{code="200",method="GET"}: value: core read says 3, prometheus says 4"#
        ]
    );
    assert_eq!(ms[0].field, Field::Value);
}

#[test]
fn a_lost_created_line_is_a_start_time_mismatch() {
    let r = registry();
    let t: String = text(Format::OpenMetrics, &r)
        .lines()
        .filter(|l| !l.starts_with("http_requests_created{method=\"POST\""))
        .map(|l| format!("{l}\n"))
        .collect();
    let ms = diff(
        &r,
        Format::OpenMetrics,
        read_openmetrics(t.as_bytes()).unwrap(),
    );
    assert_eq!(ms.len(), 1, "{ms:?}");
    assert_eq!(ms[0].field, Field::Created);
    assert!(
        ms[0].to_string().contains("openmetrics says none"),
        "{}",
        ms[0]
    );
}

#[test]
fn a_created_time_off_by_a_nanosecond_is_caught() {
    let r = registry();
    let t = text(Format::OpenMetrics, &r);
    let line = t
        .lines()
        .find(|l| l.starts_with("http_requests_created{method=\"GET\""))
        .unwrap();
    let (head, seconds) = line.rsplit_once(' ').unwrap();
    let nanos = prism_conformance::read::seconds_to_nanos(seconds).unwrap() + 1;
    let shifted = format!(
        "{head} {}.{:09}",
        nanos / 1_000_000_000,
        nanos % 1_000_000_000
    );
    let t = t.replace(line, &shifted);
    let ms = diff(
        &r,
        Format::OpenMetrics,
        read_openmetrics(t.as_bytes()).unwrap(),
    );
    assert_eq!(ms.len(), 1, "{ms:?}");
    assert_eq!(ms[0].field, Field::Created);
}

#[test]
fn help_unit_and_kind_are_compared_where_the_format_has_them() {
    let r = registry();
    let t = text(Format::OpenMetrics, &r)
        .replace(
            "# HELP http_requests Requests served.",
            "# HELP http_requests Requests.",
        )
        .replace("# UNIT temperature_celsius celsius\n", "")
        .replace(
            "# TYPE temperature_celsius gauge",
            "# TYPE temperature_celsius unknown",
        );
    let ms = diff(
        &r,
        Format::OpenMetrics,
        read_openmetrics(t.as_bytes()).unwrap(),
    );
    assert_eq!(
        messages(&ms),
        [
            r#"family http_requests: help: core read says "Requests served.", openmetrics says "Requests.""#,
            "family temperature_celsius: kind: core read says gauge, openmetrics says unknown",
            r#"family temperature_celsius: unit: core read says "celsius", openmetrics says """#,
        ]
    );
}

#[test]
fn a_wrongly_escaped_label_value_is_another_series() {
    let r = Registry::builder().self_telemetry(false).build();
    r.register("x", "X.", Family::<Counter>::new(["v"]))
        .unwrap()
        .get(&["a\\b"])
        .inc();
    let t = text(Format::Prometheus, &r);
    assert!(t.contains(r#"x_total{v="a\\b"} 1"#), "{t}");
    // A writer that forgot to escape the backslash: `\b` is no 0.0.4 escape at all...
    let unescaped = t.replace(r#"a\\b"#, r#"a\b"#);
    let err = read_prometheus(unescaped.as_bytes()).unwrap_err();
    assert!(err.message.contains("unknown escape"), "{err}");
    // ...and one that doubled it reads as another label value.
    let doubled = t.replace(r#"a\\b"#, r#"a\\\\b"#);
    let ms = diff(
        &r,
        Format::Prometheus,
        read_prometheus(doubled.as_bytes()).unwrap(),
    );
    assert_eq!(
        messages(&ms),
        [
            r#"series x{v="a\\b"}: series: core read says 1, prometheus says no such series"#,
            r#"series x{v="a\\\\b"}: series: core read says no such series, prometheus says 1"#,
        ]
    );
}

#[test]
fn json_values_missing_series_and_extra_families_are_caught() {
    let r = registry();
    let schema = Schema::of_registry(&r);
    let t = text(Format::Json, &r)
        .replace(r#""POST": {"500": 1}"#, r#""POST": {"500": 2}"#)
        .replace("21.5", "21.25");
    let ms = diff(
        &r,
        Format::Json,
        read_json(t.as_bytes(), &schema, Unknown::Error).unwrap(),
    );
    assert_eq!(
        messages(&ms),
        [
            r#"series http_requests{code="500",method="POST"}: value: core read says 1, json says 2"#,
            "series temperature_celsius{}: value: core read says 21.5, json says 21.25",
        ]
    );
    let extra = text(Format::Json, &r).replacen('{', "{\n\"stray\": 1,", 1);
    let err = read_json(extra.as_bytes(), &schema, Unknown::Error).unwrap_err();
    assert!(err.message.contains("\"stray\""), "{err}");
    let ok = read_json(extra.as_bytes(), &schema, Unknown::Skip).unwrap();
    assert!(ok.family("stray").is_none());
}

#[test]
fn a_family_the_format_lost_is_named() {
    let r = registry();
    let t: String = text(Format::Prometheus, &r)
        .lines()
        .filter(|l| !l.contains("temperature_celsius"))
        .map(|l| format!("{l}\n"))
        .collect();
    let ms = diff(
        &r,
        Format::Prometheus,
        read_prometheus(t.as_bytes()).unwrap(),
    );
    assert_eq!(
        messages(&ms),
        ["family temperature_celsius: family: core read says 1 series, prometheus says no such family"]
    );
}

#[test]
fn json_null_stands_for_any_non_finite_value_but_not_for_a_number() {
    let r = Registry::builder().self_telemetry(false).build();
    r.register("g", "G.", FloatGauge::new())
        .unwrap()
        .set(f64::NEG_INFINITY);
    let schema = Schema::of_registry(&r);
    let t = text(Format::Json, &r);
    assert_eq!(t, "{\n\"g\": null\n}\n");
    let read = read_json(t.as_bytes(), &schema, Unknown::Error).unwrap();
    assert_eq!(diff(&r, Format::Json, read), vec![]);
    r.register("h", "H.", FloatGauge::new()).unwrap().set(1.0);
    let schema = Schema::of_registry(&r);
    let read = read_json(b"{\"g\": null, \"h\": null}", &schema, Unknown::Error).unwrap();
    assert_eq!(
        messages(&diff(&r, Format::Json, read)),
        ["series h{}: value: core read says 1.0, json says null (NaN or ±Inf)"]
    );
}

#[test]
fn moving_reads_allow_counters_to_grow_but_not_to_shrink() {
    let earlier =
        read_prometheus(b"# TYPE c_total counter\nc_total 5\n# TYPE g gauge\ng 1\n").unwrap();
    let later =
        read_prometheus(b"# TYPE c_total counter\nc_total 7\n# TYPE g gauge\ng -3\n").unwrap();
    let rules = Rules {
        shared_only: true,
        moving: true,
    };
    let p = Source::Format(Format::Prometheus);
    assert_eq!(compare((&earlier, p), (&later, p), rules), vec![]);
    let back = compare((&later, p), (&earlier, p), rules);
    assert_eq!(
        messages(&back),
        ["series c{}: value: prometheus says 7, prometheus says 5"]
    );
    assert_eq!(
        compare((&earlier, p), (&later, p), Rules::default()).len(),
        2
    );
}

#[test]
fn otlp_values_attributes_units_and_temporality_are_checked() {
    use opentelemetry_proto::tonic::metrics::v1::{
        metric::Data, number_data_point, AggregationTemporality,
    };
    use prism_conformance::read::{read_otlp_request, OtelNames};

    let r = registry();
    let names = OtelNames::of_snapshot(&r.snapshot());
    let read_otlp_request = |request: &opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest| {
        read_otlp_request(request).map(|s| names.to_core(s))
    };
    let request = prism_otel::encode(&r, &prism_otel::Resource::new("t"));
    let read = read_otlp_request(&request).unwrap();
    assert_eq!(diff(&r, Format::OtlpProto, read), vec![]);

    let mut changed = request.clone();
    for metric in &mut changed.resource_metrics[0].scope_metrics[0].metrics {
        match &mut metric.data {
            Some(Data::Sum(sum)) => {
                for p in &mut sum.data_points {
                    if p.value == Some(number_data_point::Value::AsInt(3)) {
                        p.value = Some(number_data_point::Value::AsDouble(3.5));
                    }
                }
            }
            Some(Data::Gauge(_)) => metric.unit = "kelvin".to_owned(),
            _ => {}
        }
    }
    let ms = diff(&r, Format::OtlpProto, read_otlp_request(&changed).unwrap());
    assert_eq!(
        messages(&ms),
        [
            r#"series http_requests{code="200",method="GET"}: value: core read says 3, otlp-proto says 3.5"#,
            r#"family temperature_celsius: unit: core read says "celsius", otlp-proto says "kelvin (not the OpenTelemetry unit \"Cel\")""#,
        ]
    );

    let mut delta = request.clone();
    for metric in &mut delta.resource_metrics[0].scope_metrics[0].metrics {
        if let Some(Data::Sum(sum)) = &mut metric.data {
            sum.aggregation_temporality = AggregationTemporality::Delta as i32;
        }
    }
    let err = read_otlp_request(&delta).unwrap_err();
    assert!(err.contains("not cumulative"), "{err}");

    let mut twice = request;
    let copy = twice.resource_metrics[0].scope_metrics[0].metrics[0].clone();
    twice.resource_metrics[0].scope_metrics[0]
        .metrics
        .push(copy);
    assert!(read_otlp_request(&twice)
        .unwrap_err()
        .contains("given twice"));
}

#[test]
fn json_first_label_values_shaped_like_the_overflow_key_lose_one_underscore() {
    let mut schema = Schema::default();
    schema.insert("k", ["v"]);
    let read = read_json(
        br#"{"k": {"__otel_metric_overflow=true": 3, "_otel_metric_overflow=true": 2, "otel_metric_overflow=true": 1}}"#,
        &schema,
        Unknown::Error,
    )
    .unwrap();
    let series: Vec<String> = read
        .family("k")
        .unwrap()
        .series
        .keys()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        series,
        [
            r#"{otel_metric_overflow="true"}"#,
            r#"{v="_otel_metric_overflow=true"}"#,
            r#"{v="otel_metric_overflow=true"}"#,
        ]
    );
}

/// OTLP is compared through each family's OpenTelemetry names: a metric sent under its
/// Prometheus name, a Prometheus unit or a label name where the attribute name belongs is
/// a mismatch.
#[test]
fn otlp_names_units_and_attribute_names_are_checked_through_the_mapping() {
    use opentelemetry_proto::tonic::metrics::v1::metric::Data;
    use prism_conformance::read::{read_otlp_request, OtelNames};
    use prism_core::Histogram;

    let r = Registry::builder().self_telemetry(false).build();
    r.register_with(
        Metadata::otel("http.server.request.duration", "s", "Duration."),
        Family::<Histogram>::new(["http.route"]),
    )
    .unwrap()
    .get(&["/a"])
    .record(1_000_000);
    r.register_with(
        Metadata::otel("http.server.active_requests", "{request}", "Active."),
        Family::<prism_core::UpDownCounter>::new(["url.scheme"]),
    )
    .unwrap()
    .get(&["https"])
    .inc();
    let names = OtelNames::of_snapshot(&r.snapshot());
    let request = prism_otel::encode(&r, &prism_otel::Resource::new("t"));
    let read = names.to_core(read_otlp_request(&request).unwrap());
    assert_eq!(diff(&r, Format::OtlpProto, read), vec![]);

    let mut changed = request;
    for metric in &mut changed.resource_metrics[0].scope_metrics[0].metrics {
        match &mut metric.data {
            // The Prometheus unit and label name where the OpenTelemetry ones belong.
            Some(Data::Histogram(h)) => {
                metric.unit = "seconds".to_owned();
                h.data_points[0].attributes[0].key = "http_route".to_owned();
            }
            // The Prometheus name where the OpenTelemetry one belongs.
            Some(Data::Sum(_)) => metric.name = "http_server_active_requests".to_owned(),
            _ => {}
        }
    }
    let mut ms = messages(&diff(
        &r,
        Format::OtlpProto,
        names.to_core(read_otlp_request(&changed).unwrap()),
    ));
    ms.sort();
    let expected = [
        "family http_server_active_requests (not an OpenTelemetry name of the registry): family: \
         core read says no such family, otlp-proto says 1 series",
        "family http_server_active_requests: family: core read says 1 series, otlp-proto says no \
         such family",
        r#"family http_server_request_duration_seconds: unit: core read says "seconds", otlp-proto says "seconds (not the OpenTelemetry unit \"s\")""#,
        r#"series http_server_request_duration_seconds{http_route (not an attribute name of the family)="/a"}: series: core read says no such series, otlp-proto says histogram count=1"#,
        r#"series http_server_request_duration_seconds{http_route="/a"}: series: core read says histogram count=1"#,
    ];
    assert_eq!(ms.len(), expected.len(), "{ms:#?}");
    for (m, e) in ms.iter().zip(expected) {
        assert!(m.starts_with(e), "{m}\ndoes not start with\n{e}");
    }
}
