//! Name rules (docs/architecture.md, "Names"): metric names, label names, help text, units,
//! and the exposed names a family occupies in every format.
//!
//! # Metric names
//!
//! A metric name matches `[a-zA-Z_:][a-zA-Z0-9_:]*`, does not start with `__` (reserved by
//! Prometheus), and is not `_` alone. The formats print a name with suffixes that all start
//! with `_` (`_total`, `_created`, `_bucket`, `_count`, `_sum`, `_gcount`, `_gsum`): `_`
//! would print `__total`, a reserved name, and every other name that passes prints only
//! names that pass too, which the property tests check over every suffix.
//!
//! # NUL
//!
//! NUL is refused everywhere a string reaches a format: in help text at registration, and in
//! label values at lookup, where a value holding NUL is refused like one past
//! [`MAX_LABEL_VALUE_BYTES`](crate::MAX_LABEL_VALUE_BYTES) (counted in
//! [`Family::refused`](crate::Family::refused), its update routed to the overflow series or
//! dropped, as the family was built). The Prometheus text format has no escape for it and
//! C parsers stop at it; names, label names and units cannot hold it by their patterns.

use crate::error::Error;
use crate::metric::Kind;

/// The label that marks the overflow series in Prometheus and JSON.
pub const OVERFLOW_LABEL: &str = "otel_metric_overflow";
/// The attribute that marks the overflow series in OTLP, as OpenTelemetry names it.
pub const OVERFLOW_ATTRIBUTE: &str = "otel.metric.overflow";

/// Longest help text accepted, in bytes. Help is printed on every scrape; a bound keeps
/// one careless registration from dominating every render.
pub const MAX_HELP_BYTES: usize = 64 * 1024;

/// Checks a metric name against `[a-zA-Z_:][a-zA-Z0-9_:]*`, the reserved `__` prefix, and
/// `_` alone (whose suffixed forms, `__total`, would start with `__`).
///
/// ```
/// assert!(prism_core::validate_name("http_requests").is_ok());
/// assert!(prism_core::validate_name("9lives").is_err());
/// assert!(prism_core::validate_name("__internal").is_err());
/// assert!(prism_core::validate_name("_").is_err());
/// ```
pub fn validate_name(name: &str) -> Result<(), Error> {
    let bad = |reason| {
        Err(Error::InvalidName {
            name: name.to_owned(),
            reason,
        })
    };
    let mut bytes = name.bytes();
    match bytes.next() {
        None => return bad("it is empty"),
        Some(b) if !(b.is_ascii_alphabetic() || b == b'_' || b == b':') => {
            return bad("it must start with a letter, `_` or `:`")
        }
        Some(_) => {}
    }
    if !bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':') {
        return bad("it may only hold ASCII letters, digits, `_` and `:`");
    }
    if name.starts_with("__") {
        return bad("names starting with `__` are reserved");
    }
    if name == "_" {
        return bad(
            "the formats would print `__total`, `__created`... from it, names starting \
                    with the reserved `__`",
        );
    }
    Ok(())
}

/// Checks a label name against `[a-zA-Z_][a-zA-Z0-9_]*`, the reserved `__` prefix and the
/// overflow label.
pub fn validate_label_name(family: &str, label: &str) -> Result<(), Error> {
    let bad = |reason| {
        Err(Error::InvalidLabelName {
            family: family.to_owned(),
            label: label.to_owned(),
            reason,
        })
    };
    let mut bytes = label.bytes();
    match bytes.next() {
        None => return bad("it is empty"),
        Some(b) if !(b.is_ascii_alphabetic() || b == b'_') => {
            return bad("it must start with a letter or `_`")
        }
        Some(_) => {}
    }
    if !bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return bad("it may only hold ASCII letters, digits and `_`");
    }
    if label.starts_with("__") {
        return bad("label names starting with `__` are reserved");
    }
    if label == OVERFLOW_LABEL {
        return bad("it marks the overflow series and is reserved");
    }
    Ok(())
}

/// Checks a list of label names: each valid, none repeated.
pub(crate) fn validate_label_names(family: &str, labels: &[String]) -> Result<(), Error> {
    for (i, label) in labels.iter().enumerate() {
        validate_label_name(family, label)?;
        if labels[..i].contains(label) {
            return Err(Error::InvalidLabelName {
                family: family.to_owned(),
                label: label.clone(),
                reason: "it is declared twice",
            });
        }
    }
    Ok(())
}

/// Checks help text: any UTF-8 (adapters escape it), but no NUL (see the module docs), and
/// at most [`MAX_HELP_BYTES`].
pub(crate) fn validate_help(family: &str, help: &str) -> Result<(), Error> {
    let bad = |reason| {
        Err(Error::InvalidHelp {
            family: family.to_owned(),
            reason,
        })
    };
    if help.len() > MAX_HELP_BYTES {
        return bad("it is longer than 65536 bytes");
    }
    if help.contains('\0') {
        return bad("it contains a NUL character");
    }
    Ok(())
}

/// Checks a unit: `[a-zA-Z0-9_]+`, and the name must end in `_<unit>` as OpenMetrics requires.
pub(crate) fn validate_unit(family: &str, unit: &str) -> Result<(), Error> {
    let bad = |reason| {
        Err(Error::InvalidUnit {
            family: family.to_owned(),
            unit: unit.to_owned(),
            reason,
        })
    };
    if unit.is_empty() || !unit.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return bad("units may only hold ASCII letters, digits and `_`");
    }
    let suffix_ok = family
        .strip_suffix(unit)
        .is_some_and(|stem| stem.ends_with('_') && stem.len() > 1);
    if !suffix_ok {
        return bad("the metric name does not end in `_<unit>`");
    }
    Ok(())
}

/// Every name a family of this kind prints in some format: the clash set
/// (docs/architecture.md, "Names").
pub(crate) fn exposed_names(name: &str, kind: Kind) -> Vec<String> {
    let with = |suffix: &str| format!("{name}{suffix}");
    match kind {
        Kind::Counter => vec![name.to_owned(), with("_total"), with("_created")],
        Kind::Gauge => vec![name.to_owned()],
        Kind::Histogram => vec![
            name.to_owned(),
            with("_bucket"),
            with("_count"),
            with("_sum"),
            with("_created"),
            with("_gcount"),
            with("_gsum"),
        ],
        Kind::Summary => vec![
            name.to_owned(),
            with("_count"),
            with("_sum"),
            with("_created"),
        ],
    }
}

/// Refuses counter names that already carry a suffix the formats add themselves.
pub(crate) fn validate_kind_suffix(name: &str, kind: Kind) -> Result<(), Error> {
    if kind == Kind::Counter && name.ends_with("_total") {
        return Err(Error::InvalidName {
            name: name.to_owned(),
            reason: "register counters without `_total`: the Prometheus and OpenMetrics \
                     renderers add it",
        });
    }
    Ok(())
}
