//! `/api/v1/accounts/…` and `/api/v1/follow_requests`.

use activitypub_federation::config::Data;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use diesel::prelude::*;
use serde::Deserialize;
use std::collections::HashMap;

use serde_json::{Value, json};

use super::{ctx, entities, link_header, parse_id};
use crate::api::extract::{AnyToken, Auth, MaybeAuth, Params};
use crate::app::AppState;
use crate::db::models::Account;
use crate::db::schema::{accounts, follows};
use crate::domain::timelines::{self, Page};
use crate::domain::{blocks, follows as follow_rules, mutes, oauth, registrations};
use crate::error::{AppError, AppResult};

pub async fn find_account(state: &AppState, id: &str) -> AppResult<Account> {
    let id = parse_id(id)?;
    state
        .db
        .run(move |c| Account::by_id(c, id).optional().map_err(AppError::from))
        .await?
        .filter(|a| a.suspended_at.is_none() && a.actor_type != "Application")
        .ok_or_else(AppError::not_found)
}

async fn render_account(state: &AppState, a: Account) -> AppResult<Json<Value>> {
    let ctx = ctx(state);
    Ok(Json(
        state
            .db
            .run(move |c| entities::account(c, &ctx, &a).map_err(AppError::from))
            .await?,
    ))
}

pub async fn verify_credentials(
    State(state): State<AppState>,
    auth: Auth,
) -> AppResult<Json<Value>> {
    auth.require("read:accounts")?;
    let ctx = ctx(&state);
    let (a, u) = (auth.account, auth.user);
    Ok(Json(
        state
            .db
            .run(move |c| entities::credential_account(c, &ctx, &a, &u).map_err(AppError::from))
            .await?,
    ))
}

pub async fn show(
    State(state): State<AppState>,
    _auth: MaybeAuth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    let a = find_account(&state, &id).await?;
    render_account(&state, a).await
}

#[derive(Debug, Deserialize)]
pub struct LookupQuery {
    acct: Option<String>,
}

/// Finds a known account by `user` or `user@domain` (no network lookup).
pub async fn lookup(
    State(state): State<AppState>,
    _auth: MaybeAuth,
    Params(q): Params<LookupQuery>,
) -> AppResult<Json<Value>> {
    let acct = q.acct.unwrap_or_default();
    let acct = acct.trim().trim_start_matches('@').to_string();
    let own = state.config.domain.to_ascii_lowercase();
    let found = state
        .db
        .run(move |c| {
            let (user, host) = match acct.split_once('@') {
                Some((u, h)) if h.to_ascii_lowercase() != own => {
                    (u.to_string(), Some(h.to_ascii_lowercase()))
                }
                Some((u, _)) => (u.to_string(), None),
                None => (acct.clone(), None),
            };
            let q = accounts::table
                .filter(crate::db::lower(accounts::username).eq(user.to_lowercase()))
                .select(Account::as_select())
                .into_boxed();
            let q = match host {
                Some(h) => q.filter(accounts::domain.eq(h)),
                None => q.filter(accounts::domain.is_null()),
            };
            q.first(c).optional().map_err(AppError::from)
        })
        .await?
        .filter(|a| a.suspended_at.is_none() && a.actor_type != "Application")
        .ok_or_else(AppError::not_found)?;
    render_account(&state, found).await
}

#[derive(Debug, Deserialize)]
pub struct RelQuery {
    #[serde(default, alias = "id[]")]
    id: Vec<String>,
}

pub async fn relationships(
    State(state): State<AppState>,
    auth: Auth,
    Params(q): Params<RelQuery>,
) -> AppResult<Json<Value>> {
    auth.require("read:follows")?;
    let ids: Vec<i64> = q.id.iter().filter_map(|i| i.parse().ok()).collect();
    let viewer = auth.account.id;
    let rels = state
        .db
        .run(move |c| {
            let mut out = Vec::new();
            for id in ids {
                if Account::by_id(c, id).optional()?.is_some() {
                    out.push(entities::relationship(c, viewer, id)?);
                }
            }
            Ok::<_, AppError>(out)
        })
        .await?;
    Ok(Json(Value::Array(rels)))
}

#[derive(Debug, Deserialize, Default)]
pub struct StatusesQuery {
    max_id: Option<String>,
    since_id: Option<String>,
    min_id: Option<String>,
    limit: Option<i64>,
    #[serde(default, deserialize_with = "crate::api::extract::lenient_bool")]
    exclude_replies: Option<bool>,
    #[serde(default, deserialize_with = "crate::api::extract::lenient_bool")]
    exclude_reblogs: Option<bool>,
    #[serde(default, deserialize_with = "crate::api::extract::lenient_bool")]
    pinned: Option<bool>,
    #[serde(default, deserialize_with = "crate::api::extract::lenient_bool")]
    only_media: Option<bool>,
    tagged: Option<String>,
}

