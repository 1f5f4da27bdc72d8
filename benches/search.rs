//! Full-text post search over a large database through the real router:
//! 1,000,000 posts (BENCH_STATUSES) by 1,000 partner authors with a mix of
//! visibilities, the viewer following 200 of them. SQLite by default,
//! PostgreSQL with BENCH_DATABASE_URL (an empty database).
//!
//!     cargo bench --bench search
//!     BENCH_STATUSES=100000 cargo bench --bench search
//!
//! Prints p50/p99 per query kind, and what indexing adds to posting;
//! asserts nothing.

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
const WORDS_PER_POST: usize = 14;

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p) as usize]
}

fn report(name: &str, mut lat: Vec<Duration>, found: usize) {
    lat.sort();
    println!(
        "{name:<44} p50 {:>7.2} ms  p99 {:>7.2} ms  ({} runs, {found} hits on the first page)",
        pct(&lat, 0.50).as_secs_f64() * 1e3,
        pct(&lat, 0.99).as_secs_f64() * 1e3,
        lat.len(),
    );
}

/// A small deterministic generator: the same database every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn unit(&mut self) -> f64 {
        (self.next() % 1_000_000) as f64 / 1_000_000.0
    }
}

/// A post's words: skewed over a 20,000-word vocabulary (a few words are
/// everywhere, most are rare), plus planted topics of known frequency.
fn body(rng: &mut Lcg, i: i64) -> String {
    let mut words: Vec<String> = (0..WORDS_PER_POST)
        .map(|_| format!("w{}", (rng.unit().powi(3) * 20_000.0) as u32))
        .collect();
    if i % 10 == 0 {
        words.push("kubernetes".into()); // 10 %
    }
    if i % 100 == 10 {
        words.push("postgres".into()); // 1 %, always with kubernetes
    }
    if i % 200 == 7 {
        words.push("rolling update".into()); // 0.5 %
    }
    if i % 10 == 3 {
        // 10 %, all by authors who are not indexable: few are visible.
        words.push("quokka".into());
    }
    if i % 10_000 == 11 {
        words.push("zanzibar".into()); // 0.01 %
    }
    words.join(" ")
}

