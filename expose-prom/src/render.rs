//! Rendering a registry: [`Renderer`], which keeps its buffers from one render to the next,
//! and the one-shot functions [`render`], [`render_into`], [`render_into_vec`] and
//! [`encode`].

use std::fmt::{self, Write};
use std::sync::Arc;

use prism_core::{Descriptor, Kind, Registry, Sample, Visitor};
use prometheus_client::encoding::{prometheus_text, text as openmetrics_text};
use prometheus_client::metrics::MetricType;

use crate::bridge::{Bridge, BufferedSample, FamilyBuf, Number};
use crate::direct;
use crate::format::Format;
use crate::text::{non_finite, push_unix_seconds};

/// Renders one [`Registry`] as Prometheus or OpenMetrics text, reusing its buffers from one
/// render to the next.
///
/// Each render is one [`Registry::visit`]: families in name order, each series read once.
/// A counter or gauge family is written as its series are read; a histogram or summary
/// family is copied into a buffer first (the read path lends label values only for the
/// length of one callback) and written from it. No lock is held across the render:
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
    /// The family being read; its allocations are reused from family to family.
    family: FamilyBuf,
    completion: Completion,
    created: bool,
    /// Encode through prometheus-client instead of writing the text directly.
    oracle: bool,
    /// One series' labels, as the direct writer formats them.
    labels: String,
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
            completion: Completion::default(),
            created: true,
            oracle: false,
            labels: String::new(),
        }
    }

    /// Encodes through prometheus-client's text encoders (and completes their output) instead
    /// of writing the text directly: the same bytes, more slowly. The direct writer is
    /// checked against this on fixed and random registries; it is here for such checks.
    #[doc(hidden)]
    pub fn via_prometheus_client(mut self) -> Self {
        self.oracle = true;
        self
    }

    /// Whether OpenMetrics output has a `<name>_created` line for each counter series (the
    /// default: yes).
    ///
    /// Turn it off for a Prometheus older than 2.50 (or one without the
    /// `created-timestamp-zero-ingestion` feature), which stores every `_created` line as a
    /// series of its own and so doubles the series a counter family costs, as the Python
    /// client's `PROMETHEUS_DISABLE_CREATED_SERIES` does. The 0.0.4 format never has them.
    ///
    /// ```
    /// use prism_core::{Counter, Registry};
    /// use prism_prom::{Format, Renderer};
    ///
    /// let registry = Registry::builder().self_telemetry(false).build();
    /// registry.register("jobs", "Jobs run.", Counter::new())?.inc();
    /// let mut renderer = Renderer::new(registry).openmetrics_created(false);
    /// assert_eq!(
    ///     renderer.render(Format::OpenMetrics),
    ///     "# HELP jobs Jobs run.\n# TYPE jobs counter\njobs_total 1\n# EOF\n",
    /// );
    /// # Ok::<(), prism_core::Error>(())
    /// ```
    pub fn openmetrics_created(mut self, on: bool) -> Self {
        self.created = on;
        self
    }

    /// The registry this renderer reads.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Writes the whole exposition in `format` to `writer`. Fails only if `writer` fails;
    /// what was written before the failure stays written.
    pub fn encode<W: Write + ?Sized>(&mut self, format: Format, writer: &mut W) -> fmt::Result {
        // Every OpenMetrics version has the same body; below, only its two kinds matter.
        let format = format.body();
        let mut writer = Dyn(writer);
        let mut visitor = RenderVisitor {
            format,
            bridge: &self.bridge,
            encoder: &self.encoder,
            family: &mut self.family,
            completion: &mut self.completion,
            created: self.created,
            oracle: self.oracle,
            labels: &mut self.labels,
            streaming: false,
            started: false,
            out: &mut writer,
            result: Ok(()),
        };
        let registry = self.registry.clone();
        registry.visit(&mut visitor);
        visitor.result?;
        match format {
            Format::Prometheus => Ok(()),
            Format::OpenMetrics | Format::OpenMetrics0_0_1 => {
                openmetrics_text::encode_eof(&mut writer)
            }
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
    completion: &'r mut Completion,
    created: bool,
    oracle: bool,
    labels: &'r mut String,
    /// Whether the current family is written as its series are read (see
    /// [`direct::streams`]), and whether its header is written yet.
    streaming: bool,
    started: bool,
    out: &'r mut dyn Write,
    result: fmt::Result,
}

impl Visitor for RenderVisitor<'_> {
    fn family(&mut self, family: &Descriptor) {
        self.family.begin(family, self.format);
        self.streaming = !self.oracle && direct::streams(family.kind());
        self.started = false;
        if self.streaming {
            self.family.metric_type = match family.kind() {
                Kind::Counter => MetricType::Counter,
                _ => MetricType::Gauge,
            };
        }
    }

    fn sample(&mut self, family: &Descriptor, sample: &Sample<'_>) {
        if !self.streaming {
            self.family.push(sample);
            return;
        }
        let Some(value) = direct::number(sample.value()) else {
            return;
        };
        if self.result.is_err() {
            return;
        }
        let out = &mut self.completion.completed;
        // A family without series prints nothing, not even its HELP and TYPE.
        if !self.started {
            out.clear();
            self.family.write_header(self.format, out);
            self.started = true;
        }
        let created = self.created
            && self.format.is_openmetrics()
            && self.family.metric_type == MetricType::Counter;
        let created_nanos = if created {
            sample.created_unix_nanos()
        } else {
            0
        };
        self.family
            .write_streamed(family, sample, value, created_nanos, self.labels, out);
        if out.len() >= FLUSH_AT {
            self.result = self.out.write_str(out);
            out.clear();
        }
    }

    fn end_family(&mut self, _family: &Descriptor) {
        if self.streaming {
            let out = &mut self.completion.completed;
            if self.started && self.result.is_ok() {
                self.result = self.out.write_str(out);
            }
            out.clear();
            return;
        }
        if self.result.is_ok() {
            self.result = self.write_family();
        }
    }
}

