//! "Who knows X?": one ranked search over local and partner people.
//!
//! Declared expertise weighs most (skills, then role and department and
//! other fields), then evidence from what people did: hashtags of their
//! public posts (recent ones weigh more), groups they moderate or post in,
//! their bio. Each hit carries its reasons. Typos and word forms are matched
//! against the vocabulary of profile terms (edit distance, a light stemmer,
//! prefixes), so "kubernets" and "Kubernetes cluster" find the Kubernetes
//! people on both backends without a search server.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Deserialize;

use crate::db::models::Account;
use crate::db::schema::{
    accounts, group_moderators, group_posts, profile_terms, profile_vocabulary, status_tags,
    statuses,
};
use crate::db::{DbConn, lower, now};
use crate::org::directory::{like_escaped, people};
use crate::org::profile::{self, DEPARTMENT, FEATURED_TAG, LANGUAGES, LOCATION, ROLE, SKILLS};

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ExpertQuery {
    pub q: Option<String>,
    pub department: Option<String>,
    /// An instance as it appears in `acct` (host, with the port if any).
    pub domain: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Reason {
    /// skill | featured_tag | field | bio | posts | group | answer | accepted_answer
    pub kind: &'static str,
    pub detail: String,
    pub count: i64,
}

#[derive(Debug, Clone)]
pub struct Expert {
    pub account: Account,
    pub score: f64,
    pub reasons: Vec<Reason>,
}

pub const MAX_LIMIT: i64 = 80;
/// Longer queries are cut: nobody's expertise needs more words.
const MAX_QUERY_CHARS: usize = 200;
const MAX_WORDS: usize = 8;
/// Candidates ranked in full, after the first, cheap scoring.
const MAX_CANDIDATES: usize = 1000;
/// Vocabulary terms a query may match (prefixes of short words match many).
const MAX_MATCHED_TERMS: usize = 200;
/// Tagged posts read as evidence: the latest, which name who is active on
/// a topic now; reading each costs a row lookup.
const EVIDENCE_POSTS: i64 = 500;
/// Hashtags looked up as evidence for one query.
const MAX_TAGS: usize = 24;

const STOPWORDS: &[&str] = &[
    "a", "an", "and", "or", "the", "of", "in", "on", "for", "with", "to", "who", "knows", "know",
    "about", "is", "at", "by",
];

/// The words of a query, normalized, without filler words.
pub fn words(q: &str) -> Vec<String> {
    let q: String = q.chars().take(MAX_QUERY_CHARS).collect();
    let mut seen = HashSet::new();
    profile::normalize(&q)
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '?' | '!' | '"' | '(' | ')'))
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric() && c != '+' && c != '#'))
        .map(|w| w.trim_start_matches('#').to_string())
        .filter(|w| !w.is_empty() && !STOPWORDS.contains(&w.as_str()) && seen.insert(w.clone()))
        .take(MAX_WORDS)
        .collect()
}

/// English plural and verb endings off, so "clusters" meets "cluster"
/// (expertise terms and the ranking of post search alike).
pub fn stem(w: &str) -> &str {
    for suffix in ["ings", "ing", "ies", "es", "s", "ed"] {
        if let Some(s) = w.strip_suffix(suffix)
            && s.chars().count() >= 3
        {
            return s;
        }
    }
    w
}

/// How well a profile term answers the query (0 = not at all).
fn strength(term: &str, phrase: &str, words: &[String], forms: &HashSet<String>) -> f64 {
    if term == phrase {
        return 1.0;
    }
    // Hashtags run words together: #MachineLearning is "machine learning".
    if forms.contains(term) || (phrase.contains(' ') && term == phrase.replace(' ', "")) {
        return 0.95;
    }
    let term_words: Vec<&str> = term.split(' ').collect();
    if term_words.len() > 1 && term_words.iter().all(|t| words.iter().any(|w| w == t)) {
        return 0.9;
    }
    let mut best: f64 = 0.0;
    for w in words {
        let s = if term == w {
            0.9
        } else if stem(term) == stem(w) {
            0.85
        } else if term_words.len() > 1
            && w.chars().count() >= 3
            && term_words.iter().any(|t| *t == w || stem(t) == stem(w))
        {
            0.6
        } else {
            let (n, m) = (term.chars().count(), w.chars().count());
            let allowed = match n.min(m) {
                0..=4 => 0,
                5..=8 => 1,
                _ => 2,
            };
            if allowed > 0 && strsim::damerau_levenshtein(term, w) <= allowed {
                0.7
            } else if m >= 4 && term.starts_with(w.as_str()) {
                0.5
            } else {
                0.0
            }
        };
        best = best.max(s);
    }
    best
}

