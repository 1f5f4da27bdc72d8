//! Trends inside the organization: which hashtags and posts are catching on
//! among local and partner people lately. The workers recompute them
//! (`MEETFIELD_TRENDS_SECS`); requests read the stored result.
//!
//! A tag's score counts people more than posts: every account that used it
//! adds 1 (at the weight of its latest use), each further use 0.1 (five at
//! most), each weight halving per day of age over seven days; two people
//! at least. A
//! post's score is its favourites, replies and twice its boosts, halving
//! every 12 hours over two days. Only public original posts count, of
//! accounts that are discoverable, neither suspended nor silenced, and not
//! marked sensitive. Admins hide tags (`meetfield admin trends hide TAG`).
//!
//! A link trends as a tag does, counted over the posts whose preview card
//! it is (domain::cards); admins hide links by URL.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Timestamp};

use crate::db::schema::{
    preview_cards, trend_hidden_links, trend_hidden_tags, trend_links, trend_statuses, trend_tags,
};
use crate::db::{Db, DbConn, id, now};
use crate::error::{AppError, AppResult};
use crate::org::insights::insert_batches;

const TAG_DAYS: i64 = 7;
const STATUS_HOURS: i64 = 48;
/// Kept per run: more than any page asks for.
const KEEP: usize = 200;
/// People who must use a tag before it trends.
const MIN_ACCOUNTS: i64 = 2;

/// Weight of something `age_hours` old with the given half-life.
fn decay(age_hours: f64, half_life_hours: f64) -> f64 {
    0.5f64.powf(age_hours.max(0.0) / half_life_hours)
}

#[derive(QueryableByName)]
struct TagUse {
    #[diesel(sql_type = diesel::sql_types::Text)]
    tag: String,
    #[diesel(sql_type = BigInt)]
    account_id: i64,
    #[diesel(sql_type = Timestamp)]
    created_at: NaiveDateTime,
}

#[derive(QueryableByName)]
struct LinkUse {
    #[diesel(sql_type = BigInt)]
    card_id: i64,
    #[diesel(sql_type = BigInt)]
    account_id: i64,
    #[diesel(sql_type = Timestamp)]
    created_at: NaiveDateTime,
}

#[derive(QueryableByName)]
struct Candidate {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Timestamp)]
    created_at: NaiveDateTime,
    #[diesel(sql_type = BigInt)]
    favourites_count: i64,
    #[diesel(sql_type = BigInt)]
    reblogs_count: i64,
    #[diesel(sql_type = BigInt)]
    replies_count: i64,
}

/// Who may trend: the same rule for tags and posts.
const ELIGIBLE: &str = "s.visibility = 'public' AND s.reblog_of_id IS NULL \
    AND s.deleted_at IS NULL AND s.sensitive = ? \
    AND a.discoverable = ? AND a.suspended_at IS NULL AND a.silenced_at IS NULL";

fn sql(c: &DbConn, text: &str) -> String {
    // `?` placeholders become `$n` on PostgreSQL.
    if matches!(c, DbConn::Sqlite(_)) {
        return text.to_string();
    }
    let mut out = String::new();
    let mut n = 0;
    for ch in text.chars() {
        if ch == '?' {
            n += 1;
            out.push_str(&format!("${n}"));
        } else {
            out.push(ch);
        }
    }
    out
}

/// Scores of tags from their uses: (tag, score, accounts, uses).
pub fn score_tags(
    uses: &[(String, i64, NaiveDateTime)],
    at: NaiveDateTime,
) -> Vec<(String, f64, i64, i64)> {
    let mut per: HashMap<&str, HashMap<i64, (NaiveDateTime, i64)>> = HashMap::new();
    for (tag, account, when) in uses {
        let e = per
            .entry(tag.as_str())
            .or_default()
            .entry(*account)
            .or_insert((*when, 0));
        e.0 = e.0.max(*when);
        e.1 += 1;
    }
    let hours = |t: NaiveDateTime| (at - t).num_seconds() as f64 / 3600.0;
    let mut out: Vec<(String, f64, i64, i64)> = per
        .into_iter()
        .filter(|(_, accounts)| accounts.len() as i64 >= MIN_ACCOUNTS)
        .map(|(tag, accounts)| {
            let mut score = 0.0;
            let mut n = 0;
            for (latest, count) in accounts.values() {
                let w = decay(hours(*latest), 24.0);
                score += w + 0.1 * w * (*count - 1).min(5) as f64;
                n += count;
            }
            (tag.to_string(), score, accounts.len() as i64, n)
        })
        .collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}

