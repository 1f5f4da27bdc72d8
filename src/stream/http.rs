//! Mastodon's streaming endpoints: one WebSocket with subscribe/unsubscribe
//! messages, and one SSE response per stream.

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::Stream;
use serde::Deserialize;
use serde_json::json;

use super::hub::{Event, Hub, Registration, Sub};
use crate::api::extract::{Auth, auth_with_secret, bearer};
use crate::app::AppState;
use crate::error::{AppError, AppResult};

/// How often an idle connection is pinged (WebSocket) or sent a comment
/// (SSE), so proxies keep it open and dead peers are found.
fn heartbeat(state: &AppState) -> Duration {
    Duration::from_secs(state.config.streaming_heartbeat_secs)
}

/// A client that cannot take a message in this long is gone.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/streaming/health", get(health))
        .route("/api/v1/streaming", get(websocket))
        .route("/api/v1/streaming/{*stream}", get(sse))
}

async fn health() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain")], "OK")
}

#[derive(Debug, Deserialize, Default)]
pub struct StreamQuery {
    stream: Option<String>,
    tag: Option<String>,
    list: Option<String>,
    access_token: Option<String>,
    #[serde(default, deserialize_with = "crate::api::extract::lenient_bool")]
    only_media: Option<bool>,
}

/// The token from the Authorization header, the `access_token` parameter or
/// the `Sec-WebSocket-Protocol` header, in that order, as Mastodon reads it.
fn secret(parts_headers: &HeaderMap, bearer: Option<String>, q: &StreamQuery) -> Option<String> {
    bearer
        .or_else(|| q.access_token.clone().filter(|t| !t.is_empty()))
        .or_else(|| {
            parts_headers
                .get(header::SEC_WEBSOCKET_PROTOCOL)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.split(',').next().unwrap_or("").trim().to_string())
                .filter(|t| !t.is_empty())
        })
}

/// Who is streaming; every stream needs a signed-in user.
struct StreamAuth {
    auth: Auth,
    query: StreamQuery,
    /// The token came as the WebSocket subprotocol and must be echoed.
    protocol: Option<String>,
}

impl FromRequestParts<AppState> for StreamAuth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> AppResult<Self> {
        let Query(query) = Query::<StreamQuery>::from_request_parts(parts, state)
            .await
            .map_err(|e| AppError::BadRequest(e.body_text()))?;
        let from_header = bearer(parts);
        let secret = secret(&parts.headers, from_header.clone(), &query)
            .ok_or_else(|| AppError::Unauthorized("Missing access token".into()))?;
        let protocol =
            (from_header.is_none() && query.access_token.is_none()).then(|| secret.clone());
        let auth = auth_with_secret(state, &secret).await?;
        let scopes = auth.token.scopes();
        if !["read:statuses", "read:notifications"]
            .iter()
            .any(|s| scopes.allows(s))
        {
            return Err(AppError::Unauthorized(
                "Access token does not have the required scopes".into(),
            ));
        }
        Ok(StreamAuth {
            auth,
            query,
            protocol,
        })
    }
}

/// Checks that the token may read `sub`, and that a list is the user's.
async fn allowed(state: &AppState, auth: &Auth, sub: &Sub) -> AppResult<()> {
    if !auth.token.scopes().allows(sub.scope()) {
        return Err(AppError::Unauthorized(
            "Access token does not have the required scopes".into(),
        ));
    }
    if let Sub::List(id) = sub {
        let (owner, id) = (auth.account.id, *id);
        state
            .db
            .run(move |c| crate::domain::lists::owned(c, owner, id))
            .await
            .map_err(|_| AppError::Unauthorized("Not authorized to stream this list".into()))?;
    }
    Ok(())
}

async fn register(state: &AppState, auth: &Auth) -> AppResult<Registration> {
    let notifications = auth.token.scopes().allows("read:notifications");
    Hub::register(state, auth.account.id, auth.token.id, notifications).await
}

/// Mastodon's WebSocket message: the payload is itself JSON text.
fn ws_text(e: &Event) -> String {
    let mut v = json!({ "stream": e.stream, "event": e.event });
    if let Some(p) = &e.payload {
        v["payload"] = json!(p.as_ref());
    }
    v.to_string()
}

