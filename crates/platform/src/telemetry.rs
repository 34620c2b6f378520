//! Logging, trace context and trace export. Logs are JSON in clusters and readable locally; every span
//! carries an OpenTelemetry context so that a W3C `traceparent` received over HTTP or Kafka continues in
//! what this process logs and in the `traceparent` it sends on (HTTP calls, outbox messages).
//!
//! Spans are exported over OTLP (HTTP/protobuf, batched) only when `OTEL_EXPORTER_OTLP_ENDPOINT` or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set; the usual variables apply: `OTEL_EXPORTER_OTLP_HEADERS`,
//! `OTEL_EXPORTER_OTLP_TIMEOUT`, `OTEL_EXPORTER_OTLP_COMPRESSION`, `OTEL_SERVICE_NAME` (default `bazaar`),
//! `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG` and `OTEL_BSP_*`.

use std::collections::HashMap;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_otlp::{Protocol, WithExportConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::{LogFormat, TelemetryConfig};

/// The W3C header (and Kafka header) carrying trace context.
pub const TRACEPARENT: &str = "traceparent";

/// Keeps the tracer provider alive for the life of the process.
pub struct TelemetryGuard {
    provider: SdkTracerProvider,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        // Flushes the spans still batched; an unreachable collector only loses those, so the error is moot.
        let _ = self.provider.shutdown();
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("invalid setting --log-level (RUST_LOG): {0}")]
    Filter(String),
    #[error("tracing was already initialised: {0}")]
    AlreadyInitialised(String),
    #[error("invalid OTLP exporter setting (OTEL_EXPORTER_OTLP_*): {0}")]
    Otlp(String),
}

/// The variables that turn the OTLP exporter on.
const OTLP_ENDPOINT_VARS: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
];

/// The tracer provider: exporting over OTLP when an endpoint variable is set (read through `var`), only
/// propagating context otherwise.
fn tracer_provider(
    var: impl Fn(&str) -> Option<String>,
) -> Result<SdkTracerProvider, TelemetryError> {
    let configured = OTLP_ENDPOINT_VARS
        .iter()
        .any(|name| var(name).is_some_and(|value| !value.trim().is_empty()));
    if !configured {
        return Ok(SdkTracerProvider::builder().build());
    }
    for name in [
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
    ] {
        if let Some(protocol) = var(name).filter(|p| p != "http/protobuf") {
            return Err(TelemetryError::Otlp(format!(
                "{name}={protocol}: only http/protobuf is supported"
            )));
        }
    }
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .build()
        .map_err(|e| TelemetryError::Otlp(e.to_string()))?;
    Ok(otlp_provider(exporter, var("OTEL_SERVICE_NAME").is_none()))
}

/// Batches spans to `exporter` (on a thread of its own), naming the service `bazaar` unless
/// `OTEL_SERVICE_NAME` names it.
fn otlp_provider(
    exporter: opentelemetry_otlp::SpanExporter,
    default_name: bool,
) -> SdkTracerProvider {
    let resource = if default_name {
        Resource::builder().with_service_name("bazaar").build()
    } else {
        Resource::builder().build()
    };
    SdkTracerProvider::builder()
        .with_resource(resource)
        .with_batch_exporter(exporter)
        .build()
}

/// Installs the global subscriber: the log format chosen, the filter, and trace-context spans. Logs go to
/// standard error, so that what a command prints for people (URLs, credentials) stays readable on stdout.
pub fn init(config: &TelemetryConfig) -> Result<TelemetryGuard, TelemetryError> {
    let filter = EnvFilter::try_new(&config.log_filter)
        .map_err(|e| TelemetryError::Filter(e.to_string()))?;
    let provider = tracer_provider(|name| std::env::var(name).ok())?;
    let otel = tracing_opentelemetry::layer().with_tracer(provider.tracer("bazaar"));
    let registry = tracing_subscriber::registry().with(filter).with(otel);
    let result = match config.log_format {
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::io::stderr)
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false),
            )
            .try_init(),
        LogFormat::Pretty => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::io::stderr)
                    .compact(),
            )
            .try_init(),
    };
    result.map_err(|e| TelemetryError::AlreadyInitialised(e.to_string()))?;
    Ok(TelemetryGuard { provider })
}

