//! Golden tests: the exact bytes of both formats, for every kind core offers and for every
//! escaping and number rule. Tests named `rule_*` cover a place where prometheus-client on
//! its own gets the format wrong and the bridge corrects it.

use std::fmt;
use std::time::Duration;

use prism_core::{
    Capped, Counter, CounterFn, Family, FloatCounter, FloatGauge, Gauge, GaugeFn, Kind,
    ManualClock, Max, Metadata, Metric, Min, NumaCounter, NumaTopology, Overflow, PerCpuCounter,
    PerThreadCounter, Registry, ShardedCounter, SloppyCounter, StripedCounter, UpDownCounter,
    Value, WindowedHistogram, WindowedRate,
};
use prism_prom::{encode, render, render_into, render_into_vec, Format, Renderer};

fn bare() -> Registry {
    Registry::builder().self_telemetry(false).build()
}

/// A series' start time as OpenMetrics `_created` prints it: decimal seconds, exact, no
/// trailing zeros. Written here independently of the crate's own formatting.
fn created(registry: &Registry, family: &str, labels: &[&str]) -> String {
    let snapshot = registry.snapshot();
    let family = snapshot.family(family).expect("family registered");
    let series = if labels.is_empty() && family.series.len() == 1 {
        &family.series[0]
    } else {
        family.series(labels).expect("series exists")
    };
    seconds(series.created_unix_nanos)
}

