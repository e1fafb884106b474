//! Every scenario of the corpus, in every format, read back equal to the core read; the
//! known failures (reported adapter bugs) still fail in exactly the formats listed.

use std::collections::BTreeSet;
use std::fs;

use prism_conformance::corpus::{self, KNOWN_FAILURES};
use prism_conformance::Report;

#[test]
fn every_scenario_agrees_in_every_format() {
    let scenarios = corpus::scenarios().expect("the corpus parses");
    let width = scenarios.iter().map(|s| s.name.len()).max().unwrap_or(8);
    let mut table = vec![Report::header(width)];
    let mut failures = Vec::new();
    let mut known_seen = BTreeSet::new();
    for scenario in &scenarios {
        let report = scenario.check().unwrap_or_else(|e| panic!("{e}"));
        table.push(report.row(width));
        assert!(report.unsupported.is_none(), "{report}");
        for column in &report.columns {
            let known = corpus::known_failure(&scenario.name, column.format);
            if column.outcome.failed() {
                match known {
                    Some(k) => {
                        known_seen.insert((k.scenario, k.format));
                    }
                    None => failures.extend(
                        report
                            .details()
                            .into_iter()
                            .filter(|d| d.contains(&format!(": {}: ", column.format))),
                    ),
                }
            }
        }
    }
    println!("{}", table.join("\n"));
    assert!(
        failures.is_empty(),
        "formats disagree:\n{}",
        failures.join("\n")
    );
    for k in KNOWN_FAILURES {
        assert!(
            known_seen.contains(&(k.scenario, k.format)),
            "known failure {k:?} no longer fails: remove it from KNOWN_FAILURES"
        );
    }
}

#[test]
fn every_file_in_scenarios_is_in_the_corpus() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios");
    let on_disk: BTreeSet<String> = fs::read_dir(dir)
        .expect("scenarios/")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    let listed: BTreeSet<String> = corpus::FILES.iter().map(|(f, _)| (*f).to_owned()).collect();
    assert_eq!(on_disk, listed);
    let names: BTreeSet<String> = corpus::scenarios()
        .expect("parses")
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(
        names.len(),
        corpus::FILES.len(),
        "scenario names are unique"
    );
    for (file, _) in corpus::FILES {
        assert!(
            names.contains(file.trim_end_matches(".json")),
            "{file}: name matches the file"
        );
    }
}

#[test]
fn the_corpus_covers_every_kind_and_the_hostile_cases() {
    let scenarios = corpus::scenarios().expect("parses");
    let text = corpus::FILES.iter().map(|(_, t)| *t).collect::<String>();
    for t in [
        "\"counter\"",
        "\"float_counter\"",
        "\"gauge\"",
        "\"float_gauge\"",
        "\"max\"",
        "\"min\"",
        "\"capped\"",
        "\"counter_fn\"",
        "\"gauge_fn\"",
        "\"histogram\"",
        "\"summary\"",
        "\"up_down_counter\"",
        "\"sharded_counter\"",
        "\"per_cpu_counter\"",
        "\"striped_counter\"",
        "\"sloppy_counter\"",
        "\"numa_counter\"",
        "\"per_thread_counter\"",
        "\"windowed_histogram\"",
        "\"windowed_rate\"",
    ] {
        assert!(
            text.contains(&format!("\"type\": {t}")),
            "no scenario registers a {t}"
        );
    }
    for needle in [
        "NaN",
        "+Inf",
        "-Inf",
        "18446744073709551615",
        "\"remove\"",
        "\"unregister\"",
        "\"repeat\"",
        "\"drop\"",
        "\"advance\"",
        "🎉",
    ] {
        assert!(text.contains(needle), "no scenario holds {needle}");
    }
    assert!(
        scenarios.iter().any(|s| s.families.is_empty()),
        "an empty registry"
    );
}