fn field_weight(field: &str) -> f64 {
    match field {
        SKILLS => 10.0,
        FEATURED_TAG => 8.0,
        ROLE => 6.0,
        DEPARTMENT => 4.0,
        LANGUAGES => 2.0,
        LOCATION => 1.0,
        _ => 3.0,
    }
}

fn field_label(field: &str) -> String {
    let mut c = field.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[derive(Default)]
struct Hit {
    score: f64,
    reasons: Vec<Reason>,
}

impl Hit {
    fn add(&mut self, score: f64, kind: &'static str, detail: String, count: i64) {
        self.score += score;
        match self
            .reasons
            .iter_mut()
            .find(|r| r.kind == kind && r.detail == detail)
        {
            Some(r) => r.count += count,
            None => self.reasons.push(Reason {
                kind,
                detail,
                count,
            }),
        }
    }
}

/// People who know about `q`, best first, as `viewer` may see them.
pub fn find(
    c: &mut DbConn,
    viewer: Option<i64>,
    own_domain: &str,
    q: &ExpertQuery,
) -> QueryResult<Vec<Expert>> {
    let raw = q.q.as_deref().unwrap_or("");
    let words = words(raw);
    if words.is_empty() {
        return Ok(Vec::new());
    }
    let phrase = words.join(" ");
    let mut forms: HashSet<String> = HashSet::new();
    let mut asked: Vec<&String> = words.iter().collect();
    if words.len() > 1 {
        asked.push(&phrase);
    }
    for w in asked {
        forms.extend(profile::skill_forms(c, w)?);
    }
    let mut hits: HashMap<i64, Hit> = HashMap::new();

    // Declared: profile terms, matched over the vocabulary, scored in the
    // database so a common skill held by thousands costs one aggregate.
    let vocabulary: Vec<String> = profile_vocabulary::table
        .select(profile_vocabulary::term)
        .load(c)?;
    let mut matched: Vec<(String, f64)> = vocabulary
        .into_iter()
        .filter_map(|t| {
            let s = strength(&t, &phrase, &words, &forms);
            (s > 0.0).then_some((t, s))
        })
        .collect();
    matched.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    matched.truncate(MAX_MATCHED_TERMS);
    for (account, score) in profile_scores(c, &matched, MAX_CANDIDATES)? {
        hits.entry(account).or_default().score += score;
    }
    // Evidence: hashtags of the latest public posts on the topic over
    // the last year, recent ones weighing more (a post today counts 1, one from 90 days ago about 0.7).
    // The words, then their synonyms, then the closest terms: at most
    // MAX_TAGS of them, one index range each.
    let mut tags: Vec<String> = Vec::new();
    for t in words
        .iter()
        .cloned()
        .chain(forms.iter().map(|f| f.replace(' ', "")))
        .chain(
            matched
                .iter()
                .filter(|(_, s)| *s >= 0.85)
                .map(|(t, _)| t.replace(' ', "")),
        )
    {
        if tags.len() < MAX_TAGS && !tags.contains(&t) {
            tags.push(t);
        }
    }
    let since = now() - chrono::Duration::days(365);
    // The latest tagged ids first (ids are time-ordered), from the tag
    // index alone; then those posts. One join would let a planner walk all
    // statuses backwards.
    // One range of the (tag, status_id) index per tag: with a list, a
    // planner may walk every tagged post backwards looking for a rare tag.
    let mut latest: Vec<(i64, String)> = Vec::new();
    for tag in &tags {
        latest.extend(
            status_tags::table
                .filter(status_tags::tag.eq(tag))
                .order(status_tags::status_id.desc())
                .limit(EVIDENCE_POSTS)
                .select((status_tags::status_id, status_tags::tag))
                .load::<(i64, String)>(c)?,
        );
    }
    latest.sort_by_key(|t| std::cmp::Reverse(t.0));
    latest.truncate(EVIDENCE_POSTS as usize);
    let tag_of: HashMap<i64, String> = latest.into_iter().collect();
    let tagged: Vec<(i64, i64, NaiveDateTime)> = statuses::table
        .filter(statuses::id.eq_any(tag_of.keys().copied().collect::<Vec<_>>()))
        .filter(statuses::visibility.eq_any(["public", "unlisted"]))
        .filter(statuses::deleted_at.is_null())
        .filter(statuses::created_at.gt(since))
        .select((statuses::id, statuses::account_id, statuses::created_at))
        .load(c)?;
    let t = now();
    let mut per_account: HashMap<(i64, String), (f64, i64)> = HashMap::new();
    for (status, account, at) in tagged {
        let Some(tag) = tag_of.get(&status).cloned() else {
            continue;
        };
        let age = (t - at).num_days().max(0) as f64;
        let e = per_account.entry((account, tag)).or_default();
        e.0 += 0.5 + 0.5 * (-age / 180.0).exp();
        e.1 += 1;
    }
    for ((account, tag), (weight, n)) in per_account {
        hits.entry(account)
            .or_default()
            .add(weight.min(8.0), "posts", format!("#{tag}"), n);
    }

    // Groups on the topic: their moderators, and members who post there.
    // One query per word: each stays on the actor_type index.
    let mut groups: Vec<(i64, String, String)> = Vec::new();
    for w in words.iter().filter(|w| w.chars().count() >= 3) {
        let pattern = format!("%{}%", like_escaped(w));
        let found: Vec<(i64, String, String)> = accounts::table
            .filter(accounts::actor_type.eq("Group"))
            .filter(accounts::suspended_at.is_null())
            .filter(
                lower(accounts::username)
                    .like(pattern.clone())
                    .or(lower(accounts::display_name).like(pattern)),
            )
            .select((accounts::id, accounts::username, accounts::display_name))
            .limit(50)
            .load(c)?;
        for g in found {
            if !groups.iter().any(|x| x.0 == g.0) {
                groups.push(g);
            }
        }
    }
    {
        for (gid, username, display) in &groups {
            let name = if display.is_empty() {
                username
            } else {
                display
            };
            let mods: Vec<i64> = group_moderators::table
                .filter(group_moderators::group_id.eq(gid))
                .select(group_moderators::account_id)
                .load(c)?;
            for m in mods {
                hits.entry(m)
                    .or_default()
                    .add(3.0, "group", format!("moderates {name}"), 1);
            }
            let posters: Vec<i64> = group_posts::table
                .inner_join(statuses::table.on(statuses::id.eq(group_posts::status_id)))
                .filter(group_posts::group_id.eq(gid))
                .filter(statuses::deleted_at.is_null())
                .order(group_posts::created_at.desc())
                .limit(500)
                .select(statuses::account_id)
                .load(c)?;
            let mut counts: HashMap<i64, i64> = HashMap::new();
            for p in posters {
                *counts.entry(p).or_default() += 1;
            }
            for (p, n) in counts {
                hits.entry(p).or_default().add(
                    (n as f64 * 0.5).min(3.0),
                    "group",
                    format!("posts in {name}"),
                    n,
                );
            }
        }
    }

    // Bio: the words in what people say about themselves (full-text).
    for w in words.iter().filter(|w| w.chars().count() >= 3) {
        for a in bio_matches(c, w)? {
            hits.entry(a).or_default().add(2.0, "bio", w.clone(), 1);
        }
    }

    // Answers: their public replies on the topic that others favourited.
    let topic: Vec<String> = words
        .iter()
        .filter(|w| w.chars().count() >= 3)
        .cloned()
        .collect();
    let mut answers: HashMap<i64, (f64, i64)> = HashMap::new();
    for (account, liked_by_others) in crate::domain::search::favourited_replies(c, &topic, 500)? {
        let e = answers.entry(account).or_default();
        e.0 += 0.5 * liked_by_others.min(5) as f64;
        e.1 += 1;
    }
    for (account, (weight, n)) in answers {
        hits.entry(account).or_default().add(
            weight.min(4.0),
            "answer",
            format!("replies on {phrase} that others favourited"),
            n,
        );
    }

    // Accepted answers: replies the asker (or the group) marked as the
    // answer, where the question or the answer is on the topic.
    let matching = crate::domain::search::recent_matches(c, &topic)?;
    for (account, n) in crate::domain::answers::authors_of_accepted(c, &matching)? {
        hits.entry(account).or_default().add(
            (3.0 * n as f64).min(6.0),
            "accepted_answer",
            format!("accepted answers on {phrase}"),
            n,
        );
    }

    // Only people the viewer may see, then in order.
    let mut ranked: Vec<(i64, Hit)> = hits.into_iter().collect();
    ranked.sort_by(|a, b| b.1.score.total_cmp(&a.1.score).then(b.0.cmp(&a.0)));
    ranked.truncate(MAX_CANDIDATES);
    let ids: Vec<i64> = ranked.iter().map(|(id, _)| *id).collect();
    // Ids first (most candidates are never shown), then the page's accounts.
    let visible: HashSet<i64> = people(
        c,
        viewer,
        own_domain,
        q.domain.as_deref(),
        q.department.as_deref(),
    )?
    .filter(accounts::id.eq_any(ids))
    .select(accounts::id)
    .load::<i64>(c)?
    .into_iter()
    .collect();
    let offset = q.offset.unwrap_or(0).clamp(0, MAX_CANDIDATES as i64) as usize;
    let limit = q.limit.unwrap_or(20).clamp(1, MAX_LIMIT) as usize;
    let page: Vec<(i64, Hit)> = ranked
        .into_iter()
        .filter(|(id, _)| visible.contains(id))
        .skip(offset)
        .take(limit)
        .collect();
    let ids: Vec<i64> = page.iter().map(|(id, _)| *id).collect();
    let shown: HashMap<i64, Account> = accounts::table
        .filter(accounts::id.eq_any(&ids))
        .select(Account::as_select())
        .load::<Account>(c)?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    // The declared reasons, for this page only.
    let strengths: HashMap<&str, f64> = matched.iter().map(|(t, s)| (t.as_str(), *s)).collect();
    let rows: Vec<(i64, String, String, String)> = profile_terms::table
        .filter(profile_terms::account_id.eq_any(&ids))
        .filter(profile_terms::term.eq_any(strengths.keys().copied().collect::<Vec<_>>()))
        .order((
            profile_terms::account_id,
            profile_terms::field,
            profile_terms::term,
        ))
        .select((
            profile_terms::account_id,
            profile_terms::field,
            profile_terms::term,
            profile_terms::display,
        ))
        .load(c)?;
    let mut declared: HashMap<i64, Vec<Reason>> = HashMap::new();
    for (account, field, _, display) in rows {
        let (kind, detail) = if field == SKILLS {
            ("skill", display)
        } else if field == FEATURED_TAG {
            ("featured_tag", format!("#{display}"))
        } else {
            ("field", format!("{}: {display}", field_label(&field)))
        };
        declared.entry(account).or_default().push(Reason {
            kind,
            detail,
            count: 1,
        });
    }
    Ok(page
        .into_iter()
        .filter_map(|(id, mut hit)| {
            let account = shown.get(&id)?.clone();
            let mut reasons = declared.remove(&id).unwrap_or_default();
            reasons.append(&mut hit.reasons);
            reasons.sort_by_key(|r| reason_rank(r.kind));
            Some(Expert {
                account,
                score: (hit.score * 100.0).round() / 100.0,
                reasons,
            })
        })
        .collect())
}

/// The best `limit` accounts by declared expertise: each matching term
/// weighs by its field and by how well it matches. Read from the covering
/// `(term, field, account_id)` index, summed here.
fn profile_scores(
    c: &mut DbConn,
    matched: &[(String, f64)],
    limit: usize,
) -> QueryResult<Vec<(i64, f64)>> {
    if matched.is_empty() {
        return Ok(Vec::new());
    }
    // One read per strength (a handful), without the term column.
    let mut bands: Vec<(f64, Vec<&str>)> = Vec::new();
    for (t, s) in matched {
        match bands.iter_mut().find(|(b, _)| b == s) {
            Some((_, terms)) => terms.push(t.as_str()),
            None => bands.push((*s, vec![t.as_str()])),
        }
    }
    let weight = diesel::dsl::sql::<diesel::sql_types::Double>(&format!(
        "CAST(CASE field WHEN '{SKILLS}' THEN {} WHEN '{FEATURED_TAG}' THEN {} WHEN '{ROLE}' THEN {} \
         WHEN '{DEPARTMENT}' THEN {} WHEN '{LANGUAGES}' THEN {} WHEN '{LOCATION}' THEN {} ELSE {} END \
         AS DOUBLE PRECISION)",
        field_weight(SKILLS),
        field_weight(FEATURED_TAG),
        field_weight(ROLE),
        field_weight(DEPARTMENT),
        field_weight(LANGUAGES),
        field_weight(LOCATION),
        field_weight(""),
    ));
    let mut scores: HashMap<i64, f64> = HashMap::new();
    for (strength, terms) in bands {
        // Measured (benches/experts.rs): SQLite is faster weighing in the
        // query (no text to decode), PostgreSQL sending the field (its
        // collation-aware comparisons cost more than the bytes).
        let rows: Vec<(i64, f64)> = match c {
            DbConn::Sqlite(_) => profile_terms::table
                .filter(profile_terms::term.eq_any(terms))
                .select((profile_terms::account_id, weight.clone()))
                .load(c)?,
            DbConn::Postgres(_) => profile_terms::table
                .filter(profile_terms::term.eq_any(terms))
                .select((profile_terms::account_id, profile_terms::field))
                .load::<(i64, String)>(c)?
                .into_iter()
                .map(|(a, f)| (a, field_weight(&f)))
                .collect(),
        };
        for (account, w) in rows {
            *scores.entry(account).or_default() += strength * w;
        }
    }
    let mut out: Vec<(i64, f64)> = scores.into_iter().collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.0.cmp(&a.0)));
    out.truncate(limit);
    Ok(out)
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
}

