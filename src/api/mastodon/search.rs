//! `GET /api/v2/search`: accounts (with `resolve=true` through WebFinger,
//! within the partner policy), statuses by URL, and hashtags.

use activitypub_federation::config::Data;
use activitypub_federation::fetch::object_id::ObjectId;
use axum::Json;
use axum::extract::State;
use diesel::prelude::*;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ctx, entities};
use crate::api::extract::{MaybeAuth, Params};
use crate::app::AppState;
use crate::db::models::{Account, Status};
use crate::db::schema::{accounts, status_tags};
use crate::domain::timelines::can_view;
use crate::error::{AppError, AppResult};
use crate::federation::objects::ApubNote;
use crate::federation::resolve::resolve_account;

#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    q: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "crate::api::extract::lenient_bool")]
    resolve: Option<bool>,
    limit: Option<i64>,
    offset: Option<i64>,
    #[serde(default, deserialize_with = "crate::api::extract::lenient_bool")]
    following: Option<bool>,
    account_id: Option<String>,
}

/// Accounts matching `q`: a remote one looked up through WebFinger when
/// `resolve` is asked by a signed-in user, else known accounts whose
/// username starts with (or display name contains) the text.
async fn find_accounts(
    state: &AppState,
    data: &Data<AppState>,
    viewer: Option<&Account>,
    q: &str,
    p: &SearchQuery,
    default_limit: i64,
) -> AppResult<Vec<Account>> {
    let limit = p.limit.unwrap_or(default_limit).clamp(1, 80);
    let offset = p.offset.unwrap_or(0).clamp(0, 10_000);
    let resolve = p.resolve.unwrap_or(false) && viewer.is_some();
    let is_url = q.starts_with("https://") || q.starts_with("http://");
    let handle = q.trim_start_matches('@');
    if resolve
        && (handle.contains('@') || is_url)
        && let Ok(a) = resolve_account(data, q).await
    {
        return Ok(vec![a]);
    }
    if is_url {
        return Ok(Vec::new());
    }
    let (name, host) = match handle.split_once('@') {
        Some((n, h)) => (n.to_lowercase(), Some(h.to_lowercase())),
        None => (handle.to_lowercase(), None),
    };
    if crate::domain::search::name_words(&name).is_empty() {
        return Ok(Vec::new());
    }
    let own = state.config.domain.to_lowercase();
    let viewer_id = viewer.map(|v| v.id);
    let expert_q = q.to_string();
    let following_only = p
        .following
        .unwrap_or(false)
        .then(|| viewer.map(|v| v.id))
        .flatten();
    state
        .db
        .run(move |c| {
            // Words of the username or display name that start with the
            // query's words, from the name index.
            let named = crate::domain::search::accounts_named(c, &name, 2000)?;
            let mut query = accounts::table
                .filter(accounts::id.eq_any(named))
                .filter(accounts::suspended_at.is_null())
                .filter(accounts::actor_type.ne("Application"))
                .select(Account::as_select())
                .into_boxed();
            // People who opted out of discovery are found by their exact
            // handle (to mention or follow them) and by who follows them,
            // never by a part of their name.
            {
                use crate::db::schema::follows;
                let exact = crate::db::lower(accounts::username).eq(name.clone());
                query = match viewer_id {
                    Some(me) => query.filter(
                        accounts::discoverable
                            .eq(true)
                            .or(exact)
                            .or(accounts::id.eq(me))
                            .or(accounts::id.eq_any(
                                follows::table
                                    .filter(follows::account_id.eq(me))
                                    .select(follows::target_account_id),
                            )),
                    ),
                    None => query.filter(accounts::discoverable.eq(true).or(exact)),
                };
            }
            match host {
                Some(h) if h == own => query = query.filter(accounts::domain.is_null()),
                Some(h) => {
                    query = query
                        .filter(accounts::domain.like(format!("{}%", h.replace(['%', '_'], ""))))
                }
                None => {}
            }
            if let Some(me) = following_only {
                use crate::db::schema::follows;
                let followed: Vec<i64> = follows::table
                    .filter(follows::account_id.eq(me))
                    .filter(follows::pending.eq(false))
                    .select(follows::target_account_id)
                    .load(c)?;
                query = query.filter(accounts::id.eq_any(followed));
            }
            // Local accounts first, then by name; then people who know
            // about the words, best first (not when only followed accounts
            // are asked for).
            let wanted = (offset + limit) as usize;
            let mut found: Vec<Account> = query
                .order((accounts::domain.is_not_null(), accounts::username.asc()))
                .limit(offset + limit)
                .load(c)?;
            if found.len() < wanted && following_only.is_none() {
                let experts = crate::org::expertise::find(
                    c,
                    viewer_id,
                    &own,
                    &crate::org::expertise::ExpertQuery {
                        q: Some(expert_q),
                        limit: Some(wanted as i64),
                        ..Default::default()
                    },
                )?;
                for e in experts {
                    if !found.iter().any(|a| a.id == e.account.id) {
                        found.push(e.account);
                    }
                }
            }
            Ok::<_, AppError>(
                found
                    .into_iter()
                    .skip(offset as usize)
                    .take(limit as usize)
                    .collect(),
            )
        })
        .await
}

