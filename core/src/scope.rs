//! [`Scope`]: a view of a [`Registry`] that registers under a name prefix and with constant
//! labels, for a library that registers its metrics without knowing the service's naming.
//!
//! # How constant labels reach the formats
//!
//! A family registered through a scope with constant labels is described by a
//! [`Descriptor`](crate::Descriptor) whose label names start with the constant ones, and
//! every sample's [`label_values`](crate::Sample::label_values) starts with their values
//! (read from the descriptor, not stored per series). A format that renders label names and
//! values renders constant labels with no code of its own, and the family's lookups cost
//! what they cost outside a scope: the constant values never enter a series' key. The
//! overflow series of a family past its limit carries the constant labels and the overflow
//! marker, in place of the family's own labels.

use std::fmt;

use crate::error::Error;
use crate::labels::MAX_LABEL_VALUE_BYTES;
use crate::name;
use crate::read::Metadata;
use crate::registry::{Register, Registry};

/// The most constant labels a scope holds: a family's label names are the constant ones
/// and its own, and every series of it prints them all.
pub const MAX_CONST_LABELS: usize = 32;

/// A name prefix and constant labels, as a scope applies them to what it registers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Naming {
    prefix: String,
    labels: Vec<(String, String)>,
}

impl Naming {
    /// No prefix, no labels: the registry's own naming.
    pub(crate) const ROOT: Naming = Naming {
        prefix: String::new(),
        labels: Vec::new(),
    };

    /// `name` with the prefix joined by `_`.
    pub(crate) fn full_name(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{}_{name}", self.prefix)
        }
    }

    /// The OpenTelemetry name `name` gets: the prefix joined by `.`.
    pub(crate) fn otel_name(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{}.{name}", self.prefix)
        }
    }

    /// The constant labels, in the order they were added.
    pub(crate) fn labels(&self) -> &[(String, String)] {
        &self.labels
    }

    /// Whether `label` is one of the constant labels' names.
    pub(crate) fn has_label(&self, label: &str) -> bool {
        self.labels.iter().any(|(n, _)| n == label)
    }
}

/// A view of a [`Registry`] that registers under a name prefix and with constant labels on
/// every series: prometheus-client's `sub_registry_with_prefix` and
/// `sub_registry_with_label`, client_golang's `WrapRegistererWith`.
///
/// A library takes a `Scope` and registers through it; the service decides the prefix and
/// labels. Scopes nest: a prefix added to a scoped view joins the one before with `_`, and
/// labels accumulate. Each family registered through a scope is an ordinary family of the
/// registry, named by its full name (in every format and in self-telemetry), whose label
/// names are the scope's constant labels followed by its own. Cloning shares the registry.
///
/// ```
/// use prism_core::{Counter, Family, Registry};
///
/// let registry = Registry::new();
/// let scope = registry.scoped().prefix("mylib")?.label("instance", "a")?;
/// let hits = scope.register("cache_hits", "Cache hits.", Counter::new())?;
/// let errors = scope.register("errors", "Errors by kind.", Family::<Counter>::new(["kind"]))?;
/// hits.inc();
/// errors.get(&["timeout"]).inc(); // look-ups take the family's own labels only
///
/// let read = registry.snapshot();
/// let family = read.family("mylib_errors").unwrap();
/// assert_eq!(family.descriptor.label_names(), ["instance", "kind"]);
/// assert_eq!(family.series[0].label_values, ["a", "timeout"]);
/// assert_eq!(read.family("mylib_cache_hits").unwrap().series[0].label_values, ["a"]);
///
/// // Nested: prefixes join with `_`, labels accumulate.
/// let pool = scope.prefix("pool")?.label("pool", "main")?;
/// pool.register("connections", "Open connections.", Counter::new())?;
/// let read = registry.snapshot();
/// let family = read.family("mylib_pool_connections").unwrap();
/// assert_eq!(family.descriptor.label_names(), ["instance", "pool"]);
/// # Ok::<(), prism_core::Error>(())
/// ```
///
/// In OTLP a family registered with an OpenTelemetry name
/// ([`Metadata::otel`](crate::Metadata::otel) or
/// [`otel_name`](crate::Metadata::otel_name)) is named `<prefix>.<name>`, the prefix joined
/// by `.`; one registered by its Prometheus name keeps its full name there too. Constant
/// labels are attributes of the same names.
///
/// Names are unique in the registry: two scopes with the same prefix cannot register the
/// same name, even with different constant labels. Give each such scope a prefix of its
/// own, or register one family with a label for what the scopes tell apart.
#[derive(Clone)]
pub struct Scope {
    registry: Registry,
    naming: Naming,
}

