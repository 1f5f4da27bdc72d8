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
        "indexable": a.indexable,
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
        "indexable": a.indexable,
    });
    v["role"] = super::admin::role_json(user.role());
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

/// What the statuses of one page need whoever looks, loaded with one
/// query each rather than several per status.
struct Shared {
    accounts: HashMap<i64, Value>,
    mentions: HashMap<i64, Vec<Value>>,
    tags: HashMap<i64, Vec<String>>,
    /// Polls by status id.
    polls: HashMap<
        i64,
        (
            crate::domain::polls::Poll,
            Vec<crate::domain::polls::PollOption>,
        ),
    >,
    media: HashMap<i64, Vec<Value>>,
    /// Accepted answers by question id: (reply id, reply URL).
    answers: HashMap<i64, (i64, String)>,
    /// PreviewCard entities by status id.
    cards: HashMap<i64, Value>,
}

/// What depends on the viewer.
#[derive(Default)]
struct Personal {
    favourited: HashSet<i64>,
    reblogged: HashSet<i64>,
    bookmarked: HashSet<i64>,
    pinned: HashSet<i64>,
    /// Own poll choices by poll id.
    own_votes: HashMap<i64, Vec<i32>>,
    filtered: HashMap<i64, Vec<Value>>,
}

fn shared(c: &mut DbConn, ctx: &Ctx, list: &[&Status]) -> AppResult<Shared> {
    use crate::db::schema::{accounts, mentions, status_tags};
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
    let polls = crate::domain::polls::for_statuses(c, &ids, None)?
        .into_iter()
        .map(|(sid, (p, opts, _))| (sid, (p, opts)))
        .collect();
    let media = crate::domain::media::of_statuses(c, &ids)?
        .into_iter()
        .map(|(sid, list)| (sid, list.iter().map(|a| media_attachment(ctx, a)).collect()))
        .collect();
    let answers = crate::domain::answers::of_statuses(c, &ids)?;
    let cards = crate::domain::cards::of_statuses(c, &ids)?
        .into_iter()
        .map(|(sid, k)| (sid, crate::domain::cards::card_json(&ctx.base, &k)))
        .collect();
    Ok(Shared {
        cards,
        accounts: accounts_json,
        mentions,
        tags,
        polls,
        media,
        answers,
    })
}

/// The viewer-dependent parts for several viewers at once: one query per
/// kind, whatever their number (streaming renders a post for many).
fn personal(
    c: &mut DbConn,
    list: &[&Status],
    sh: &Shared,
    viewers: &[i64],
) -> AppResult<HashMap<i64, Personal>> {
    use crate::db::schema::{bookmarks, poll_votes, statuses};
    let ids: Vec<i64> = list.iter().map(|s| s.id).collect();
    let mut out: HashMap<i64, Personal> =
        viewers.iter().map(|v| (*v, Personal::default())).collect();
    for (v, sid) in bookmarks::table
        .filter(bookmarks::account_id.eq_any(viewers))
        .filter(bookmarks::status_id.eq_any(&ids))
        .select((bookmarks::account_id, bookmarks::status_id))
        .load::<(i64, i64)>(c)?
    {
        out.entry(v).or_default().bookmarked.insert(sid);
    }
    for (v, sid) in favourites::table
        .filter(favourites::account_id.eq_any(viewers))
        .filter(favourites::status_id.eq_any(&ids))
        .select((favourites::account_id, favourites::status_id))
        .load::<(i64, i64)>(c)?
    {
        out.entry(v).or_default().favourited.insert(sid);
    }
    for (v, sid) in statuses::table
        .filter(statuses::account_id.eq_any(viewers))
        .filter(statuses::reblog_of_id.eq_any(&ids))
        .select((statuses::account_id, statuses::reblog_of_id))
        .load::<(i64, Option<i64>)>(c)?
    {
        if let Some(sid) = sid {
            out.entry(v).or_default().reblogged.insert(sid);
        }
    }
    // `pinned` only shows on one's own posts.
    for v in viewers {
        if list.iter().any(|s| s.account_id == *v) {
            let pinned = crate::domain::pins::pinned_among(c, *v, &ids)?;
            out.entry(*v).or_default().pinned.extend(pinned);
        }
    }
    let poll_ids: Vec<i64> = sh.polls.values().map(|(p, _)| p.id).collect();
    if !poll_ids.is_empty() {
        for (v, pid, choice) in poll_votes::table
            .filter(poll_votes::poll_id.eq_any(&poll_ids))
            .filter(poll_votes::account_id.eq_any(viewers))
            .order(poll_votes::choice.asc())
            .select((
                poll_votes::account_id,
                poll_votes::poll_id,
                poll_votes::choice,
            ))
            .load::<(i64, i64, i32)>(c)?
        {
            out.entry(v)
                .or_default()
                .own_votes
                .entry(pid)
                .or_default()
                .push(choice);
        }
    }
    for (v, active) in crate::domain::filters::active_for(c, viewers)? {
        let me = out.entry(v).or_default();
        for s in list {
            let text = format!(
                "{}\n{}",
                crate::domain::html::strip_tags(&s.content),
                s.spoiler_text
            );
            let r = active.results(s.id, &text);
            if !r.is_empty() {
                me.filtered.insert(s.id, r);
            }
        }
    }
    Ok(out)
}

