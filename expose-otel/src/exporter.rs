//! The periodic push exporter: [`Exporter`] (settings, from the environment or in code),
//! started into an [`ExporterHandle`] (flush, shutdown).
//!
//! Each export reads the registry once, encodes it and sends it, retrying as the
//! [`RetryPolicy`] says within the export timeout. Nothing is queued: a failed export is
//! dropped, and the next one reads the registry again, so an endpoint that is down for an
//! hour costs no memory (`tests/down_endpoint.rs`) and, with cumulative temporality, loses
//! no count. A read slower than the export's limit is left to finish, never run twice at
//! once (`Worker::export`, `tests/slow_encode.rs`). Under delta
//! temporality the baselines only move on delivery, so the first delivered export after
//! the outage carries everything since the last one.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use prism_core::Registry;
use tokio::runtime::{Handle, RuntimeFlavor};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::config::{check_header, check_url, http_metrics_url, ConfigError, Settings};
use crate::config::{Compression, Protocol, Temporality};
use crate::encode::Encoder;
use crate::resource::Resource;
use crate::retry::{Jitter, RetryPolicy};
use crate::telemetry::{ExportResult, ExporterTelemetry};
use crate::transport::{Attempt, Payload, Transport};

/// A push exporter, configured but not started.
///
/// ```no_run
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let registry = prism_core::Registry::new();
/// // OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_METRIC_EXPORT_INTERVAL and the rest:
/// let exporter = prism_otel::Exporter::from_env(registry)?.start()?;
/// // ... the service runs ...
/// exporter.shutdown(std::time::Duration::from_secs(5))?;
/// # Ok(()) }
/// ```
///
/// Or in code (every setting has a builder method; see [`Exporter::from_env`] for the
/// variables):
///
/// ```
/// use std::time::Duration;
/// use prism_otel::{Compression, Exporter, Protocol, Resource};
///
/// let registry = prism_core::Registry::new();
/// let exporter = Exporter::new(registry)
///     .protocol(Protocol::Grpc)
///     .endpoint("http://127.0.0.1:4317")
///     .compression(Compression::Gzip)
///     .header("x-tenant", "blue")
///     .interval(Duration::from_secs(15))
///     .resource(Resource::new("checkout"));
/// assert_eq!(exporter.endpoint_url(), "http://127.0.0.1:4317");
/// ```
pub struct Exporter {
    registry: Registry,
    settings: Settings,
    /// Set by `endpoint`: used as the full URL for either protocol.
    endpoint_set: bool,
    resource: Resource,
    retry: RetryPolicy,
    telemetry: TelemetryTarget,
    errors: Vec<ConfigError>,
}

enum TelemetryTarget {
    /// The registry being exported (the default).
    Same,
    Registry(Registry),
    None,
}

impl Exporter {
    /// An exporter of `registry` with the specification's defaults: OTLP/HTTP protobuf to
    /// `http://localhost:4318/v1/metrics`, every 60 s, cumulative, resource
    /// `service.name=unknown_service:<exe>`. Reads no environment variable.
    pub fn new(registry: Registry) -> Self {
        Self {
            registry,
            settings: Settings::default(),
            endpoint_set: false,
            resource: Resource::unknown_service(),
            retry: RetryPolicy::default(),
            telemetry: TelemetryTarget::Same,
            errors: Vec::new(),
        }
    }

