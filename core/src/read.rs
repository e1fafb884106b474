//! The one read path: [`Visitor`] over [`Descriptor`]s and [`Sample`]s, and the owned
//! [`Snapshot`] built on it.
//!
//! Every adapter (JSON, Prometheus, OTLP) renders from this and nothing else, so a value
//! reaches all formats the same way. Families come in name order; the series of a family
//! in creation order, the overflow series last.

use crate::labels::Values;
use crate::metric::{Kind, Value};

/// What a registered family is: its name, help, unit, kind and label names, and its
/// OpenTelemetry name, unit and attribute names.
///
/// The Prometheus names ([`name`](Self::name), [`unit`](Self::unit),
/// [`label_names`](Self::label_names)) are what Prometheus text and JSON print; the
/// OpenTelemetry ones ([`otel_name`](Self::otel_name), [`otel_unit`](Self::otel_unit),
/// [`attribute_names`](Self::attribute_names)) are what OTLP carries. A family registered by
/// its Prometheus name has an OpenTelemetry name equal to it, the UCUM form of its unit
/// and attributes named as its labels, unless [`Metadata`] overrides them; one registered
/// by its OpenTelemetry name ([`Metadata::otel`]) has the Prometheus names the
/// OpenTelemetry-to-Prometheus translation gives ([`otel`](crate::otel)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    pub(crate) name: String,
    pub(crate) help: String,
    pub(crate) unit: Option<String>,
    pub(crate) otel_name: String,
    /// Empty for no unit, as OTLP writes it.
    pub(crate) otel_unit: String,
    /// One per label name, in the same order.
    pub(crate) attribute_names: Box<[String]>,
    pub(crate) kind: Kind,
    /// The constant labels' names first (see [`Scope`](crate::Scope)), then the family's own.
    pub(crate) label_names: Box<[String]>,
    /// The values of the constant labels: one for each of the first `const_values.len()`
    /// label names.
    pub(crate) const_values: Box<[String]>,
    pub(crate) up_down: bool,
}

impl Descriptor {
    /// The name, without any suffix a format adds (`_total`, `_created`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The help text, unescaped.
    pub fn help(&self) -> &str {
        &self.help
    }

    /// The unit, if one was given; the name ends in `_<unit>`.
    pub fn unit(&self) -> Option<&str> {
        self.unit.as_deref()
    }

    /// The OpenTelemetry metric name: OTLP's `name`.
    pub fn otel_name(&self) -> &str {
        &self.otel_name
    }

    /// The OpenTelemetry (UCUM) unit, `""` for none: OTLP's `unit`.
    pub fn otel_unit(&self) -> &str {
        &self.otel_unit
    }

    /// The OpenTelemetry attribute names, one for each of [`label_names`](Self::label_names)
    /// and in the same order: OTLP's attribute keys.
    pub fn attribute_names(&self) -> &[String] {
        &self.attribute_names
    }

    /// The kind.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Whether this gauge only changes by adding: an up-down counter to OpenTelemetry (a
    /// non-monotonic `Sum` in OTLP), a gauge everywhere else. See [`Metric::UP_DOWN`].
    ///
    /// [`Metric::UP_DOWN`]: crate::Metric::UP_DOWN
    pub fn is_up_down_counter(&self) -> bool {
        self.up_down
    }

    /// The label names, in the order of each sample's values: the constant labels of the
    /// [`Scope`](crate::Scope) it was registered through first (see
    /// [`const_labels`](Self::const_labels)), then the family's own. Empty for a metric
    /// registered on its own outside any scope with labels.
    pub fn label_names(&self) -> &[String] {
        &self.label_names
    }

