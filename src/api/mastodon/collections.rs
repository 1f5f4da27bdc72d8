//! Account lists (followers, following, blocks, favourited_by, …) and the
//! start-up endpoints apps call whose features hold nothing yet.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use diesel::prelude::*;
use serde::Deserialize;
use serde_json::{Value, json};

use super::accounts::find_account;
use super::statuses::visible_status;
use super::{ctx, entities, link_header};
use crate::api::extract::{Auth, MaybeAuth, Params};
use crate::app::AppState;
use crate::db::DbConn;
use crate::db::models::{Account, Status};
use crate::db::schema::{accounts, blocks, favourites, follows, statuses};
use crate::error::{AppError, AppResult};

#[derive(Debug, Deserialize, Default)]
pub struct PageQuery {
    max_id: Option<String>,
    since_id: Option<String>,
    limit: Option<i64>,
}

impl PageQuery {
    fn bounds(&self) -> (Option<i64>, Option<i64>, i64) {
        let p = |s: &Option<String>| s.as_deref().and_then(|x| x.parse::<i64>().ok());
        (
            p(&self.max_id),
            p(&self.since_id),
            self.limit.unwrap_or(40).clamp(1, 80),
        )
    }
}

/// Accounts paged by the id of the row that links them (follow, block, …).
async fn account_page<F>(
    state: &AppState,
    path: &str,
    q: PageQuery,
    load: F,
) -> AppResult<(HeaderMap, Json<Value>)>
where
    F: FnOnce(&mut DbConn, Option<i64>, Option<i64>, i64) -> QueryResult<Vec<(i64, Account)>>
        + Send
        + 'static,
{
    let (max_id, since_id, limit) = q.bounds();
    let ctx = ctx(state);
    let (ids, items) = state
        .db
        .run(move |c| {
            let rows = load(c, max_id, since_id, limit)?;
            let ids: Vec<i64> = rows.iter().map(|(id, _)| *id).collect();
            let items = rows
                .iter()
                .map(|(_, a)| entities::account(c, &ctx, a))
                .collect::<QueryResult<Vec<_>>>()?;
            Ok::<_, AppError>((ids, items))
        })
        .await?;
    Ok((
        link_header(state, path, "", &ids),
        Json(Value::Array(items)),
    ))
}

pub async fn followers(
    State(state): State<AppState>,
    _auth: MaybeAuth,
    Path(id): Path<String>,
    Params(q): Params<PageQuery>,
) -> AppResult<(HeaderMap, Json<Value>)> {
    let target = find_account(&state, &id).await?;
    let path = format!("/api/v1/accounts/{}/followers", target.id);
    account_page(&state, &path, q, move |c, max_id, since_id, limit| {
        let mut query = follows::table
            .inner_join(accounts::table.on(accounts::id.eq(follows::account_id)))
            .filter(follows::target_account_id.eq(target.id))
            .filter(follows::pending.eq(false))
            .into_boxed();
        if let Some(m) = max_id {
            query = query.filter(follows::id.lt(m));
        }
        if let Some(s) = since_id {
            query = query.filter(follows::id.gt(s));
        }
        query
            .order(follows::id.desc())
            .limit(limit)
            .select((follows::id, Account::as_select()))
            .load(c)
    })
    .await
}

pub async fn following(
    State(state): State<AppState>,
    _auth: MaybeAuth,
    Path(id): Path<String>,
    Params(q): Params<PageQuery>,
) -> AppResult<(HeaderMap, Json<Value>)> {
    let source = find_account(&state, &id).await?;
    let path = format!("/api/v1/accounts/{}/following", source.id);
    account_page(&state, &path, q, move |c, max_id, since_id, limit| {
        let mut query = follows::table
            .inner_join(accounts::table.on(accounts::id.eq(follows::target_account_id)))
            .filter(follows::account_id.eq(source.id))
            .filter(follows::pending.eq(false))
            .into_boxed();
        if let Some(m) = max_id {
            query = query.filter(follows::id.lt(m));
        }
        if let Some(s) = since_id {
            query = query.filter(follows::id.gt(s));
        }
        query
            .order(follows::id.desc())
            .limit(limit)
            .select((follows::id, Account::as_select()))
            .load(c)
    })
    .await
}

pub async fn blocks_list(
    State(state): State<AppState>,
    auth: Auth,
    Params(q): Params<PageQuery>,
) -> AppResult<(HeaderMap, Json<Value>)> {
    auth.require("read:blocks")?;
    let me = auth.account.id;
    account_page(
        &state,
        "/api/v1/blocks",
        q,
        move |c, max_id, since_id, limit| {
            let mut query = blocks::table
                .inner_join(accounts::table.on(accounts::id.eq(blocks::target_account_id)))
                .filter(blocks::account_id.eq(me))
                .into_boxed();
            if let Some(m) = max_id {
                query = query.filter(blocks::id.lt(m));
            }
            if let Some(s) = since_id {
                query = query.filter(blocks::id.gt(s));
            }
            query
                .order(blocks::id.desc())
                .limit(limit)
                .select((blocks::id, Account::as_select()))
                .load(c)
        },
    )
    .await
}

