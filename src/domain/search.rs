//! Full-text search of posts, the organization's memory: Mastodon's query
//! language (`from:`, `has:`, `is:`, `language:`, `before:`/`after:`/
//! `during:`, `in:`, quoted phrases, `-` exclusion) over SQLite FTS5 or
//! PostgreSQL full text, with what the viewer may see decided at query
//! time. The index row of a post is written in the post's transaction.
//!
//! Ranking reads only the candidate's own text (term counts, phrases, age),
//! never corpus statistics such as BM25's: how other, invisible posts use a
//! word must not move what a viewer sees.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::sync::LazyLock;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};
use regex::Regex;

use crate::db::models::{Account, Status};
use crate::db::schema::{accounts, media_attachments, poll_options, polls, status_search};
use crate::db::{DbConn, lower, now};
use crate::domain::html;
use crate::error::{AppError, AppResult};
use crate::org::expertise::stem;

/// Longer queries are cut, as are queries with more parts.
const MAX_QUERY_CHARS: usize = 500;
const MAX_PARTS: usize = 16;
/// Posts mentioning a topic read for answers, newest first: a common word
/// costs the same as a rare one (unbounded, 100,000 matches took 3 s).
const RECENT_MATCHES: i64 = 2000;
/// The most recent matching posts the viewer may see, ranked in full
/// (more when a later page is asked for).
const CANDIDATES: i64 = 200;
pub const MAX_LIMIT: i64 = 40;
const MAX_OFFSET: i64 = 1000;

// ---------------------------------------------------------------- indexing

static ANCHOR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?is)<a\b[^>]*>(.*?)</a>").expect("anchor regex"));