fn seconds(nanos: u64) -> String {
    let text = format!("{}.{:09}", nanos / 1_000_000_000, nanos % 1_000_000_000);
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

fn overflow_created(registry: &Registry, family: &str) -> String {
    let snapshot = registry.snapshot();
    seconds(
        snapshot
            .family(family)
            .unwrap()
            .overflow()
            .unwrap()
            .created_unix_nanos,
    )
}

#[test]
fn empty_registry_is_an_empty_body_or_only_eof() {
    let registry = bare();
    assert_eq!(render(&registry, Format::Prometheus), "");
    assert_eq!(render(&registry, Format::OpenMetrics), "# EOF\n");
}

#[test]
fn a_family_without_series_prints_nothing() {
    let registry = bare();
    registry
        .register("idle", "Never used.", Family::<Counter>::new(["k"]))
        .unwrap();
    registry
        .register("idle_gauges", "Never used.", Family::<Gauge>::new(["k"]))
        .unwrap();
    assert_eq!(render(&registry, Format::Prometheus), "");
    assert_eq!(render(&registry, Format::OpenMetrics), "# EOF\n");
}

#[test]
fn every_kind_in_both_formats() {
    let r = bare();
    r.register("a_counter", "A counter.", Counter::new())
        .unwrap()
        .add(7);
    r.register("b_float_counter", "A float counter.", FloatCounter::new())
        .unwrap()
        .add(1.5);
    r.register("c_gauge", "A gauge.", Gauge::new())
        .unwrap()
        .set(-42);
    r.register("d_float_gauge", "A float gauge.", FloatGauge::new())
        .unwrap()
        .set(0.25);
    let max = r.register("e_max", "A max.", Max::new()).unwrap();
    max.observe(3);
    max.observe(11);
    let min = r.register("f_min", "A min.", Min::new()).unwrap();
    min.observe(-5);
    min.observe(8);
    let capped = r
        .register("g_capped", "A capped counter.", Capped::new(2))
        .unwrap();
    assert!(capped.try_add(2));
    assert!(!capped.try_inc());
    r.register(
        "h_counter_fn",
        "A counter read from a closure.",
        CounterFn::new(|| 99u64),
    )
    .unwrap();
    r.register(
        "i_gauge_fn",
        "A gauge read from a closure.",
        GaugeFn::new(|| -1.5f64),
    )
    .unwrap();
    let family = r
        .register(
            "j_requests",
            "Requests by method and code.",
            Family::<Counter>::new(["method", "code"]),
        )
        .unwrap();
    family.get(&["GET", "200"]).add(5);
    family.get(&["POST", "500"]).inc();
    family.get(&["GET", "200"]).inc();
    let levels = r
        .register(
            "k_levels",
            "Levels by shard.",
            Family::<FloatGauge>::new(["shard"]),
        )
        .unwrap();
    levels.get(&["b"]).set(2.0);
    levels.get(&["a"]).set(-0.5);
    let capped_family = Family::<Counter>::builder(["user"])
        .cardinality_limit(1)
        .build()
        .unwrap();
    let users = r
        .register("l_logins", "Logins by user.", capped_family)
        .unwrap();
    users.get(&["alice"]).inc();
    users.get(&["bob"]).add(2);
    users.get(&["carol"]).add(3);
    let dropping = Family::<Gauge>::builder(["user"])
        .cardinality_limit(1)
        .overflow(Overflow::Drop)
        .build();
    let sessions = r
        .register("m_sessions", "Sessions by user.", dropping.unwrap())
        .unwrap();
    sessions.get(&["alice"]).set(1);
    sessions.get(&["bob"]).set(9);
    let open = r
        .register("n_open", "An up-down counter.", UpDownCounter::new())
        .unwrap();
    open.add(2);
    open.sub(5);
    r.register("o_sharded", "A sharded counter.", ShardedCounter::new())
        .unwrap()
        .add(3);
    let per_cpu = r
        .register("p_per_cpu", "A per-CPU counter.", PerCpuCounter::new())
        .unwrap();
    per_cpu.inc();
    per_cpu.inc();
    r.register("q_striped", "A striped counter.", StripedCounter::new())
        .unwrap()
        .add(4);
    let sloppy = r
        .register("r_sloppy", "A sloppy counter.", SloppyCounter::new())
        .unwrap();
    // A render reads what the locals flushed: 8 of the 10, until the local is dropped.
    let local = sloppy.local(4);
    (0..10).for_each(|_| local.inc());
    let numa = NumaCounter::with_topology(NumaTopology::single_node(2));
    r.register("s_numa", "A NUMA counter.", numa)
        .unwrap()
        .add(5);
    let per_thread = r
        .register(
            "t_per_thread",
            "A per-thread counter.",
            PerThreadCounter::new(),
        )
        .unwrap();
    per_thread.writer().add(6);
    per_thread.inc();
    let clock = ManualClock::new();
    let exact = prism_core::Histogram::builder()
        .unit_scale(1.0)
        .highest(1000)
        .config()
        .unwrap();
    let window = WindowedHistogram::builder()
        .histogram(exact)
        .slots(2)
        .slot_duration(Duration::from_secs(10))
        .clock(clock.clone())
        .build()
        .unwrap();
    let window = r
        .register("u_window", "A windowed histogram.", window)
        .unwrap();
    window.record(500); // out of the window by the time of the render
    clock.advance(Duration::from_secs(20));
    window.record(5);
    window.record(50);
    let rate = WindowedRate::builder()
        .slots(10)
        .clock(clock.clone())
        .build()
        .unwrap();
    let rate = r.register("v_rate", "A windowed rate.", rate).unwrap();
    rate.add(5);
    clock.advance(Duration::from_secs(1));
    rate.add(100); // the running second: not in the rate yet

    assert_eq!(
        render(&r, Format::Prometheus),
        r#"# HELP a_counter_total A counter.
# TYPE a_counter_total counter
a_counter_total 7
# HELP b_float_counter_total A float counter.
# TYPE b_float_counter_total counter
b_float_counter_total 1.5
# HELP c_gauge A gauge.
# TYPE c_gauge gauge
c_gauge -42
# HELP d_float_gauge A float gauge.
# TYPE d_float_gauge gauge
d_float_gauge 0.25
# HELP e_max A max.
# TYPE e_max gauge
e_max 11
# HELP f_min A min.
# TYPE f_min gauge
f_min -5
# HELP g_capped_total A capped counter.
# TYPE g_capped_total counter
g_capped_total 2
# HELP h_counter_fn_total A counter read from a closure.
# TYPE h_counter_fn_total counter
h_counter_fn_total 99
# HELP i_gauge_fn A gauge read from a closure.
# TYPE i_gauge_fn gauge
i_gauge_fn -1.5
# HELP j_requests_total Requests by method and code.
# TYPE j_requests_total counter
j_requests_total{method="GET",code="200"} 6
j_requests_total{method="POST",code="500"} 1
# HELP k_levels Levels by shard.
# TYPE k_levels gauge
k_levels{shard="b"} 2.0
k_levels{shard="a"} -0.5
# HELP l_logins_total Logins by user.
# TYPE l_logins_total counter
l_logins_total{user="alice"} 1
l_logins_total{otel_metric_overflow="true"} 5
# HELP m_sessions Sessions by user.
# TYPE m_sessions gauge
m_sessions{user="alice"} 1
# HELP n_open An up-down counter.
# TYPE n_open gauge
n_open -3
# HELP o_sharded_total A sharded counter.
# TYPE o_sharded_total counter
o_sharded_total 3
# HELP p_per_cpu_total A per-CPU counter.
# TYPE p_per_cpu_total counter
p_per_cpu_total 2
# HELP q_striped_total A striped counter.
# TYPE q_striped_total counter
q_striped_total 4
# HELP r_sloppy_total A sloppy counter.
# TYPE r_sloppy_total counter
r_sloppy_total 8
# HELP s_numa_total A NUMA counter.
# TYPE s_numa_total counter
s_numa_total 5
# HELP t_per_thread_total A per-thread counter.
# TYPE t_per_thread_total counter
t_per_thread_total 7
# HELP u_window A windowed histogram.
# TYPE u_window summary
u_window{quantile="0.5"} 5.0
u_window{quantile="0.9"} 50.0
u_window{quantile="0.99"} 50.0
u_window{quantile="0.999"} 50.0
u_window_sum 555.0
u_window_count 3
# HELP v_rate A windowed rate.
# TYPE v_rate gauge
v_rate 0.5
"#
    );

    let c = |family: &str| created(&r, family, &[]);
    let expected = format!(
        r#"# HELP a_counter A counter.
# TYPE a_counter counter
a_counter_total 7
a_counter_created {}
# HELP b_float_counter A float counter.
# TYPE b_float_counter counter
b_float_counter_total 1.5
b_float_counter_created {}
# HELP c_gauge A gauge.
# TYPE c_gauge gauge
c_gauge -42
# HELP d_float_gauge A float gauge.
# TYPE d_float_gauge gauge
d_float_gauge 0.25
# HELP e_max A max.
# TYPE e_max gauge
e_max 11
# HELP f_min A min.
# TYPE f_min gauge
f_min -5
# HELP g_capped A capped counter.
# TYPE g_capped counter
g_capped_total 2
g_capped_created {}
# HELP h_counter_fn A counter read from a closure.
# TYPE h_counter_fn counter
h_counter_fn_total 99
h_counter_fn_created {}
# HELP i_gauge_fn A gauge read from a closure.
# TYPE i_gauge_fn gauge
i_gauge_fn -1.5
# HELP j_requests Requests by method and code.
# TYPE j_requests counter
j_requests_total{{method="GET",code="200"}} 6
j_requests_created{{method="GET",code="200"}} {}
j_requests_total{{method="POST",code="500"}} 1
j_requests_created{{method="POST",code="500"}} {}
# HELP k_levels Levels by shard.
# TYPE k_levels gauge
k_levels{{shard="b"}} 2.0
k_levels{{shard="a"}} -0.5
# HELP l_logins Logins by user.
# TYPE l_logins counter
l_logins_total{{user="alice"}} 1
l_logins_created{{user="alice"}} {}
l_logins_total{{otel_metric_overflow="true"}} 5
l_logins_created{{otel_metric_overflow="true"}} {}
# HELP m_sessions Sessions by user.
# TYPE m_sessions gauge
m_sessions{{user="alice"}} 1
# HELP n_open An up-down counter.
# TYPE n_open gauge
n_open -3
# HELP o_sharded A sharded counter.
# TYPE o_sharded counter
o_sharded_total 3
o_sharded_created {}
# HELP p_per_cpu A per-CPU counter.
# TYPE p_per_cpu counter
p_per_cpu_total 2
p_per_cpu_created {}
# HELP q_striped A striped counter.
# TYPE q_striped counter
q_striped_total 4
q_striped_created {}
# HELP r_sloppy A sloppy counter.
# TYPE r_sloppy counter
r_sloppy_total 8
r_sloppy_created {}
# HELP s_numa A NUMA counter.
# TYPE s_numa counter
s_numa_total 5
s_numa_created {}
# HELP t_per_thread A per-thread counter.
# TYPE t_per_thread counter
t_per_thread_total 7
t_per_thread_created {}
# HELP u_window A windowed histogram.
# TYPE u_window summary
u_window{{quantile="0.5"}} 5.0
u_window{{quantile="0.9"}} 50.0
u_window{{quantile="0.99"}} 50.0
u_window{{quantile="0.999"}} 50.0
u_window_sum 555.0
u_window_count 3
u_window_created {}
# HELP v_rate A windowed rate.
# TYPE v_rate gauge
v_rate 0.5
# EOF
"#,
        c("a_counter"),
        c("b_float_counter"),
        c("g_capped"),
        c("h_counter_fn"),
        created(&r, "j_requests", &["GET", "200"]),
        created(&r, "j_requests", &["POST", "500"]),
        created(&r, "l_logins", &["alice"]),
        overflow_created(&r, "l_logins"),
        c("o_sharded"),
        c("p_per_cpu"),
        c("q_striped"),
        c("r_sloppy"),
        c("s_numa"),
        c("t_per_thread"),
        c("u_window"),
    );
    assert_eq!(render(&r, Format::OpenMetrics), expected);

    drop(local);
    assert!(render(&r, Format::Prometheus).contains("\nr_sloppy_total 10\n"));
}

#[test]
fn self_telemetry_renders_as_ordinary_families() {
    let r = Registry::new();
    let family = Family::<Counter>::builder(["k"])
        .cardinality_limit(1)
        .build()
        .unwrap();
    let hits = r.register("hits", "Hits by key.", family).unwrap();
    hits.get(&["a"]).add(2);
    hits.get(&["b"]).inc(); // refused: to the overflow series
                            // The wrong number of label values: counted apart, routed to the overflow series, and
                            // a panic in a debug build after both.
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        hits.with(&["a", "extra"], |c| c.inc());
    }));
    assert_eq!(caught.is_err(), cfg!(debug_assertions));
    r.register("temp", "A gauge.", Gauge::new()).unwrap().set(3);

    assert_eq!(
        render(&r, Format::Prometheus),
        r#"# HELP hits_total Hits by key.
# TYPE hits_total counter
hits_total{k="a"} 2
hits_total{otel_metric_overflow="true"} 2
# HELP prism_cardinality_limit Cardinality limit of each labelled family.
# TYPE prism_cardinality_limit gauge
prism_cardinality_limit{family="hits"} 1
# HELP prism_families Families registered, self-telemetry excluded.
# TYPE prism_families gauge
prism_families 2
# HELP prism_label_arity_errors_total Lookups given the wrong number of label values, by family (a bug in the calling code; the update went where refused label sets' go).
# TYPE prism_label_arity_errors_total counter
prism_label_arity_errors_total{family="hits"} 1
# HELP prism_refused_label_sets_total Label sets refused by each family: past its cardinality limit, or with a label value it cannot store (too long, or holding NUL); routed to the overflow series or dropped.
# TYPE prism_refused_label_sets_total counter
prism_refused_label_sets_total{family="hits"} 1
# HELP prism_series Series each family exposes, the overflow series included.
# TYPE prism_series gauge
prism_series{family="hits"} 2
prism_series{family="temp"} 1
# HELP prism_updates_total Increments recorded by prism's integer counters, removed series included, function-backed counters excluded; goes down only by wrapping at 2^64.
# TYPE prism_updates_total counter
prism_updates_total 4
# HELP temp A gauge.
# TYPE temp gauge
temp 3
"#
    );
    let om = render(&r, Format::OpenMetrics);
    let refused = created(&r, "prism_refused_label_sets", &["hits"]);
    assert!(om.contains(&format!(
        "prism_refused_label_sets_total{{family=\"hits\"}} 1\n\
         prism_refused_label_sets_created{{family=\"hits\"}} {refused}\n"
    )));
    let arity = created(&r, "prism_label_arity_errors", &["hits"]);
    assert!(om.contains(&format!(
        "# TYPE prism_label_arity_errors counter\n\
         prism_label_arity_errors_total{{family=\"hits\"}} 1\n\
         prism_label_arity_errors_created{{family=\"hits\"}} {arity}\n"
    )));
    assert!(
        om.contains("# TYPE prism_updates counter\nprism_updates_total 4\nprism_updates_created ")
    );
}

