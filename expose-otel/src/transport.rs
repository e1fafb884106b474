//! One attempt to deliver one export: OTLP/HTTP (protobuf or JSON) through hyper, and
//! OTLP/gRPC through tonic, each answering with an [`Attempt`].

use std::time::Duration;

use bytes::Bytes;
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest,
};

use crate::config::Settings;

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Attempt {
    /// The collector took the export; it may have rejected some points.
    Delivered { rejected: u64, message: String },
    /// Worth another attempt: throttled, unavailable, unreachable, timed out.
    Retryable {
        reason: String,
        message: String,
        retry_after: Option<Duration>,
    },
    /// Another attempt would fail the same way (a 400, an unimplemented service).
    Fatal { reason: String, message: String },
}

/// An encoded export, ready for any number of attempts.
#[derive(Debug, Clone)]
pub(crate) enum Payload {
    /// An HTTP body, compressed if so configured.
    #[cfg_attr(not(feature = "http"), allow(dead_code))]
    Body(Bytes),
    /// A request for tonic, which encodes (and compresses) it itself.
    #[cfg_attr(not(feature = "grpc"), allow(dead_code))]
    Request(Box<ExportMetricsServiceRequest>),
}

/// A transport to one endpoint.
#[derive(Debug)]
pub(crate) enum Transport {
    #[cfg(feature = "http")]
    Http(Box<http_transport::HttpTransport>),
    #[cfg(feature = "grpc")]
    Grpc(Box<grpc_transport::GrpcTransport>),
}

/// Whether the transport for `protocol` is compiled in.
pub(crate) fn compiled(protocol: crate::config::Protocol) -> Result<(), String> {
    use crate::config::Protocol;
    let (on, feature) = match protocol {
        Protocol::Grpc => (cfg!(feature = "grpc"), "grpc"),
        Protocol::HttpProtobuf | Protocol::HttpJson => (cfg!(feature = "http"), "http"),
    };
    if on {
        Ok(())
    } else {
        Err(format!(
            "it is not compiled in: enable prism-otel's `{feature}` feature"
        ))
    }
}

impl Transport {
    /// Connects lazily: building never fails on an unreachable endpoint, sending does.
    /// Must run inside a tokio runtime (tonic spawns its connection task there).
    pub(crate) fn new(settings: &Settings) -> Result<Self, String> {
        use crate::config::Protocol;
        match settings.protocol {
            #[cfg(feature = "http")]
            Protocol::HttpProtobuf | Protocol::HttpJson => Ok(Transport::Http(Box::new(
                http_transport::HttpTransport::new(settings)?,
            ))),
            #[cfg(feature = "grpc")]
            Protocol::Grpc => Ok(Transport::Grpc(Box::new(
                grpc_transport::GrpcTransport::new(settings)?,
            ))),
            #[allow(unreachable_patterns)]
            other => Err(format!(
                "protocol {} is not compiled in: enable prism-otel's `{}` feature",
                other.as_str(),
                if other == Protocol::Grpc {
                    "grpc"
                } else {
                    "http"
                }
            )),
        }
    }

    pub(crate) async fn send(&self, payload: &Payload) -> Attempt {
        match self {
            #[cfg(feature = "http")]
            Transport::Http(t) => match payload {
                Payload::Body(body) => t.send(body.clone()).await,
                Payload::Request(_) => fatal_mismatch(),
            },
            #[cfg(feature = "grpc")]
            Transport::Grpc(t) => match payload {
                Payload::Request(request) => t.send((**request).clone()).await,
                Payload::Body(_) => fatal_mismatch(),
            },
        }
    }
}

#[allow(dead_code)] // reached only when a payload and a transport disagree: a bug
fn fatal_mismatch() -> Attempt {
    Attempt::Fatal {
        reason: "bad_request".to_owned(),
        message: "payload does not match the transport".to_owned(),
    }
}

fn delivered(partial: Option<ExportMetricsPartialSuccess>) -> Attempt {
    let partial = partial.unwrap_or_default();
    Attempt::Delivered {
        rejected: u64::try_from(partial.rejected_data_points).unwrap_or(0),
        message: partial.error_message,
    }
}

fn shorten(message: &str) -> String {
    const MAX: usize = 512;
    let message = message.trim();
    if message.len() <= MAX {
        return message.to_owned();
    }
    let mut end = MAX;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &message[..end])
}

#[cfg(feature = "http")]
mod http_transport {
    use super::*;
    use std::time::SystemTime;