/// Plain text of HTML with word boundaries kept (`<p>a</p><p>b</p>` is
/// "a b", not "ab").
fn plain(html_text: &str) -> String {
    html::strip_tags(&html_text.replace('<', " <"))
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A link that is not a mention or a hashtag.
fn has_link(content: &str) -> bool {
    ANCHOR.captures_iter(content).any(|c| {
        let text = plain(&c[1]);
        !(text.starts_with('@') || text.starts_with('#'))
    })
}

/// Writes (or rewrites) the index row of a post: text, content warning,
/// media descriptions, poll options. Boosts are not indexed.
pub fn index_status(c: &mut DbConn, status_id: i64) -> QueryResult<()> {
    let s = Status::by_id(c, status_id)?;
    if s.reblog_of_id.is_some() || s.deleted_at.is_some() {
        return diesel::delete(status_search::table.find(status_id))
            .execute(c)
            .map(drop);
    }
    let mut body = match (&s.text, s.local) {
        (Some(t), true) => t.clone(),
        _ => plain(&s.content),
    };
    if !s.spoiler_text.is_empty() {
        body.push('\n');
        body.push_str(&s.spoiler_text);
    }
    let descriptions: Vec<String> = media_attachments::table
        .filter(media_attachments::status_id.eq(status_id))
        .filter(media_attachments::description.ne(""))
        .order(media_attachments::position.asc())
        .select(media_attachments::description)
        .load(c)?;
    let options: Vec<String> = poll_options::table
        .inner_join(polls::table)
        .filter(polls::status_id.eq(status_id))
        .order(poll_options::idx.asc())
        .select(poll_options::title)
        .load(c)?;
    for extra in descriptions.iter().chain(&options) {
        body.push('\n');
        body.push_str(extra);
    }
    let body: String = body.replace('\0', "");
    let link = has_link(&s.content);
    let updated = diesel::update(status_search::table.find(status_id))
        .set((
            status_search::body.eq(&body),
            status_search::has_link.eq(link),
        ))
        .execute(c)?;
    if updated == 0 {
        diesel::insert_into(status_search::table)
            .values((
                status_search::status_id.eq(status_id),
                status_search::body.eq(&body),
                status_search::has_link.eq(link),
            ))
            .execute(c)?;
    }
    Ok(())
}

/// Indexes up to `batch` posts written before the index existed, newest
/// first; returns how many (0 when all are done).
pub fn backfill(c: &mut DbConn, batch: i64) -> QueryResult<usize> {
    use crate::db::schema::statuses;
    let ids: Vec<i64> = statuses::table
        .filter(statuses::reblog_of_id.is_null())
        .filter(statuses::deleted_at.is_null())
        .filter(diesel::dsl::not(diesel::dsl::exists(
            status_search::table.filter(status_search::status_id.eq(statuses::id)),
        )))
        .order(statuses::id.desc())
        .limit(batch)
        .select(statuses::id)
        .load(c)?;
    for id in &ids {
        index_status(c, *id)?;
    }
    Ok(ids.len())
}

// ------------------------------------------------------- accounts by name

/// The words of a name query ("@Ana_B" → ["ana", "b"]), at most four.
pub fn name_words(q: &str) -> Vec<String> {
    q.split(|ch: char| !ch.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(4)
        .map(str::to_lowercase)
        .collect()
}

/// Accounts (at most `limit`) with a word of their username or display
/// name starting with each word of `q`: "ana b" finds "Ana Berg" and
/// `ana_bo`; "jones" finds "Carol Jones".
pub fn accounts_named(c: &mut DbConn, q: &str, limit: i64) -> QueryResult<Vec<i64>> {
    let words = name_words(q);
    if words.is_empty() {
        return Ok(Vec::new());
    }
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    // Only letters and digits reach the query: no FTS or tsquery syntax.
    let rows = match c {
        DbConn::Sqlite(lite) => diesel::sql_query(
            "SELECT rowid AS id FROM account_names_fts WHERE account_names_fts MATCH ? LIMIT ?",
        )
        .bind::<Text, _>(
            words
                .iter()
                .map(|w| format!("\"{w}\"*"))
                .collect::<Vec<_>>()
                .join(" AND "),
        )
        .bind::<BigInt, _>(limit)
        .load::<Row>(lite)?,
        DbConn::Postgres(pg) => diesel::sql_query(
            "SELECT id FROM accounts WHERE to_tsvector('simple', username || ' ' || display_name) @@ to_tsquery('simple', $1) LIMIT $2",
        )
        .bind::<Text, _>(
            words
                .iter()
                .map(|w| format!("{w}:*"))
                .collect::<Vec<_>>()
                .join(" & "),
        )
        .bind::<BigInt, _>(limit)
        .load::<Row>(pg)?,
    };
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// Ids of the latest public or unlisted posts matching any of `words`
/// (the full-text index; newest first, at most `RECENT_MATCHES`).
pub fn recent_matches(c: &mut DbConn, words: &[String]) -> QueryResult<Vec<i64>> {
    let words: Vec<String> = words.iter().flat_map(|w| name_words(w)).collect();
    if words.is_empty() {
        return Ok(Vec::new());
    }
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    let rows: Vec<Row> = match c {
        DbConn::Sqlite(lite) => diesel::sql_query(format!(
            "SELECT rowid AS id FROM status_search_fts WHERE status_search_fts MATCH ? \
             ORDER BY rowid DESC LIMIT {RECENT_MATCHES}"
        ))
        .bind::<Text, _>(
            words
                .iter()
                .map(|w| format!("\"{w}\""))
                .collect::<Vec<_>>()
                .join(" OR "),
        )
        .load(lite)?,
        DbConn::Postgres(pg) => diesel::sql_query(format!(
            "SELECT status_id AS id FROM status_search WHERE document @@ to_tsquery('english', $1) \
             ORDER BY status_id DESC LIMIT {RECENT_MATCHES}"
        ))
        .bind::<Text, _>(words.join(" | "))
        .load(pg)?,
    };
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// `(author, favourites by others)` for public or unlisted replies (at
/// most `limit`, of the last year, among the newest posts that mention any
/// of `words`) that someone other than their author favourited: "who
/// knows X?" counts them as answers.
pub fn favourited_replies(
    c: &mut DbConn,
    words: &[String],
    limit: i64,
) -> QueryResult<Vec<(i64, i64)>> {
    let words: Vec<String> = words.iter().flat_map(|w| name_words(w)).collect();
    if words.is_empty() {
        return Ok(Vec::new());
    }
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = BigInt)]
        id: i64,
        #[diesel(sql_type = BigInt)]
        account_id: i64,
    }
    let since = now() - chrono::Duration::days(365);
    let filters = "s.in_reply_to_id IS NOT NULL AND s.favourites_count > 0 \
                   AND s.visibility IN ('public', 'unlisted') AND s.deleted_at IS NULL";
    // Letters and digits only reach the query.
    let rows: Vec<Row> = match c {
        DbConn::Sqlite(lite) => diesel::sql_query(format!(
            "SELECT s.id AS id, s.account_id AS account_id FROM \
             (SELECT rowid AS rid FROM status_search_fts WHERE status_search_fts MATCH ? \
              ORDER BY rowid DESC LIMIT {RECENT_MATCHES}) f \
             CROSS JOIN statuses s WHERE s.id = f.rid AND {filters} AND s.created_at > ? LIMIT ?"
        ))
        .bind::<Text, _>(
            words
                .iter()
                .map(|w| format!("\"{w}\""))
                .collect::<Vec<_>>()
                .join(" OR "),
        )
        .bind::<Timestamp, _>(since)
        .bind::<BigInt, _>(limit)
        .load(lite)?,
        DbConn::Postgres(pg) => diesel::sql_query(format!(
            "SELECT s.id AS id, s.account_id AS account_id FROM \
             (SELECT status_id FROM status_search WHERE document @@ to_tsquery('english', $1) \
              ORDER BY status_id DESC LIMIT {RECENT_MATCHES}) m \
             JOIN statuses s ON s.id = m.status_id WHERE {filters} AND s.created_at > $2 LIMIT $3"
        ))
        .bind::<Text, _>(words.join(" | "))
        .bind::<Timestamp, _>(since)
        .bind::<BigInt, _>(limit)
        .load(pg)?,
    };
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    use crate::db::schema::favourites;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let likes: Vec<(i64, i64)> = favourites::table
        .filter(favourites::status_id.eq_any(&ids))
        .select((favourites::status_id, favourites::account_id))
        .load(c)?;
    Ok(rows
        .iter()
        .map(|r| {
            let by_others = likes
                .iter()
                .filter(|(sid, who)| *sid == r.id && *who != r.account_id)
                .count() as i64;
            (r.account_id, by_others)
        })
        .filter(|(_, n)| *n > 0)
        .collect())
}

// ----------------------------------------------------------------- parsing

#[derive(Debug, Clone, PartialEq)]
pub enum Has {
    Media,
    Image,
    Video,
    Audio,
    Poll,
    Link,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Is {
    Reply,
    Sensitive,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum In {
    All,
    Library,
    Public,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Clause {
    Word(String),
    Phrase(String),
    From(String),
    Has(Has),
    Is(Is),
    Language(String),
}

/// A query, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// (negated, clause)
    pub clauses: Vec<(bool, Clause)>,
    pub before: Option<NaiveDate>,
    pub after: Option<NaiveDate>,
    pub during: Option<NaiveDate>,
    pub scope: In,
}

impl Parsed {
    fn texts(&self, negated: bool) -> Vec<&Clause> {
        self.clauses
            .iter()
            .filter(|(n, c)| *n == negated && matches!(c, Clause::Word(_) | Clause::Phrase(_)))
            .map(|(_, c)| c)
            .collect()
    }
}

fn bad(msg: String) -> AppError {
    AppError::Unprocessable(msg)
}

fn date(key: &str, v: &str) -> AppResult<NaiveDate> {
    NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .map_err(|_| bad(format!("{key}: wants a date as YYYY-MM-DD, not {v:?}")))
}

/// Splits a query into parts: words, `"quoted phrases"`, `key:value`
/// (the value may be quoted), each with an optional leading `-`.
fn parts(q: &str) -> Vec<(bool, String)> {
    let mut out = Vec::new();
    let mut chars = q.chars().peekable();
    while let Some(&ch) = chars.peek() {
        if ch.is_whitespace() {
            chars.next();
            continue;
        }
        let negated = ch == '-';
        if negated {
            chars.next();
        }
        let mut part = String::new();
        let mut quoted = false;
        while let Some(&ch) = chars.peek() {
            if ch == '"' {
                quoted = !quoted;
                part.push(ch);
                chars.next();
                continue;
            }
            if ch.is_whitespace() && !quoted {
                break;
            }
            part.push(ch);
            chars.next();
        }
        if !part.is_empty() {
            out.push((negated, part));
        }
    }
    out
}

/// Parses Mastodon's search syntax. A known operator with a bad value is a
/// 422 that says why; an unknown `key:value` is plain text ("ratio 3:1").
pub fn parse(q: &str) -> AppResult<Parsed> {
    let q: String = q.chars().take(MAX_QUERY_CHARS).collect();
    let mut p = Parsed {
        clauses: Vec::new(),
        before: None,
        after: None,
        during: None,
        scope: In::All,
    };
    for (negated, part) in parts(&q).into_iter().take(MAX_PARTS) {
        let unquote = |s: &str| s.trim_matches('"').to_string();
        if part.starts_with('"') {
            let phrase = unquote(&part);
            if !phrase.trim().is_empty() {
                p.clauses.push((negated, Clause::Phrase(phrase)));
            }
            continue;
        }
        let (key, value) = match part.split_once(':') {
            Some((k, v)) if !v.is_empty() => (k.to_lowercase(), unquote(v)),
            _ => (String::new(), String::new()),
        };
        let v = value.to_lowercase();
        let clause = match key.as_str() {
            "from" => Clause::From(value.trim_start_matches('@').to_string()),
            "has" => Clause::Has(match v.as_str() {
                "media" => Has::Media,
                "image" => Has::Image,
                "video" => Has::Video,
                "audio" => Has::Audio,
                "poll" => Has::Poll,
                "link" | "embed" => Has::Link,
                _ => {
                    return Err(bad(format!(
                        "has: knows media, image, video, audio, poll and link, not {value:?}"
                    )));
                }
            }),
            "is" => Clause::Is(match v.as_str() {
                "reply" => Is::Reply,
                "sensitive" => Is::Sensitive,
                _ => {
                    return Err(bad(format!("is: knows reply and sensitive, not {value:?}")));
                }
            }),
            "language" => {
                if v.is_empty() || v.len() > 8 || !v.chars().all(|c| c.is_ascii_alphabetic()) {
                    return Err(bad(format!(
                        "language: wants a language code (en, de), not {value:?}"
                    )));
                }
                Clause::Language(v)
            }
            "before" => {
                p.before = Some(date("before", &value)?);
                continue;
            }
            "after" => {
                p.after = Some(date("after", &value)?);
                continue;
            }
            "during" => {
                p.during = Some(date("during", &value)?);
                continue;
            }
            "in" => {
                p.scope = match v.as_str() {
                    "all" => In::All,
                    "library" => In::Library,
                    "public" => In::Public,
                    _ => {
                        return Err(bad(format!(
                            "in: knows all, library and public, not {value:?}"
                        )));
                    }
                };
                continue;
            }
            _ => Clause::Word(part.replace('"', " ")),
        };
        p.clauses.push((negated, clause));
    }
    Ok(p)
}

// --------------------------------------------------------------- querying

enum Bind {
    Int(i64),
    Str(String),
    Time(NaiveDateTime),
}

/// SQL text and its binds, with the placeholders of the connection's
/// backend (`?` or `$n`).
struct Sql {
    pg: bool,
    text: String,
    binds: Vec<Bind>,
}

impl Sql {
    fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    fn bind(&mut self, b: Bind) -> &mut Self {
        self.binds.push(b);
        if self.pg {
            let _ = write!(self.text, "${}", self.binds.len());
        } else {
            self.text.push('?');
        }
        self
    }

    fn id(&mut self, v: i64) -> &mut Self {
        self.bind(Bind::Int(v))
    }

    fn ids(&mut self, ids: &[i64]) -> &mut Self {
        self.push("(");
        for (i, v) in ids.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.id(*v);
        }
        self.push(")")
    }
}

#[derive(QueryableByName)]
struct Candidate {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Timestamp)]
    created_at: NaiveDateTime,
    #[diesel(sql_type = Nullable<Text>)]
    body: Option<String>,
}