#[test]
fn rule_openmetrics_help_is_escaped_and_0_0_4_help_keeps_quotes() {
    let r = bare();
    r.register(
        "odd_help",
        "back\\slash, new\nline, \"quoted\", λ",
        Gauge::new(),
    )
    .unwrap();
    assert_eq!(
        render(&r, Format::Prometheus),
        "# HELP odd_help back\\\\slash, new\\nline, \"quoted\", λ\n\
         # TYPE odd_help gauge\nodd_help 0\n"
    );
    assert_eq!(
        render(&r, Format::OpenMetrics),
        "# HELP odd_help back\\\\slash, new\\nline, \\\"quoted\\\", λ\n\
         # TYPE odd_help gauge\nodd_help 0\n# EOF\n"
    );
}

#[test]
fn empty_help_still_writes_a_help_line() {
    let r = bare();
    r.register("quiet", "", Gauge::new()).unwrap().set(1);
    assert_eq!(
        render(&r, Format::Prometheus),
        "# HELP quiet \n# TYPE quiet gauge\nquiet 1\n"
    );
    assert_eq!(
        render(&r, Format::OpenMetrics),
        "# HELP quiet \n# TYPE quiet gauge\nquiet 1\n# EOF\n"
    );
}

/// NUL has no escape in the text formats: a label value holding it is refused at lookup,
/// its update routed to the overflow series.
#[test]
fn label_values_escape_backslash_quote_newline_keep_non_ascii_and_refuse_nul() {
    let r = bare();
    let f = r
        .register("paths", "Paths.", Family::<Gauge>::new(["path"]))
        .unwrap();
    f.get(&["C:\\dir"]).set(1);
    f.get(&["say \"hi\""]).set(2);
    f.get(&["two\nlines"]).set(3);
    f.get(&["nul\0byte"]).set(4);
    f.get(&["grüße 🦀"]).set(5);
    f.get(&[""]).set(6);
    f.get(&["\\\"\n"]).set(7);
    assert_eq!(f.refused(), 1);
    let samples = "paths{path=\"C:\\\\dir\"} 1\n\
                   paths{path=\"say \\\"hi\\\"\"} 2\n\
                   paths{path=\"two\\nlines\"} 3\n\
                   paths{path=\"grüße 🦀\"} 5\n\
                   paths{path=\"\"} 6\n\
                   paths{path=\"\\\\\\\"\\n\"} 7\n\
                   paths{otel_metric_overflow=\"true\"} 4\n";
    let head = "# HELP paths Paths.\n# TYPE paths gauge\n";
    assert_eq!(render(&r, Format::Prometheus), format!("{head}{samples}"));
    assert_eq!(
        render(&r, Format::OpenMetrics),
        format!("{head}{samples}# EOF\n")
    );
}

