//! Rendering a registry: [`Renderer`], which keeps its buffers from one render to the next,
//! and the one-shot functions [`render`], [`render_into`], [`render_into_vec`] and
//! [`encode`].

use std::fmt::{self, Write};
use std::sync::Arc;

use prism_core::{Descriptor, Registry, Sample, Visitor};
use prometheus_client::encoding::{prometheus_text, text as openmetrics_text};
use prometheus_client::metrics::MetricType;

use crate::bridge::{Bridge, FamilyBuf, Number};
use crate::format::Format;
use crate::text::{non_finite, push_unix_seconds};

/// Renders one [`Registry`] as Prometheus or OpenMetrics text, reusing its buffers from one
/// render to the next.
///
/// Each render is one [`Registry::visit`]: families in name order, each series read once.
/// A family is copied into a buffer (the read path lends label values only for the length
/// of one callback), encoded through prometheus-client, then, for OpenMetrics, given the
/// lines prometheus-client does not write (`_created`). No lock is held across the render:
/// the registry's lock is taken only to list the families, and writers keep writing while
/// their series are read.
///
/// ```
/// use prism_core::{Counter, Registry};
/// use prism_prom::{Format, Renderer};
///
/// let registry = Registry::builder().self_telemetry(false).build();
/// let jobs = registry.register("jobs", "Jobs run.", Counter::new())?;
/// let mut renderer = Renderer::new(registry);
/// let mut body = String::new();
/// for expected in [1, 2] {
///     jobs.inc();
///     body.clear();
///     renderer.render_into(Format::Prometheus, &mut body);
///     assert!(body.ends_with(&format!("jobs_total {expected}\n")));
/// }
/// # Ok::<(), prism_core::Error>(())
/// ```
pub struct Renderer {
    registry: Registry,
    bridge: Arc<Bridge>,
    /// A prometheus-client registry holding only `bridge`.
    encoder: prometheus_client::registry::Registry,
    family: FamilyBuf,
    scratch: String,
    completed: String,
}

impl Renderer {
    /// A renderer of `registry` (a cheap clone of it is kept).
    pub fn new(registry: Registry) -> Self {
        let bridge = Arc::new(Bridge::default());
        let mut encoder = prometheus_client::registry::Registry::default();
        encoder.register_collector(Box::new(bridge.clone()));
        Self {
            registry,
            bridge,
            encoder,
            family: FamilyBuf::default(),
            scratch: String::new(),
            completed: String::new(),
        }
    }

    /// The registry this renderer reads.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Writes the whole exposition in `format` to `writer`. Fails only if `writer` fails;
    /// what was written before the failure stays written.
    pub fn encode<W: Write + ?Sized>(&mut self, format: Format, writer: &mut W) -> fmt::Result {
        let mut writer = Dyn(writer);
        let mut visitor = RenderVisitor {
            format,
            bridge: &self.bridge,
            encoder: &self.encoder,
            family: &mut self.family,
            scratch: &mut self.scratch,
            completed: &mut self.completed,
            out: &mut writer,
            result: Ok(()),
        };
        let registry = self.registry.clone();
        registry.visit(&mut visitor);
        visitor.result?;
        match format {
            Format::Prometheus => Ok(()),
            Format::OpenMetrics => openmetrics_text::encode_eof(&mut writer),
        }
    }

    /// Appends the exposition in `format` to `out`.
    pub fn render_into(&mut self, format: Format, out: &mut String) {
        let result = self.encode(format, out);
        // prometheus-client's text encoders fail only when their writer does, and the
        // bridge adds no failure of its own: appending to a `String` cannot fail.
        debug_assert!(result.is_ok(), "rendering into a String failed: {result:?}");
    }

    /// Appends the exposition in `format` to `out`, as UTF-8 bytes.
    pub fn render_into_vec(&mut self, format: Format, out: &mut Vec<u8>) {
        let result = self.encode(format, &mut Bytes(out));
        debug_assert!(
            result.is_ok(),
            "rendering into a Vec<u8> failed: {result:?}"
        );
    }

