//! The OTLP [`Resource`] every export carries: `service.name`, the attributes of
//! `OTEL_RESOURCE_ATTRIBUTES`, and the `telemetry.sdk.*` attributes naming prism.

use std::fmt;

use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource as ProtoResource;

use crate::config::ConfigError;

/// The resource attributes of every export: who is sending these metrics.
///
/// Keys are unique (setting one twice keeps the last value) and kept in the order first
/// set. [`Resource::from_env`] reads the standard variables; the builder methods do the
/// same in code.
///
/// ```
/// use prism_otel::Resource;
/// let resource = Resource::new("checkout").with_attribute("deployment.environment.name", "prod");
/// assert_eq!(resource.get("service.name"), Some("checkout"));
/// assert_eq!(resource.get("telemetry.sdk.name"), Some("prism"));
/// assert_eq!(resource.get("deployment.environment.name"), Some("prod"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Resource {
    attributes: Vec<(String, String)>,
}

/// The key of the service name attribute.
pub const SERVICE_NAME: &str = "service.name";

impl Resource {
    /// A resource for the service `service_name`, with the `telemetry.sdk.*` attributes.
    pub fn new(service_name: impl Into<String>) -> Self {
        let mut resource = Self {
            attributes: Vec::new(),
        };
        resource.set(SERVICE_NAME, service_name.into());
        resource.set("telemetry.sdk.name", "prism".to_owned());
        resource.set("telemetry.sdk.language", "rust".to_owned());
        resource.set(
            "telemetry.sdk.version",
            env!("CARGO_PKG_VERSION").to_owned(),
        );
        resource
    }

    /// The resource the OpenTelemetry specification gives a process that names nothing:
    /// `service.name` is `unknown_service:<executable name>` (or `unknown_service`).
    pub fn unknown_service() -> Self {
        let exe = std::env::current_exe()
            .ok()
            .and_then(|p| p.file_name().and_then(|n| n.to_str()).map(str::to_owned));
        Self::new(match exe {
            Some(exe) => format!("unknown_service:{exe}"),
            None => "unknown_service".to_owned(),
        })
    }

    /// Reads `OTEL_RESOURCE_ATTRIBUTES` (`key=value,...`, values percent-encoded) and
    /// `OTEL_SERVICE_NAME` (which wins over a `service.name` in the former) from the
    /// process environment.
    ///
    /// A malformed `OTEL_RESOURCE_ATTRIBUTES` is an error naming the bad entry, where the
    /// specification only asks SDKs to log and discard it: a typo in deployment config
    /// should be seen, not leave metrics under the wrong service.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&|key| std::env::var(key).ok())
    }

    /// [`from_env`](Self::from_env) with the variables read through `lookup`.
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut resource = Self::unknown_service();
        if let Some(raw) = lookup("OTEL_RESOURCE_ATTRIBUTES") {
            for (key, value) in parse_key_values("OTEL_RESOURCE_ATTRIBUTES", &raw)? {
                resource.set(&key, value);
            }
        }
        if let Some(name) = lookup("OTEL_SERVICE_NAME").filter(|n| !n.trim().is_empty()) {
            resource.set(SERVICE_NAME, name.trim().to_owned());
        }
        Ok(resource)
    }

    /// Sets one attribute, replacing any earlier value of the same key.
    pub fn with_attribute(mut self, key: impl AsRef<str>, value: impl Into<String>) -> Self {
        self.set(key.as_ref(), value.into());
        self
    }

    /// Sets `service.name`.
    pub fn with_service_name(self, name: impl Into<String>) -> Self {
        self.with_attribute(SERVICE_NAME, name)
    }

    /// The value of an attribute.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The attributes, in the order they were first set.
    pub fn attributes(&self) -> impl Iterator<Item = (&str, &str)> {
        self.attributes
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The resource as its OTLP message.
    pub fn to_proto(&self) -> ProtoResource {
        ProtoResource {
            attributes: self
                .attributes
                .iter()
                .map(|(k, v)| string_attribute(k, v))
                .collect(),
            dropped_attributes_count: 0,
            entity_refs: Vec::new(),
        }
    }

    fn set(&mut self, key: &str, value: String) {
        match self.attributes.iter_mut().find(|(k, _)| k == key) {
            Some((_, v)) => *v = value,
            None => self.attributes.push((key.to_owned(), value)),
        }
    }
}

