//! Application state and the one route table.

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{StatusCode, Uri, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;

use crate::api;
use crate::config::Config;
use crate::db::Db;
use crate::error::AppError;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
}

impl AppState {
    pub fn new(config: Config, db: Db) -> Self {
        AppState {
            config: Arc::new(config),
            db,
        }
    }
}

/// Every route of the server.
pub fn router(state: AppState) -> Router {
    let max_body = state.config.max_body_bytes;
    Router::new()
        .route("/health", get(api::health::health))
        .fallback(not_found)
        .with_state(state)
        // Extractors refuse bodies over the limit; the outer layer also stops
        // bodies nobody extracts and lying Content-Lengths.
        .layer(DefaultBodyLimit::max(max_body))
        .layer(RequestBodyLimitLayer::new(max_body))
        .layer(middleware::map_response(json_payload_too_large))
        .layer(TraceLayer::new_for_http())
}

async fn not_found(uri: Uri) -> impl IntoResponse {
    tracing::debug!(%uri, "no route");
    let mut res = AppError::not_found().into_response();
    *res.status_mut() = StatusCode::NOT_FOUND;
    res
}

/// tower-http answers an oversized body in plain text; clients expect our JSON.
async fn json_payload_too_large(res: Response) -> Response {
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if res.status() == StatusCode::PAYLOAD_TOO_LARGE && !is_json {
        return AppError::PayloadTooLarge("Request body too large".into()).into_response();
    }
    res
}
