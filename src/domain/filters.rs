//! Filters (Mastodon's v2): keywords and posts a user does not want to
//! see, in some contexts, with an action. Matching happens when statuses
//! are rendered (`filtered`), and apps act on it, as with Mastodon.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::db::models::Status;
use crate::db::schema::{filter_keywords as fk, filter_statuses as fs, filters as f};
use crate::db::{DbConn, id, now};
use crate::error::{AppError, AppResult};

pub const CONTEXTS: &[&str] = &["home", "notifications", "public", "thread", "account"];
pub const ACTIONS: &[&str] = &["warn", "hide", "blur"];
pub const MAX_FILTERS: i64 = 100;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = f)]
pub struct Filter {
    pub id: i64,
    pub account_id: i64,
    pub title: String,
    pub context: String,
    pub action: String,
    pub expires_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = fk)]
pub struct Keyword {
    pub id: i64,
    pub filter_id: i64,
    pub keyword: String,
    pub whole_word: bool,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = fs)]
pub struct FilterStatus {
    pub id: i64,
    pub filter_id: i64,
    pub status_id: i64,
    pub created_at: NaiveDateTime,
}

/// A keyword change inside a filter update: new (no id), changed, or
/// removed (`destroy`).
#[derive(Debug, Clone, Default)]
pub struct KeywordChange {
    pub id: Option<i64>,
    pub keyword: Option<String>,
    pub whole_word: Option<bool>,
    pub destroy: bool,
}

#[derive(Debug, Clone, Default)]
pub struct FilterChange {
    pub title: Option<String>,
    pub context: Option<Vec<String>>,
    pub action: Option<String>,
    /// Some(None): no expiry; Some(Some(s)): expires in s seconds.
    pub expires_in: Option<Option<i64>>,
    pub keywords: Vec<KeywordChange>,
}

fn bad(msg: &str) -> AppError {
    AppError::Unprocessable(format!("Validation failed: {msg}"))
}

fn check(change: &FilterChange, creating: bool) -> AppResult<()> {
    match &change.title {
        Some(t) if t.trim().is_empty() => return Err(bad("Title can't be blank")),
        Some(t) if t.chars().count() > 256 => return Err(bad("Title is too long")),
        None if creating => return Err(bad("Title can't be blank")),
        _ => {}
    }
    match &change.context {
        Some(c) if c.is_empty() => return Err(bad("Context can't be blank")),
        Some(c) if c.iter().any(|x| !CONTEXTS.contains(&x.as_str())) => {
            return Err(bad("Context includes invalid values"));
        }
        None if creating => return Err(bad("Context can't be blank")),
        _ => {}
    }
    if let Some(a) = &change.action
        && !ACTIONS.contains(&a.as_str())
    {
        return Err(bad("Filter action is not included in the list"));
    }
    for k in &change.keywords {
        if !k.destroy
            && k.keyword
                .as_deref()
                .is_some_and(|w| w.trim().is_empty() || w.chars().count() > 200)
        {
            return Err(bad("Keyword can't be blank"));
        }
        if k.id.is_none() && !k.destroy && k.keyword.is_none() {
            return Err(bad("Keyword can't be blank"));
        }
    }
    Ok(())
}

/// The owner's filter (404 for anyone else's).
pub fn owned(c: &mut DbConn, owner: i64, id: i64) -> AppResult<Filter> {
    f::table
        .filter(f::id.eq(id))
        .filter(f::account_id.eq(owner))
        .select(Filter::as_select())
        .first(c)
        .optional()?
        .ok_or_else(AppError::not_found)
}

pub fn list(c: &mut DbConn, owner: i64) -> QueryResult<Vec<Filter>> {
    f::table
        .filter(f::account_id.eq(owner))
        .order(f::id.asc())
        .select(Filter::as_select())
        .load(c)
}

pub fn keywords(c: &mut DbConn, filter_ids: &[i64]) -> QueryResult<Vec<Keyword>> {
    fk::table
        .filter(fk::filter_id.eq_any(filter_ids))
        .order(fk::id.asc())
        .select(Keyword::as_select())
        .load(c)
}

pub fn statuses(c: &mut DbConn, filter_ids: &[i64]) -> QueryResult<Vec<FilterStatus>> {
    fs::table
        .filter(fs::filter_id.eq_any(filter_ids))
        .order(fs::id.asc())
        .select(FilterStatus::as_select())
        .load(c)
}

fn changed(c: &mut DbConn, owner: i64) -> QueryResult<()> {
    crate::stream::publish(c, crate::stream::Signal::FiltersChanged { a: owner })
}