#[test]
fn escaped_label_values_reach_openmetrics_created_lines_unchanged() {
    let r = bare();
    let f = r
        .register("odd", "Odd labels.", Family::<Counter>::new(["v"]))
        .unwrap();
    let value = "a \"b\" \\ c\nd 1 _total";
    f.get(&[value]).inc();
    let ts = created(&r, "odd", &[value]);
    assert_eq!(
        render(&r, Format::OpenMetrics),
        format!(
            "# HELP odd Odd labels.\n# TYPE odd counter\n\
             odd_total{{v=\"a \\\"b\\\" \\\\ c\\nd 1 _total\"}} 1\n\
             odd_created{{v=\"a \\\"b\\\" \\\\ c\\nd 1 _total\"}} {ts}\n# EOF\n"
        )
    );
}

#[test]
fn rule_openmetrics_non_finite_values_are_nan_plus_inf_minus_inf() {
    let r = bare();
    let f = r
        .register("ratio", "Ratios.", Family::<FloatGauge>::new(["case"]))
        .unwrap();
    f.get(&["nan"]).set(f64::NAN);
    f.get(&["pos"]).set(f64::INFINITY);
    f.get(&["neg"]).set(f64::NEG_INFINITY);
    f.get(&["inf"]).set(1.0);
    let samples = "ratio{case=\"nan\"} NaN\n\
                   ratio{case=\"pos\"} +Inf\n\
                   ratio{case=\"neg\"} -Inf\n\
                   ratio{case=\"inf\"} 1.0\n";
    let head = "# HELP ratio Ratios.\n# TYPE ratio gauge\n";
    assert_eq!(render(&r, Format::Prometheus), format!("{head}{samples}"));
    assert_eq!(
        render(&r, Format::OpenMetrics),
        format!("{head}{samples}# EOF\n")
    );
}

