//! [`prometheus_rules`]: the SLOs and watches as a Prometheus rules file, the same
//! conditions the process evaluates, for a Prometheus server that scrapes it.

use std::path::Path;
use std::time::Duration;

use yaml_rust2::yaml::Hash;
use yaml_rust2::{Yaml, YamlEmitter};

use crate::alert::camel;
use crate::duration::promql;
use crate::error::Error;
use crate::slo::{Events, Slo};
use crate::watch::{Watch, WatchKind};

/// The recorded error ratio of an SLO over `window`: `prism_slo:error_ratio:rate5m`.
pub fn error_ratio_record(window: Duration) -> String {
    format!("prism_slo:error_ratio:rate{}", promql(window))
}

/// A Prometheus rules file (YAML) for `slos` and `watches`: for each SLO one group with a
/// recording rule per window (its error ratio: `sum(rate(errors[w])) /
/// sum(rate(total[w]))`, recorded as [`error_ratio_record`] with label `slo`), one alerting
/// rule per severity (`SloBurnRatePage`, `SloBurnRateTicket`: the severity's burn-rate
/// rules joined by `or`, each `long > factor * (1 - objective) and short > ...`) and
/// `SloBudgetExhausted`; and one group for the watches (`PrismSeriesGrowth`,
/// `PrismRefusedLabelSets`, `PrismRegistrySize`, each with a `watch` label).
///
/// The thresholds are written with every digit of the numbers the process compares with,
/// so both compare the same ratio with the same threshold. They differ in how the ratio is
/// measured: Prometheus' `rate` reads the samples inside the window and extrapolates, the
/// process reads its counts at the window's ends; with steady traffic both give the same
/// ratio.
///
/// Load it with `rule_files:` in `prometheus.yml`; check it with `promtool check rules`.
pub fn prometheus_rules(slos: &[&Slo], watches: &[&Watch]) -> Result<String, Error> {
    let mut groups = Vec::new();
    for slo in slos {
        groups.push(slo_group(slo));
    }
    if !watches.is_empty() {
        let rules = watches.iter().map(|w| watch_rule(w)).collect();
        groups.push(map([
            ("name", s("prism-watches")),
            ("rules", Yaml::Array(rules)),
        ]));
    }
    let doc = map([("groups", Yaml::Array(groups))]);
    let mut out = String::new();
    let mut emitter = YamlEmitter::new(&mut out);
    // A YAML emitter fails only on a writer error, and a String never fails.
    let _ = emitter.dump(&doc);
    out.push('\n');
    Ok(out)
}

/// [`prometheus_rules`] written to `path` (created or replaced).
pub fn write_prometheus_rules(
    path: impl AsRef<Path>,
    slos: &[&Slo],
    watches: &[&Watch],
) -> Result<(), Error> {
    let path = path.as_ref();
    let text = prometheus_rules(slos, watches)?;
    std::fs::write(path, text).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })
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

/// A threshold written so that Prometheus parses back the same `f64`.
fn number(v: f64) -> String {
    format!("{v:?}")
}

fn slo_group(slo: &Slo) -> Yaml {
    let name = slo.name();
    let allowed = slo.allowed_error_ratio();
    let mut windows: Vec<Duration> = slo
        .windows()
        .iter()
        .copied()
        .chain(slo.alerts().iter().flat_map(|a| [a.long(), a.short()]))
        .chain([slo.period()])
        .collect();
    windows.sort_unstable();
    windows.dedup();
    let slo_label = || map([("slo", s(name))]);
    let mut rules = Vec::new();
    for w in &windows {
        let w_text = promql(*w);
        let rate = |sel: String| format!("sum(rate({sel}[{w_text}]))");
        let expr = match slo.events() {
            Events::ErrorsOverTotal { errors, total } => format!(
                "{} / {}",
                rate(errors.promql_selector()),
                rate(total.promql_selector())
            ),
            Events::GoodOverTotal { good, total } => format!(
                "1 - ({} / {})",
                rate(good.promql_selector()),
                rate(total.promql_selector())
            ),
        };
        rules.push(map([
            ("record", s(error_ratio_record(*w))),
            ("expr", s(expr)),
            ("labels", slo_label()),
        ]));
    }
    let ratio = |w: Duration| format!("{}{{slo=\"{name}\"}}", error_ratio_record(w));
    for severity in slo.severities() {
        let conditions: Vec<String> = slo
            .alerts()
            .iter()
            .filter(|a| a.severity() == severity)
            .map(|a| {
                let t = number(a.factor() * allowed);
                format!("({} > {t} and {} > {t})", ratio(a.long()), ratio(a.short()))
            })
            .collect();
        let describe: Vec<String> = slo
            .alerts()
            .iter()
            .filter(|a| a.severity() == severity)
            .map(|a| {
                format!(
                    "{}x over {} and {}",
                    a.factor(),
                    promql(a.long()),
                    promql(a.short())
                )
            })
            .collect();
        rules.push(map([
            ("alert", s(format!("SloBurnRate{}", camel(severity)))),
            ("expr", s(conditions.join(" or "))),
            (
                "labels",
                map([("slo", s(name)), ("severity", s(severity.as_str()))]),
            ),
            (
                "annotations",
                map([(
                    "summary",
                    s(format!(
                        "SLO {name} ({} %) burns its error budget too fast: {}",
                        slo.objective() * 100.0,
                        describe.join(", or ")
                    )),
                )]),
            ),
        ]));
    }
    rules.push(map([
        ("alert", s("SloBudgetExhausted")),
        (
            "expr",
            s(format!("{} >= {}", ratio(slo.period()), number(allowed))),
        ),
        (
            "labels",
            map([("slo", s(name)), ("severity", s("exhausted"))]),
        ),
        (
            "annotations",
            map([(
                "summary",
                s(format!(
                    "SLO {name}: the error budget of the last {} is spent",
                    promql(slo.period())
                )),
            )]),
        ),
    ]));
    map([
        ("name", s(format!("prism-slo-{name}"))),
        ("rules", Yaml::Array(rules)),
    ])
}

fn watch_rule(w: &Watch) -> Yaml {
    let expr = match w.kind() {
        WatchKind::SeriesGrowth { window, max } => format!(
            "prism_series - prism_series offset {} > {}",
            promql(window),
            number(max)
        ),
        WatchKind::RefusedRising { window } => format!(
            "prism_refused_label_sets_total - prism_refused_label_sets_total offset {} > 0",
            promql(window)
        ),
        WatchKind::RegistrySize { max } => format!("sum(prism_series) > {}", number(max)),
    };
    map([
        ("alert", s(w.kind().alert_name())),
        ("expr", s(expr)),
        (
            "labels",
            map([("watch", s(w.name())), ("severity", s(w.severity()))]),
        ),
    ])
}