/// Muted accounts, each with `mute_expires_at`.
pub async fn mutes_list(
    State(state): State<AppState>,
    auth: Auth,
    Params(q): Params<PageQuery>,
) -> AppResult<(HeaderMap, Json<Value>)> {
    use crate::db::schema::mutes;
    auth.require("read:mutes")?;
    let me = auth.account.id;
    let (max_id, since_id, limit) = q.bounds();
    let ctx = ctx(&state);
    let (ids, items) = state
        .db
        .run(move |c| {
            let mut query = mutes::table
                .inner_join(accounts::table.on(accounts::id.eq(mutes::target_account_id)))
                .filter(mutes::account_id.eq(me))
                .filter(
                    mutes::expires_at
                        .is_null()
                        .or(mutes::expires_at.gt(crate::db::now())),
                )
                .into_boxed();
            if let Some(m) = max_id {
                query = query.filter(mutes::id.lt(m));
            }
            if let Some(s) = since_id {
                query = query.filter(mutes::id.gt(s));
            }
            let rows: Vec<(i64, Option<chrono::NaiveDateTime>, Account)> = query
                .order(mutes::id.desc())
                .limit(limit)
                .select((mutes::id, mutes::expires_at, Account::as_select()))
                .load(c)?;
            let mut ids = Vec::new();
            let mut items = Vec::new();
            for (id, expires, a) in rows {
                let mut v = entities::account(c, &ctx, &a)?;
                v["mute_expires_at"] = json!(expires.map(entities::iso));
                ids.push(id);
                items.push(v);
            }
            Ok::<_, AppError>((ids, items))
        })
        .await?;
    Ok((
        link_header(&state, "/api/v1/mutes", "", &ids),
        Json(Value::Array(items)),
    ))
}

pub async fn favourited_by(
    State(state): State<AppState>,
    auth: MaybeAuth,
    Path(id): Path<String>,
    Params(q): Params<PageQuery>,
) -> AppResult<(HeaderMap, Json<Value>)> {
    let s = visible_status(&state, auth.viewer(), &id).await?;
    let path = format!("/api/v1/statuses/{}/favourited_by", s.id);
    account_page(&state, &path, q, move |c, max_id, since_id, limit| {
        let mut query = favourites::table
            .inner_join(accounts::table.on(accounts::id.eq(favourites::account_id)))
            .filter(favourites::status_id.eq(s.id))
            .into_boxed();
        if let Some(m) = max_id {
            query = query.filter(favourites::id.lt(m));
        }
        if let Some(x) = since_id {
            query = query.filter(favourites::id.gt(x));
        }
        query
            .order(favourites::id.desc())
            .limit(limit)
            .select((favourites::id, Account::as_select()))
            .load(c)
    })
    .await
}

pub async fn reblogged_by(
    State(state): State<AppState>,
    auth: MaybeAuth,
    Path(id): Path<String>,
    Params(q): Params<PageQuery>,
) -> AppResult<(HeaderMap, Json<Value>)> {
    let s = visible_status(&state, auth.viewer(), &id).await?;
    let path = format!("/api/v1/statuses/{}/reblogged_by", s.id);
    account_page(&state, &path, q, move |c, max_id, since_id, limit| {
        let mut query = statuses::table
            .inner_join(accounts::table.on(accounts::id.eq(statuses::account_id)))
            .filter(statuses::reblog_of_id.eq(s.id))
            .into_boxed();
        if let Some(m) = max_id {
            query = query.filter(statuses::id.lt(m));
        }
        if let Some(x) = since_id {
            query = query.filter(statuses::id.gt(x));
        }
        query
            .order(statuses::id.desc())
            .limit(limit)
            .select((statuses::id, Account::as_select()))
            .load(c)
    })
    .await
}

/// The caller's saved posts (favourites, bookmarks), paged by the id of
/// the row that saved them; posts it may no longer see are left out, and
/// the page is rendered in one batch.
async fn saved_page<F>(
    state: &AppState,
    auth: &Auth,
    path: &str,
    q: PageQuery,
    load: F,
) -> AppResult<(HeaderMap, Json<Value>)>
where
    F: FnOnce(&mut DbConn, Option<i64>, Option<i64>, i64) -> QueryResult<Vec<(i64, Status)>>
        + Send
        + 'static,
{
    let viewer = auth.account.clone();
    let (max_id, since_id, limit) = q.bounds();
    let ctx = ctx(state);
    let (ids, items) = state
        .db
        .run(move |c| {
            let mut ids = Vec::new();
            let mut visible = Vec::new();
            for (row_id, s) in load(c, max_id, since_id, limit)? {
                if crate::domain::timelines::can_view(c, Some(&viewer), &s)? {
                    ids.push(row_id);
                    visible.push(s);
                }
            }
            let items = entities::statuses(c, &ctx, &visible, Some(viewer.id))?;
            Ok::<_, AppError>((ids, items))
        })
        .await?;
    Ok((
        link_header(state, path, "", &ids),
        Json(Value::Array(items)),
    ))
}