#[test]
fn rule_openmetrics_infinite_counter_is_plus_inf_with_its_created_line() {
    let r = bare();
    r.register(
        "forever",
        "A counter read as +Inf.",
        CounterFn::new(|| f64::INFINITY),
    )
    .unwrap();
    let ts = created(&r, "forever", &[]);
    assert_eq!(
        render(&r, Format::OpenMetrics),
        format!(
            "# HELP forever A counter read as +Inf.\n# TYPE forever counter\n\
             forever_total +Inf\nforever_created {ts}\n# EOF\n"
        )
    );
    assert_eq!(
        render(&r, Format::Prometheus),
        "# HELP forever_total A counter read as +Inf.\n# TYPE forever_total counter\n\
         forever_total +Inf\n"
    );
}

#[test]
fn integers_above_2_pow_53_print_exactly() {
    let r = bare();
    r.register("big", "Big counter.", Counter::new())
        .unwrap()
        .add((1u64 << 53) + 1);
    r.register("biggest", "Largest counter.", Counter::new())
        .unwrap()
        .add(u64::MAX);
    r.register("high", "Largest gauge.", Gauge::new())
        .unwrap()
        .set(i64::MAX);
    r.register("low", "Smallest gauge.", Gauge::new())
        .unwrap()
        .set(i64::MIN);
    let text = render(&r, Format::Prometheus);
    assert!(text.contains("\nbig_total 9007199254740993\n"), "{text}");
    assert!(
        text.contains("\nbiggest_total 18446744073709551615\n"),
        "{text}"
    );
    assert!(text.contains("\nhigh 9223372036854775807\n"), "{text}");
    assert!(text.contains("\nlow -9223372036854775808\n"), "{text}");
    let om = render(&r, Format::OpenMetrics);
    assert!(
        om.contains("\nbig_total 9007199254740993\nbig_created "),
        "{om}"
    );
    assert!(
        om.contains("\nbiggest_total 18446744073709551615\nbiggest_created "),
        "{om}"
    );
    assert!(om.contains("\nhigh 9223372036854775807\n"), "{om}");
    assert!(om.contains("\nlow -9223372036854775808\n"), "{om}");
}

#[test]
fn floats_print_shortest_round_trip() {
    let r = bare();
    let f = r
        .register("f", "Floats.", Family::<FloatGauge>::new(["v"]))
        .unwrap();
    let cases: [(&str, f64); 8] = [
        ("tenth", 0.1),
        ("third", 1.0 / 3.0),
        ("whole", 3.0),
        ("neg_zero", -0.0),
        ("huge", 1e300),
        ("tiny", 5e-324),
        ("max", f64::MAX),
        ("big_int", 9007199254740993.0),
    ];
    for (name, v) in cases {
        f.get(&[name]).set(v);
    }
    for format in [Format::Prometheus, Format::OpenMetrics] {
        let text = render(&r, format);
        for (name, v) in cases {
            let prefix = format!("f{{v=\"{name}\"}} ");
            let line = text.lines().find(|l| l.starts_with(&prefix)).expect(name);
            let printed = &line[prefix.len()..];
            let back: f64 = printed.parse().unwrap();
            assert_eq!(back.to_bits(), v.to_bits(), "{format:?} {name}: {printed}");
        }
        assert!(text.contains("f{v=\"tenth\"} 0.1\n"));
        assert!(text.contains("f{v=\"whole\"} 3.0\n"));
    }
}

#[test]
fn rule_unit_is_not_appended_twice() {
    let r = bare();
    r.register_with(
        Metadata::new("job_duration_seconds", "Time spent in jobs.").unit("seconds"),
        FloatCounter::new(),
    )
    .unwrap()
    .add(2.5);
    r.register_with(
        Metadata::new("heap_bytes", "Heap in use.").unit("bytes"),
        Family::<Gauge>::new(["arena"]),
    )
    .unwrap()
    .get(&["main"])
    .set(4096);
    assert_eq!(
        render(&r, Format::Prometheus),
        r#"# HELP heap_bytes Heap in use.
# TYPE heap_bytes gauge
heap_bytes{arena="main"} 4096
# HELP job_duration_seconds_total Time spent in jobs.
# TYPE job_duration_seconds_total counter
job_duration_seconds_total 2.5
"#
    );
    let ts = created(&r, "job_duration_seconds", &[]);
    assert_eq!(
        render(&r, Format::OpenMetrics),
        format!(
            r#"# HELP heap_bytes Heap in use.
# TYPE heap_bytes gauge
# UNIT heap_bytes bytes
heap_bytes{{arena="main"}} 4096
# HELP job_duration_seconds Time spent in jobs.
# TYPE job_duration_seconds counter
# UNIT job_duration_seconds seconds
job_duration_seconds_total 2.5
job_duration_seconds_created {ts}
# EOF
"#
        )
    );
}