impl Default for Resource {
    fn default() -> Self {
        Self::unknown_service()
    }
}

impl fmt::Debug for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.attributes()).finish()
    }
}

pub(crate) fn string_attribute(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }),
        key_strindex: 0,
    }
}

/// Parses the `key=value,key=value` lists of `OTEL_RESOURCE_ATTRIBUTES` and
/// `OTEL_EXPORTER_OTLP_HEADERS`: entries split on `,`, key and value on the first `=`,
/// both trimmed, values percent-decoded (W3C Baggage octets). Empty entries are skipped.
pub(crate) fn parse_key_values(
    variable: &'static str,
    raw: &str,
) -> Result<Vec<(String, String)>, ConfigError> {
    let mut out = Vec::new();
    for entry in raw.split(',') {
        if entry.trim().is_empty() {
            continue;
        }
        let bad = |reason: &str| ConfigError::invalid(variable, entry.trim(), reason);
        let (key, value) = entry
            .split_once('=')
            .ok_or_else(|| bad("each entry must be `key=value`"))?;
        let key = key.trim();
        if key.is_empty() {
            return Err(bad("the key is empty"));
        }
        let value = percent_decode(value.trim())
            .ok_or_else(|| bad("the value is not valid percent-encoded UTF-8"))?;
        out.push((key.to_owned(), value));
    }
    Ok(out)
}

/// Decodes `%XX` escapes; `None` for a malformed escape or bytes that are not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn service_name_wins_over_resource_attributes() {
        let r = Resource::from_lookup(&lookup(&[
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "service.name=from-attrs,team=core",
            ),
            ("OTEL_SERVICE_NAME", "checkout"),
        ]))
        .unwrap();
        assert_eq!(r.get("service.name"), Some("checkout"));
        assert_eq!(r.get("team"), Some("core"));
        let keys: Vec<&str> = r.attributes().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                "service.name",
                "telemetry.sdk.name",
                "telemetry.sdk.language",
                "telemetry.sdk.version",
                "team"
            ]
        );
    }

    #[test]
    fn resource_attributes_are_percent_decoded_and_trimmed() {
        let r = Resource::from_lookup(&lookup(&[(
            "OTEL_RESOURCE_ATTRIBUTES",
            " region = eu%2Cwest ,, note=a%20b%3Dc%C3%A9 ",
        )]))
        .unwrap();
        assert_eq!(r.get("region"), Some("eu,west"));
        assert_eq!(r.get("note"), Some("a b=cé"));
        assert!(r
            .get("service.name")
            .unwrap()
            .starts_with("unknown_service"));
    }

    #[test]
    fn malformed_resource_attributes_are_an_error_naming_the_entry() {
        for (raw, entry) in [
            ("a=1,novalue", "novalue"),
            ("=x", "=x"),
            ("k=%zz", "k=%zz"),
            ("k=%C3", "k=%C3"),
            ("k=%4", "k=%4"),
        ] {
            let err = Resource::from_lookup(&lookup(&[("OTEL_RESOURCE_ATTRIBUTES", raw)]))
                .unwrap_err()
                .to_string();
            assert!(err.contains("OTEL_RESOURCE_ATTRIBUTES"), "{err}");
            assert!(err.contains(entry), "{err}");
        }
    }

    #[test]
    fn blank_service_name_is_ignored() {
        let r = Resource::from_lookup(&lookup(&[("OTEL_SERVICE_NAME", "  ")])).unwrap();
        assert!(r
            .get("service.name")
            .unwrap()
            .starts_with("unknown_service"));
    }

    #[test]
    fn proto_has_unique_string_attributes() {
        let p = Resource::new("a")
            .with_attribute("k", "1")
            .with_attribute("k", "2")
            .to_proto();
        let keys: Vec<&str> = p.attributes.iter().map(|kv| kv.key.as_str()).collect();
        assert_eq!(keys.len(), 5);
        let k = p.attributes.iter().find(|kv| kv.key == "k").unwrap();
        assert_eq!(
            k.value.as_ref().unwrap().value,
            Some(any_value::Value::StringValue("2".into()))
        );
    }
}
