//! Outgoing activities: one database row per target inbox, written in the
//! same transaction as the change that caused them, sent by workers.
//!
//! A claimed row is leased (its next attempt moved into the future) rather
//! than locked, so a worker that dies mid-send leaves the row due again once
//! the lease expires; PostgreSQL claims with `FOR UPDATE SKIP LOCKED` so
//! several workers never take the same row. Receivers deduplicate by
//! activity id, which covers the rare second send after a crash.

pub mod hosts;
pub mod send;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use activitypub_federation::config::{Data, FederationConfig};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::Value;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use url::Url;

use crate::app::AppState;
use crate::db::models::Account;
use crate::db::schema::deliveries;
use crate::db::{DbConn, id, now};
use crate::error::{AppError, AppResult};
use crate::federation::protocol::helpers::authority;
use send::Outcome;

const LEASE: Duration = Duration::from_secs(120);
const BATCH: i64 = 64;
/// How long the recorder waits to gather outcomes into one transaction.
const RECORD_GATHER: Duration = Duration::from_millis(10);
/// Unreachable hosts get one delivery tried this often.
const PROBE_EVERY: Duration = Duration::from_secs(300);
/// After this many failed attempts (about a week of backoff) a delivery is
/// given up.
pub const MAX_ATTEMPTS: i32 = 18;

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = deliveries)]
pub struct Delivery {
    pub id: i64,
    pub activity_id: String,
    pub sender_account_id: i64,
    pub inbox: String,
    pub payload: String,
    pub state: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub host: String,
}

/// `host[:port]` of an inbox URL (the unit of per-host limits).
pub fn host_of(inbox: &str) -> String {
    Url::parse(inbox).map(|u| authority(&u)).unwrap_or_default()
}

/// Queues `activity` from `sender` to each inbox once (call inside the
/// transaction that makes the change). Returns the number of rows added.
pub fn enqueue(
    conn: &mut DbConn,
    sender_id: i64,
    activity: &Value,
    inboxes: &[String],
) -> QueryResult<usize> {
    let activity_id = activity
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let payload = activity.to_string();
    let mut targets: Vec<&String> = inboxes.iter().collect();
    targets.sort();
    targets.dedup();
    // One query for the inboxes this activity already has, then rows in
    // multi-row inserts: a post to a thousand followers is a few statements.
    let existing: HashSet<String> = deliveries::table
        .filter(deliveries::activity_id.eq(&activity_id))
        .select(deliveries::inbox)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    let t = now();
    let rows: Vec<_> = targets
        .into_iter()
        .filter(|inbox| !existing.contains(inbox.as_str()))
        .map(|inbox| {
            (
                deliveries::id.eq(id::next_id()),
                deliveries::activity_id.eq(&activity_id),
                deliveries::sender_account_id.eq(sender_id),
                deliveries::inbox.eq(inbox),
                deliveries::host.eq(host_of(inbox)),
                deliveries::payload.eq(&payload),
                deliveries::state.eq("pending"),
                deliveries::next_attempt_at.eq(t),
                deliveries::created_at.eq(t),
                deliveries::updated_at.eq(t),
            )
        })
        .collect();
    // SQLite allows 32,766 bound values per statement; ten per row.
    // (Multi-row inserts exist per backend, not for the multi-backend type.)
    for chunk in rows.chunks(500) {
        let insert = diesel::insert_into(deliveries::table).values(chunk);
        match conn {
            DbConn::Postgres(pg) => insert.execute(pg)?,
            DbConn::Sqlite(lite) => insert.execute(lite)?,
        };
    }
    Ok(rows.len())
}

/// Delay before attempt `attempts + 1`: 30 s doubling up to a day, ±10 %,
/// times `scale` (tests shrink it).
pub fn backoff(attempts: i32, scale: f64) -> Duration {
    let base = 30u64.saturating_mul(1u64 << attempts.clamp(0, 20) as u32);
    let capped = base.min(24 * 3600);
    let jitter = rand::random::<f64>() * 0.2 - 0.1;
    Duration::from_secs_f64(capped as f64 * (1.0 + jitter) * scale)
}