#[test]
fn rule_openmetrics_created_is_the_exact_series_start() {
    let r = bare();
    let f = r
        .register("starts", "Starts.", Family::<Counter>::new(["n"]))
        .unwrap();
    for n in 0..50 {
        f.get(&[n.to_string()]).inc();
    }
    let snapshot = r.snapshot();
    let text = render(&r, Format::OpenMetrics);
    let created_lines: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("starts_created"))
        .collect();
    assert_eq!(created_lines.len(), 50);
    for (series, line) in snapshot
        .family("starts")
        .unwrap()
        .series
        .iter()
        .zip(created_lines)
    {
        let expected = format!(
            "starts_created{{n=\"{}\"}} {}",
            series.label_values[0],
            seconds(series.created_unix_nanos)
        );
        assert_eq!(line, expected);
        assert!(
            series.created_unix_nanos > 1_600_000_000_000_000_000,
            "a real clock reading"
        );
    }
}

/// A custom metric of a kind core declares but has no values for yet.
#[derive(Clone)]
struct FakeHistogram;

impl Metric for FakeHistogram {
    const KIND: Kind = Kind::Histogram;
    fn read(&self) -> Value {
        Value::Gauge(4)
    }
}

#[test]
fn a_kind_without_its_values_is_rendered_as_unknown() {
    let r = bare();
    r.register("latency", "Not really a histogram.", FakeHistogram)
        .unwrap();
    assert_eq!(
        render(&r, Format::Prometheus),
        "# HELP latency Not really a histogram.\n# TYPE latency untyped\nlatency 4\n"
    );
    assert_eq!(
        render(&r, Format::OpenMetrics),
        "# HELP latency Not really a histogram.\n# TYPE latency unknown\nlatency 4\n# EOF\n"
    );
}

#[test]
fn string_bytes_and_writer_outputs_agree_and_append() {
    let r = bare();
    r.register("x", "X.", Gauge::new()).unwrap().set(1);
    for format in [Format::Prometheus, Format::OpenMetrics] {
        let expected = render(&r, format);
        let mut s = String::from("before\n");
        render_into(&r, format, &mut s);
        assert_eq!(s, format!("before\n{expected}"));
        let mut v = b"before\n".to_vec();
        render_into_vec(&r, format, &mut v);
        assert_eq!(v, format!("before\n{expected}").into_bytes());
        let mut w = String::new();
        encode(&r, format, &mut w).unwrap();
        assert_eq!(w, expected);
        let dyn_writer: &mut dyn fmt::Write = &mut w;
        encode(&r, format, dyn_writer).unwrap();
        assert_eq!(w, format!("{expected}{expected}"));
    }
}

/// A writer that fails after `budget` bytes.
struct Failing {
    budget: usize,
    written: String,
}

impl fmt::Write for Failing {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.written.len() + s.len() > self.budget {
            return Err(fmt::Error);
        }
        self.written.push_str(s);
        Ok(())
    }
}

#[test]
fn a_failing_writer_is_reported_not_panicked_on() {
    let r = bare();
    let f = r
        .register("many", "Many.", Family::<Counter>::new(["i"]))
        .unwrap();
    for i in 0..2000 {
        f.get(&[i.to_string()]).inc();
    }
    for format in [Format::Prometheus, Format::OpenMetrics] {
        let full = render(&r, format).len();
        for budget in [0, 10, 5000, full / 2, full - 1] {
            let mut w = Failing {
                budget,
                written: String::new(),
            };
            assert_eq!(
                encode(&r, format, &mut w),
                Err(fmt::Error),
                "{format:?} {budget}"
            );
        }
        let mut w = Failing {
            budget: usize::MAX,
            written: String::new(),
        };
        assert_eq!(encode(&r, format, &mut w), Ok(()));
        assert_eq!(w.written, render(&r, format));
    }
}

#[test]
fn a_renderer_follows_the_registry_between_renders() {
    let r = bare();
    let mut renderer = Renderer::new(r.clone());
    assert_eq!(renderer.render(Format::Prometheus), "");
    let f = r
        .register("grow", "Grows.", Family::<Gauge>::new(["k"]))
        .unwrap();
    f.get(&["a"]).set(1);
    assert_eq!(
        renderer.render(Format::Prometheus),
        "# HELP grow Grows.\n# TYPE grow gauge\ngrow{k=\"a\"} 1\n"
    );
    f.get(&["b"]).set(2);
    assert!(f.remove(&["a"]));
    r.register_with(
        Metadata::new("after_bytes", "Later.").unit("bytes"),
        Gauge::new(),
    )
    .unwrap();
    assert_eq!(
        renderer.render(Format::OpenMetrics),
        "# HELP after_bytes Later.\n# TYPE after_bytes gauge\n# UNIT after_bytes bytes\n\
         after_bytes 0\n# HELP grow Grows.\n# TYPE grow gauge\ngrow{k=\"b\"} 2\n# EOF\n"
    );
    assert!(r.unregister("grow"));
    assert_eq!(
        renderer.render(Format::Prometheus),
        "# HELP after_bytes Later.\n# TYPE after_bytes gauge\nafter_bytes 0\n"
    );
    assert_eq!(renderer.registry().descriptors().len(), 1);
}

