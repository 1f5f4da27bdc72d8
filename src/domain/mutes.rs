//! Muting: the muted account's posts leave the muter's timelines (and,
//! unless asked otherwise, its notifications). Mutes stay on this instance.

use chrono::Duration;
use diesel::prelude::*;

use crate::db::schema::{blocks, mutes};
use crate::db::{DbConn, id, now};
use crate::error::{AppError, AppResult};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = mutes)]
pub struct Mute {
    pub id: i64,
    pub account_id: i64,
    pub target_account_id: i64,
    pub hide_notifications: bool,
    pub expires_at: Option<chrono::NaiveDateTime>,
    pub created_at: chrono::NaiveDateTime,
}

/// The mute of `target` by `muter`, if one is in force.
pub fn find(c: &mut DbConn, muter: i64, target: i64) -> QueryResult<Option<Mute>> {
    let m: Option<Mute> = mutes::table
        .filter(mutes::account_id.eq(muter))
        .filter(mutes::target_account_id.eq(target))
        .select(Mute::as_select())
        .first(c)
        .optional()?;
    Ok(m.filter(|m| m.expires_at.is_none_or(|t| t > now())))
}

/// Mutes (or updates the mute of) `target`; `duration` in seconds, 0 or
/// none for ever.
pub fn mute(
    c: &mut DbConn,
    muter: i64,
    target: i64,
    hide_notifications: bool,
    duration: Option<i64>,
) -> AppResult<()> {
    if muter == target {
        return Err(AppError::Unprocessable("You cannot mute yourself".into()));
    }
    let expires_at = duration
        .filter(|d| *d > 0)
        .map(|d| now() + Duration::seconds(d.min(10 * 365 * 86_400)));
    let updated = diesel::update(
        mutes::table
            .filter(mutes::account_id.eq(muter))
            .filter(mutes::target_account_id.eq(target)),
    )
    .set((
        mutes::hide_notifications.eq(hide_notifications),
        mutes::expires_at.eq(expires_at),
    ))
    .execute(c)?;
    if updated == 0 {
        diesel::insert_into(mutes::table)
            .values((
                mutes::id.eq(id::next_id()),
                mutes::account_id.eq(muter),
                mutes::target_account_id.eq(target),
                mutes::hide_notifications.eq(hide_notifications),
                mutes::expires_at.eq(expires_at),
                mutes::created_at.eq(now()),
            ))
            .execute(c)?;
    }
    Ok(())
}

pub fn unmute(c: &mut DbConn, muter: i64, target: i64) -> QueryResult<usize> {
    diesel::delete(
        mutes::table
            .filter(mutes::account_id.eq(muter))
            .filter(mutes::target_account_id.eq(target)),
    )
    .execute(c)
}

/// Accounts whose posts `viewer` does not want to see: those it mutes or
/// blocks, and those that block it.
pub fn hidden_authors(c: &mut DbConn, viewer: i64) -> QueryResult<Vec<i64>> {
    let t = now();
    let mut ids: Vec<i64> = mutes::table
        .filter(mutes::account_id.eq(viewer))
        .filter(mutes::expires_at.is_null().or(mutes::expires_at.gt(t)))
        .select(mutes::target_account_id)
        .load(c)?;
    ids.extend(
        blocks::table
            .filter(blocks::account_id.eq(viewer))
            .select(blocks::target_account_id)
            .load::<i64>(c)?,
    );
    ids.extend(
        blocks::table
            .filter(blocks::target_account_id.eq(viewer))
            .select(blocks::account_id)
            .load::<i64>(c)?,
    );
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// Whether notifications from `from` to `recipient` are to be dropped.
pub fn silences_notifications(c: &mut DbConn, recipient: i64, from: i64) -> QueryResult<bool> {
    if crate::domain::blocks::is_blocked(c, recipient, from)? {
        return Ok(true);
    }
    Ok(find(c, recipient, from)?.is_some_and(|m| m.hide_notifications))
}
