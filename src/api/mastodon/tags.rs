//! Hashtags: featured tags on profiles (`/api/v1/featured_tags`,
//! `/api/v1/accounts/:id/featured_tags`, `/api/v1/tags/:name/feature`) and
//! the Tag entity (`GET /api/v1/tags/:name`).

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::{Value, json};

use super::accounts::find_account;
use super::{entities, link_header, parse_id};
use crate::api::extract::{Auth, MaybeAuth, Params};
use crate::app::AppState;
use crate::db::DbConn;
use crate::db::models::Account;
use crate::domain::tags::{self, FeaturedTag};
use crate::error::{AppError, AppResult};

fn featured_json(base: &str, owner: &Account, t: &FeaturedTag) -> Value {
    json!({
        "id": t.id.to_string(),
        "name": t.display_name,
        "url": format!("{base}/@{}/tagged/{}", entities::acct(owner), t.name),
        // Mastodon sends the count as a string.
        "statuses_count": t.statuses_count.to_string(),
        "last_status_at": t.last_status_at.map(|d| d.format("%Y-%m-%d").to_string()),
    })
}

/// The Tag entity: `history` as strings, as Mastodon; `id` is empty for a
/// name nobody used or followed (as Mastodon).
pub fn tag_json(c: &mut DbConn, base: &str, name: &str, viewer: Option<i64>) -> AppResult<Value> {
    let (name, _) = tags::parse_name(name).map_err(|_| AppError::not_found())?;
    let history = tags::history_json(&tags::history(c, &name)?);
    tag_json_with(c, base, &name, history, viewer)
}

/// [`tag_json`] with a `history` already at hand (the trends keep theirs).
pub fn tag_json_with(
    c: &mut DbConn,
    base: &str,
    name: &str,
    history: Value,
    viewer: Option<i64>,
) -> AppResult<Value> {
    let id = tags::id_of(c, name)?
        .map(|i| i.to_string())
        .unwrap_or_default();
    let mut v = json!({
        "id": id,
        "name": name,
        "url": format!("{base}/tags/{name}"),
        "history": history,
    });
    if let Some(me) = viewer {
        v["following"] = json!(tags::is_following(c, me, name)?);
        v["featuring"] = json!(tags::is_featured(c, me, name)?);
    }
    Ok(v)
}

/// `GET /api/v1/featured_tags`
pub async fn mine(State(state): State<AppState>, auth: Auth) -> AppResult<Json<Value>> {
    auth.require("read:accounts")?;
    let base = state.base_url();
    let me = auth.account.clone();
    let list = state
        .db
        .run(move |c| Ok::<_, AppError>(tags::featured(c, me.id)?))
        .await?;
    Ok(Json(Value::Array(
        list.iter()
            .map(|t| featured_json(&base, &auth.account, t))
            .collect(),
    )))
}

/// `POST /api/v1/featured_tags` (`name`)
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    Params(p): Params<HashMap<String, Value>>,
) -> AppResult<Json<Value>> {
    auth.require("write:accounts")?;
    let name = p
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let base = state.base_url();
    let me = auth.account.clone();
    let b = base.clone();
    let t = state
        .db
        .transaction(move |c| tags::feature(c, &me, &name, false, &b))
        .await?;
    state.delivery_wake.notify_one();
    Ok(Json(featured_json(&base, &auth.account, &t)))
}

/// `DELETE /api/v1/featured_tags/:id`
pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    auth.require("write:accounts")?;
    let id = parse_id(&id)?;
    let base = state.base_url();
    let me = auth.account.clone();
    state
        .db
        .transaction(move |c| tags::unfeature_id(c, &me, id, &base))
        .await?;
    state.delivery_wake.notify_one();
    Ok(Json(json!({})))
}

/// `GET /api/v1/featured_tags/suggestions`: Tag entities.
pub async fn suggestions(State(state): State<AppState>, auth: Auth) -> AppResult<Json<Value>> {
    auth.require("read:accounts")?;
    let base = state.base_url();
    let me = auth.account.id;
    let out = state
        .db
        .run(move |c| {
            let names = tags::suggestions(c, me)?;
            names
                .iter()
                .map(|n| tag_json(c, &base, n, Some(me)))
                .collect::<AppResult<Vec<_>>>()
        })
        .await?;
    Ok(Json(Value::Array(out)))
}