/// `GET /api/v1/accounts/search`
pub async fn accounts(
    State(state): State<AppState>,
    data: Data<AppState>,
    auth: MaybeAuth,
    Params(p): Params<SearchQuery>,
) -> AppResult<Json<Value>> {
    if let Some(a) = &auth.0 {
        a.require("read:accounts")?;
    }
    let q = p.q.clone().unwrap_or_default().trim().to_string();
    let found = find_accounts(&state, &data, auth.viewer(), &q, &p, 40).await?;
    let ctx = ctx(&state);
    let out = state
        .db
        .run(move |c| {
            Ok::<_, AppError>(
                found
                    .iter()
                    .map(|a| entities::account(c, &ctx, a))
                    .collect::<QueryResult<Vec<_>>>()?,
            )
        })
        .await?;
    Ok(Json(Value::Array(out)))
}

pub async fn search(
    State(state): State<AppState>,
    data: Data<AppState>,
    auth: MaybeAuth,
    Params(p): Params<SearchQuery>,
) -> AppResult<Json<Value>> {
    if let Some(a) = &auth.0 {
        a.require("read:search")?;
    }
    let q = p.q.clone().unwrap_or_default().trim().to_string();
    let limit = p.limit.unwrap_or(20).clamp(1, 40);
    let want = |k: &str| p.kind.as_deref().is_none_or(|t| t == k);
    // Only signed-in users may make the server fetch from elsewhere.
    let resolve = p.resolve.unwrap_or(false) && auth.0.is_some();
    let mut found_accounts: Vec<Account> = Vec::new();
    let mut found_statuses: Vec<Status> = Vec::new();
    let is_url = q.starts_with("https://") || q.starts_with("http://");
    if want("accounts") {
        found_accounts = find_accounts(&state, &data, auth.viewer(), &q, &p, 20).await?;
    }
    if resolve
        && want("statuses")
        && is_url
        && !found_accounts
            .iter()
            .any(|a| a.uri == q || a.url.as_deref() == Some(&q))
        && let Ok(url) = url::Url::parse(&q)
        && let Ok(n) = ObjectId::<ApubNote>::from(url).dereference(&data).await
    {
        found_statuses.push(n.status);
    }
    // Full text, for signed-in users (as Mastodon): what they may see.
    if want("statuses")
        && found_statuses.is_empty()
        && !is_url
        && !q.is_empty()
        && let Some(viewer) = auth.viewer().cloned()
    {
        let own = state.config.domain.clone();
        let (text, offset) = (q.clone(), p.offset.unwrap_or(0));
        let account = match p.account_id.as_deref() {
            Some(id) => Some(super::parse_id(id)?),
            None => None,
        };
        found_statuses = state
            .db
            .run(move |c| {
                crate::domain::search::statuses(c, &viewer, &own, &text, account, limit, offset)
            })
            .await?;
    }
    let viewer = auth.viewer().cloned();
    let ctx = ctx(&state);
    let tag_prefix = q.trim_start_matches('#').to_lowercase();
    let want_tags = want("hashtags");
    let out = state
        .db
        .run(move |c| {
            let mut statuses_json = Vec::new();
            for s in &found_statuses {
                if can_view(c, viewer.as_ref(), s)? {
                    statuses_json.push(entities::status(
                        c,
                        &ctx,
                        s,
                        viewer.as_ref().map(|v| v.id),
                    )?);
                }
            }
            let mut tags: Vec<String> = Vec::new();
            if want_tags && !tag_prefix.is_empty() {
                tags = status_tags::table
                    .filter(
                        status_tags::tag.like(format!("{}%", tag_prefix.replace(['%', '_'], ""))),
                    )
                    .select(status_tags::tag)
                    .distinct()
                    .limit(limit)
                    .load(c)?;
            }
            let mut hashtags = Vec::new();
            for t in tags
                .iter()
                .filter(|t| crate::domain::tags::parse_name(t).is_ok())
            {
                hashtags.push(super::tags::tag_json(
                    c,
                    &ctx.base,
                    t,
                    viewer.as_ref().map(|v| v.id),
                )?);
            }
            let accounts_json = found_accounts
                .iter()
                .map(|a| entities::account(c, &ctx, a))
                .collect::<QueryResult<Vec<_>>>()?;
            Ok::<_, AppError>(json!({
                "accounts": accounts_json,
                "statuses": statuses_json,
                "hashtags": hashtags,
            }))
        })
        .await?;
    Ok(Json(out))
}