/// What one computation kept.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Computed {
    pub tags: usize,
    pub posts: usize,
    pub links: usize,
}

impl std::fmt::Display for Computed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} tags, {} posts, {} links",
            self.tags, self.posts, self.links
        )
    }
}

/// Recomputes the trends of tags, posts and links.
pub async fn compute(db: &Db) -> AppResult<Computed> {
    db.transaction(|c| compute_in(c).map_err(AppError::from))
        .await
}

/// The best of `uses` (key, account, when) with their seven days of
/// history: (key, score, accounts, uses, history JSON).
fn ranked(
    uses: &[(String, i64, NaiveDateTime)],
    t: NaiveDateTime,
) -> Vec<(String, f64, i64, i64, String)> {
    let mut best = score_tags(uses, t);
    best.truncate(KEEP);
    let kept: HashMap<&str, usize> = best
        .iter()
        .enumerate()
        .map(|(i, x)| (x.0.as_str(), i))
        .collect();
    let mut per: Vec<Vec<(NaiveDateTime, i64)>> = vec![Vec::new(); best.len()];
    for (key, account, at) in uses {
        if let Some(&i) = kept.get(key.as_str()) {
            per[i].push((*at, *account));
        }
    }
    drop(kept);
    best.into_iter()
        .zip(per)
        .map(|((key, score, accounts, n), rows)| {
            let history =
                crate::domain::tags::history_json(&crate::domain::tags::days_of(&rows, t.date()))
                    .to_string();
            (key, score, accounts, n, history)
        })
        .collect()
}

fn compute_in(c: &mut DbConn) -> QueryResult<Computed> {
    let t = now();
    let since_tags = id::id_at_millis(
        (t - chrono::Duration::days(TAG_DAYS))
            .and_utc()
            .timestamp_millis(),
    );
    let q = sql(
        c,
        &format!(
            "SELECT st.tag AS tag, s.account_id AS account_id, s.created_at AS created_at \
             FROM status_tags st JOIN statuses s ON s.id = st.status_id \
             JOIN accounts a ON a.id = s.account_id \
             WHERE st.status_id >= ? AND {ELIGIBLE} \
             AND st.tag NOT IN (SELECT tag FROM trend_hidden_tags)"
        ),
    );
    let rows: Vec<TagUse> = diesel::sql_query(q)
        .bind::<BigInt, _>(since_tags)
        .bind::<Bool, _>(false)
        .bind::<Bool, _>(true)
        .load(c)?;
    let uses: Vec<(String, i64, NaiveDateTime)> = rows
        .into_iter()
        .map(|r| (r.tag, r.account_id, r.created_at))
        .collect();
    let tags = ranked(&uses, t);
    drop(uses);

    let q = sql(
        c,
        &format!(
            "SELECT sc.card_id AS card_id, s.account_id AS account_id, s.created_at AS created_at \
             FROM status_cards sc JOIN statuses s ON s.id = sc.status_id \
             JOIN accounts a ON a.id = s.account_id \
             JOIN preview_cards pc ON pc.id = sc.card_id \
             WHERE sc.status_id >= ? AND {ELIGIBLE} AND pc.state = 'ready' \
             AND pc.url NOT IN (SELECT url FROM trend_hidden_links)"
        ),
    );
    let rows: Vec<LinkUse> = diesel::sql_query(q)
        .bind::<BigInt, _>(since_tags)
        .bind::<Bool, _>(false)
        .bind::<Bool, _>(true)
        .load(c)?;
    let uses: Vec<(String, i64, NaiveDateTime)> = rows
        .into_iter()
        .map(|r| (r.card_id.to_string(), r.account_id, r.created_at))
        .collect();
    let links = ranked(&uses, t);
    drop(uses);

    let since_posts = id::id_at_millis(
        (t - chrono::Duration::hours(STATUS_HOURS))
            .and_utc()
            .timestamp_millis(),
    );
    let q = sql(
        c,
        &format!(
            "SELECT s.id AS id, s.created_at AS created_at, s.favourites_count AS favourites_count, \
             s.reblogs_count AS reblogs_count, s.replies_count AS replies_count \
             FROM statuses s JOIN accounts a ON a.id = s.account_id \
             WHERE s.id >= ? AND {ELIGIBLE} \
             AND s.favourites_count + s.reblogs_count + s.replies_count > 0"
        ),
    );
    let candidates: Vec<Candidate> = diesel::sql_query(q)
        .bind::<BigInt, _>(since_posts)
        .bind::<Bool, _>(false)
        .bind::<Bool, _>(true)
        .load(c)?;
    let mut posts: Vec<(i64, f64)> = candidates
        .iter()
        .map(|s| {
            let age = (t - s.created_at).num_seconds() as f64 / 3600.0;
            let raw = (s.favourites_count + s.replies_count + 2 * s.reblogs_count) as f64;
            (s.id, raw * decay(age, 12.0))
        })
        .collect();
    posts.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.0.cmp(&a.0)));
    posts.truncate(KEEP);

    diesel::delete(trend_tags::table).execute(c)?;
    diesel::delete(trend_statuses::table).execute(c)?;
    diesel::delete(trend_links::table).execute(c)?;
    let tag_rows: Vec<_> = tags
        .iter()
        .map(|(tag, score, accounts, uses, history)| {
            (
                trend_tags::tag.eq(tag.clone()),
                trend_tags::score.eq(*score),
                trend_tags::accounts.eq(*accounts),
                trend_tags::uses.eq(*uses),
                trend_tags::history.eq(history.clone()),
                trend_tags::computed_at.eq(t),
            )
        })
        .collect();
    insert_batches!(c, trend_tags::table, tag_rows);
    let link_rows: Vec<_> = links
        .iter()
        .filter_map(|(card, score, accounts, uses, history)| {
            Some((
                trend_links::card_id.eq(card.parse::<i64>().ok()?),
                trend_links::score.eq(*score),
                trend_links::accounts.eq(*accounts),
                trend_links::uses.eq(*uses),
                trend_links::history.eq(history.clone()),
                trend_links::computed_at.eq(t),
            ))
        })
        .collect();
    insert_batches!(c, trend_links::table, link_rows);
    let post_rows: Vec<_> = posts
        .iter()
        .map(|(id, score)| {
            (
                trend_statuses::status_id.eq(*id),
                trend_statuses::score.eq(*score),
                trend_statuses::computed_at.eq(t),
            )
        })
        .collect();
    insert_batches!(c, trend_statuses::table, post_rows);
    Ok(Computed {
        tags: tags.len(),
        posts: posts.len(),
        links: links.len(),
    })
}

