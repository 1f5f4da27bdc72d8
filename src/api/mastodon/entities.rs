//! The one place where Mastodon entities (Account, Status, Relationship, …)
//! are built from rows, so every endpoint answers with the same shapes.

use std::collections::{HashMap, HashSet};

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
    let mut out = statuses(c, ctx, std::slice::from_ref(s), viewer)?;
    Ok(out.pop().unwrap_or(Value::Null))
}

/// What the statuses of one page need, loaded with one query each rather
/// than several per status.
struct Preloaded {
    accounts: HashMap<i64, Value>,
    mentions: HashMap<i64, Vec<Value>>,
    tags: HashMap<i64, Vec<String>>,
    favourited: HashSet<i64>,
    reblogged: HashSet<i64>,
    bookmarked: HashSet<i64>,
    pinned: HashSet<i64>,
    polls: HashMap<i64, Value>,
    media: HashMap<i64, Vec<Value>>,
    filtered: HashMap<i64, Vec<Value>>,
}

fn preload(
    c: &mut DbConn,
    ctx: &Ctx,
    list: &[&Status],
    viewer: Option<i64>,
) -> AppResult<Preloaded> {
    use crate::db::schema::{accounts, mentions, status_tags, statuses};
    let ids: Vec<i64> = list.iter().map(|s| s.id).collect();
    let mut account_ids: Vec<i64> = list.iter().map(|s| s.account_id).collect();
    let mention_rows: Vec<(i64, Account)> = mentions::table
        .inner_join(accounts::table.on(accounts::id.eq(mentions::account_id)))
        .filter(mentions::status_id.eq_any(&ids))
        .order(mentions::id.asc())
        .select((mentions::status_id, Account::as_select()))
        .load(c)?;
    let mut mentions: HashMap<i64, Vec<Value>> = HashMap::new();
    for (sid, m) in &mention_rows {
        mentions.entry(*sid).or_default().push(json!({
            "id": m.id.to_string(),
            "username": m.username,
            "url": m.url.clone().unwrap_or_else(|| m.uri.clone()),
            "acct": acct(m),
        }));
    }
    account_ids.sort_unstable();
    account_ids.dedup();
    let authors: Vec<Account> = accounts::table
        .filter(accounts::id.eq_any(&account_ids))
        .select(Account::as_select())
        .load(c)?;
    let mut accounts_json = HashMap::new();
    for a in &authors {
        accounts_json.insert(a.id, account(c, ctx, a)?);
    }
    let mut tags: HashMap<i64, Vec<String>> = HashMap::new();
    for (sid, t) in status_tags::table
        .filter(status_tags::status_id.eq_any(&ids))
        .order((status_tags::status_id.asc(), status_tags::tag.asc()))
        .select((status_tags::status_id, status_tags::tag))
        .load::<(i64, String)>(c)?
    {
        tags.entry(sid).or_default().push(t);
    }
    let bookmarked: HashSet<i64> = match viewer {
        Some(v) => {
            use crate::db::schema::bookmarks;
            bookmarks::table
                .filter(bookmarks::account_id.eq(v))
                .filter(bookmarks::status_id.eq_any(&ids))
                .select(bookmarks::status_id)
                .load::<i64>(c)?
                .into_iter()
                .collect()
        }
        None => HashSet::new(),
    };
    let pinned: HashSet<i64> = match viewer {
        Some(v) => crate::domain::pins::pinned_among(c, v, &ids)?
            .into_iter()
            .collect(),
        None => HashSet::new(),
    };
    let (favourited, reblogged) = match viewer {
        Some(v) => (
            favourites::table
                .filter(favourites::account_id.eq(v))
                .filter(favourites::status_id.eq_any(&ids))
                .select(favourites::status_id)
                .load::<i64>(c)?
                .into_iter()
                .collect(),
            statuses::table
                .filter(statuses::account_id.eq(v))
                .filter(statuses::reblog_of_id.eq_any(&ids))
                .select(statuses::reblog_of_id)
                .load::<Option<i64>>(c)?
                .into_iter()
                .flatten()
                .collect(),
        ),
        None => (HashSet::new(), HashSet::new()),
    };
    let polls = crate::domain::polls::for_statuses(c, &ids, viewer)?
        .into_iter()
        .map(|(sid, (p, opts, own))| {
            let author = list.iter().find(|s| s.id == sid).map(|s| s.account_id);
            (sid, poll(&p, &opts, &own, viewer, author))
        })
        .collect();
    let media = crate::domain::media::of_statuses(c, &ids)?
        .into_iter()
        .map(|(sid, list)| (sid, list.iter().map(|a| media_attachment(ctx, a)).collect()))
        .collect();
    let mut filtered = HashMap::new();
    if let Some(v) = viewer {
        let active = crate::domain::filters::active(c, v)?;
        if !active.is_empty() {
            for s in list {
                let text = format!(
                    "{}\n{}",
                    crate::domain::html::strip_tags(&s.content),
                    s.spoiler_text
                );
                let r = active.results(s.id, &text);
                if !r.is_empty() {
                    filtered.insert(s.id, r);
                }
            }
        }
    }
    Ok(Preloaded {
        filtered,
        media,
        polls,
        accounts: accounts_json,
        mentions,
        tags,
        favourited,
        reblogged,
        bookmarked,
        pinned,
    })
}

