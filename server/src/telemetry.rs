//! Logs and metrics: the tracing subscriber, the Prometheus recorder and the middleware
//! that counts and times requests by route.

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Instant;

/// Request latency buckets, seconds: from a cached read to a slow Argon2 login.
const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// Logs to stderr, filtered by `RUST_LOG` (default: info, with request logs).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // try_init: a second call (tests) must not panic.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// The process-wide Prometheus recorder. `metrics` has one global recorder, so every app
/// in the process (tests start several) shares it.
pub fn prometheus() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("http_request_duration_seconds".to_owned()),
                    &LATENCY_BUCKETS,
                )
                .unwrap_or_else(|_| PrometheusBuilder::new());
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            // Fails only if something else installed a recorder first; then our handle
            // renders nothing, which is better than refusing to start.
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed");
            }
            handle
        })
        .clone()
}

/// Middleware: `http_requests_total{method,route,status}` and
/// `http_request_duration_seconds{method,route}`. The route is the matched pattern
/// (`/api/conversations/{id}/messages`), never the raw path, so ids do not explode the
/// number of series.
pub async fn track_requests(request: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!(
        "http_requests_total",
        "method" => method.clone(),
        "route" => route.clone(),
        "status" => status
    )
    .increment(1);
    metrics::histogram!(
        "http_request_duration_seconds",
        "method" => method,
        "route" => route
    )
    .record(start.elapsed().as_secs_f64());
    response
}

/// `socketio_connected_sockets`: Socket.IO sockets past the handshake on this node (how
/// many connections the clients hold: one per browser, whatever its tabs).
pub fn socket_opened() {
    metrics::gauge!("socketio_connected_sockets").increment(1.0);
}

/// A socket counted by [`socket_opened`] ended.
pub fn socket_closed() {
    metrics::gauge!("socketio_connected_sockets").decrement(1.0);
}
