//! Read positions in the home timeline and notifications, saved so every
//! app of a user resumes where the last one stopped.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::markers;
use crate::db::{DbConn, now};

pub const TIMELINES: &[&str] = &["home", "notifications"];

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = markers)]
pub struct Marker {
    pub account_id: i64,
    pub timeline: String,
    pub last_read_id: i64,
    pub version: i32,
    pub updated_at: NaiveDateTime,
}

pub fn get(c: &mut DbConn, account: i64, timelines: &[String]) -> QueryResult<Vec<Marker>> {
    markers::table
        .filter(markers::account_id.eq(account))
        .filter(markers::timeline.eq_any(timelines))
        .select(Marker::as_select())
        .load(c)
}

/// Moves a marker; each save bumps its version (clients use it to detect
/// conflicting writers).
pub fn set(c: &mut DbConn, account: i64, timeline: &str, last_read_id: i64) -> QueryResult<()> {
    let t = now();
    let updated = diesel::update(
        markers::table
            .filter(markers::account_id.eq(account))
            .filter(markers::timeline.eq(timeline)),
    )
    .set((
        markers::last_read_id.eq(last_read_id),
        markers::version.eq(markers::version + 1),
        markers::updated_at.eq(t),
    ))
    .execute(c)?;
    if updated == 0 {
        diesel::insert_into(markers::table)
            .values((
                markers::account_id.eq(account),
                markers::timeline.eq(timeline),
                markers::last_read_id.eq(last_read_id),
                markers::version.eq(0),
                markers::updated_at.eq(t),
            ))
            .execute(c)?;
    }
    Ok(())
}
