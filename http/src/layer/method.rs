//! The `http.request.method` label: the method when the semantic conventions know it,
//! `_OTHER` otherwise, so that garbage methods cannot add series.

use http::Method;

/// The label of every method the conventions do not list.
pub const OTHER_METHOD: &str = "_OTHER";

/// The methods of RFC 9110 and RFC 5789 (`PATCH`), the list the OpenTelemetry HTTP
/// conventions call known; a method not in it is labelled [`OTHER_METHOD`].
pub const KNOWN_METHODS: [&str; 9] = [
    "CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE",
];

/// The label value of `method`: one of [`KNOWN_METHODS`] or [`OTHER_METHOD`].
///
/// Compares against `http`'s own constants first (a pointer-sized tag compare for the
/// standard methods), so the common case costs no string comparison.
#[inline]
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => OTHER_METHOD,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_methods_keep_their_name() {
        for name in KNOWN_METHODS {
            let method = Method::from_bytes(name.as_bytes()).unwrap();
            assert_eq!(method_label(&method), name);
        }
    }

    #[test]
    fn extension_and_lowercase_methods_are_other() {
        for name in ["get", "PROPFIND", "QUERYX", "X", "GET2"] {
            let method = Method::from_bytes(name.as_bytes()).unwrap();
            assert_eq!(method_label(&method), OTHER_METHOD, "{name}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_method_maps_into_the_bounded_set(name in "[!#$%&'*+.^_`|~0-9A-Za-z-]{1,40}") {
            let method = Method::from_bytes(name.as_bytes()).unwrap();
            let label = method_label(&method);
            proptest::prop_assert!(label == OTHER_METHOD || KNOWN_METHODS.contains(&label));
            proptest::prop_assert_eq!(label != OTHER_METHOD, KNOWN_METHODS.contains(&name.as_str()));
        }
    }
}
