//! Reports to moderators: a local user reports an account (and some of its
//! posts); a report about someone on another server can be forwarded there
//! as a `Flag` from our instance actor, so the reporter stays anonymous, as
//! Mastodon does. Flags from other servers become reports here.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

use crate::app::AppState;
use crate::db::models::{Account, Status};
use crate::db::schema::{reports, statuses};
use crate::db::{DbConn, id, now};
use crate::error::{AppError, AppResult};

pub const CATEGORIES: &[&str] = &["spam", "legal", "violation", "other"];
/// Mastodon's limit on a report's comment.
pub const MAX_COMMENT: usize = 1000;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = reports)]
pub struct Report {
    pub id: i64,
    pub uri: Option<String>,
    pub account_id: i64,
    pub target_account_id: i64,
    pub status_ids: String,
    pub comment: String,
    pub category: String,
    pub forwarded: bool,
    pub action_taken_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl Report {
    pub fn statuses(&self) -> Vec<i64> {
        self.status_ids
            .split(',')
            .filter_map(|s| s.parse().ok())
            .collect()
    }
}

/// What a local user files.
#[derive(Debug, Clone)]
pub struct NewReport {
    pub target: Account,
    pub status_ids: Vec<i64>,
    pub comment: String,
    pub category: String,
    pub forward: bool,
}

/// Files a local user's report; forwards it to the target's server when
/// asked and the target is remote.
pub async fn file(state: &AppState, reporter: &Account, input: NewReport) -> AppResult<Report> {
    if input.comment.chars().count() > MAX_COMMENT {
        return Err(AppError::Unprocessable(format!(
            "Validation failed: Comment is too long (maximum is {MAX_COMMENT} characters)"
        )));
    }
    if !CATEGORIES.contains(&input.category.as_str()) {
        return Err(AppError::Unprocessable(
            "Validation failed: Category is not included in the list".into(),
        ));
    }
    if input.target.id == reporter.id {
        return Err(AppError::Unprocessable(
            "Validation failed: You cannot report yourself".into(),
        ));
    }
    let reporter_id = reporter.id;
    let base = state.base_url();
    state
        .db
        .transaction(move |c| {
            let target = input.target;
            let mut sids = input.status_ids;
            sids.sort_unstable();
            sids.dedup();
            // Only the reported account's own posts can be attached.
            let posts: Vec<Status> = statuses::table
                .filter(statuses::id.eq_any(&sids))
                .filter(statuses::account_id.eq(target.id))
                .select(Status::as_select())
                .load(c)?;
            if posts.len() != sids.len() {
                return Err(AppError::not_found());
            }
            let rid = id::next_id();
            let forward = input.forward && !target.is_local();
            let uri = forward.then(|| format!("{base}/reports/{rid}"));
            let t = now();
            diesel::insert_into(reports::table)
                .values((
                    reports::id.eq(rid),
                    reports::uri.eq(&uri),
                    reports::account_id.eq(reporter_id),
                    reports::target_account_id.eq(target.id),
                    reports::status_ids.eq(join(&sids)),
                    reports::comment.eq(&input.comment),
                    reports::category.eq(&input.category),
                    reports::forwarded.eq(forward),
                    reports::created_at.eq(t),
                    reports::updated_at.eq(t),
                ))
                .execute(c)?;
            crate::domain::notifications::notify_report(c, rid, reporter_id)?;
            if let Some(flag_id) = uri {
                forward_flag(c, &base, &flag_id, &target, &posts, &input.comment)?;
            }
            Ok(by_id(c, rid)?)
        })
        .await
}

fn join(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

/// Queues the Flag to the target's server, sent by the instance actor.
fn forward_flag(
    c: &mut DbConn,
    base: &str,
    flag_id: &str,
    target: &Account,
    posts: &[Status],
    comment: &str,
) -> AppResult<()> {
    let instance = Account::local_by_username(c, crate::domain::instance::INSTANCE_ACTOR_USERNAME)?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("instance actor missing")))?;
    let Some(inbox) = target
        .shared_inbox_url
        .clone()
        .or_else(|| target.inbox_url.clone())
    else {
        return Ok(());
    };
    let mut object = vec![target.uri.clone()];
    object.extend(posts.iter().map(|p| p.uri.clone()));
    let flag = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": flag_id,
        "type": "Flag",
        "actor": crate::federation::urls::instance_actor_uri(base),
        "object": object,
        "content": comment,
    });
    crate::delivery::enqueue(c, instance.id, &flag, &[inbox])?;
    Ok(())
}

