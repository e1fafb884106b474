//! The Prometheus rules against Prometheus' own rule engine.
//!
//! `tests/rules/` holds the rules file of one SLO and, per scenario (steady errors, a burst,
//! a slow burn, a recovery), a `promtool test rules` file. The scenario files are generated
//! from the in-process tracker: fed the same series through a manual clock, the tracker's
//! alert transitions become assertions that Prometheus' alert is in the old state two
//! evaluations before and in the new state one evaluation after (so Prometheus changes
//! state at the same step, within one evaluation interval), and its error ratios over
//! windows that lie inside one steady stretch become assertions that the recorded ratio is
//! within 1 % of the tracker's.
//!
//! The files are checked in; this test fails when they differ from what the code generates
//! (run it with `PRISM_BLESS=1` to write them). `promtool` is installed by
//! `.ci/setup.d/prom.sh`; without it the promtool checks fail under `CI=true` and print one
//! SKIPPED line otherwise.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use prism_core::{Counter, ManualClock, Registry};
use prism_slo::{error_ratio_record, prometheus_rules, Slo, Source, Watch, DEFAULT_WINDOWS};
use yaml_rust2::yaml::Hash;
use yaml_rust2::{Yaml, YamlEmitter, YamlLoader};

const MIN: Duration = Duration::from_secs(60);
const RULES: &str = "api.rules.yml";

/// A stretch of steady traffic: `minutes` long, `requests` and `errors` per step.
#[derive(Clone, Copy)]
struct Stretch {
    minutes: u64,
    requests: u64,
    errors: u64,
}

const fn stretch(minutes: u64, requests: u64, errors: u64) -> Stretch {
    Stretch {
        minutes,
        requests,
        errors,
    }
}

struct Scenario {
    name: &'static str,
    /// Minutes between samples and between evaluations.
    step: u64,
    stretches: &'static [Stretch],
}

const SCENARIOS: [Scenario; 4] = [
    // 2 % errors, 20 times what 99.9 % allows: every alert fires at once.
    Scenario {
        name: "steady_errors",
        step: 1,
        stretches: &[stretch(180, 1000, 20)],
    },
    // Three quiet hours at half the allowed ratio, ten minutes of 20 % errors, an hour of quiet.
    Scenario {
        name: "burst",
        step: 1,
        stretches: &[
            stretch(180, 10_000, 5),
            stretch(10, 10_000, 2000),
            stretch(60, 10_000, 5),
        ],
    },
    // A clean day, then 4x for 20 hours: only the 3x-over-a-day ticket fires, late.
    Scenario {
        name: "slow_burn",
        step: 5,
        stretches: &[stretch(1440, 50_000, 0), stretch(1200, 50_000, 200)],
    },
    // An hour at 20x, then clean: the page fires, then resolves as the windows clear.
    Scenario {
        name: "recovery",
        step: 1,
        stretches: &[stretch(60, 1000, 20), stretch(120, 1000, 0)],
    },
];

/// The alerts whose state the scenarios follow, with the state the tracker reports.
const ALERTS: [&str; 3] = ["SloBurnRatePage", "SloBurnRateTicket", "SloBudgetExhausted"];

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/rules")
}

fn build(clock: &ManualClock) -> (Slo, Counter, Counter) {
    let registry = Registry::new();
    let requests = Counter::new();
    let errors = Counter::new();
    let slo = Slo::errors_over_total(
        "api",
        Source::counter("http_errors", &errors),
        Source::counter("http_requests", &requests),
    )
    .objective(0.999)
    .clock(clock.clone())
    .register(&registry)
    .unwrap();
    (slo, requests, errors)
}

/// What the tracker saw at each evaluation: the time (minutes), each alert's state, and the
/// error ratio over each default window.
struct Timeline {
    minutes: Vec<u64>,
    firing: Vec<[bool; 3]>,
    ratios: Vec<Vec<f64>>,
    requests: Vec<u64>,
    errors: Vec<u64>,
}

fn run(scenario: &Scenario) -> Timeline {
    let clock = ManualClock::new();
    let (slo, requests, errors) = build(&clock);
    let mut t = Timeline {
        minutes: Vec::new(),
        firing: Vec::new(),
        ratios: Vec::new(),
        requests: Vec::new(),
        errors: Vec::new(),
    };
    let observe = |minute: u64, t: &mut Timeline| {
        clock.set(MIN * minute as u32);
        slo.tick();
        t.minutes.push(minute);
        t.firing
            .push([slo.firing("page"), slo.firing("ticket"), slo.exhausted()]);
        t.ratios.push(
            DEFAULT_WINDOWS
                .iter()
                .map(|w| slo.error_ratio(*w))
                .collect(),
        );
        t.requests.push(requests.get());
        t.errors.push(errors.get());
    };
    observe(0, &mut t);
    let mut minute = 0;
    for s in scenario.stretches {
        for _ in 0..s.minutes / scenario.step {
            minute += scenario.step;
            requests.add(s.requests);
            errors.add(s.errors);
            observe(minute, &mut t);
        }
    }
    t
}

