//! Hashtags people care about: the ones they feature on their profile
//! (Mastodon's featured tags, declared interests for "who knows X?"), and
//! how much a tag was used lately.

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::models::Account;
use crate::db::schema::{featured_tags, status_tags, statuses};
use crate::db::{DbConn, now};
use crate::error::{AppError, AppResult};

/// As Mastodon: ten featured tags per profile.
pub const MAX_FEATURED: usize = 10;
const MAX_NAME_CHARS: usize = 100;

#[derive(Debug, Clone, PartialEq)]
pub struct FeaturedTag {
    pub id: i64,
    pub name: String,
    pub display_name: String,
    /// The owner's public and unlisted posts carrying the tag.
    pub statuses_count: i64,
    pub last_status_at: Option<NaiveDate>,
}

/// `(normalized, as written)` for a hashtag name ("#KubeCon" → kubecon),
/// or 422 when it is not one (Mastodon's rule: word characters, not only
/// digits).
pub fn parse_name(raw: &str) -> AppResult<(String, String)> {
    let display = raw.trim().trim_start_matches('#').to_string();
    let ok = !display.is_empty()
        && display.chars().count() <= MAX_NAME_CHARS
        && display.chars().all(|c| c.is_alphanumeric() || c == '_')
        && display.chars().any(|c| c.is_alphabetic());
    if !ok {
        return Err(AppError::Unprocessable(
            "Validation failed: Tag is invalid".into(),
        ));
    }
    Ok((display.to_lowercase(), display))
}

/// An account's featured tags, in the order they were featured, with the
/// use counts their owner's posts give them.
pub fn featured(c: &mut DbConn, account_id: i64) -> QueryResult<Vec<FeaturedTag>> {
    let rows: Vec<(i64, String, String)> = featured_tags::table
        .filter(featured_tags::account_id.eq(account_id))
        .order(featured_tags::id.asc())
        .select((
            featured_tags::id,
            featured_tags::name,
            featured_tags::display_name,
        ))
        .load(c)?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let names: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    let uses: Vec<(String, NaiveDateTime)> = status_tags::table
        .inner_join(statuses::table)
        .filter(statuses::account_id.eq(account_id))
        .filter(status_tags::tag.eq_any(&names))
        .filter(statuses::visibility.eq_any(["public", "unlisted"]))
        .filter(statuses::deleted_at.is_null())
        .filter(statuses::reblog_of_id.is_null())
        .select((status_tags::tag, statuses::created_at))
        .load(c)?;
    let mut stats: HashMap<String, (i64, Option<NaiveDateTime>)> = HashMap::new();
    for (tag, at) in uses {
        let e = stats.entry(tag).or_default();
        e.0 += 1;
        e.1 = e.1.max(Some(at));
    }
    Ok(rows
        .into_iter()
        .map(|(id, name, display_name)| {
            let (n, last) = stats.get(&name).copied().unwrap_or_default();
            FeaturedTag {
                id,
                name,
                display_name,
                statuses_count: n,
                last_status_at: last.map(|t| t.date()),
            }
        })
        .collect())
}

/// Features a tag on a local profile. `again_ok` makes featuring a tag
/// already featured a no-op (`/tags/:name/feature`) instead of a 422
/// (`POST /featured_tags`, as Mastodon).
pub fn feature(
    c: &mut DbConn,
    account: &Account,
    raw: &str,
    again_ok: bool,
    base: &str,
) -> AppResult<FeaturedTag> {
    let (name, display) = parse_name(raw)?;
    let existing = featured_tags::table
        .filter(featured_tags::account_id.eq(account.id))
        .filter(featured_tags::name.eq(&name))
        .select(featured_tags::id)
        .first::<i64>(c)
        .optional()?;
    if existing.is_some() && !again_ok {
        return Err(AppError::Unprocessable(
            "Validation failed: Tag has already been taken".into(),
        ));
    }
    if existing.is_none() {
        let count: i64 = featured_tags::table
            .filter(featured_tags::account_id.eq(account.id))
            .count()
            .get_result(c)?;
        if count as usize >= MAX_FEATURED {
            return Err(AppError::Unprocessable(format!(
                "Validation failed: You can feature at most {MAX_FEATURED} hashtags"
            )));
        }
        crate::db::models::status::tag_id(c, &name)?;
        diesel::insert_into(featured_tags::table)
            .values((
                featured_tags::id.eq(crate::db::id::next_id()),
                featured_tags::account_id.eq(account.id),
                featured_tags::name.eq(&name),
                featured_tags::display_name.eq(&display),
                featured_tags::created_at.eq(now()),
            ))
            .execute(c)?;
        changed(c, account, base)?;
    }
    featured(c, account.id)?
        .into_iter()
        .find(|t| t.name == name)
        .ok_or_else(AppError::not_found)
}

