//! Typed label sets: the typed path reaches exactly the series the slice path reaches, with
//! the names taken from the type.

use std::collections::BTreeMap;

use prism_core::{
    Counter, Error, Family, FamilySnapshot, Gauge, LabelSet, LabelValue, Registry, TypedFamily,
    Value,
};
use proptest::prelude::*;

#[derive(prism_derive::LabelValue, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[prism(crate = "prism_core", rename_all = "UPPERCASE")]
enum Method {
    Get,
    Post,
    #[prism(rename = "delete")]
    Delete,
}

#[derive(prism_derive::LabelSet, Clone, Debug)]
#[prism(crate = "prism_core")]
struct Http {
    method: Method,
    code: u16,
    path: String,
}

impl Http {
    /// The same label set as the slice path takes it.
    fn strings(&self) -> [String; 3] {
        let method = match self.method {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Delete => "delete",
        };
        [method.to_owned(), self.code.to_string(), self.path.clone()]
    }
}

#[derive(prism_derive::LabelSet)]
#[prism(crate = "prism_core")]
struct Odd<'a> {
    r#type: &'a str,
    #[prism(rename = "le_bucket")]
    bucket: i64,
    ok: bool,
    grade: char,
}

#[test]
fn names_come_from_the_fields_in_declaration_order() {
    assert_eq!(Http::NAMES, ["method", "code", "path"]);
    assert_eq!(Odd::NAMES, ["type", "le_bucket", "ok", "grade"]);
    let odd = Odd {
        r#type: "t",
        bucket: -42,
        ok: true,
        grade: 'é',
    };
    let values = odd.with_values(|v| v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    assert_eq!(values, ["t", "-42", "true", "é"]);
}

#[test]
fn integers_print_as_display_does() {
    for v in [0u64, 9, 10, 99, 100, u64::MAX] {
        assert_eq!(v.label_value(&mut Default::default()), v.to_string());
    }
    for v in [i64::MIN, -1, 0, i64::MAX] {
        assert_eq!(v.label_value(&mut Default::default()), v.to_string());
    }
    assert_eq!(
        u128::MAX.label_value(&mut Default::default()),
        u128::MAX.to_string()
    );
}

#[test]
fn typed_and_slice_lookups_reach_the_same_series() {
    let requests = TypedFamily::<Http, Counter>::new();
    let labels = Http {
        method: Method::Get,
        code: 200,
        path: "/a".into(),
    };
    requests.get(&labels).inc();
    requests.with(&labels, |c| c.add(2));
    assert_eq!(requests.family().get(&["GET", "200", "/a"]).get(), 3);
    assert_eq!(requests.family().label_names(), ["method", "code", "path"]);
    assert_eq!(requests.family().len(), 1);
    assert!(requests.remove(&labels));
    assert!(!requests.remove(&labels));
    assert_eq!(requests.family().arity_errors(), 0);
}

#[test]
fn typed_checks_the_names_and_their_order() {
    let ok = Family::<Counter>::new(["method", "code", "path"]).typed::<Http>();
    assert!(ok.is_ok());
    let swapped = Family::<Counter>::new(["code", "method", "path"]).typed::<Http>();
    let Err(Error::LabelNames {
        family, label_set, ..
    }) = swapped
    else {
        panic!("the order was not checked: {swapped:?}");
    };
    assert_eq!(family, ["code", "method", "path"]);
    assert_eq!(label_set, ["method", "code", "path"]);
    let short = Family::<Counter>::new(["method", "code"]).typed::<Http>();
    assert!(matches!(short, Err(Error::LabelNames { .. })));
    let err = Family::<Gauge>::new(["x"]).typed::<Http>().unwrap_err();
    assert!(err.to_string().contains("rename"), "{err}");
}

#[test]
fn a_typed_family_registers_and_is_found_again() -> Result<(), Error> {
    let registry = Registry::new();
    let a = registry.register("http_requests", "h", TypedFamily::<Http, Counter>::new())?;
    let b = registry.get_or_register("http_requests", "h", TypedFamily::<Http, Counter>::new)?;
    a.get(&Http {
        method: Method::Post,
        code: 500,
        path: "/".into(),
    })
    .inc();
    let read = registry.snapshot();
    let family = read.family("http_requests").expect("registered");
    assert_eq!(family.descriptor.label_names(), ["method", "code", "path"]);
    assert_eq!(
        family.series(&["POST", "500", "/"]).map(|s| &s.value),
        Some(&Value::Counter(1))
    );
    assert_eq!(b.family().len(), 1, "get_or_register gave the same family");
    Ok(())
}

#[derive(prism_derive::LabelSet)]
#[prism(crate = "prism_core")]
struct Route<'a> {
    path: &'a str,
}

