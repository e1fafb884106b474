//! [`RegistryCollector`]: a whole prism registry as a prometheus-client [`Collector`], so that
//! a service that already serves a prometheus-client `Registry` can add prism's metrics to
//! it.

use std::fmt;
use std::sync::{Mutex, PoisonError};

use prism_core::{Descriptor, Registry, Sample, Visitor};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;

use crate::bridge::FamilyBuf;
use crate::format::Format;

/// Every family of a prism [`Registry`], encoded into a prometheus-client registry's output
/// on each encode (`Registry::register_collector`).
///
/// ```
/// use prometheus_client::encoding::text::encode;
/// use prometheus_client::metrics::counter::Counter;
///
/// // The service's own prometheus-client registry and metric...
/// let mut registry = prometheus_client::registry::Registry::default();
/// let logins: Counter = Counter::default();
/// registry.register("logins", "Logins", logins.clone());
/// logins.inc();
///
/// // ...and prism's metrics, included through the collector.
/// let prism = prism_core::Registry::builder().self_telemetry(false).build();
/// prism.register("jobs", "Jobs run.", prism_core::Counter::new())?.add(3);
/// registry.register_collector(Box::new(prism_prom::RegistryCollector::new(&prism)));
///
/// let mut text = String::new();
/// encode(&mut text, &registry)?;
/// assert!(text.contains("logins_total 1\n"));
/// assert!(text.contains("# HELP jobs Jobs run.\n# TYPE jobs counter\njobs_total 3\n"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// HELP is escaped for one text format, OpenMetrics by default (what
/// `prometheus_client::encoding::text::encode` writes); for
/// `prometheus_client::encoding::prometheus_text::encode` build the collector with
/// [`RegistryCollector::for_format`]`(.., Format::Prometheus)`.
///
/// What prometheus-client's `Collector` API cannot carry is left out or written its way:
///
/// - summary families are left out (prometheus-client has no summary type); render them
///   with [`render`](crate::render), or register histograms instead;
/// - no `_created` lines (the API has no place for a start time);
/// - `NaN` and the infinities are written as prometheus-client writes them (`NaN`, `inf`,
///   `-inf`): Prometheus reads them, strict OpenMetrics parsers want `+Inf`/`-Inf`.
///
/// Names must not clash with the prometheus-client registry's own metrics: neither side
/// checks the other. prism's self-telemetry (`prism_*`) is included like any family.
///
/// **Cost:** each encode reads the registry once through [`Registry::visit`], buffering one
/// family at a time in a buffer the collector keeps (a lock held for the encode; two
/// scrapes at once take turns).
#[derive(Debug)]
pub struct RegistryCollector {
    registry: Registry,
    format: Format,
    buf: Mutex<FamilyBuf>,
}

impl RegistryCollector {
    /// The families of `registry`, HELP escaped for OpenMetrics.
    pub fn new(registry: &Registry) -> Self {
        Self::for_format(registry, Format::OpenMetrics)
    }

    /// The families of `registry`, HELP escaped for `format`: [`Format::Prometheus`] when
    /// the prometheus-client registry is encoded with `prometheus_text::encode`.
    pub fn for_format(registry: &Registry, format: Format) -> Self {
        RegistryCollector {
            registry: registry.clone(),
            format,
            buf: Mutex::new(FamilyBuf::default()),
        }
    }
}

impl Collector for RegistryCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> fmt::Result {
        // The buffer is reset at each family: a panic elsewhere cannot leave it half-used.
        let mut buf = self.buf.lock().unwrap_or_else(PoisonError::into_inner);
        let mut visitor = Encode {
            buf: &mut buf,
            format: self.format,
            encoder: &mut encoder,
            result: Ok(()),
        };
        self.registry.visit(&mut visitor);
        visitor.result
    }
}

struct Encode<'a, 'e> {
    buf: &'a mut FamilyBuf,
    format: Format,
    encoder: &'a mut DescriptorEncoder<'e>,
    /// The first error; the rest of the visit writes nothing.
    result: fmt::Result,
}

impl Visitor for Encode<'_, '_> {
    fn family(&mut self, family: &Descriptor) {
        self.buf.begin(family, self.format);
    }

    fn sample(&mut self, _family: &Descriptor, sample: &Sample<'_>) {
        if self.result.is_ok() {
            self.buf.push(sample);
        }
    }

    fn end_family(&mut self, _family: &Descriptor) {
        if self.result.is_err() {
            return;
        }
        self.buf.settle();
        // An empty family is left out, as the renderer's bridge leaves it out; a summary has no
        // prometheus-client type.
        if self.buf.samples.is_empty() || self.buf.summary {
            return;
        }
        self.result = self.buf.encode(self.encoder);
    }
}