fn chrono_dur(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// Leases up to `limit` due rows, none for the hosts in `skip` (and, with
/// `only`, just for that host).
fn claim(
    conn: &mut DbConn,
    limit: i64,
    skip: &[String],
    only: Option<&str>,
    lease: Duration,
) -> QueryResult<Vec<Delivery>> {
    let t = now();
    let lease_end = t + chrono_dur(lease);
    if let DbConn::Postgres(pg) = conn {
        use diesel::sql_types::{Array, BigInt, Nullable, Text, Timestamp};
        return diesel::sql_query(
            "UPDATE deliveries SET next_attempt_at = $1, attempts = attempts + 1, updated_at = $2 \
             WHERE id IN (SELECT id FROM deliveries \
               WHERE state = 'pending' AND next_attempt_at <= $2 AND host <> ALL($3) \
                 AND ($4::text IS NULL OR host = $4) \
               ORDER BY next_attempt_at LIMIT $5 FOR UPDATE SKIP LOCKED) \
             RETURNING *",
        )
        .bind::<Timestamp, _>(lease_end)
        .bind::<Timestamp, _>(t)
        .bind::<Array<Text>, _>(skip)
        .bind::<Nullable<Text>, _>(only)
        .bind::<BigInt, _>(limit)
        .load::<Delivery>(pg);
    }
    // SQLite: the caller's write transaction makes select-then-update atomic.
    let mut q = deliveries::table
        .filter(deliveries::state.eq("pending"))
        .filter(deliveries::next_attempt_at.le(t))
        .filter(deliveries::host.ne_all(skip))
        .into_boxed();
    if let Some(h) = only {
        q = q.filter(deliveries::host.eq(h));
    }
    let ids: Vec<i64> = q
        .order(deliveries::next_attempt_at.asc())
        .limit(limit)
        .select(deliveries::id)
        .load(conn)?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    diesel::update(deliveries::table.filter(deliveries::id.eq_any(&ids)))
        .set((
            deliveries::next_attempt_at.eq(lease_end),
            deliveries::attempts.eq(deliveries::attempts + 1),
            deliveries::updated_at.eq(t),
        ))
        .execute(conn)?;
    deliveries::table
        .filter(deliveries::id.eq_any(&ids))
        .select(Delivery::as_select())
        .load(conn)
}

/// Puts leased rows back, due now, as if never claimed (shutdown, or more
/// rows for one host than its limit).
fn release(conn: &mut DbConn, ids: &[i64]) -> QueryResult<usize> {
    diesel::update(
        deliveries::table
            .filter(deliveries::id.eq_any(ids))
            .filter(deliveries::state.eq("pending")),
    )
    .set((
        deliveries::next_attempt_at.eq(now()),
        deliveries::attempts.eq(deliveries::attempts - 1),
    ))
    .execute(conn)
}

/// What a worker needs besides the application state.
#[derive(Clone)]
struct Sender {
    data: Data<AppState>,
    client: reqwest::Client,
    keys: send::KeyCache,
    signer: send::Signer,
    senders: Arc<Mutex<HashMap<i64, Arc<Account>>>>,
}

impl Sender {
    async fn account(&self, id: i64) -> AppResult<Arc<Account>> {
        if let Some(a) = self
            .senders
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
        {
            return Ok(a.clone());
        }
        let a = Arc::new(
            self.data
                .db
                .run(move |c| Account::by_id(c, id).map_err(AppError::from))
                .await?,
        );
        self.senders
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, a.clone());
        Ok(a)
    }

    /// One attempt at one delivery.
    async fn attempt(&self, d: &Delivery) -> Outcome {
        let Ok(inbox) = Url::parse(&d.inbox) else {
            return Outcome::Skipped("invalid inbox URL".into());
        };
        let config = &self.data.config;
        let host = inbox.host_str().unwrap_or_default();
        if authority(&inbox) == config.domain.to_ascii_lowercase() {
            return Outcome::Skipped("local inbox".into());
        }
        if inbox.scheme() != "https" && !config.federation_insecure_local {
            return Outcome::Skipped("inbox is not https".into());
        }
        match self.data.policy.allows(host).await {
            Ok(true) => {}
            Ok(false) => return Outcome::Skipped("refused by the federation policy".into()),
            Err(e) => return Outcome::Failed(None, format!("policy unavailable: {e}")),
        }
        let sender = match self.account(d.sender_account_id).await {
            Ok(a) => a,
            Err(e) => return Outcome::Failed(None, format!("sender: {e}")),
        };
        let Some(pem) = sender.private_key_pem.as_deref() else {
            return Outcome::Skipped("sender has no private key".into());
        };
        let key = match self.keys.get(sender.id, pem) {
            Ok(k) => k,
            Err(e) => return Outcome::Skipped(e),
        };
        send::post(
            &self.client,
            &self.signer,
            &inbox,
            &sender.uri,
            key,
            bytes::Bytes::from(d.payload.clone()),
            crate::federation::REQUEST_TIMEOUT,
        )
        .await
    }
}