/// A registered family needs a `'static` label set type; its lookups take label sets that
/// borrow shorter-lived values.
#[test]
fn a_registered_family_is_looked_up_by_borrowed_values() -> Result<(), Error> {
    let registry = Registry::new();
    let routes = registry.register("routes", "h", TypedFamily::<Route<'static>, Counter>::new())?;
    for i in 0..3 {
        let path = format!("/item/{i}");
        routes.get(&Route { path: &path }).inc();
        routes.with(&Route { path: &path }, |c| c.inc());
    }
    assert_eq!(routes.family().get(&["/item/2"]).get(), 2);
    assert_eq!(routes.family().len(), 3);
    Ok(())
}

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![Just(Method::Get), Just(Method::Post), Just(Method::Delete)]
}

fn http() -> impl Strategy<Value = Http> {
    (method(), any::<u16>(), "[a-z/]{0,12}").prop_map(|(method, code, path)| Http {
        method,
        code,
        path,
    })
}

/// Label values and values of a family's read, without start times (two registries never
/// share them).
fn series(family: &FamilySnapshot) -> Vec<(Vec<String>, bool, Value)> {
    family
        .series
        .iter()
        .map(|s| (s.label_values.clone(), s.overflow, s.value.clone()))
        .collect()
}

proptest! {
    /// Any updates made through the typed path, made again through the slice path with the
    /// values as text, leave both registries with the same series and the same totals, the
    /// overflow series included (the limit is small enough to be reached).
    #[test]
    fn typed_path_totals_equal_the_slice_path(
        updates in proptest::collection::vec((http(), 1u64..1000), 0..200),
    ) {
        let (typed_registry, slice_registry) = (Registry::new(), Registry::new());
        let typed = typed_registry.register(
            "requests",
            "h",
            Family::<Counter>::builder(Http::NAMES.iter().copied())
                .cardinality_limit(50)
                .build()?
                .typed::<Http>()?,
        )?;
        let slice = slice_registry.register(
            "requests",
            "h",
            Family::<Counter>::builder(["method", "code", "path"])
                .cardinality_limit(50)
                .build()?,
        )?;
        let mut expected: BTreeMap<[String; 3], u64> = BTreeMap::new();
        for (labels, n) in &updates {
            typed.with(labels, |c| c.add(*n));
            slice.get(&labels.strings()).add(*n);
            *expected.entry(labels.strings()).or_default() += n;
        }
        let (a, b) = (typed_registry.snapshot(), slice_registry.snapshot());
        let (a, b) = (a.family("requests").unwrap(), b.family("requests").unwrap());
        prop_assert_eq!(series(a), series(b));
        let total: u64 = a.series.iter().map(|s| match s.value {
            Value::Counter(v) => v,
            ref other => panic!("not a counter: {other:?}"),
        }).sum();
        prop_assert_eq!(total, expected.values().sum::<u64>());
        // Every live series is the label set the updates named, at its exact total.
        for s in a.series.iter().filter(|s| !s.overflow) {
            let key: [String; 3] = s.label_values.clone().try_into().unwrap();
            prop_assert_eq!(&s.value, &Value::Counter(expected[&key]));
        }
        prop_assert_eq!(typed.family().refused(), slice.refused());
    }
}
