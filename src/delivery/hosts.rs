//! Health of the hosts we deliver to: a host that keeps failing is marked
//! unreachable, its deliveries wait, and one is tried now and then as a
//! probe; any success, or any signed activity from the host, revives it.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::delivery_hosts;
use crate::db::{DbConn, now};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = delivery_hosts)]
pub struct HostState {
    pub host: String,
    pub failing_since: Option<NaiveDateTime>,
    pub unreachable_since: Option<NaiveDateTime>,
    pub last_success_at: Option<NaiveDateTime>,
    pub last_probe_at: Option<NaiveDateTime>,
    pub updated_at: NaiveDateTime,
}

fn find(c: &mut DbConn, host: &str) -> QueryResult<Option<HostState>> {
    delivery_hosts::table
        .find(host)
        .select(HostState::as_select())
        .first(c)
        .optional()
}

fn ensure(c: &mut DbConn, host: &str) -> QueryResult<HostState> {
    if let Some(h) = find(c, host)? {
        return Ok(h);
    }
    diesel::insert_into(delivery_hosts::table)
        .values((
            delivery_hosts::host.eq(host),
            delivery_hosts::updated_at.eq(now()),
        ))
        .execute(c)?;
    find(c, host)?.ok_or(diesel::result::Error::NotFound)
}

/// The host answered (any HTTP answer but a server error counts).
pub fn record_success(c: &mut DbConn, host: &str) -> QueryResult<()> {
    let h = find(c, host)?;
    // Most hosts are healthy: skip the write when nothing changes but time.
    if let Some(h) = &h
        && h.failing_since.is_none()
        && h.unreachable_since.is_none()
        && h.last_success_at
            .is_some_and(|t| now() - t < chrono::Duration::seconds(60))
    {
        return Ok(());
    }
    ensure(c, host)?;
    let t = now();
    diesel::update(delivery_hosts::table.find(host))
        .set((
            delivery_hosts::failing_since.eq(None::<NaiveDateTime>),
            delivery_hosts::unreachable_since.eq(None::<NaiveDateTime>),
            delivery_hosts::last_success_at.eq(t),
            delivery_hosts::updated_at.eq(t),
        ))
        .execute(c)?;
    Ok(())
}

/// The host failed; after failing for `unreachable_after` it is marked
/// unreachable. Returns whether it is unreachable now.
pub fn record_failure(
    c: &mut DbConn,
    host: &str,
    unreachable_after: chrono::Duration,
) -> QueryResult<bool> {
    let h = ensure(c, host)?;
    let t = now();
    let failing_since = h.failing_since.unwrap_or(t);
    let unreachable = h
        .unreachable_since
        .or_else(|| (t - failing_since >= unreachable_after).then_some(t));
    diesel::update(delivery_hosts::table.find(host))
        .set((
            delivery_hosts::failing_since.eq(Some(failing_since)),
            delivery_hosts::unreachable_since.eq(unreachable),
            delivery_hosts::updated_at.eq(t),
        ))
        .execute(c)?;
    Ok(unreachable.is_some())
}

/// Something came from the host (a signed activity): it is alive.
pub fn revive(c: &mut DbConn, host: &str) -> QueryResult<bool> {
    let n = diesel::update(
        delivery_hosts::table
            .filter(delivery_hosts::host.eq(host))
            .filter(delivery_hosts::unreachable_since.is_not_null()),
    )
    .set((
        delivery_hosts::failing_since.eq(None::<NaiveDateTime>),
        delivery_hosts::unreachable_since.eq(None::<NaiveDateTime>),
        delivery_hosts::updated_at.eq(now()),
    ))
    .execute(c)?;
    Ok(n > 0)
}

/// Unreachable hosts.
pub fn unreachable(c: &mut DbConn) -> QueryResult<Vec<HostState>> {
    delivery_hosts::table
        .filter(delivery_hosts::unreachable_since.is_not_null())
        .order(delivery_hosts::host.asc())
        .select(HostState::as_select())
        .load(c)
}

pub fn mark_probed(c: &mut DbConn, host: &str) -> QueryResult<usize> {
    diesel::update(delivery_hosts::table.find(host))
        .set(delivery_hosts::last_probe_at.eq(now()))
        .execute(c)
}
