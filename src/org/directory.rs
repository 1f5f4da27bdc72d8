//! The organization directory: discoverable people here and at partners,
//! as Mastodon's `GET /api/v1/directory` lists them, with filters by
//! department, skill, free text and instance.

use diesel::prelude::*;
use serde::Deserialize;

use crate::db::models::Account;
use crate::db::schema::{accounts, blocks, mutes, profile_terms, users};
use crate::db::{DbConn, lower};
use crate::org::profile::{self, DEPARTMENT, SKILLS};

#[derive(Debug, Clone, Default, Deserialize)]
pub struct DirectoryQuery {
    /// `active` (recent posts first, the default) or `new`.
    pub order: Option<String>,
    #[serde(default, deserialize_with = "crate::api::extract::lenient_bool")]
    pub local: Option<bool>,
    pub offset: Option<i64>,
    pub limit: Option<i64>,
    pub department: Option<String>,
    pub skill: Option<String>,
    pub q: Option<String>,
    /// An instance as it appears in `acct` (host, with the port if any).
    pub domain: Option<String>,
}

pub const MAX_LIMIT: i64 = 80;

/// `%` and `_` are LIKE wildcards; a query means them literally.
pub(crate) fn like_escaped(s: &str) -> String {
    s.replace(['%', '_', '\\'], "")
}

type Backend = <DbConn as diesel::Connection>::Backend;
/// A query for accounts that more filters can narrow.
pub type PeopleQuery<'a> = diesel::dsl::IntoBoxed<
    'a,
    diesel::dsl::Select<accounts::table, diesel::dsl::AsSelect<Account, Backend>>,
    Backend,
>;

/// Who may be listed for `viewer`: discoverable, not suspended, people
/// (not groups or instance actors), local ones only while their login works,
/// nobody blocked either way or muted by the viewer; narrowed to an instance
/// (`domain`, as in `acct`) and a department when given.
pub fn people<'a>(
    c: &mut DbConn,
    viewer: Option<i64>,
    own_domain: &str,
    domain: Option<&str>,
    department: Option<&str>,
) -> QueryResult<PeopleQuery<'a>> {
    // Who is left out, read first and bound as lists (usually empty): as
    // subqueries, PostgreSQL guessed each removed half the rows and chose
    // parallel plans that cost more than the query.
    let mut hidden: Vec<i64> = users::table
        .filter(users::disabled.eq(true).or(users::approved.eq(false)))
        .select(users::account_id)
        .load(c)?;
    if let Some(me) = viewer {
        hidden.push(me);
        hidden.extend(
            blocks::table
                .filter(blocks::account_id.eq(me))
                .select(blocks::target_account_id)
                .load::<i64>(c)?,
        );
        hidden.extend(
            blocks::table
                .filter(blocks::target_account_id.eq(me))
                .select(blocks::account_id)
                .load::<i64>(c)?,
        );
        hidden.extend(
            mutes::table
                .filter(mutes::account_id.eq(me))
                .select(mutes::target_account_id)
                .load::<i64>(c)?,
        );
    }
    let mut query = accounts::table
        .select(Account::as_select())
        .into_boxed()
        .filter(accounts::discoverable.eq(true))
        .filter(accounts::suspended_at.is_null())
        .filter(accounts::actor_type.eq_any(["Person", "Service"]));
    if !hidden.is_empty() {
        query = query.filter(accounts::id.ne_all(hidden));
    }
    if let Some(d) = domain.map(str::trim).filter(|d| !d.is_empty()) {
        let d = d.to_lowercase();
        query = if d == own_domain.to_lowercase() {
            query.filter(accounts::domain.is_null())
        } else {
            query.filter(lower(accounts::domain.assume_not_null()).eq(d))
        };
    }
    if let Some(dept) = department.map(profile::normalize).filter(|d| !d.is_empty()) {
        query = query.filter(
            accounts::id.eq_any(
                profile_terms::table
                    .filter(profile_terms::field.eq(DEPARTMENT))
                    .filter(profile_terms::term.eq(dept))
                    .select(profile_terms::account_id),
            ),
        );
    }
    Ok(query)
}

/// The directory as `viewer` sees it.
pub fn list(
    c: &mut DbConn,
    viewer: Option<i64>,
    own_domain: &str,
    q: &DirectoryQuery,
) -> QueryResult<Vec<Account>> {
    let mut query = people(
        c,
        viewer,
        own_domain,
        q.domain.as_deref(),
        q.department.as_deref(),
    )?;
    if q.local.unwrap_or(false) {
        query = query.filter(accounts::domain.is_null());
    }
    if let Some(skill) = q
        .skill
        .as_deref()
        .filter(|s| !profile::normalize(s).is_empty())
    {
        let forms = profile::skill_forms(c, skill)?;
        query = query.filter(
            accounts::id.eq_any(
                profile_terms::table
                    .filter(profile_terms::field.eq(SKILLS))
                    .filter(profile_terms::term.eq_any(forms))
                    .select(profile_terms::account_id),
            ),
        );
    }
    if let Some(text) =
        q.q.as_deref()
            .map(|t| like_escaped(&profile::normalize(t)))
            .filter(|t| !t.is_empty())
    {
        let pattern = format!("%{text}%");
        query = query.filter(
            lower(accounts::username)
                .like(pattern.clone())
                .or(lower(accounts::display_name).like(pattern.clone()))
                .or(accounts::id.eq_any(
                    profile_terms::table
                        .filter(profile_terms::term.like(pattern))
                        .select(profile_terms::account_id),
                )),
        );
    }
    query = match q.order.as_deref() {
        Some("new") => query.order((accounts::created_at.desc(), accounts::id.desc())),
        // Recent posters first; those who never posted last.
        _ => query.order((
            accounts::last_status_at.is_null(),
            accounts::last_status_at.desc(),
            accounts::id.desc(),
        )),
    };
    query
        .limit(q.limit.unwrap_or(40).clamp(1, MAX_LIMIT))
        .offset(q.offset.unwrap_or(0).max(0))
        .load(c)
}