/// Writes what came of a batch of attempts, in one transaction (one write
/// per delivery would cost more than the signing on SQLite).
async fn record_batch(data: &Data<AppState>, batch: Vec<(Delivery, Outcome)>) -> AppResult<()> {
    let t = now();
    let scale = data.config.delivery_backoff_scale;
    let unreachable_after =
        chrono::Duration::seconds(data.config.delivery_unreachable_after_secs as i64);
    let mut rows = Vec::with_capacity(batch.len());
    // Per host, the last thing seen in this batch: answered or failed.
    let mut host_seen: HashMap<String, bool> = HashMap::new();
    for (d, outcome) in &batch {
        let (state, next, status, error) = match outcome {
            Outcome::Delivered(s) => ("done", t, Some(*s), None),
            Outcome::Rejected(s, why) => ("rejected", t, Some(*s), Some(why.clone())),
            Outcome::Skipped(why) => ("skipped", t, None, Some(why.clone())),
            Outcome::RetryAfter(s, after) => (
                "pending",
                t + chrono_dur((*after).min(Duration::from_secs(24 * 3600))),
                Some(*s),
                Some(format!("retry after {}s", after.as_secs())),
            ),
            Outcome::Failed(s, why) if d.attempts >= MAX_ATTEMPTS => {
                ("failed", t, *s, Some(why.clone()))
            }
            Outcome::Failed(s, why) => (
                "pending",
                t + chrono_dur(backoff(d.attempts - 1, scale)),
                *s,
                Some(why.clone()),
            ),
        };
        if let Some(e) = &error {
            tracing::debug!(inbox = %d.inbox, activity = %d.activity_id, state, error = %e, "delivery");
        }
        crate::metrics::delivery_outcome(&d.host, state, d.created_at);
        match outcome {
            Outcome::Failed(..) => {
                host_seen.insert(d.host.clone(), false);
            }
            Outcome::Skipped(_) => {}
            _ => {
                host_seen.insert(d.host.clone(), true);
            }
        }
        rows.push((d.id, state, next, status, error));
    }
    data.db
        .transaction(move |c| {
            for (id, state, next, status, error) in rows {
                diesel::update(deliveries::table.find(id))
                    .set((
                        deliveries::state.eq(state),
                        deliveries::next_attempt_at.eq(next),
                        deliveries::last_status.eq(status.map(i32::from)),
                        deliveries::last_error.eq(error),
                        deliveries::updated_at.eq(t),
                    ))
                    .execute(c)?;
            }
            for (host, answered) in host_seen {
                if answered {
                    hosts::record_success(c, &host)?;
                } else if hosts::record_failure(c, &host, unreachable_after)? {
                    tracing::warn!(host = %host, "host marked unreachable");
                }
            }
            Ok::<_, AppError>(())
        })
        .await
}