impl Scope {
    pub(crate) fn new(registry: Registry) -> Self {
        Self {
            registry,
            naming: Naming::default(),
        }
    }

    /// This scope with `prefix` added: names registered through it become
    /// `<prefix>_<name>` (after any prefix this scope already has). The prefix must be a
    /// valid metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`, not starting with `__`).
    pub fn prefix(&self, prefix: &str) -> Result<Scope, Error> {
        name::validate_name(prefix)?;
        let mut naming = self.naming.clone();
        naming.prefix = naming.full_name(prefix);
        Ok(Scope {
            registry: self.registry.clone(),
            naming,
        })
    }

    /// This scope with the constant label `name="value"` added to every series registered
    /// through it. The name must be a valid label name not already a constant label of this
    /// scope; the value may be any string up to [`MAX_LABEL_VALUE_BYTES`] without NUL.
    pub fn label(&self, name: &str, value: &str) -> Result<Scope, Error> {
        let refuse = |reason| {
            Err(Error::InvalidConstLabel {
                label: name.to_owned(),
                reason,
            })
        };
        if let Err(Error::InvalidLabelName { reason, .. }) = name::validate_label_name("", name) {
            return refuse(reason);
        }
        if self.naming.has_label(name) {
            return refuse(
                "the scope already has a constant label of this name; a series has one value \
                 per label, so give this label another name",
            );
        }
        if self.naming.labels.len() >= MAX_CONST_LABELS {
            return refuse(
                "the scope already has the most constant labels a scope holds \
                 (MAX_CONST_LABELS); fold some of them into the prefix",
            );
        }
        if value.len() > MAX_LABEL_VALUE_BYTES {
            return refuse("its value is longer than MAX_LABEL_VALUE_BYTES; shorten it");
        }
        if value.contains('\0') {
            return refuse(
                "its value holds NUL, which the Prometheus text format cannot escape; drop it",
            );
        }
        let mut naming = self.naming.clone();
        naming.labels.push((name.to_owned(), value.to_owned()));
        Ok(Scope {
            registry: self.registry.clone(),
            naming,
        })
    }

    /// Registers `metric` under the prefixed `name`: [`Registry::register`] through this
    /// scope. A family whose own label names include one of the scope's constant labels is
    /// refused.
    pub fn register<R: Register>(&self, name: &str, help: &str, metric: R) -> Result<R, Error> {
        self.register_with(Metadata::new(name, help), metric)
    }

    /// [`Registry::register_with`] through this scope: the unit applies to the name as given
    /// and so to the prefixed one, which ends the same way.
    pub fn register_with<R: Register>(&self, meta: Metadata, metric: R) -> Result<R, Error> {
        self.registry.register_in(&self.naming, meta, metric)
    }

    /// [`Registry::get_or_register`] through this scope: the family registered under the
    /// prefixed name is reused only if its constant labels are this scope's too.
    pub fn get_or_register<R: Register>(
        &self,
        name: &str,
        help: &str,
        make: impl FnOnce() -> R,
    ) -> Result<R, Error> {
        self.get_or_register_with(Metadata::new(name, help), make)
    }

    /// [`Registry::get_or_register_with`] through this scope.
    pub fn get_or_register_with<R: Register>(
        &self,
        meta: Metadata,
        make: impl FnOnce() -> R,
    ) -> Result<R, Error> {
        self.registry.get_or_register_in(&self.naming, meta, make)
    }

    /// Unregisters the family registered under the prefixed `name`: [`Registry::unregister`].
    pub fn unregister(&self, name: &str) -> bool {
        self.registry.unregister(&self.naming.full_name(name))
    }

    /// The name a family registered through this scope as `name` gets.
    pub fn full_name(&self, name: &str) -> String {
        self.naming.full_name(name)
    }

    /// The registry this scope registers in.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scope")
            .field("prefix", &self.naming.prefix)
            .field("labels", &self.naming.labels)
            .finish()
    }
}