fn seed(c: &mut DbConn, viewer: i64, statuses: i64, pg: bool) -> Result<(), DbError> {
    let now = "2026-11-01 00:00:00";
    let base_id: i64 = 1 << 40;
    let mut sql = String::new();
    for a in 0..AUTHORS {
        // Nine in ten partner authors let their posts be searched (not
        // those whose number ends in 7, whatever the topics).
        sql.push_str(&format!(
            "INSERT INTO accounts (id, username, domain, actor_type, uri, display_name, note, fields, locked, discoverable, indexable, bot, created_at, updated_at) \
             VALUES ({}, 'author{a}', 'remote{}.example', 'Person', 'https://remote{}.example/users/author{a}', '', '', '[]', false, true, {}, false, '{now}', '{now}');",
            base_id + a, a % 20, a % 20, a % 10 != 7
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
    if pg {
        // Built once after the load, as a restore would.
        c.batch_execute("DROP INDEX status_search_fts")?;
    }
    let mut rng = Lcg(42);
    let chunk = 5_000;
    let mut done = 0;
    let start_id: i64 = 1 << 50;
    while done < statuses {
        let n = chunk.min(statuses - done);
        let (mut rows, mut search) = (Vec::new(), Vec::new());
        for i in done..done + n {
            let id = start_id + i * 64;
            let author = base_id + (i * 7919) % AUTHORS;
            let visibility = match i % 50 {
                0..=39 => "public",
                40..=44 => "unlisted",
                45..=48 => "private",
                _ => "direct",
            };
            // A post a minute, the newest now.
            let minutes = statuses - i;
            let at = if pg {
                format!("(TIMESTAMP '{now}' + INTERVAL '{} minutes')", -minutes)
            } else {
                format!("datetime('{now}', '-{minutes} minutes')")
            };
            let text = body(&mut rng, i);
            rows.push(format!(
                "({id}, 'https://x.example/s/{i}', {author}, false, '{visibility}', '<p>{text}</p>', '', false, 0, 0, 0, {at}, {at})"
            ));
            search.push(format!("({id}, '{text}', false)"));
        }
        c.batch_execute(&format!(
            "BEGIN; INSERT INTO statuses (id, uri, account_id, local, visibility, content, spoiler_text, sensitive, replies_count, reblogs_count, favourites_count, created_at, updated_at) VALUES {}; \
             INSERT INTO status_search (status_id, body, has_link) VALUES {}; COMMIT;",
            rows.join(","),
            search.join(",")
        ))?;
        done += n;
    }
    if pg {
        c.batch_execute(
            "CREATE INDEX status_search_fts ON status_search USING GIN (document); ANALYZE;",
        )?;
    } else {
        c.batch_execute("ANALYZE;")?;
    }
    Ok(())
}

async fn get(router: &axum::Router, token: &str, path: &str) -> (Duration, usize) {
    let t = Instant::now();
    let req = Request::get(path)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let res = router.clone().oneshot(req).await.unwrap();
    assert!(res.status().is_success(), "{path}: {}", res.status());
    let bytes = http_body_util::BodyExt::collect(res.into_body())
        .await
        .unwrap()
        .to_bytes();
    let elapsed = t.elapsed();
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    (elapsed, v["statuses"].as_array().map_or(0, Vec::len))
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
        let statuses: i64 = std::env::var("BENCH_STATUSES")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1_000_000);
        let runs: usize = std::env::var("BENCH_RUNS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(200);
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
                timeout: Duration::from_secs(60),
            },
        )
        .await
        .unwrap();
        db.migrate().await.unwrap();
        let pg = db.backend().name() == "postgres";
        let config = Config {
            database_url: url_string,
            data_dir: dir.path().to_path_buf(),
            domain: "bench.localhost".into(),
            ..Config::default()
        };
        let app = App::new(config.clone(), db.clone()).await.unwrap();
        let (user, viewer) = create_local_user(
            &db,
            &config,
            NewLocalUser {
                username: "viewer".into(),
                email: "viewer@bench.example".into(),
                password: "bench password".into(),
                role: Role::User,
            },
        )
        .await
        .unwrap();
        let (token, _) = issue_token(
            &db,
            None,
            Some(user.id),
            Scopes::parse("read write").unwrap(),
        )
        .await
        .unwrap();
        let t = Instant::now();
        let vid = viewer.id;
        db.run(move |c| seed(c, vid, statuses, pg)).await.unwrap();
        println!(
            "backend {}: seeded {statuses} posts by {AUTHORS} authors (80 % public, 10 % unlisted, 8 % followers-only, 2 % direct; 90 % of authors indexable), viewer follows {FOLLOWED}, in {:.1}s",
            db.backend().name(),
            t.elapsed().as_secs_f64()
        );
        let router = app.router();
        let queries: &[(&str, &str)] = &[
            ("common word (10 % of posts)", "kubernetes"),
            ("word in 1 % of posts", "postgres"),
            ("rare word (0.01 %)", "zanzibar"),
            ("no match", "qwertyuiop"),
            ("two words", "kubernetes postgres"),
            ("quoted phrase (0.5 %)", "\"rolling update\""),
            ("word and exclusion", "kubernetes -postgres"),
            ("word from one author", "kubernetes from:author10@remote10.example"),
            ("word, page 3 (offset 40)", "kubernetes&offset=40"),
            ("word in:library (nothing of one's own)", "kubernetes in:library"),
            ("common word, authors not indexable (10 %)", "quokka"),
        ];
        for (name, q) in queries {
            let q = q.replace(' ', "+").replace('"', "%22").replace(':', "%3A").replace('@', "%40");
            let path = format!("/api/v2/search?type=statuses&q={q}");
            for _ in 0..5 {
                get(&router, &token, &path).await;
            }
            let mut lat = Vec::with_capacity(runs);
            let mut hits = 0;
            for _ in 0..runs {
                let (d, n) = get(&router, &token, &path).await;
                lat.push(d);
                hits = n;
            }
            report(name, lat, hits);
        }

        // What the index adds to posting: posts through the router, then
        // the index write alone for the same posts.
        let mut post_lat = Vec::new();
        let mut ids = Vec::new();
        for i in 0..300 {
            let t = Instant::now();
            let req = Request::post("/api/v1/statuses")
                .header("authorization", format!("Bearer {token}"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(format!(
                    "status=benchmark+post+{i}+about+kubernetes+and+the+rolling+update+%23bench"
                )))
                .unwrap();
            let res = router.clone().oneshot(req).await.unwrap();
            assert!(res.status().is_success());
            let bytes = http_body_util::BodyExt::collect(res.into_body())
                .await
                .unwrap()
                .to_bytes();
            post_lat.push(t.elapsed());
            let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            ids.push(v["id"].as_str().unwrap().parse::<i64>().unwrap());
        }
        let mut index_lat = Vec::new();
        for id in ids {
            let t = Instant::now();
            db.transaction(move |c| {
                meetfield::domain::search::index_status(c, id).map_err(meetfield::error::AppError::from)
            })
            .await
            .unwrap();
            index_lat.push(t.elapsed());
        }
        post_lat.sort();
        index_lat.sort();
        let mean = |v: &[Duration]| v.iter().sum::<Duration>().as_secs_f64() / v.len() as f64 * 1e3;
        println!(
            "posting: p50 {:.2} ms, mean {:.2} ms a post; the index write alone (own transaction): p50 {:.2} ms, mean {:.2} ms = {:.0} % of a post",
            pct(&post_lat, 0.5).as_secs_f64() * 1e3,
            mean(&post_lat),
            pct(&index_lat, 0.5).as_secs_f64() * 1e3,
            mean(&index_lat),
            mean(&index_lat) / mean(&post_lat) * 100.0
        );
    });
}