pub fn page_from(
    max_id: &Option<String>,
    since_id: &Option<String>,
    min_id: &Option<String>,
    limit: Option<i64>,
) -> Page {
    let p = |s: &Option<String>| s.as_deref().and_then(|x| x.parse::<i64>().ok());
    Page::new(p(max_id), p(since_id), p(min_id), limit, 20, 40)
}

pub async fn statuses(
    State(state): State<AppState>,
    auth: MaybeAuth,
    Path(id): Path<String>,
    Params(q): Params<StatusesQuery>,
) -> AppResult<(HeaderMap, Json<Value>)> {
    let account = find_account(&state, &id).await?;
    let page = page_from(&q.max_id, &q.since_id, &q.min_id, q.limit);
    let viewer = auth.viewer().cloned();
    let ctx = ctx(&state);
    let path = format!("/api/v1/accounts/{}/statuses", account.id);
    let (ids, items) = state
        .db
        .run(move |c| {
            let rows = if q.pinned == Some(true) {
                // Pinned posts come in one page, most recently pinned first.
                if page.max_id.is_some() || page.min_id.is_some() || page.since_id.is_some() {
                    Vec::new()
                } else {
                    let mut visible = Vec::new();
                    for s in crate::domain::pins::pinned(c, account.id)? {
                        if timelines::can_view(c, viewer.as_ref(), &s)? {
                            visible.push(s);
                        }
                    }
                    visible
                }
            } else {
                timelines::account_statuses(
                    c,
                    viewer.as_ref(),
                    &account,
                    timelines::AccountFilter {
                        exclude_replies: q.exclude_replies.unwrap_or(false),
                        exclude_reblogs: q.exclude_reblogs.unwrap_or(false),
                        tagged: q.tagged.as_deref().filter(|t| !t.is_empty()),
                        only_media: q.only_media == Some(true),
                    },
                    page,
                )?
            };
            let ids: Vec<i64> = rows.iter().map(|s| s.id).collect();
            let items = entities::statuses(c, &ctx, &rows, viewer.as_ref().map(|v| v.id))?;
            Ok::<_, AppError>((ids, items))
        })
        .await?;
    Ok((
        link_header(&state, &path, "", &ids),
        Json(Value::Array(items)),
    ))
}

async fn relationship(state: &AppState, viewer: i64, target: i64) -> AppResult<Json<Value>> {
    Ok(Json(
        state
            .db
            .run(move |c| entities::relationship(c, viewer, target).map_err(AppError::from))
            .await?,
    ))
}

/// Checks the scope, finds the target, applies `op`, answers the relationship.
async fn act_on_account<F, Fut>(
    state: &AppState,
    auth: &Auth,
    id: &str,
    scope: &str,
    op: F,
) -> AppResult<Json<Value>>
where
    F: FnOnce(Account) -> Fut,
    Fut: std::future::Future<Output = AppResult<()>>,
{
    auth.require(scope)?;
    let target = find_account(state, id).await?;
    let target_id = target.id;
    op(target).await?;
    relationship(state, auth.account.id, target_id).await
}

pub async fn follow(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Params(p): Params<HashMap<String, Value>>,
) -> AppResult<Json<Value>> {
    let (st, me) = (&state, &auth.account);
    let options = follow_rules::FollowOptions {
        reblogs: p.get("reblogs").and_then(parse_bool),
        notify: p.get("notify").and_then(parse_bool),
    };
    act_on_account(&state, &auth, &id, "write:follows", |t| async move {
        follow_rules::follow_with(st, me, &t, options)
            .await
            .map(|_| ())
    })
    .await
}

/// `POST /api/v1/accounts/:id/remove_from_followers`
pub async fn remove_from_followers(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    let (st, me) = (&state, &auth.account);
    act_on_account(&state, &auth, &id, "write:follows", |f| async move {
        follow_rules::remove_follower(st, me, &f).await
    })
    .await
}

pub async fn mute(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Params(p): Params<HashMap<String, Value>>,
) -> AppResult<Json<Value>> {
    let hide = p.get("notifications").and_then(parse_bool).unwrap_or(true);
    let duration = p.get("duration").and_then(|v| match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    });
    let (st, me) = (&state, auth.account.id);
    act_on_account(&state, &auth, &id, "write:mutes", |t| async move {
        st.db
            .transaction(move |c| mutes::mute(c, me, t.id, hide, duration))
            .await
    })
    .await
}