fn load(c: &mut DbConn, sql: Sql) -> QueryResult<Vec<Candidate>> {
    macro_rules! run {
        ($conn:expr, $db:ty) => {{
            let mut q = diesel::sql_query(sql.text).into_boxed::<$db>();
            for b in sql.binds {
                q = match b {
                    Bind::Int(v) => q.bind::<BigInt, _>(v),
                    Bind::Str(v) => q.bind::<Text, _>(v),
                    Bind::Time(v) => q.bind::<Timestamp, _>(v),
                };
            }
            q.load::<Candidate>($conn)
        }};
    }
    match c {
        DbConn::Sqlite(lite) => run!(lite, diesel::sqlite::Sqlite),
        DbConn::Postgres(pg) => run!(pg, diesel::pg::Pg),
    }
}

/// An FTS5 query: every word and phrase one quoted string (no FTS syntax
/// gets through), all required; `negated` ones excluded.
fn fts5_query(positive: &[&Clause], negated: &[&Clause]) -> String {
    let quote = |c: &Clause| match c {
        Clause::Word(w) | Clause::Phrase(w) => format!("\"{}\"", w.replace('"', "\"\"")),
        _ => String::new(),
    };
    let mut q = positive
        .iter()
        .map(|c| quote(c))
        .collect::<Vec<_>>()
        .join(" AND ");
    if !negated.is_empty() {
        let nots = negated
            .iter()
            .map(|c| quote(c))
            .collect::<Vec<_>>()
            .join(" OR ");
        q = format!("({q}) NOT ({nots})");
    }
    q
}

