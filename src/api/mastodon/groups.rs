//! `/api/v1/groups…`: Meetfield's group extension. A group's id is its
//! account id, so Mastodon's account endpoints (follow = join) work on it.

use std::collections::HashMap;

use activitypub_federation::config::Data;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use diesel::prelude::*;
use serde::Deserialize;
use serde_json::{Value, json};

use super::accounts::{page_from, parse_bool};
use super::{ctx, entities, link_header, parse_id};
use crate::api::extract::{Auth, MaybeAuth, Params};
use crate::app::AppState;
use crate::db::models::Account;
use crate::db::schema::{accounts, follows};
use crate::domain::group_invites;
use crate::domain::groups::{self, GroupChange, NewGroup};
use crate::domain::timelines;
use crate::error::{AppError, AppResult};

async fn render(state: &AppState, group_id: i64, viewer: Option<i64>) -> AppResult<Json<Value>> {
    let ctx = ctx(state);
    Ok(Json(
        state
            .db
            .run(move |c| {
                let g = groups::find(c, group_id)?;
                entities::group(c, &ctx, &g, viewer)
            })
            .await?,
    ))
}

fn text(p: &HashMap<String, Value>, k: &str) -> Option<String> {
    p.get(k).and_then(Value::as_str).map(str::to_string)
}

/// `POST /api/v1/groups`; `invite_account_ids[]` invites people at once
/// (a team from a "who knows X?" answer in one call).
#[derive(Debug, Default, Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    note: String,
    #[serde(default, deserialize_with = "crate::api::extract::lenient_bool")]
    closed: Option<bool>,
    #[serde(default, deserialize_with = "crate::api::extract::lenient_bool")]
    discoverable: Option<bool>,
    #[serde(default, deserialize_with = "crate::api::extract::lenient_bool")]
    announcement_only: Option<bool>,
    #[serde(default, alias = "invite_account_ids[]")]
    invite_account_ids: Vec<String>,
}

pub async fn create(
    data: Data<AppState>,
    auth: Auth,
    Params(p): Params<CreateForm>,
) -> AppResult<Json<Value>> {
    auth.require("write:accounts")?;
    if data.config.group_creation == crate::config::GroupCreation::Admins
        && !matches!(
            auth.user.role(),
            crate::db::models::Role::Admin | crate::db::models::Role::Owner
        )
    {
        return Err(AppError::Forbidden(
            "Only admins can create groups on this server".into(),
        ));
    }
    let invite: Vec<i64> = p
        .invite_account_ids
        .iter()
        .map(|s| parse_id(s))
        .collect::<AppResult<_>>()?;
    if invite.len() > group_invites::MAX_PER_CALL {
        return Err(AppError::Unprocessable(format!(
            "Validation failed: at most {} accounts per invitation",
            group_invites::MAX_PER_CALL
        )));
    }
    let g = groups::create(
        &data,
        &auth.account,
        NewGroup {
            name: p.name,
            display_name: p.display_name,
            note: p.note,
            closed: p.closed.unwrap_or(false),
            discoverable: p.discoverable.unwrap_or(true),
            announcement_only: p.announcement_only.unwrap_or(false),
        },
    )
    .await?;
    if !invite.is_empty() {
        group_invites::invite(&data, &auth.account, g.account.id, invite).await?;
    }
    render(&data, g.account.id, Some(auth.account.id)).await
}

#[derive(Debug, Default, Deserialize)]
pub struct InviteForm {
    #[serde(default, alias = "account_ids[]")]
    account_ids: Vec<String>,
}

impl InviteForm {
    fn ids(&self) -> AppResult<Vec<i64>> {
        self.account_ids.iter().map(|s| parse_id(s)).collect()
    }
}

async fn accounts_json(state: &AppState, list: Vec<Account>) -> AppResult<Json<Value>> {
    let ctx = ctx(state);
    let out = state
        .db
        .run(move |c| {
            list.iter()
                .map(|a| entities::account(c, &ctx, a).map_err(AppError::from))
                .collect::<AppResult<Vec<_>>>()
        })
        .await?;
    Ok(Json(Value::Array(out)))
}