async fn websocket(
    State(state): State<AppState>,
    sa: StreamAuth,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> AppResult<Response> {
    let ws = ws.map_err(|e| {
        AppError::BadRequest(format!(
            "A WebSocket upgrade is required here: {}",
            e.body_text()
        ))
    })?;
    let first = match &sa.query.stream {
        Some(name) => {
            let sub = Sub::parse(
                name,
                sa.query.tag.as_deref(),
                sa.query.list.as_deref(),
                sa.query.only_media.unwrap_or(false),
            )
            .map_err(AppError::BadRequest)?;
            allowed(&state, &sa.auth, &sub).await?;
            Some(sub)
        }
        None => None,
    };
    let reg = register(&state, &sa.auth).await?;
    if let Some(sub) = first {
        reg.subscribe(sub);
    }
    let ws = match &sa.protocol {
        Some(p) => ws.protocols([p.clone()]),
        None => ws,
    };
    let auth = sa.auth;
    // tungstenite's default buffers (128 KiB each way) would cost ~140 KiB
    // per idle connection; events are small and flushed one by one.
    Ok(ws
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_message_size(64 * 1024)
        .on_upgrade(move |socket| serve_socket(state, auth, reg, socket)))
}

#[derive(Debug, Deserialize)]
struct ClientMessage {
    #[serde(rename = "type")]
    kind: String,
    stream: String,
    tag: Option<String>,
    list: Option<String>,
}

async fn send(socket: &mut WebSocket, m: Message) -> bool {
    matches!(
        tokio::time::timeout(SEND_TIMEOUT, socket.send(m)).await,
        Ok(Ok(()))
    )
}

fn error_text(msg: &str, status: StatusCode) -> Message {
    Message::Text(Utf8Bytes::from(
        json!({ "error": msg, "status": status.as_u16() }).to_string(),
    ))
}

async fn serve_socket(state: AppState, auth: Auth, mut reg: Registration, mut socket: WebSocket) {
    let mut beat = tokio::time::interval(heartbeat(&state));
    beat.tick().await;
    let mut beats: u32 = 0;
    loop {
        tokio::select! {
            event = reg.rx.recv() => {
                // None: the hub dropped us for falling behind.
                let Some(event) = event else { break };
                if !send(&mut socket, Message::Text(Utf8Bytes::from(ws_text(&event)))).await {
                    break;
                }
            }
            msg = socket.recv() => {
                let text = match msg {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => continue,
                };
                if let Some(reply) = handle_message(&state, &auth, &reg, text.as_str()).await
                    && !send(&mut socket, reply).await
                {
                    break;
                }
            }
            _ = beat.tick() => {
                if !send(&mut socket, Message::Ping(Default::default())).await {
                    break;
                }
                // Every fourth beat, whether the token still works: a
                // revocation another process made (a CLI on SQLite) sends no
                // signal here.
                beats += 1;
                if beats % 4 == 0 && !still_valid(&state, &auth).await {
                    break;
                }
            }
        }
    }
}

async fn still_valid(state: &AppState, auth: &Auth) -> bool {
    use crate::db::schema::{oauth_tokens, users};
    use diesel::prelude::*;
    let (token, user) = (auth.token.id, auth.user.id);
    state
        .db
        .run(move |c| {
            let live: i64 = oauth_tokens::table
                .filter(oauth_tokens::id.eq(token))
                .filter(oauth_tokens::revoked_at.is_null())
                .count()
                .get_result(c)?;
            let disabled: bool = users::table.find(user).select(users::disabled).first(c)?;
            Ok::<_, AppError>(live == 1 && !disabled)
        })
        .await
        // A database hiccup does not end a connection.
        .unwrap_or(true)
}

/// Applies a subscribe/unsubscribe message; answers only with an error.
async fn handle_message(
    state: &AppState,
    auth: &Auth,
    reg: &Registration,
    text: &str,
) -> Option<Message> {
    let Ok(m) = serde_json::from_str::<ClientMessage>(text) else {
        return Some(error_text("Invalid message", StatusCode::BAD_REQUEST));
    };
    let sub = match Sub::parse(&m.stream, m.tag.as_deref(), m.list.as_deref(), false) {
        Ok(s) => s,
        Err(e) => return Some(error_text(&e, StatusCode::BAD_REQUEST)),
    };
    match m.kind.as_str() {
        "subscribe" => match allowed(state, auth, &sub).await {
            Ok(()) => {
                reg.subscribe(sub);
                None
            }
            Err(e) => Some(error_text(&e.to_string(), e.status())),
        },
        "unsubscribe" => {
            reg.unsubscribe(&sub);
            None
        }
        _ => Some(error_text("Unknown message type", StatusCode::BAD_REQUEST)),
    }
}

async fn sse(
    State(state): State<AppState>,
    Path(stream): Path<String>,
    sa: StreamAuth,
) -> AppResult<Sse<impl Stream<Item = Result<axum::response::sse::Event, Infallible>>>> {
    let name = stream.trim_end_matches('/').replace('/', ":");
    let sub = Sub::parse(
        &name,
        sa.query.tag.as_deref(),
        sa.query.list.as_deref(),
        sa.query.only_media.unwrap_or(false),
    )
    .map_err(|e| {
        if e == "Unknown stream type" {
            AppError::not_found()
        } else {
            AppError::BadRequest(e)
        }
    })?;
    allowed(&state, &sa.auth, &sub).await?;
    let reg = register(&state, &sa.auth).await?;
    reg.subscribe(sub);
    let events = futures::stream::unfold(reg, |mut reg| async move {
        let e = reg.rx.recv().await?;
        let mut out = axum::response::sse::Event::default().event(e.event);
        out = match &e.payload {
            Some(p) => out.data(p.as_ref()),
            None => out.data("undefined"),
        };
        Some((Ok(out), reg))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(heartbeat(&state)).text("thump")))
}
