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
            diesel::insert_into(status_pins::table)
                .values((
                    status_pins::id.eq(id::next_id()),
                    status_pins::account_id.eq(author.id),
                    status_pins::status_id.eq(s.id),
                    status_pins::created_at.eq(now()),
                ))
                .execute(c)?;
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
            let removed = diesel::delete(
                status_pins::table
                    .filter(status_pins::account_id.eq(author.id))
                    .filter(status_pins::status_id.eq(s.id)),
            )
            .execute(c)?;
            if removed > 0 {
                announce(c, &base, &author, &s, "Remove")?;
            }
            Ok(s)
        })
        .await?;
    state.delivery_wake.notify_one();
    Ok(s)
}