pub async fn unmute(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    let (st, me) = (&state, auth.account.id);
    act_on_account(&state, &auth, &id, "write:mutes", |t| async move {
        st.db
            .transaction(move |c| Ok(mutes::unmute(c, me, t.id).map(|_| ())?))
            .await
    })
    .await
}

#[derive(Debug, Deserialize)]
pub struct FamiliarQuery {
    #[serde(default, alias = "id[]")]
    id: Vec<String>,
}

/// Accounts the caller follows that also follow each given account.
pub async fn familiar_followers(
    State(state): State<AppState>,
    auth: Auth,
    Params(q): Params<FamiliarQuery>,
) -> AppResult<Json<Value>> {
    auth.require("read:follows")?;
    let ids: Vec<i64> = q.id.iter().filter_map(|i| i.parse().ok()).collect();
    let me = auth.account.id;
    let ctx = ctx(&state);
    let out = state
        .db
        .run(move |c| {
            let mine: Vec<i64> = follows::table
                .filter(follows::account_id.eq(me))
                .filter(follows::pending.eq(false))
                .select(follows::target_account_id)
                .load(c)?;
            let mut out = Vec::new();
            for id in ids {
                let known: Vec<Account> = follows::table
                    .inner_join(accounts::table.on(accounts::id.eq(follows::account_id)))
                    .filter(follows::target_account_id.eq(id))
                    .filter(follows::pending.eq(false))
                    .filter(follows::account_id.eq_any(&mine))
                    .order(follows::id.desc())
                    .limit(40)
                    .select(Account::as_select())
                    .load(c)?;
                let accounts = known
                    .iter()
                    .map(|a| entities::account(c, &ctx, a))
                    .collect::<QueryResult<Vec<_>>>()?;
                out.push(json!({ "id": id.to_string(), "accounts": accounts }));
            }
            Ok::<_, AppError>(out)
        })
        .await?;
    Ok(Json(Value::Array(out)))
}

pub async fn unfollow(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    let (st, me) = (&state, &auth.account);
    act_on_account(&state, &auth, &id, "write:follows", |t| async move {
        follow_rules::unfollow(st, me, &t).await.map(|_| ())
    })
    .await
}

pub async fn block(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    let (st, me) = (&state, &auth.account);
    act_on_account(&state, &auth, &id, "write:blocks", |t| async move {
        blocks::block(st, me, &t).await
    })
    .await
}

pub async fn unblock(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    let (st, me) = (&state, &auth.account);
    act_on_account(&state, &auth, &id, "write:blocks", |t| async move {
        blocks::unblock(st, me, &t).await
    })
    .await
}

/// Pending requests to follow the caller, and to join the groups it
/// moderates (so stock apps can approve members).
pub async fn follow_requests(State(state): State<AppState>, auth: Auth) -> AppResult<Json<Value>> {
    auth.require("read:follows")?;
    let me = auth.account.id;
    let ctx = ctx(&state);
    let list = state
        .db
        .run(move |c| {
            let mut targets = crate::domain::groups::moderated_by(c, me)?;
            targets.push(me);
            let rows: Vec<Account> = follows::table
                .inner_join(accounts::table.on(accounts::id.eq(follows::account_id)))
                .filter(follows::target_account_id.eq_any(targets))
                .filter(follows::pending.eq(true))
                .order(follows::id.desc())
                .limit(80)
                .select(Account::as_select())
                .load(c)?;
            rows.iter()
                .map(|a| entities::account(c, &ctx, a))
                .collect::<QueryResult<Vec<_>>>()
                .map_err(AppError::from)
        })
        .await?;
    Ok(Json(Value::Array(list)))
}

/// A request to the caller itself, or else to join a group it moderates.
async fn answer_request(
    data: &Data<AppState>,
    auth: &Auth,
    id: &str,
    accept: bool,
) -> AppResult<Json<Value>> {
    let (st, me) = (&**data, &auth.account);
    act_on_account(data, auth, id, "write:follows", |r| async move {
        let (mid, rid) = (me.id, r.id);
        let own = st
            .db
            .run(move |c| Ok::<_, AppError>(crate::db::models::Follow::find(c, rid, mid)?))
            .await?
            .is_some_and(|f| f.pending);
        let group = if own {
            None
        } else {
            st.db
                .run(move |c| {
                    Ok::<_, AppError>(crate::domain::groups::pending_request_for(c, mid, rid)?)
                })
                .await?
        };
        match (group, accept) {
            (Some(gid), _) => {
                crate::domain::groups::answer_request(data, me, gid, r.id, accept).await
            }
            (None, true) => follow_rules::authorize_follow_request(st, me, &r).await,
            (None, false) => follow_rules::reject_follow_request(st, me, &r).await,
        }
    })
    .await
}