    /// At most this much of a response body is read: enough for any partial-success
    /// message or error status, and a bound on what a misbehaving endpoint can make us
    /// hold.
    const MAX_RESPONSE_BYTES: usize = 64 * 1024;

    use http::header::{CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER, USER_AGENT};
    use http::{HeaderMap, HeaderName, HeaderValue, Request, StatusCode, Uri};
    use http_body_util::{BodyExt, Full, Limited};
    use hyper_util::client::legacy::connect::HttpConnector;
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceResponse;
    use prost::Message;

    use crate::config::{Compression, Protocol};

    pub(crate) struct HttpTransport {
        client: Client<HttpConnector, Full<Bytes>>,
        uri: Uri,
        headers: HeaderMap,
        json: bool,
        timeout: Duration,
    }

    impl std::fmt::Debug for HttpTransport {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("HttpTransport")
                .field("uri", &self.uri)
                .field("json", &self.json)
                .field("timeout", &self.timeout)
                .finish()
        }
    }

    impl HttpTransport {
        pub(crate) fn new(settings: &Settings) -> Result<Self, String> {
            let uri: Uri = settings
                .endpoint
                .parse()
                .map_err(|e| format!("endpoint {:?}: {e}", settings.endpoint))?;
            let json = settings.protocol == Protocol::HttpJson;
            let mut headers = HeaderMap::new();
            headers.insert(
                CONTENT_TYPE,
                HeaderValue::from_static(if json {
                    "application/json"
                } else {
                    "application/x-protobuf"
                }),
            );
            headers.insert(
                USER_AGENT,
                HeaderValue::from_static(concat!("prism-otel/", env!("CARGO_PKG_VERSION"))),
            );
            if settings.compression == Compression::Gzip {
                headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            }
            for (k, v) in &settings.headers {
                let name = HeaderName::from_bytes(k.as_bytes()).map_err(|e| format!("{k}: {e}"))?;
                let value = HeaderValue::from_str(v).map_err(|e| format!("{k}: {e}"))?;
                headers.insert(name, value);
            }
            let mut connector = HttpConnector::new();
            connector.set_connect_timeout(Some(settings.timeout));
            connector.set_nodelay(true);
            let client = Client::builder(TokioExecutor::new()).build(connector);
            Ok(Self {
                client,
                uri,
                headers,
                json,
                timeout: settings.timeout,
            })
        }

        pub(crate) async fn send(&self, body: Bytes) -> Attempt {
            let mut request = Request::post(self.uri.clone())
                .body(Full::new(body))
                .expect("method, URI and body are valid");
            *request.headers_mut() = self.headers.clone();
            let exchange = async {
                let response = self.client.request(request).await?;
                let status = response.status();
                let retry_after = response
                    .headers()
                    .get(RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| crate::retry::parse_retry_after(v, SystemTime::now()));
                let body = Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
                    .collect()
                    .await
                    .map(|b| b.to_bytes())
                    .unwrap_or_default();
                Ok::<_, hyper_util::client::legacy::Error>((status, retry_after, body))
            };
            match tokio::time::timeout(self.timeout, exchange).await {
                Err(_) => Attempt::Retryable {
                    reason: "timeout".to_owned(),
                    message: format!("no response within {:?}", self.timeout),
                    retry_after: None,
                },
                Ok(Err(e)) => Attempt::Retryable {
                    reason: "unreachable".to_owned(),
                    message: error_chain(&e),
                    retry_after: None,
                },
                Ok(Ok((status, retry_after, body))) => self.answer(status, retry_after, &body),
            }
        }

        fn answer(
            &self,
            status: StatusCode,
            retry_after: Option<Duration>,
            body: &[u8],
        ) -> Attempt {
            if status.is_success() {
                let response = if self.json {
                    serde_json::from_slice::<ExportMetricsServiceResponse>(body).ok()
                } else {
                    ExportMetricsServiceResponse::decode(body).ok()
                };
                return delivered(response.and_then(|r| r.partial_success));
            }
            let reason = format!("http_{}", status.as_u16());
            let message = format!("{status}: {}", shorten(&String::from_utf8_lossy(body)));
            match status.as_u16() {
                // The specification's retryable statuses.
                429 | 502 | 503 | 504 => Attempt::Retryable {
                    reason,
                    message,
                    retry_after,
                },
                _ => Attempt::Fatal { reason, message },
            }
        }
    }

    fn error_chain(e: &dyn std::error::Error) -> String {
        let mut message = e.to_string();
        let mut source = e.source();
        while let Some(s) = source {
            message.push_str(": ");
            message.push_str(&s.to_string());
            source = s.source();
        }
        message
    }
}