/// The signed-in user's favourites, newest favourite first.
pub async fn favourites(
    State(state): State<AppState>,
    auth: Auth,
    Params(q): Params<PageQuery>,
) -> AppResult<(HeaderMap, Json<Value>)> {
    auth.require("read:favourites")?;
    let me = auth.account.id;
    saved_page(
        &state,
        &auth,
        "/api/v1/favourites",
        q,
        move |c, max_id, since_id, limit| {
            let mut query = favourites::table
                .inner_join(statuses::table)
                .filter(favourites::account_id.eq(me))
                .into_boxed();
            if let Some(m) = max_id {
                query = query.filter(favourites::id.lt(m));
            }
            if let Some(s) = since_id {
                query = query.filter(favourites::id.gt(s));
            }
            query
                .order(favourites::id.desc())
                .limit(limit)
                .select((favourites::id, Status::as_select()))
                .load(c)
        },
    )
    .await
}

/// `POST /api/v1/statuses/:id/bookmark` and `…/unbookmark`.
pub async fn set_bookmark(
    state: &AppState,
    auth: &Auth,
    id: &str,
    on: bool,
) -> AppResult<Json<Value>> {
    use crate::db::schema::bookmarks;
    auth.require("write:bookmarks")?;
    let s = visible_status(state, Some(&auth.account), id).await?;
    let (me, sid) = (auth.account.id, s.reblog_of_id.unwrap_or(s.id));
    state
        .db
        .transaction(move |c| {
            let existing: Option<i64> = bookmarks::table
                .filter(bookmarks::account_id.eq(me))
                .filter(bookmarks::status_id.eq(sid))
                .select(bookmarks::id)
                .first(c)
                .optional()?;
            match (on, existing) {
                (true, None) => {
                    diesel::insert_into(bookmarks::table)
                        .values((
                            bookmarks::id.eq(crate::db::id::next_id()),
                            bookmarks::account_id.eq(me),
                            bookmarks::status_id.eq(sid),
                            bookmarks::created_at.eq(crate::db::now()),
                        ))
                        .execute(c)?;
                }
                (false, Some(bid)) => {
                    diesel::delete(bookmarks::table.find(bid)).execute(c)?;
                }
                _ => {}
            }
            Ok::<_, AppError>(())
        })
        .await?;
    let ctx = ctx(state);
    let status = state
        .db
        .run(move |c| {
            let s = Status::by_id(c, sid)?;
            entities::status(c, &ctx, &s, Some(me))
        })
        .await?;
    Ok(Json(status))
}

pub async fn bookmark(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    set_bookmark(&state, &auth, &id, true).await
}

pub async fn unbookmark(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    set_bookmark(&state, &auth, &id, false).await
}

/// The signed-in user's bookmarks, newest bookmark first.
pub async fn bookmarks(
    State(state): State<AppState>,
    auth: Auth,
    Params(q): Params<PageQuery>,
) -> AppResult<(HeaderMap, Json<Value>)> {
    use crate::db::schema::bookmarks;
    auth.require("read:bookmarks")?;
    let me = auth.account.id;
    saved_page(
        &state,
        &auth,
        "/api/v1/bookmarks",
        q,
        move |c, max_id, since_id, limit| {
            let mut query = bookmarks::table
                .inner_join(statuses::table)
                .filter(bookmarks::account_id.eq(me))
                .into_boxed();
            if let Some(m) = max_id {
                query = query.filter(bookmarks::id.lt(m));
            }
            if let Some(s) = since_id {
                query = query.filter(bookmarks::id.gt(s));
            }
            query
                .order(bookmarks::id.desc())
                .limit(limit)
                .select((bookmarks::id, Status::as_select()))
                .load(c)
        },
    )
    .await
}

/// Endpoints apps call on start-up for features that hold nothing here yet:
/// the correct answer is an empty collection, not a 404.
pub async fn empty_list(_auth: MaybeAuth) -> Json<Value> {
    Json(json!([]))
}

pub async fn preferences(auth: Auth) -> AppResult<Json<Value>> {
    auth.require("read:accounts")?;
    Ok(Json(json!({
        "posting:default:visibility": "public",
        "posting:default:sensitive": false,
        "posting:default:language": auth.user.locale,
        "reading:expand:media": "default",
        "reading:expand:spoilers": false,
    })))
}

/// Domains this instance has seen (Mastodon lists known peers).
pub async fn peers(State(state): State<AppState>) -> AppResult<Json<Value>> {
    let domains: Vec<Option<String>> = state
        .db
        .run(|c| {
            accounts::table
                .filter(accounts::domain.is_not_null())
                .select(accounts::domain)
                .distinct()
                .order(accounts::domain.asc())
                .load(c)
                .map_err(AppError::from)
        })
        .await?;
    Ok(Json(json!(
        domains.into_iter().flatten().collect::<Vec<_>>()
    )))
}