pub async fn authorize_request(
    data: Data<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    answer_request(&data, &auth, &id, true).await
}

pub async fn reject_request(
    data: Data<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    answer_request(&data, &auth, &id, false).await
}

pub fn parse_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => Some(matches!(s.as_str(), "true" | "1" | "on")),
        Value::Number(n) => Some(n.as_i64() == Some(1)),
        _ => None,
    }
}

/// `fields_attributes` as JSON (object or list) or as form keys
/// `fields_attributes[0][name]`.
fn profile_fields(p: &HashMap<String, Value>) -> Option<Vec<(String, String)>> {
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("").to_string();
    if let Some(v) = p.get("fields_attributes") {
        let items: Vec<&Value> = match v {
            Value::Array(a) => a.iter().collect(),
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort_by_key(|k| k.parse::<usize>().unwrap_or(usize::MAX));
                keys.into_iter().map(|k| &m[k]).collect()
            }
            _ => Vec::new(),
        };
        return Some(
            items
                .into_iter()
                .map(|i| (text(i.get("name")), text(i.get("value"))))
                .collect(),
        );
    }
    let mut indexed: std::collections::BTreeMap<usize, (String, String)> = Default::default();
    for (k, v) in p {
        let Some(rest) = k.strip_prefix("fields_attributes[") else {
            continue;
        };
        let Some((idx, attr)) = rest.split_once("][") else {
            continue;
        };
        let Ok(idx) = idx.parse::<usize>() else {
            continue;
        };
        let entry = indexed.entry(idx).or_default();
        match attr.trim_end_matches(']') {
            "name" => entry.0 = text(Some(v)),
            "value" => entry.1 = text(Some(v)),
            _ => {}
        }
    }
    (!indexed.is_empty()).then(|| indexed.into_values().collect())
}

/// `PATCH /api/v1/accounts/update_credentials`
pub async fn update_credentials(
    State(state): State<AppState>,
    auth: Auth,
    super::media::WithFiles(p, mut files): super::media::WithFiles<HashMap<String, Value>>,
) -> AppResult<Json<Value>> {
    auth.require("write:accounts")?;
    let (avatar_url, header_url) =
        super::media::profile_images(&state, &auth.account, &mut files).await?;
    let s = |k: &str| p.get(k).and_then(Value::as_str).map(str::to_string);
    let change = crate::domain::accounts::ProfileChange {
        display_name: s("display_name"),
        note: s("note"),
        locked: p.get("locked").and_then(parse_bool),
        discoverable: p.get("discoverable").and_then(parse_bool),
        indexable: p.get("indexable").and_then(parse_bool),
        bot: p.get("bot").and_then(parse_bool),
        fields: profile_fields(&p),
        avatar_url,
        header_url,
        editor: crate::org::profile::Editor::User,
    };
    let account = crate::domain::accounts::update_profile(&state, &auth.account, change).await?;
    let ctx = ctx(&state);
    let user = auth.user;
    Ok(Json(
        state
            .db
            .run(move |c| {
                entities::credential_account(c, &ctx, &account, &user).map_err(AppError::from)
            })
            .await?,
    ))
}

/// `POST /api/v1/accounts`: sign-up from an app, with the app's token.
/// Answers with a user token (usable at once unless approval is pending).
pub async fn register(
    State(state): State<AppState>,
    AnyToken(app_token): AnyToken,
    Params(p): Params<HashMap<String, Value>>,
) -> AppResult<Json<Value>> {
    if !app_token.scopes().allows("write:accounts") {
        return Err(AppError::Forbidden(
            "This action is outside the authorized scopes".into(),
        ));
    }
    let s = |k: &str| p.get(k).and_then(Value::as_str).map(str::to_string);
    let required = |k: &str| {
        s(k).filter(|v| !v.is_empty()).ok_or_else(|| {
            AppError::Unprocessable(format!("Validation failed: {k} can't be blank"))
        })
    };
    let sign_up = registrations::SignUp {
        username: required("username")?,
        email: required("email")?,
        password: required("password")?,
        agreement: p.get("agreement").and_then(parse_bool).unwrap_or(false),
        locale: s("locale"),
        reason: s("reason"),
        invite_code: s("invite_code"),
    };
    let (user, _) = registrations::sign_up(&state, sign_up).await?;
    let scopes = app_token.scopes();
    let (secret, token) =
        oauth::issue_token(&state.db, app_token.application_id, Some(user.id), scopes).await?;
    Ok(Json(json!({
        "access_token": secret,
        "token_type": "Bearer",
        "scope": token.scopes,
        "created_at": token.created_at.and_utc().timestamp(),
    })))
}
