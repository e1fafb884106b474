//! The output read by parsers written by others: `promtool check metrics` (Prometheus'
//! own linter and 0.0.4 parser) and Python's `prometheus_client` (its 0.0.4 parser and its
//! strict OpenMetrics parser), with every parsed value compared to what the registry holds.

mod support;

use std::io::Write;
use std::process::{Command, Stdio};

use prism_core::{Kind, Registry, Value};
use prism_prom::{render, Format};
use serde_json::Value as Json;

fn run(program: &std::path::Path, args: &[&str], stdin: &[u8]) -> (bool, String, String) {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn promtool_check_metrics_passes_without_lint_complaints() {
    let promtool = support::tool("promtool");
    let registry = support::every_kind();
    let text = render(&registry, Format::Prometheus);
    let (ok, stdout, stderr) = run(&promtool, &["check", "metrics"], text.as_bytes());
    assert!(
        ok,
        "promtool failed:\n{stdout}{stderr}\n--- input ---\n{text}"
    );
    assert_eq!(
        stdout.trim(),
        "",
        "promtool complained:\n{stdout}\n--- input ---\n{text}"
    );
    assert_eq!(
        stderr.trim(),
        "",
        "promtool complained:\n{stderr}\n--- input ---\n{text}"
    );
}

#[test]
fn promtool_rejects_what_it_should_so_the_check_above_can_fail() {
    let promtool = support::tool("promtool");
    let (ok, stdout, stderr) = run(
        &promtool,
        &["check", "metrics"],
        b"# HELP requests Requests.\n# TYPE requests counter\nrequests 1\n",
    );
    assert!(!ok, "promtool accepted a counter without `_total`");
    assert!(
        format!("{stdout}{stderr}").contains("_total"),
        "{stdout}{stderr}"
    );
    let (ok, _, _) = run(&promtool, &["check", "metrics"], b"broken{ 1\n");
    assert!(!ok, "promtool accepted a broken exposition");
}

const PARSE: &str = r#"
import json, sys
fmt = sys.argv[1]
text = sys.stdin.buffer.read().decode("utf-8")
if fmt == "openmetrics":
    from prometheus_client.openmetrics.parser import text_string_to_metric_families
else:
    from prometheus_client.parser import text_string_to_metric_families
out = []
for family in text_string_to_metric_families(text):
    out.append({
        "name": family.name,
        "type": family.type,
        "unit": family.unit,
        "help": family.documentation,
        "samples": [
            {"name": s.name, "labels": s.labels, "value": repr(s.value), "int": isinstance(s.value, int)}
            for s in family.samples
        ],
    })
print(json.dumps(out))
"#;

/// Parses `text` with Python's parser for `format`; panics with the parser's message if it
/// refuses the text.
fn python_parse(format: Format, text: &str) -> Vec<Json> {
    let python = support::python();
    let arg = match format {
        Format::OpenMetrics => "openmetrics",
        _ => "prometheus",
    };
    let (ok, stdout, stderr) = run(&python, &["-c", PARSE, arg], text.as_bytes());
    assert!(
        ok,
        "prometheus_client ({arg}) refused the text:\n{stderr}\n--- input ---\n{text}"
    );
    match serde_json::from_str(&stdout).unwrap() {
        Json::Array(families) => families,
        other => panic!("unexpected parser output {other}"),
    }
}

fn python_float(repr: &str) -> f64 {
    match repr {
        "nan" => f64::NAN,
        "inf" | "+inf" => f64::INFINITY,
        "-inf" => f64::NEG_INFINITY,
        _ => repr
            .parse()
            .unwrap_or_else(|_| panic!("not a float: {repr}")),
    }
}

fn same_float(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b
}

fn seconds(nanos: u64) -> String {
    let text = format!("{}.{:09}", nanos / 1_000_000_000, nanos % 1_000_000_000);
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Compares what Python parsed with a snapshot of the registry taken right after the render.
fn check_parsed(registry: &Registry, format: Format, text: &str) {
    let parsed = python_parse(format, text);
    let snapshot = registry.snapshot();
    let families: Vec<_> = snapshot
        .families
        .iter()
        .filter(|f| !f.series.is_empty())
        .collect();
    assert_eq!(parsed.len(), families.len(), "family count\n{text}");

    for (family, got) in families.iter().zip(&parsed) {
        let d = &family.descriptor;
        if matches!(d.kind(), Kind::Histogram | Kind::Summary) {
            check_distribution(family, got, format);
            continue;
        }
        let counter = d.kind() == Kind::Counter;
        // Python's 0.0.4 parser names a counter family after its TYPE line (`x_total`) in
        // some versions and strips the suffix in others; OpenMetrics names it `x`.
        let got_name = got["name"].as_str().unwrap();
        assert!(
            got_name == d.name() || (counter && got_name == format!("{}_total", d.name())),
            "family {} parsed as {got_name}",
            d.name()
        );
        assert_eq!(
            got["type"],
            if counter { "counter" } else { "gauge" },
            "{}",
            d.name()
        );
        assert_eq!(got["help"], d.help(), "help of {}", d.name());
        if format == Format::OpenMetrics {
            assert_eq!(got["unit"], d.unit().unwrap_or(""), "unit of {}", d.name());
        }

        let samples = got["samples"].as_array().unwrap();
        let per_series = if counter && format == Format::OpenMetrics {
            2
        } else {
            1
        };
        assert_eq!(
            samples.len(),
            family.series.len() * per_series,
            "samples of {}",
            d.name()
        );
        for (i, series) in family.series.iter().enumerate() {
            let sample = &samples[i * per_series];
            let mut labels = serde_json::Map::new();
            if series.overflow {
                labels.insert("otel_metric_overflow".into(), "true".into());
            } else {
                for (name, value) in d.label_names().iter().zip(&series.label_values) {
                    labels.insert(name.clone(), value.as_str().into());
                }
            }
            let expected_name = if counter {
                format!("{}_total", d.name())
            } else {
                d.name().to_owned()
            };
            assert_eq!(sample["name"], expected_name.as_str());
            assert_eq!(
                sample["labels"],
                Json::Object(labels.clone()),
                "{}",
                d.name()
            );

            let repr = sample["value"].as_str().unwrap();
            let exact_int = match series.value {
                Value::Counter(v) => Some(v.to_string()),
                Value::Gauge(v) => Some(v.to_string()),
                _ => None,
            };
            match (&exact_int, sample["int"].as_bool().unwrap()) {
                // The OpenMetrics parser keeps integers as Python ints: every digit checked.
                (Some(int), true) => assert_eq!(repr, int, "{} exact", d.name()),
                _ => assert!(
                    same_float(python_float(repr), series.value.as_f64()),
                    "{}: parsed {repr}, set {:?}",
                    d.name(),
                    series.value
                ),
            }

            if per_series == 2 {
                let created = &samples[i * 2 + 1];
                assert_eq!(created["name"], format!("{}_created", d.name()).as_str());
                assert_eq!(created["labels"], Json::Object(labels));
                let expected: f64 = seconds(series.created_unix_nanos).parse().unwrap();
                let got = python_float(created["value"].as_str().unwrap());
                assert_eq!(got, expected, "{}_created", d.name());
            }
        }
    }
}

/// Checks a histogram or summary family: every `_count`, `_sum`, bucket, quantile and (in
/// OpenMetrics) `_created` sample of every series, and nothing else.
fn check_distribution(family: &prism_core::FamilySnapshot, got: &Json, format: Format) {
    let d = &family.descriptor;
    let name = d.name();
    let histogram = d.kind() == Kind::Histogram;
    assert_eq!(got["name"], name);
    assert_eq!(got["type"], if histogram { "histogram" } else { "summary" });
    assert_eq!(got["help"], d.help());
    let samples = got["samples"].as_array().unwrap();
    let find = |sample_name: &str, labels: &serde_json::Map<String, Json>| -> f64 {
        let hit = samples
            .iter()
            .find(|s| s["name"] == sample_name && s["labels"] == Json::Object(labels.clone()))
            .unwrap_or_else(|| panic!("no {sample_name} {labels:?} in {samples:?}"));
        python_float(hit["value"].as_str().unwrap())
    };
    let mut expected_samples = 0;
    for series in &family.series {
        let read = series.value.as_histogram().expect("a distribution");
        let mut labels = serde_json::Map::new();
        for (n, v) in d.label_names().iter().zip(&series.label_values) {
            labels.insert(n.clone(), v.as_str().into());
        }
        assert_eq!(find(&format!("{name}_count"), &labels), read.count() as f64);
        assert!(same_float(
            find(&format!("{name}_sum"), &labels),
            read.sum()
        ));
        expected_samples += 2;
        if histogram {
            for (le, cumulative) in read.cumulative() {
                let hit = samples.iter().find(|s| {
                    let mut rest = s["labels"].as_object().unwrap().clone();
                    let bound = rest
                        .remove("le")
                        .map(|v| python_float(&v.as_str().unwrap().to_lowercase()));
                    s["name"] == format!("{name}_bucket").as_str()
                        && rest == labels
                        && bound == Some(le)
                });
                let hit = hit.unwrap_or_else(|| panic!("no bucket le={le} for {labels:?}"));
                assert_eq!(
                    python_float(hit["value"].as_str().unwrap()),
                    cumulative as f64
                );
                expected_samples += 1;
            }
        } else {
            for (q, v) in read.quantiles() {
                let mut with_q = labels.clone();
                with_q.insert("quantile".into(), format!("{q:?}").into());
                assert!(
                    same_float(find(name, &with_q), v.unwrap_or(f64::NAN)),
                    "{name} {q}"
                );
                expected_samples += 1;
            }
        }
        if format == Format::OpenMetrics {
            let expected: f64 = seconds(series.created_unix_nanos).parse().unwrap();
            assert_eq!(find(&format!("{name}_created"), &labels), expected);
            expected_samples += 1;
        }
    }
    assert_eq!(samples.len(), expected_samples, "samples of {name}");
}

#[test]
fn python_prometheus_0_0_4_parser_reads_back_every_value() {
    let registry = support::every_kind();
    let text = render(&registry, Format::Prometheus);
    check_parsed(&registry, Format::Prometheus, &text);
}

#[test]
fn python_strict_openmetrics_parser_reads_back_every_value() {
    let registry = support::every_kind();
    let text = render(&registry, Format::OpenMetrics);
    check_parsed(&registry, Format::OpenMetrics, &text);
}

#[test]
fn python_parsers_read_an_empty_registry() {
    let registry = Registry::builder().self_telemetry(false).build();
    assert!(python_parse(Format::Prometheus, &render(&registry, Format::Prometheus)).is_empty());
    assert!(python_parse(Format::OpenMetrics, &render(&registry, Format::OpenMetrics)).is_empty());
}

#[test]
fn python_strict_openmetrics_parser_refuses_what_prometheus_client_alone_writes() {
    // The checks above can fail: text as prometheus-client writes it without the bridge's
    // HELP escaping is refused by the strict parser.
    let broken = "# HELP x first\nsecond\n# TYPE x gauge\nx 1\n# EOF\n";
    let python = support::python();
    let (ok, _, _) = run(&python, &["-c", PARSE, "openmetrics"], broken.as_bytes());
    assert!(
        !ok,
        "the strict OpenMetrics parser accepted a broken HELP line"
    );
    let (ok, _, _) = run(
        &python,
        &["-c", PARSE, "openmetrics"],
        b"# TYPE x gauge\nx 1\n",
    );
    assert!(
        !ok,
        "the strict OpenMetrics parser accepted text without # EOF"
    );
}
