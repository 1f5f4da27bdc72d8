//! Outgoing activities: one database row per target inbox, written in the
//! same transaction as the change that caused them, sent by workers.
//!
//! A claimed row is leased (its next attempt moved into the future) rather
//! than locked, so a worker that dies mid-send leaves the row due again once
//! the lease expires. Receivers deduplicate by activity id, which covers the
//! rare second send after such a crash.

use std::time::Duration;

use activitypub_federation::activity_sending::SendActivityTask;
use activitypub_federation::config::{Data, FederationConfig};
use activitypub_federation::traits::Activity;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use futures::StreamExt;
use serde::Serialize;
use serde_json::Value;
use url::Url;

use crate::app::AppState;
use crate::db::models::Account;
use crate::db::schema::deliveries;
use crate::db::{DbConn, id, now};
use crate::error::{AppError, AppResult};
use crate::federation::objects::ApubAccount;

const LEASE: Duration = Duration::from_secs(120);
const BATCH: i64 = 64;
const CONCURRENCY: usize = 32;
/// After this many failed attempts a delivery is given up.
pub const MAX_ATTEMPTS: i32 = 14;

#[derive(Debug, Clone, Queryable, Selectable)]
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
    let t = now();
    let mut added = 0;
    for inbox in targets {
        let exists: bool = diesel::select(diesel::dsl::exists(
            deliveries::table
                .filter(deliveries::activity_id.eq(&activity_id))
                .filter(deliveries::inbox.eq(inbox)),
        ))
        .get_result(conn)?;
        if exists {
            continue;
        }
        diesel::insert_into(deliveries::table)
            .values((
                deliveries::id.eq(id::next_id()),
                deliveries::activity_id.eq(&activity_id),
                deliveries::sender_account_id.eq(sender_id),
                deliveries::inbox.eq(inbox),
                deliveries::payload.eq(&payload),
                deliveries::state.eq("pending"),
                deliveries::next_attempt_at.eq(t),
                deliveries::created_at.eq(t),
                deliveries::updated_at.eq(t),
            ))
            .execute(conn)?;
        added += 1;
    }
    Ok(added)
}

/// Delay before attempt `attempts + 1`: 30 s doubling up to a day, ±10 %.
pub fn backoff(attempts: i32) -> Duration {
    let base = 30u64.saturating_mul(1u64 << attempts.clamp(0, 20) as u32);
    let capped = base.min(24 * 3600);
    let jitter = rand::random::<f64>() * 0.2 - 0.1;
    Duration::from_secs_f64(capped as f64 * (1.0 + jitter))
}

fn chrono_dur(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

fn claim_due(conn: &mut DbConn, limit: i64) -> QueryResult<Vec<Delivery>> {
    let t = now();
    let ids: Vec<i64> = deliveries::table
        .filter(deliveries::state.eq("pending"))
        .filter(deliveries::next_attempt_at.le(t))
        .order(deliveries::next_attempt_at.asc())
        .limit(limit)
        .select(deliveries::id)
        .load(conn)?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    diesel::update(deliveries::table.filter(deliveries::id.eq_any(&ids)))
        .set((
            deliveries::next_attempt_at.eq(t + chrono_dur(LEASE)),
            deliveries::attempts.eq(deliveries::attempts + 1),
            deliveries::updated_at.eq(t),
        ))
        .execute(conn)?;
    deliveries::table
        .filter(deliveries::id.eq_any(&ids))
        .select(Delivery::as_select())
        .load(conn)
}

/// The stored JSON, sent as it is.
#[derive(Debug)]
struct StoredActivity {
    id: Url,
    actor: Url,
    json: Value,
}

impl Serialize for StoredActivity {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.json.serialize(s)
    }
}

#[async_trait::async_trait]
impl Activity for StoredActivity {
    type DataType = AppState;
    type Error = AppError;

    fn id(&self) -> &Url {
        &self.id
    }

    fn actor(&self) -> &Url {
        &self.actor
    }

