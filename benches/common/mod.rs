//! Helpers the benches share: latency percentiles, SQL quoting, peak memory.
// Each bench uses only some of these.
#![allow(dead_code)]

use std::time::Duration;

/// The `p` quantile (0..=1) of sorted latencies.
pub fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p) as usize]
}

/// "N requests, p50 X ms, p99 Y ms" for unsorted latencies.
pub fn latency_line(name: &str, mut lat: Vec<Duration>) -> String {
    lat.sort();
    format!(
        "{name}: {} requests, p50 {:.2} ms, p99 {:.2} ms",
        lat.len(),
        pct(&lat, 0.50).as_secs_f64() * 1e3,
        pct(&lat, 0.99).as_secs_f64() * 1e3
    )
}

/// A string inside single quotes in SQL.
pub fn sql_str(s: &str) -> String {
    s.replace('\'', "''")
}

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Starts a new peak-RSS measurement for this process (Linux `clear_refs`).
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Peak RSS since the last reset, MiB.
pub fn peak_rss_mib() -> f64 {
    status_kib("VmHWM:") as f64 / 1024.0
}

/// Current RSS, MiB.
pub fn rss_mib() -> f64 {
    status_kib("VmRSS:") as f64 / 1024.0
}

/// One GET through the router with a bearer token: its latency (the body
/// read in full); panics on an error answer, which would make numbers lie.
pub async fn timed_get(router: &axum::Router, token: &str, path: &str) -> Duration {
    use tower::ServiceExt;
    let req = axum::http::Request::get(path)
        .header("authorization", format!("Bearer {token}"))
        .body(axum::body::Body::empty())
        .unwrap();
    let t = std::time::Instant::now();
    let res = router.clone().oneshot(req).await.unwrap();
    assert!(res.status().is_success(), "{path}: {}", res.status());
    let _ = http_body_util::BodyExt::collect(res.into_body())
        .await
        .unwrap();
    t.elapsed()
}

/// A migrated database (a temporary SQLite file, or BENCH_DATABASE_URL: an
/// empty PostgreSQL database) and the application over it.
pub struct Setup {
    pub db: meetfield::db::Db,
    pub config: meetfield::config::Config,
    pub app: meetfield::app::App,
    /// Holds the SQLite file and the data directory until the end.
    pub dir: tempfile::TempDir,
}

pub async fn setup(pool_size: u32, timeout: Duration) -> Setup {
    use meetfield::config::{Config, DatabaseUrl};
    let dir = tempfile::tempdir().unwrap();
    let (url, url_string) = match std::env::var("BENCH_DATABASE_URL") {
        Ok(u) => (DatabaseUrl::parse(&u).unwrap(), u),
        Err(_) => {
            let p = dir.path().join("bench.db");
            (
                DatabaseUrl::Sqlite(p.clone()),
                format!("sqlite://{}", p.display()),
            )
        }
    };
    let db = meetfield::db::Db::connect(&url, meetfield::db::DbOptions { pool_size, timeout })
        .await
        .unwrap();
    db.migrate().await.unwrap();
    let config = Config {
        database_url: url_string,
        data_dir: dir.path().to_path_buf(),
        domain: "bench.localhost".into(),
        ..Config::default()
    };
    let app = meetfield::app::App::new(config.clone(), db.clone())
        .await
        .unwrap();
    Setup {
        db,
        config,
        app,
        dir,
    }
}

/// Runs `body` on a multi-threaded runtime, only under `cargo bench` (which
/// passes --bench), not when the test runner lists the target.
pub fn bench_main<F: std::future::Future<Output = ()>>(body: impl FnOnce() -> F) {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(body());
}
