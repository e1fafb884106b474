//! Property tests: every string is either accepted or refused with an error, never a panic,
//! and what is accepted matches the Prometheus rules, checked by an independent regex.

use prism_core::{validate_label_name, validate_name, Counter, Family, Gauge, Registry};
use proptest::prelude::*;

fn metric_re() -> regex::Regex {
    regex::Regex::new(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$").unwrap()
}

fn label_re() -> regex::Regex {
    regex::Regex::new(r"^[a-zA-Z_][a-zA-Z0-9_]*$").unwrap()
}

/// Every suffix a format adds to a family's name.
const SUFFIXES: [&str; 8] = [
    "_total", "_created", "_bucket", "_count", "_sum", "_gcount", "_gsum", "_info",
];

/// Strings that hit the interesting edges often: valid-looking names, reserved prefixes,
/// suffixes, and anything at all.
fn names() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z_:][a-zA-Z0-9_:]{0,20}",
        "__[a-z]{0,5}",
        "[a-z]{1,8}_(total|created|bucket|count|sum)",
        "[ -~]{0,12}",
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn metric_names_accepted_iff_they_match_the_rules(name in names()) {
        let accepted = validate_name(&name).is_ok();
        let expected = metric_re().is_match(&name) && !name.starts_with("__") && name != "_";
        prop_assert_eq!(accepted, expected, "{:?}", name);
    }

    /// Every name a format prints from an accepted name (the name with any suffix a format
    /// adds) is itself an accepted name: none starts with the reserved `__`.
    #[test]
    fn every_suffixed_form_of_an_accepted_name_is_accepted(
        name in prop_oneof!["_{0,3}[a-z:]{0,2}", names()],
    ) {
        if validate_name(&name).is_ok() {
            for suffix in SUFFIXES {
                let exposed = format!("{name}{suffix}");
                prop_assert!(validate_name(&exposed).is_ok(), "{:?} prints {:?}", name, exposed);
                prop_assert!(!exposed.starts_with("__"), "{:?} prints {:?}", name, exposed);
            }
        }
    }

    #[test]
    fn label_names_accepted_iff_they_match_the_rules(name in names()) {
        let accepted = validate_label_name("f", &name).is_ok();
        let expected = label_re().is_match(&name)
            && !name.starts_with("__")
            && name != prism_core::OVERFLOW_LABEL;
        prop_assert_eq!(accepted, expected, "{:?}", name);
    }

    #[test]
    fn registration_never_panics_and_accepts_only_valid_names(
        name in names(),
        help in any::<String>(),
        label in names(),
    ) {
        let r = Registry::new();
        if r.register(&name, &help, Counter::new()).is_ok() {
            prop_assert!(metric_re().is_match(&name));
            prop_assert!(!name.ends_with("_total"));
            prop_assert!(!matches!(
                name.as_str(),
                "prism_series" | "prism_families" | "prism_updates" | "prism_refused_label_sets"
                    | "prism_cardinality_limit"
            ));
            prop_assert!(!help.contains('\0'));
        }
        let family_name = format!("f_{}", name.len());
        if r.register(&family_name, "h", Family::<Gauge>::new([label.clone()])).is_ok() {
            prop_assert!(label_re().is_match(&label));
        }
    }

    /// Any label values are stored and read back, except values holding NUL, which are
    /// refused (counted, routed to the overflow series); a wrong number of values is an
    /// error from `try_get`. Nothing panics.
    #[test]
    fn any_label_values_round_trip_or_are_refused_without_panicking(
        values in proptest::collection::vec(prop_oneof![any::<String>(), "[a\\x00]{0,3}"], 2),
        short in prop_oneof![
            proptest::collection::vec(any::<String>(), 0..2),
            proptest::collection::vec(any::<String>(), 3..5),
        ],
    ) {
        let r = Registry::builder().self_telemetry(false).build();
        let f = r.register("f", "h", Family::<Counter>::new(["a", "b"])).unwrap();
        f.get(&values).inc();
        prop_assert!(f.try_get(&short).is_err(), "the wrong count is an error, not a panic");
        let snap = r.snapshot();
        let family = snap.family("f").unwrap();
        let series = family.series(&[values[0].as_str(), values[1].as_str()]);
        if values.iter().any(|v| v.contains('\0')) {
            prop_assert!(series.is_none());
            prop_assert_eq!(family.overflow().unwrap().value.clone(), prism_core::Value::Counter(1));
            prop_assert_eq!(f.refused(), 1);
        } else {
            prop_assert_eq!(series.unwrap().value.clone(), prism_core::Value::Counter(1));
            prop_assert_eq!(f.refused(), 0);
        }
        prop_assert_eq!(f.arity_errors(), 0);
    }
}

#[test]
fn a_name_of_one_underscore_is_refused_with_the_reason() {
    let err = validate_name("_").unwrap_err();
    assert!(err.to_string().contains("__total"), "{err}");
    assert!(Registry::new().register("_", "h", Counter::new()).is_err());
    assert!(Registry::new().register("_", "h", Gauge::new()).is_err());
    for ok in ["_a", ":", "_:", "a_"] {
        assert!(validate_name(ok).is_ok(), "{ok}");
    }
}
