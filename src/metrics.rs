//! Prometheus metrics at `/metrics`: deliveries by outcome and host,
//! delivery latency, inbox results by reason, HTTP requests and latency,
//! and queue depths read from the database at each scrape.
//!
//! Only loopback clients may read it, or anyone sending
//! `Authorization: Bearer $MEETFIELD_METRICS_TOKEN` when that is set: the
//! labels name partner hosts.

use std::net::SocketAddr;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::app::AppState;
use crate::error::{AppError, AppResult};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HostOutcome {
    host: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Reason {
    result: String,
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Route {
    method: String,
    route: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Method {
    method: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueState {
    queue: String,
    state: String,
}

struct Metrics {
    registry: Registry,
    deliveries: Family<HostOutcome, Counter>,
    delivery_attempt: Histogram,
    delivery_latency: Histogram,
    inbox: Family<Reason, Counter>,
    http_requests: Family<Route, Counter>,
    http_duration: Family<Method, Histogram>,
    queue: Family<QueueState, Gauge>,
    unreachable: Gauge,
    streaming: Gauge,
    streaming_events: Counter,
    streaming_dropped: Counter,
}

fn latency_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 18))
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let mut registry = Registry::with_prefix("meetfield");
    let deliveries = Family::<HostOutcome, Counter>::default();
    registry.register(
        "deliveries",
        "Delivery attempts by target host and outcome (done, rejected, pending = will retry, failed = gave up, skipped)",
        deliveries.clone(),
    );
    let delivery_attempt = latency_buckets();
    registry.register(
        "delivery_attempt_seconds",
        "Time of one delivery attempt (signing and HTTP)",
        delivery_attempt.clone(),
    );
    let delivery_latency = Histogram::new(exponential_buckets(0.01, 2.0, 24));
    registry.register(
        "delivery_latency_seconds",
        "Time from queueing an activity to its delivery",
        delivery_latency.clone(),
    );
    let inbox = Family::<Reason, Counter>::default();
    registry.register(
        "inbox_activities",
        "Activities posted to our inboxes, accepted or rejected, by reason",
        inbox.clone(),
    );
    let http_requests = Family::<Route, Counter>::default();
    registry.register(
        "http_requests",
        "HTTP requests by method, route and status",
        http_requests.clone(),
    );
    let http_duration = Family::<Method, Histogram>::new_with_constructor(latency_buckets);
    registry.register(
        "http_request_duration_seconds",
        "HTTP request latency",
        http_duration.clone(),
    );
    let queue = Family::<QueueState, Gauge>::default();
    registry.register(
        "queue_rows",
        "Rows in the delivery and inbound queues by state",
        queue.clone(),
    );
    let unreachable = Gauge::default();
    registry.register(
        "unreachable_hosts",
        "Hosts marked unreachable",
        unreachable.clone(),
    );
    let streaming = Gauge::default();
    registry.register(
        "streaming_connections",
        "Open streaming connections (WebSocket and SSE) on this node",
        streaming.clone(),
    );
    let streaming_events = Counter::default();
    registry.register(
        "streaming_events",
        "Events queued to streaming connections",
        streaming_events.clone(),
    );
    let streaming_dropped = Counter::default();
    registry.register(
        "streaming_slow_disconnects",
        "Streaming clients disconnected for falling too far behind",
        streaming_dropped.clone(),
    );
    Metrics {
        registry,
        streaming,
        streaming_events,
        streaming_dropped,
        deliveries,
        delivery_attempt,
        delivery_latency,
        inbox,
        http_requests,
        http_duration,
        queue,
        unreachable,
    }
});

pub fn delivery_outcome(host: &str, state: &str, created_at: NaiveDateTime) {
    let m = &*METRICS;
    m.deliveries
        .get_or_create(&HostOutcome {
            host: host.to_string(),
            outcome: state.to_string(),
        })
        .inc();
    if state == "done" {
        let age = (crate::db::now() - created_at).num_milliseconds().max(0) as f64 / 1000.0;
        m.delivery_latency.observe(age);
    }
}

pub fn delivery_latency(d: Duration) {
    METRICS.delivery_attempt.observe(d.as_secs_f64());
}

