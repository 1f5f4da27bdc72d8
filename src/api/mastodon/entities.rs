//! The one place where Mastodon entities (Account, Status, Relationship, …)
//! are built from rows, so every endpoint answers with the same shapes.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::db::DbConn;
use crate::db::models::{Account, Follow, Status, User};
use crate::db::schema::{favourites, follows};
use crate::domain::blocks;
use crate::error::AppResult;

/// What entity URLs need to know about this instance.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub base: String,
    pub domain: String,
}

/// RFC 3339 with milliseconds and `Z`, as Mastodon prints times.
pub fn iso(t: NaiveDateTime) -> String {
    t.and_utc().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn day(t: NaiveDateTime) -> String {
    t.and_utc().format("%Y-%m-%dT00:00:00.000Z").to_string()
}

pub fn acct(a: &Account) -> String {
    match &a.domain {
        Some(d) => format!("{}@{}", a.username, d),
        None => a.username.clone(),
    }
}

fn fields(a: &Account) -> Vec<Value> {
    serde_json::from_str::<Vec<Value>>(&a.fields)
        .unwrap_or_default()
        .into_iter()
        .map(|f| json!({ "name": f["name"], "value": f["value"], "verified_at": null }))
        .collect()
}

pub fn account(_c: &mut DbConn, ctx: &Ctx, a: &Account) -> QueryResult<Value> {
    let (followers, following, posts, last) = (
        a.followers_count,
        a.following_count,
        a.statuses_count,
        a.last_status_at,
    );
    let missing = format!("{}/avatars/original/missing.png", ctx.base);
    let missing_header = format!("{}/headers/original/missing.png", ctx.base);
    let avatar = a.avatar_url.clone().unwrap_or(missing);
    let header = a.header_url.clone().unwrap_or(missing_header);
    Ok(json!({
        "id": a.id.to_string(),
        "username": a.username,
        "acct": acct(a),
        "display_name": a.display_name,
        "locked": a.locked,
        "bot": a.bot,
        "discoverable": a.discoverable,
        "indexable": false,
        "group": a.actor_type == "Group",
        "created_at": day(a.created_at),
        "note": a.note,
        "url": a.url.clone().unwrap_or_else(|| a.uri.clone()),
        "uri": a.uri,
        "avatar": avatar,
        "avatar_static": avatar,
        "header": header,
        "header_static": header,
        "followers_count": followers,
        "following_count": following,
        "statuses_count": posts,
        "last_status_at": last.map(|t| t.and_utc().format("%Y-%m-%d").to_string()),
        "hide_collections": true,
        "noindex": !a.discoverable,
        "emojis": [],
        "roles": [],
        "fields": fields(a),
    }))
}

/// The signed-in user's own account, with `source` and `role`.
pub fn credential_account(
    c: &mut DbConn,
    ctx: &Ctx,
    a: &Account,
    user: &User,
) -> QueryResult<Value> {
    let mut v = account(c, ctx, a)?;
    let requests: i64 = follows::table
        .filter(follows::target_account_id.eq(a.id))
        .filter(follows::pending.eq(true))
        .count()
        .get_result(c)?;
    let plain_fields: Vec<Value> = serde_json::from_str::<Vec<Value>>(&a.fields)
        .unwrap_or_default()
        .into_iter()
        .map(|f| json!({ "name": f["name"], "value": crate::domain::html::strip_tags(f["value"].as_str().unwrap_or("")), "verified_at": null }))
        .collect();
    v["source"] = json!({
        "privacy": "public",
        "sensitive": false,
        "language": user.locale,
        "note": crate::domain::html::strip_tags(&a.note),
        "fields": plain_fields,
        "follow_requests_count": requests,
        "hide_collections": true,
        "discoverable": a.discoverable,
        "indexable": false,
    });
    v["role"] = json!({
        "id": match user.role.as_str() { "admin" => "3", "moderator" => "2", _ => "-99" },
        "name": match user.role.as_str() { "admin" => "Admin", "moderator" => "Moderator", _ => "" },
        "color": "",
        "permissions": match user.role.as_str() { "admin" => "1", "moderator" => "1044", _ => "0" },
        "highlighted": user.role != "user",
    });
    Ok(v)
}

/// Visibility as clients know it; local-only posts show as public with
/// `local_only: true` (the Hometown/glitch-soc convention).
fn api_visibility(v: &str) -> &str {
    if v == "local" { "public" } else { v }
}

pub fn status(c: &mut DbConn, ctx: &Ctx, s: &Status, viewer: Option<i64>) -> AppResult<Value> {
    let author = Account::by_id(c, s.account_id)?;
    if let Some(orig_id) = s.reblog_of_id {
        let orig = Status::by_id(c, orig_id)?;
        let inner = status(c, ctx, &orig, viewer)?;
        return Ok(json!({
            "id": s.id.to_string(),
            "uri": s.uri,
            "url": null,
            "created_at": iso(s.created_at),
            "account": account(c, ctx, &author)?,
            "content": "",
            "visibility": api_visibility(&s.visibility),
            "sensitive": false,
            "spoiler_text": "",
            "media_attachments": [],
            "application": null,
            "mentions": [],
            "tags": [],
            "emojis": [],
            "reblogs_count": 0,
            "favourites_count": 0,
            "replies_count": 0,
            "in_reply_to_id": null,
            "in_reply_to_account_id": null,
            "reblog": inner,
            "poll": null,
            "card": null,
            "language": null,
            "text": null,
            "edited_at": null,
            "favourited": inner["favourited"],
            "reblogged": inner["reblogged"],
            "muted": false,
            "bookmarked": false,
            "pinned": false,
            "filtered": [],
        }));
    }
    let mentions: Vec<Value> = Status::mentioned_ids(c, s.id)?
        .into_iter()
        .map(|id| Account::by_id(c, id))
        .collect::<Result<Vec<_>, _>>()?
        .iter()
        .map(|m| json!({ "id": m.id.to_string(), "username": m.username, "url": m.url.clone().unwrap_or_else(|| m.uri.clone()), "acct": acct(m) }))
        .collect();
    let tags: Vec<Value> = Status::tags(c, s.id)?
        .into_iter()
        .map(|t| json!({ "name": t, "url": format!("{}/tags/{t}", ctx.base) }))
        .collect();
    let (favourited, reblogged) = match viewer {
        Some(v) => (
            diesel::select(diesel::dsl::exists(
                favourites::table
                    .filter(favourites::account_id.eq(v))
                    .filter(favourites::status_id.eq(s.id)),
            ))
            .get_result::<bool>(c)?,
            Status::reblog_by(c, v, s.id)?.is_some(),
        ),
        None => (false, false),
    };
    let mut v = json!({
        "id": s.id.to_string(),
        "uri": s.uri,
        "url": s.url.clone().unwrap_or_else(|| s.uri.clone()),
        "created_at": iso(s.created_at),
        "account": account(c, ctx, &author)?,
        "content": s.content,
        "visibility": api_visibility(&s.visibility),
        "sensitive": s.sensitive,
        "spoiler_text": s.spoiler_text,
        "media_attachments": [],
        "application": null,
        "mentions": mentions,
        "tags": tags,
        "emojis": [],
        "reblogs_count": s.reblogs_count,
        "favourites_count": s.favourites_count,
        "replies_count": s.replies_count,
        "in_reply_to_id": s.in_reply_to_id.map(|i| i.to_string()),
        "in_reply_to_account_id": s.in_reply_to_account_id.map(|i| i.to_string()),
        "reblog": null,
        "poll": null,
        "card": null,
        "language": s.language,
        "text": null,
        "edited_at": s.edited_at.map(iso),
        "filtered": [],
    });
    if viewer.is_some() {
        v["favourited"] = json!(favourited);
        v["reblogged"] = json!(reblogged);
        v["muted"] = json!(false);
        v["bookmarked"] = json!(false);
        v["pinned"] = json!(false);
    }
    if s.visibility == "local" {
        v["local_only"] = json!(true);
    }
    Ok(v)
}

pub fn relationship(c: &mut DbConn, viewer: i64, target: i64) -> QueryResult<Value> {
    let out = Follow::find(c, viewer, target)?;
    let inc = Follow::find(c, target, viewer)?;
    Ok(json!({
        "id": target.to_string(),
        "following": out.as_ref().is_some_and(|f| !f.pending),
        "showing_reblogs": out.as_ref().map(|f| f.show_reblogs).unwrap_or(false),
        "notifying": out.as_ref().map(|f| f.notify).unwrap_or(false),
        "languages": null,
        "followed_by": inc.as_ref().is_some_and(|f| !f.pending),
        "blocking": blocks::is_blocked(c, viewer, target)?,
        "blocked_by": blocks::is_blocked(c, target, viewer)?,
        "muting": false,
        "muting_notifications": false,
        "requested": out.as_ref().is_some_and(|f| f.pending),
        "requested_by": inc.as_ref().is_some_and(|f| f.pending),
        "domain_blocking": false,
        "endorsed": false,
        "note": "",
    }))
}

pub fn notification(
    c: &mut DbConn,
    ctx: &Ctx,
    n: &crate::domain::notifications::Notification,
    viewer: i64,
) -> AppResult<Value> {
    let from = Account::by_id(c, n.from_account_id)?;
    let mut v = json!({
        "id": n.id.to_string(),
        "type": n.kind,
        "created_at": iso(n.created_at),
        "group_key": format!("ungrouped-{}", n.id),
        "account": account(c, ctx, &from)?,
    });
    if let Some(sid) = n.status_id
        && let Some(s) = Status::by_id(c, sid).optional()?
    {
        v["status"] = status(c, ctx, &s, Some(viewer))?;
    }
    Ok(v)
}