    /// The constant labels, name and value, that the [`Scope`](crate::Scope) the family was
    /// registered through puts on every series; empty for a family registered on the
    /// registry itself. They are the first label names, and every sample's
    /// [`label_values`](Sample::label_values) starts with their values, so a format that
    /// renders label names and values renders them without knowing about scopes.
    pub fn const_labels(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + '_ {
        self.label_names
            .iter()
            .zip(self.const_values.iter())
            .map(|(name, value)| (name.as_str(), value.as_str()))
    }
}

/// The name, help and unit to register a metric under, for [`Registry::register_with`]:
/// by its Prometheus name ([`new`](Self::new)) or by its OpenTelemetry name
/// ([`otel`](Self::otel)).
///
/// [`Registry::register_with`]: crate::Registry::register_with
///
/// ```
/// use prism_core::{FloatCounter, Metadata, Registry};
/// let registry = Registry::new();
/// let cpu = registry.register_with(
///     Metadata::new("process_cpu_seconds", "CPU time used.").unit("seconds"),
///     FloatCounter::new(),
/// )?;
/// let family = registry.descriptors().into_iter().next().unwrap();
/// assert_eq!((family.otel_name(), family.otel_unit()), ("process_cpu_seconds", "s"));
/// # Ok::<(), prism_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    pub(crate) name: String,
    pub(crate) help: String,
    pub(crate) unit: Option<String>,
    pub(crate) otel_name: Option<String>,
    pub(crate) otel_unit: Option<String>,
    /// Registered by the OpenTelemetry name: `name` is unused, the family's label names
    /// are attribute names.
    pub(crate) otel_first: bool,
}

impl Metadata {
    /// A Prometheus name and its help text. The OpenTelemetry name is the same name, the
    /// OpenTelemetry unit the UCUM form of [`unit`](Self::unit) ([`otel::otel_unit`]), the
    /// attribute names the label names; [`otel_name`](Self::otel_name) and
    /// [`otel_unit`](Self::otel_unit) override the first two.
    ///
    /// [`otel::otel_unit`]: crate::otel::otel_unit
    pub fn new(name: impl Into<String>, help: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            help: help.into(),
            unit: None,
            otel_name: None,
            otel_unit: None,
            otel_first: false,
        }
    }

    /// An OpenTelemetry name, its UCUM unit (`""` for none) and its help text. The
    /// Prometheus name, unit and label names are those the OpenTelemetry-to-Prometheus
    /// translation gives ([`otel`](crate::otel)): `http.server.request.duration` in `s` is
    /// `http_server_request_duration_seconds` with unit `seconds`. A family registered
    /// with it is built with attribute names (`http.request.method`); each becomes a label
    /// name by the same translation (`http_request_method`), and lookups take values in
    /// the order the attributes were given.
    ///
    /// The name, unit and attribute names are checked at registration:
    /// [`Error::InvalidOtelName`](crate::Error::InvalidOtelName),
    /// [`InvalidOtelUnit`](crate::Error::InvalidOtelUnit),
    /// [`InvalidAttributeName`](crate::Error::InvalidAttributeName).
    ///
    /// ```
    /// use prism_core::{Family, Histogram, Metadata, Registry};
    /// let registry = Registry::new();
    /// let duration = registry.register_with(
    ///     Metadata::otel("http.server.request.duration", "s", "Duration of HTTP server requests."),
    ///     Family::<Histogram>::new(["http.request.method", "http.route"]),
    /// )?;
    /// duration.get(&["GET", "/items/{id}"]).record_duration(std::time::Duration::from_millis(250));
    ///
    /// let read = registry.snapshot();
    /// let family = read.family("http_server_request_duration_seconds").unwrap();
    /// assert_eq!(family.descriptor.otel_name(), "http.server.request.duration");
    /// assert_eq!(family.descriptor.otel_unit(), "s");
    /// assert_eq!(family.descriptor.unit(), Some("seconds"));
    /// assert_eq!(family.descriptor.label_names(), ["http_request_method", "http_route"]);
    /// assert_eq!(family.descriptor.attribute_names(), ["http.request.method", "http.route"]);
    /// # Ok::<(), prism_core::Error>(())
    /// ```
    pub fn otel(name: impl Into<String>, unit: impl Into<String>, help: impl Into<String>) -> Self {
        let name = name.into();
        Self {
            name: name.clone(),
            help: help.into(),
            unit: None,
            otel_name: Some(name),
            otel_unit: Some(unit.into()),
            otel_first: true,
        }
    }

    /// The Prometheus unit; the name must end in `_<unit>`. Not for metadata made by
    /// [`otel`](Self::otel), whose Prometheus unit comes from its OpenTelemetry unit.
    pub fn unit(mut self, unit: impl Into<String>) -> Self {
        self.unit = Some(unit.into());
        self
    }

    /// The OpenTelemetry name OTLP carries, in place of the default. Under a
    /// [`Scope`](crate::Scope) with a prefix it becomes `<prefix>.<name>`.
    pub fn otel_name(mut self, name: impl Into<String>) -> Self {
        self.otel_name = Some(name.into());
        self
    }

    /// The OpenTelemetry (UCUM) unit OTLP carries, in place of the default; `""` for none.
    pub fn otel_unit(mut self, unit: impl Into<String>) -> Self {
        self.otel_unit = Some(unit.into());
        self
    }
}