pub fn streaming_opened() {
    METRICS.streaming.inc();
}

pub fn streaming_closed() {
    METRICS.streaming.dec();
}

pub fn streaming_event() {
    METRICS.streaming_events.inc();
}

pub fn streaming_dropped() {
    METRICS.streaming_dropped.inc();
}

/// An inbox POST's result: `accepted`, or the reason it was refused.
pub fn inbox(status: StatusCode) {
    let (result, reason) = match status.as_u16() {
        200..=299 => ("accepted", "ok"),
        400 => ("rejected", "bad_request"),
        401 => ("rejected", "signature"),
        403 => ("rejected", "forbidden"),
        404 => ("rejected", "unknown_target"),
        409 => ("rejected", "duplicate"),
        413 => ("rejected", "too_large"),
        422 => ("rejected", "invalid"),
        503 => ("failed", "unavailable"),
        _ => ("failed", "error"),
    };
    METRICS
        .inbox
        .get_or_create(&Reason {
            result: result.into(),
            reason: reason.into(),
        })
        .inc();
}

/// Middleware counting requests by route (the matched pattern, so ids do
/// not multiply the series) and timing them.
pub async fn track(request: Request, next: Next) -> Response {
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let started = Instant::now();
    let response = next.run(request).await;
    let m = &*METRICS;
    m.http_duration
        .get_or_create(&Method {
            method: method.clone(),
        })
        .observe(started.elapsed().as_secs_f64());
    m.http_requests
        .get_or_create(&Route {
            method,
            route,
            status: response.status().as_u16().to_string(),
        })
        .inc();
    response
}

async fn read_queues(state: &AppState) -> AppResult<(Vec<(String, String, i64)>, i64)> {
    state
        .db
        .run(|c| {
            use crate::db::schema::{deliveries, delivery_hosts, inbound_activities};
            let mut rows: Vec<(String, String, i64)> = deliveries::table
                .group_by(deliveries::state)
                .select((deliveries::state, diesel::dsl::count_star()))
                .load::<(String, i64)>(c)?
                .into_iter()
                .map(|(s, n)| ("delivery".to_string(), s, n))
                .collect();
            rows.extend(
                inbound_activities::table
                    .group_by(inbound_activities::state)
                    .select((inbound_activities::state, diesel::dsl::count_star()))
                    .load::<(String, i64)>(c)?
                    .into_iter()
                    .map(|(s, n)| ("inbound".to_string(), s, n)),
            );
            let unreachable: i64 = delivery_hosts::table
                .filter(delivery_hosts::unreachable_since.is_not_null())
                .count()
                .get_result(c)?;
            Ok::<_, AppError>((rows, unreachable))
        })
        .await
}

/// `GET /metrics`
pub async fn render(State(state): State<AppState>, request: Request) -> Response {
    let from_loopback = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .is_some_and(|ConnectInfo(a)| a.ip().is_loopback());
    let token = &state.config.metrics_token;
    let bearer_ok = !token.is_empty()
        && request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v == format!("Bearer {token}"));
    if !from_loopback && !bearer_ok {
        return AppError::Forbidden("Metrics are for the monitoring system".into()).into_response();
    }
    let m = &*METRICS;
    match read_queues(&state).await {
        Ok((rows, unreachable)) => {
            // States not seen this time are zero, not stale.
            for queue in ["delivery", "inbound"] {
                for s in ["pending", "done", "rejected", "failed", "skipped"] {
                    m.queue
                        .get_or_create(&QueueState {
                            queue: queue.into(),
                            state: s.into(),
                        })
                        .set(0);
                }
            }
            for (queue, s, n) in rows {
                m.queue
                    .get_or_create(&QueueState { queue, state: s })
                    .set(n);
            }
            m.unreachable.set(unreachable);
        }
        Err(e) => tracing::warn!(error = %e, "metrics: cannot read queues"),
    }
    let mut body = String::new();
    if let Err(e) = prometheus_client::encoding::text::encode(&mut body, &m.registry) {
        return AppError::Internal(anyhow::anyhow!("metrics encoding: {e}")).into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
        .into_response()
}
