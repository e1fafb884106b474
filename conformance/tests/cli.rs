//! The `prism-conformance` binary: `check`, `render`, `list`, and its exit codes.

use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_prism-conformance"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn check_of_passing_scenarios_prints_a_row_each_and_exits_0() {
    let o = run(&["check", "counters", "non_finite.json"]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    let header = out.lines().next().unwrap();
    for f in [
        "json",
        "prometheus",
        "openmetrics",
        "otlp-json",
        "otlp-proto",
    ] {
        assert!(header.contains(f), "{header}");
    }
    assert!(
        out.lines()
            .any(|l| l.starts_with("counters ") && l.matches("ok").count() == 5),
        "{out}"
    );
    assert!(out.contains("2 scenarios: all formats agree"), "{out}");
}

#[test]
fn check_of_histograms_agrees_in_every_format() {
    // Was a known failure while prism-prom left histograms out; now every format carries them.
    let o = run(&["check", "histograms"]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("histograms ") && l.matches("ok").count() == 5),
        "{out}"
    );
}

#[test]
fn check_reads_scenario_files() {
    let dir = std::env::temp_dir().join(format!("prism-conformance-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("mine.json");
    std::fs::write(
        &file,
        r#"{"name": "mine", "families": [{"name": "x", "type": "gauge"}],
            "steps": [{"op": "set", "family": "x", "value": -1}]}"#,
    )
    .unwrap();
    let o = run(&["check", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    std::fs::write(
        &file,
        r#"{"name": "bad", "families": [{"name": "x", "type": "nope"}]}"#,
    )
    .unwrap();
    let o = run(&["check", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown variant"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn render_prints_what_prism_writes() {
    let o = run(&["render", "--format", "prometheus", "big_integers"]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        out.contains("big_total{which=\"u64::MAX\"} 18446744073709551615\n"),
        "{out}"
    );
    let o = run(&["render", "--format=openmetrics", "empty_registry"]);
    assert_eq!(stdout(&o), "# EOF\n");
    let o = run(&["render", "--format", "json", "empty_registry"]);
    assert_eq!(stdout(&o), "{\n\n}\n");
    let o = run(&["render", "--format", "otlp-proto", "counters"]);
    let samples = prism_conformance::read::read_otlp_proto(&o.stdout).unwrap();
    assert!(samples.family("http_requests").is_some());
    let o = run(&["render", "--format", "otlp-json", "counters"]);
    let samples = prism_conformance::read::read_otlp_json(&o.stdout).unwrap();
    assert!(samples.family("cpu_seconds").is_some());
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &[][..],
        &["frobnicate"],
        &["render", "counters"],
        &["render", "--format", "xml", "counters"],
        &["check", "no-such-scenario"],
        &["live"],
        &["live", "--url", "https://example.invalid"],
    ] {
        let o = run(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("usage:"),
            "{args:?}"
        );
    }
    let o = run(&["list"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("cardinality_bomb"));
}
