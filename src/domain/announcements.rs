//! Instance announcements: what admins tell everyone on the server once
//! (Mastodon's announcements). Each local person dismisses them and reacts
//! with emoji; the `user` streams hear of new, changed and gone ones.
//!
//! Streams are told through the workers when the change came from another
//! process (the CLI on SQLite cannot reach a running server): a change
//! marks the row pending, and [`flush`] tells the streams what each
//! pending row now is: shown, or gone (deleted, back to draft, or ended).

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::models::{Account, Status};
use crate::db::schema::{accounts, announcement_dismissals, announcement_reactions, announcements};
use crate::db::{DbConn, id, now};
use crate::domain::text::{self, MentionTarget};
use crate::error::{AppError, AppResult};
use crate::stream::bus::{self, Signal};

const MAX_TEXT: usize = 5_000;
/// As Mastodon: one person gives at most eight different reactions.
pub const MAX_REACTIONS: i64 = 8;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = announcements)]
pub struct Announcement {
    pub id: i64,
    pub text: String,
    pub content: String,
    pub starts_at: Option<NaiveDateTime>,
    pub ends_at: Option<NaiveDateTime>,
    pub all_day: bool,
    pub published_at: Option<NaiveDateTime>,
    pub mention_ids: String,
    pub status_ids: String,
    pub created_by: Option<i64>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub deleted_at: Option<NaiveDateTime>,
    pub streamed: String,
    pub stream_pending: bool,
}

impl Announcement {
    /// Whether people see it now: published, not deleted, not over.
    pub fn is_live(&self, at: NaiveDateTime) -> bool {
        self.published_at.is_some()
            && self.deleted_at.is_none()
            && self.ends_at.is_none_or(|e| e > at)
    }

    pub fn mentions(&self) -> Vec<i64> {
        ids(&self.mention_ids)
    }

    pub fn statuses(&self) -> Vec<i64> {
        ids(&self.status_ids)
    }
}

fn ids(s: &str) -> Vec<i64> {
    s.split(',').filter_map(|x| x.parse().ok()).collect()
}

fn join(ids: impl Iterator<Item = i64>) -> String {
    ids.map(|i| i.to_string()).collect::<Vec<_>>().join(",")
}

/// A create or an update; `None` keeps what is there.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    pub text: Option<String>,
    pub starts_at: Option<Option<NaiveDateTime>>,
    pub ends_at: Option<Option<NaiveDateTime>>,
    pub all_day: Option<bool>,
    pub published: Option<bool>,
}

/// A time as an admin writes it: RFC 3339, `YYYY-MM-DDTHH:MM[:SS]` (UTC)
/// or a date (its midnight, UTC). `field` names it in the error.
pub fn parse_time(field: &str, raw: &str) -> AppResult<Option<NaiveDateTime>> {
    let s = raw.trim();
    if s.is_empty() {
        return Ok(None);
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(Some(t.naive_utc()));
    }
    for f in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Ok(Some(t));
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0));
    }
    Err(AppError::Unprocessable(format!(
        "Validation failed: {field} is not a valid date ({s})"
    )))
}

fn check(text: &str, starts: Option<NaiveDateTime>, ends: Option<NaiveDateTime>) -> AppResult<()> {
    let fail = |m: &str| Err(AppError::Unprocessable(format!("Validation failed: {m}")));
    if text.trim().is_empty() {
        return fail("Text can't be blank");
    }
    if text.chars().count() > MAX_TEXT {
        return fail(&format!(
            "Text is too long (maximum is {MAX_TEXT} characters)"
        ));
    }
    if text.contains('\0') {
        return fail("Text contains a NUL character");
    }
    match (starts, ends) {
        (Some(s), Some(e)) if e <= s => fail("Ends at must be after starts at"),
        (Some(_), None) => fail("Ends at can't be blank when starts at is set"),
        (None, Some(_)) => fail("Starts at can't be blank when ends at is set"),
        _ => Ok(()),
    }
}