impl RenderVisitor<'_> {
    fn write_family(&mut self) -> fmt::Result {
        // A family without series prints nothing, not even its HELP and TYPE, as in
        // prometheus-client's own `Family` and in client_golang.
        self.family.settle();
        if self.family.samples.is_empty() {
            return Ok(());
        }
        if self.family.summary {
            // prometheus-client has no summary type: the bridge writes it.
            let completed = &mut self.completion.completed;
            completed.clear();
            self.family
                .write_summary(self.format, self.created, completed);
            return self.out.write_str(completed);
        }
        if !self.oracle {
            let completed = &mut self.completion.completed;
            completed.clear();
            self.family
                .write_direct(self.format, self.created, self.labels, completed);
            return self.out.write_str(completed);
        }
        // Lent to the bridge (prometheus-client's collector must own what it reads) for the
        // length of one encode, then taken back with its allocations.
        let family = Arc::new(std::mem::take(self.family));
        *self.bridge.slot() = Some(Arc::clone(&family));
        let result = self.encode_family(&family);
        *self.bridge.slot() = None;
        *self.family = Arc::try_unwrap(family).unwrap_or_else(|shared| (*shared).clone());
        result
    }

    /// Runs prometheus-client's encoder over the registry holding only the bridge, which
    /// now holds the buffered family.
    fn encode_family(&mut self, family: &FamilyBuf) -> fmt::Result {
        match self.format {
            Format::Prometheus => prometheus_text::encode(&mut Dyn(&mut *self.out), self.encoder),
            // OpenMetrics needs lines prometheus-client does not write: `_created` for each
            // counter series, and `+Inf`/`-Inf` where it writes `inf`/`-inf`. The text of
            // such a family goes through a `Completer` on its way out.
            Format::OpenMetrics | Format::OpenMetrics0_0_1
                if (self.created && has_created(family)) || family.has_non_finite =>
            {
                let mut completer = Completer {
                    family,
                    created: self.created && has_created(family),
                    line_in_sample: 0,
                    samples: family.samples.iter(),
                    state: &mut *self.completion,
                    out: &mut *self.out,
                };
                completer.state.partial.clear();
                completer.state.completed.clear();
                openmetrics_text::encode_registry(&mut completer, self.encoder)?;
                completer.finish()
            }
            Format::OpenMetrics | Format::OpenMetrics0_0_1 => {
                openmetrics_text::encode_registry(&mut Dyn(&mut *self.out), self.encoder)
            }
        }
    }
}

/// Whether OpenMetrics gives the family's series a `_created` line: counters and
/// histograms (summaries too, written by the bridge itself).
fn has_created(family: &FamilyBuf) -> bool {
    matches!(
        family.metric_type,
        MetricType::Counter | MetricType::Histogram
    )
}