/// Stops featuring a tag, by the featured tag's id; 404 when it is not the
/// account's.
pub fn unfeature_id(c: &mut DbConn, account: &Account, id: i64, base: &str) -> AppResult<()> {
    let n = diesel::delete(
        featured_tags::table
            .filter(featured_tags::id.eq(id))
            .filter(featured_tags::account_id.eq(account.id)),
    )
    .execute(c)?;
    if n == 0 {
        return Err(AppError::not_found());
    }
    changed(c, account, base)
}

/// Stops featuring a tag by name (nothing to do when it was not featured).
pub fn unfeature_name(c: &mut DbConn, account: &Account, raw: &str, base: &str) -> AppResult<()> {
    let (name, _) = parse_name(raw)?;
    let n = diesel::delete(
        featured_tags::table
            .filter(featured_tags::name.eq(&name))
            .filter(featured_tags::account_id.eq(account.id)),
    )
    .execute(c)?;
    if n > 0 {
        changed(c, account, base)?;
    }
    Ok(())
}

/// Featured tags are declared interests: reindexed for "who knows X?", and
/// the actor's followers' servers are told.
fn changed(c: &mut DbConn, account: &Account, base: &str) -> AppResult<()> {
    let a = Account::by_id(c, account.id)?;
    crate::org::profile::reindex_account(c, a.id, &a.fields, &Default::default())?;
    crate::domain::accounts::send_actor_update(c, a.id, base)?;
    Ok(())
}

/// Names featured by an account (normalized), for indexing.
pub fn featured_names(c: &mut DbConn, account_id: i64) -> QueryResult<Vec<(String, String)>> {
    featured_tags::table
        .filter(featured_tags::account_id.eq(account_id))
        .order(featured_tags::id.asc())
        .select((featured_tags::name, featured_tags::display_name))
        .load(c)
}

/// Replaces a remote account's featured tags with what its collection
/// lists (invalid names skipped, at most `MAX_FEATURED` kept).
pub fn store_remote(c: &mut DbConn, account_id: i64, names: &[String]) -> QueryResult<()> {
    let mut seen = HashSet::new();
    let wanted: Vec<(String, String)> = names
        .iter()
        .filter_map(|n| parse_name(n).ok())
        .filter(|(n, _)| seen.insert(n.clone()))
        .take(MAX_FEATURED)
        .collect();
    let current = featured_names(c, account_id)?;
    if current == wanted {
        return Ok(());
    }
    diesel::delete(featured_tags::table.filter(featured_tags::account_id.eq(account_id)))
        .execute(c)?;
    for (name, display) in &wanted {
        diesel::insert_into(featured_tags::table)
            .values((
                featured_tags::id.eq(crate::db::id::next_id()),
                featured_tags::account_id.eq(account_id),
                featured_tags::name.eq(name),
                featured_tags::display_name.eq(display),
                featured_tags::created_at.eq(now()),
            ))
            .execute(c)?;
    }
    Ok(())
}

