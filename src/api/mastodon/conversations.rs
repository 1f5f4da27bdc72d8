//! `/api/v1/conversations`: direct-message threads, as Mastodon lists them.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde_json::{Value, json};

use super::groups::PageQuery;
use super::{ctx, entities, link_header, parse_id};
use crate::api::extract::{Auth, Params};
use crate::app::AppState;
use crate::domain::conversations;
use crate::error::{AppError, AppResult};

/// `GET /api/v1/conversations`: newest post first, paged by its id.
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Params(q): Params<PageQuery>,
) -> AppResult<(HeaderMap, Json<Value>)> {
    auth.require("read:statuses")?;
    let me = auth.account.id;
    let p = |s: &Option<String>| s.as_deref().and_then(|x| x.parse::<i64>().ok());
    let (max_id, since_id, min_id) = (p(&q.max_id), p(&q.since_id), p(&q.min_id));
    let limit = q.limit.unwrap_or(20).clamp(1, 40);
    let ctx = ctx(&state);
    let (ids, items) = state
        .db
        .run(move |c| {
            let page = conversations::page(c, me, max_id, since_id, min_id, limit)?;
            let ids: Vec<i64> = page.iter().map(|x| x.last_status_id).collect();
            let items = entities::conversations(c, &ctx, &page, me)?;
            Ok::<_, AppError>((ids, items))
        })
        .await?;
    Ok((
        link_header(&state, "/api/v1/conversations", "", &ids),
        Json(Value::Array(items)),
    ))
}

/// `POST /api/v1/conversations/:id/read`.
pub async fn read(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    auth.require("write:conversations")?;
    let (me, cid) = (auth.account.id, parse_id(&id)?);
    let ctx = ctx(&state);
    let item = state
        .db
        .transaction(move |c| {
            let mut conv = conversations::find(c, me, cid)?.ok_or_else(AppError::not_found)?;
            conversations::mark_read(c, cid)?;
            conv.unread = false;
            Ok::<_, AppError>(
                entities::conversations(c, &ctx, &[conv], me)?
                    .pop()
                    .unwrap_or(Value::Null),
            )
        })
        .await?;
    Ok(Json(item))
}

/// `DELETE /api/v1/conversations/:id`: off the list (the posts stay).
pub async fn remove(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    auth.require("write:conversations")?;
    let (me, cid) = (auth.account.id, parse_id(&id)?);
    state
        .db
        .transaction(move |c| {
            if conversations::find(c, me, cid)?.is_none() {
                return Err(AppError::not_found());
            }
            conversations::remove(c, cid)?;
            Ok::<_, AppError>(())
        })
        .await?;
    Ok(Json(json!({})))
}
