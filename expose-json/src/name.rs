//! The name rule: how a Go-style key (any string) becomes a metric name that Prometheus
//! and OTLP accept, [`metric_name`].

/// The metric name a Go-style key is registered under, so that a variable published with
/// [`Vars::new_int`](crate::Vars::new_int) and friends reaches every format.
///
/// JSON keeps the key exactly as given; the other formats see this name. The rule, applied
/// once, in order:
///
/// 1. Every character outside ASCII `[a-zA-Z0-9_:]` becomes `_` (one `_` per character,
///    so `"héllo"` becomes `h_llo`).
/// 2. If the result is empty or starts with a digit, `_` is put in front.
/// 3. If the result starts with `__` (reserved for Prometheus' own labels and names), the
///    leading underscores are cut down to one.
/// 4. If the result is `_` alone (the key held no letter, digit or `:`), it becomes
///    `_unnamed`: the text formats would print `__total` from `_`, a reserved name.
///
/// Two keys that give the same name cannot both be published: the second `publish` returns
/// [`Error::NameCollision`](crate::Error::NameCollision), naming the first key.
///
/// ```
/// use prism_json::metric_name;
/// assert_eq!(metric_name("requests"), "requests");
/// assert_eq!(metric_name("http.requests-served"), "http_requests_served");
/// assert_eq!(metric_name("9lives"), "_9lives");
/// assert_eq!(metric_name(""), "_unnamed");
/// assert_eq!(metric_name("..cache"), "_cache");
/// assert_eq!(metric_name("ns:cache hits"), "ns:cache_hits");
/// assert!(prism_core::validate_name(&metric_name("<any>\u{2028}string")).is_ok());
/// ```
pub fn metric_name(key: &str) -> String {
    let mut name: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() || name.as_bytes()[0].is_ascii_digit() {
        name.insert(0, '_');
    }
    if name.starts_with("__") {
        let extra = name.bytes().take_while(|&b| b == b'_').count() - 1;
        name.drain(..extra);
    }
    if name == "_" {
        name.push_str("unnamed");
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn every_derived_name_is_a_valid_metric_name(key in any::<String>()) {
            let name = metric_name(&key);
            prop_assert!(prism_core::validate_name(&name).is_ok(), "{key:?} -> {name:?}");
        }

        #[test]
        fn valid_names_without_a_double_underscore_start_are_kept(
            key in "[a-zA-Z:][a-zA-Z0-9_:]{0,30}"
        ) {
            prop_assert_eq!(metric_name(&key), key);
        }

        #[test]
        fn the_rule_is_idempotent(key in any::<String>()) {
            let once = metric_name(&key);
            prop_assert_eq!(metric_name(&once), once.clone());
        }
    }

    #[test]
    fn leading_underscores_are_cut_to_one() {
        assert_eq!(metric_name("__x"), "_x");
        assert_eq!(metric_name("___"), "_unnamed");
        assert_eq!(metric_name("_x"), "_x");
        assert_eq!(metric_name("._"), "_unnamed");
        assert_eq!(metric_name(""), "_unnamed");
        assert_eq!(metric_name("a__b"), "a__b");
    }
}
