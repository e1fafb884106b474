//! Random keys: no name, label name, label value or description makes the recorder panic;
//! every call is either recorded or counted as refused, never lost; and whatever was
//! accepted renders the same in every format (read back by the conformance crate's strict
//! readers, so it is valid in each).

use metrics::{Key, Label, Recorder, Unit};
use prism_core::{Registry, Value};
use prism_metrics::{PrismRecorder, Refusal, REFUSED_FAMILY};
use proptest::prelude::*;

static METADATA: metrics::Metadata<'static> =
    metrics::Metadata::new(module_path!(), metrics::Level::INFO, None);

#[derive(Debug, Clone)]
struct Call {
    kind: u8,
    name: String,
    labels: Vec<(String, String)>,
    describe: Option<(u8, String)>,
}

fn call() -> impl Strategy<Value = Call> {
    (
        0u8..3,
        // Few characters, so that names repeat, collide after mapping and break the rules.
        "[ab1._:é-]{0,5}(_total)?",
        prop::collection::vec(("[ab1._é-]{0,3}", "[a\u{0}\"\\\n]{0,3}"), 0..4),
        prop::option::of((0u8..4, "[a-z\u{0}]{0,3}")),
    )
        .prop_map(|(kind, name, labels, describe)| Call {
            kind,
            name,
            labels,
            describe,
        })
}

const KEY_REASONS: [Refusal; 6] = [
    Refusal::InvalidName,
    Refusal::InvalidLabelName,
    Refusal::Collision,
    Refusal::LabelNames,
    Refusal::Kind,
    Refusal::TooManyNames,
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn every_call_is_recorded_or_counted_and_all_formats_agree(
        calls in prop::collection::vec(call(), 1..40)
    ) {
        let registry = Registry::new();
        let recorder = PrismRecorder::new(&registry).unwrap();
        for c in &calls {
            if let Some((unit, help)) = &c.describe {
                let unit = [None, Some(Unit::Seconds), Some(Unit::Bytes), Some(Unit::Count)]
                    [*unit as usize];
                let name = c.name.clone().into();
                match c.kind {
                    0 => recorder.describe_counter(name, unit, help.clone().into()),
                    1 => recorder.describe_gauge(name, unit, help.clone().into()),
                    _ => recorder.describe_histogram(name, unit, help.clone().into()),
                }
            }
            let labels: Vec<Label> =
                c.labels.iter().map(|(k, v)| Label::new(k.clone(), v.clone())).collect();
            let key = Key::from_parts(c.name.clone(), labels);
            match c.kind {
                0 => recorder.register_counter(&key, &METADATA).increment(1),
                1 => recorder.register_gauge(&key, &METADATA).increment(1.0),
                _ => recorder.register_histogram(&key, &METADATA).record(1.0),
            }
        }

        let snapshot = registry.snapshot();
        let mut recorded = 0.0;
        for family in &snapshot.families {
            let name = family.descriptor.name();
            if name.starts_with("prism_") {
                continue;
            }
            prop_assert!(prism_core::validate_name(name).is_ok());
            for series in &family.series {
                recorded += match &series.value {
                    Value::Histogram(h) => h.count() as f64,
                    other => other.as_f64(),
                };
            }
        }
        let refused: u64 = KEY_REASONS.iter().map(|r| recorder.refused(*r)).sum();
        prop_assert_eq!(recorded + refused as f64, calls.len() as f64);
        prop_assert!(snapshot.family(REFUSED_FAMILY).is_some());
        let report = prism_conformance::check(&registry);
        prop_assert!(report.is_ok(), "{}", report);
    }
}