/// The buffers of a [`Completer`], kept by the renderer.
#[derive(Debug, Default)]
struct Completion {
    /// The start of a line whose end has not arrived yet.
    partial: String,
    /// Completed text waiting to be handed to the output in one piece.
    completed: String,
}

/// Hand completed text to the output once this much is waiting: large enough that the
/// calls through `dyn Write` do not count, small enough to stay in cache.
const FLUSH_AT: usize = 32 * 1024;

/// Receives prometheus-client's OpenMetrics text of one family as it is written (in pieces
/// of about 4 KiB, its buffer size) and passes it on with what prometheus-client leaves
/// out.
///
/// The text is exactly: metadata lines starting with `#`, then one line per buffered
/// series, in order, each `<name><suffix><labels> <value>`. Label values and HELP text are
/// escaped, so a raw newline only ever ends a line and the value is everything after the
/// line's last space: the lines can be matched to the series without parsing them. Working
/// piece by piece keeps the text in cache, where completing a whole family afterwards would
/// read it back from memory.
struct Completer<'a> {
    family: &'a FamilyBuf,
    /// Whether each series gets a `_created` line.
    created: bool,
    /// Which line of the current series comes next (a histogram series has several).
    line_in_sample: usize,
    samples: std::slice::Iter<'a, BufferedSample>,
    state: &'a mut Completion,
    out: &'a mut dyn Write,
}

impl Write for Completer<'_> {
    fn write_str(&mut self, mut text: &str) -> fmt::Result {
        if !self.state.partial.is_empty() {
            let Some(end) = text.find('\n') else {
                self.state.partial.push_str(text);
                return Ok(());
            };
            let mut line = std::mem::take(&mut self.state.partial);
            line.push_str(&text[..=end]);
            self.line(&line);
            line.clear();
            self.state.partial = line;
            text = &text[end + 1..];
        }
        while let Some(end) = text.find('\n') {
            self.line(&text[..=end]);
            text = &text[end + 1..];
        }
        self.state.partial.push_str(text);
        if self.state.completed.len() >= FLUSH_AT {
            self.out.write_str(&self.state.completed)?;
            self.state.completed.clear();
        }
        Ok(())
    }
}