pub fn create(c: &mut DbConn, owner: i64, change: &FilterChange) -> AppResult<Filter> {
    check(change, true)?;
    let count: i64 = f::table
        .filter(f::account_id.eq(owner))
        .count()
        .get_result(c)?;
    if count >= MAX_FILTERS {
        return Err(bad("Too many filters"));
    }
    let t = now();
    let fid = id::next_id();
    diesel::insert_into(f::table)
        .values((
            f::id.eq(fid),
            f::account_id.eq(owner),
            f::title.eq(change.title.as_deref().unwrap_or("").trim()),
            f::context.eq(change.context.clone().unwrap_or_default().join(",")),
            f::action.eq(change.action.as_deref().unwrap_or("warn")),
            f::expires_at.eq(change
                .expires_in
                .flatten()
                .map(|s| t + chrono::Duration::seconds(s))),
            f::created_at.eq(t),
            f::updated_at.eq(t),
        ))
        .execute(c)?;
    apply_keywords(c, fid, &change.keywords)?;
    changed(c, owner)?;
    owned(c, owner, fid)
}

pub fn update(c: &mut DbConn, owner: i64, fid: i64, change: &FilterChange) -> AppResult<Filter> {
    check(change, false)?;
    owned(c, owner, fid)?;
    let t = now();
    if let Some(title) = &change.title {
        diesel::update(f::table.find(fid))
            .set(f::title.eq(title.trim()))
            .execute(c)?;
    }
    if let Some(ctx) = &change.context {
        diesel::update(f::table.find(fid))
            .set(f::context.eq(ctx.join(",")))
            .execute(c)?;
    }
    if let Some(a) = &change.action {
        diesel::update(f::table.find(fid))
            .set(f::action.eq(a))
            .execute(c)?;
    }
    if let Some(e) = change.expires_in {
        diesel::update(f::table.find(fid))
            .set(f::expires_at.eq(e.map(|s| t + chrono::Duration::seconds(s))))
            .execute(c)?;
    }
    apply_keywords(c, fid, &change.keywords)?;
    diesel::update(f::table.find(fid))
        .set(f::updated_at.eq(t))
        .execute(c)?;
    changed(c, owner)?;
    owned(c, owner, fid)
}

fn apply_keywords(c: &mut DbConn, fid: i64, changes: &[KeywordChange]) -> AppResult<()> {
    for k in changes {
        match k.id {
            Some(kid) => {
                let mine = fk::table
                    .filter(fk::id.eq(kid))
                    .filter(fk::filter_id.eq(fid));
                if k.destroy {
                    diesel::delete(mine).execute(c)?;
                    continue;
                }
                if let Some(w) = &k.keyword {
                    diesel::update(mine)
                        .set(fk::keyword.eq(w.trim()))
                        .execute(c)?;
                }
                if let Some(ww) = k.whole_word {
                    diesel::update(
                        fk::table
                            .filter(fk::id.eq(kid))
                            .filter(fk::filter_id.eq(fid)),
                    )
                    .set(fk::whole_word.eq(ww))
                    .execute(c)?;
                }
            }
            None if !k.destroy => {
                add_keyword(
                    c,
                    fid,
                    k.keyword.as_deref().unwrap_or(""),
                    k.whole_word.unwrap_or(true),
                )?;
            }
            None => {}
        }
    }
    Ok(())
}

pub fn add_keyword(
    c: &mut DbConn,
    fid: i64,
    keyword: &str,
    whole_word: bool,
) -> AppResult<Keyword> {
    if keyword.trim().is_empty() || keyword.chars().count() > 200 {
        return Err(bad("Keyword can't be blank"));
    }
    let kid = id::next_id();
    diesel::insert_into(fk::table)
        .values((
            fk::id.eq(kid),
            fk::filter_id.eq(fid),
            fk::keyword.eq(keyword.trim()),
            fk::whole_word.eq(whole_word),
            fk::created_at.eq(now()),
        ))
        .execute(c)?;
    Ok(fk::table.find(kid).select(Keyword::as_select()).first(c)?)
}

/// A keyword of one of `owner`'s filters, with that filter.
pub fn owned_keyword(c: &mut DbConn, owner: i64, kid: i64) -> AppResult<(Keyword, Filter)> {
    let k: Keyword = fk::table
        .find(kid)
        .select(Keyword::as_select())
        .first(c)
        .optional()?
        .ok_or_else(AppError::not_found)?;
    let filter = owned(c, owner, k.filter_id)?;
    Ok((k, filter))
}