/// Trending links (card ids) with their stored `history` JSON, best first.
pub fn links(c: &mut DbConn, offset: i64, limit: i64) -> QueryResult<Vec<(i64, String)>> {
    trend_links::table
        .order((trend_links::score.desc(), trend_links::card_id.desc()))
        .offset(offset)
        .limit(limit)
        .select((trend_links::card_id, trend_links::history))
        .load(c)
}

/// A link as admins name it: an http(s) URL, without its fragment (as
/// cards store it).
pub fn parse_link(raw: &str) -> AppResult<String> {
    let mut u = url::Url::parse(raw.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
        .ok_or_else(|| AppError::Unprocessable(format!("'{raw}' is not a web address")))?;
    u.set_fragment(None);
    Ok(u.to_string())
}

/// Keeps a link out of trends (at once, and from every later run).
pub fn hide_link(c: &mut DbConn, raw: &str) -> AppResult<String> {
    let url = parse_link(raw)?;
    let q = diesel::insert_into(trend_hidden_links::table).values((
        trend_hidden_links::url.eq(&url),
        trend_hidden_links::created_at.eq(now()),
    ));
    match c {
        DbConn::Sqlite(l) => q.on_conflict_do_nothing().execute(l)?,
        DbConn::Postgres(p) => q.on_conflict_do_nothing().execute(p)?,
    };
    let cards: Vec<i64> = preview_cards::table
        .filter(preview_cards::url.eq(&url))
        .select(preview_cards::id)
        .load(c)?;
    diesel::delete(trend_links::table.filter(trend_links::card_id.eq_any(&cards))).execute(c)?;
    Ok(url)
}

/// Lets a hidden link trend again (from the next run); whether it was hidden.
pub fn allow_link(c: &mut DbConn, raw: &str) -> AppResult<(String, bool)> {
    let url = parse_link(raw)?;
    let n = diesel::delete(trend_hidden_links::table.find(&url)).execute(c)?;
    Ok((url, n > 0))
}

pub fn hidden_links(c: &mut DbConn) -> QueryResult<Vec<String>> {
    trend_hidden_links::table
        .order(trend_hidden_links::url.asc())
        .select(trend_hidden_links::url)
        .load(c)
}

/// Trending tags with their stored `history` JSON, best first (hidden
/// ones are never stored).
pub fn tags(c: &mut DbConn, offset: i64, limit: i64) -> QueryResult<Vec<(String, String)>> {
    trend_tags::table
        .order((trend_tags::score.desc(), trend_tags::tag.asc()))
        .offset(offset)
        .limit(limit)
        .select((trend_tags::tag, trend_tags::history))
        .load(c)
}

/// Trending post ids, best first (visibility is the caller's to check).
pub fn statuses(c: &mut DbConn, offset: i64, limit: i64) -> QueryResult<Vec<i64>> {
    trend_statuses::table
        .order((
            trend_statuses::score.desc(),
            trend_statuses::status_id.desc(),
        ))
        .offset(offset)
        .limit(limit)
        .select(trend_statuses::status_id)
        .load(c)
}

/// Keeps `raw` out of trends (at once, and from every later run).
pub fn hide(c: &mut DbConn, raw: &str) -> AppResult<String> {
    let (name, _) = crate::domain::tags::parse_name(raw)?;
    let q = diesel::insert_into(trend_hidden_tags::table).values((
        trend_hidden_tags::tag.eq(&name),
        trend_hidden_tags::created_at.eq(now()),
    ));
    match c {
        DbConn::Sqlite(l) => q.on_conflict_do_nothing().execute(l)?,
        DbConn::Postgres(p) => q.on_conflict_do_nothing().execute(p)?,
    };
    diesel::delete(trend_tags::table.find(&name)).execute(c)?;
    Ok(name)
}

/// Lets a hidden tag trend again (from the next run); whether it was hidden.
pub fn allow(c: &mut DbConn, raw: &str) -> AppResult<(String, bool)> {
    let (name, _) = crate::domain::tags::parse_name(raw)?;
    let n = diesel::delete(trend_hidden_tags::table.find(&name)).execute(c)?;
    Ok((name, n > 0))
}

pub fn hidden(c: &mut DbConn) -> QueryResult<Vec<String>> {
    trend_hidden_tags::table
        .order(trend_hidden_tags::tag.asc())
        .select(trend_hidden_tags::tag)
        .load(c)
}

/// What the admin console shows: the trending tags and links with their
/// counts (people, posts), the trending post ids, and what is hidden.
pub struct Overview {
    pub tags: Vec<(String, i64, i64)>,
    pub links: Vec<(crate::domain::cards::Card, i64, i64)>,
    pub posts: Vec<i64>,
    pub hidden_tags: Vec<String>,
    pub hidden_links: Vec<String>,
}

pub fn overview(c: &mut DbConn, limit: i64) -> QueryResult<Overview> {
    let tags = trend_tags::table
        .order((trend_tags::score.desc(), trend_tags::tag.asc()))
        .limit(limit)
        .select((trend_tags::tag, trend_tags::accounts, trend_tags::uses))
        .load(c)?;
    let ranked: Vec<(i64, i64, i64)> = trend_links::table
        .order((trend_links::score.desc(), trend_links::card_id.desc()))
        .limit(limit)
        .select((
            trend_links::card_id,
            trend_links::accounts,
            trend_links::uses,
        ))
        .load(c)?;
    let ids: Vec<i64> = ranked.iter().map(|r| r.0).collect();
    let mut cards = crate::domain::cards::by_ids(c, &ids)?;
    let links = ranked
        .into_iter()
        .filter_map(|(id, a, u)| Some((cards.remove(&id)?, a, u)))
        .collect();
    Ok(Overview {
        tags,
        links,
        posts: statuses(c, 0, limit)?,
        hidden_tags: hidden(c)?,
        hidden_links: hidden_links(c)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn people_weigh_more_than_posts_and_old_uses_fade() {
        let at = chrono::DateTime::from_timestamp(1_800_000_000, 0)
            .unwrap()
            .naive_utc();
        let h = |n: i64| at - chrono::Duration::hours(n);
        let mut uses = Vec::new();
        // #spam: one account, fifty posts: never trends.
        for _ in 0..50 {
            uses.push(("spam".to_string(), 1, h(1)));
        }
        // #launch: four people today.
        for a in 10..14 {
            uses.push(("launch".to_string(), a, h(2)));
        }
        // #noisy: two people, twenty posts each, today.
        for a in [20, 21] {
            for _ in 0..20 {
                uses.push(("noisy".to_string(), a, h(2)));
            }
        }
        // #lastweek: six people, six days ago.
        for a in 30..36 {
            uses.push(("lastweek".to_string(), a, h(24 * 6)));
        }
        let got = score_tags(&uses, at);
        let order: Vec<&str> = got.iter().map(|t| t.0.as_str()).collect();
        assert_eq!(order, vec!["launch", "noisy", "lastweek"], "{got:?}");
        let noisy = &got[1];
        assert_eq!((noisy.2, noisy.3), (2, 40));
        assert!(got.iter().all(|t| t.0 != "spam"));
    }
}