/// Reads a remote account's featured tags from its collection (on its own
/// host only) and reindexes what the account declares.
pub async fn sync_remote(
    data: &crate::federation::FedData,
    owner: &Account,
    collection: &url::Url,
    extra: crate::org::profile::SchemaOrg,
) -> AppResult<()> {
    if collection.host_str() != url::Url::parse(&owner.uri)?.host_str() {
        return Ok(());
    }
    let fetched = activitypub_federation::fetch::fetch_object_http::<
        crate::app::AppState,
        serde_json::Value,
    >(collection, data)
    .await?
    .object;
    let names = crate::federation::protocol::actor::hashtag_names(&fetched);
    let id = owner.id;
    data.db
        .transaction(move |c| {
            store_remote(c, id, &names)?;
            let a = Account::by_id(c, id)?;
            crate::org::profile::reindex_account(c, id, &a.fields, &extra)?;
            Ok::<_, AppError>(())
        })
        .await
}

/// Up to ten tags the account used lately and does not feature yet, most
/// recent first (`/featured_tags/suggestions`).
pub fn suggestions(c: &mut DbConn, account_id: i64) -> QueryResult<Vec<String>> {
    let featured: HashSet<String> = featured_names(c, account_id)?
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    let recent: Vec<String> = status_tags::table
        .inner_join(statuses::table)
        .filter(statuses::account_id.eq(account_id))
        .filter(statuses::deleted_at.is_null())
        .order(statuses::id.desc())
        .limit(500)
        .select(status_tags::tag)
        .load(c)?;
    let mut seen = HashSet::new();
    Ok(recent
        .into_iter()
        .filter(|t| !featured.contains(t) && seen.insert(t.clone()))
        .take(MAX_FEATURED)
        .collect())
}

/// A known tag's id (None for a name nobody used or featured).
pub fn id_of(c: &mut DbConn, name: &str) -> QueryResult<Option<i64>> {
    use crate::db::schema::tags;
    tags::table
        .filter(tags::name.eq(name))
        .select(tags::id)
        .first(c)
        .optional()
}

/// Whether the account features `name`.
pub fn is_featured(c: &mut DbConn, account_id: i64, name: &str) -> QueryResult<bool> {
    Ok(featured_tags::table
        .filter(featured_tags::account_id.eq(account_id))
        .filter(featured_tags::name.eq(name))
        .count()
        .get_result::<i64>(c)?
        > 0)
}

/// Follows `raw` for `account` (idempotent); the tag is created if nobody
/// used it yet, so it has an id.
pub fn follow(c: &mut DbConn, account_id: i64, raw: &str) -> AppResult<String> {
    use crate::db::schema::tag_follows;
    let (name, _) = parse_name(raw)?;
    crate::db::models::status::tag_id(c, &name)?;
    let insert = diesel::insert_into(tag_follows::table).values((
        tag_follows::id.eq(crate::db::id::next_id()),
        tag_follows::account_id.eq(account_id),
        tag_follows::tag.eq(&name),
        tag_follows::created_at.eq(now()),
    ));
    match c {
        DbConn::Sqlite(l) => insert.on_conflict_do_nothing().execute(l)?,
        DbConn::Postgres(p) => insert.on_conflict_do_nothing().execute(p)?,
    };
    Ok(name)
}

/// Stops following `raw` (not following is fine, as Mastodon).
pub fn unfollow(c: &mut DbConn, account_id: i64, raw: &str) -> AppResult<String> {
    use crate::db::schema::tag_follows;
    let (name, _) = parse_name(raw)?;
    diesel::delete(
        tag_follows::table
            .filter(tag_follows::account_id.eq(account_id))
            .filter(tag_follows::tag.eq(&name)),
    )
    .execute(c)?;
    Ok(name)
}

pub fn is_following(c: &mut DbConn, account_id: i64, name: &str) -> QueryResult<bool> {
    use crate::db::schema::tag_follows;
    diesel::select(diesel::dsl::exists(
        tag_follows::table
            .filter(tag_follows::account_id.eq(account_id))
            .filter(tag_follows::tag.eq(name)),
    ))
    .get_result(c)
}

/// Every tag `account` follows.
pub fn followed_names(c: &mut DbConn, account_id: i64) -> QueryResult<Vec<String>> {
    use crate::db::schema::tag_follows;
    tag_follows::table
        .filter(tag_follows::account_id.eq(account_id))
        .order(tag_follows::id.asc())
        .select(tag_follows::tag)
        .load(c)
}