fn s(v: impl Into<String>) -> Yaml {
    Yaml::String(v.into())
}

fn map<'a>(entries: impl IntoIterator<Item = (&'a str, Yaml)>) -> Yaml {
    let mut h = Hash::new();
    for (k, v) in entries {
        h.insert(s(k), v);
    }
    Yaml::Hash(h)
}

fn dump(doc: &Yaml) -> String {
    let mut out = String::new();
    YamlEmitter::new(&mut out).dump(doc).unwrap();
    out.push('\n');
    out
}

/// Each alert's labels and annotations, read from the rules file.
fn alert_definitions(rules: &str) -> Vec<(String, Yaml, Yaml)> {
    let docs = YamlLoader::load_from_str(rules).unwrap();
    let mut out = Vec::new();
    for group in docs[0]["groups"].as_vec().unwrap() {
        for rule in group["rules"].as_vec().unwrap() {
            if let Some(alert) = rule["alert"].as_str() {
                let annotations = match &rule["annotations"] {
                    Yaml::BadValue => map([]),
                    a => a.clone(),
                };
                out.push((alert.to_owned(), rule["labels"].clone(), annotations));
            }
        }
    }
    out
}

/// `promtool`'s values notation for a cumulative series: one value per step.
fn values(v: &[u64]) -> String {
    let mut out = String::new();
    for x in v {
        write!(out, "{x} ").unwrap();
    }
    out.pop();
    out
}

fn test_file(scenario: &Scenario, t: &Timeline, rules: &str) -> String {
    let defs = alert_definitions(rules);
    let step = scenario.step;
    let at = |i: usize| format!("{}m", t.minutes[i]);
    let mut alert_tests = Vec::new();
    for (a, alert) in ALERTS.iter().enumerate() {
        let (_, labels, annotations) = defs.iter().find(|(n, _, _)| n == alert).unwrap();
        let expect = |i: usize, firing: bool| {
            let alerts = if firing {
                vec![map([
                    ("exp_labels", labels.clone()),
                    ("exp_annotations", annotations.clone()),
                ])]
            } else {
                Vec::new()
            };
            map([
                ("eval_time", s(at(i))),
                ("alertname", s(*alert)),
                ("exp_alerts", Yaml::Array(alerts)),
            ])
        };
        let changes: Vec<usize> = (1..t.firing.len())
            .filter(|&i| t.firing[i][a] != t.firing[i - 1][a])
            .collect();
        for (k, &i) in changes.iter().enumerate() {
            let before = if k == 0 { 0 } else { changes[k - 1] };
            let after = changes.get(k + 1).copied().unwrap_or(t.firing.len());
            // The old state two evaluations before, the new one an evaluation after: a
            // Prometheus that changes state within one evaluation of the tracker passes.
            if i >= 2 && i - 2 >= before {
                alert_tests.push(expect(i - 2, t.firing[i - 1][a]));
            }
            if i + 1 < after {
                alert_tests.push(expect(i + 1, t.firing[i][a]));
            }
        }
        // And the state at the end.
        let last = t.firing.len() - 1;
        alert_tests.push(expect(last, t.firing[last][a]));
    }
    // Ratios: at the end of each stretch, for each window that lies inside it (one step of
    // margin for the sample at the window's start).
    let mut expr_tests = Vec::new();
    let mut end = 0u64;
    for stretch in scenario.stretches {
        let start = end;
        end += stretch.minutes;
        let i = t.minutes.iter().position(|m| *m == end).unwrap();
        for (w, window) in DEFAULT_WINDOWS.iter().enumerate() {
            let wm = window.as_secs() / 60;
            if start + wm + step > end || wm < 2 * step {
                continue;
            }
            let ratio = t.ratios[i][w];
            let series = format!("{}{{slo=\"api\"}}", error_ratio_record(*window));
            let expr = if ratio == 0.0 {
                format!("{series} == bool 0")
            } else {
                format!("abs({series} / {ratio:?} - 1) < bool 0.01")
            };
            expr_tests.push(map([
                ("expr", s(expr)),
                ("eval_time", s(at(i))),
                (
                    "exp_samples",
                    Yaml::Array(vec![map([
                        ("labels", s("{slo=\"api\"}")),
                        ("value", Yaml::Integer(1)),
                    ])]),
                ),
            ]));
        }
    }
    let doc = map([
        ("rule_files", Yaml::Array(vec![s(RULES)])),
        ("evaluation_interval", s(format!("{step}m"))),
        (
            "tests",
            Yaml::Array(vec![map([
                ("interval", s(format!("{step}m"))),
                (
                    "input_series",
                    Yaml::Array(vec![
                        map([
                            ("series", s("http_requests_total")),
                            ("values", s(values(&t.requests))),
                        ]),
                        map([
                            ("series", s("http_errors_total")),
                            ("values", s(values(&t.errors))),
                        ]),
                    ]),
                ),
                ("alert_rule_test", Yaml::Array(alert_tests)),
                ("promql_expr_test", Yaml::Array(expr_tests)),
            ])]),
        ),
    ]);
    format!(
        "# Generated by slo/tests/promtool.rs from the in-process tracker (scenario {}); \
         PRISM_BLESS=1 rewrites it.\n{}",
        scenario.name,
        dump(&doc)
    )
}

