//! `/api/v1/lists`: a user's lists, their members and timelines.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use diesel::prelude::*;
use serde::Deserialize;
use serde_json::{Value, json};

use super::accounts::{find_account, page_from, parse_bool};
use super::{ctx, entities, link_header, parse_id};
use crate::api::extract::{Auth, Params};
use crate::app::AppState;
use crate::db::models::Account;
use crate::db::schema::{accounts, list_accounts};
use crate::domain::lists::{self, ListChange};
use crate::domain::timelines;
use crate::error::{AppError, AppResult};

fn change_from(p: &HashMap<String, Value>) -> ListChange {
    let s = |k: &str| p.get(k).and_then(Value::as_str).map(str::to_string);
    ListChange {
        title: s("title"),
        replies_policy: s("replies_policy"),
        exclusive: p.get("exclusive").and_then(parse_bool),
    }
}

pub async fn index(State(state): State<AppState>, auth: Auth) -> AppResult<Json<Value>> {
    auth.require("read:lists")?;
    let me = auth.account.id;
    let all = state
        .db
        .run(move |c| Ok::<_, AppError>(lists::all(c, me)?))
        .await?;
    Ok(Json(Value::Array(all.iter().map(entities::list).collect())))
}

pub async fn show(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    auth.require("read:lists")?;
    let (me, id) = (auth.account.id, parse_id(&id)?);
    let l = state.db.run(move |c| lists::owned(c, me, id)).await?;
    Ok(Json(entities::list(&l)))
}

pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    Params(p): Params<HashMap<String, Value>>,
) -> AppResult<Json<Value>> {
    auth.require("write:lists")?;
    let me = auth.account.id;
    let change = change_from(&p);
    let l = state
        .db
        .transaction(move |c| lists::create(c, me, change))
        .await?;
    Ok(Json(entities::list(&l)))
}

pub async fn update(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Params(p): Params<HashMap<String, Value>>,
) -> AppResult<Json<Value>> {
    auth.require("write:lists")?;
    let (me, id) = (auth.account.id, parse_id(&id)?);
    let change = change_from(&p);
    let l = state
        .db
        .transaction(move |c| lists::update(c, me, id, change))
        .await?;
    Ok(Json(entities::list(&l)))
}

pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    auth.require("write:lists")?;
    let (me, id) = (auth.account.id, parse_id(&id)?);
    state
        .db
        .transaction(move |c| lists::delete(c, me, id))
        .await?;
    Ok(Json(json!({})))
}

#[derive(Debug, Deserialize, Default)]
pub struct MembersQuery {
    max_id: Option<String>,
    since_id: Option<String>,
    limit: Option<i64>,
}

/// Members of a list, paged by account id; `limit=0` means all of them.
pub async fn members(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Params(q): Params<MembersQuery>,
) -> AppResult<(HeaderMap, Json<Value>)> {
    auth.require("read:lists")?;
    let (me, id) = (auth.account.id, parse_id(&id)?);
    let ctx = ctx(&state);
    let p = |s: &Option<String>| s.as_deref().and_then(|x| x.parse::<i64>().ok());
    let (max_id, since_id) = (p(&q.max_id), p(&q.since_id));
    let limit = match q.limit {
        Some(0) => None,
        l => Some(l.unwrap_or(40).clamp(1, 80)),
    };
    let (ids, items) = state
        .db
        .run(move |c| {
            let list = lists::owned(c, me, id)?;
            let mut query = list_accounts::table
                .inner_join(accounts::table)
                .filter(list_accounts::list_id.eq(list.id))
                .into_boxed();
            if let Some(m) = max_id {
                query = query.filter(accounts::id.lt(m));
            }
            if let Some(s) = since_id {
                query = query.filter(accounts::id.gt(s));
            }
            if let Some(l) = limit {
                query = query.limit(l);
            }
            let rows: Vec<Account> = query
                .order(accounts::id.desc())
                .select(Account::as_select())
                .load(c)?;
            let ids: Vec<i64> = rows.iter().map(|a| a.id).collect();
            let items = rows
                .iter()
                .map(|a| entities::account(c, &ctx, a))
                .collect::<QueryResult<Vec<_>>>()?;
            Ok::<_, AppError>((ids, items))
        })
        .await?;
    let headers = if limit.is_some() {
        link_header(&state, &format!("/api/v1/lists/{id}/accounts"), "", &ids)
    } else {
        HeaderMap::new()
    };
    Ok((headers, Json(Value::Array(items))))
}

#[derive(Debug, Deserialize, Default)]
pub struct MemberIds {
    #[serde(default, alias = "account_ids[]")]
    account_ids: Vec<String>,
}

fn account_ids(p: &MemberIds) -> AppResult<Vec<i64>> {
    if p.account_ids.is_empty() {
        return Err(AppError::Unprocessable("account_ids is missing".into()));
    }
    p.account_ids.iter().map(|s| parse_id(s)).collect()
}

pub async fn add_members(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Params(p): Params<MemberIds>,
) -> AppResult<Json<Value>> {
    auth.require("write:lists")?;
    let (me, id, ids) = (auth.account.id, parse_id(&id)?, account_ids(&p)?);
    state
        .db
        .transaction(move |c| lists::add_members(c, me, id, &ids))
        .await?;
    Ok(Json(json!({})))
}

pub async fn remove_members(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Params(p): Params<MemberIds>,
) -> AppResult<Json<Value>> {
    auth.require("write:lists")?;
    let (me, id, ids) = (auth.account.id, parse_id(&id)?, account_ids(&p)?);
    state
        .db
        .transaction(move |c| lists::remove_members(c, me, id, &ids))
        .await?;
    Ok(Json(json!({})))
}

#[derive(Debug, Deserialize, Default)]
pub struct TimelineQuery {
    max_id: Option<String>,
    since_id: Option<String>,
    min_id: Option<String>,
    limit: Option<i64>,
}

pub async fn timeline(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Params(q): Params<TimelineQuery>,
) -> AppResult<(HeaderMap, Json<Value>)> {
    auth.require("read:lists")?;
    let id = parse_id(&id)?;
    let page = page_from(&q.max_id, &q.since_id, &q.min_id, q.limit);
    let viewer = auth.account.clone();
    let ctx = ctx(&state);
    let (ids, items) = state
        .db
        .run(move |c| {
            let list = lists::owned(c, viewer.id, id)?;
            let rows = timelines::list(c, &viewer, &list, page)?;
            let ids: Vec<i64> = rows.iter().map(|s| s.id).collect();
            let items = entities::statuses(c, &ctx, &rows, Some(viewer.id))?;
            Ok::<_, AppError>((ids, items))
        })
        .await?;
    Ok((
        link_header(&state, &format!("/api/v1/timelines/list/{id}"), "", &ids),
        Json(Value::Array(items)),
    ))
}

/// `GET /api/v1/accounts/:id/lists`: the caller's lists holding the account.
pub async fn of_account(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    auth.require("read:lists")?;
    let target = find_account(&state, &id).await?;
    let me = auth.account.id;
    let found = state
        .db
        .run(move |c| Ok::<_, AppError>(lists::containing(c, me, target.id)?))
        .await?;
    Ok(Json(Value::Array(
        found.iter().map(entities::list).collect(),
    )))
}
