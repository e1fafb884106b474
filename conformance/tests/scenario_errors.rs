//! Scenario files that are wrong say so: an op a type does not have, an option for another
//! type, an unknown type or field; never a silently skipped step.

use prism_conformance::Scenario;

/// The error applying a scenario of one family and one step gives.
fn error(family: &str, step: &str) -> String {
    let text = format!(r#"{{"name": "e", "families": [{family}], "steps": [{step}]}}"#);
    match Scenario::from_json(&text) {
        Err(e) => e.message,
        Ok(s) => match s.apply() {
            Err(e) => e.message,
            Ok(_) => panic!("{text} applied"),
        },
    }
}

#[track_caller]
fn assert_error(family: &str, step: &str, needle: &str) {
    let message = error(family, step);
    assert!(message.contains(needle), "{message:?} lacks {needle:?}");
}

const NOTHING: &str = r#"{"op": "unregister", "family": "x"}"#;

#[test]
fn ops_a_new_type_does_not_have_are_refused() {
    for (t, op) in [
        ("up_down_counter", "set"),
        ("up_down_counter", "observe"),
        ("sharded_counter", "dec"),
        ("per_cpu_counter", "sub"),
        ("striped_counter", "set"),
        ("sloppy_counter", "observe"),
        ("numa_counter", "reset"),
        ("per_thread_counter", "try_inc"),
        ("windowed_histogram", "inc"),
        ("windowed_rate", "observe"),
        ("windowed_rate", "dec"),
        ("counter", "advance"),
        ("histogram", "advance"),
    ] {
        for labels in [None, Some(r#"["a"]"#)] {
            let family = match labels {
                None => format!(r#"{{"name": "x", "type": "{t}"}}"#),
                Some(l) => format!(r#"{{"name": "x", "type": "{t}", "labels": {l}}}"#),
            };
            let step = match labels {
                None => format!(r#"{{"op": "{op}", "family": "x", "value": 1}}"#),
                Some(l) => format!(r#"{{"op": "{op}", "family": "x", "labels": {l}, "value": 1}}"#),
            };
            assert_error(&family, &step, "does not apply to this metric type");
        }
    }
}

#[test]
fn advance_moves_a_whole_family_and_takes_seconds() {
    let rate = r#"{"name": "x", "type": "windowed_rate", "labels": ["peer"]}"#;
    assert_error(
        rate,
        r#"{"op": "advance", "family": "x", "labels": ["a"], "value": 1}"#,
        "takes no `labels`",
    );
    assert_error(
        rate,
        r#"{"op": "advance", "family": "x", "value": -1}"#,
        "not a duration",
    );
    assert_error(
        rate,
        r#"{"op": "advance", "family": "x"}"#,
        "`value` is missing",
    );
}

#[test]
fn counters_take_u64_operands_and_up_down_counters_i64() {
    assert_error(
        r#"{"name": "x", "type": "sharded_counter"}"#,
        r#"{"op": "add", "family": "x", "value": -1}"#,
        "from 0 to 2^64-1",
    );
    assert_error(
        r#"{"name": "x", "type": "up_down_counter"}"#,
        r#"{"op": "add", "family": "x", "value": 1.5}"#,
        "from -2^63 to 2^63-1",
    );
}

#[test]
fn window_options_belong_to_windows_and_must_make_one() {
    assert_error(
        r#"{"name": "x", "type": "counter", "slots": 3}"#,
        NOTHING,
        "`slots` and `slot_seconds` are for",
    );
    assert_error(
        r#"{"name": "x", "type": "sloppy_counter", "slot_seconds": 1}"#,
        NOTHING,
        "`slots` and `slot_seconds` are for",
    );
    assert_error(
        r#"{"name": "x", "type": "windowed_rate", "unit_scale": 1}"#,
        NOTHING,
        "`unit_scale` for `histogram`, `summary` and `windowed_histogram`",
    );
    assert_error(
        r#"{"name": "x", "type": "windowed_histogram", "buckets": [1]}"#,
        NOTHING,
        "`buckets` are for `histogram`",
    );
    for t in ["windowed_histogram", "windowed_rate"] {
        assert_error(
            &format!(r#"{{"name": "x", "type": "{t}", "slots": 0}}"#),
            NOTHING,
            "a window needs at least one slot",
        );
        assert_error(
            &format!(r#"{{"name": "x", "type": "{t}", "slot_seconds": -1}}"#),
            NOTHING,
            "`slot_seconds` -1 is not a duration",
        );
    }
}

#[test]
fn unknown_types_and_fields_stay_errors() {
    assert_error(
        r#"{"name": "x", "type": "windowed_counter"}"#,
        NOTHING,
        "unknown variant",
    );
    assert_error(
        r#"{"name": "x", "type": "sloppy_counter", "batch": 4}"#,
        NOTHING,
        "unknown field",
    );
    assert_error(
        r#"{"name": "x", "type": "windowed_rate"}"#,
        r#"{"op": "tick", "family": "x"}"#,
        "unknown variant",
    );
}

#[test]
fn a_labelled_window_and_a_lone_one_both_apply() {
    let text = r#"{"name": "ok", "families": [
        {"name": "w", "type": "windowed_histogram", "labels": ["k"], "slots": 2, "slot_seconds": 0.25},
        {"name": "r", "type": "windowed_rate", "slots": 2, "slot_seconds": 0.25}
    ], "steps": [
        {"op": "observe", "family": "w", "labels": ["a"], "value": 7},
        {"op": "inc", "family": "r"},
        {"op": "advance", "family": "w", "value": 0.25},
        {"op": "advance", "family": "r", "value": 0.25}
    ]}"#;
    let report = Scenario::from_json(text).unwrap().check().unwrap();
    assert!(report.is_ok(), "{report}");
}
