//! Notifications for local accounts, written in the same transaction as the
//! event that causes them.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{accounts, notifications};
use crate::db::{DbConn, id, now};

pub const KINDS: &[&str] = &[
    "follow",
    "follow_request",
    "mention",
    "reblog",
    "favourite",
    "status",
    "update",
    "poll",
];

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = notifications)]
pub struct Notification {
    pub id: i64,
    pub account_id: i64,
    pub from_account_id: i64,
    pub kind: String,
    pub status_id: Option<i64>,
    pub created_at: NaiveDateTime,
    /// For `admin.report`: the report.
    pub report_id: Option<i64>,
}

pub fn by_id(c: &mut DbConn, id: i64) -> QueryResult<Option<Notification>> {
    notifications::table
        .find(id)
        .select(Notification::as_select())
        .first(c)
        .optional()
}

/// Who reads notifications addressed to `recipient`: a local user reads its
/// own; a local group's join requests go to its moderators (so stock apps
/// show them as follow requests); nobody reads a remote account's.
fn readers(c: &mut DbConn, recipient: i64, kind: &str) -> QueryResult<Vec<i64>> {
    let found: Option<(Option<String>, String)> = accounts::table
        .find(recipient)
        .select((accounts::domain, accounts::actor_type))
        .first(c)
        .optional()?;
    Ok(match found {
        Some((None, t)) if t == "Group" => {
            if kind == "follow_request" {
                crate::domain::groups::moderators(c, recipient)?
                    .into_iter()
                    .map(|a| a.id)
                    .collect()
            } else {
                Vec::new()
            }
        }
        Some((None, _)) => vec![recipient],
        _ => Vec::new(),
    })
}

/// Notifies `recipient` if it is a local account other than `from`; the
/// same event is recorded once.
pub fn notify(
    c: &mut DbConn,
    recipient: i64,
    from: i64,
    kind: &str,
    status: Option<i64>,
) -> QueryResult<()> {
    for reader in readers(c, recipient, kind)? {
        notify_one(c, reader, from, kind, status)?;
    }
    Ok(())
}

/// A notification about one's own post (a poll of one's that ended).
pub fn notify_self(
    c: &mut DbConn,
    account: i64,
    kind: &str,
    status: Option<i64>,
) -> QueryResult<()> {
    insert_once(c, account, account, kind, status)
}

fn notify_one(
    c: &mut DbConn,
    recipient: i64,
    from: i64,
    kind: &str,
    status: Option<i64>,
) -> QueryResult<()> {
    if recipient == from || crate::domain::mutes::silences_notifications(c, recipient, from)? {
        return Ok(());
    }
    insert_once(c, recipient, from, kind, status)
}

fn insert_once(
    c: &mut DbConn,
    recipient: i64,
    from: i64,
    kind: &str,
    status: Option<i64>,
) -> QueryResult<()> {
    let mut dup = notifications::table
        .filter(notifications::account_id.eq(recipient))
        .filter(notifications::from_account_id.eq(from))
        .filter(notifications::kind.eq(kind))
        .into_boxed();
    dup = match status {
        Some(s) => dup.filter(notifications::status_id.eq(s)),
        None => dup.filter(notifications::status_id.is_null()),
    };
    if dup
        .select(notifications::id)
        .first::<i64>(c)
        .optional()?
        .is_some()
    {
        return Ok(());
    }
    let nid = id::next_id();
    diesel::insert_into(notifications::table)
        .values((
            notifications::id.eq(nid),
            notifications::account_id.eq(recipient),
            notifications::from_account_id.eq(from),
            notifications::kind.eq(kind),
            notifications::status_id.eq(status),
            notifications::created_at.eq(now()),
        ))
        .execute(c)?;
    crate::stream::publish(
        c,
        crate::stream::Signal::Notification {
            n: nid,
            a: recipient,
        },
    )
}

/// Tells the local admins and moderators (not the reporter) of a new
/// report, as Mastodon's `admin.report` notifications.
pub fn notify_report(c: &mut DbConn, report_id: i64, reporter: i64) -> QueryResult<()> {
    use crate::db::schema::users;
    let moderators: Vec<i64> = users::table
        .filter(users::role.eq_any(crate::db::models::user::Role::STAFF))
        .select(users::account_id)
        .load(c)?;
    for m in moderators.into_iter().filter(|m| *m != reporter) {
        let nid = id::next_id();
        diesel::insert_into(notifications::table)
            .values((
                notifications::id.eq(nid),
                notifications::account_id.eq(m),
                notifications::from_account_id.eq(reporter),
                notifications::kind.eq("admin.report"),
                notifications::report_id.eq(report_id),
                notifications::created_at.eq(now()),
            ))
            .execute(c)?;
        crate::stream::publish(c, crate::stream::Signal::Notification { n: nid, a: m })?;
    }
    Ok(())
}

/// Removes a notification whose cause was undone (unfollow, unlike, …).
pub fn retract(
    c: &mut DbConn,
    recipient: i64,
    from: i64,
    kind: &str,
    status: Option<i64>,
) -> QueryResult<usize> {
    let mut n = 0;
    for reader in readers(c, recipient, kind)? {
        n += retract_one(c, reader, from, kind, status)?;
    }
    Ok(n)
}

fn retract_one(
    c: &mut DbConn,
    recipient: i64,
    from: i64,
    kind: &str,
    status: Option<i64>,
) -> QueryResult<usize> {
    let mut q = notifications::table
        .filter(notifications::account_id.eq(recipient))
        .filter(notifications::from_account_id.eq(from))
        .filter(notifications::kind.eq(kind))
        .into_boxed();
    q = match status {
        Some(s) => q.filter(notifications::status_id.eq(s)),
        None => q.filter(notifications::status_id.is_null()),
    };
    let ids: Vec<i64> = q.select(notifications::id).load(c)?;
    diesel::delete(notifications::table.filter(notifications::id.eq_any(ids))).execute(c)
}
