//! Checking a running service: [`run`] scrapes its `/metrics` (as Prometheus 0.0.4, then as
//! OpenMetrics) and its `/debug/vars`, optionally receives its OTLP push on a loopback port,
//! and compares the series the reads share, allowing for counters that moved between reads.
//!
//! The reads are taken in a fixed order (0.0.4, OpenMetrics, JSON, then the first OTLP
//! push that arrives after the scrapes), so each comparison knows which read is later:
//! a counter may only have grown from one read to the next, and gauge values are not
//! compared (they move both ways). Kinds, help and units are compared where both formats
//! carry them. Every pair of reads must share at least one series, or the comparison proves
//! nothing and fails.

use std::fmt;
use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::compare::{compare, Mismatch, Rules, Source};
use crate::format::Format;
use crate::model::{Kind, Samples};
use crate::read::text::{parse, Dialect, TextType};
use crate::read::{self, Schema, Unknown};

/// `Accept` for a Prometheus 0.0.4 scrape.
pub const ACCEPT_PROMETHEUS: &str = "text/plain;version=0.0.4";
/// `Accept` for an OpenMetrics scrape.
pub const ACCEPT_OPENMETRICS: &str = "application/openmetrics-text;version=1.0.0";

/// Where the service is and what to receive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The service's base URL, `http://HOST:PORT`.
    pub url: String,
    /// The Prometheus path (default `/metrics`).
    pub metrics_path: String,
    /// The JSON path (default `/debug/vars`).
    pub vars_path: String,
    /// Where to receive the service's OTLP/HTTP push (`POST /v1/metrics`); `None`: OTLP is
    /// not checked.
    pub otlp_listen: Option<SocketAddr>,
    /// How long to wait for a push after the scrapes.
    pub otlp_timeout: Duration,
    /// The timeout of each scrape.
    pub scrape_timeout: Duration,
}

impl Options {
    /// Options for a service at `url`, with the default paths and no OTLP.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into().trim_end_matches('/').to_owned(),
            metrics_path: "/metrics".to_owned(),
            vars_path: "/debug/vars".to_owned(),
            otlp_listen: None,
            otlp_timeout: Duration::from_secs(30),
            scrape_timeout: Duration::from_secs(10),
        }
    }
}

/// One comparison of two reads, the right one taken later.
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    /// The earlier read.
    pub left: Format,
    /// The later read.
    pub right: Format,
    /// Series both reads hold.
    pub shared: usize,
    /// What differs beyond what time explains.
    pub mismatches: Vec<Mismatch>,
}

impl Pair {
    /// Whether the pair agrees and shares at least one series.
    pub fn is_ok(&self) -> bool {
        self.shared > 0 && self.mismatches.is_empty()
    }
}

/// What a live check found.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveReport {
    /// The URL checked.
    pub url: String,
    /// Each read, in order: its format and its series count, or why it failed.
    pub reads: Vec<(Format, Result<usize, String>)>,
    /// The comparisons.
    pub pairs: Vec<Pair>,
}

impl LiveReport {
    /// Whether every read succeeded and every pair agrees.
    pub fn is_ok(&self) -> bool {
        self.reads.iter().all(|(_, r)| r.is_ok()) && self.pairs.iter().all(Pair::is_ok)
    }
}

impl fmt::Display for LiveReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "live check of {}", self.url)?;
        for (format, read) in &self.reads {
            match read {
                Ok(n) => writeln!(f, "  read {format:<12} {n} series")?,
                Err(e) => writeln!(f, "  read {format:<12} FAILED: {e}")?,
            }
        }
        for p in &self.pairs {
            let verdict = if p.is_ok() {
                "ok".to_owned()
            } else if p.shared == 0 {
                "FAIL (no shared series)".to_owned()
            } else {
                format!("FAIL ({})", p.mismatches.len())
            };
            writeln!(
                f,
                "  {} -> {}: {} shared series: {verdict}",
                p.left, p.right, p.shared
            )?;
            for m in &p.mismatches {
                writeln!(f, "    {m}")?;
            }
        }
        Ok(())
    }
}

/// Fetches `url` with an `Accept` header; the body, or why not.
pub fn fetch(url: &str, accept: &str, timeout: Duration) -> Result<Vec<u8>, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .build()
        .into();
    let mut response = agent
        .get(url)
        .header("Accept", accept)
        .call()
        .map_err(|e| format!("GET {url}: {e}"))?;
    response
        .body_mut()
        .with_config()
        .limit(256 * 1024 * 1024)
        .read_to_vec()
        .map_err(|e| format!("GET {url}: reading the body: {e}"))
}