/// Writes outcomes as they come, in batches, and only then lets go of the
/// rows (so a shutdown never returns a sent row to the queue).
async fn run_recorder(
    data: Data<AppState>,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<(Delivery, Outcome)>,
    claimed_ids: Arc<Mutex<HashSet<i64>>>,
) {
    while let Some(first) = rx.recv().await {
        // Outcomes arriving within a few milliseconds share one write
        // transaction (one per outcome would cost SQLite more than sending).
        let mut batch = vec![first];
        let until = tokio::time::Instant::now() + RECORD_GATHER;
        while batch.len() < 256 {
            match tokio::time::timeout_at(until, rx.recv()).await {
                Ok(Some(item)) => batch.push(item),
                _ => break,
            }
        }
        let ids: Vec<i64> = batch.iter().map(|(d, _)| d.id).collect();
        let mut result = record_batch(&data, batch.clone()).await;
        // A busy database gets a second chance before the rows are left to
        // their lease.
        if result.is_err() {
            tokio::time::sleep(Duration::from_millis(200)).await;
            result = record_batch(&data, batch).await;
        }
        if let Err(e) = result {
            tracing::error!(error = %e, "cannot record delivery outcomes");
        }
        let mut claimed = claimed_ids.lock().unwrap_or_else(|p| p.into_inner());
        for id in ids {
            claimed.remove(&id);
        }
    }
}

/// Hosts the next claim must leave out: those at their concurrency limit
/// and the unreachable ones (bar one probe every few minutes).
struct Skips {
    unreachable: Vec<String>,
    probes: Vec<String>,
    read_at: Option<Instant>,
}

impl Skips {
    async fn refresh(&mut self, data: &Data<AppState>) {
        if self
            .read_at
            .is_some_and(|t| t.elapsed() < Duration::from_secs(5))
        {
            return;
        }
        let probe_every = chrono_dur(PROBE_EVERY.mul_f64(data.config.delivery_backoff_scale));
        match data
            .db
            .run(|c| hosts::unreachable(c).map_err(AppError::from))
            .await
        {
            Ok(list) => {
                let t = now();
                self.probes = list
                    .iter()
                    .filter(|h| h.last_probe_at.is_none_or(|p| t - p >= probe_every))
                    .map(|h| h.host.clone())
                    .collect();
                self.unreachable = list.into_iter().map(|h| h.host).collect();
                self.read_at = Some(Instant::now());
            }
            Err(e) => tracing::warn!(error = %e, "cannot read unreachable hosts"),
        }
    }
}