    /// An exporter configured by the standard variables, each overridable afterwards by
    /// the builder methods:
    ///
    /// | variable | default | what |
    /// |---|---|---|
    /// | `OTEL_EXPORTER_OTLP_ENDPOINT` | `http://localhost:4318` (gRPC: `:4317`) | base URL; HTTP appends `/v1/metrics` |
    /// | `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` | | full URL, used as it is |
    /// | `OTEL_EXPORTER_OTLP_[METRICS_]PROTOCOL` | `http/protobuf` | or `http/json`, `grpc` |
    /// | `OTEL_EXPORTER_OTLP_[METRICS_]HEADERS` | | `key=value,...`, percent-encoded values |
    /// | `OTEL_EXPORTER_OTLP_[METRICS_]TIMEOUT` | `10000` | one attempt, ms |
    /// | `OTEL_EXPORTER_OTLP_[METRICS_]COMPRESSION` | `none` | or `gzip` |
    /// | `OTEL_METRIC_EXPORT_INTERVAL` | `60000` | between exports, ms |
    /// | `OTEL_METRIC_EXPORT_TIMEOUT` | `30000` | one export with its retries, ms |
    /// | `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE` | `cumulative` | or `delta`, `lowmemory` |
    /// | `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES` | | the [`Resource`] |
    ///
    /// A metrics-specific variable wins over the general one. A value that cannot be used
    /// is an error that names the variable and what it accepts.
    pub fn from_env(registry: Registry) -> Result<Self, ConfigError> {
        Self::from_lookup(registry, &|key| std::env::var(key).ok())
    }

    /// [`from_env`](Self::from_env) with the variables read through `lookup` (tests, or a
    /// configuration source of your own).
    pub fn from_lookup(
        registry: Registry,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let settings = Settings::from_lookup(lookup)?;
        let resource = Resource::from_lookup(lookup)?;
        Ok(Self {
            settings,
            resource,
            ..Self::new(registry)
        })
    }