/// Mentions of accounts this server knows (local ones, or remote ones
/// already seen): an announcement never fetches anything.
fn known_mentions(c: &mut DbConn, text_: &str, local_domain: &str) -> QueryResult<Vec<Account>> {
    let mut out: Vec<Account> = Vec::new();
    for m in text::mentions_in(text_) {
        let host = m
            .host
            .as_deref()
            .filter(|h| !h.eq_ignore_ascii_case(local_domain));
        let found = match host {
            None => Account::local_by_username(c, &m.user)?,
            Some(h) => accounts::table
                .filter(crate::db::lower(accounts::username).eq(m.user.to_lowercase()))
                .filter(accounts::domain.eq(h))
                .select(Account::as_select())
                .first(c)
                .optional()?,
        };
        if let Some(a) = found
            && !out.iter().any(|x| x.id == a.id)
        {
            out.push(a);
        }
    }
    Ok(out)
}

/// Posts the text links to, public or unlisted ones only.
fn linked_statuses(c: &mut DbConn, text_: &str) -> QueryResult<Vec<i64>> {
    let links = text::links_in(text_);
    if links.is_empty() {
        return Ok(Vec::new());
    }
    use crate::db::schema::statuses;
    let mut found: Vec<(i64, String, Option<String>)> = statuses::table
        .filter(
            statuses::uri
                .eq_any(&links)
                .or(statuses::url.eq_any(&links)),
        )
        .filter(statuses::deleted_at.is_null())
        .filter(statuses::visibility.eq_any(["public", "unlisted"]))
        .select((statuses::id, statuses::uri, statuses::url))
        .load(c)?;
    // In the order the text links them.
    found.sort_by_key(|(_, uri, url)| {
        links
            .iter()
            .position(|l| l == uri || Some(l) == url.as_ref())
    });
    Ok(found.into_iter().map(|(id, ..)| id).collect())
}

fn rendered(
    c: &mut DbConn,
    text_: &str,
    base: &str,
    local_domain: &str,
) -> QueryResult<(String, String, String)> {
    let mentioned = known_mentions(c, text_, local_domain)?;
    let mut targets: HashMap<String, MentionTarget> = HashMap::new();
    for m in text::mentions_in(text_) {
        let host = m
            .host
            .as_deref()
            .filter(|h| !h.eq_ignore_ascii_case(local_domain));
        if let Some(a) = mentioned
            .iter()
            .find(|a| a.username.eq_ignore_ascii_case(&m.user) && a.domain.as_deref() == host)
        {
            targets.insert(
                m.key(),
                MentionTarget {
                    url: a.url.clone().unwrap_or_else(|| a.uri.clone()),
                    username: a.username.clone(),
                },
            );
        }
    }
    let html = text::render(text_, &targets, base);
    let statuses = linked_statuses(c, text_)?;
    Ok((
        html,
        join(mentioned.iter().map(|a| a.id)),
        join(statuses.into_iter()),
    ))
}

/// Where the text is rendered and mentions are resolved.
#[derive(Debug, Clone)]
pub struct Site {
    pub base: String,
    pub domain: String,
}

pub fn create(c: &mut DbConn, site: &Site, by: Option<i64>, d: Draft) -> AppResult<Announcement> {
    let text_ = d.text.unwrap_or_default();
    let starts = d.starts_at.flatten();
    let ends = d.ends_at.flatten();
    check(&text_, starts, ends)?;
    let (content, mention_ids, status_ids) = rendered(c, &text_, &site.base, &site.domain)?;
    let t = now();
    let published = d.published.unwrap_or(true);
    let new_id = id::next_id();
    diesel::insert_into(announcements::table)
        .values((
            announcements::id.eq(new_id),
            announcements::text.eq(&text_),
            announcements::content.eq(content),
            announcements::starts_at.eq(starts),
            announcements::ends_at.eq(ends),
            announcements::all_day.eq(d.all_day.unwrap_or(false) && starts.is_some()),
            announcements::published_at.eq(published.then_some(t)),
            announcements::mention_ids.eq(mention_ids),
            announcements::status_ids.eq(status_ids),
            announcements::created_by.eq(by),
            announcements::created_at.eq(t),
            announcements::updated_at.eq(t),
            announcements::stream_pending.eq(published),
        ))
        .execute(c)?;
    find(c, new_id)
}