/// Makes `span` a child of the trace named by a received `traceparent`; a missing or malformed one
/// leaves the span as the root of a new trace.
pub fn continue_trace(span: &Span, traceparent: Option<&str>) {
    let Some(traceparent) = traceparent else {
        return;
    };
    let carrier = HashMap::from([(TRACEPARENT.to_owned(), traceparent.to_owned())]);
    let parent = TraceContextPropagator::new().extract(&carrier);
    if parent.span().span_context().is_valid() {
        // Fails only when the span is disabled, and then there is nothing to continue.
        let _ = span.set_parent(parent);
    }
}

/// The `traceparent` to send along with work caused by `span`, if tracing is active.
pub fn traceparent_of(span: &Span) -> Option<String> {
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&span.context(), &mut carrier);
    carrier.remove(TRACEPARENT)
}

/// The `traceparent` of the current span.
pub fn current_traceparent() -> Option<String> {
    traceparent_of(&Span::current())
}

/// The trace id of `span` as 32 hex digits, for log fields.
pub fn trace_id_of(span: &Span) -> Option<String> {
    let context = span.context();
    let span_context = context.span().span_context().clone();
    span_context
        .is_valid()
        .then(|| span_context.trace_id().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_tracing<T>(f: impl FnOnce() -> T) -> T {
        let provider = SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        tracing::subscriber::with_default(subscriber, f)
    }

    #[test]
    fn a_received_traceparent_continues_in_what_we_send_on() {
        let incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let outgoing = with_tracing(|| {
            let span = tracing::info_span!("request");
            continue_trace(&span, Some(incoming));
            assert_eq!(
                trace_id_of(&span).as_deref(),
                Some("4bf92f3577b34da6a3ce929d0e0e4736")
            );
            let _entered = span.enter();
            current_traceparent()
        })
        .expect("a traceparent is sent on");
        assert!(outgoing.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
        assert!(
            !outgoing.contains("00f067aa0ba902b7"),
            "our own span id, not the caller's"
        );
    }

    #[test]
    fn without_an_otlp_endpoint_nothing_is_exported_and_a_grpc_protocol_is_refused() {
        let provider = tracer_provider(|_| None).expect("no exporter needed");
        assert!(provider.shutdown().is_ok());
        let grpc = tracer_provider(|name| match name {
            "OTEL_EXPORTER_OTLP_ENDPOINT" => Some("http://127.0.0.1:4317".to_owned()),
            "OTEL_EXPORTER_OTLP_PROTOCOL" => Some("grpc".to_owned()),
            _ => None,
        });
        assert!(
            matches!(&grpc, Err(TelemetryError::Otlp(message)) if message.contains("http/protobuf")),
            "a protocol we cannot speak is a start-up error"
        );
    }

    /// A collector's OTLP/HTTP endpoint: records each request's first line and content type.
    fn fake_collector() -> (String, std::sync::mpsc::Receiver<(String, String)>) {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
        let address = listener.local_addr().expect("address");
        let (sent, received) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut request_line = String::new();
                let _ = reader.read_line(&mut request_line);
                let (mut length, mut content_type) = (0usize, String::new());
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                        break;
                    }
                    let lower = header.to_ascii_lowercase();
                    if let Some(value) = lower.strip_prefix("content-length:") {
                        length = value.trim().parse().unwrap_or(0);
                    }
                    if let Some(value) = lower.strip_prefix("content-type:") {
                        content_type = value.trim().to_owned();
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
                let _ = sent.send((request_line.trim().to_owned(), content_type));
            }
        });
        (format!("http://{address}/v1/traces"), received)
    }

    #[test]
    fn spans_reach_an_otlp_http_endpoint_as_protobuf() {
        let (endpoint, received) = fake_collector();
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(endpoint)
            .build()
            .expect("exporter");
        let provider = otlp_provider(exporter, true);
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        tracing::subscriber::with_default(subscriber, || {
            let _span = tracing::info_span!("checkout").entered();
        });
        provider.force_flush().expect("flushed");
        let (request_line, content_type) = received
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("the collector received spans");
        assert_eq!(request_line, "POST /v1/traces HTTP/1.1");
        assert_eq!(content_type, "application/x-protobuf");
        let _ = provider.shutdown();
    }

    #[test]
    fn a_malformed_traceparent_starts_a_new_trace() {
        with_tracing(|| {
            let span = tracing::info_span!("request");
            continue_trace(&span, Some("garbage"));
            let trace_id = trace_id_of(&span).expect("a new trace");
            assert_eq!(trace_id.len(), 32);
        });
    }
}