/// `GET /api/v1/groups/:id/invites`: who is invited and has not joined
/// (moderators only).
pub async fn invites(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    auth.require("read:follows")?;
    let (gid, me) = (parse_id(&id)?, auth.account.id);
    let list = state
        .db
        .run(move |c| {
            let g = groups::moderated(c, me, gid)?;
            Ok::<_, AppError>(group_invites::pending(c, g.account.id)?)
        })
        .await?;
    accounts_json(&state, list).await
}

/// `POST /api/v1/groups/:id/invites` (`account_ids[]`): the accounts
/// invited (or, having asked already, let in).
pub async fn invite(
    data: Data<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Params(p): Params<InviteForm>,
) -> AppResult<Json<Value>> {
    auth.require("write:follows")?;
    let list = group_invites::invite(&data, &auth.account, parse_id(&id)?, p.ids()?).await?;
    accounts_json(&data, list).await
}

/// `DELETE /api/v1/groups/:id/invites` (`account_ids[]`)
pub async fn withdraw_invites(
    data: Data<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Params(p): Params<InviteForm>,
) -> AppResult<Json<Value>> {
    auth.require("write:follows")?;
    group_invites::withdraw(&data, &auth.account, parse_id(&id)?, p.ids()?).await?;
    Ok(Json(json!({})))
}

/// `DELETE /api/v1/groups/:id/invites/:account_id`
pub async fn withdraw_invite(
    data: Data<AppState>,
    auth: Auth,
    Path((id, account_id)): Path<(String, String)>,
) -> AppResult<Json<Value>> {
    auth.require("write:follows")?;
    let n = group_invites::withdraw(
        &data,
        &auth.account,
        parse_id(&id)?,
        vec![parse_id(&account_id)?],
    )
    .await?;
    if n == 0 {
        return Err(AppError::not_found());
    }
    Ok(Json(json!({})))
}

#[derive(Debug, Deserialize, Default)]
pub struct IndexQuery {
    #[serde(default, deserialize_with = "crate::api::extract::lenient_bool")]
    local: Option<bool>,
}

/// Groups the caller belongs to, or with `local=true` this instance's
/// directory of discoverable groups.
pub async fn index(
    State(state): State<AppState>,
    auth: Auth,
    Params(q): Params<IndexQuery>,
) -> AppResult<Json<Value>> {
    auth.require("read:accounts")?;
    let me = auth.account.id;
    let ctx = ctx(&state);
    let out = state
        .db
        .run(move |c| {
            let list = if q.local == Some(true) {
                groups::local_directory(c)?
            } else {
                groups::joined(c, me)?
            };
            let mut out = Vec::new();
            for a in list {
                let g = groups::find(c, a.id)?;
                out.push(entities::group(c, &ctx, &g, Some(me))?);
            }
            Ok::<_, AppError>(out)
        })
        .await?;
    Ok(Json(Value::Array(out)))
}

pub async fn show(
    State(state): State<AppState>,
    auth: MaybeAuth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    if let Some(a) = &auth.0 {
        a.require("read:accounts")?;
    }
    render(&state, parse_id(&id)?, auth.viewer().map(|v| v.id)).await
}

pub async fn update(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    super::media::WithFiles(p, mut files): super::media::WithFiles<HashMap<String, Value>>,
) -> AppResult<Json<Value>> {
    auth.require("write:accounts")?;
    let gid = parse_id(&id)?;
    // Pictures are stored only for a moderator of an existing group.
    let (avatar_url, header_url) = if files.files.is_empty() {
        (None, None)
    } else {
        let me = auth.account.id;
        let g = state
            .db
            .run(move |c| {
                let g = groups::find(c, gid)?;
                if !groups::moderated_by(c, me)?.contains(&gid) {
                    return Err(AppError::Forbidden(
                        "Only the group's moderators may change it".into(),
                    ));
                }
                Ok(g)
            })
            .await?;
        super::media::profile_images(&state, &g.account, &mut files).await?
    };
    let flag = |k: &str| p.get(k).and_then(parse_bool);
    let owner_id = match text(&p, "owner_id") {
        Some(s) => Some(parse_id(&s)?),
        None => None,
    };
    let g = groups::update(
        &state,
        &auth.account,
        gid,
        GroupChange {
            display_name: text(&p, "display_name"),
            note: text(&p, "note"),
            closed: flag("closed"),
            discoverable: flag("discoverable"),
            announcement_only: flag("announcement_only"),
            owner_id,
            avatar_url,
            header_url,
        },
    )
    .await?;
    render(&state, g.account.id, Some(auth.account.id)).await
}

pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    auth.require("write:accounts")?;
    groups::delete(&state, &auth.account, parse_id(&id)?).await?;
    Ok(Json(json!({})))
}

#[derive(Debug, Deserialize, Default)]
pub struct PageQuery {
    pub max_id: Option<String>,
    pub since_id: Option<String>,
    pub min_id: Option<String>,
    pub limit: Option<i64>,
}

/// Members (or, for `pending`, join requests), newest first, paged by the
/// follow's id.
async fn people(
    state: &AppState,
    auth: &Auth,
    id: &str,
    q: PageQuery,
    pending: bool,
) -> AppResult<(HeaderMap, Json<Value>)> {
    let gid = parse_id(id)?;
    let me = auth.account.id;
    let page = page_from(&q.max_id, &q.since_id, &None, q.limit);
    let ctx = ctx(state);
    let (ids, items) = state
        .db
        .run(move |c| {
            let g = groups::find(c, gid)?;
            let role = groups::role(c, &g, me)?;
            if pending && !role.moderates() {
                return Err(AppError::Forbidden(
                    "Only the group's moderators can do this".into(),
                ));
            }
            if g.settings.closed && !role.belongs() {
                return Err(AppError::NotFound("Record not found".into()));
            }
            let mut query = follows::table
                .inner_join(accounts::table.on(accounts::id.eq(follows::account_id)))
                .filter(follows::target_account_id.eq(gid))
                .filter(follows::pending.eq(pending))
                .into_boxed();
            if let Some(m) = page.max_id {
                query = query.filter(follows::id.lt(m));
            }
            if let Some(s) = page.since_id {
                query = query.filter(follows::id.gt(s));
            }
            let rows: Vec<(i64, Account)> = query
                .order(follows::id.desc())
                .limit(page.limit)
                .select((follows::id, Account::as_select()))
                .load(c)?;
            let ids: Vec<i64> = rows.iter().map(|(i, _)| *i).collect();
            let items = rows
                .iter()
                .map(|(_, a)| entities::account(c, &ctx, a))
                .collect::<QueryResult<Vec<_>>>()?;
            Ok::<_, AppError>((ids, items))
        })
        .await?;
    let path = format!(
        "/api/v1/groups/{gid}/{}",
        if pending { "requests" } else { "members" }
    );
    Ok((
        link_header(state, &path, "", &ids),
        Json(Value::Array(items)),
    ))
}

pub async fn members(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Params(q): Params<PageQuery>,
) -> AppResult<(HeaderMap, Json<Value>)> {
    auth.require("read:follows")?;
    people(&state, &auth, &id, q, false).await
}

pub async fn requests(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Params(q): Params<PageQuery>,
) -> AppResult<(HeaderMap, Json<Value>)> {
    auth.require("read:follows")?;
    people(&state, &auth, &id, q, true).await
}

pub async fn remove_member(
    State(state): State<AppState>,
    auth: Auth,
    Path((id, account_id)): Path<(String, String)>,
) -> AppResult<Json<Value>> {
    auth.require("write:follows")?;
    let gid = parse_id(&id)?;
    groups::remove_member(&state, &auth.account, gid, parse_id(&account_id)?).await?;
    render(&state, gid, Some(auth.account.id)).await
}

async fn answer(
    data: &Data<AppState>,
    auth: &Auth,
    id: &str,
    account_id: &str,
    accept: bool,
) -> AppResult<Json<Value>> {
    auth.require("write:follows")?;
    let gid = parse_id(id)?;
    groups::answer_request(data, &auth.account, gid, parse_id(account_id)?, accept).await?;
    render(data, gid, Some(auth.account.id)).await
}

pub async fn authorize(
    data: Data<AppState>,
    auth: Auth,
    Path((id, account_id)): Path<(String, String)>,
) -> AppResult<Json<Value>> {
    answer(&data, &auth, &id, &account_id, true).await
}