/// An admin publishes (or drafts) an announcement: logged, and the open
/// streams told in the same transaction.
pub fn publish(c: &mut DbConn, site: &Site, by: i64, d: Draft) -> AppResult<Announcement> {
    let a = create(c, site, Some(by), d)?;
    crate::domain::moderation::log(
        c,
        by,
        "create_announcement",
        "announcement",
        &a.id.to_string(),
        "",
    )?;
    flush(c)?;
    find(c, a.id)
}

/// An admin takes an announcement down: logged, streams told.
pub fn take_down(c: &mut DbConn, by: i64, id: i64) -> AppResult<()> {
    delete(c, id)?;
    crate::domain::moderation::log(
        c,
        by,
        "destroy_announcement",
        "announcement",
        &id.to_string(),
        "",
    )?;
    flush(c)?;
    Ok(())
}

/// Any announcement not deleted, drafts included (for admins).
pub fn find(c: &mut DbConn, id: i64) -> AppResult<Announcement> {
    announcements::table
        .find(id)
        .filter(announcements::deleted_at.is_null())
        .select(Announcement::as_select())
        .first(c)
        .optional()?
        .ok_or_else(AppError::not_found)
}

pub fn update(c: &mut DbConn, site: &Site, id: i64, d: Draft) -> AppResult<Announcement> {
    let old = find(c, id)?;
    let text_ = d.text.unwrap_or(old.text.clone());
    let starts = d.starts_at.unwrap_or(old.starts_at);
    let ends = d.ends_at.unwrap_or(old.ends_at);
    check(&text_, starts, ends)?;
    let (content, mention_ids, status_ids) = rendered(c, &text_, &site.base, &site.domain)?;
    let published_at = match d.published {
        Some(true) => old.published_at.or(Some(now())),
        Some(false) => None,
        None => old.published_at,
    };
    diesel::update(announcements::table.find(id))
        .set((
            announcements::text.eq(&text_),
            announcements::content.eq(content),
            announcements::starts_at.eq(starts),
            announcements::ends_at.eq(ends),
            announcements::all_day.eq(d.all_day.unwrap_or(old.all_day) && starts.is_some()),
            announcements::published_at.eq(published_at),
            announcements::mention_ids.eq(mention_ids),
            announcements::status_ids.eq(status_ids),
            announcements::updated_at.eq(now()),
            // A draft nobody saw changes nothing on the streams.
            announcements::stream_pending.eq(published_at.is_some() || old.streamed == "shown"),
        ))
        .execute(c)?;
    find(c, id)
}

/// Gone for everyone; the row stays until the streams were told.
pub fn delete(c: &mut DbConn, id: i64) -> AppResult<()> {
    find(c, id)?;
    diesel::update(announcements::table.find(id))
        .set((
            announcements::deleted_at.eq(now()),
            announcements::stream_pending.eq(true),
        ))
        .execute(c)?;
    Ok(())
}

/// Every announcement not deleted, newest first (for admins).
pub fn all(c: &mut DbConn) -> QueryResult<Vec<Announcement>> {
    announcements::table
        .filter(announcements::deleted_at.is_null())
        .order(announcements::id.desc())
        .select(Announcement::as_select())
        .load(c)
}

/// The order Mastodon shows them in: by event start, else by publication.
fn chronological(list: &mut [Announcement]) {
    list.sort_by_key(|a| (a.starts_at.or(a.published_at).unwrap_or(a.created_at), a.id));
}

