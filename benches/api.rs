//! Home timeline, posting and the public profile and post pages through the real router on SQLite (or
//! PostgreSQL with BENCH_DATABASE_URL), with a large database.
//!
//!     cargo bench --bench api                      # 1,000,000 statuses
//!     BENCH_STATUSES=100000 cargo bench --bench api
//!
//! Prints p50/p99 latency and requests per second; asserts nothing.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use diesel::connection::SimpleConnection;
use meetfield::app::App;
use meetfield::config::{Config, DatabaseUrl};
use meetfield::db::models::Role;
use meetfield::db::{Db, DbConn, DbError, DbOptions};
use meetfield::domain::oauth::{Scopes, issue_token};
use meetfield::domain::users::{NewLocalUser, create_local_user};
use tower::ServiceExt;

const AUTHORS: i64 = 1_000;
const FOLLOWED: i64 = 200;
/// One status in four carries one of this many hashtags.
const TAGS: i64 = 500;
const FOLLOWED_TAGS: i64 = 50;

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p) as usize]
}

fn report(name: &str, mut lat: Vec<Duration>, wall: Duration) {
    lat.sort();
    println!(
        "{name}: {} requests in {:.2}s = {:.0} req/s; p50 {:.2} ms, p99 {:.2} ms",
        lat.len(),
        wall.as_secs_f64(),
        lat.len() as f64 / wall.as_secs_f64(),
        pct(&lat, 0.50).as_secs_f64() * 1e3,
        pct(&lat, 0.99).as_secs_f64() * 1e3,
    );
}

/// Bulk rows with plain SQL: the same SQL works on both backends.
fn seed(c: &mut DbConn, viewer: i64, statuses: i64) -> Result<(), DbError> {
    let now = "2026-01-01 00:00:00";
    let base_id: i64 = 1 << 40;
    let mut sql = String::new();
    for a in 0..AUTHORS {
        sql.push_str(&format!(
            "INSERT INTO accounts (id, username, domain, actor_type, uri, display_name, note, fields, locked, discoverable, bot, created_at, updated_at) \
             VALUES ({}, 'author{a}', 'remote{}.example', 'Person', 'https://remote{}.example/users/author{a}', '', '', '[]', false, true, false, '{now}', '{now}');",
            base_id + a, a % 50, a % 50
        ));
    }
    for a in 0..FOLLOWED {
        sql.push_str(&format!(
            "INSERT INTO follows (id, account_id, target_account_id, pending, show_reblogs, notify, created_at, updated_at) VALUES ({}, {viewer}, {}, false, true, false, '{now}', '{now}');",
            base_id + 10_000 + a,
            base_id + a * (AUTHORS / FOLLOWED)
        ));
    }
    c.batch_execute(&format!("BEGIN; {sql} COMMIT;"))?;
    let chunk = 5_000;
    let mut done = 0;
    let start_id: i64 = 1 << 50;
    while done < statuses {
        let n = chunk.min(statuses - done);
        let mut values = Vec::with_capacity(n as usize);
        for i in done..done + n {
            let author = base_id + (i * 7919) % AUTHORS;
            values.push(format!(
                "({}, 'https://x.example/s/{i}', {author}, false, 'public', '<p>status {i}</p>', '', false, 0, 0, 0, '{now}', '{now}')",
                start_id + i * 64
            ));
        }
        let tagged: Vec<String> = (done..done + n)
            .filter(|i| i % 4 == 0)
            .map(|i| format!("({}, 'tag{}')", start_id + i * 64, (i / 4) % TAGS))
            .collect();
        c.batch_execute(&format!(
            "BEGIN; INSERT INTO statuses (id, uri, account_id, local, visibility, content, spoiler_text, sensitive, replies_count, reblogs_count, favourites_count, created_at, updated_at) VALUES {}; INSERT INTO status_tags (status_id, tag) VALUES {}; COMMIT;",
            values.join(","),
            tagged.join(",")
        ))?;
        done += n;
    }
    // The counters the application keeps, as the migration computes them.
    c.batch_execute(
        "UPDATE accounts SET \
         statuses_count = (SELECT COUNT(*) FROM statuses s WHERE s.account_id = accounts.id AND s.reblog_of_id IS NULL), \
         followers_count = (SELECT COUNT(*) FROM follows f WHERE f.target_account_id = accounts.id AND NOT f.pending), \
         following_count = (SELECT COUNT(*) FROM follows f WHERE f.account_id = accounts.id AND NOT f.pending)",
    )?;
    analyze(c)
}

