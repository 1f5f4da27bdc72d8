//! Signals that something a stream may show happened, carried from the
//! transaction that did it to every node's dispatcher.
//!
//! A signal names rows (ids), never rendered JSON: each node renders per
//! viewer after the commit, so visibility is decided where the viewer is.
//! PostgreSQL carries signals with NOTIFY (sent at commit, dropped on
//! rollback) to every node's LISTEN connection, this node's included; on
//! SQLite, one process, they wait in a thread-local until the connection's
//! closure returns Ok.

use std::cell::RefCell;
use std::sync::Weak;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, oneshot};

use crate::db::DbConn;

/// The NOTIFY channel, as SQL: channels are per database, so the schema
/// is part of the name and instances sharing a database in different
/// schemas do not hear each other.
const CHANNEL_SQL: &str = "'meetfield_' || md5(current_schema())";

/// PostgreSQL refuses NOTIFY payloads of 8000 bytes or more.
const MAX_PAYLOAD: usize = 7900;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "k")]
pub enum Signal {
    /// A status (or boost) was stored.
    #[serde(rename = "u")]
    Update { s: i64 },
    /// A status was edited (or its poll changed).
    #[serde(rename = "e")]
    Edit { s: i64 },
    /// A status was deleted: who wrote it, how it was addressed and whom it
    /// mentioned, since the row is gone when the signal is read.
    #[serde(rename = "d")]
    Delete {
        s: i64,
        a: i64,
        v: String,
        #[serde(default)]
        m: Vec<i64>,
    },
    /// A notification for account `a`.
    #[serde(rename = "n")]
    Notification { n: i64, a: i64 },
    /// Conversation `c` of account `a` has a new post.
    #[serde(rename = "c")]
    Conversation { c: i64, a: i64 },
    /// Account `a` changed its filters.
    #[serde(rename = "f")]
    FiltersChanged { a: i64 },
    /// Account `a` lost access (disabled, deprovisioned): every node closes
    /// its streaming connections.
    #[serde(rename = "x")]
    Disconnect { a: i64 },
    /// OAuth token `t` was revoked: streams opened with it close.
    #[serde(rename = "r")]
    Revoked { t: i64 },
    /// Announcement `i` was published or changed.
    #[serde(rename = "an")]
    Announcement { i: i64 },
    /// Reaction `n` to announcement `i` was given or taken back.
    #[serde(rename = "ar")]
    AnnouncementReaction { i: i64, n: String },
    /// Announcement `i` is gone (deleted, unpublished or over).
    #[serde(rename = "ad")]
    AnnouncementDelete { i: i64 },
}

thread_local! {
    static PENDING: RefCell<Vec<Signal>> = const { RefCell::new(Vec::new()) };
}

/// Announces `signal` once the current transaction commits.
pub fn publish(c: &mut DbConn, mut signal: Signal) -> QueryResult<()> {
    match c {
        DbConn::Postgres(pg) => {
            let mut payload = serde_json::to_string(&signal).unwrap_or_default();
            if payload.len() > MAX_PAYLOAD
                && let Signal::Delete { m, .. } = &mut signal
            {
                // Mentioned accounts only widen who hears of a deletion;
                // followers and the author still do.
                m.clear();
                payload = serde_json::to_string(&signal).unwrap_or_default();
            }
            diesel::sql_query(format!("SELECT pg_notify({CHANNEL_SQL}, $1)"))
                .bind::<diesel::sql_types::Text, _>(payload)
                .execute(pg)?;
        }
        DbConn::Sqlite(_) => PENDING.with(|p| p.borrow_mut().push(signal)),
    }
    Ok(())
}

/// Forgets signals left by an earlier closure on this thread.
pub(crate) fn clear_pending() {
    PENDING.with(|p| p.borrow_mut().clear());
}

/// Takes the signals the closure just run on this thread published.
pub(crate) fn take_pending() -> Vec<Signal> {
    PENDING.with(|p| std::mem::take(&mut *p.borrow_mut()))
}

pub type Sender = broadcast::Sender<Signal>;

/// Signals waiting for a slow dispatcher before the oldest are dropped.
pub const BUS_CAPACITY: usize = 8192;

pub fn channel() -> Sender {
    broadcast::channel(BUS_CAPACITY).0
}

/// Relays NOTIFY payloads to `bus` until the bus is dropped; reconnects
/// when the connection fails. Runs on its own thread: diesel's libpq
/// connection is blocking, and reading pending notifications costs no
/// round trip, so a short poll interval is cheap.
/// `ready` is told once the first LISTEN is in place.
pub fn spawn_pg_listener(url: String, bus: Weak<Sender>, ready: oneshot::Sender<()>) {
    std::thread::Builder::new()
        .name("stream-listen".into())
        .spawn(move || {
            let mut backoff = Duration::from_millis(200);
            let mut ready = Some(ready);
            while bus.strong_count() > 0 {
                match listen(&url, &bus, &mut ready) {
                    Ok(()) => return,
                    Err(e) => {
                        tracing::warn!(error = %e, "stream listener lost its connection; reconnecting");
                        std::thread::sleep(backoff);
                        backoff = (backoff * 2).min(Duration::from_secs(10));
                    }
                }
            }
        })
        .map(drop)
        .unwrap_or_else(|e| tracing::error!(error = %e, "cannot start the stream listener"));
}

const POLL: Duration = Duration::from_millis(10);

fn listen(
    url: &str,
    bus: &Weak<Sender>,
    ready: &mut Option<oneshot::Sender<()>>,
) -> anyhow::Result<()> {
    let mut conn = diesel::PgConnection::establish(url)?;
    #[derive(QueryableByName)]
    struct Channel {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    let channel: Channel =
        diesel::sql_query(format!("SELECT {CHANNEL_SQL} AS name")).get_result(&mut conn)?;
    // md5 hex: a safe identifier.
    conn.batch_execute(&format!("LISTEN {}", channel.name))?;
    tracing::debug!("stream listener connected");
    if let Some(r) = ready.take() {
        let _ = r.send(());
    }
    let mut idle = Duration::ZERO;
    loop {
        let Some(tx) = bus.upgrade() else {
            return Ok(());
        };
        let mut got = false;
        for n in conn.notifications_iter() {
            let n = n?;
            got = true;
            match serde_json::from_str::<Signal>(&n.payload) {
                Ok(s) => {
                    let _ = tx.send(s);
                }
                Err(e) => tracing::warn!(error = %e, "unreadable stream signal"),
            }
        }
        drop(tx);
        if got {
            idle = Duration::ZERO;
        } else {
            std::thread::sleep(POLL);
            idle += POLL;
            // A dead server is only noticed by talking to it.
            if idle >= Duration::from_secs(30) {
                conn.batch_execute("SELECT 1")?;
                idle = Duration::ZERO;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_are_small_and_round_trip() {
        let s = Signal::Delete {
            s: 1,
            a: 2,
            v: "private".into(),
            m: vec![3],
        };
        let j = serde_json::to_string(&s).unwrap();
        assert_eq!(j, r#"{"k":"d","s":1,"a":2,"v":"private","m":[3]}"#);
        assert_eq!(serde_json::from_str::<Signal>(&j).unwrap(), s);
    }
}