fn status_json(ctx: &Ctx, s: &Status, p: &Preloaded, viewer: Option<i64>) -> Value {
    let tags: Vec<Value> = p
        .tags
        .get(&s.id)
        .map(|ts| {
            ts.iter()
                .map(|t| json!({ "name": t, "url": format!("{}/tags/{t}", ctx.base) }))
                .collect()
        })
        .unwrap_or_default();
    let mut v = json!({
        "id": s.id.to_string(),
        "uri": s.uri,
        "url": s.url.clone().unwrap_or_else(|| s.uri.clone()),
        "created_at": iso(s.created_at),
        "account": p.accounts.get(&s.account_id).cloned().unwrap_or(Value::Null),
        "content": s.content,
        "visibility": api_visibility(&s.visibility),
        "sensitive": s.sensitive,
        "spoiler_text": s.spoiler_text,
        "media_attachments": p.media.get(&s.id).cloned().unwrap_or_default(),
        "application": null,
        "mentions": p.mentions.get(&s.id).cloned().unwrap_or_default(),
        "tags": tags,
        "emojis": [],
        "reblogs_count": s.reblogs_count,
        "favourites_count": s.favourites_count,
        "replies_count": s.replies_count,
        "in_reply_to_id": s.in_reply_to_id.map(|i| i.to_string()),
        "in_reply_to_account_id": s.in_reply_to_account_id.map(|i| i.to_string()),
        "reblog": null,
        "poll": p.polls.get(&s.id).cloned().unwrap_or(Value::Null),
        "card": null,
        "language": s.language,
        "text": null,
        "edited_at": s.edited_at.map(iso),
        "filtered": p.filtered.get(&s.id).cloned().unwrap_or_default(),
    });
    if viewer.is_some() {
        v["favourited"] = json!(p.favourited.contains(&s.id));
        v["reblogged"] = json!(p.reblogged.contains(&s.id));
        v["muted"] = json!(false);
        v["bookmarked"] = json!(p.bookmarked.contains(&s.id));
        // Only the author's own posts carry `pinned`, as on Mastodon.
        if viewer == Some(s.account_id) {
            v["pinned"] = json!(p.pinned.contains(&s.id));
        }
    }
    if s.visibility == "local" {
        v["local_only"] = json!(true);
    }
    v
}

/// Status entities for a page, in the order given.
pub fn statuses(
    c: &mut DbConn,
    ctx: &Ctx,
    list: &[Status],
    viewer: Option<i64>,
) -> AppResult<Vec<Value>> {
    use crate::db::schema::statuses;
    let orig_ids: Vec<i64> = list.iter().filter_map(|s| s.reblog_of_id).collect();
    let originals: HashMap<i64, Status> = if orig_ids.is_empty() {
        HashMap::new()
    } else {
        statuses::table
            .filter(statuses::id.eq_any(&orig_ids))
            .select(Status::as_select())
            .load::<Status>(c)?
            .into_iter()
            .map(|s| (s.id, s))
            .collect()
    };
    let mut all: Vec<&Status> = list.iter().collect();
    all.extend(originals.values());
    let p = preload(c, ctx, &all, viewer)?;
    Ok(list
        .iter()
        .map(|s| {
            let Some(orig) = s.reblog_of_id.and_then(|id| originals.get(&id)) else {
                return status_json(ctx, s, &p, viewer);
            };
            let inner = status_json(ctx, orig, &p, viewer);
            let mut boost = status_json(ctx, s, &p, viewer);
            boost["url"] = Value::Null;
            boost["content"] = json!("");
            boost["reblogs_count"] = json!(0);
            boost["favourites_count"] = json!(0);
            boost["replies_count"] = json!(0);
            boost["favourited"] = inner["favourited"].clone();
            boost["reblogged"] = inner["reblogged"].clone();
            boost["bookmarked"] = inner["bookmarked"].clone();
            if viewer.is_none() {
                if let Some(m) = boost.as_object_mut() {
                    m.remove("favourited");
                    m.remove("reblogged");
                }
            }
            boost["reblog"] = inner;
            boost
        })
        .collect())
}

