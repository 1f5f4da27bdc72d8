//! Periodic work, one scheduler for all of it: each job has a name and an
//! interval, runs on one of the nodes that run workers each turn (a lease
//! in the database decides which), and logs its own failures (a failed run
//! waits for its next turn; nothing it owns is lost, since every job reads
//! its work from the database).

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use activitypub_federation::config::FederationConfig;

use diesel::prelude::*;

use crate::app::AppState;
use crate::db::DbConn;
use crate::db::schema::job_leases;
use crate::error::{AppError, AppResult};
use crate::federation::FedData;

type JobFuture<'a> = Pin<Box<dyn Future<Output = AppResult<()>> + Send + 'a>>;

struct Job {
    name: &'static str,
    every: Duration,
    /// First run after one interval rather than at start.
    delayed: bool,
    run: for<'a> fn(&'a FedData) -> JobFuture<'a>,
}

/// How often the scheduler looks for a job that is due.
const TICK: Duration = Duration::from_secs(5);

fn jobs(config: &crate::config::Config) -> Vec<Job> {
    let mut jobs = vec![
        Job {
            name: "poll ends",
            every: TICK,
            delayed: false,
            run: |data| Box::pin(close_ended_polls(data)),
        },
        Job {
            name: "announcements",
            every: TICK,
            delayed: false,
            run: |data| {
                Box::pin(async {
                    use crate::domain::announcements as ann;
                    // Read first: the write slot only when something is due.
                    let due = data
                        .db
                        .run(|c| ann::due(c, crate::db::now()).map_err(AppError::from))
                        .await?;
                    if !due.is_empty() {
                        data.db
                            .transaction(|c| ann::flush(c).map_err(AppError::from))
                            .await?;
                    }
                    Ok(())
                })
            },
        },
        Job {
            name: "media housekeeping",
            every: Duration::from_secs(60),
            delayed: false,
            run: |data| Box::pin(media_housekeeping(data)),
        },
        Job {
            name: "profile vocabulary",
            every: Duration::from_secs(3600),
            delayed: false,
            run: |data| {
                Box::pin(async {
                    data.db
                        .run(|c| crate::org::profile::prune_vocabulary(c).map_err(Into::into))
                        .await
                        .map(drop)
                })
            },
        },
        Job {
            name: "search index backfill",
            every: TICK,
            delayed: false,
            run: |data| Box::pin(search_backfill(data)),
        },
        Job {
            name: "remote media retry",
            every: Duration::from_secs(60),
            delayed: false,
            run: |data| {
                Box::pin(async { crate::domain::media::retry_uncached(data).await.map(drop) })
            },
        },
    ];
    if config.link_previews {
        jobs.push(Job {
            name: "link cards",
            every: Duration::from_secs(15),
            delayed: false,
            run: |data| {
                Box::pin(async { crate::domain::cards::retry_pending(data).await.map(drop) })
            },
        });
    }
    if config.directory_sync_secs > 0 {
        jobs.push(Job {
            name: "directory sync",
            every: Duration::from_secs(config.directory_sync_secs),
            delayed: true,
            run: |data| Box::pin(directory_sync(data)),
        });
    }
    if config.suggestions_secs > 0 {
        jobs.push(Job {
            name: "suggestions",
            every: Duration::from_secs(config.suggestions_secs),
            delayed: false,
            run: |data| {
                Box::pin(async {
                    let n = crate::org::suggestions::compute(
                        &data.db,
                        data.config.insights_window_days,
                    )
                    .await?;
                    tracing::info!(people = n, "suggestions computed");
                    Ok(())
                })
            },
        });
    }
    if config.trends && config.trends_secs > 0 {
        jobs.push(Job {
            name: "trends",
            every: Duration::from_secs(config.trends_secs),
            delayed: false,
            run: |data| {
                Box::pin(async {
                    let done = crate::domain::trends::compute(&data.db).await?;
                    tracing::debug!(%done, "trends computed");
                    Ok(())
                })
            },
        });
    }
    if config.insights && config.insights_secs > 0 {
        jobs.push(Job {
            name: "insights",
            every: Duration::from_secs(config.insights_secs),
            delayed: false,
            run: |data| Box::pin(insights(data)),
        });
    }
    if crate::sso::ldap::enabled(config) && config.ldap_sync_secs > 0 {
        jobs.push(Job {
            name: "ldap sync",
            every: Duration::from_secs(config.ldap_sync_secs),
            delayed: true,
            run: |data| Box::pin(ldap_sync(data)),
        });
    }
    jobs
}