/// One series as read: its label values, its value and when it started.
#[derive(Debug, Clone)]
pub struct Sample<'a> {
    /// The values of the family's constant labels ([`Descriptor::const_labels`]).
    pub(crate) consts: &'a [String],
    pub(crate) labels: SampleLabels<'a>,
    pub(crate) value: Value,
    pub(crate) created_unix_nanos: u64,
}

#[derive(Debug, Clone)]
pub(crate) enum SampleLabels<'a> {
    /// A metric registered on its own: no labels.
    None,
    /// A family series.
    Series(Values<'a>),
    /// The overflow series of a family.
    Overflow,
    /// A self-telemetry series with one label value.
    One(&'a str),
}

impl<'a> Sample<'a> {
    /// The label values, in the order of the descriptor's label names: the constant labels'
    /// values first. For the overflow series, the constant labels' values alone: it stands
    /// for every refused label set of the family, so it has no value for the family's own
    /// labels, but it keeps the [`Scope`](crate::Scope)'s, so that a query selecting on them
    /// (`{instance="a"}`) counts the refused updates too.
    pub fn label_values(&self) -> LabelValuesIter<'a> {
        LabelValuesIter {
            consts: self.consts.iter(),
            inner: self.labels.clone(),
        }
    }

    /// Whether this is the overflow series of a family past its cardinality limit. Formats
    /// label it with the constant labels ([`label_values`](Self::label_values)) and
    /// `otel_metric_overflow="true"` ([`OVERFLOW_LABEL`]), or give it those and the
    /// attribute `otel.metric.overflow=true` ([`OVERFLOW_ATTRIBUTE`]), in place of the
    /// family's own labels.
    ///
    /// [`OVERFLOW_LABEL`]: crate::OVERFLOW_LABEL
    /// [`OVERFLOW_ATTRIBUTE`]: crate::OVERFLOW_ATTRIBUTE
    pub fn is_overflow(&self) -> bool {
        matches!(self.labels, SampleLabels::Overflow)
    }

    /// The value, read once for this sample.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// When the series started, in nanoseconds since the Unix epoch: OTLP's
    /// `start_time_unix_nano`, OpenMetrics' `_created`.
    pub fn created_unix_nanos(&self) -> u64 {
        self.created_unix_nanos
    }
}

/// The label values of a [`Sample`].
#[derive(Debug, Clone)]
pub struct LabelValuesIter<'a> {
    consts: std::slice::Iter<'a, String>,
    inner: SampleLabels<'a>,
}