/// What `viewer` sees now: live announcements, without the ones they
/// dismissed unless asked.
pub fn visible(
    c: &mut DbConn,
    viewer: i64,
    with_dismissed: bool,
) -> QueryResult<Vec<Announcement>> {
    let t = now();
    let mut list: Vec<Announcement> = announcements::table
        .filter(announcements::published_at.is_not_null())
        .filter(announcements::deleted_at.is_null())
        .filter(
            announcements::ends_at
                .is_null()
                .or(announcements::ends_at.gt(t)),
        )
        .select(Announcement::as_select())
        .load(c)?;
    if !with_dismissed {
        let gone: HashSet<i64> = announcement_dismissals::table
            .filter(announcement_dismissals::account_id.eq(viewer))
            .select(announcement_dismissals::announcement_id)
            .load::<i64>(c)?
            .into_iter()
            .collect();
        list.retain(|a| !gone.contains(&a.id));
    }
    chronological(&mut list);
    Ok(list)
}

/// A live announcement, or 404 (drafts and ended ones are not there for
/// people).
pub fn live(c: &mut DbConn, id: i64) -> AppResult<Announcement> {
    find(c, id)
        .ok()
        .filter(|a| a.is_live(now()))
        .ok_or_else(AppError::not_found)
}

pub fn dismiss(c: &mut DbConn, viewer: i64, id: i64) -> AppResult<()> {
    live(c, id)?;
    let row = (
        announcement_dismissals::announcement_id.eq(id),
        announcement_dismissals::account_id.eq(viewer),
        announcement_dismissals::created_at.eq(now()),
    );
    let q = diesel::insert_into(announcement_dismissals::table).values(row);
    match c {
        DbConn::Sqlite(l) => q.on_conflict_do_nothing().execute(l)?,
        DbConn::Postgres(p) => q.on_conflict_do_nothing().execute(p)?,
    };
    Ok(())
}

/// Which of `ids` `viewer` dismissed.
pub fn dismissed(c: &mut DbConn, viewers: &[i64], ids: &[i64]) -> QueryResult<HashSet<(i64, i64)>> {
    Ok(announcement_dismissals::table
        .filter(announcement_dismissals::announcement_id.eq_any(ids))
        .filter(announcement_dismissals::account_id.eq_any(viewers))
        .select((
            announcement_dismissals::announcement_id,
            announcement_dismissals::account_id,
        ))
        .load::<(i64, i64)>(c)?
        .into_iter()
        .collect())
}

/// A reaction as the Announcement entity shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Reaction {
    pub name: String,
    pub count: i64,
    /// Who gave it, to fill `me` per viewer.
    pub by: HashSet<i64>,
}

/// Reactions to each of `ids`, in the order first given.
pub fn reactions(c: &mut DbConn, ids: &[i64]) -> QueryResult<HashMap<i64, Vec<Reaction>>> {
    let rows: Vec<(i64, i64, String)> = announcement_reactions::table
        .filter(announcement_reactions::announcement_id.eq_any(ids))
        .order((
            announcement_reactions::announcement_id,
            announcement_reactions::created_at,
        ))
        .select((
            announcement_reactions::announcement_id,
            announcement_reactions::account_id,
            announcement_reactions::name,
        ))
        .load(c)?;
    let mut out: HashMap<i64, Vec<Reaction>> = HashMap::new();
    for (a, who, name) in rows {
        let list = out.entry(a).or_default();
        match list.iter_mut().find(|r| r.name == name) {
            Some(r) => {
                r.count += 1;
                r.by.insert(who);
            }
            None => list.push(Reaction {
                name,
                count: 1,
                by: HashSet::from([who]),
            }),
        }
    }
    Ok(out)
}

/// A reaction's name: a Unicode emoji (custom emoji do not exist here).
pub fn check_reaction(name: &str) -> AppResult<String> {
    let n = name.trim();
    if emojis::get(n).is_none() {
        return Err(AppError::Unprocessable(
            "Validation failed: Name is not a recognized emoji".into(),
        ));
    }
    Ok(n.to_string())
}

