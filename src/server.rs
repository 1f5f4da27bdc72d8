//! Starting and stopping the HTTP server.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use tokio::net::TcpListener;

use crate::app::App;
use crate::config::Config;
use crate::db::{Db, DbOptions};

/// Opens the configured database and brings its schema up to date.
pub async fn open_database(config: &Config) -> anyhow::Result<Db> {
    let url = config.database()?;
    let db = Db::connect(
        &url,
        DbOptions {
            pool_size: config.database_pool_size,
            timeout: Duration::from_secs(config.database_timeout_secs),
        },
    )
    .await
    .with_context(|| format!("MEETFIELD_DATABASE_URL: cannot open {}", url.display()))?;
    let applied = db.migrate().await?;
    if !applied.is_empty() {
        tracing::info!(count = applied.len(), "applied database migrations");
    }
    Ok(db)
}

/// `meetfield serve`: runs until SIGTERM or SIGINT, then lets in-flight
/// requests finish.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let stop = shutdown_signal()?;
    let addr = config.bind_addr()?;
    let db = open_database(&config).await?;
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("MEETFIELD_BIND: cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    tracing::info!(
        listen = %local,
        domain = %config.domain,
        database = db.backend().name(),
        "meetfield {} listening on http://{local} for {} ({} database)",
        env!("CARGO_PKG_VERSION"),
        config.base_url(),
        db.backend().name(),
    );
    if config.federation_insecure_local {
        tracing::warn!(
            "MEETFIELD_FEDERATION_INSECURE_LOCAL is on: http://, explicit ports and loopback \
             addresses are allowed. Never use this in production."
        );
    }
    let grace = Duration::from_secs(config.shutdown_grace_secs);
    let app = App::new(config, db).await?;
    let (stop_workers, workers_stopped) = tokio::sync::watch::channel(false);
    let workers = if app.state.config.workers {
        Some(spawn_workers(&app, workers_stopped))
    } else {
        tracing::info!("queues are left to `meetfield worker` processes (MEETFIELD_WORKERS=false)");
        None
    };
    serve_until(listener, app.router(), stop, grace).await?;
    let _ = stop_workers.send(true);
    if let Some(w) = workers
        && tokio::time::timeout(grace, w).await.is_err()
    {
        tracing::warn!("queue workers did not stop in time");
    }
    // Close database connections here, not in exit handlers: libpq's TLS
    // teardown racing the process exit crashed it now and then.
    let db = app.state.db.clone();
    drop(app);
    db.close();
    tracing::info!("meetfield stopped");
    Ok(())
}

/// The queue workers (deliveries, inbound activities), stopped through
/// `stop`; the handle completes when all have stopped.
fn spawn_workers(
    app: &App,
    stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let delivery = tokio::spawn(crate::delivery::run_worker(
        app.federation.clone(),
        stop.clone(),
    ));
    let inbound = tokio::spawn(crate::federation::inbound::run_worker(
        app.federation.clone(),
        stop.clone(),
    ));
    let jobs = tokio::spawn(crate::jobs::run(app.federation.clone(), stop));
    tokio::spawn(async move {
        let _ = delivery.await;
        let _ = inbound.await;
        let _ = jobs.await;
    })
}

/// `meetfield worker`: runs only the queues (deliveries and inbound
/// activities), so several nodes can share them on PostgreSQL.
pub async fn worker(config: Config) -> anyhow::Result<()> {
    let stop = shutdown_signal()?;
    let db = open_database(&config).await?;
    tracing::info!(
        domain = %config.domain,
        database = db.backend().name(),
        "meetfield {} worker running the queues for {} ({} database)",
        env!("CARGO_PKG_VERSION"),
        config.base_url(),
        db.backend().name(),
    );
    let grace = Duration::from_secs(config.shutdown_grace_secs);
    let app = App::new(config, db).await?;
    let (stop_workers, workers_stopped) = tokio::sync::watch::channel(false);
    let workers = spawn_workers(&app, workers_stopped);
    stop.await;
    tracing::info!("shutting down: finishing in-flight deliveries");
    let _ = stop_workers.send(true);
    if tokio::time::timeout(grace, workers).await.is_err() {
        tracing::warn!("queue workers did not stop in time");
    }
    let db = app.state.db.clone();
    drop(app);
    db.close();
    tracing::info!("meetfield worker stopped");
    Ok(())
}

/// Serves `app` until `shutdown` completes, then waits up to `grace` for
/// in-flight requests before returning.
pub async fn serve_until(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> std::io::Result<()> {
    let (tx, mut rx) = tokio::sync::watch::channel(false);
    let signal = async move {
        shutdown.await;
        tracing::info!("shutting down: finishing in-flight requests");
        let _ = tx.send(true);
    };
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(signal);
    let deadline = async move {
        if rx.wait_for(|stopping| *stopping).await.is_ok() {
            tokio::time::sleep(grace).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        res = server.into_future() => res,
        () = deadline => {
            tracing::warn!(?grace, "shutdown grace period over; dropping remaining requests");
            Ok(())
        }
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM. The handlers are installed
/// when this is called, not when the future is first polled, so a signal
/// that arrives while the server is starting is not lost (nor fatal).
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => {},
                _ = int.recv() => {},
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}