    async fn verify(&self, _data: &Data<AppState>) -> AppResult<()> {
        Err(AppError::BadRequest("outgoing activity".into()))
    }

    async fn receive(self, _data: &Data<AppState>) -> AppResult<()> {
        Err(AppError::BadRequest("outgoing activity".into()))
    }
}

enum Outcome {
    Delivered,
    Skipped(String),
    Failed(String),
}

async fn send_one(data: &Data<AppState>, d: &Delivery) -> Outcome {
    let attempt = async {
        let json: Value = serde_json::from_str(&d.payload)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("stored payload: {e}")))?;
        let sender_id = d.sender_account_id;
        let sender = data
            .db
            .run(move |c| Account::by_id(c, sender_id).map_err(AppError::from))
            .await?;
        let sender = ApubAccount::new(sender)?;
        let activity = StoredActivity {
            id: Url::parse(&d.activity_id)?,
            actor: Url::parse(&sender.uri)?,
            json,
        };
        let inbox = Url::parse(&d.inbox)?;
        let tasks = SendActivityTask::prepare(&activity, &sender, vec![inbox], data).await?;
        let Some(task) = tasks.into_iter().next() else {
            return Ok(Outcome::Skipped(
                "inbox refused (local, invalid or not allowed by policy)".into(),
            ));
        };
        task.sign_and_send(data).await?;
        Ok::<_, AppError>(Outcome::Delivered)
    };
    match attempt.await {
        Ok(o) => o,
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

async fn record(data: &Data<AppState>, d: &Delivery, outcome: Outcome) -> AppResult<()> {
    let t = now();
    let (state, next, error) = match outcome {
        Outcome::Delivered => ("done", t, None),
        Outcome::Skipped(why) => ("skipped", t, Some(why)),
        Outcome::Failed(why) if d.attempts >= MAX_ATTEMPTS => ("failed", t, Some(why)),
        Outcome::Failed(why) => ("pending", t + chrono_dur(backoff(d.attempts)), Some(why)),
    };
    if let Some(e) = &error {
        tracing::debug!(inbox = %d.inbox, activity = %d.activity_id, state, error = %e, "delivery");
    }
    let id = d.id;
    data.db
        .transaction(move |c| {
            diesel::update(deliveries::table.find(id))
                .set((
                    deliveries::state.eq(state),
                    deliveries::next_attempt_at.eq(next),
                    deliveries::last_error.eq(error),
                    deliveries::updated_at.eq(t),
                ))
                .execute(c)
                .map_err(AppError::from)
        })
        .await?;
    Ok(())
}

/// Sends every due delivery once; returns how many were attempted.
pub async fn deliver_due(data: &Data<AppState>) -> AppResult<usize> {
    let batch = data
        .db
        .transaction(|c| claim_due(c, BATCH).map_err(AppError::from))
        .await?;
    let n = batch.len();
    futures::stream::iter(batch)
        .for_each_concurrent(CONCURRENCY, |d| async move {
            let outcome = send_one(data, &d).await;
            if let Err(e) = record(data, &d, outcome).await {
                tracing::error!(error = %e, delivery = d.id, "cannot record delivery outcome");
            }
        })
        .await;
    Ok(n)
}

/// Runs deliveries until `shutdown` turns true.
pub async fn run_worker(
    federation: FederationConfig<AppState>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let data = federation.to_request_data();
    let wake = data.delivery_wake.clone();
    loop {
        if *shutdown.borrow() {
            break;
        }
        let worked = match deliver_due(&data).await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "delivery round failed");
                0
            }
        };
        if worked == 0 {
            tokio::select! {
                () = wake.notified() => {},
                () = tokio::time::sleep(Duration::from_secs(1)) => {},
                _ = shutdown.changed() => {},
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let a = backoff(0).as_secs_f64();
        let b = backoff(3).as_secs_f64();
        assert!((27.0..=33.0).contains(&a), "{a}");
        assert!((216.0..=264.0).contains(&b), "{b}");
        assert!(backoff(30).as_secs() <= 24 * 3600 * 11 / 10);
    }
}
