//! Logging and trace context. Logs are JSON in clusters and readable locally; every span carries an
//! OpenTelemetry context so that a W3C `traceparent` received over HTTP or Kafka continues in what this
//! process logs and in the `traceparent` it sends on (HTTP calls, outbox messages).

use std::collections::HashMap;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
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
        // Nothing is exported yet, so shutting down only releases the provider; errors are moot.
        let _ = self.provider.shutdown();
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("invalid setting --log-level (RUST_LOG): {0}")]
    Filter(String),
    #[error("tracing was already initialised: {0}")]
    AlreadyInitialised(String),
}

/// Installs the global subscriber: the log format chosen, the filter, and trace-context spans. Logs go to
/// standard error, so that what a command prints for people (URLs, credentials) stays readable on stdout.
pub fn init(config: &TelemetryConfig) -> Result<TelemetryGuard, TelemetryError> {
    let filter = EnvFilter::try_new(&config.log_filter)
        .map_err(|e| TelemetryError::Filter(e.to_string()))?;
    let provider = SdkTracerProvider::builder().build();
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
    fn a_malformed_traceparent_starts_a_new_trace() {
        with_tracing(|| {
            let span = tracing::info_span!("request");
            continue_trace(&span, Some("garbage"));
            let trace_id = trace_id_of(&span).expect("a new trace");
            assert_eq!(trace_id.len(), 32);
        });
    }
}