pub fn update_keyword(
    c: &mut DbConn,
    owner: i64,
    kid: i64,
    keyword: Option<&str>,
    whole_word: Option<bool>,
) -> AppResult<Keyword> {
    let (_, filter) = owned_keyword(c, owner, kid)?;
    apply_keywords(
        c,
        filter.id,
        &[KeywordChange {
            id: Some(kid),
            keyword: keyword.map(str::to_string),
            whole_word,
            destroy: false,
        }],
    )?;
    if keyword.is_some_and(|k| k.trim().is_empty()) {
        return Err(bad("Keyword can't be blank"));
    }
    changed(c, owner)?;
    Ok(owned_keyword(c, owner, kid)?.0)
}

pub fn delete_keyword(c: &mut DbConn, owner: i64, kid: i64) -> AppResult<()> {
    owned_keyword(c, owner, kid)?;
    diesel::delete(fk::table.find(kid)).execute(c)?;
    changed(c, owner)?;
    Ok(())
}

pub fn add_status(c: &mut DbConn, owner: i64, fid: i64, status_id: i64) -> AppResult<FilterStatus> {
    owned(c, owner, fid)?;
    Status::by_id(c, status_id).map_err(|_| AppError::not_found())?;
    let exists: Option<FilterStatus> = fs::table
        .filter(fs::filter_id.eq(fid))
        .filter(fs::status_id.eq(status_id))
        .select(FilterStatus::as_select())
        .first(c)
        .optional()?;
    if exists.is_some() {
        return Err(bad("Status has already been taken"));
    }
    let sid = id::next_id();
    diesel::insert_into(fs::table)
        .values((
            fs::id.eq(sid),
            fs::filter_id.eq(fid),
            fs::status_id.eq(status_id),
            fs::created_at.eq(now()),
        ))
        .execute(c)?;
    changed(c, owner)?;
    Ok(fs::table
        .find(sid)
        .select(FilterStatus::as_select())
        .first(c)?)
}

pub fn owned_status(c: &mut DbConn, owner: i64, id: i64) -> AppResult<FilterStatus> {
    let s: FilterStatus = fs::table
        .find(id)
        .select(FilterStatus::as_select())
        .first(c)
        .optional()?
        .ok_or_else(AppError::not_found)?;
    owned(c, owner, s.filter_id)?;
    Ok(s)
}

pub fn delete_status(c: &mut DbConn, owner: i64, id: i64) -> AppResult<()> {
    owned_status(c, owner, id)?;
    diesel::delete(fs::table.find(id)).execute(c)?;
    changed(c, owner)?;
    Ok(())
}

pub fn delete(c: &mut DbConn, owner: i64, fid: i64) -> AppResult<()> {
    owned(c, owner, fid)?;
    diesel::delete(f::table.find(fid)).execute(c)?;
    changed(c, owner)?;
    Ok(())
}

/// The Filter entity (with keywords and statuses when `rules`).
pub fn entity(filter: &Filter, kws: &[Keyword], sts: &[FilterStatus], rules: bool) -> Value {
    let mut v = json!({
        "id": filter.id.to_string(),
        "title": filter.title,
        "context": filter.context.split(',').filter(|s| !s.is_empty()).collect::<Vec<_>>(),
        "expires_at": filter.expires_at.map(crate::api::mastodon::entities::iso),
        "filter_action": filter.action,
    });
    if rules {
        v["keywords"] = json!(
            kws.iter()
                .filter(|k| k.filter_id == filter.id)
                .map(keyword_entity)
                .collect::<Vec<_>>()
        );
        v["statuses"] = json!(
            sts.iter()
                .filter(|s| s.filter_id == filter.id)
                .map(status_entity)
                .collect::<Vec<_>>()
        );
    }
    v
}

pub fn keyword_entity(k: &Keyword) -> Value {
    json!({ "id": k.id.to_string(), "keyword": k.keyword, "whole_word": k.whole_word })
}

pub fn status_entity(s: &FilterStatus) -> Value {
    json!({ "id": s.id.to_string(), "status_id": s.status_id.to_string() })
}