/// The count a reaction stream event carries.
pub fn count_of(c: &mut DbConn, id: i64, name: &str) -> QueryResult<i64> {
    announcement_reactions::table
        .filter(announcement_reactions::announcement_id.eq(id))
        .filter(announcement_reactions::name.eq(name))
        .count()
        .get_result(c)
}

/// Adds `viewer`'s reaction (idempotent) and tells the streams the count.
pub fn react(c: &mut DbConn, viewer: i64, id: i64, name: &str) -> AppResult<()> {
    live(c, id)?;
    let name = check_reaction(name)?;
    let mine: Vec<String> = announcement_reactions::table
        .filter(announcement_reactions::announcement_id.eq(id))
        .filter(announcement_reactions::account_id.eq(viewer))
        .select(announcement_reactions::name)
        .load(c)?;
    if mine.contains(&name) {
        return Ok(());
    }
    if mine.len() as i64 >= MAX_REACTIONS {
        return Err(AppError::Unprocessable(
            "Validation failed: Maximum number of different reactions reached".into(),
        ));
    }
    diesel::insert_into(announcement_reactions::table)
        .values((
            announcement_reactions::announcement_id.eq(id),
            announcement_reactions::account_id.eq(viewer),
            announcement_reactions::name.eq(&name),
            announcement_reactions::created_at.eq(now()),
        ))
        .execute(c)?;
    bus::publish(c, Signal::AnnouncementReaction { i: id, n: name })?;
    Ok(())
}

/// Takes `viewer`'s reaction back (nothing to take is fine, as Mastodon).
pub fn unreact(c: &mut DbConn, viewer: i64, id: i64, name: &str) -> AppResult<()> {
    live(c, id)?;
    let name = name.trim();
    let n = diesel::delete(
        announcement_reactions::table
            .filter(announcement_reactions::announcement_id.eq(id))
            .filter(announcement_reactions::account_id.eq(viewer))
            .filter(announcement_reactions::name.eq(name)),
    )
    .execute(c)?;
    if n > 0 {
        bus::publish(
            c,
            Signal::AnnouncementReaction {
                i: id,
                n: name.to_string(),
            },
        )?;
    }
    Ok(())
}

/// Announcements whose change or end the streams have not heard of.
pub fn due(c: &mut DbConn, t: NaiveDateTime) -> QueryResult<Vec<Announcement>> {
    announcements::table
        .filter(
            announcements::stream_pending
                .eq(true)
                .or(announcements::streamed
                    .eq("shown")
                    .and(announcements::ends_at.le(t))),
        )
        .select(Announcement::as_select())
        .load(c)
}

/// Tells the streams about pending changes and announcements that ended;
/// the number told. Deleted rows told of are removed.
pub fn flush(c: &mut DbConn) -> QueryResult<usize> {
    let t = now();
    let due = due(c, t)?;
    for a in &due {
        let live = a.is_live(t);
        if live {
            bus::publish(c, Signal::Announcement { i: a.id })?;
        } else if a.streamed == "shown" {
            bus::publish(c, Signal::AnnouncementDelete { i: a.id })?;
        }
        if a.deleted_at.is_some() {
            diesel::delete(announcements::table.find(a.id)).execute(c)?;
        } else {
            diesel::update(announcements::table.find(a.id))
                .set((
                    announcements::stream_pending.eq(false),
                    announcements::streamed.eq(if live { "shown" } else { "gone" }),
                ))
                .execute(c)?;
        }
    }
    Ok(due.len())
}

/// Rows of `ids` that still exist, for rendering mentions and links.
pub fn mentioned_accounts(c: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<Account>> {
    accounts::table
        .filter(accounts::id.eq_any(ids))
        .select(Account::as_select())
        .load(c)
}

pub fn linked(c: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<Status>> {
    use crate::db::schema::statuses;
    statuses::table
        .filter(statuses::id.eq_any(ids))
        .filter(statuses::deleted_at.is_null())
        .select(Status::as_select())
        .load(c)
}