    /// The protocol. Without an [`endpoint`](Self::endpoint) of its own, the endpoint
    /// becomes the protocol's default.
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        if !self.endpoint_set && self.settings.protocol != protocol {
            let was_default = self.settings.endpoint == self.settings.protocol.default_endpoint();
            if was_default {
                self.settings.endpoint = protocol.default_endpoint().to_owned();
            } else {
                // A base endpoint from the environment: re-derive for the new protocol.
                let base = self
                    .settings
                    .endpoint
                    .strip_suffix("/v1/metrics")
                    .unwrap_or(&self.settings.endpoint)
                    .to_owned();
                self.settings.endpoint = match protocol {
                    Protocol::Grpc => base,
                    _ => http_metrics_url(&base),
                };
            }
        }
        self.settings.protocol = protocol;
        self
    }

    /// The full endpoint URL, used as it is: for HTTP include the path
    /// (`http://collector:4318/v1/metrics`), for gRPC none (`http://collector:4317`).
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.settings.endpoint = url.into();
        self.endpoint_set = true;
        self
    }

    /// Adds a header (HTTP) or metadata entry (gRPC) to every request.
    pub fn header(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        let (key, value) = (key.into().to_ascii_lowercase(), value.into());
        match check_header("header", &key, &value) {
            Ok(()) => {
                self.settings.headers.retain(|(k, _)| *k != key);
                self.settings.headers.push((key, value));
            }
            Err(e) => self.errors.push(e),
        }
        self
    }

    /// One attempt's limit (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.settings.timeout = timeout;
        self
    }

    /// Body compression (default none).
    pub fn compression(mut self, compression: Compression) -> Self {
        self.settings.compression = compression;
        self
    }

    /// Time between exports (default 60 s).
    pub fn interval(mut self, interval: Duration) -> Self {
        self.settings.interval = interval;
        self
    }

    /// One export's limit, retries included (default 30 s).
    pub fn export_timeout(mut self, timeout: Duration) -> Self {
        self.settings.export_timeout = timeout;
        self
    }

    /// Counter and histogram temporality (default cumulative).
    pub fn temporality(mut self, temporality: Temporality) -> Self {
        self.settings.temporality = temporality;
        self
    }

    /// The resource every export carries.
    pub fn resource(mut self, resource: Resource) -> Self {
        self.resource = resource;
        self
    }

    /// How failed attempts are retried.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Where the exporter's own metrics ([`ExporterTelemetry`]) are registered: by
    /// default the registry being exported; `None` registers them nowhere.
    pub fn telemetry_registry(mut self, registry: Option<&Registry>) -> Self {
        self.telemetry = match registry {
            Some(r) => TelemetryTarget::Registry(r.clone()),
            None => TelemetryTarget::None,
        };
        self
    }

    /// The endpoint URL requests go to.
    pub fn endpoint_url(&self) -> &str {
        &self.settings.endpoint
    }

    /// The protocol in use.
    pub fn protocol_value(&self) -> Protocol {
        self.settings.protocol
    }

    /// The time between exports.
    pub fn interval_value(&self) -> Duration {
        self.settings.interval
    }

    /// Checks the settings, registers the exporter's metrics and starts exporting every
    /// interval: on the current tokio runtime if it is a multi-threaded one, otherwise on
    /// a thread of its own (named `prism-otel`) with a single-threaded runtime.
    ///
    /// A current-thread runtime is not used because [`ExporterHandle::shutdown`] waits
    /// for the final export, and that export could not run on the thread the wait holds.
    pub fn start(mut self) -> Result<ExporterHandle, ConfigError> {
        if let Some(e) = self.errors.drain(..).next() {
            return Err(e);
        }
        let s = &self.settings;
        let variable = "endpoint";
        check_url(variable, &s.endpoint)?;
        crate::transport::compiled(s.protocol)
            .map_err(|e| ConfigError::invalid("protocol", s.protocol.as_str(), &e))?;
        for (name, d) in [
            ("timeout", s.timeout),
            ("interval", s.interval),
            ("export_timeout", s.export_timeout),
        ] {
            if d.is_zero() {
                return Err(ConfigError::invalid(name, "0", "it must be more than zero"));
            }
        }
        let telemetry = match &self.telemetry {
            TelemetryTarget::Same => ExporterTelemetry::register(&self.registry),
            TelemetryTarget::Registry(r) => ExporterTelemetry::register(r),
            TelemetryTarget::None => Ok(ExporterTelemetry::unregistered()),
        }
        .map_err(ConfigError::Telemetry)?;

        let (commands, receiver) = mpsc::unbounded_channel();
        let worker = Worker {
            registry: self.registry.clone(),
            encoder: Arc::new(Mutex::new(
                Encoder::new(self.resource.clone()).with_temporality(s.temporality),
            )),
            settings: s.clone(),
            retry: self.retry.clone(),
            telemetry: telemetry.clone(),
            jitter: Jitter::new(),
            abandoned: None,
        };
        let join = match Handle::try_current() {
            Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
                Join::Task(handle.spawn(worker.run(receiver)))
            }
            _ => {
                let thread = std::thread::Builder::new()
                    .name("prism-otel".to_owned())
                    .spawn(move || {
                        match tokio::runtime::Builder::new_current_thread()
                            .enable_all()
                            .build()
                        {
                            Ok(runtime) => runtime.block_on(worker.run(receiver)),
                            Err(e) => worker.fail_all(receiver, &e.to_string()),
                        }
                    })
                    .map_err(|e| ConfigError::Spawn(e.to_string()))?;
                Join::Thread(thread)
            }
        };
        Ok(ExporterHandle {
            commands,
            join: Some(join),
            telemetry,
            protocol: s.protocol,
            endpoint: s.endpoint.clone(),
            interval: s.interval,
        })
    }
}

impl fmt::Debug for Exporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Exporter")
            .field("protocol", &self.settings.protocol)
            .field("endpoint", &self.settings.endpoint)
            .field("interval", &self.settings.interval)
            .field("temporality", &self.settings.temporality)
            .field("resource", &self.resource)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

/// A running exporter. Dropping it stops exporting without a final flush; call
/// [`shutdown`](Self::shutdown) to send what was counted since the last export.
pub struct ExporterHandle {
    commands: mpsc::UnboundedSender<Command>,
    join: Option<Join>,
    telemetry: ExporterTelemetry,
    protocol: Protocol,
    endpoint: String,
    interval: Duration,
}

enum Join {
    Task(tokio::task::JoinHandle<()>),
    Thread(std::thread::JoinHandle<()>),
}