impl Completer<'_> {
    /// One whole line, `\n` included.
    ///
    /// A counter or gauge series is one line. A histogram series is prometheus-client's
    /// `_sum`, `_count` and one `_bucket` line per bucket, in that order: `_created` goes
    /// after `_count`, whose labels are the series' own (the bucket lines add `le`).
    fn line(&mut self, line: &str) {
        let completed = &mut self.state.completed;
        if line.starts_with('#') {
            completed.push_str(line);
            return;
        }
        let (Some(sample), Some(space)) = (self.samples.as_slice().first(), line.rfind(' ')) else {
            debug_assert!(
                false,
                "prometheus-client wrote a line the bridge did not expect: {line:?}"
            );
            completed.push_str(line);
            return;
        };
        let (lines, value, created_after, suffix) = match sample.value {
            Number::Dist(i) => {
                let dist = &self.family.dists[i];
                (
                    2 + dist.buckets.len(),
                    (self.line_in_sample == 0).then_some(dist.sum),
                    1,
                    "_count",
                )
            }
            Number::F64(v) => (1, Some(v), 0, "_total"),
            _ => (1, None, 0, "_total"),
        };
        // `head` is the line up to and including the space before the value.
        let head = &line[..=space];
        match value {
            Some(v) if !v.is_finite() => {
                completed.push_str(head);
                completed.push_str(non_finite(v));
                completed.push('\n');
            }
            _ => completed.push_str(line),
        }
        if self.created && self.line_in_sample == created_after && sample.created_unix_nanos != 0 {
            // `head` is `<name><suffix><labels> `: the `_created` line reuses the labels
            // exactly as prometheus-client escaped them. A start time of 0 means the clock
            // read before 1970 (core's rule): no `_created` rather than a false one.
            let name = self.family.name.as_str();
            let labels = head
                .strip_prefix(name)
                .and_then(|rest| rest.strip_prefix(suffix));
            if let Some(labels) = labels {
                completed.push_str(name);
                completed.push_str("_created");
                completed.push_str(labels);
                push_unix_seconds(sample.created_unix_nanos, completed);
                completed.push('\n');
            } else {
                debug_assert!(false, "no `<name>{suffix}` to take labels from: {line:?}");
            }
        }
        self.line_in_sample += 1;
        if self.line_in_sample == lines {
            self.line_in_sample = 0;
            self.samples.next();
        }
    }

    /// Passes on what is left once prometheus-client is done with the family.
    fn finish(self) -> fmt::Result {
        // prometheus-client ends every line with a newline; anything left over is passed
        // on as it is rather than lost.
        let partial = std::mem::take(&mut self.state.partial);
        self.state.completed.push_str(&partial);
        self.state.partial = partial;
        self.state.partial.clear();
        self.out.write_str(&self.state.completed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prism_core::{Counter, Family, FloatGauge};
    use proptest::prelude::*;

    /// Buffers the one family of a registry, as a render does.
    struct Fill(FamilyBuf);

    impl Visitor for Fill {
        fn family(&mut self, family: &Descriptor) {
            self.0.begin(family, Format::OpenMetrics);
        }
        fn sample(&mut self, _family: &Descriptor, sample: &Sample<'_>) {
            self.0.push(sample);
        }
    }

    /// prometheus-client's own text of the family, and the family.
    fn uncompleted(registry: &Registry) -> (String, Arc<FamilyBuf>) {
        let mut fill = Fill(FamilyBuf::default());
        registry.visit(&mut fill);
        fill.0.settle();
        let family = Arc::new(fill.0);
        let bridge = Arc::new(Bridge::default());
        *bridge.slot() = Some(family.clone());
        let mut encoder = prometheus_client::registry::Registry::default();
        encoder.register_collector(Box::new(bridge));
        let mut text = String::new();
        openmetrics_text::encode_registry(&mut text, &encoder).unwrap();
        (text, family)
    }

    /// The completed text when the uncompleted text arrives in pieces of these sizes.
    fn complete_in_pieces(text: &str, family: &FamilyBuf, sizes: &[usize]) -> String {
        let mut out = String::new();
        let mut state = Completion::default();
        let mut completer = Completer {
            family,
            created: has_created(family),
            line_in_sample: 0,
            samples: family.samples.iter(),
            state: &mut state,
            out: &mut out,
        };
        let mut rest = text;
        for &size in sizes.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let mut cut = size.clamp(1, rest.len());
            while !rest.is_char_boundary(cut) {
                cut += 1;
            }
            completer.write_str(&rest[..cut]).unwrap();
            rest = &rest[cut..];
        }
        completer.finish().unwrap();
        out
    }

    fn registry() -> Registry {
        let registry = Registry::builder().self_telemetry(false).build();
        let f = registry
            .register("c", "Counts.", Family::<Counter>::new(["k"]))
            .unwrap();
        for (i, v) in ["a", "grüße\n\"x\"", "", "λλλλ", "a b _total 1"]
            .iter()
            .enumerate()
        {
            f.get(&[v]).add(i as u64);
        }
        registry
    }

    #[test]
    fn a_piece_boundary_anywhere_gives_the_same_text() {
        let registry = registry();
        let (text, family) = uncompleted(&registry);
        let whole = complete_in_pieces(&text, &family, &[usize::MAX]);
        assert_eq!(whole.matches("c_created{").count(), 5);
        for size in 1..=text.len() {
            assert_eq!(
                complete_in_pieces(&text, &family, &[size]),
                whole,
                "pieces of {size}"
            );
        }
    }

    #[test]
    fn non_finite_values_are_completed_across_piece_boundaries() {
        let registry = Registry::builder().self_telemetry(false).build();
        let f = registry
            .register("g", "Gauges.", Family::<FloatGauge>::new(["k"]))
            .unwrap();
        f.get(&["nan"]).set(f64::NAN);
        f.get(&["pos"]).set(f64::INFINITY);
        f.get(&["neg"]).set(f64::NEG_INFINITY);
        let (text, family) = uncompleted(&registry);
        let expected = "# HELP g Gauges.\n# TYPE g gauge\ng{k=\"nan\"} NaN\n\
                        g{k=\"pos\"} +Inf\ng{k=\"neg\"} -Inf\n";
        for size in 1..=text.len() {
            assert_eq!(
                complete_in_pieces(&text, &family, &[size]),
                expected,
                "pieces of {size}"
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        #[test]
        fn random_piece_sizes_give_the_same_text(
            sizes in prop::collection::vec(1usize..64, 1..20)
        ) {
            let registry = registry();
            let (text, family) = uncompleted(&registry);
            prop_assert_eq!(
                complete_in_pieces(&text, &family, &sizes),
                complete_in_pieces(&text, &family, &[usize::MAX])
            );
        }
    }
}