    /// The exposition in `format`, as a new `String`.
    pub fn render(&mut self, format: Format) -> String {
        let mut out = String::new();
        self.render_into(format, &mut out);
        out
    }
}

impl fmt::Debug for Renderer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The buffers can hold megabytes of text: show their sizes only.
        f.debug_struct("Renderer")
            .field("registry", &self.registry)
            .field("family_buffer_series", &self.family.samples.capacity())
            .field("scratch_bytes", &self.scratch.capacity())
            .finish_non_exhaustive()
    }
}

/// The exposition of `registry` in `format`.
///
/// ```
/// use prism_core::{Gauge, Registry};
/// use prism_prom::{render, Format};
///
/// let registry = Registry::builder().self_telemetry(false).build();
/// registry.register("queue_depth", "Jobs waiting.", Gauge::new())?.set(7);
/// assert_eq!(
///     render(&registry, Format::Prometheus),
///     "# HELP queue_depth Jobs waiting.\n# TYPE queue_depth gauge\nqueue_depth 7\n",
/// );
/// # Ok::<(), prism_core::Error>(())
/// ```
pub fn render(registry: &Registry, format: Format) -> String {
    Renderer::new(registry.clone()).render(format)
}

/// Appends the exposition of `registry` in `format` to `out`. To render the same registry
/// again and again (a `/metrics` endpoint), keep a [`Renderer`], which reuses its buffers.
pub fn render_into(registry: &Registry, format: Format, out: &mut String) {
    Renderer::new(registry.clone()).render_into(format, out);
}

/// Appends the exposition of `registry` in `format` to `out`, as UTF-8 bytes.
pub fn render_into_vec(registry: &Registry, format: Format, out: &mut Vec<u8>) {
    Renderer::new(registry.clone()).render_into_vec(format, out);
}

/// Writes the exposition of `registry` in `format` to `writer`; fails only if `writer`
/// fails.
pub fn encode<W: Write + ?Sized>(
    registry: &Registry,
    format: Format,
    writer: &mut W,
) -> fmt::Result {
    Renderer::new(registry.clone()).encode(format, writer)
}

/// `fmt::Write` over bytes.
struct Bytes<'a>(&'a mut Vec<u8>);

impl Write for Bytes<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// A sized `fmt::Write` around an unsized one, for prometheus-client's `W: Write` bounds.
struct Dyn<'a, W: ?Sized>(&'a mut W);

impl<W: Write + ?Sized> Write for Dyn<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.write_str(s)
    }
}

/// One render: buffers each family, then writes it.
struct RenderVisitor<'r> {
    format: Format,
    bridge: &'r Bridge,
    encoder: &'r prometheus_client::registry::Registry,
    family: &'r mut FamilyBuf,
    scratch: &'r mut String,
    completed: &'r mut String,
    out: &'r mut dyn Write,
    result: fmt::Result,
}

impl Visitor for RenderVisitor<'_> {
    fn family(&mut self, family: &Descriptor) {
        self.family.begin(family, self.format);
    }

    fn sample(&mut self, _family: &Descriptor, sample: &Sample<'_>) {
        self.family.push(sample);
    }

    fn end_family(&mut self, _family: &Descriptor) {
        if self.result.is_ok() {
            self.result = self.write_family();
        }
    }
}