/// Whether `keyword` occurs in `text` (case-insensitive); `whole_word`
/// needs word boundaries where the keyword starts or ends with a word
/// character, as Mastodon matches.
pub fn keyword_matches(text: &str, keyword: &str, whole_word: bool) -> bool {
    let k = keyword.trim();
    if k.is_empty() {
        return false;
    }
    let mut pattern = regex::escape(k);
    if whole_word {
        let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        if word(k.chars().next()) {
            pattern = format!(r"\b{pattern}");
        }
        if word(k.chars().last()) {
            pattern = format!(r"{pattern}\b");
        }
    }
    regex::RegexBuilder::new(&pattern)
        .case_insensitive(true)
        .build()
        .is_ok_and(|r| r.is_match(text))
}

/// The viewer's active filters with their rules, read once per page.
pub struct Active {
    filters: Vec<Filter>,
    keywords: Vec<Keyword>,
    statuses: Vec<FilterStatus>,
}

/// Active filters of several accounts at once (only those that have any).
pub fn active_for(c: &mut DbConn, owners: &[i64]) -> QueryResult<HashMap<i64, Active>> {
    let t = now();
    let all: Vec<Filter> = f::table
        .filter(f::account_id.eq_any(owners))
        .order(f::id.asc())
        .select(Filter::as_select())
        .load::<Filter>(c)?
        .into_iter()
        .filter(|f| f.expires_at.is_none_or(|e| e > t))
        .collect();
    if all.is_empty() {
        return Ok(HashMap::new());
    }
    let ids: Vec<i64> = all.iter().map(|f| f.id).collect();
    let kws = keywords(c, &ids)?;
    let sts = statuses(c, &ids)?;
    let mut out: HashMap<i64, Active> = HashMap::new();
    for filter in all {
        let e = out.entry(filter.account_id).or_insert_with(|| Active {
            filters: Vec::new(),
            keywords: Vec::new(),
            statuses: Vec::new(),
        });
        e.keywords
            .extend(kws.iter().filter(|k| k.filter_id == filter.id).cloned());
        e.statuses
            .extend(sts.iter().filter(|s| s.filter_id == filter.id).cloned());
        e.filters.push(filter);
    }
    Ok(out)
}

impl Active {
    pub fn is_empty(&self) -> bool {
        self.filters.is_empty()
    }

    /// The `filtered` list (FilterResult entities) of a post whose
    /// searchable text is `text`.
    pub fn results(&self, status_id: i64, text: &str) -> Vec<Value> {
        let mut out = Vec::new();
        for filter in &self.filters {
            let kw: Vec<&str> = self
                .keywords
                .iter()
                .filter(|k| k.filter_id == filter.id)
                .filter(|k| keyword_matches(text, &k.keyword, k.whole_word))
                .map(|k| k.keyword.as_str())
                .collect();
            let st: Vec<String> = self
                .statuses
                .iter()
                .filter(|s| s.filter_id == filter.id && s.status_id == status_id)
                .map(|s| s.status_id.to_string())
                .collect();
            if kw.is_empty() && st.is_empty() {
                continue;
            }
            out.push(json!({
                "filter": entity(filter, &[], &[], false),
                "keyword_matches": if kw.is_empty() { Value::Null } else { json!(kw) },
                "status_matches": if st.is_empty() { Value::Null } else { json!(st) },
            }));
        }
        out
    }
}

/// Filters by id, for the v1 view (one entry per keyword).
pub fn v1_entities(c: &mut DbConn, owner: i64) -> QueryResult<Vec<Value>> {
    let filters = list(c, owner)?;
    let ids: Vec<i64> = filters.iter().map(|f| f.id).collect();
    let by_id: HashMap<i64, &Filter> = filters.iter().map(|f| (f.id, f)).collect();
    Ok(keywords(c, &ids)?
        .iter()
        .filter_map(|k| {
            let f = by_id.get(&k.filter_id)?;
            Some(json!({
                "id": k.id.to_string(),
                "phrase": k.keyword,
                "context": f.context.split(',').filter(|s| !s.is_empty()).collect::<Vec<_>>(),
                "whole_word": k.whole_word,
                "expires_at": f.expires_at.map(crate::api::mastodon::entities::iso),
                "irreversible": f.action == "hide",
            }))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::keyword_matches;

    #[test]
    fn keywords_match_as_mastodon_does() {
        assert!(keyword_matches("Quarterly BUDGET review", "budget", true));
        assert!(!keyword_matches("budgetary matters", "budget", true));
        assert!(keyword_matches("budgetary matters", "budget", false));
        assert!(keyword_matches("see #launch today", "#launch", true));
        assert!(
            keyword_matches("a.b (c)", "(c)", true),
            "regex characters are literal"
        );
        assert!(!keyword_matches("anything", "  ", true));
    }
}
