//! The admin console at 100,000 local accounts through the real router on
//! SQLite (or PostgreSQL with BENCH_DATABASE_URL): the dashboard and the
//! people list (first page, a deep page, sign-ups waiting, a search).
//!
//!     cargo bench --bench admin
//!     BENCH_ACCOUNTS=20000 cargo bench --bench admin
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
use meetfield::domain::users::{NewLocalUser, create_local_user};
use tower::ServiceExt;

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

/// Local people with users; one in 100 waits for approval, one in 3 used an
/// app this month, one in 10 has a browser session; some deliveries wait.
fn seed(c: &mut DbConn, n: i64) -> Result<(), DbError> {
    let base: i64 = 1 << 40;
    let chunk = 2_000;
    let mut done = 0;
    while done < n {
        let m = chunk.min(n - done);
        let (mut acc, mut usr, mut tok, mut ses) = (vec![], vec![], vec![], vec![]);
        for i in done..done + m {
            let (a, u) = (base + i, base + n + i);
            let t = format!("2026-{:02}-{:02} 10:00:00", 1 + i % 12, 1 + i % 28);
            acc.push(format!(
                "({a}, 'person{i}', NULL, 'Person', 'https://bench.localhost/users/person{i}', 'Person {i}', '', '[]', false, true, false, {}, '{t}', '{t}')",
                i % 40
            ));
            usr.push(format!(
                "({u}, {a}, 'person{i}@org.example', '', 'user', false, {}, 'en', '{t}', '{t}')",
                if i % 100 == 0 { "false" } else { "true" }
            ));
            if i % 3 == 0 {
                tok.push(format!(
                    "({}, 'hash{i}', NULL, {u}, 'read', '{t}', CURRENT_TIMESTAMP, NULL)",
                    base + 3 * n + i
                ));
            }
            if i % 10 == 0 {
                ses.push(format!(
                    "({}, 'session{i}', {u}, 'password', '{t}', '2027-12-31 00:00:00')",
                    base + 4 * n + i
                ));
            }
        }
        let mut sql = format!(
            "BEGIN; INSERT INTO accounts (id, username, domain, actor_type, uri, display_name, note, fields, locked, discoverable, bot, statuses_count, created_at, updated_at) VALUES {};
             INSERT INTO users (id, account_id, email, password_hash, role, disabled, approved, locale, created_at, updated_at) VALUES {};",
            acc.join(","),
            usr.join(",")
        );
        if !tok.is_empty() {
            sql.push_str(&format!(
                "INSERT INTO oauth_tokens (id, token_hash, application_id, user_id, scopes, created_at, last_used_at, revoked_at) VALUES {};",
                tok.join(",")
            ));
        }
        if !ses.is_empty() {
            sql.push_str(&format!(
                "INSERT INTO web_sessions (id, token_hash, user_id, method, created_at, expires_at) VALUES {};",
                ses.join(",")
            ));
        }
        sql.push_str("COMMIT;");
        c.batch_execute(&sql)?;
        done += m;
    }
    let mut d = Vec::new();
    for i in 0..5_000i64 {
        d.push(format!(
            "({}, 'https://bench.localhost/a/{i}', {base}, 'https://p{}.example/inbox', '{{}}', 'pending', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 'p{}.example')",
            base + 5 * n + i,
            i % 30,
            i % 30
        ));
    }
    c.batch_execute(&format!(
        "BEGIN; INSERT INTO deliveries (id, activity_id, sender_account_id, inbox, payload, state, attempts, next_attempt_at, created_at, updated_at, host) VALUES {}; COMMIT;",
        d.join(",")
    ))?;
    Ok(())
}

async fn timed(router: &axum::Router, path: &str, cookie: &str) -> Duration {
    let req = Request::get(path)
        .header("cookie", cookie)
        .body(Body::empty())
        .unwrap();
    let t = Instant::now();
    let res = router.clone().oneshot(req).await.unwrap();
    assert!(res.status().is_success(), "{path}: {}", res.status());
    let _ = http_body_util::BodyExt::collect(res.into_body())
        .await
        .unwrap();
    t.elapsed()
}

async fn run(router: &axum::Router, path: &str, cookie: &str, n: usize, concurrency: usize) {
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (r, p, c, next) = (
            router.clone(),
            path.to_string(),
            cookie.to_string(),
            next.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < n {
                lat.push(timed(&r, &p, &c).await);
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    report(
        &format!("{path}, {concurrency} client(s)"),
        all,
        start.elapsed(),
    );
}

fn main() {
    // Only under `cargo bench` (which passes --bench), not in test runs.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let n: i64 = std::env::var("BENCH_ACCOUNTS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(100_000);
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
        let db = Db::connect(
            &url,
            DbOptions {
                pool_size: 8,
                timeout: Duration::from_secs(30),
            },
        )
        .await
        .unwrap();
        db.migrate().await.unwrap();
        let config = Config {
            database_url: url_string,
            data_dir: dir.path().to_path_buf(),
            domain: "bench.localhost".into(),
            ..Config::default()
        };
        let app = App::new(config.clone(), db.clone()).await.unwrap();
        let (admin, _) = create_local_user(
            &db,
            &config,
            NewLocalUser {
                username: "root".into(),
                email: "root@bench.example".into(),
                password: "bench password".into(),
                role: Role::Admin,
            },
        )
        .await
        .unwrap();
        let t = Instant::now();
        db.run(move |c| seed(c, n)).await.unwrap();
        db.run(|c| c.batch_execute("ANALYZE").map_err(DbError::from))
            .await
            .ok();
        println!(
            "backend {}: seeded {n} local people in {:.1}s",
            db.backend().name(),
            t.elapsed().as_secs_f64()
        );
        let cookie = meetfield::web::session::start(&app.state, admin.id, "password")
            .await
            .unwrap();
        let cookie = cookie.split(';').next().unwrap().to_string();
        let router = app.router();
        for _ in 0..20 {
            timed(&router, "/admin", &cookie).await;
        }
        for path in [
            "/admin",
            "/admin/people",
            "/admin/people?offset=50000",
            "/admin/people?status=pending",
            "/admin/people?q=person4711",
        ] {
            for concurrency in [1, 4] {
                run(&router, path, &cookie, 300, concurrency).await;
            }
        }
    });
}
