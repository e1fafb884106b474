//! The OpenMetrics parser suite: every case of `../shared/testdata/openmetrics/parsers`,
//! none skipped, must be accepted or refused exactly as its `shouldParse` says.

use std::fs;
use std::path::Path;

use prism_conformance::text::{parse, Dialect};

/// Where the suite lives beside the repository; `PRISM_OPENMETRICS_SUITE` points elsewhere
/// (a checkout that is not next to `shared/`).
const SUITE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/testdata/openmetrics/parsers"
);

fn suite() -> String {
    std::env::var("PRISM_OPENMETRICS_SUITE").unwrap_or_else(|_| SUITE.to_owned())
}

/// The suite's README: 211 cases, 44 valid and 167 invalid.
const CASES: usize = 211;
const VALID: usize = 44;

#[test]
fn openmetrics_parser_suite() {
    let suite = suite();
    let mut cases: Vec<_> = fs::read_dir(&suite)
        .unwrap_or_else(|e| {
            panic!(
                "the parser suite is not at {suite}: {e} (set PRISM_OPENMETRICS_SUITE to the \
                 folder of the OpenMetrics parser cases)"
            )
        })
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
        "the suite has {CASES} cases; found {}",
        cases.len()
    );
    assert_eq!(valid, VALID, "the suite has {VALID} valid cases");
    assert!(
        disagreements.is_empty(),
        "{} of {CASES} cases disagree with shouldParse:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
    println!("OpenMetrics parser suite: {}/{CASES} agree", cases.len());
}

#[test]
fn suite_path_resolves_to_shared() {
    assert!(Path::new(&suite()).join("simple_counter/metrics").is_file());
}