impl RenderVisitor<'_> {
    fn write_family(&mut self) -> fmt::Result {
        // A family without series prints nothing, not even its HELP and TYPE, as in
        // prometheus-client's own `Family` and in client_golang.
        if self.family.samples.is_empty() {
            return Ok(());
        }
        // OpenMetrics needs lines prometheus-client does not write: `_created` for each
        // counter series, and `+Inf`/`-Inf` where it writes `inf`/`-inf`. Such a family is
        // encoded into `scratch` and completed line by line; any other goes straight out.
        let complete = self.format == Format::OpenMetrics
            && (self.family.metric_type == MetricType::Counter || self.family.has_non_finite);

        std::mem::swap(&mut *self.bridge.slot(), self.family);
        let encoded = if complete {
            self.scratch.clear();
            self.encode_buffered(Target::Scratch)
        } else {
            self.encode_buffered(Target::Out)
        };
        std::mem::swap(&mut *self.bridge.slot(), self.family);
        encoded?;

        if complete {
            complete_openmetrics(self.family, self.scratch, self.completed, self.out)?;
        }
        Ok(())
    }

    /// Runs prometheus-client's encoder over the registry holding only the bridge, which
    /// now holds the buffered family.
    fn encode_buffered(&mut self, target: Target) -> fmt::Result {
        let writer: &mut dyn Write = match target {
            Target::Scratch => &mut *self.scratch,
            Target::Out => &mut *self.out,
        };
        let mut writer = Dyn(writer);
        match self.format {
            Format::Prometheus => prometheus_text::encode(&mut writer, self.encoder),
            Format::OpenMetrics => openmetrics_text::encode_registry(&mut writer, self.encoder),
        }
    }
}

#[derive(Clone, Copy)]
enum Target {
    Scratch,
    Out,
}

/// Copies prometheus-client's OpenMetrics text of one family to `out`, adding what it
/// leaves out.
///
/// The text is exactly: metadata lines starting with `#`, then one line per buffered
/// series, in order, each `<name><suffix><labels> <value>`. Label values and HELP text are
/// escaped, so a raw newline only ever ends a line and the value is everything after the
/// line's last space: the lines can be matched to the series without parsing them.
///
/// The completed text is gathered in `completed` and handed to `out` in large pieces, so
/// the cost per line is a few appends to a `String` rather than calls through `dyn Write`.
fn complete_openmetrics(
    family: &FamilyBuf,
    text: &str,
    completed: &mut String,
    out: &mut dyn Write,
) -> fmt::Result {
    /// Hand `completed` to `out` once it holds this much: large enough that the calls
    /// through `dyn Write` do not count, small enough to stay in cache.
    const FLUSH_AT: usize = 32 * 1024;

    let counter = family.metric_type == MetricType::Counter;
    let mut samples = family.samples.iter();
    completed.clear();
    for line in text.split_inclusive('\n') {
        if completed.len() >= FLUSH_AT {
            out.write_str(completed)?;
            completed.clear();
        }
        if line.starts_with('#') {
            completed.push_str(line);
            continue;
        }
        let (Some(sample), Some(space)) = (samples.next(), line.rfind(' ')) else {
            debug_assert!(
                false,
                "prometheus-client wrote a line the bridge did not expect: {line:?}"
            );
            completed.push_str(line);
            continue;
        };
        // `head` is the line up to and including the space before the value.
        let head = &line[..=space];
        match sample.value {
            Number::F64(v) if !v.is_finite() => {
                completed.push_str(head);
                completed.push_str(non_finite(v));
                completed.push('\n');
            }
            _ => completed.push_str(line),
        }
        if counter && sample.created_unix_nanos != 0 {
            // `head` is `<name>_total<labels> `: the `_created` line reuses the labels
            // exactly as prometheus-client escaped them. A start time of 0 means the clock
            // read before 1970 (core's rule): no `_created` rather than a false one.
            let labels = head
                .strip_prefix(family.name.as_str())
                .and_then(|rest| rest.strip_prefix("_total"));
            if let Some(labels) = labels {
                completed.push_str(&family.name);
                completed.push_str("_created");
                completed.push_str(labels);
                push_unix_seconds(sample.created_unix_nanos, completed);
                completed.push('\n');
            } else {
                debug_assert!(false, "counter line without `<name>_total`: {line:?}");
            }
        }
    }
    out.write_str(completed)
}