/// Accounts whose bio mentions `word` (stemmed: "clusters" finds "cluster").
fn bio_matches(c: &mut DbConn, word: &str) -> QueryResult<Vec<i64>> {
    let rows = match c {
        DbConn::Sqlite(lite) => diesel::sql_query(
            "SELECT rowid AS id FROM account_notes_fts WHERE account_notes_fts MATCH ? LIMIT 500",
        )
        // One quoted token: whatever the word holds, it is no FTS syntax.
        .bind::<diesel::sql_types::Text, _>(format!("\"{}\"", word.replace('"', "\"\"")))
        .load::<Id>(lite)?,
        DbConn::Postgres(pg) => diesel::sql_query(
            "SELECT id FROM accounts WHERE to_tsvector('english', note) @@ plainto_tsquery('english', $1) LIMIT 500",
        )
        .bind::<diesel::sql_types::Text, _>(word)
        .load::<Id>(pg)?,
    };
    Ok(rows.into_iter().map(|r| r.id).collect())
}

fn reason_rank(kind: &str) -> u8 {
    match kind {
        "skill" => 0,
        "featured_tag" => 1,
        "field" => 2,
        "bio" => 3,
        "posts" => 4,
        "group" => 5,
        _ => 6,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_word_forms_and_phrases() {
        let forms = HashSet::new();
        let w = |q: &str| words(q);
        let q = w("kubernets");
        assert!(strength("kubernetes", &q.join(" "), &q, &forms) > 0.0);
        let q = w("Kubernetes cluster");
        assert!(strength("kubernetes", &q.join(" "), &q, &forms) >= 0.9);
        let q = w("who knows about clusters?");
        assert_eq!(q, ["clusters"]);
        assert!(strength("cluster", &q.join(" "), &q, &forms) >= 0.85);
        let q = w("machine learning");
        assert_eq!(strength("machine learning", &q.join(" "), &q, &forms), 1.0);
        let q = w("go");
        assert_eq!(
            strength("golang", &q.join(" "), &q, &forms),
            0.0,
            "short words need an exact match"
        );
        assert_eq!(strength("rust", &q.join(" "), &q, &forms), 0.0);
        let q = w("Machine Learning");
        assert!(strength("machinelearning", &q.join(" "), &q, &forms) >= 0.9);
        let q = w("#Rust, C++");
        assert_eq!(q, ["rust", "c++"]);
        assert_eq!(words(&"x".repeat(10_000)).len(), 1);
        assert!(words("  ,;?  the and ").is_empty());
    }
}
