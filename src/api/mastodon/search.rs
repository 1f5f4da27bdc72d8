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
    resolve: Option<bool>,
    limit: Option<i64>,
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
    let q = p.q.unwrap_or_default().trim().to_string();
    let limit = p.limit.unwrap_or(20).clamp(1, 40);
    let want = |k: &str| p.kind.as_deref().is_none_or(|t| t == k);
    // Only signed-in users may make the server fetch from elsewhere.
    let resolve = p.resolve.unwrap_or(false) && auth.0.is_some();
    let mut found_accounts: Vec<Account> = Vec::new();
    let mut found_statuses: Vec<Status> = Vec::new();
    let is_url = q.starts_with("https://") || q.starts_with("http://");
    let looks_like_handle = q.trim_start_matches('@').contains('@');
    if resolve
        && want("accounts")
        && (looks_like_handle || is_url)
        && let Ok(a) = resolve_account(&data, &q).await
    {
        found_accounts.push(a);
    }
    if resolve
        && want("statuses")
        && is_url
        && found_accounts.is_empty()
        && let Ok(url) = url::Url::parse(&q)
        && let Ok(n) = ObjectId::<ApubNote>::from(url).dereference(&data).await
    {
        found_statuses.push(n.status);
    }
    let viewer = auth.viewer().cloned();
    let ctx = ctx(&state);
    let tag_prefix = q.trim_start_matches('#').to_lowercase();
    let name_prefix = q
        .trim_start_matches('@')
        .split('@')
        .next()
        .unwrap_or("")
        .to_lowercase();
    let (want_accounts, want_tags) = (want("accounts"), want("hashtags"));
    let out = state
        .db
        .run(move |c| {
            if want_accounts && found_accounts.is_empty() && !name_prefix.is_empty() {
                found_accounts = accounts::table
                    .filter(crate::db::lower(accounts::username).like(format!("{}%", name_prefix.replace(['%', '_'], ""))))
                    .filter(accounts::suspended_at.is_null())
                    .filter(accounts::actor_type.ne("Application"))
                    .order(accounts::id.asc())
                    .limit(limit)
                    .select(Account::as_select())
                    .load(c)?;
            }
            let mut statuses_json = Vec::new();
            for s in &found_statuses {
                if can_view(c, viewer.as_ref(), s)? {
                    statuses_json.push(entities::status(c, &ctx, s, viewer.as_ref().map(|v| v.id))?);
                }
            }
            let mut tags: Vec<String> = Vec::new();
            if want_tags && !tag_prefix.is_empty() {
                tags = status_tags::table
                    .filter(status_tags::tag.like(format!("{}%", tag_prefix.replace(['%', '_'], ""))))
                    .select(status_tags::tag)
                    .distinct()
                    .limit(limit)
                    .load(c)?;
            }
            let accounts_json = found_accounts
                .iter()
                .map(|a| entities::account(c, &ctx, a))
                .collect::<QueryResult<Vec<_>>>()?;
            Ok::<_, AppError>(json!({
                "accounts": accounts_json,
                "statuses": statuses_json,
                "hashtags": tags.iter().map(|t| json!({ "name": t, "url": format!("{}/tags/{t}", ctx.base), "history": [] })).collect::<Vec<_>>(),
            }))
        })
        .await?;
    Ok(Json(out))
}
