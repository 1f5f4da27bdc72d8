//! Announcements: `GET /api/v1/announcements`, `…/:id/dismiss`,
//! `…/:id/reactions/:name` as Mastodon, and the admin side as a Meetfield
//! extension (`/api/v1/admin/announcements`; Mastodon has only web pages
//! for it).

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};

use super::entities::{Ctx, acct, iso};
use super::{ctx, parse_id};
use crate::api::extract::{Auth, Params};
use crate::app::AppState;
use crate::db::DbConn;
use crate::domain::announcements::{self as ann, Announcement, Draft, Reaction, Site};
use crate::domain::moderation::{self, Moderator, perm};
use crate::domain::text;
use crate::error::{AppError, AppResult};

pub fn site(ctx: &Ctx) -> Site {
    Site {
        base: ctx.base.clone(),
        domain: ctx.domain.clone(),
    }
}

/// An announcement as everyone sees it, before the viewer's own parts
/// (`read`, reactions' `me`) are filled by [`for_viewer`].
pub struct Rendered {
    pub id: i64,
    pub json: Value,
    pub reactions: Vec<Reaction>,
}

pub fn render(c: &mut DbConn, ctx: &Ctx, list: &[Announcement]) -> AppResult<Vec<Rendered>> {
    let ids: Vec<i64> = list.iter().map(|a| a.id).collect();
    let mut reactions = ann::reactions(c, &ids)?;
    let mention_ids: Vec<i64> = list.iter().flat_map(|a| a.mentions()).collect();
    let accounts: HashMap<i64, _> = ann::mentioned_accounts(c, &mention_ids)?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    let status_ids: Vec<i64> = list.iter().flat_map(|a| a.statuses()).collect();
    let statuses: HashMap<i64, _> = ann::linked(c, &status_ids)?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    Ok(list
        .iter()
        .map(|a| {
            let mentions: Vec<Value> = a
                .mentions()
                .iter()
                .filter_map(|i| accounts.get(i))
                .map(|m| {
                    json!({
                        "id": m.id.to_string(),
                        "username": m.username,
                        "url": m.url.clone().unwrap_or_else(|| m.uri.clone()),
                        "acct": acct(m),
                    })
                })
                .collect();
            let linked: Vec<Value> = a
                .statuses()
                .iter()
                .filter_map(|i| statuses.get(i))
                .map(|s| {
                    json!({
                        "id": s.id.to_string(),
                        "url": s.url.clone().unwrap_or_else(|| s.uri.clone()),
                    })
                })
                .collect();
            let tags: Vec<Value> = text::hashtags_in(&a.text)
                .iter()
                .map(|t| json!({ "name": t, "url": format!("{}/tags/{t}", ctx.base) }))
                .collect();
            let published = a.published_at.unwrap_or(a.created_at);
            Rendered {
                id: a.id,
                json: json!({
                    "id": a.id.to_string(),
                    "content": a.content,
                    "starts_at": a.starts_at.map(iso),
                    "ends_at": a.ends_at.map(iso),
                    "all_day": a.all_day,
                    "published_at": iso(published),
                    "updated_at": iso(a.updated_at),
                    "mentions": mentions,
                    "statuses": linked,
                    "tags": tags,
                    "emojis": [],
                }),
                reactions: reactions.remove(&a.id).unwrap_or_default(),
            }
        })
        .collect())
}

/// The entity for one viewer: whether they dismissed it, which reactions
/// are theirs.
pub fn for_viewer(r: &Rendered, viewer: i64, read: bool) -> Value {
    let mut v = r.json.clone();
    v["read"] = read.into();
    v["reactions"] = r
        .reactions
        .iter()
        .map(|x| json!({ "name": x.name, "count": x.count, "me": x.by.contains(&viewer) }))
        .collect();
    v
}

#[derive(Debug, Default, Deserialize)]
pub struct IndexQuery {
    #[serde(default, deserialize_with = "crate::api::extract::lenient_bool")]
    with_dismissed: Option<bool>,
}

/// `GET /api/v1/announcements`
pub async fn index(
    State(state): State<AppState>,
    auth: Auth,
    Params(q): Params<IndexQuery>,
) -> AppResult<Json<Value>> {
    auth.require("read")?;
    let ctx = ctx(&state);
    let me = auth.account.id;
    let out = state
        .db
        .run(move |c| {
            let list = ann::visible(c, me, q.with_dismissed.unwrap_or(false))?;
            let ids: Vec<i64> = list.iter().map(|a| a.id).collect();
            let read = ann::dismissed(c, &[me], &ids)?;
            Ok::<_, AppError>(
                render(c, &ctx, &list)?
                    .iter()
                    .map(|r| for_viewer(r, me, read.contains(&(r.id, me))))
                    .collect::<Vec<_>>(),
            )
        })
        .await?;
    Ok(Json(Value::Array(out)))
}

/// `POST /api/v1/announcements/:id/dismiss`
pub async fn dismiss(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    auth.require("write:accounts")?;
    let id = parse_id(&id)?;
    let me = auth.account.id;
    state
        .db
        .transaction(move |c| ann::dismiss(c, me, id))
        .await?;
    Ok(Json(json!({})))
}

