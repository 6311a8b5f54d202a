//! The HTTP service's metrics, rendered at `/metrics` beside the ledger's own
//! ([`ledger::metrics`]), in the Prometheus text format, for local scraping only: nothing is
//! ever pushed anywhere. Labels are route templates and error codes, never tenant data.

use ledger::metrics::{Counter, Exposition, Histogram};

/// The HTTP service's families.
#[derive(Debug, Default)]
pub struct HttpMetrics {
    /// HTTP requests (labels `route` (the route template), `status`).
    pub http_requests: Counter,
    /// HTTP request latency.
    pub http_seconds: Histogram,
    /// Error responses by stable code (label `code`).
    pub http_errors: Counter,
    /// Audit-log appends that failed (label `reason`).
    pub audit_failures: Counter,
    /// Connections the server closed on its own (label `reason`: `limit` when over
    /// `max_connections`, `timeout` for the header read or idle timeout).
    pub connections_closed: Counter,
}

static GLOBAL: std::sync::LazyLock<HttpMetrics> = std::sync::LazyLock::new(HttpMetrics::default);

/// The process-wide HTTP metrics.
pub fn global() -> &'static HttpMetrics {
    &GLOBAL
}

/// The whole `/metrics` text: the ledger's families, then the HTTP service's.
pub fn render() -> String {
    let mut e = Exposition::default();
    ledger::metrics::global().render_into(&mut e);
    ledger::metrics::global().render_backlog_into(&mut e, ledger::now().0);
    let h = global();
    e.counter("ledger_http_requests_total", "HTTP requests, by route template and status.", &h.http_requests)
        .histogram("ledger_http_request_seconds", "HTTP request latency.", &h.http_seconds)
        .counter("ledger_http_errors_total", "HTTP error responses, by stable error code.", &h.http_errors)
        .counter("ledger_audit_failures_total", "Audit-log appends that failed.", &h.audit_failures)
        .counter(
            "ledger_http_connections_closed_total",
            "Connections closed by the server: over max_connections, or past the header read or idle timeout.",
            &h.connections_closed,
        );
    crate::uploads::render_into(&mut e);
    e.finish()
}
