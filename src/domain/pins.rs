//! Pinned posts: an author features up to five of its own posts on its
//! profile; remote followers learn of it through Add/Remove on the actor's
//! `featured` collection, as Mastodon does.

use diesel::prelude::*;
use serde_json::json;

use crate::app::AppState;
use crate::db::models::{Account, Follow, Status};
use crate::db::schema::status_pins;
use crate::db::{DbConn, id, now};
use crate::delivery;
use crate::error::{AppError, AppResult};
use crate::federation::protocol::context::context;
use crate::federation::protocol::note::PUBLIC;
use crate::federation::urls;

pub const PINS_MAX: i64 = 5;

fn validation(msg: &str) -> AppError {
    AppError::Unprocessable(format!("Validation failed: {msg}"))
}

/// Ids among `ids` that `account` has pinned.
pub fn pinned_among(c: &mut DbConn, account: i64, ids: &[i64]) -> QueryResult<Vec<i64>> {
    status_pins::table
        .filter(status_pins::account_id.eq(account))
        .filter(status_pins::status_id.eq_any(ids))
        .select(status_pins::status_id)
        .load(c)
}

/// An account's pinned posts, most recently pinned first.
pub fn pinned(c: &mut DbConn, account: i64) -> QueryResult<Vec<Status>> {
    use crate::db::schema::statuses;
    status_pins::table
        .inner_join(statuses::table)
        .filter(status_pins::account_id.eq(account))
        .order(status_pins::id.desc())
        .select(Status::as_select())
        .load(c)
}

/// Add/Remove of a public post on the featured collection, for followers.
fn announce(c: &mut DbConn, base: &str, author: &Account, s: &Status, kind: &str) -> AppResult<()> {
    if !matches!(s.visibility.as_str(), "public" | "unlisted") {
        return Ok(());
    }
    if let Some(g) = crate::domain::groups::settings(c, author.id)?
        && g.closed
    {
        return Ok(());
    }
    let inboxes = Follow::follower_inboxes(c, author.id)?;
    if inboxes.is_empty() {
        return Ok(());
    }
    let activity = json!({
        "@context": context(),
        "id": urls::activity(base, id::next_id()),
        "type": kind,
        "actor": author.uri,
        "to": [PUBLIC],
        "cc": [urls::followers(&author.uri)],
        "object": s.uri,
        "target": urls::featured(&author.uri),
    });
    delivery::enqueue(c, author.id, &activity, &inboxes)?;
    Ok(())
}

/// A moderator pins a post the group took in as one of the group's
/// announcements (shown first on the group's profile).
pub async fn pin_for_group(
    state: &AppState,
    moderator: &Account,
    group_id: i64,
    status_id: i64,
    on: bool,
) -> AppResult<Status> {
    let (base, mid) = (state.base_url(), moderator.id);
    let s = state
        .db
        .transaction(move |c| {
            let g = crate::domain::groups::moderated(c, mid, group_id)?;
            if !crate::domain::groups::groups_of_parent(c, status_id)?.contains(&g.account.id) {
                return Err(AppError::NotFound("Record not found".into()));
            }
            let s = Status::by_id(c, status_id)?;
            let pinned = !pinned_among(c, g.account.id, &[s.id])?.is_empty();
            match (on, pinned) {
                (true, false) => {
                    let count: i64 = status_pins::table
                        .filter(status_pins::account_id.eq(g.account.id))
                        .count()
                        .get_result(c)?;
                    if count >= PINS_MAX {
                        return Err(validation(
                            "The group already has the maximum number of pinned posts",
                        ));
                    }
                    insert_pin(c, g.account.id, s.id)?;
                    announce(c, &base, &g.account, &s, "Add")?;
                }
                (false, true) => {
                    delete_pin(c, g.account.id, s.id)?;
                    announce(c, &base, &g.account, &s, "Remove")?;
                }
                _ => {}
            }
            Ok(s)
        })
        .await?;
    state.delivery_wake.notify_one();
    Ok(s)
}

fn insert_pin(c: &mut DbConn, account: i64, status: i64) -> QueryResult<usize> {
    diesel::insert_into(status_pins::table)
        .values((
            status_pins::id.eq(id::next_id()),
            status_pins::account_id.eq(account),
            status_pins::status_id.eq(status),
            status_pins::created_at.eq(now()),
        ))
        .execute(c)
}

fn delete_pin(c: &mut DbConn, account: i64, status: i64) -> QueryResult<usize> {
    diesel::delete(
        status_pins::table
            .filter(status_pins::account_id.eq(account))
            .filter(status_pins::status_id.eq(status)),
    )
    .execute(c)
}

pub async fn pin(state: &AppState, author: &Account, status_id: i64) -> AppResult<Status> {
    let (base, author) = (state.base_url(), author.clone());
    let s = state
        .db
        .transaction(move |c| {
            let s = Status::by_id(c, status_id).map_err(|_| AppError::not_found())?;
            if s.account_id != author.id {
                return Err(validation("Someone else's post cannot be pinned"));
            }
            if s.reblog_of_id.is_some() {
                return Err(validation("Boosts cannot be pinned"));
            }
            if s.visibility == "direct" {
                return Err(validation("Private mentions cannot be pinned"));
            }
            if !pinned_among(c, author.id, &[s.id])?.is_empty() {
                return Ok(s);
            }
            let count: i64 = status_pins::table
                .filter(status_pins::account_id.eq(author.id))
                .count()
                .get_result(c)?;
            if count >= PINS_MAX {
                return Err(validation(
                    "You have already pinned the maximum number of posts",
                ));
            }
            insert_pin(c, author.id, s.id)?;
            announce(c, &base, &author, &s, "Add")?;
            Ok(s)
        })
        .await?;
    state.delivery_wake.notify_one();
    Ok(s)
}

pub async fn unpin(state: &AppState, author: &Account, status_id: i64) -> AppResult<Status> {
    let (base, author) = (state.base_url(), author.clone());
    let s = state
        .db
        .transaction(move |c| {
            let s = Status::by_id(c, status_id).map_err(|_| AppError::not_found())?;
            if s.account_id != author.id {
                return Err(AppError::not_found());
            }
            let removed = delete_pin(c, author.id, s.id)?;
            if removed > 0 {
                announce(c, &base, &author, &s, "Remove")?;
            }
            Ok(s)
        })
        .await?;
    state.delivery_wake.notify_one();
    Ok(s)
}