/// Sends a local person's report on to the reported account's server, as
/// the instance (when the reporter did not ask to); false when the target
/// is local or it was sent already.
pub async fn forward(state: &AppState, id: i64) -> AppResult<bool> {
    let base = state.base_url();
    state
        .db
        .transaction(move |c| {
            let r = by_id(c, id).optional()?.ok_or_else(AppError::not_found)?;
            let target = Account::by_id(c, r.target_account_id)?;
            if r.forwarded || target.is_local() {
                return Ok(false);
            }
            let posts: Vec<Status> = statuses::table
                .filter(statuses::id.eq_any(r.statuses()))
                .select(Status::as_select())
                .load(c)?;
            let uri = format!("{base}/reports/{id}");
            forward_flag(c, &base, &uri, &target, &posts, &r.comment)?;
            diesel::update(reports::table.find(id))
                .set((
                    reports::uri.eq(&uri),
                    reports::forwarded.eq(true),
                    reports::updated_at.eq(now()),
                ))
                .execute(c)?;
            Ok::<_, AppError>(true)
        })
        .await
}

/// A Flag from another server: a report by that server's actor about the
/// local accounts and posts it names (others are ignored). Returns the new
/// report, or None when it names nothing of ours.
pub fn receive_flag(
    c: &mut DbConn,
    flag_uri: &str,
    reporter: &Account,
    objects: &[String],
    comment: &str,
) -> QueryResult<Option<i64>> {
    if reports::table
        .filter(reports::uri.eq(flag_uri))
        .count()
        .get_result::<i64>(c)?
        > 0
    {
        return Ok(None);
    }
    let mut target: Option<Account> = None;
    let mut posts: Vec<Status> = Vec::new();
    for uri in objects {
        if let Some(s) = Status::by_uri(c, uri)?.filter(|s| s.local) {
            posts.push(s);
        } else if let Some(a) = Account::by_uri(c, uri)?.filter(|a| a.is_local()) {
            target.get_or_insert(a);
        }
    }
    let target = match target {
        Some(t) => t,
        None => match posts.first() {
            Some(p) => Account::by_id(c, p.account_id)?,
            None => return Ok(None),
        },
    };
    let sids: Vec<i64> = posts
        .iter()
        .filter(|p| p.account_id == target.id)
        .map(|p| p.id)
        .collect();
    let rid = id::next_id();
    let t = now();
    let comment: String = comment.chars().take(MAX_COMMENT).collect();
    diesel::insert_into(reports::table)
        .values((
            reports::id.eq(rid),
            reports::uri.eq(flag_uri),
            reports::account_id.eq(reporter.id),
            reports::target_account_id.eq(target.id),
            reports::status_ids.eq(join(&sids)),
            reports::comment.eq(crate::domain::html::strip_tags(&comment)),
            reports::category.eq("other"),
            reports::forwarded.eq(false),
            reports::created_at.eq(t),
            reports::updated_at.eq(t),
        ))
        .execute(c)?;
    crate::domain::notifications::notify_report(c, rid, reporter.id)?;
    Ok(Some(rid))
}

pub fn by_id(c: &mut DbConn, id: i64) -> QueryResult<Report> {
    reports::table.find(id).select(Report::as_select()).first(c)
}

/// Reports for moderators, newest first; only the open ones unless `all`.
pub fn list(c: &mut DbConn, all: bool) -> QueryResult<Vec<Report>> {
    let mut q = reports::table.select(Report::as_select()).into_boxed();
    if !all {
        q = q.filter(reports::action_taken_at.is_null());
    }
    q.order(reports::id.desc()).load(c)
}

/// Marks a report handled. Returns false when there is no such report.
pub fn resolve(c: &mut DbConn, id: i64) -> QueryResult<bool> {
    let t = now();
    let n = diesel::update(reports::table.find(id))
        .set((
            reports::action_taken_at.eq(Some(t)),
            reports::updated_at.eq(t),
        ))
        .execute(c)?;
    Ok(n > 0)
}