/// A PostgreSQL tsquery expression, every part a bound value.
fn ts_query(sql: &mut Sql, positive: &[&Clause], negated: &[&Clause]) {
    let one = |sql: &mut Sql, c: &Clause| match c {
        Clause::Phrase(w) => {
            sql.push("phraseto_tsquery('english', ")
                .bind(Bind::Str(w.clone()))
                .push(")");
        }
        Clause::Word(w) => {
            sql.push("plainto_tsquery('english', ")
                .bind(Bind::Str(w.clone()))
                .push(")");
        }
        _ => {}
    };
    sql.push("(");
    for (i, c) in positive.iter().enumerate() {
        if i > 0 {
            sql.push(" && ");
        }
        one(sql, c);
    }
    if !negated.is_empty() {
        sql.push(" && !!(");
        for (i, c) in negated.iter().enumerate() {
            if i > 0 {
                sql.push(" || ");
            }
            one(sql, c);
        }
        sql.push(")");
    }
    sql.push(")");
}

/// The accounts a `from:` names, or None when nobody is called that.
fn from_ids(c: &mut DbConn, viewer: &Account, own: &str, who: &str) -> QueryResult<Option<i64>> {
    if who.eq_ignore_ascii_case("me") {
        return Ok(Some(viewer.id));
    }
    let (name, host) = match who.split_once('@') {
        Some((n, h)) => (n.to_lowercase(), Some(h.to_lowercase())),
        None => (who.to_lowercase(), None),
    };
    let mut q = accounts::table
        .filter(lower(accounts::username).eq(name))
        .select(accounts::id)
        .into_boxed();
    q = match host {
        Some(h) if h != own.to_lowercase() => q.filter(accounts::domain.eq(h)),
        _ => q.filter(accounts::domain.is_null()),
    };
    q.first(c).optional()
}

