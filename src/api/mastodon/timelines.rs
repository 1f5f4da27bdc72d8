//! `/api/v1/timelines/home` and `/public`.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::Value;

use super::accounts::page_from;
use super::{ctx, entities, link_header};
use crate::api::extract::{Auth, MaybeAuth, Params};
use crate::app::AppState;
use crate::db::models::Status;
use crate::domain::timelines;
use crate::error::{AppError, AppResult};

#[derive(Debug, Deserialize, Default)]
pub struct TimelineQuery {
    max_id: Option<String>,
    since_id: Option<String>,
    min_id: Option<String>,
    limit: Option<i64>,
    #[serde(default, deserialize_with = "crate::api::extract::lenient_bool")]
    local: Option<bool>,
    #[serde(default, deserialize_with = "crate::api::extract::lenient_bool")]
    remote: Option<bool>,
}

async fn render_page(
    state: &AppState,
    rows: Vec<Status>,
    viewer: Option<i64>,
    path: &str,
    extra: &str,
) -> AppResult<(HeaderMap, Json<Value>)> {
    let ids: Vec<i64> = rows.iter().map(|s| s.id).collect();
    let ctx = ctx(state);
    let items = state
        .db
        .run(move |c| entities::statuses(c, &ctx, &rows, viewer))
        .await?;
    Ok((
        link_header(state, path, extra, &ids),
        Json(Value::Array(items)),
    ))
}

pub async fn home(
    State(state): State<AppState>,
    auth: Auth,
    Params(q): Params<TimelineQuery>,
) -> AppResult<(HeaderMap, Json<Value>)> {
    auth.require("read:statuses")?;
    let page = page_from(&q.max_id, &q.since_id, &q.min_id, q.limit);
    let viewer = auth.account.clone();
    let rows = state
        .db
        .run(move |c| timelines::home(c, &viewer, page).map_err(AppError::from))
        .await?;
    render_page(
        &state,
        rows,
        Some(auth.account.id),
        "/api/v1/timelines/home",
        "",
    )
    .await
}

pub async fn public(
    State(state): State<AppState>,
    auth: MaybeAuth,
    Params(q): Params<TimelineQuery>,
) -> AppResult<(HeaderMap, Json<Value>)> {
    let page = page_from(&q.max_id, &q.since_id, &q.min_id, q.limit);
    let (local, remote) = (q.local.unwrap_or(false), q.remote.unwrap_or(false));
    let viewer = auth.viewer().cloned();
    let rows = state
        .db
        .run(move |c| {
            timelines::public(c, viewer.as_ref(), local, remote, page).map_err(AppError::from)
        })
        .await?;
    let extra = match (local, remote) {
        (true, _) => "local=true",
        (_, true) => "remote=true",
        _ => "",
    };
    render_page(
        &state,
        rows,
        auth.viewer().map(|v| v.id),
        "/api/v1/timelines/public",
        extra,
    )
    .await
}

pub async fn tag(
    State(state): State<AppState>,
    auth: MaybeAuth,
    axum::extract::Path(tag): axum::extract::Path<String>,
    Params(q): Params<TimelineQuery>,
) -> AppResult<(HeaderMap, Json<Value>)> {
    let page = page_from(&q.max_id, &q.since_id, &q.min_id, q.limit);
    let local = q.local.unwrap_or(false);
    let viewer = auth.viewer().cloned();
    let t = tag.clone();
    let rows = state
        .db
        .run(move |c| timelines::tag(c, viewer.as_ref(), &t, local, page).map_err(AppError::from))
        .await?;
    let path = format!("/api/v1/timelines/tag/{tag}");
    render_page(
        &state,
        rows,
        auth.viewer().map(|v| v.id),
        &path,
        if local { "local=true" } else { "" },
    )
    .await
}