/// Why a flush or a shutdown did not report an outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExporterError {
    /// The export did not finish within the timeout given. It is abandoned at that
    /// timeout, but for its read of the registry, which cannot be stopped: that read
    /// finishes in the background, and the next export waits for it before reading again
    /// (so at most one runs at a time).
    Timeout(Duration),
    /// The exporter had already stopped.
    Stopped,
}

impl fmt::Display for ExporterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExporterError::Timeout(t) => write!(f, "the export did not finish within {t:?}"),
            ExporterError::Stopped => f.write_str("the exporter has stopped"),
        }
    }
}

impl std::error::Error for ExporterError {}

impl ExporterHandle {
    /// Exports now and waits for the outcome, at most `timeout` (which also bounds the
    /// export's retries). Blocks the calling thread; from async code use
    /// [`force_flush_async`](Self::force_flush_async).
    pub fn force_flush(&self, timeout: Duration) -> Result<ExportResult, ExporterError> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.send(Command::Flush(Reply::Blocking(tx), timeout))?;
        wait_blocking(rx, timeout)
    }

    /// [`force_flush`](Self::force_flush) for async code.
    pub async fn force_flush_async(
        &self,
        timeout: Duration,
    ) -> Result<ExportResult, ExporterError> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Flush(Reply::Async(tx), timeout))?;
        wait_async(rx, timeout).await
    }

    /// Stops exporting after one final export, waiting for it at most `timeout`. Blocks
    /// the calling thread (inside a multi-threaded tokio runtime it tells tokio so); from
    /// async code [`shutdown_async`](Self::shutdown_async) waits without blocking.
    pub fn shutdown(mut self, timeout: Duration) -> Result<ExportResult, ExporterError> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.send(Command::Shutdown(Reply::Blocking(tx), timeout))?;
        let result = wait_blocking(rx, timeout);
        if result.is_ok() {
            match self.join.take() {
                Some(Join::Thread(thread)) => {
                    let _ = thread.join();
                }
                Some(Join::Task(_)) | None => {}
            }
        }
        result
    }

    /// [`shutdown`](Self::shutdown) for async code.
    pub async fn shutdown_async(
        mut self,
        timeout: Duration,
    ) -> Result<ExportResult, ExporterError> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Shutdown(Reply::Async(tx), timeout))?;
        let result = wait_async(rx, timeout).await;
        if result.is_ok() {
            if let Some(Join::Task(task)) = self.join.take() {
                let _ = task.await;
            }
        }
        result
    }

    /// The exporter's outcome counters.
    pub fn telemetry(&self) -> &ExporterTelemetry {
        &self.telemetry
    }

    /// The protocol in use.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// The endpoint URL requests go to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The time between exports.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    fn send(&self, command: Command) -> Result<(), ExporterError> {
        self.commands
            .send(command)
            .map_err(|_| ExporterError::Stopped)
    }
}

impl fmt::Debug for ExporterHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExporterHandle")
            .field("protocol", &self.protocol)
            .field("endpoint", &self.endpoint)
            .field("interval", &self.interval)
            .field("telemetry", &self.telemetry)
            .finish()
    }
}

/// A little longer than the export's own limit, so that an export that ends right at
/// its deadline still reports its outcome rather than a timeout.
const REPLY_GRACE: Duration = Duration::from_millis(250);

fn wait_blocking(
    rx: std::sync::mpsc::Receiver<ExportResult>,
    timeout: Duration,
) -> Result<ExportResult, ExporterError> {
    let wait = || match rx.recv_timeout(timeout + REPLY_GRACE) {
        Ok(result) => Ok(result),
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Err(ExporterError::Timeout(timeout)),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Err(ExporterError::Stopped),
    };
    match Handle::try_current() {
        // Hand this worker's other tasks (the export among them) to another thread.
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(wait)
        }
        _ => wait(),
    }
}

async fn wait_async(
    rx: oneshot::Receiver<ExportResult>,
    timeout: Duration,
) -> Result<ExportResult, ExporterError> {
    match tokio::time::timeout(timeout + REPLY_GRACE, rx).await {
        Ok(Ok(result)) => Ok(result),
        Ok(Err(_)) => Err(ExporterError::Stopped),
        Err(_) => Err(ExporterError::Timeout(timeout)),
    }
}