/// Posts matching `q` that `viewer` may see, best match first (with
/// recency); `account` restricts to one author (`account_id`).
pub fn statuses(
    c: &mut DbConn,
    viewer: &Account,
    own_domain: &str,
    q: &str,
    account: Option<i64>,
    limit: i64,
    offset: i64,
) -> AppResult<Vec<Status>> {
    let parsed = parse(q)?;
    let positive = parsed.texts(false);
    let negated = parsed.texts(true);
    let has_operator = parsed
        .clauses
        .iter()
        .any(|(_, c)| !matches!(c, Clause::Word(_) | Clause::Phrase(_)))
        || parsed.before.is_some()
        || parsed.after.is_some()
        || parsed.during.is_some()
        || parsed.scope != In::All
        || account.is_some();
    if positive.is_empty() && !has_operator {
        return Ok(Vec::new());
    }
    let pg = matches!(c, DbConn::Postgres(_));
    let mut sql = Sql {
        pg,
        text: String::new(),
        binds: Vec::new(),
    };
    let v = viewer.id;

    sql.push("SELECT s.id AS id, s.created_at AS created_at, ss.body AS body FROM ");
    let library = parsed.scope == In::Library;
    if library {
        // One's library is small: it drives, each post checked for the words.
        sql.push("(SELECT id AS lid FROM statuses WHERE account_id = ")
            .id(v)
            .push(" UNION SELECT status_id FROM favourites WHERE account_id = ")
            .id(v)
            .push(" UNION SELECT status_id FROM bookmarks WHERE account_id = ")
            .id(v)
            .push(
                ") lib CROSS JOIN statuses s CROSS JOIN accounts a \
                 LEFT JOIN status_search ss ON ss.status_id = s.id \
                 WHERE s.id = lib.lid AND a.id = s.account_id",
            );
        match (pg, positive.is_empty()) {
            (true, false) => {
                sql.push(" AND ss.document @@ ");
                ts_query(&mut sql, &positive, &negated);
            }
            (false, false) => {
                sql.push(
                    " AND EXISTS (SELECT 1 FROM status_search_fts WHERE status_search_fts MATCH ",
                )
                .bind(Bind::Str(fts5_query(&positive, &negated)))
                .push(" AND rowid = s.id)");
            }
            (_, true) => {}
        }
    }
    match (pg, positive.is_empty() || library) {
        (false, false) => {
            // The full-text table drives, newest match first.
            sql.push(
                "status_search_fts f CROSS JOIN statuses s CROSS JOIN accounts a \
                 LEFT JOIN status_search ss ON ss.status_id = s.id \
                 WHERE s.id = f.rowid AND a.id = s.account_id AND status_search_fts MATCH ",
            )
            .bind(Bind::Str(fts5_query(&positive, &negated)));
        }
        (true, false) => {
            sql.push(
                "status_search ss JOIN statuses s ON s.id = ss.status_id \
                 JOIN accounts a ON a.id = s.account_id \
                 WHERE ss.document @@ ",
            );
            ts_query(&mut sql, &positive, &negated);
        }
        (_, true) => {
            if !library {
                sql.push(
                    "statuses s JOIN accounts a ON a.id = s.account_id \
                     LEFT JOIN status_search ss ON ss.status_id = s.id WHERE TRUE",
                );
            }
            if !negated.is_empty() && positive.is_empty() {
                sql.push(" AND s.id NOT IN (");
                if pg {
                    sql.push("SELECT status_id FROM status_search WHERE document @@ ");
                    ts_query(&mut sql, &negated, &[]);
                } else {
                    sql.push("SELECT rowid FROM status_search_fts WHERE status_search_fts MATCH ")
                        .bind(Bind::Str(fts5_query(&negated, &[])));
                }
                sql.push(")");
            }
        }
    }
    sql.push(" AND s.deleted_at IS NULL AND s.reblog_of_id IS NULL AND a.suspended_at IS NULL");

    // Who the viewer hides, or who hides from the viewer.
    let hidden = crate::domain::mutes::hidden_authors(c, v)?;
    if !hidden.is_empty() {
        sql.push(" AND s.account_id NOT IN ").ids(&hidden);
    }

    // What the viewer may see, decided now.
    let public: &str = if viewer.is_local() {
        "('public', 'unlisted', 'local')"
    } else {
        "('public', 'unlisted')"
    };
    let mentioned = |sql: &mut Sql| {
        sql.push("EXISTS (SELECT 1 FROM mentions m WHERE m.status_id = s.id AND m.account_id = ")
            .id(v)
            .push(")");
    };
    let interacted = |sql: &mut Sql| {
        sql.push("EXISTS (SELECT 1 FROM favourites fv WHERE fv.status_id = s.id AND fv.account_id = ")
            .id(v)
            .push(") OR EXISTS (SELECT 1 FROM bookmarks bm WHERE bm.status_id = s.id AND bm.account_id = ")
            .id(v)
            .push(")");
    };
    sql.push(" AND (s.account_id = ").id(v);
    sql.push(" OR (s.visibility IN ")
        .push(public)
        .push(" AND (a.indexable = TRUE OR ");
    mentioned(&mut sql);
    sql.push(" OR ");
    interacted(&mut sql);
    sql.push("))");
    sql.push(" OR (s.visibility = 'private' AND (EXISTS (SELECT 1 FROM follows fo WHERE fo.account_id = ")
        .id(v)
        .push(" AND fo.target_account_id = s.account_id AND fo.pending = FALSE) OR ");
    mentioned(&mut sql);
    sql.push("))");
    sql.push(" OR (s.visibility = 'direct' AND ");
    mentioned(&mut sql);
    sql.push(")");
    sql.push(
        " OR EXISTS (SELECT 1 FROM group_posts gp JOIN follows gf ON gf.target_account_id = gp.group_id \
         WHERE gp.status_id = s.id AND gf.pending = FALSE AND gf.account_id = ",
    )
    .id(v)
    .push("))");

    match parsed.scope {
        In::All => {}
        In::Library => {
            sql.push(" AND (s.account_id = ").id(v).push(" OR ");
            interacted(&mut sql);
            sql.push(")");
        }
        In::Public => {
            sql.push(" AND s.visibility IN ").push(public);
        }
    }
    if let Some(a) = account {
        sql.push(" AND s.account_id = ").id(a);
    }
    for (neg, clause) in &parsed.clauses {
        let not = if *neg { " AND NOT (" } else { " AND (" };
        match clause {
            Clause::Word(_) | Clause::Phrase(_) => continue,
            Clause::From(who) => match from_ids(c, viewer, own_domain, who)? {
                Some(id) => {
                    sql.push(not).push("s.account_id = ").id(id);
                }
                None if *neg => continue,
                None => return Ok(Vec::new()),
            },
            Clause::Has(h) => {
                sql.push(not);
                let media = |sql: &mut Sql, kind: Option<&str>| {
                    sql.push(
                        "EXISTS (SELECT 1 FROM media_attachments ma WHERE ma.status_id = s.id",
                    );
                    if let Some(k) = kind {
                        sql.push(" AND ma.kind = ").bind(Bind::Str(k.into()));
                    }
                    sql.push(")");
                };
                match h {
                    Has::Media => media(&mut sql, None),
                    Has::Image => media(&mut sql, Some("image")),
                    Has::Video => media(&mut sql, Some("video")),
                    Has::Audio => media(&mut sql, Some("audio")),
                    Has::Poll => {
                        sql.push("EXISTS (SELECT 1 FROM polls p WHERE p.status_id = s.id)");
                    }
                    Has::Link => {
                        sql.push("COALESCE(ss.has_link, FALSE) = TRUE");
                    }
                }
            }
            Clause::Is(Is::Reply) => {
                sql.push(not)
                    .push("s.in_reply_to_id IS NOT NULL OR s.in_reply_to_uri IS NOT NULL");
            }
            Clause::Is(Is::Sensitive) => {
                sql.push(not).push("s.sensitive = TRUE");
            }
            Clause::Language(l) => {
                sql.push(not)
                    .push("COALESCE(s.language, '') = ")
                    .bind(Bind::Str(l.clone()));
            }
        }
        sql.push(")");
    }
    let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0).expect("midnight");
    let next_day = |d: NaiveDate| d.succ_opt().unwrap_or(d);
    if let Some(d) = parsed.before {
        sql.push(" AND s.created_at < ")
            .bind(Bind::Time(midnight(d)));
    }
    if let Some(d) = parsed.after {
        sql.push(" AND s.created_at >= ")
            .bind(Bind::Time(midnight(next_day(d))));
    }
    if let Some(d) = parsed.during {
        sql.push(" AND s.created_at >= ")
            .bind(Bind::Time(midnight(d)))
            .push(" AND s.created_at < ")
            .bind(Bind::Time(midnight(next_day(d))));
    }
    let wanted = CANDIDATES.max(offset.clamp(0, MAX_OFFSET) + limit.clamp(1, MAX_LIMIT));
    // SQLite walks the full-text matches newest first and stops at the
    // limit only when ordering by the FTS table's own rowid.
    let order = if !pg && !positive.is_empty() && !library {
        "f.rowid"
    } else {
        "s.id"
    };
    sql.push(" ORDER BY ")
        .push(order)
        .push(" DESC LIMIT ")
        .id(wanted);

    let candidates = load(c, sql)?;
    let words: Vec<String> = positive
        .iter()
        .filter_map(|c| match c {
            Clause::Word(w) => Some(w.as_str()),
            _ => None,
        })
        .flat_map(tokens)
        .collect();
    let phrases: Vec<String> = positive
        .iter()
        .filter_map(|c| match c {
            Clause::Phrase(p) => Some(tokens(p).join(" ")),
            _ => None,
        })
        .collect();
    let t = now();
    let mut ranked: Vec<(f64, i64)> = candidates
        .into_iter()
        .map(|cand| {
            let relevance = relevance(cand.body.as_deref().unwrap_or(""), &words, &phrases);
            let age = (t - cand.created_at).num_hours().max(0) as f64 / 24.0;
            (relevance * (0.5 + 0.5 * (-age / 30.0).exp()), cand.id)
        })
        .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.cmp(&a.1)));
    let page: Vec<i64> = ranked
        .into_iter()
        .skip(offset.clamp(0, MAX_OFFSET) as usize)
        .take(limit.clamp(1, MAX_LIMIT) as usize)
        .map(|(_, id)| id)
        .collect();
    let mut found: Vec<Status> = crate::db::schema::statuses::table
        .filter(crate::db::schema::statuses::id.eq_any(&page))
        .select(Status::as_select())
        .load(c)?;
    found.sort_by_key(|s| page.iter().position(|id| *id == s.id));
    Ok(found)
}