impl<'a> Iterator for LabelValuesIter<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        if let Some(value) = self.consts.next() {
            return Some(value);
        }
        match &mut self.inner {
            SampleLabels::Series(values) => values.next(),
            SampleLabels::One(value) => {
                let value = *value;
                self.inner = SampleLabels::None;
                Some(value)
            }
            SampleLabels::None | SampleLabels::Overflow => None,
        }
    }
}

/// Receives a registry's read: each family, its samples, then the family's end.
///
/// ```
/// use prism_core::{Counter, Descriptor, Registry, Sample, Visitor};
///
/// struct Lines(Vec<String>);
/// impl Visitor for Lines {
///     fn sample(&mut self, family: &Descriptor, sample: &Sample<'_>) {
///         let labels: Vec<&str> = sample.label_values().collect();
///         self.0.push(format!("{} {:?} {}", family.name(), labels, sample.value().as_f64()));
///     }
/// }
///
/// let registry = Registry::builder().self_telemetry(false).build();
/// registry.register("jobs", "Jobs run.", Counter::new())?.add(3);
/// let mut lines = Lines(Vec::new());
/// registry.visit(&mut lines);
/// assert_eq!(lines.0, ["jobs [] 3"]);
/// # Ok::<(), prism_core::Error>(())
/// ```
pub trait Visitor {
    /// A family starts. Called for every registered family, also one with no series.
    fn family(&mut self, family: &Descriptor) {
        let _ = family;
    }

    /// One series of the current family.
    fn sample(&mut self, family: &Descriptor, sample: &Sample<'_>);

    /// The current family ends.
    fn end_family(&mut self, family: &Descriptor) {
        let _ = family;
    }
}

/// An owned copy of one read of a registry.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// The families, in name order.
    pub families: Vec<FamilySnapshot>,
}

impl Snapshot {
    /// The family of this name, if it was registered.
    pub fn family(&self, name: &str) -> Option<&FamilySnapshot> {
        self.families.iter().find(|f| f.descriptor.name == name)
    }
}

/// One family of a [`Snapshot`].
#[derive(Debug, Clone, PartialEq)]
pub struct FamilySnapshot {
    /// What the family is.
    pub descriptor: Descriptor,
    /// Its series, in read order.
    pub series: Vec<SeriesSnapshot>,
}

impl FamilySnapshot {
    /// The series with exactly these label values (not the overflow series).
    pub fn series(&self, values: &[&str]) -> Option<&SeriesSnapshot> {
        self.series
            .iter()
            .find(|s| !s.overflow && s.label_values == values)
    }

    /// The overflow series, if the family has one.
    pub fn overflow(&self) -> Option<&SeriesSnapshot> {
        self.series.iter().find(|s| s.overflow)
    }
}

/// One series of a [`FamilySnapshot`].
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesSnapshot {
    /// Label values, in the order of the descriptor's label names; for the overflow series,
    /// the constant labels' values alone (see [`Sample::label_values`]).
    pub label_values: Vec<String>,
    /// Whether this is the overflow series.
    pub overflow: bool,
    /// The value read.
    pub value: Value,
    /// Start time, nanoseconds since the Unix epoch.
    pub created_unix_nanos: u64,
}

/// Builds a [`Snapshot`] from a visit.
#[derive(Debug, Default)]
pub(crate) struct SnapshotBuilder {
    pub(crate) families: Vec<FamilySnapshot>,
}

impl Visitor for SnapshotBuilder {
    fn family(&mut self, family: &Descriptor) {
        self.families.push(FamilySnapshot {
            descriptor: family.clone(),
            series: Vec::new(),
        });
    }

    fn sample(&mut self, _family: &Descriptor, sample: &Sample<'_>) {
        if let Some(family) = self.families.last_mut() {
            family.series.push(SeriesSnapshot {
                label_values: sample.label_values().map(str::to_owned).collect(),
                overflow: sample.is_overflow(),
                value: sample.value.clone(),
                created_unix_nanos: sample.created_unix_nanos,
            });
        }
    }
}