/// `GET /api/v1/accounts/:id/featured_tags`
pub async fn of_account(
    State(state): State<AppState>,
    auth: MaybeAuth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    if let Some(a) = &auth.0 {
        a.require("read:accounts")?;
    }
    let account = find_account(&state, &id).await?;
    let base = state.base_url();
    let owner = account.id;
    let list = state
        .db
        .run(move |c| Ok::<_, AppError>(tags::featured(c, owner)?))
        .await?;
    Ok(Json(Value::Array(
        list.iter()
            .map(|t| featured_json(&base, &account, t))
            .collect(),
    )))
}

/// `GET /api/v1/tags/:name`
pub async fn show(
    State(state): State<AppState>,
    auth: MaybeAuth,
    Path(name): Path<String>,
) -> AppResult<Json<Value>> {
    let base = state.base_url();
    let viewer = auth.viewer().map(|v| v.id);
    let v = state
        .db
        .run(move |c| tag_json(c, &base, &name, viewer))
        .await?;
    Ok(Json(v))
}

/// `POST /api/v1/tags/:name/feature`: idempotent, answers the Tag.
pub async fn feature(
    State(state): State<AppState>,
    auth: Auth,
    Path(name): Path<String>,
) -> AppResult<Json<Value>> {
    auth.require("write:accounts")?;
    let base = state.base_url();
    let me = auth.account.clone();
    let v = state
        .db
        .transaction(move |c| {
            tags::feature(c, &me, &name, true, &base)?;
            tag_json(c, &base, &name, Some(me.id))
        })
        .await?;
    state.delivery_wake.notify_one();
    Ok(Json(v))
}

/// `POST /api/v1/tags/:name/unfeature`
pub async fn unfeature(
    State(state): State<AppState>,
    auth: Auth,
    Path(name): Path<String>,
) -> AppResult<Json<Value>> {
    auth.require("write:accounts")?;
    let base = state.base_url();
    let me = auth.account.clone();
    let v = state
        .db
        .transaction(move |c| {
            tags::unfeature_name(c, &me, &name, &base)?;
            tag_json(c, &base, &name, Some(me.id))
        })
        .await?;
    state.delivery_wake.notify_one();
    Ok(Json(v))
}

/// `POST /api/v1/tags/:name/follow`: idempotent, answers the Tag.
pub async fn follow(
    State(state): State<AppState>,
    auth: Auth,
    Path(name): Path<String>,
) -> AppResult<Json<Value>> {
    auth.require("write:follows")?;
    let base = state.base_url();
    let me = auth.account.id;
    let v = state
        .db
        .transaction(move |c| {
            let name = tags::follow(c, me, &name)?;
            tag_json(c, &base, &name, Some(me))
        })
        .await?;
    Ok(Json(v))
}

/// `POST /api/v1/tags/:name/unfollow`
pub async fn unfollow(
    State(state): State<AppState>,
    auth: Auth,
    Path(name): Path<String>,
) -> AppResult<Json<Value>> {
    auth.require("write:follows")?;
    let base = state.base_url();
    let me = auth.account.id;
    let v = state
        .db
        .transaction(move |c| {
            let name = tags::unfollow(c, me, &name)?;
            tag_json(c, &base, &name, Some(me))
        })
        .await?;
    Ok(Json(v))
}

#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    max_id: Option<String>,
    since_id: Option<String>,
    min_id: Option<String>,
    limit: Option<i64>,
}

/// `GET /api/v1/followed_tags`: newest follow first, Link paging by the
/// follow (as Mastodon: default 100, at most 200).
pub async fn followed(
    State(state): State<AppState>,
    auth: Auth,
    Params(q): Params<PageQuery>,
) -> AppResult<(HeaderMap, Json<Value>)> {
    auth.require("read:follows")?;
    let p = |s: &Option<String>| s.as_deref().and_then(|x| x.parse::<i64>().ok());
    let page = crate::domain::timelines::Page::new(
        p(&q.max_id),
        p(&q.since_id),
        p(&q.min_id),
        q.limit,
        100,
        200,
    );
    let base = state.base_url();
    let me = auth.account.id;
    let (ids, out) = state
        .db
        .run(move |c| {
            let rows = tags::followed_page(c, me, page)?;
            let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
            let out = rows
                .iter()
                .map(|(_, n)| tag_json(c, &base, n, Some(me)))
                .collect::<AppResult<Vec<_>>>()?;
            Ok::<_, AppError>((ids, out))
        })
        .await?;
    Ok((
        link_header(&state, "/api/v1/followed_tags", "", &ids),
        Json(Value::Array(out)),
    ))
}