/// Lower-cased words of a text, lightly stemmed.
fn tokens(text: &str) -> Vec<String> {
    text.split(|ch: char| !ch.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| stem(&w.to_lowercase()).to_string())
        .collect()
}

/// How well a post's own text answers the words and phrases (1 for a
/// post found by operators alone).
fn relevance(body: &str, words: &[String], phrases: &[String]) -> f64 {
    if words.is_empty() && phrases.is_empty() {
        return 1.0;
    }
    let toks = tokens(body);
    let mut score = 1.0;
    let distinct: HashSet<&String> = words.iter().collect();
    for w in distinct {
        let tf = toks.iter().filter(|t| *t == w).count();
        if tf > 0 {
            score += 1.0 + (tf as f64).ln();
        }
    }
    let joined = toks.join(" ");
    for p in phrases {
        if !p.is_empty() && joined.contains(p.as_str()) {
            score += 2.0;
        }
    }
    // Short posts that say it beat long ones that mention it.
    score / (1.0 + (toks.len() as f64 / 200.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mastodon_operators() {
        let p = parse(
            r#"kubernetes "rolling update" -helm from:@ana@beta.example has:media -is:reply language:EN after:2026-01-31 in:library ratio:3"#,
        )
        .unwrap();
        assert_eq!(
            p.clauses,
            vec![
                (false, Clause::Word("kubernetes".into())),
                (false, Clause::Phrase("rolling update".into())),
                (true, Clause::Word("helm".into())),
                (false, Clause::From("ana@beta.example".into())),
                (false, Clause::Has(Has::Media)),
                (true, Clause::Is(Is::Reply)),
                (false, Clause::Language("en".into())),
                (false, Clause::Word("ratio:3".into())),
            ]
        );
        assert_eq!(p.after, NaiveDate::from_ymd_opt(2026, 1, 31));
        assert_eq!(p.scope, In::Library);
        for bad in [
            "has:nothing",
            "is:cat",
            "in:space",
            "before:yesterday",
            "during:2026-13-01",
            "language:e1",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        // Unbalanced quotes, lone dashes, empty values: no error, no panic.
        assert!(parse(r#""open phrase -  - from: "#).is_ok());
        assert_eq!(
            parse(&"x ".repeat(10_000)).unwrap().clauses.len(),
            MAX_PARTS
        );
    }

    #[test]
    fn fts_syntax_stays_text() {
        let w = Clause::Word(r#"a" OR b* NEAR(c"#.into());
        let n = Clause::Word("d".into());
        assert_eq!(
            fts5_query(&[&w], &[&n]),
            r#"("a"" OR b* NEAR(c") NOT ("d")"#
        );
    }

    #[test]
    fn links_and_relevance() {
        assert!(has_link(
            r#"<p>see <a href="https://x.example/">x.example</a></p>"#
        ));
        assert!(!has_link(
            r##"<p><a href="https://a/@u" class="u-url mention">@<span>u</span></a> <a href="https://a/tags/t" class="mention hashtag" rel="tag">#<span>t</span></a></p>"##
        ));
        assert_eq!(plain("<p>a</p><p>b</p>"), "a b");
        let w = vec!["cluster".to_string()];
        assert!(relevance("clusters and clusters", &w, &[]) > relevance("one cluster", &w, &[]));
        assert!(relevance("one cluster", &w, &[]) > relevance("nothing here", &w, &[]));
    }
}