/// Planner statistics, as a live database has them (autovacuum);
/// `BENCH_NO_ANALYZE=1` leaves them out (to compare plans).
fn analyze(c: &mut DbConn) -> Result<(), DbError> {
    if std::env::var("BENCH_NO_ANALYZE").is_ok_and(|v| v == "1") {
        return Ok(());
    }
    c.batch_execute(match c {
        DbConn::Postgres(_) => "VACUUM ANALYZE;",
        DbConn::Sqlite(_) => "ANALYZE;",
    })?;
    Ok(())
}

async fn timed(router: &axum::Router, req: Request<Body>) -> Duration {
    let t = Instant::now();
    let res = router.clone().oneshot(req).await.unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    let _ = http_body_util::BodyExt::collect(res.into_body())
        .await
        .unwrap();
    t.elapsed()
}

async fn run_concurrent<F>(n: usize, concurrency: usize, make: F) -> (Vec<Duration>, Duration)
where
    F: Fn(usize) -> std::pin::Pin<Box<dyn std::future::Future<Output = Duration> + Send>>
        + Send
        + Sync
        + 'static,
{
    let make = std::sync::Arc::new(make);
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (make, next) = (make.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    break;
                }
                lat.push(make(i).await);
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    (all, start.elapsed())
}

fn main() {
    // `cargo bench` passes --bench; test runners that list or run every
    // target (cargo test --all-targets, nextest) do not: nothing to do then.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let statuses: i64 = std::env::var("BENCH_STATUSES").ok().and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
        let dir = tempfile::tempdir().unwrap();
        let (url, url_string) = match std::env::var("BENCH_DATABASE_URL") {
            Ok(u) => (DatabaseUrl::parse(&u).unwrap(), u),
            Err(_) => {
                let p = dir.path().join("bench.db");
                (DatabaseUrl::Sqlite(p.clone()), format!("sqlite://{}", p.display()))
            }
        };
        let db = Db::connect(&url, DbOptions { pool_size: 8, timeout: Duration::from_secs(30) }).await.unwrap();
        db.migrate().await.unwrap();
        let config = Config { database_url: url_string, data_dir: dir.path().to_path_buf(), domain: "bench.localhost".into(), ..Config::default() };
        let app = App::new(config.clone(), db.clone()).await.unwrap();
        let (user, viewer) = create_local_user(&db, &config, NewLocalUser {
            username: "viewer".into(), email: "viewer@bench.example".into(), password: "bench password".into(), role: Role::User,
        }).await.unwrap();
        let (token, _) = issue_token(&db, None, Some(user.id), Scopes::parse("read write").unwrap()).await.unwrap();
        let t = Instant::now();
        let vid = viewer.id;
        db.run(move |c| seed(c, vid, statuses)).await.unwrap();
        println!("backend {}: seeded {statuses} statuses by {AUTHORS} authors, viewer follows {FOLLOWED}, in {:.1}s", db.backend().name(), t.elapsed().as_secs_f64());
        let router = app.router();

        // Warm up, then home timeline pages (20 statuses each).
        for _ in 0..50 {
            let req = Request::get("/api/v1/timelines/home").header("authorization", format!("Bearer {token}")).body(Body::empty()).unwrap();
            timed(&router, req).await;
        }
        for (name, concurrency) in [("home timeline, 1 client", 1usize), ("home timeline, 2 clients", 2), ("home timeline, 4 clients", 4), ("home timeline, 8 clients", 8)] {
            let (r, tok) = (router.clone(), token.clone());
            let (lat, wall) = run_concurrent(2_000, concurrency, move |_| {
                let (r, tok) = (r.clone(), tok.clone());
                Box::pin(async move {
                    let req = Request::get("/api/v1/timelines/home").header("authorization", format!("Bearer {tok}")).body(Body::empty()).unwrap();
                    timed(&r, req).await
                })
            }).await;
            report(name, lat, wall);
        }
        // The same viewer also follows 50 of the hashtags (about 25,000
        // posts carry one): their posts join the follows' in the home timeline.
        db.run(move |c| {
            let mut sql = String::new();
            for t in 0..FOLLOWED_TAGS {
                sql.push_str(&format!(
                    "INSERT INTO tag_follows (id, account_id, tag, created_at) VALUES ({}, {vid}, 'tag{}', '2026-01-01 00:00:00');",
                    (1i64 << 41) + t,
                    t * (TAGS / FOLLOWED_TAGS)
                ));
            }
            c.batch_execute(&format!("BEGIN; {sql} COMMIT;"))?;
            analyze(c)
        })
        .await
        .unwrap();
        let deep = (1i64 << 50) + (statuses / 2) * 64;
        for (name, concurrency, query) in [
            ("home timeline + 50 followed tags, 1 client", 1usize, String::new()),
            ("home timeline + 50 followed tags, 4 clients", 4, String::new()),
            ("home timeline + 50 followed tags, half-way page, 1 client", 1, format!("?max_id={deep}")),
        ] {
            let (r, tok) = (router.clone(), token.clone());
            let (lat, wall) = run_concurrent(2_000, concurrency, move |_| {
                let (r, tok, query) = (r.clone(), tok.clone(), query.clone());
                Box::pin(async move {
                    let req = Request::get(format!("/api/v1/timelines/home{query}")).header("authorization", format!("Bearer {tok}")).body(Body::empty()).unwrap();
                    timed(&r, req).await
                })
            }).await;
            report(name, lat, wall);
        }
        for (name, concurrency) in [("post status, 1 client", 1usize), ("post status, 4 clients", 4)] {
            let (r, tok) = (router.clone(), token.clone());
            let (lat, wall) = run_concurrent(1_000, concurrency, move |i| {
                let (r, tok) = (r.clone(), tok.clone());
                Box::pin(async move {
                    let req = Request::post("/api/v1/statuses")
                        .header("authorization", format!("Bearer {tok}"))
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(Body::from(format!("status=benchmark+post+{i}+%23bench")))
                        .unwrap();
                    timed(&r, req).await
                })
            }).await;
            report(name, lat, wall);
        }

        // Public pages (HTML, askama): the viewer's profile with its posts from
        // above, and single post pages, among all the seeded statuses.
        let vid = viewer.id;
        let ids: Vec<i64> = db
            .run(move |c| {
                use diesel::prelude::*;
                use meetfield::db::schema::statuses;
                statuses::table
                    .filter(statuses::account_id.eq(vid))
                    .select(statuses::id)
                    .limit(500)
                    .load(c)
                    .map_err(DbError::from)
            })
            .await
            .unwrap();
        let ids = std::sync::Arc::new(ids);
        for (name, concurrency) in [("profile page, 1 client", 1usize), ("profile page, 4 clients", 4)] {
            let r = router.clone();
            let (lat, wall) = run_concurrent(2_000, concurrency, move |_| {
                let r = r.clone();
                Box::pin(async move { timed(&r, Request::get("/@viewer").body(Body::empty()).unwrap()).await })
            })
            .await;
            report(name, lat, wall);
        }
        for (name, concurrency) in [("post page, 1 client", 1usize), ("post page, 4 clients", 4)] {
            let (r, ids) = (router.clone(), ids.clone());
            let (lat, wall) = run_concurrent(2_000, concurrency, move |i| {
                let (r, id) = (r.clone(), ids[i % ids.len()]);
                Box::pin(async move { timed(&r, Request::get(format!("/@viewer/{id}")).body(Body::empty()).unwrap()).await })
            })
            .await;
            report(name, lat, wall);
        }
    });
}
