//! The trends job over a month of posts, and the trends endpoints, on SQLite
//! (or PostgreSQL with BENCH_DATABASE_URL, an empty database):
//!
//! - seeds BENCH_STATUSES posts (default 1,000,000) spread over the last 30
//!   days by 10,000 authors on 10 instances; one in four carries one of
//!   2,000 hashtags (a few popular, most rare), one in ten has favourites,
//!   one in eight links one of 5,000 pages (ready preview cards);
//! - `trends::compute` as the job runs it: wall time and the process's peak
//!   RSS during it;
//! - `GET /api/v1/trends/tags`, `/trends/statuses` and `/trends/links` through the
//!   real router: p50/p99.
//!
//! Run:
//!
//!     cargo bench --bench trends
//!     BENCH_STATUSES=100000 cargo bench --bench trends
//!
//! Prints numbers; asserts nothing.

mod common;

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use meetfield::db::{DbConn, DbError};
use meetfield::domain::oauth::{Scopes, issue_token};

const AUTHORS: i64 = 10_000;
const TAGS: i64 = 2_000;
const CARDS: i64 = 5_000;
const BASE: i64 = 1 << 40;

fn seed(c: &mut DbConn, statuses: i64) -> Result<(), DbError> {
    let now = chrono::Utc::now().naive_utc();
    let ts = |t: chrono::NaiveDateTime| t.format("%Y-%m-%d %H:%M:%S").to_string();
    let mut sql = String::from("BEGIN;");
    for a in 0..AUTHORS {
        sql.push_str(&format!(
            "INSERT INTO accounts (id, username, domain, actor_type, uri, display_name, note, fields, locked, discoverable, bot, created_at, updated_at) \
             VALUES ({}, 'p{a}', 'org{}.example', 'Person', 'https://org{}.example/users/p{a}', '', '', '[]', false, true, false, '{t}', '{t}');",
            BASE + a, a % 10, a % 10, t = ts(now)
        ));
    }
    sql.push_str("COMMIT;");
    c.batch_execute(&sql)?;
    let mut sql = String::from("BEGIN;");
    for k in 0..CARDS {
        sql.push_str(&format!(
            "INSERT INTO preview_cards (id, url, state, title, description, provider_name, created_at) \
             VALUES ({}, 'https://news{}.example/story/{k}', 'ready', 'Story {k}', 'What happened', 'News', '{t}');",
            BASE + k, k % 50, t = ts(now)
        ));
    }
    sql.push_str("COMMIT;");
    c.batch_execute(&sql)?;
    let span_ms = 30 * 86_400_000i64;
    let start = now - chrono::Duration::milliseconds(span_ms);
    let chunk = 5_000;
    let mut done = 0;
    while done < statuses {
        let n = chunk.min(statuses - done);
        let mut values = Vec::with_capacity(n as usize);
        let mut tagged = Vec::new();
        let mut carded = Vec::new();
        for i in done..done + n {
            let at = start + chrono::Duration::milliseconds(span_ms * i / statuses);
            let id = meetfield::db::id::id_at_millis(at.and_utc().timestamp_millis()) + (i % 1024);
            let author = BASE + (i * 7919) % AUTHORS;
            let favs = if i % 10 == 0 { (i * 31) % 7 + 1 } else { 0 };
            values.push(format!(
                "({id}, 'https://x.example/s/{i}', {author}, false, 'public', '<p>post {i}</p>', '', false, 0, 0, {favs}, '{t}', '{t}')",
                t = ts(at)
            ));
            if i % 8 == 3 {
                // As tags: a few links are shared widely, most once or twice.
                let r = (i * 40503) % 65521 % CARDS;
                carded.push(format!("({id}, {})", BASE + r * r / CARDS));
            }
            if i % 4 == 0 {
                // Popular tags are few: the square skews toward low numbers.
                let r = (i * 2654435761) % 4294967291 % TAGS;
                tagged.push(format!("({id}, 'tag{}')", r * r / TAGS));
            }
        }
        c.batch_execute(&format!(
            "BEGIN; INSERT INTO statuses (id, uri, account_id, local, visibility, content, spoiler_text, sensitive, replies_count, reblogs_count, favourites_count, created_at, updated_at) VALUES {}; INSERT INTO status_tags (status_id, tag) VALUES {}; {} COMMIT;",
            values.join(","),
            tagged.join(","),
            if carded.is_empty() {
                String::new()
            } else {
                format!(
                    "INSERT INTO status_cards (status_id, card_id) VALUES {};",
                    carded.join(",")
                )
            }
        ))?;
        done += n;
    }
    // Planner statistics, as a live database has them (autovacuum).
    c.batch_execute(match c {
        DbConn::Postgres(_) => "VACUUM ANALYZE;",
        DbConn::Sqlite(_) => "ANALYZE;",
    })?;
    Ok(())
}

fn main() {
    common::bench_main(|| async {
        let statuses: i64 = std::env::var("BENCH_STATUSES")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1_000_000);
        let common::Setup {
            db,
            config,
            app,
            dir: _dir,
        } = common::setup(8, Duration::from_secs(120)).await;
        let t = Instant::now();
        db.run(move |c| seed(c, statuses)).await.unwrap();
        println!(
            "backend {}: seeded {statuses} posts over 30 days by {AUTHORS} authors in {:.1}s",
            db.backend().name(),
            t.elapsed().as_secs_f64()
        );
        let rss_before = common::rss_mib();
        common::reset_peak_rss();
        let t = Instant::now();
        let done = meetfield::domain::trends::compute(&db).await.unwrap();
        let (tags, posts, links) = (done.tags, done.posts, done.links);
        println!(
            "trends job: {:.2}s, {tags} tags, {posts} posts and {links} links kept; RSS {rss_before:.0} MiB before, peak {:.0} MiB",
            t.elapsed().as_secs_f64(),
            common::peak_rss_mib()
        );
        let (user, _) = meetfield::domain::users::create_local_user(
            &db,
            &config,
            meetfield::domain::users::NewLocalUser {
                username: "viewer".into(),
                email: "viewer@bench.example".into(),
                password: "bench password".into(),
                role: meetfield::db::models::Role::User,
            },
        )
        .await
        .unwrap();
        let (token, _) = issue_token(&db, None, Some(user.id), Scopes::parse("read").unwrap())
            .await
            .unwrap();
        let router = app.router();
        for path in [
            "/api/v1/trends/tags",
            "/api/v1/trends/statuses",
            "/api/v1/trends/links",
        ] {
            for _ in 0..50 {
                common::timed_get(&router, &token, path).await;
            }
            let mut lat = Vec::new();
            for _ in 0..2_000 {
                lat.push(common::timed_get(&router, &token, path).await);
            }
            println!("{}", common::latency_line(path, lat));
        }
    });
}