/// Runs deliveries until `shutdown` turns true: claims due rows as slots
/// free up, at most `delivery_concurrency` in flight and
/// `delivery_host_concurrency` per host; on shutdown waits a little for
/// in-flight ones, then puts the rest back in the queue.
pub async fn run_worker(
    federation: FederationConfig<AppState>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let data = federation.to_request_data();
    let client = match crate::federation::client::build_plain_client(
        data.config.federation_insecure_local,
        crate::federation::REQUEST_TIMEOUT,
    ) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "delivery worker cannot build its HTTP client");
            return;
        }
    };
    let sender = Sender {
        data: data.clone(),
        client,
        keys: send::KeyCache::default(),
        signer: send::Signer::per_core(),
        senders: Arc::default(),
    };
    let wake = data.delivery_wake.clone();
    // A dead worker's rows come back after the lease (scaled like retries
    // for tests), never before a send in flight could have timed out.
    let lease = LEASE
        .mul_f64(data.config.delivery_backoff_scale)
        .max(crate::federation::REQUEST_TIMEOUT + Duration::from_secs(5));
    let global = Arc::new(Semaphore::new(data.config.delivery_concurrency));
    // While deliveries are in flight, claim only once a quarter of the slots
    // are free: claiming is a write transaction, and one per freed slot
    // cost as much as the sending.
    let min_claim = (data.config.delivery_concurrency / 4).clamp(1, BATCH as usize);
    let per_host = data.config.delivery_host_concurrency;
    let in_flight: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let claimed_ids: Arc<Mutex<HashSet<i64>>> = Arc::default();
    let (outcomes, outcomes_rx) = tokio::sync::mpsc::unbounded_channel();
    let recorder = tokio::spawn(run_recorder(data.clone(), outcomes_rx, claimed_ids.clone()));
    let mut tasks = JoinSet::new();
    let mut skips = Skips {
        unreachable: Vec::new(),
        probes: Vec::new(),
        read_at: None,
    };
    loop {
        if *shutdown.borrow() {
            break;
        }
        while tasks.try_join_next().is_some() {}
        let free = global.available_permits() as i64;
        let mut batch = Vec::new();
        let tried = free > 0 && (free as usize >= min_claim || tasks.is_empty());
        if tried {
            skips.refresh(&data).await;
            let mut skip: Vec<String> = skips.unreachable.clone();
            skip.extend(
                in_flight
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .iter()
                    .filter(|(_, n)| **n >= per_host)
                    .map(|(h, _)| h.clone()),
            );
            let probes = std::mem::take(&mut skips.probes);
            let limit = free.min(BATCH);
            match data
                .db
                .transaction(move |c| {
                    let mut rows = Vec::new();
                    for h in &probes {
                        let got = claim(c, 1, &[], Some(h), lease)?;
                        if !got.is_empty() {
                            hosts::mark_probed(c, h)?;
                        }
                        rows.extend(got);
                    }
                    rows.extend(claim(c, limit - rows.len() as i64, &skip, None, lease)?);
                    Ok::<_, AppError>(rows)
                })
                .await
            {
                Ok(rows) => batch = rows,
                Err(e) => tracing::warn!(error = %e, "cannot claim deliveries"),
            }
        }
        // More rows for one host than its limit go back to the queue.
        let mut excess = Vec::new();
        for d in batch {
            {
                let mut counts = in_flight.lock().unwrap_or_else(|p| p.into_inner());
                let n = counts.entry(d.host.clone()).or_default();
                if *n >= per_host {
                    excess.push(d.id);
                    continue;
                }
                *n += 1;
            }
            let Ok(permit) = global.clone().acquire_owned().await else {
                break;
            };
            claimed_ids
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(d.id);
            let (sender, in_flight, outcomes) =
                (sender.clone(), in_flight.clone(), outcomes.clone());
            tasks.spawn(async move {
                let _permit = permit;
                let started = Instant::now();
                let outcome = sender.attempt(&d).await;
                crate::metrics::delivery_latency(started.elapsed());
                if let Some(n) = in_flight
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get_mut(&d.host)
                {
                    *n = n.saturating_sub(1);
                }
                let _ = outcomes.send((d, outcome));
            });
        }
        let worked = !excess.is_empty() || global.available_permits() as i64 != free;
        if !excess.is_empty()
            && let Err(e) = data
                .db
                .transaction(move |c| release(c, &excess).map_err(AppError::from))
                .await
        {
            tracing::warn!(error = %e, "cannot release deliveries");
        }
        if tried && !worked {
            let nap = next_due_in(&data).await.min(Duration::from_secs(1));
            tokio::select! {
                () = wake.notified() => {},
                () = tokio::time::sleep(nap) => {},
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {},
                _ = shutdown.changed() => {},
            }
        } else if global.available_permits() < min_claim && !tasks.is_empty() {
            // Too few slots free to be worth a claim: wait for more.
            tokio::select! {
                Some(_) = tasks.join_next() => {},
                _ = shutdown.changed() => {},
            }
        }
    }
    // In-flight deliveries get a few seconds; the rest return to the queue.
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    tasks.abort_all();
    while tasks.join_next().await.is_some() {}
    // Outcomes already sent are written before anything is put back.
    drop(outcomes);
    let _ = recorder.await;
    let left: Vec<i64> = claimed_ids
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .drain()
        .collect();
    if !left.is_empty() {
        let n = left.len();
        match data
            .db
            .transaction(move |c| release(c, &left).map_err(AppError::from))
            .await
        {
            Ok(_) => tracing::info!(
                deliveries = n,
                "unfinished deliveries returned to the queue"
            ),
            Err(e) => tracing::warn!(error = %e, "cannot return deliveries to the queue"),
        }
    }
}

/// Time until the earliest pending delivery is due (retries wake on time).
async fn next_due_in(data: &Data<AppState>) -> Duration {
    let next = data
        .db
        .run(|c| {
            deliveries::table
                .filter(deliveries::state.eq("pending"))
                .select(diesel::dsl::min(deliveries::next_attempt_at))
                .first::<Option<NaiveDateTime>>(c)
                .map_err(AppError::from)
        })
        .await
        .ok()
        .flatten();
    match next {
        Some(t) => (t - now())
            .to_std()
            .unwrap_or_default()
            .max(Duration::from_millis(100)),
        None => Duration::from_secs(1),
    }
}

