//! What prometheus-client 0.26 writes on its own, for each rule the bridge corrects. Each
//! test pins the upstream behaviour; when one fails after an upgrade, prometheus-client has
//! fixed the rule and the bridge's correction (named in the test) can go.

use std::fmt;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{text, DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::{Registry, Unit};

#[derive(Debug)]
struct One {
    help: &'static str,
    value: f64,
}

impl Collector for One {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        let gauge = ConstGauge::new(self.value);
        let metric = encoder.encode_descriptor("x", self.help, None, gauge.metric_type())?;
        gauge.encode(metric)
    }
}

fn openmetrics(collector: One) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(collector));
    let mut out = String::new();
    text::encode(&mut out, &registry).unwrap();
    out
}

/// Corrected by `text::escape_openmetrics_help` (see
/// `rule_openmetrics_help_is_escaped_and_0_0_4_help_keeps_quotes`).
#[test]
fn prometheus_client_alone_leaves_openmetrics_help_unescaped() {
    let out = openmetrics(One {
        help: "a\nb \"c\" \\",
        value: 1.0,
    });
    assert_eq!(
        out,
        "# HELP x a\nb \"c\" \\\n# TYPE x gauge\nx 1.0\n# EOF\n"
    );
}

/// Corrected in `render::complete_openmetrics` (see
/// `rule_openmetrics_non_finite_values_are_nan_plus_inf_minus_inf`).
#[test]
fn prometheus_client_alone_writes_openmetrics_infinities_as_inf() {
    assert!(openmetrics(One {
        help: "h",
        value: f64::INFINITY
    })
    .contains("\nx inf\n"));
    assert!(openmetrics(One {
        help: "h",
        value: f64::NEG_INFINITY
    })
    .contains("\nx -inf\n"));
    assert!(openmetrics(One {
        help: "h",
        value: f64::NAN
    })
    .contains("\nx NaN\n"));
}

/// Corrected in `render::complete_openmetrics` (see
/// `rule_openmetrics_created_is_the_exact_series_start`).
#[test]
fn prometheus_client_alone_writes_no_openmetrics_created() {
    let mut registry = Registry::default();
    let counter: Counter = Counter::default();
    counter.inc();
    registry.register("requests", "Requests", counter);
    #[derive(Debug)]
    struct Const;
    impl Collector for Const {
        fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
            let c = ConstCounter::new(5u64);
            let metric = encoder.encode_descriptor("jobs", "Jobs.", None, c.metric_type())?;
            c.encode(metric)
        }
    }
    registry.register_collector(Box::new(Const));
    let mut out = String::new();
    text::encode(&mut out, &registry).unwrap();
    assert!(!out.contains("_created"), "{out}");
    assert!(
        out.contains("requests_total 1\n") && out.contains("jobs_total 5\n"),
        "{out}"
    );
}

/// Corrected in `bridge::FamilyBuf::begin`, which passes the name without its unit (see
/// `rule_unit_is_not_appended_twice`).
#[test]
fn prometheus_client_alone_appends_the_unit_to_a_name_that_has_it() {
    let mut registry = Registry::default();
    let counter: Counter = Counter::default();
    registry.register_with_unit("job_duration_seconds", "Time.", Unit::Seconds, counter);
    let mut out = String::new();
    text::encode(&mut out, &registry).unwrap();
    assert!(
        out.contains("job_duration_seconds_seconds_total 0\n"),
        "{out}"
    );
}