/// `PUT /api/v1/announcements/:id/reactions/:name`
pub async fn react(
    State(state): State<AppState>,
    auth: Auth,
    Path((id, name)): Path<(String, String)>,
) -> AppResult<Json<Value>> {
    auth.require("write:favourites")?;
    let id = parse_id(&id)?;
    let me = auth.account.id;
    state
        .db
        .transaction(move |c| ann::react(c, me, id, &name))
        .await?;
    Ok(Json(json!({})))
}

/// `DELETE /api/v1/announcements/:id/reactions/:name`
pub async fn unreact(
    State(state): State<AppState>,
    auth: Auth,
    Path((id, name)): Path<(String, String)>,
) -> AppResult<Json<Value>> {
    auth.require("write:favourites")?;
    let id = parse_id(&id)?;
    let me = auth.account.id;
    state
        .db
        .transaction(move |c| ann::unreact(c, me, id, &name))
        .await?;
    Ok(Json(json!({})))
}

fn check_admin(auth: &Auth, scope: &str) -> AppResult<()> {
    auth.require(scope)?;
    Moderator::of(&auth.user).check(perm::MANAGE_ANNOUNCEMENTS)
}

/// The admin's view: the user entity plus what only admins see.
fn admin_json(c: &mut DbConn, ctx: &Ctx, a: &Announcement) -> AppResult<Value> {
    let r = render(c, ctx, std::slice::from_ref(a))?;
    let mut v = r.into_iter().next().map(|r| {
        let mut v = r.json;
        v["reactions"] = r
            .reactions
            .iter()
            .map(|x| json!({ "name": x.name, "count": x.count }))
            .collect();
        v
    });
    let v = v.get_or_insert_with(|| json!({}));
    v["text"] = a.text.clone().into();
    v["published"] = a.published_at.is_some().into();
    v["created_at"] = iso(a.created_at).into();
    Ok(v.take())
}

/// `GET /api/v1/admin/announcements`: drafts included, newest first.
pub async fn admin_index(State(state): State<AppState>, auth: Auth) -> AppResult<Json<Value>> {
    check_admin(&auth, "admin:read")?;
    let ctx = ctx(&state);
    let out = state
        .db
        .run(move |c| {
            ann::all(c)?
                .iter()
                .map(|a| admin_json(c, &ctx, a))
                .collect::<AppResult<Vec<_>>>()
        })
        .await?;
    Ok(Json(Value::Array(out)))
}

/// `GET /api/v1/admin/announcements/:id`
pub async fn admin_show(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    check_admin(&auth, "admin:read")?;
    let id = parse_id(&id)?;
    let ctx = ctx(&state);
    let v = state
        .db
        .run(move |c| {
            let a = ann::find(c, id)?;
            admin_json(c, &ctx, &a)
        })
        .await?;
    Ok(Json(v))
}

/// The admin form: `text`, `starts_at`, `ends_at` (RFC 3339 or a date;
/// empty clears), `all_day`, `published`.
#[derive(Debug, Default, Deserialize)]
pub struct AdminForm {
    text: Option<String>,
    starts_at: Option<String>,
    ends_at: Option<String>,
    #[serde(default, deserialize_with = "crate::api::extract::lenient_bool")]
    all_day: Option<bool>,
    #[serde(default, deserialize_with = "crate::api::extract::lenient_bool")]
    published: Option<bool>,
}

impl AdminForm {
    fn draft(self) -> AppResult<Draft> {
        let time =
            |field: &str, v: Option<String>| v.map(|s| ann::parse_time(field, &s)).transpose();
        Ok(Draft {
            text: self.text,
            starts_at: time("Starts at", self.starts_at)?,
            ends_at: time("Ends at", self.ends_at)?,
            all_day: self.all_day,
            published: self.published,
        })
    }
}

/// `POST /api/v1/admin/announcements`
pub async fn admin_create(
    State(state): State<AppState>,
    auth: Auth,
    Params(form): Params<AdminForm>,
) -> AppResult<Json<Value>> {
    check_admin(&auth, "admin:write")?;
    let draft = form.draft()?;
    let ctx = ctx(&state);
    let by = auth.account.id;
    let v = state
        .db
        .transaction(move |c| {
            let a = ann::publish(c, &site(&ctx), by, draft)?;
            admin_json(c, &ctx, &a)
        })
        .await?;
    Ok(Json(v))
}

/// `PUT /api/v1/admin/announcements/:id`
pub async fn admin_update(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Params(form): Params<AdminForm>,
) -> AppResult<Json<Value>> {
    check_admin(&auth, "admin:write")?;
    let id = parse_id(&id)?;
    let draft = form.draft()?;
    let ctx = ctx(&state);
    let by = auth.account.id;
    let v = state
        .db
        .transaction(move |c| {
            ann::update(c, &site(&ctx), id, draft)?;
            moderation::log(
                c,
                by,
                "update_announcement",
                "announcement",
                &id.to_string(),
                "",
            )?;
            ann::flush(c)?;
            let a = ann::find(c, id)?;
            admin_json(c, &ctx, &a)
        })
        .await?;
    Ok(Json(v))
}

/// `DELETE /api/v1/admin/announcements/:id`
pub async fn admin_delete(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    check_admin(&auth, "admin:write")?;
    let id = parse_id(&id)?;
    let by = auth.account.id;
    state
        .db
        .transaction(move |c| ann::take_down(c, by, id))
        .await?;
    Ok(Json(json!({})))
}