/// A page of followed tags, `(follow id, name)`, newest follow first.
pub fn followed_page(
    c: &mut DbConn,
    account_id: i64,
    page: crate::domain::timelines::Page,
) -> QueryResult<Vec<(i64, String)>> {
    use crate::db::schema::tag_follows;
    let mut q = tag_follows::table
        .filter(tag_follows::account_id.eq(account_id))
        .select((tag_follows::id, tag_follows::tag))
        .into_boxed();
    if let Some(m) = page.max_id {
        q = q.filter(tag_follows::id.lt(m));
    }
    if let Some(s) = page.since_id {
        q = q.filter(tag_follows::id.gt(s));
    }
    if let Some(m) = page.min_id {
        let mut rows: Vec<(i64, String)> = q
            .filter(tag_follows::id.gt(m))
            .order(tag_follows::id.asc())
            .limit(page.limit)
            .load(c)?;
        rows.reverse();
        return Ok(rows);
    }
    q.order(tag_follows::id.desc()).limit(page.limit).load(c)
}

/// One day of a tag's use: the day's midnight (UTC, Unix seconds), posts,
/// distinct authors.
#[derive(Debug, Clone, PartialEq)]
pub struct DayUse {
    pub day: i64,
    pub uses: i64,
    pub accounts: i64,
}

/// The last seven days of a tag's public use, today first (Mastodon's
/// `history`).
pub fn history(c: &mut DbConn, name: &str) -> QueryResult<Vec<DayUse>> {
    let today = now().date();
    let since = (today - chrono::Duration::days(6))
        .and_hms_opt(0, 0, 0)
        .expect("midnight");
    // Newest first and bounded: a tag in a storm costs the same. Ids are
    // time-ordered, so the index range ends at the first day.
    let first_id = crate::db::id::id_at_millis(since.and_utc().timestamp_millis());
    let rows: Vec<(NaiveDateTime, i64)> = status_tags::table
        .inner_join(statuses::table)
        .filter(status_tags::tag.eq(name))
        .filter(status_tags::status_id.ge(first_id))
        .filter(statuses::created_at.ge(since))
        .filter(statuses::visibility.eq_any(["public", "unlisted"]))
        .filter(statuses::deleted_at.is_null())
        .order(status_tags::status_id.desc())
        .limit(20_000)
        .select((statuses::created_at, statuses::account_id))
        .load(c)?;
    Ok(days_of(&rows, today))
}

/// Seven days of uses, today first, from `(posted at, account)` pairs.
pub fn days_of(rows: &[(NaiveDateTime, i64)], today: NaiveDate) -> Vec<DayUse> {
    let mut days: Vec<(i64, HashSet<i64>)> = vec![(0, HashSet::new()); 7];
    for &(at, account) in rows {
        let back = (today - at.date()).num_days();
        if let Some(d) = usize::try_from(back).ok().and_then(|b| days.get_mut(b)) {
            d.0 += 1;
            d.1.insert(account);
        }
    }
    days.into_iter()
        .enumerate()
        .map(|(back, (uses, authors))| DayUse {
            day: (today - chrono::Duration::days(back as i64))
                .and_hms_opt(0, 0, 0)
                .expect("midnight")
                .and_utc()
                .timestamp(),
            uses,
            accounts: authors.len() as i64,
        })
        .collect()
}

/// A day list as Mastodon's Tag `history`: numbers as strings.
pub fn history_json(days: &[DayUse]) -> serde_json::Value {
    days.iter()
        .map(|d| {
            serde_json::json!({
                "day": d.day.to_string(),
                "uses": d.uses.to_string(),
                "accounts": d.accounts.to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_names() {
        assert_eq!(
            parse_name(" #KubeCon ").unwrap(),
            ("kubecon".into(), "KubeCon".into())
        );
        assert_eq!(parse_name("été_2026").unwrap().0, "été_2026");
        for bad in ["", "#", "2026", "a b", "a-b", "<b>", "a\0"] {
            assert!(parse_name(bad).is_err(), "{bad:?}");
        }
        assert!(parse_name(&"a".repeat(101)).is_err());
    }
}
