//! `/api/v1/notifications`

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use diesel::prelude::*;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ctx, entities, link_header, parse_id};
use crate::api::extract::{Auth, Params};
use crate::app::AppState;
use crate::db::schema::notifications;
use crate::domain::notifications::Notification;
use crate::error::{AppError, AppResult};

#[derive(Debug, Deserialize, Default)]
pub struct ListQuery {
    max_id: Option<String>,
    since_id: Option<String>,
    min_id: Option<String>,
    limit: Option<i64>,
    #[serde(default, alias = "types[]")]
    types: Vec<String>,
    #[serde(default, alias = "exclude_types[]")]
    exclude_types: Vec<String>,
    account_id: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Params(q): Params<ListQuery>,
) -> AppResult<(HeaderMap, Json<Value>)> {
    auth.require("read:notifications")?;
    let me = auth.account.id;
    let p = |s: &Option<String>| s.as_deref().and_then(|x| x.parse::<i64>().ok());
    let (max_id, since_id, min_id) = (p(&q.max_id), p(&q.since_id), p(&q.min_id));
    let limit = q.limit.unwrap_or(40).clamp(1, 80);
    let from = match &q.account_id {
        Some(a) => Some(parse_id(a)?),
        None => None,
    };
    let ctx = ctx(&state);
    let (ids, items) = state
        .db
        .run(move |c| {
            let mut query = notifications::table
                .filter(notifications::account_id.eq(me))
                .into_boxed();
            if !q.types.is_empty() {
                query = query.filter(notifications::kind.eq_any(q.types.clone()));
            }
            if !q.exclude_types.is_empty() {
                query = query.filter(notifications::kind.ne_all(q.exclude_types.clone()));
            }
            if let Some(f) = from {
                query = query.filter(notifications::from_account_id.eq(f));
            }
            if let Some(m) = max_id {
                query = query.filter(notifications::id.lt(m));
            }
            if let Some(s) = since_id {
                query = query.filter(notifications::id.gt(s));
            }
            let rows: Vec<Notification> = if let Some(m) = min_id {
                let mut r: Vec<Notification> = query
                    .filter(notifications::id.gt(m))
                    .order(notifications::id.asc())
                    .limit(limit)
                    .select(Notification::as_select())
                    .load(c)?;
                r.reverse();
                r
            } else {
                query
                    .order(notifications::id.desc())
                    .limit(limit)
                    .select(Notification::as_select())
                    .load(c)?
            };
            let ids: Vec<i64> = rows.iter().map(|n| n.id).collect();
            let items = rows
                .iter()
                .map(|n| entities::notification(c, &ctx, n, me))
                .collect::<AppResult<Vec<_>>>()?;
            Ok::<_, AppError>((ids, items))
        })
        .await?;
    Ok((
        link_header(&state, "/api/v1/notifications", "", &ids),
        Json(Value::Array(items)),
    ))
}

async fn own(state: &AppState, me: i64, id: &str) -> AppResult<Notification> {
    let id = parse_id(id)?;
    state
        .db
        .run(move |c| {
            notifications::table
                .find(id)
                .filter(notifications::account_id.eq(me))
                .select(Notification::as_select())
                .first(c)
                .optional()
                .map_err(AppError::from)
        })
        .await?
        .ok_or_else(AppError::not_found)
}

pub async fn show(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    auth.require("read:notifications")?;
    let me = auth.account.id;
    let n = own(&state, me, &id).await?;
    let ctx = ctx(&state);
    Ok(Json(
        state
            .db
            .run(move |c| entities::notification(c, &ctx, &n, me))
            .await?,
    ))
}

pub async fn dismiss(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    auth.require("write:notifications")?;
    let n = own(&state, auth.account.id, &id).await?;
    state
        .db
        .transaction(move |c| {
            diesel::delete(notifications::table.find(n.id)).execute(c)?;
            Ok::<_, AppError>(())
        })
        .await?;
    Ok(Json(json!({})))
}

pub async fn clear(State(state): State<AppState>, auth: Auth) -> AppResult<Json<Value>> {
    auth.require("write:notifications")?;
    let me = auth.account.id;
    state
        .db
        .transaction(move |c| {
            diesel::delete(notifications::table.filter(notifications::account_id.eq(me)))
                .execute(c)?;
            Ok::<_, AppError>(())
        })
        .await?;
    Ok(Json(json!({})))
}