enum Command {
    Flush(Reply, Duration),
    Shutdown(Reply, Duration),
}

enum Reply {
    Blocking(std::sync::mpsc::SyncSender<ExportResult>),
    Async(oneshot::Sender<ExportResult>),
}

impl Reply {
    fn send(self, result: ExportResult) {
        // The caller may have stopped waiting (its timeout): nothing to do then.
        match self {
            Reply::Blocking(tx) => {
                let _ = tx.try_send(result);
            }
            Reply::Async(tx) => {
                let _ = tx.send(result);
            }
        }
    }
}

struct Worker {
    registry: Registry,
    encoder: Arc<Mutex<Encoder>>,
    settings: Settings,
    retry: RetryPolicy,
    telemetry: ExporterTelemetry,
    jitter: Jitter,
    /// The encode an earlier export gave up waiting for, if it has not finished: at most one
    /// encode runs at a time (see [`Worker::export`]).
    abandoned: Option<JoinHandle<Result<Payload, String>>>,
}

impl Worker {
    async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        let transport = match Transport::new(&self.settings) {
            Ok(t) => t,
            Err(e) => return self.fail_all(commands, &e),
        };
        let interval = self.settings.interval;
        let mut ticks = tokio::time::interval_at(Instant::now() + interval, interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => {
                    let limit = self.settings.export_timeout.min(interval);
                    self.export(&transport, limit).await;
                }
                command = commands.recv() => match command {
                    Some(Command::Flush(reply, timeout)) => {
                        let result = self.export(&transport, timeout).await;
                        reply.send(result);
                    }
                    Some(Command::Shutdown(reply, timeout)) => {
                        let result = self.export(&transport, timeout).await;
                        reply.send(result);
                        return;
                    }
                    // Every handle is gone: stop without a final export.
                    None => return,
                },
            }
        }
    }

    /// Answers every command with the failure; used when no transport could be built.
    fn fail_all(self, mut commands: mpsc::UnboundedReceiver<Command>, error: &str) {
        let result = ExportResult::Failure {
            reason: "transport".to_owned(),
            message: error.to_owned(),
        };
        self.telemetry.record(&result);
        while let Some(command) = commands.blocking_recv_or_none() {
            match command {
                Command::Flush(reply, _) => reply.send(result.clone()),
                Command::Shutdown(reply, _) => {
                    reply.send(result.clone());
                    return;
                }
            }
        }
    }

    /// One export: read, encode, send with retries, all within `limit`.
    ///
    /// An encode that outlives its export's limit cannot be stopped (it runs on the blocking
    /// pool) and is left to finish. The next export waits for it, within its own limit,
    /// before it starts its own: so at most one encode ever runs (a registry slower to
    /// encode than the interval does not pile up threads and memory), and the read an export
    /// delivers is always the last one made, which is what [`Encoder::commit`] then takes as
    /// the delta baseline. (Were a left-over encode allowed to read between an export's
    /// encode and its commit, the commit would take a newer read than the one delivered, and
    /// the delta between them would never be sent.)
    async fn export(&mut self, transport: &Transport, limit: Duration) -> ExportResult {
        let deadline = Instant::now() + limit;
        if let Some(previous) = self.abandoned.as_mut() {
            // Its payload is stale: only its end matters.
            if tokio::time::timeout_at(deadline, previous).await.is_err() {
                let result = ExportResult::Failure {
                    reason: "timeout".to_owned(),
                    message: format!(
                        "an earlier export's encoding was still running after {limit:?}: \
                         the registry takes longer to encode than the export timeout allows"
                    ),
                };
                self.telemetry.record(&result);
                return result;
            }
            self.abandoned = None;
        }
        let mut encoding = self.encode();
        let result = match tokio::time::timeout_at(deadline, &mut encoding).await {
            Err(_) => {
                self.abandoned = Some(encoding);
                ExportResult::Failure {
                    reason: "timeout".to_owned(),
                    message: format!("encoding did not finish within {limit:?}"),
                }
            }
            Ok(Err(e)) => ExportResult::Failure {
                reason: "encode".to_owned(),
                message: format!("the encoding task failed: {e}"),
            },
            Ok(Ok(Err(message))) => ExportResult::Failure {
                reason: "encode".to_owned(),
                message,
            },
            Ok(Ok(Ok(payload))) => self.deliver(transport, &payload, deadline).await,
        };
        if result.delivered() {
            self.encoder
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .commit();
        }
        self.telemetry.record(&result);
        result
    }

    /// Reads and encodes on tokio's blocking pool: a large registry takes milliseconds to
    /// read, which a runtime worker should not spend.
    fn encode(&self) -> JoinHandle<Result<Payload, String>> {
        let registry = self.registry.clone();
        let encoder = self.encoder.clone();
        let protocol = self.settings.protocol;
        let gzip = self.settings.compression == Compression::Gzip;
        tokio::task::spawn_blocking(move || {
            let mut encoder = encoder.lock().unwrap_or_else(|p| p.into_inner());
            match protocol {
                Protocol::Grpc => Ok(Payload::Request(Box::new(encoder.encode(&registry)))),
                Protocol::HttpProtobuf | Protocol::HttpJson => {
                    let body = if protocol == Protocol::HttpJson {
                        encoder.encode_json(&registry)
                    } else {
                        let mut body = Vec::new();
                        encoder.encode_protobuf(&registry, &mut body);
                        body
                    };
                    let body = if gzip { gzip_bytes(&body)? } else { body };
                    Ok(Payload::Body(Bytes::from(body)))
                }
            }
        })
    }

    async fn deliver(
        &mut self,
        transport: &Transport,
        payload: &Payload,
        deadline: Instant,
    ) -> ExportResult {
        let mut attempt = 1;
        loop {
            let outcome = match tokio::time::timeout_at(deadline, transport.send(payload)).await {
                Ok(outcome) => outcome,
                Err(_) => Attempt::Retryable {
                    reason: "timeout".to_owned(),
                    message: "the export timeout passed during the attempt".to_owned(),
                    retry_after: None,
                },
            };
            match outcome {
                Attempt::Delivered { rejected: 0, .. } => return ExportResult::Success,
                Attempt::Delivered { rejected, message } => {
                    return ExportResult::PartialSuccess { rejected, message }
                }
                Attempt::Fatal { reason, message } => {
                    return ExportResult::Failure { reason, message }
                }
                Attempt::Retryable {
                    reason,
                    message,
                    retry_after,
                } => {
                    if attempt >= self.retry.max_attempts_value() {
                        return ExportResult::Failure {
                            reason,
                            message: format!("{message} (after {attempt} attempts)"),
                        };
                    }
                    let wait = retry_after
                        .unwrap_or_else(|| self.retry.backoff(attempt, self.jitter.next()));
                    if Instant::now() + wait >= deadline {
                        return ExportResult::Failure {
                            reason,
                            message: format!(
                                "{message} (a retry in {wait:?} would pass the export timeout)"
                            ),
                        };
                    }
                    self.telemetry.retried();
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
            }
        }
    }
}

fn gzip_bytes(body: &[u8]) -> Result<Vec<u8>, String> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 4),
        flate2::Compression::fast(),
    );
    gz.write_all(body)
        .and_then(|()| gz.finish())
        .map_err(|e| format!("gzip: {e}"))
}

trait BlockingRecv<T> {
    fn blocking_recv_or_none(&mut self) -> Option<T>;
}

impl<T> BlockingRecv<T> for mpsc::UnboundedReceiver<T> {
    /// `blocking_recv` panics inside a runtime; `fail_all` runs both inside one (the
    /// transport failed in `run`) and outside (the runtime did not build).
    fn blocking_recv_or_none(&mut self) -> Option<T> {
        match Handle::try_current() {
            Ok(_) => self.try_recv().ok(),
            Err(_) => self.blocking_recv(),
        }
    }
}
