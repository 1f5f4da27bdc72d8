//! Inbound activities are durable: once an activity passed signature
//! verification it is written to `inbound_activities` before anything else
//! happens, then applied. The sender gets its 2xx only after that write, so
//! a crash between accepting and applying loses nothing: the row stays
//! pending and a worker applies it later (after the accepting process's
//! lease runs out). A failure that may pass (a remote fetch, the database)
//! is retried with backoff; one that will not (a bad or forbidden activity)
//! is recorded and answered with its 4xx.

use std::time::Duration;

use activitypub_federation::config::{Data, FederationConfig};
use activitypub_federation::traits::Activity;
use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::app::AppState;
use crate::db::schema::inbound_activities;
use crate::db::{DbConn, id, now};
use crate::error::{AppError, AppResult};
use crate::federation::activities::inbox::InboxActivity;

/// How long the accepting process keeps an activity to itself before a
/// worker may take it over (scaled like retries, for tests).
const LEASE: Duration = Duration::from_secs(60);
const MAX_ATTEMPTS: i32 = 12;
const BATCH: i64 = 16;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = inbound_activities)]
pub struct InboundRow {
    pub id: i64,
    pub ap_id: String,
    pub body: String,
    pub state: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

fn lease(data: &AppState) -> chrono::Duration {
    let d = LEASE
        .mul_f64(data.config.delivery_backoff_scale)
        .max(Duration::from_secs(1));
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// Errors that another try will not fix: the activity is refused for good.
fn permanent(e: &AppError) -> bool {
    matches!(
        e,
        AppError::BadRequest(_)
            | AppError::Unauthorized(_)
            | AppError::Forbidden(_)
            | AppError::NotFound(_)
            | AppError::Conflict(_)
            | AppError::Unprocessable(_)
            | AppError::PayloadTooLarge(_)
    )
}

/// Persists a verified activity, then applies it.
pub async fn accept(data: &Data<AppState>, activity: InboxActivity) -> AppResult<()> {
    let ap_id = activity.id().to_string();
    let sender_host = crate::federation::protocol::helpers::authority(activity.actor());
    let body = serde_json::to_string(&activity).map_err(|e| AppError::Internal(e.into()))?;
    let until = now() + lease(data);
    let row = data
        .db
        .transaction(move |c| {
            let seen: bool = diesel::select(diesel::dsl::exists(
                inbound_activities::table.filter(inbound_activities::ap_id.eq(&ap_id)),
            ))
            .get_result(c)?;
            // 4xx other than 408/429 tells the sender to stop retrying.
            if seen || crate::federation::activities::inbox::already_received(c, &ap_id)? {
                return Err(AppError::Conflict("Activity already received".into()));
            }
            let id = id::next_id();
            let t = now();
            diesel::insert_into(inbound_activities::table)
                .values((
                    inbound_activities::id.eq(id),
                    inbound_activities::ap_id.eq(&ap_id),
                    inbound_activities::body.eq(&body),
                    inbound_activities::state.eq("pending"),
                    inbound_activities::attempts.eq(1),
                    inbound_activities::next_attempt_at.eq(until),
                    inbound_activities::created_at.eq(t),
                    inbound_activities::updated_at.eq(t),
                ))
                .execute(c)?;
            // A host that sends is alive: deliveries to it resume.
            if crate::delivery::hosts::revive(c, &sender_host)? {
                tracing::info!(host = %sender_host, "unreachable host is back");
            }
            Ok(id)
        })
        .await?;
    match apply(data, row, 1, activity).await {
        // Accepted and kept for a retry: the sender need not send it again.
        Err(e) if !permanent(&e) => Ok(()),
        other => other,
    }
}

/// Applies an activity and records the outcome on its row.
async fn apply(
    data: &Data<AppState>,
    row: i64,
    attempts: i32,
    activity: InboxActivity,
) -> AppResult<()> {
    let ap_id = activity.id().to_string();
    let result = activity.dispatch(data).await;
    let t = now();
    let (state, next, error) = match &result {
        Ok(()) => ("done", t, None),
        Err(e) if permanent(e) => ("rejected", t, Some(e.to_string())),
        Err(e) if attempts >= MAX_ATTEMPTS => ("failed", t, Some(e.to_string())),
        Err(e) => {
            let wait = crate::delivery::backoff(attempts - 1, data.config.delivery_backoff_scale);
            (
                "pending",
                t + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX),
                Some(e.to_string()),
            )
        }
    };
    if let Err(e) = &result {
        tracing::info!(row, state, error = %e, "inbound activity not applied");
    }
    let applied = result.is_ok();
    data.db
        .transaction(move |c| {
            diesel::update(inbound_activities::table.find(row))
                .set((
                    inbound_activities::state.eq(state),
                    inbound_activities::next_attempt_at.eq(next),
                    inbound_activities::last_error.eq(error),
                    inbound_activities::updated_at.eq(t),
                ))
                .execute(c)?;
            if applied {
                crate::federation::activities::inbox::remember(c, &ap_id)?;
            }
            Ok::<_, AppError>(())
        })
        .await?;
    result
}

fn claim(c: &mut DbConn, limit: i64, lease: chrono::Duration) -> QueryResult<Vec<InboundRow>> {
    let t = now();
    if let DbConn::Postgres(pg) = c {
        use diesel::sql_types::{BigInt, Timestamp};
        #[derive(QueryableByName)]
        struct Id {
            #[diesel(sql_type = BigInt)]
            id: i64,
        }
        let ids: Vec<i64> = diesel::sql_query(
            "UPDATE inbound_activities SET next_attempt_at = $1, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM inbound_activities \
               WHERE state = 'pending' AND next_attempt_at <= $2 \
               ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING id",
        )
        .bind::<Timestamp, _>(t + lease)
        .bind::<Timestamp, _>(t)
        .bind::<BigInt, _>(limit)
        .load::<Id>(pg)?
        .into_iter()
        .map(|r| r.id)
        .collect();
        return inbound_activities::table
            .filter(inbound_activities::id.eq_any(ids))
            .select(InboundRow::as_select())
            .load(c);
    }
    let ids: Vec<i64> = inbound_activities::table
        .filter(inbound_activities::state.eq("pending"))
        .filter(inbound_activities::next_attempt_at.le(t))
        .order(inbound_activities::next_attempt_at.asc())
        .limit(limit)
        .select(inbound_activities::id)
        .load(c)?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    diesel::update(inbound_activities::table.filter(inbound_activities::id.eq_any(&ids)))
        .set((
            inbound_activities::next_attempt_at.eq(t + lease),
            inbound_activities::attempts.eq(inbound_activities::attempts + 1),
        ))
        .execute(c)?;
    inbound_activities::table
        .filter(inbound_activities::id.eq_any(&ids))
        .select(InboundRow::as_select())
        .load(c)
}

/// Applies due activities once; returns how many were tried.
pub async fn process_due(data: &Data<AppState>) -> AppResult<usize> {
    let lease = lease(data);
    let rows = data
        .db
        .transaction(move |c| claim(c, BATCH, lease).map_err(AppError::from))
        .await?;
    let n = rows.len();
    for r in rows {
        match serde_json::from_str::<InboxActivity>(&r.body) {
            Ok(activity) => {
                let _ = apply(data, r.id, r.attempts, activity).await;
            }
            Err(e) => {
                let (id, msg) = (r.id, format!("stored activity unreadable: {e}"));
                data.db
                    .transaction(move |c| {
                        diesel::update(inbound_activities::table.find(id))
                            .set((
                                inbound_activities::state.eq("rejected"),
                                inbound_activities::last_error.eq(msg),
                            ))
                            .execute(c)?;
                        Ok::<_, AppError>(())
                    })
                    .await?;
            }
        }
    }
    Ok(n)
}

/// Forgets finished queue rows so the tables do not grow for ever:
/// delivered, refused and applied rows after a week, given-up ones after a
/// month, and the ids of received activities (duplicate detection) after a
/// month. Returns the number of rows removed.
pub fn prune(c: &mut DbConn, now: NaiveDateTime) -> QueryResult<usize> {
    use crate::db::schema::{deliveries, received_activities};
    let week = now - chrono::Duration::days(7);
    let month = now - chrono::Duration::days(30);
    let mut n = diesel::delete(
        deliveries::table
            .filter(deliveries::state.eq_any(["done", "rejected", "skipped"]))
            .filter(deliveries::updated_at.lt(week)),
    )
    .execute(c)?;
    n += diesel::delete(
        deliveries::table
            .filter(deliveries::state.eq("failed"))
            .filter(deliveries::updated_at.lt(month)),
    )
    .execute(c)?;
    n += diesel::delete(
        inbound_activities::table
            .filter(inbound_activities::state.eq_any(["done", "rejected"]))
            .filter(inbound_activities::updated_at.lt(week)),
    )
    .execute(c)?;
    n += diesel::delete(
        inbound_activities::table
            .filter(inbound_activities::state.eq("failed"))
            .filter(inbound_activities::updated_at.lt(month)),
    )
    .execute(c)?;
    n += diesel::delete(
        received_activities::table.filter(received_activities::received_at.lt(month)),
    )
    .execute(c)?;
    Ok(n)
}

/// Applies accepted activities left pending (retries, and those a crashed
/// process accepted but never applied) until `shutdown`; prunes finished
/// queue rows every hour.
pub async fn run_worker(
    federation: FederationConfig<AppState>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let data = federation.to_request_data();
    let mut pruned_at: Option<std::time::Instant> = None;
    loop {
        if *shutdown.borrow() {
            break;
        }
        if pruned_at.is_none_or(|t| t.elapsed() > Duration::from_secs(3600)) {
            pruned_at = Some(std::time::Instant::now());
            match data
                .db
                .transaction(|c| prune(c, now()).map_err(AppError::from))
                .await
            {
                Ok(0) => {}
                Ok(n) => tracing::info!(rows = n, "pruned finished queue rows"),
                Err(e) => tracing::warn!(error = %e, "cannot prune queue rows"),
            }
        }
        let worked = match process_due(&data).await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "inbound round failed");
                0
            }
        };
        if worked == 0 {
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs(1)) => {},
                _ = shutdown.changed() => {},
            }
        }
    }
}