pub async fn reject(
    data: Data<AppState>,
    auth: Auth,
    Path((id, account_id)): Path<(String, String)>,
) -> AppResult<Json<Value>> {
    answer(&data, &auth, &id, &account_id, false).await
}

async fn moderator(
    state: &AppState,
    auth: &Auth,
    id: &str,
    account_id: &str,
    on: bool,
) -> AppResult<Json<Value>> {
    auth.require("write:accounts")?;
    let gid = parse_id(id)?;
    groups::set_moderator(state, &auth.account, gid, parse_id(account_id)?, on).await?;
    render(state, gid, Some(auth.account.id)).await
}

pub async fn add_moderator(
    State(state): State<AppState>,
    auth: Auth,
    Path((id, account_id)): Path<(String, String)>,
) -> AppResult<Json<Value>> {
    moderator(&state, &auth, &id, &account_id, true).await
}

pub async fn remove_moderator(
    State(state): State<AppState>,
    auth: Auth,
    Path((id, account_id)): Path<(String, String)>,
) -> AppResult<Json<Value>> {
    moderator(&state, &auth, &id, &account_id, false).await
}

pub async fn remove_status(
    State(state): State<AppState>,
    auth: Auth,
    Path((id, status_id)): Path<(String, String)>,
) -> AppResult<Json<Value>> {
    auth.require("write:statuses")?;
    groups::remove_post(&state, &auth.account, parse_id(&id)?, parse_id(&status_id)?).await?;
    Ok(Json(json!({})))
}

pub async fn timeline(
    State(state): State<AppState>,
    auth: MaybeAuth,
    Path(id): Path<String>,
    Params(q): Params<PageQuery>,
) -> AppResult<(HeaderMap, Json<Value>)> {
    if let Some(a) = &auth.0 {
        a.require("read:statuses")?;
    }
    let gid = parse_id(&id)?;
    let page = page_from(&q.max_id, &q.since_id, &q.min_id, q.limit);
    let viewer = auth.viewer().cloned();
    let ctx = ctx(&state);
    let (ids, items) = state
        .db
        .run(move |c| {
            let g = groups::find(c, gid)?;
            if g.settings.closed {
                let role = match &viewer {
                    Some(v) => groups::role(c, &g, v.id)?,
                    None => groups::Role::None,
                };
                if !role.belongs() {
                    return Err(AppError::NotFound("Record not found".into()));
                }
            }
            let rows = timelines::group(c, viewer.as_ref(), gid, page)?;
            let ids: Vec<i64> = rows.iter().map(|s| s.id).collect();
            let items = entities::statuses(c, &ctx, &rows, viewer.as_ref().map(|v| v.id))?;
            Ok::<_, AppError>((ids, items))
        })
        .await?;
    Ok((
        link_header(&state, &format!("/api/v1/timelines/group/{gid}"), "", &ids),
        Json(Value::Array(items)),
    ))
}

async fn set_pin(
    state: &AppState,
    auth: &Auth,
    id: &str,
    status_id: &str,
    on: bool,
) -> AppResult<Json<Value>> {
    auth.require("write:accounts")?;
    let s = crate::domain::pins::pin_for_group(
        state,
        &auth.account,
        parse_id(id)?,
        parse_id(status_id)?,
        on,
    )
    .await?;
    let ctx = ctx(state);
    let me = auth.account.id;
    Ok(Json(
        state
            .db
            .run(move |c| entities::status(c, &ctx, &s, Some(me)))
            .await?,
    ))
}

/// `POST /api/v1/groups/:id/statuses/:status_id/pin`
pub async fn pin(
    State(state): State<AppState>,
    auth: Auth,
    Path((id, status_id)): Path<(String, String)>,
) -> AppResult<Json<Value>> {
    set_pin(&state, &auth, &id, &status_id, true).await
}

pub async fn unpin(
    State(state): State<AppState>,
    auth: Auth,
    Path((id, status_id)): Path<(String, String)>,
) -> AppResult<Json<Value>> {
    set_pin(&state, &auth, &id, &status_id, false).await
}