/// The series-growth watch fed a family that grows: 10 quiet minutes, 40 minutes of 25 new
/// series a minute, 40 quiet minutes. Returns each minute's `prism_series{family="logins"}`
/// and whether the watch fired.
fn run_watch() -> (Vec<f64>, Vec<bool>) {
    let registry = Registry::new();
    let logins = registry
        .register(
            "logins",
            "Logins.",
            prism_core::Family::<Counter>::new(["user"]),
        )
        .unwrap();
    let clock = ManualClock::new();
    let watch = Watch::series_growth("cardinality", &registry, 10 * MIN, 200.0)
        .clock(clock.clone())
        .register()
        .unwrap();
    let (mut series, mut firing) = (Vec::new(), Vec::new());
    let mut next = 0;
    for minute in 0..=90u32 {
        let new = if (11..=50).contains(&minute) { 25 } else { 0 };
        for _ in 0..new {
            logins.get(&[next.to_string()]).inc();
            next += 1;
        }
        clock.set(MIN * minute);
        watch.tick();
        series.push(logins.len() as f64);
        firing.push(watch.firing());
    }
    (series, firing)
}

fn watch_test_file(rules: &str) -> String {
    let (series, firing) = run_watch();
    let defs = alert_definitions(rules);
    let (_, labels, _) = defs
        .iter()
        .find(|(n, _, _)| n == "PrismSeriesGrowth")
        .unwrap();
    let mut labels = labels.clone();
    if let Yaml::Hash(h) = &mut labels {
        h.insert(s("family"), s("logins"));
    }
    let expect = |i: usize| {
        let alerts = if firing[i] {
            vec![map([("exp_labels", labels.clone())])]
        } else {
            Vec::new()
        };
        map([
            ("eval_time", s(format!("{i}m"))),
            ("alertname", s("PrismSeriesGrowth")),
            ("exp_alerts", Yaml::Array(alerts)),
        ])
    };
    let changes: Vec<usize> = (1..firing.len())
        .filter(|&i| firing[i] != firing[i - 1])
        .collect();
    assert_eq!(changes.len(), 2, "the watch fires once and resolves");
    let mut tests = Vec::new();
    for i in changes {
        tests.push(expect(i - 2));
        tests.push(expect(i + 1));
    }
    let values: Vec<String> = series.iter().map(|v| v.to_string()).collect();
    let doc = map([
        ("rule_files", Yaml::Array(vec![s(RULES)])),
        ("evaluation_interval", s("1m")),
        (
            "tests",
            Yaml::Array(vec![map([
                ("interval", s("1m")),
                (
                    "input_series",
                    Yaml::Array(vec![map([
                        ("series", s("prism_series{family=\"logins\"}")),
                        ("values", s(values.join(" "))),
                    ])]),
                ),
                ("alert_rule_test", Yaml::Array(tests)),
            ])]),
        ),
    ]);
    format!(
        "# Generated by slo/tests/promtool.rs from the in-process watch (series growth); \
         PRISM_BLESS=1 rewrites it.\n{}",
        dump(&doc)
    )
}

/// Every generated file, by name.
fn generated() -> Vec<(String, String)> {
    let clock = ManualClock::new();
    let (slo, _, _) = build(&clock);
    let registry = Registry::new();
    let watches = [
        Watch::series_growth("cardinality", &registry, 10 * MIN, 200.0),
        Watch::refused_rising("refusals", &registry, 10 * MIN),
        Watch::registry_size("size", &registry, 100_000.0).severity("page"),
    ]
    .map(|w| w.register().unwrap());
    let watches: Vec<&Watch> = watches.iter().collect();
    let rules = prometheus_rules(&[&slo], &watches).unwrap();
    let mut files = vec![
        (RULES.to_owned(), rules.clone()),
        ("series_growth.test.yml".to_owned(), watch_test_file(&rules)),
    ];
    for scenario in &SCENARIOS {
        let t = run(scenario);
        files.push((
            format!("{}.test.yml", scenario.name),
            test_file(scenario, &t, &rules),
        ));
    }
    files
}

