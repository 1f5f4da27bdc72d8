//! Application state and the one route table.

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{StatusCode, Uri, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::normalize_path::NormalizePath;
use tower_http::trace::TraceLayer;

use tokio::sync::Notify;

use activitypub_federation::config::{FederationConfig, FederationMiddleware};

use crate::api;
use crate::config::Config;
use crate::db::Db;
use crate::domain::instance;
use crate::domain::policy::Policy;
use crate::error::AppError;
use crate::federation;
use crate::federation::objects::ApubAccount;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub policy: Policy,
    /// Woken after new deliveries are committed, so workers need not poll fast.
    pub delivery_wake: Arc<Notify>,
    /// This node's streaming connections.
    pub stream: Arc<crate::stream::hub::Hub>,
    /// Media files (local disk under `data_dir/files`).
    pub storage: Arc<dyn crate::media::storage::Storage>,
    /// Fetches remote media (refuses private addresses outside test setups).
    pub media_client: Option<reqwest::Client>,
    /// The OpenID provider, as discovered.
    pub oidc: Arc<crate::sso::oidc::Oidc>,
}

impl AppState {
    pub fn new(config: Config, db: Db) -> Self {
        let policy = Policy::new(db.clone(), config.federation_mode);
        let stream = Arc::new(crate::stream::hub::Hub::new(
            config.streaming_connections_per_user,
        ));
        let storage = Arc::new(crate::media::storage::LocalDisk::new(config.media_root()));
        let media_client = crate::federation::client::build_plain_client(
            config.federation_insecure_local,
            std::time::Duration::from_secs(30),
        )
        .map_err(|e| tracing::error!(error = %e, "no HTTP client for remote media"))
        .ok();
        AppState {
            oidc: Arc::new(crate::sso::oidc::Oidc::new()),
            media_client,
            storage,
            stream,
            config: Arc::new(config),
            db,
            policy,
            delivery_wake: Arc::new(Notify::new()),
        }
    }

    /// `scheme://domain`, the prefix of every URL we mint.
    pub fn base_url(&self) -> String {
        self.config.base_url()
    }
}

/// The running application: shared state plus the federation library's
/// configuration (which holds the state as its app data).
#[derive(Clone)]
pub struct App {
    pub state: AppState,
    pub federation: FederationConfig<AppState>,
}

impl App {
    /// Prepares the instance (instance actor, keys) and the federation setup.
    pub async fn new(config: Config, db: Db) -> anyhow::Result<App> {
        let actor = instance::ensure_instance_actor(&db, &config).await?;
        let backfilled = instance::ensure_local_keys(&db).await?;
        if backfilled > 0 {
            tracing::info!(count = backfilled, "generated missing key pairs");
        }
        let state = AppState::new(config, db);
        let federation =
            federation::federation_config(state.clone(), &ApubAccount::new(actor)?).await?;
        Ok(App { state, federation })
    }

    pub fn router(&self) -> Router {
        // Rails answers `/api/v1/instance/` like `/api/v1/instance`, and
        // clients (Mastodon.py) rely on it.
        let inner = router(self.state.clone(), Some(self.federation.clone()));
        Router::new().fallback_service(NormalizePath::trim_trailing_slash(inner))
    }

    /// Request-scoped federation data, for domain calls outside a request.
    pub fn data(&self) -> federation::FedData {
        self.federation.to_request_data()
    }
}

/// CORS as Mastodon answers it, so browser clients (Elk, Phanpy, masto.js
/// in a page) on any origin can use the API: no credentials (tokens travel
/// in `Authorization`), the request's headers allowed, paging and rate
/// headers readable. The sign-in page and HTML pages stay same-origin.
fn cors() -> tower_http::cors::CorsLayer {
    use axum::http::{HeaderName, Method};
    use tower_http::cors::{AllowHeaders, Any, CorsLayer};
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers(AllowHeaders::mirror_request())
        .expose_headers([
            header::LINK,
            HeaderName::from_static("x-ratelimit-limit"),
            HeaderName::from_static("x-ratelimit-remaining"),
            HeaderName::from_static("x-ratelimit-reset"),
        ])
        .max_age(std::time::Duration::from_secs(24 * 3600))
}

/// Every route of the server; without `federation` only the parts that need
/// no federation setup (health, errors), for tests of a broken database.
pub fn router(state: AppState, federation: Option<FederationConfig<AppState>>) -> Router {
    let max_body = state.config.max_body_bytes;
    let mut routes = Router::new()
        .route("/health", get(api::health::health))
        .route("/metrics", get(crate::metrics::render));
    if federation.is_some() {
        routes = routes
            .merge(federation::http::router().layer(cors()))
            .merge(api::mastodon::router().layer(cors()))
            .merge(crate::stream::http::router().layer(cors()))
            .merge(crate::web::router())
            .merge(crate::sso::scim::router());
    }
    // Extractors refuse bodies over the limit; the outer layer also stops
    // bodies nobody extracts and lying Content-Lengths.
    routes = routes
        .layer(DefaultBodyLimit::max(max_body))
        .layer(RequestBodyLimitLayer::new(max_body));
    if federation.is_some() {
        // Room for the largest file plus the multipart framing.
        let upload = state
            .config
            .media_max_image_bytes
            .max(state.config.media_max_video_bytes)
            + 64 * 1024;
        routes = routes
            .merge(
                api::mastodon::upload_router()
                    .layer(DefaultBodyLimit::max(upload))
                    .layer(RequestBodyLimitLayer::new(upload))
                    .layer(cors()),
            )
            .merge(api::mastodon::media::files(&state).layer(cors()));
    }
    let mut app = routes
        .route_layer(middleware::from_fn(crate::metrics::track))
        .fallback(not_found)
        .with_state(state);
    if let Some(fed) = federation {
        app = app.layer(FederationMiddleware::new(fed));
    }
    app.layer(middleware::map_response(json_payload_too_large))
        .layer(middleware::from_fn(refuse_nul_in_uri))
        .layer(TraceLayer::new_for_http())
}

/// A NUL byte can reach a path or query parameter only as `%00`; PostgreSQL
/// cannot hold it in text, so it is refused here for every route at once
/// (bodies are checked by their extractors).
async fn refuse_nul_in_uri(req: axum::extract::Request, next: middleware::Next) -> Response {
    let uri = req.uri();
    let raw = uri.path_and_query().map(|p| p.as_str()).unwrap_or("");
    if raw
        .as_bytes()
        .windows(3)
        .any(|w| w.eq_ignore_ascii_case(b"%00"))
    {
        return AppError::Unprocessable(
            "Validation failed: the request contains a NUL byte".into(),
        )
        .into_response();
    }
    next.run(req).await
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
