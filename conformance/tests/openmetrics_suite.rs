//! The upstream OpenMetrics parser suite, an extra on top of this crate's own corpus
//! (`openmetrics_spec.rs`): where the suite's `parsers` folder is found, every case, none
//! skipped, must be accepted or refused exactly as its `shouldParse` says.
//!
//! Where it is looked for: `PRISM_OPENMETRICS_SUITE`, else [`DEFAULT_SUITE`]. When it is
//! not there the test passes and says so in one line on stderr, unless `CI` is set (to
//! anything but `false` or `0`): then a missing suite fails the test.

use std::ffi::OsString;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use prism_conformance::text::{parse, Dialect};

/// Where the suite is looked for without `PRISM_OPENMETRICS_SUITE`: its `parsers` folder in
/// test data kept beside the repository.
const DEFAULT_SUITE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/testdata/openmetrics/parsers" // an extra; PRISM_OPENMETRICS_SUITE moves it
);

/// The suite's README: 211 cases, 44 valid and 167 invalid.
const CASES: usize = 211;
const VALID: usize = 44;

/// What the test does about the suite.
#[derive(Debug, PartialEq, Eq)]
enum Plan {
    /// The folder is there: run every case in it.
    Run(PathBuf),
    /// Not there, not required: pass, printing this line.
    Skip(String),
    /// Not there and required (`CI`): fail with this message.
    Fail(String),
}

/// Decides from the two variables' values, `PRISM_OPENMETRICS_SUITE` and `CI`.
fn plan(suite: Option<OsString>, ci: Option<OsString>) -> Plan {
    let dir = suite
        .filter(|s| !s.is_empty())
        .map_or_else(|| PathBuf::from(DEFAULT_SUITE), PathBuf::from);
    if dir.is_dir() {
        return Plan::Run(dir);
    }
    let required = ci.is_some_and(|v| {
        let v = v.to_string_lossy().to_ascii_lowercase();
        !matches!(v.as_str(), "" | "0" | "false")
    });
    if required {
        Plan::Fail(format!(
            "openmetrics_suite: the upstream OpenMetrics parser suite is required when CI is set, \
             and it is not at {}: set PRISM_OPENMETRICS_SUITE to the suite's `parsers` folder \
             (tests/testdata/parsers of the OpenMetrics repository, \
             github.com/OpenObservability/OpenMetrics)",
            dir.display()
        ))
    } else {
        Plan::Skip(format!(
            "openmetrics_suite: SKIPPED: the upstream OpenMetrics parser suite was not found at {} \
             (set PRISM_OPENMETRICS_SUITE); the upstream suite did not run",
            dir.display()
        ))
    }
}

/// Writes a line to the process's stderr. Not `eprintln!`: the test harness of `cargo test`
/// captures that for a passing test, and this line must be seen. nextest captures the whole
/// process; `.config/nextest.toml` shows this test's output.
fn loud(line: &str) {
    // A failed write to stderr leaves nothing better to report it on.
    let _ = writeln!(std::io::stderr(), "{line}");
}

#[test]
fn openmetrics_parser_suite() {
    match plan(
        std::env::var_os("PRISM_OPENMETRICS_SUITE"),
        std::env::var_os("CI"),
    ) {
        Plan::Run(dir) => run_suite(&dir),
        Plan::Skip(line) => loud(&line),
        Plan::Fail(message) => panic!("{message}"),
    }
}

fn run_suite(suite: &Path) {
    let mut cases: Vec<_> = fs::read_dir(suite)
        .unwrap_or_else(|e| panic!("the parser suite at {}: {e}", suite.display()))
        .map(|entry| entry.expect("readable entry").path())
        .collect();
    cases.sort();
    let mut disagreements = Vec::new();
    let mut valid = 0;
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let spec: serde_json::Value = serde_json::from_slice(
            &fs::read(case.join("test.json")).unwrap_or_else(|e| panic!("{name}: {e}")),
        )
        .unwrap_or_else(|e| panic!("{name}/test.json: {e}"));
        assert_eq!(spec["type"], "text", "{name}: only text cases exist");
        let file = spec["file"].as_str().expect("a file name");
        let should_parse = spec["shouldParse"].as_bool().expect("shouldParse");
        valid += usize::from(should_parse);
        let bytes = fs::read(case.join(file)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let result = parse(&bytes, Dialect::OpenMetrics);
        match (should_parse, &result) {
            (true, Err(e)) => disagreements.push(format!("{name}: should parse, refused: {e}")),
            (false, Ok(_)) => disagreements.push(format!("{name}: should be refused, parsed")),
            _ => {}
        }
    }
    assert_eq!(
        cases.len(),
        CASES,
        "the suite at {} has {CASES} cases; found {}",
        suite.display(),
        cases.len()
    );
    assert_eq!(valid, VALID, "the suite has {VALID} valid cases");
    assert!(
        disagreements.is_empty(),
        "{} of {CASES} cases disagree with shouldParse:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
    loud(&format!(
        "openmetrics_suite: the upstream OpenMetrics parser suite at {}: {CASES}/{CASES} cases agree",
        suite.display()
    ));
}

#[test]
fn suite_is_run_skipped_or_required_as_the_variables_say() {
    let here = OsString::from(env!("CARGO_MANIFEST_DIR"));
    let missing = OsString::from("/nonexistent/openmetrics/parsers");
    let not_a_folder = OsString::from(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"));

    // A folder that is there runs, CI or not.
    for ci in [None, Some("true".into())] {
        assert_eq!(
            plan(Some(here.clone()), ci),
            Plan::Run(PathBuf::from(&here))
        );
    }

    // Missing without CI: a pass, with one line naming the path and the variable.
    for ci in [
        None,
        Some("".into()),
        Some("false".into()),
        Some("0".into()),
    ] {
        let Plan::Skip(line) = plan(Some(missing.clone()), ci.clone()) else {
            panic!("CI={ci:?}: a missing suite is skipped");
        };
        assert!(
            line.starts_with("openmetrics_suite: SKIPPED:")
                && line.contains("/nonexistent/openmetrics/parsers")
                && line.contains("PRISM_OPENMETRICS_SUITE")
                && !line.contains('\n'),
            "{line}"
        );
    }
    assert!(matches!(
        plan(Some(not_a_folder.clone()), None),
        Plan::Skip(_)
    ));

    // Missing under CI: a failure that says how to point at the suite.
    for ci in ["true", "1", "TRUE"] {
        let Plan::Fail(message) = plan(Some(missing.clone()), Some(ci.into())) else {
            panic!("CI={ci}: a missing suite is required");
        };
        assert!(
            message.contains("/nonexistent/openmetrics/parsers")
                && message.contains("set PRISM_OPENMETRICS_SUITE"),
            "{message}"
        );
    }
    assert!(matches!(
        plan(Some(not_a_folder), Some("true".into())),
        Plan::Fail(_)
    ));

    // Unset or empty: the default folder, whatever it holds on this machine.
    for suite in [None, Some(OsString::new())] {
        let expected = if Path::new(DEFAULT_SUITE).is_dir() {
            Plan::Run(PathBuf::from(DEFAULT_SUITE))
        } else {
            plan(Some(DEFAULT_SUITE.into()), None)
        };
        assert_eq!(plan(suite, None), expected);
    }
}