pub fn relationship(c: &mut DbConn, viewer: i64, target: i64) -> QueryResult<Value> {
    let out = Follow::find(c, viewer, target)?;
    let inc = Follow::find(c, target, viewer)?;
    let mute = crate::domain::mutes::find(c, viewer, target)?;
    Ok(json!({
        "id": target.to_string(),
        "following": out.as_ref().is_some_and(|f| !f.pending),
        "showing_reblogs": out.as_ref().map(|f| f.show_reblogs).unwrap_or(false),
        "notifying": out.as_ref().map(|f| f.notify).unwrap_or(false),
        "languages": null,
        "followed_by": inc.as_ref().is_some_and(|f| !f.pending),
        "blocking": blocks::is_blocked(c, viewer, target)?,
        "blocked_by": blocks::is_blocked(c, target, viewer)?,
        "muting": mute.is_some(),
        "muting_notifications": mute.as_ref().is_some_and(|m| m.hide_notifications),
        "requested": out.as_ref().is_some_and(|f| f.pending),
        "requested_by": inc.as_ref().is_some_and(|f| f.pending),
        "domain_blocking": false,
        "endorsed": false,
        "note": "",
    }))
}

/// A group: its Account entity (`group: true`) with a `meetfield_group`
/// object saying how it works and what the viewer is in it.
pub fn group(
    c: &mut DbConn,
    ctx: &Ctx,
    g: &crate::domain::groups::Group,
    viewer: Option<i64>,
) -> AppResult<Value> {
    let mut v = account(c, ctx, &g.account)?;
    let role = match viewer {
        Some(id) => crate::domain::groups::role(c, g, id)?.as_str(),
        None => None,
    };
    v["meetfield_group"] = json!({
        "closed": g.settings.closed,
        "announcement_only": g.settings.announcement_only,
        "member_count": g.account.followers_count,
        "role": role,
        "owner_id": g.settings.owner_account_id.map(|i| i.to_string()),
        "local": g.account.is_local(),
    });
    Ok(v)
}

pub fn list(l: &crate::domain::lists::List) -> Value {
    json!({
        "id": l.id.to_string(),
        "title": l.title,
        "replies_policy": l.replies_policy,
        "exclusive": l.exclusive,
    })
}

pub fn marker(m: &crate::domain::markers::Marker) -> Value {
    json!({
        "last_read_id": m.last_read_id.to_string(),
        "version": m.version,
        "updated_at": iso(m.updated_at),
    })
}

/// The MediaAttachment entity. A remote attachment not cached here points
/// at its origin.
pub fn media_attachment(ctx: &Ctx, a: &crate::domain::media::Attachment) -> Value {
    let local = |k: &Option<String>| {
        k.as_ref()
            .filter(|k| k.starts_with("media/"))
            .map(|k| format!("{}/{k}", ctx.base))
    };
    let url = local(&a.file_key).or_else(|| a.remote_url.clone().filter(|_| a.state == "remote"));
    let preview = local(&a.thumb_key).or_else(|| url.clone().filter(|_| a.kind == "image"));
    let dims = |w: Option<i32>, h: Option<i32>| match (w, h) {
        (Some(w), Some(h)) if h > 0 => Some(json!({
            "width": w,
            "height": h,
            "size": format!("{w}x{h}"),
            "aspect": f64::from(w) / f64::from(h),
        })),
        _ => None,
    };
    let mut meta = json!({});
    if let Some(o) = dims(a.width, a.height) {
        meta["original"] = o;
    }
    if let Some(sm) = dims(a.thumb_width, a.thumb_height) {
        meta["small"] = sm;
    }
    if a.kind == "image" {
        meta["focus"] = json!({ "x": a.focus_x, "y": a.focus_y });
    }
    json!({
        "id": a.id.to_string(),
        "type": if a.state == "failed" { "unknown" } else { a.kind.as_str() },
        "url": url,
        "preview_url": preview,
        "remote_url": a.remote_url,
        "text_url": null,
        "meta": meta,
        "description": if a.description.is_empty() { Value::Null } else { json!(a.description) },
        "blurhash": a.blurhash,
    })
}

/// The Poll entity; with `hide_totals`, counts per option stay hidden
/// until the poll ends (except from its author).
pub fn poll(
    p: &crate::domain::polls::Poll,
    options: &[crate::domain::polls::PollOption],
    own: &[i32],
    viewer: Option<i64>,
    author: Option<i64>,
) -> Value {
    let expired = p.expired();
    let show = !p.hide_totals || expired || (viewer.is_some() && viewer == author);
    let mut v = json!({
        "id": p.id.to_string(),
        "expires_at": p.expires_at.map(iso),
        "expired": expired,
        "multiple": p.multiple,
        "votes_count": p.votes_count,
        "voters_count": p.voters_count,
        "options": options
            .iter()
            .map(|o| json!({
                "title": o.title,
                "votes_count": if show { json!(o.votes_count) } else { Value::Null },
            }))
            .collect::<Vec<_>>(),
        "emojis": [],
    });
    if viewer.is_some() {
        v["voted"] = json!(!own.is_empty() || viewer == author);
        v["own_votes"] = json!(own);
    }
    v
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