#[test]
fn a_family_without_labels_renders_without_braces() {
    let r = bare();
    let f = r
        .register(
            "solo",
            "No labels.",
            Family::<Counter>::new(Vec::<String>::new()),
        )
        .unwrap();
    f.get::<&str>(&[]).add(4);
    assert_eq!(
        render(&r, Format::Prometheus),
        "# HELP solo_total No labels.\n# TYPE solo_total counter\nsolo_total 4\n"
    );
}

#[test]
fn large_families_are_exact_across_prometheus_client_buffer_flushes() {
    // Lines of every length from 30 to 230 bytes, so that prometheus-client's 4 KiB buffer
    // flushes fall at every offset within a line.
    let r = bare();
    let counters = Family::<Counter>::builder(["k"])
        .cardinality_limit(3000)
        .build();
    let f = r.register("big", "Big.", counters.unwrap()).unwrap();
    let gauges = Family::<FloatGauge>::builder(["k"])
        .cardinality_limit(3000)
        .build();
    let g = r.register("wide", "Wide.", gauges.unwrap()).unwrap();
    let value = |i: usize| format!("v{i}-{}", "x".repeat(i % 200));
    for i in 0..3000 {
        f.get(&[value(i)]).add(i as u64);
        let level = match i % 4 {
            0 => f64::NAN,
            1 => f64::INFINITY,
            2 => f64::NEG_INFINITY,
            _ => i as f64 + 0.5,
        };
        g.get(&[value(i)]).set(level);
    }
    let level_text = |i: usize| match i % 4 {
        0 => "NaN".to_owned(),
        1 => "+Inf".to_owned(),
        2 => "-Inf".to_owned(),
        _ => format!("{}.5", i),
    };
    let mut text = String::from("# HELP big_total Big.\n# TYPE big_total counter\n");
    for i in 0..3000 {
        text.push_str(&format!("big_total{{k=\"{}\"}} {i}\n", value(i)));
    }
    text.push_str("# HELP wide Wide.\n# TYPE wide gauge\n");
    for i in 0..3000 {
        text.push_str(&format!("wide{{k=\"{}\"}} {}\n", value(i), level_text(i)));
    }
    assert_eq!(render(&r, Format::Prometheus), text);

    let snapshot = r.snapshot();
    let big = snapshot.family("big").unwrap();
    let mut om = String::from("# HELP big Big.\n# TYPE big counter\n");
    for i in 0..3000 {
        let k = value(i);
        om.push_str(&format!("big_total{{k=\"{k}\"}} {i}\n"));
        om.push_str(&format!(
            "big_created{{k=\"{k}\"}} {}\n",
            seconds(big.series(&[&k]).unwrap().created_unix_nanos)
        ));
    }
    om.push_str("# HELP wide Wide.\n# TYPE wide gauge\n");
    for i in 0..3000 {
        om.push_str(&format!("wide{{k=\"{}\"}} {}\n", value(i), level_text(i)));
    }
    om.push_str("# EOF\n");
    assert_eq!(render(&r, Format::OpenMetrics), om);
}

#[test]
fn openmetrics_created_can_be_left_out() {
    let r = bare();
    let f = r
        .register("hits", "Hits.", Family::<Counter>::new(["k"]))
        .unwrap();
    f.get(&["a"]).inc();
    r.register("ratio", "Ratio.", FloatGauge::new())
        .unwrap()
        .set(f64::INFINITY);
    r.register("odd", "Odd.", CounterFn::new(|| f64::INFINITY))
        .unwrap();
    let mut renderer = Renderer::new(r.clone()).openmetrics_created(false);
    assert_eq!(
        renderer.render(Format::OpenMetrics),
        "# HELP hits Hits.\n# TYPE hits counter\nhits_total{k=\"a\"} 1\n\
         # HELP odd Odd.\n# TYPE odd counter\nodd_total +Inf\n\
         # HELP ratio Ratio.\n# TYPE ratio gauge\nratio +Inf\n# EOF\n"
    );
    assert_eq!(
        renderer.render(Format::Prometheus),
        render(&r, Format::Prometheus)
    );
    assert!(Renderer::new(r)
        .render(Format::OpenMetrics)
        .contains("\nhits_created{k=\"a\"} "));
}

fn latency() -> prism_core::Histogram {
    prism_core::Histogram::builder()
        .unit_scale(1.0)
        .highest(1000)
        .buckets([10.0, 100.0])
        .build()
        .unwrap()
}