#[test]
fn checked_in_rules_and_tests_are_what_the_code_generates() {
    let bless = std::env::var_os("PRISM_BLESS").is_some();
    for (name, text) in generated() {
        let path = dir().join(&name);
        if bless {
            std::fs::create_dir_all(dir()).unwrap();
            std::fs::write(&path, &text).unwrap();
            continue;
        }
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            on_disk == text,
            "{} differs from what the code generates: run `PRISM_BLESS=1 cargo test -p prism-slo \
             --test promtool` and review the diff",
            path.display()
        );
    }
}

#[test]
fn every_scenario_changes_some_alert() {
    // A scenario in which nothing happens would prove nothing about timing.
    for scenario in &SCENARIOS {
        let t = run(scenario);
        let changed = (1..t.firing.len()).any(|i| t.firing[i] != t.firing[i - 1]);
        assert!(changed, "{}", scenario.name);
    }
    // The slow burn pages never and tickets late.
    let t = run(&SCENARIOS[2]);
    assert!(t.firing.iter().all(|f| !f[0]));
    let first = t.firing.iter().position(|f| f[1]).unwrap();
    // Hours into the burn: when 4x over the whole history passes 1x over 3d and 6h.
    assert!(t.minutes[first] > 1440 + 360, "{}", t.minutes[first]);
}

/// `promtool`, or `None` after the SKIPPED line (a failure under `CI=true`).
fn promtool() -> Option<PathBuf> {
    let found = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join("promtool"))
        .find(|p| p.is_file());
    if found.is_none() {
        let message = "`promtool` is not on PATH; install it with `bash .ci/setup.d/prom.sh` \
                       (Debian package `prometheus`)";
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{message}");
        eprintln!("\n!!! SKIPPED (promtool rules checks): {message}\n");
    }
    found
}

fn promtool_run(promtool: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(promtool)
        .args(args)
        .current_dir(dir())
        .output()
        .expect("run promtool");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn promtool_check_rules_accepts_the_rules_file() {
    let Some(promtool) = promtool() else { return };
    let (ok, out) = promtool_run(&promtool, &["check", "rules", RULES]);
    assert!(ok, "{out}");
    assert!(out.contains("SUCCESS"), "{out}");
}

#[test]
fn prometheus_fires_where_the_tracker_and_the_watch_fire_in_every_scenario() {
    let Some(promtool) = promtool() else { return };
    let files = SCENARIOS
        .iter()
        .map(|s| s.name)
        .chain(["series_growth"])
        .map(|name| format!("{name}.test.yml"));
    for file in files {
        let (ok, out) = promtool_run(&promtool, &["test", "rules", &file]);
        assert!(ok, "{file}:\n{out}");
    }
}

#[test]
fn promtool_test_rules_fails_when_the_times_are_wrong() {
    let Some(promtool) = promtool() else { return };
    // The recovery scenario with its assertions moved by ten minutes: Prometheus disagrees.
    let text = std::fs::read_to_string(dir().join("recovery.test.yml")).unwrap();
    let mut doc = YamlLoader::load_from_str(&text).unwrap().remove(0);
    let Yaml::Hash(top) = &mut doc else { panic!() };
    let Yaml::Array(tests) = top.get_mut(&s("tests")).unwrap() else {
        panic!()
    };
    let Yaml::Hash(test) = &mut tests[0] else {
        panic!()
    };
    let Yaml::Array(alerts) = test.get_mut(&s("alert_rule_test")).unwrap() else {
        panic!()
    };
    for a in alerts.iter_mut() {
        let Yaml::Hash(a) = a else { panic!() };
        let t = a[&s("eval_time")].as_str().unwrap().trim_end_matches('m');
        let moved = t.parse::<u64>().unwrap().saturating_sub(10);
        a.insert(s("eval_time"), s(format!("{moved}m")));
    }
    let tmp = std::env::temp_dir().join(format!("prism-slo-moved-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::copy(dir().join(RULES), tmp.join(RULES)).unwrap();
    let path = tmp.join("moved.test.yml");
    std::fs::write(&path, dump(&doc)).unwrap();
    let path = path.to_str().unwrap().to_owned();
    let (ok, out) = promtool_run(&promtool, &["test", "rules", &path]);
    let _ = std::fs::remove_dir_all(&tmp);
    assert!(!ok, "promtool accepted assertions ten minutes off:\n{out}");
}