fn status_json(ctx: &Ctx, s: &Status, p: &Shared, me: Option<(i64, &Personal)>) -> Value {
    let viewer = me.map(|(v, _)| v);
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
        "content": crate::domain::answers::shown_content(s, p.answers.get(&s.id)),
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
        "poll": p
            .polls
            .get(&s.id)
            .map(|(pl, opts)| {
                let own = me
                    .and_then(|(_, m)| m.own_votes.get(&pl.id))
                    .map(Vec::as_slice)
                    .unwrap_or(&[]);
                poll(pl, opts, own, viewer, Some(s.account_id))
            })
            .unwrap_or(Value::Null),
        "card": p.cards.get(&s.id).cloned().unwrap_or(Value::Null),
        "language": s.language,
        "text": null,
        "edited_at": s.edited_at.map(iso),
        "filtered": me
            .and_then(|(_, m)| m.filtered.get(&s.id).cloned())
            .unwrap_or_default(),
    });
    if let Some((viewer, m)) = me {
        v["favourited"] = json!(m.favourited.contains(&s.id));
        v["reblogged"] = json!(m.reblogged.contains(&s.id));
        v["muted"] = json!(false);
        v["bookmarked"] = json!(m.bookmarked.contains(&s.id));
        // Only the author's own posts carry `pinned`, as on Mastodon.
        if viewer == s.account_id {
            v["pinned"] = json!(m.pinned.contains(&s.id));
        }
    }
    if s.visibility == "local" {
        v["local_only"] = json!(true);
    }
    if let Some((rid, url)) = p.answers.get(&s.id) {
        v["meetfield"] = json!({ "accepted_answer": { "id": rid.to_string(), "url": url } });
    }
    v
}

/// The boosted originals of a page's boosts.
fn originals(c: &mut DbConn, list: &[Status]) -> QueryResult<HashMap<i64, Status>> {
    use crate::db::schema::statuses;
    let orig_ids: Vec<i64> = list.iter().filter_map(|s| s.reblog_of_id).collect();
    if orig_ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(statuses::table
        .filter(statuses::id.eq_any(&orig_ids))
        .select(Status::as_select())
        .load::<Status>(c)?
        .into_iter()
        .map(|s| (s.id, s))
        .collect())
}

fn render_list(
    ctx: &Ctx,
    list: &[Status],
    originals: &HashMap<i64, Status>,
    sh: &Shared,
    me: Option<(i64, &Personal)>,
) -> Vec<Value> {
    list.iter()
        .map(|s| {
            let Some(orig) = s.reblog_of_id.and_then(|id| originals.get(&id)) else {
                return status_json(ctx, s, sh, me);
            };
            let inner = status_json(ctx, orig, sh, me);
            let mut boost = status_json(ctx, s, sh, me);
            boost["url"] = Value::Null;
            boost["content"] = json!("");
            boost["reblogs_count"] = json!(0);
            boost["favourites_count"] = json!(0);
            boost["replies_count"] = json!(0);
            boost["favourited"] = inner["favourited"].clone();
            boost["reblogged"] = inner["reblogged"].clone();
            boost["bookmarked"] = inner["bookmarked"].clone();
            if me.is_none()
                && let Some(m) = boost.as_object_mut()
            {
                m.remove("favourited");
                m.remove("reblogged");
            }
            boost["reblog"] = inner;
            boost
        })
        .collect()
}