/// Accounts from the LDAP directory follow it (who left is disabled).
async fn ldap_sync(data: &FedData) -> AppResult<()> {
    match crate::sso::ldap::sync(data.app_data()).await {
        Ok(report) => tracing::info!(%report, "ldap sync"),
        Err(e) => tracing::warn!(error = %e, "ldap sync failed"),
    }
    Ok(())
}

/// Connector insight: the graph measured on a blocking thread.
async fn insights(data: &FedData) -> AppResult<()> {
    let summary = crate::org::insights::compute(&data.db, &data.config, |_, _| {}).await?;
    tracing::info!(%summary, "insights");
    Ok(())
}

/// Partners' directories, each read for what changed (a full read daily).
async fn directory_sync(data: &FedData) -> AppResult<()> {
    for (domain, r) in crate::org::partners::sync_all(data, false).await {
        match r {
            Ok(report) => tracing::info!(%report, "directory sync"),
            Err(e) => tracing::warn!(%domain, error = %e, "directory sync failed"),
        }
    }
    Ok(())
}

async fn close_ended_polls(data: &FedData) -> AppResult<()> {
    crate::domain::polls::close_ended_polls(data)
        .await
        .map(drop)
}

/// Posts written before the search index existed, 500 a turn until none
/// is left (then the turn costs one indexed lookup).
async fn search_backfill(data: &FedData) -> AppResult<()> {
    let n = data
        .db
        .transaction(|c| {
            crate::domain::search::backfill(c, 500).map_err(crate::error::AppError::from)
        })
        .await?;
    if n > 0 {
        tracing::info!(indexed = n, "search index backfill");
    }
    Ok(())
}

/// Orphaned uploads and interrupted processing.
async fn media_housekeeping(data: &FedData) -> AppResult<()> {
    match crate::domain::media::maintain(data).await? {
        (0, 0) => {}
        (orphans, resumed) => tracing::info!(orphans, resumed, "media housekeeping"),
    }
    let cards = crate::domain::cards::prune(data).await?;
    if cards > 0 {
        tracing::info!(cards, "unused link cards removed");
    }
    Ok(())
}

/// Whether `node` runs `job` this turn: true for the node that moves the
/// job's lease past now (to one interval ahead, less a second so the same
/// node keeps its rhythm); every other node skips the turn.
pub fn claim(c: &mut DbConn, job: &str, every: Duration, node: &str) -> QueryResult<bool> {
    let t = crate::db::now();
    let ahead = chrono::Duration::from_std(every.saturating_sub(Duration::from_secs(1)))
        .unwrap_or(chrono::Duration::zero());
    let insert = diesel::insert_into(job_leases::table).values((
        job_leases::name.eq(job),
        job_leases::until.eq(chrono::DateTime::UNIX_EPOCH.naive_utc()),
    ));
    match c {
        DbConn::Sqlite(lite) => insert.on_conflict_do_nothing().execute(lite)?,
        DbConn::Postgres(pg) => insert.on_conflict_do_nothing().execute(pg)?,
    };
    let n = diesel::update(
        job_leases::table
            .filter(job_leases::name.eq(job))
            .filter(job_leases::until.le(t)),
    )
    .set((job_leases::holder.eq(node), job_leases::until.eq(t + ahead)))
    .execute(c)?;
    Ok(n == 1)
}

/// Runs every job when it is due, until shutdown.
pub async fn run(
    federation: FederationConfig<AppState>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let data = federation.to_request_data();
    let jobs = jobs(&data.config);
    // This node, in the leases (for an admin reading the table).
    let node = format!(
        "{}-{}",
        std::fs::read_to_string("/etc/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "node".into()),
        std::process::id()
    );
    let mut last: Vec<Option<Instant>> =
        jobs.iter().map(|j| j.delayed.then(Instant::now)).collect();
    loop {
        if *shutdown.borrow() {
            break;
        }
        for (job, at) in jobs.iter().zip(last.iter_mut()) {
            if at.is_some_and(|t| t.elapsed() < job.every) {
                continue;
            }
            *at = Some(Instant::now());
            let (name, every, me) = (job.name, job.every, node.clone());
            match data
                .db
                .transaction(move |c| claim(c, name, every, &me).map_err(AppError::from))
                .await
            {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    tracing::warn!(job = job.name, error = %e, "job lease not read");
                    continue;
                }
            }
            if let Err(e) = (job.run)(&data).await {
                tracing::warn!(job = job.name, error = %e, "periodic job failed");
            }
        }
        tokio::select! {
            () = tokio::time::sleep(TICK) => {},
            _ = shutdown.changed() => {},
        }
    }
}