#[test]
fn histograms_in_both_formats() {
    let r = bare();
    let h = r
        .register(
            "rpc_latency",
            "RPC latency.",
            Family::<prism_core::Histogram>::builder(["method"])
                .build_with(latency)
                .unwrap(),
        )
        .unwrap();
    for v in [5, 50, 50, 500] {
        h.get(&["get"]).record(v);
    }
    h.get(&["put \"x\""]);
    assert_eq!(
        render(&r, Format::Prometheus),
        r#"# HELP rpc_latency RPC latency.
# TYPE rpc_latency histogram
rpc_latency_bucket{method="get",le="10"} 1
rpc_latency_bucket{method="get",le="100"} 3
rpc_latency_bucket{method="get",le="+Inf"} 4
rpc_latency_sum{method="get"} 605.0
rpc_latency_count{method="get"} 4
rpc_latency_bucket{method="put \"x\"",le="10"} 0
rpc_latency_bucket{method="put \"x\"",le="100"} 0
rpc_latency_bucket{method="put \"x\"",le="+Inf"} 0
rpc_latency_sum{method="put \"x\""} 0.0
rpc_latency_count{method="put \"x\""} 0
"#
    );
    let get = created(&r, "rpc_latency", &["get"]);
    let put = created(&r, "rpc_latency", &["put \"x\""]);
    assert_eq!(
        render(&r, Format::OpenMetrics),
        format!(
            r#"# HELP rpc_latency RPC latency.
# TYPE rpc_latency histogram
rpc_latency_sum{{method="get"}} 605.0
rpc_latency_count{{method="get"}} 4
rpc_latency_created{{method="get"}} {get}
rpc_latency_bucket{{le="10.0",method="get"}} 1
rpc_latency_bucket{{le="100.0",method="get"}} 3
rpc_latency_bucket{{le="+Inf",method="get"}} 4
rpc_latency_sum{{method="put \"x\""}} 0.0
rpc_latency_count{{method="put \"x\""}} 0
rpc_latency_created{{method="put \"x\""}} {put}
rpc_latency_bucket{{le="10.0",method="put \"x\""}} 0
rpc_latency_bucket{{le="100.0",method="put \"x\""}} 0
rpc_latency_bucket{{le="+Inf",method="put \"x\""}} 0
# EOF
"#
        )
    );
}

#[test]
fn summaries_in_both_formats() {
    let r = bare();
    let s = r
        .register_with(
            Metadata::new("job_seconds", "Job \"time\",\nin seconds.").unit("seconds"),
            prism_core::Summary::new(),
        )
        .unwrap();
    let empty = Family::<prism_core::Summary>::new(["queue"]);
    let queues = r.register("wait", "Waits.", empty).unwrap();
    queues.get(&["a\\b"]);
    s.record(2_000_000_000);
    let snapshot = r.snapshot();
    let Value::Summary(read) = &snapshot.family("job_seconds").unwrap().series[0].value else {
        panic!("a summary reads as Value::Summary");
    };
    let q = |i: usize| format!("{:?}", read.quantiles().nth(i).unwrap().1.unwrap());
    let text = render(&r, Format::Prometheus);
    assert_eq!(
        text,
        format!(
            r#"# HELP job_seconds Job "time",\nin seconds.
# TYPE job_seconds summary
job_seconds{{quantile="0.5"}} {}
job_seconds{{quantile="0.9"}} {}
job_seconds{{quantile="0.99"}} {}
job_seconds{{quantile="0.999"}} {}
job_seconds_sum {:?}
job_seconds_count 1
# HELP wait Waits.
# TYPE wait summary
wait{{queue="a\\b",quantile="0.5"}} NaN
wait{{queue="a\\b",quantile="0.9"}} NaN
wait{{queue="a\\b",quantile="0.99"}} NaN
wait{{queue="a\\b",quantile="0.999"}} NaN
wait_sum{{queue="a\\b"}} 0.0
wait_count{{queue="a\\b"}} 0
"#,
            q(0),
            q(1),
            q(2),
            q(3),
            read.sum()
        )
    );
    let om = render(&r, Format::OpenMetrics);
    let job = created(&r, "job_seconds", &[]);
    let wait = created(&r, "wait", &["a\\b"]);
    assert!(om.starts_with(
        "# HELP job_seconds Job \\\"time\\\",\\nin seconds.\n# TYPE job_seconds summary\n\
         # UNIT job_seconds seconds\njob_seconds{quantile=\"0.5\"} "
    ));
    assert!(om.contains(&format!(
        "\njob_seconds_count 1\njob_seconds_created {job}\n# HELP wait"
    )));
    assert!(om.ends_with(&format!(
        "wait_count{{queue=\"a\\\\b\"}} 0\nwait_created{{queue=\"a\\\\b\"}} {wait}\n# EOF\n"
    )));
    let plain = Renderer::new(r)
        .openmetrics_created(false)
        .render(Format::OpenMetrics);
    assert!(!plain.contains("_created"));
}

/// A family registered by its OpenTelemetry name prints under the Prometheus names core
/// translated it to: dots to `_`, the unit suffix, `_total` on a counter.
#[test]
fn otel_named_families_print_their_prometheus_translation() {
    let r = bare();
    r.register_with(
        Metadata::otel("http.server.requests", "{request}", "Requests."),
        Family::<Counter>::new(["http.request.method", "http.response.status_code"]),
    )
    .unwrap()
    .get(&["GET", "200"])
    .add(2);
    r.register_with(
        Metadata::otel("system.memory.utilization", "1", "Memory in use."),
        FloatGauge::new(),
    )
    .unwrap()
    .set(0.5);
    assert_eq!(
        render(&r, Format::Prometheus),
        "# HELP http_server_requests_total Requests.\n\
         # TYPE http_server_requests_total counter\n\
         http_server_requests_total{http_request_method=\"GET\",http_response_status_code=\"200\"} 2\n\
         # HELP system_memory_utilization_ratio Memory in use.\n\
         # TYPE system_memory_utilization_ratio gauge\n\
         system_memory_utilization_ratio 0.5\n"
    );
    let om = render(&r, Format::OpenMetrics);
    assert!(
        om.contains("# UNIT system_memory_utilization_ratio ratio\n"),
        "{om}"
    );
}