/// Counts of deliveries by state (for admins and tests).
pub async fn counts(db: &crate::db::Db) -> AppResult<Vec<(String, i64)>> {
    db.run(|c| {
        deliveries::table
            .group_by(deliveries::state)
            .select((deliveries::state, diesel::dsl::count_star()))
            .order(deliveries::state.asc())
            .load::<(String, i64)>(c)
            .map_err(AppError::from)
    })
    .await
}

/// What `meetfield admin queue status` shows.
#[derive(Debug, Clone)]
pub struct QueueStatus {
    pub by_state: Vec<(String, i64)>,
    pub oldest_due: Option<NaiveDateTime>,
    pub pending_by_host: Vec<(String, i64)>,
    pub unreachable: Vec<hosts::HostState>,
    pub inbound_pending: i64,
}

pub async fn status(db: &crate::db::Db) -> AppResult<QueueStatus> {
    let by_state = counts(db).await?;
    db.run(move |c| {
        use crate::db::schema::inbound_activities;
        let oldest_due: Option<NaiveDateTime> = deliveries::table
            .filter(deliveries::state.eq("pending"))
            .select(diesel::dsl::min(deliveries::next_attempt_at))
            .first(c)?;
        let pending_by_host = deliveries::table
            .filter(deliveries::state.eq("pending"))
            .group_by(deliveries::host)
            .select((deliveries::host, diesel::dsl::count_star()))
            .order(diesel::dsl::count_star().desc())
            .limit(20)
            .load::<(String, i64)>(c)?;
        let unreachable = hosts::unreachable(c)?;
        let inbound_pending: i64 = inbound_activities::table
            .filter(inbound_activities::state.eq("pending"))
            .count()
            .get_result(c)?;
        Ok::<_, AppError>(QueueStatus {
            by_state,
            oldest_due,
            pending_by_host,
            unreachable,
            inbound_pending,
        })
    })
    .await
}

/// Makes a host's pending and given-up deliveries due now, and forgets
/// that it was unreachable (`meetfield admin queue retry HOST`).
pub async fn retry_host(db: &crate::db::Db, host: &str) -> AppResult<usize> {
    let host = host.trim().to_ascii_lowercase();
    db.transaction(move |c| {
        let n = diesel::update(
            deliveries::table
                .filter(deliveries::host.eq(&host))
                .filter(deliveries::state.eq_any(["pending", "failed"])),
        )
        .set((
            deliveries::state.eq("pending"),
            deliveries::next_attempt_at.eq(now()),
            deliveries::attempts.eq(0),
        ))
        .execute(c)?;
        hosts::revive(c, &host)?;
        hosts::record_success(c, &host)?;
        Ok::<_, AppError>(n)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_scales() {
        let a = backoff(0, 1.0).as_secs_f64();
        let b = backoff(3, 1.0).as_secs_f64();
        assert!((27.0..=33.0).contains(&a), "{a}");
        assert!((216.0..=264.0).contains(&b), "{b}");
        assert!(backoff(30, 1.0).as_secs() <= 24 * 3600 * 11 / 10);
        let tiny = backoff(3, 0.001).as_secs_f64();
        assert!((0.216..=0.264).contains(&tiny), "{tiny}");
        // The whole schedule spans about a week.
        let total: f64 = (0..MAX_ATTEMPTS)
            .map(|i| 30f64 * 2f64.powi(i).min(2880.0))
            .sum();
        assert!(
            (6.0..9.0).contains(&(total / 86_400.0)),
            "{}",
            total / 86_400.0
        );
    }

    #[test]
    fn hosts_of_inboxes() {
        assert_eq!(host_of("https://Example.org/inbox"), "example.org");
        assert_eq!(host_of("http://a.localhost:8080/inbox"), "a.localhost:8080");
        assert_eq!(host_of("not a url"), "");
    }
}