/// Status entities for a page, in the order given.
pub fn statuses(
    c: &mut DbConn,
    ctx: &Ctx,
    list: &[Status],
    viewer: Option<i64>,
) -> AppResult<Vec<Value>> {
    let originals = originals(c, list)?;
    let mut all: Vec<&Status> = list.iter().collect();
    all.extend(originals.values());
    let sh = shared(c, ctx, &all)?;
    let mine = match viewer {
        Some(v) => personal(c, &all, &sh, &[v])?.remove(&v),
        None => None,
    };
    let me = match (viewer, &mine) {
        (Some(v), Some(m)) => Some((v, m)),
        _ => None,
    };
    Ok(render_list(ctx, list, &originals, &sh, me))
}

/// One status as each of `viewers` would get it from the REST API, with
/// the shared parts loaded once (streaming renders a post for many).
pub fn status_for_viewers(
    c: &mut DbConn,
    ctx: &Ctx,
    s: &Status,
    viewers: &[i64],
) -> AppResult<HashMap<i64, Value>> {
    let list = std::slice::from_ref(s);
    let originals = originals(c, list)?;
    let mut all: Vec<&Status> = vec![s];
    all.extend(originals.values());
    let sh = shared(c, ctx, &all)?;
    let per = personal(c, &all, &sh, viewers)?;
    let empty = Personal::default();
    Ok(viewers
        .iter()
        .map(|v| {
            let me = per.get(v).unwrap_or(&empty);
            let json = render_list(ctx, list, &originals, &sh, Some((*v, me)))
                .pop()
                .unwrap_or(Value::Null);
            (*v, json)
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
    if let Some(rid) = n.report_id
        && let Ok(r) = crate::domain::reports::by_id(c, rid)
    {
        v["report"] = report(c, ctx, &r)?;
    }
    Ok(v)
}

/// Conversation entities for their owner: the other participants (the
/// owner alone when writing to no one else, as Mastodon shows it) and the
/// latest post, rendered for the owner.
pub fn conversations(
    c: &mut DbConn,
    ctx: &Ctx,
    list: &[crate::domain::conversations::Conversation],
    owner: i64,
) -> AppResult<Vec<Value>> {
    use crate::db::schema::{accounts, statuses};
    let ids: Vec<i64> = list.iter().map(|x| x.last_status_id).collect();
    let rows: Vec<Status> = statuses::table
        .filter(statuses::id.eq_any(&ids))
        .select(Status::as_select())
        .load(c)?;
    let rendered: HashMap<i64, Value> = rows
        .iter()
        .map(|s| s.id)
        .zip(statuses(c, ctx, &rows, Some(owner))?)
        .collect();
    let mut people: Vec<i64> = list.iter().flat_map(|x| x.participants()).collect();
    people.push(owner);
    people.sort_unstable();
    people.dedup();
    let mut by_id = HashMap::new();
    for a in accounts::table
        .filter(accounts::id.eq_any(&people))
        .select(Account::as_select())
        .load::<Account>(c)?
    {
        by_id.insert(a.id, account(c, ctx, &a)?);
    }
    Ok(list
        .iter()
        .map(|conv| {
            let mut who = conv.participants();
            if who.is_empty() {
                who.push(owner);
            }
            json!({
                "id": conv.id.to_string(),
                "unread": conv.unread,
                "accounts": who.iter().filter_map(|a| by_id.get(a).cloned()).collect::<Vec<_>>(),
                "last_status": rendered.get(&conv.last_status_id).cloned().unwrap_or(Value::Null),
            })
        })
        .collect())
}

/// A Report entity, as its reporter sees it.
pub fn report(c: &mut DbConn, ctx: &Ctx, r: &crate::domain::reports::Report) -> AppResult<Value> {
    let target = Account::by_id(c, r.target_account_id)?;
    Ok(json!({
        "id": r.id.to_string(),
        "action_taken": r.action_taken_at.is_some(),
        "action_taken_at": r.action_taken_at.map(iso),
        "category": r.category,
        "comment": r.comment,
        "forwarded": r.forwarded,
        "created_at": iso(r.created_at),
        "status_ids": r.statuses().iter().map(i64::to_string).collect::<Vec<_>>(),
        "rule_ids": [],
        "target_account": account(c, ctx, &target)?,
    }))
}