/// The JSON schema a 0.0.4 exposition implies: each family's label names in the order its
/// samples print them (prism-prom prints them in declaration order, prism-json nests them
/// in the same order). Counters lose `_total`.
pub fn schema_from_prometheus(bytes: &[u8]) -> Result<Schema, String> {
    let exposition = parse(bytes, Dialect::Prometheus).map_err(|e| e.to_string())?;
    let mut schema = Schema::default();
    for family in &exposition.families {
        let name = match family.kind {
            TextType::Counter => family.name.strip_suffix("_total").unwrap_or(&family.name),
            _ => family.name.as_str(),
        };
        let labelled = family
            .samples
            .iter()
            .find(|s| s.label(prism_core::OVERFLOW_LABEL).is_none());
        if let Some(sample) = labelled {
            let skip = match family.kind {
                TextType::Histogram => "le",
                TextType::Summary => "quantile",
                _ => "",
            };
            schema.insert(
                name,
                sample
                    .labels
                    .iter()
                    .filter(|(k, _)| k != skip)
                    .map(|(k, _)| k.clone()),
            );
            match family.kind {
                TextType::Histogram => schema.set_kind(name, Kind::Histogram),
                TextType::Summary => schema.set_kind(name, Kind::Summary),
                _ => {}
            }
        }
    }
    Ok(schema)
}

/// Checks the service described by `options`.
///
/// Fails (`Err`) only when the OTLP receiver cannot listen; a scrape that fails is a failed
/// read in the report.
pub fn run(options: &Options) -> Result<LiveReport, String> {
    let receiver = match options.otlp_listen {
        Some(addr) => Some(Receiver::start(addr)?),
        None => None,
    };
    Ok(run_with(options, receiver.as_ref()))
}

/// [`run`] with a receiver already listening (`options.otlp_listen` is then not used): for
/// a caller that must know the receiver's address before the check starts.
pub fn run_with(options: &Options, receiver: Option<&Receiver>) -> LiveReport {
    let mut reads: Vec<(Format, Result<usize, String>)> = Vec::new();
    let mut samples: Vec<(Format, Samples)> = Vec::new();
    let metrics = format!("{}{}", options.url, options.metrics_path);
    let vars = format!("{}{}", options.url, options.vars_path);

    let mut schema = Schema::default();
    let prom = fetch(&metrics, ACCEPT_PROMETHEUS, options.scrape_timeout).and_then(|bytes| {
        schema = schema_from_prometheus(&bytes)?;
        read::read_prometheus(&bytes).map_err(|e| e.to_string())
    });
    record(&mut reads, &mut samples, Format::Prometheus, prom);
    let om = fetch(&metrics, ACCEPT_OPENMETRICS, options.scrape_timeout)
        .and_then(|bytes| read::read_openmetrics(&bytes).map_err(|e| e.to_string()));
    record(&mut reads, &mut samples, Format::OpenMetrics, om);
    let json = fetch(&vars, "application/json", options.scrape_timeout).and_then(|bytes| {
        read::read_json(&bytes, &schema, Unknown::Skip).map_err(|e| e.to_string())
    });
    record(&mut reads, &mut samples, Format::Json, json);

    if let Some(receiver) = receiver {
        let scraped = Instant::now();
        let push = receiver.next_after(scraped, options.otlp_timeout);
        let (format, result) = match push {
            Ok(push) => (
                push.format,
                push.format
                    .read(&push.body, &schema, Unknown::Skip)
                    .map_err(|e| e.to_string()),
            ),
            Err(e) => (Format::OtlpProto, Err(e)),
        };
        record(&mut reads, &mut samples, format, result);
    }

    let rules = Rules {
        shared_only: true,
        moving: true,
    };
    let pairs = samples
        .windows(2)
        .map(|w| {
            let (lf, l) = (&w[0].0, &w[0].1);
            let (rf, r) = (&w[1].0, &w[1].1);
            Pair {
                left: *lf,
                right: *rf,
                shared: shared_series(l, r),
                mismatches: compare((l, Source::Format(*lf)), (r, Source::Format(*rf)), rules),
            }
        })
        .collect();
    LiveReport {
        url: options.url.clone(),
        reads,
        pairs,
    }
}

fn record(
    reads: &mut Vec<(Format, Result<usize, String>)>,
    samples: &mut Vec<(Format, Samples)>,
    format: Format,
    result: Result<Samples, String>,
) {
    match result {
        Ok(s) => {
            reads.push((format, Ok(s.series_count())));
            samples.push((format, s));
        }
        Err(e) => reads.push((format, Err(e))),
    }
}

/// Series present in both.
pub fn shared_series(a: &Samples, b: &Samples) -> usize {
    a.families
        .iter()
        .filter_map(|(name, fa)| b.families.get(name).map(|fb| (fa, fb)))
        .map(|(fa, fb)| {
            fa.series
                .keys()
                .filter(|k| fb.series.contains_key(*k))
                .count()
        })
        .sum()
}

/// One OTLP push as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Push {
    /// [`Format::OtlpProto`] or [`Format::OtlpJson`], from its `Content-Type`.
    pub format: Format,
    /// The body, inflated if it came with `Content-Encoding: gzip`. A push with another
    /// encoding is refused with `415 Unsupported Media Type` (and one that says gzip but does
    /// not inflate with `400 Bad Request`), so the exporter's error says why; it never
    /// reaches the check.
    pub body: Vec<u8>,
    /// When it arrived.
    pub at: Instant,
}

pub(crate) type PushSender = mpsc::Sender<Push>;

pub use crate::receiver::Receiver;