#[cfg(feature = "grpc")]
mod grpc_transport {
    use super::*;
    use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
    use tonic::codec::CompressionEncoding;
    use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};
    use tonic::transport::{Channel, Endpoint};
    use tonic::Code;

    use crate::config::Compression;

    pub(crate) struct GrpcTransport {
        client: MetricsServiceClient<Channel>,
        metadata: MetadataMap,
        timeout: Duration,
    }

    impl std::fmt::Debug for GrpcTransport {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("GrpcTransport")
                .field("timeout", &self.timeout)
                .finish_non_exhaustive()
        }
    }

    impl GrpcTransport {
        pub(crate) fn new(settings: &Settings) -> Result<Self, String> {
            let channel = Endpoint::from_shared(settings.endpoint.clone())
                .map_err(|e| format!("endpoint {:?}: {e}", settings.endpoint))?
                .connect_timeout(settings.timeout)
                .timeout(settings.timeout)
                .user_agent(concat!("prism-otel/", env!("CARGO_PKG_VERSION")))
                .map_err(|e| e.to_string())?
                .connect_lazy();
            let mut client = MetricsServiceClient::new(channel);
            if settings.compression == Compression::Gzip {
                client = client.send_compressed(CompressionEncoding::Gzip);
            }
            let mut metadata = MetadataMap::new();
            for (k, v) in &settings.headers {
                let key = MetadataKey::from_bytes(k.as_bytes()).map_err(|e| format!("{k}: {e}"))?;
                let value: MetadataValue<_> = v.parse().map_err(|e| format!("{k}: {e}"))?;
                metadata.insert(key, value);
            }
            Ok(Self {
                client,
                metadata,
                timeout: settings.timeout,
            })
        }

        pub(crate) async fn send(&self, request: ExportMetricsServiceRequest) -> Attempt {
            let mut client = self.client.clone();
            let mut request = tonic::Request::new(request);
            *request.metadata_mut() = self.metadata.clone();
            request.set_timeout(self.timeout);
            match tokio::time::timeout(self.timeout, client.export(request)).await {
                Err(_) => Attempt::Retryable {
                    reason: "timeout".to_owned(),
                    message: format!("no response within {:?}", self.timeout),
                    retry_after: None,
                },
                Ok(Ok(response)) => delivered(response.into_inner().partial_success),
                Ok(Err(status)) => answer(status),
            }
        }
    }

    fn answer(status: tonic::Status) -> Attempt {
        let message = shorten(status.message());
        // A status with a source was made on this side: the connection failed.
        if std::error::Error::source(&status).is_some() {
            return Attempt::Retryable {
                reason: if status.code() == Code::DeadlineExceeded
                    || status.code() == Code::Cancelled
                {
                    "timeout".to_owned()
                } else {
                    "unreachable".to_owned()
                },
                message,
                retry_after: None,
            };
        }
        let reason = format!("grpc_{}", code_name(status.code()));
        match status.code() {
            // The specification's retryable codes. RESOURCE_EXHAUSTED is retryable only
            // with a RetryInfo detail, which this crate does not decode: not retried.
            Code::Cancelled
            | Code::DeadlineExceeded
            | Code::Aborted
            | Code::OutOfRange
            | Code::Unavailable
            | Code::DataLoss => Attempt::Retryable {
                reason,
                message,
                retry_after: None,
            },
            _ => Attempt::Fatal { reason, message },
        }
    }

    fn code_name(code: Code) -> &'static str {
        match code {
            Code::Ok => "ok",
            Code::Cancelled => "cancelled",
            Code::Unknown => "unknown",
            Code::InvalidArgument => "invalid_argument",
            Code::DeadlineExceeded => "deadline_exceeded",
            Code::NotFound => "not_found",
            Code::AlreadyExists => "already_exists",
            Code::PermissionDenied => "permission_denied",
            Code::ResourceExhausted => "resource_exhausted",
            Code::FailedPrecondition => "failed_precondition",
            Code::Aborted => "aborted",
            Code::OutOfRange => "out_of_range",
            Code::Unimplemented => "unimplemented",
            Code::Internal => "internal",
            Code::Unavailable => "unavailable",
            Code::DataLoss => "data_loss",
            Code::Unauthenticated => "unauthenticated",
        }
    }
}
