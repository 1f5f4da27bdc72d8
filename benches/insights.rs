//! Connector insight and follow suggestions at organization scale, on SQLite
//! (or PostgreSQL with BENCH_DATABASE_URL, an empty database):
//!
//! - seeds BENCH_PEOPLE local people (default 100,000) in 200 departments,
//!   1,000 people on each of 10 partner instances, 2,000 groups, 2,000,000
//!   follows and 5,000,000 interactions (1M replies, 1M mentions, 1M
//!   boosts, 2M favourites), mostly inside a department as in real
//!   organizations, all inside the window;
//! - `insights::compute` as the job runs it: wall time and the process's peak
//!   RSS during it;
//! - sampled betweenness against exact on the first 10,000 people's induced
//!   graph: the share of the exact top 1% the sample finds, the error of the
//!   total and of the top 100;
//! - `suggestions::compute` for everyone, then `GET /api/v2/suggestions`
//!   through the real router: p50/p99.
//!
//! Run:
//!
//!     cargo bench --bench insights
//!     BENCH_PEOPLE=20000 cargo bench --bench insights
//!
//! Prints numbers; asserts nothing.

mod common;

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use meetfield::db::{DbConn, DbError};
use meetfield::domain::oauth::{Scopes, issue_token};
use meetfield::org::{graph, insights, suggestions};

const DEPARTMENTS: i64 = 200;
const INSTANCES: i64 = 10;
const PER_INSTANCE: i64 = 1_000;
const GROUPS: i64 = 2_000;
const FOLLOWS: i64 = 2_000_000;
const ORIGINALS: i64 = 500_000;
const REPLIES: i64 = 1_000_000;
const MENTIONS: i64 = 1_000_000;
const BOOSTS: i64 = 1_000_000;
const FAVOURITES: i64 = 2_000_000;
const SAMPLE: usize = 10_000;

const BASE: i64 = 1 << 40;
const USERS: i64 = 2 << 40;
const FOLLOW_IDS: i64 = 3 << 40;
const MENTION_IDS: i64 = 4 << 40;

/// A pseudo-random non-negative integer from the row number `x`.
fn h(salt: i64) -> String {
    format!("(((x + {salt}) * 2654435761) % 4294967291)")
}

/// Rows numbered 0..n fed to `insert` (same SQL on both backends).
fn rows(n: i64, insert: &str) -> String {
    format!(
        "WITH RECURSIVE g(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM g WHERE x < {}) {insert} FROM g WHERE true ON CONFLICT DO NOTHING;",
        n - 1
    )
}

/// Whom the person `a` (an offset expression) talks to: 70% their own
/// department, 20% anyone local, 10% a partner's person.
fn target(people: i64, a: &str, salt: i64) -> String {
    let remote = INSTANCES * PER_INSTANCE;
    format!(
        "{BASE} + CASE WHEN {p} % 10 < 7 THEN ({q} % {per}) * {DEPARTMENTS} + ({a}) % {DEPARTMENTS} \
         WHEN {p} % 10 < 9 THEN {q} % {people} ELSE {people} + {q} % {remote} END",
        p = h(salt),
        q = h(salt + 1),
        per = people / DEPARTMENTS,
    )
}

fn seed(c: &mut DbConn, people: i64, first_status: i64) -> Result<(), DbError> {
    let remote = INSTANCES * PER_INSTANCE;
    let local = |salt| format!("{} % {people}", h(salt));
    let step = |c: &mut DbConn, what: &str, sql: String| -> Result<(), DbError> {
        let t = Instant::now();
        c.batch_execute(&sql)?;
        println!("  seeded {what} in {:.1}s", t.elapsed().as_secs_f64());
        Ok(())
    };
    step(
        c,
        "local people",
        rows(
            people,
            &format!(
                "INSERT INTO accounts (id, username, domain, actor_type, uri, display_name, note, fields, locked, discoverable, bot, created_at, updated_at) \
         SELECT {BASE} + x, 'person' || x, NULL, 'Person', 'https://bench.localhost/users/person' || x, 'Person ' || x, '', '[]', false, x % 17 <> 0, false, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP"
            ),
        ),
    )?;
    step(
        c,
        "users",
        rows(
            people,
            &format!(
                "INSERT INTO users (id, account_id, email, password_hash, role, disabled, approved, locale, created_at, updated_at) \
         SELECT {USERS} + x, {BASE} + x, 'person' || x || '@org.example', '', 'user', false, true, 'en', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP"
            ),
        ),
    )?;
    step(
        c,
        "partner people",
        rows(
            remote,
            &format!(
                "INSERT INTO accounts (id, username, domain, actor_type, uri, display_name, note, fields, locked, discoverable, bot, created_at, updated_at) \
         SELECT {BASE} + {people} + x, 'remote' || x, 'partner' || (x % {INSTANCES}) || '.example', 'Person', 'https://partner' || (x % {INSTANCES}) || '.example/users/remote' || x, 'Remote ' || x, '', '[]', false, true, false, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP"
            ),
        ),
    )?;
    step(
        c,
        "groups",
        rows(
            GROUPS,
            &format!(
                "INSERT INTO accounts (id, username, domain, actor_type, uri, display_name, note, fields, locked, discoverable, bot, created_at, updated_at) \
         SELECT {BASE} + {people} + {remote} + x, 'group' || x, NULL, 'Group', 'https://bench.localhost/users/group' || x, 'Group ' || x, '', '[]', false, true, false, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP"
            ),
        ),
    )?;
    let mut terms = vec![format!(
        "INSERT INTO profile_terms (account_id, field, term, display) SELECT {BASE} + x, 'department', 'dept' || (x % {DEPARTMENTS}), 'Dept ' || (x % {DEPARTMENTS})"
    )];
    for s in 0..3 {
        // Skills shared mostly inside a department, some across.
        terms.push(format!(
            "INSERT INTO profile_terms (account_id, field, term, display) SELECT {BASE} + x, 'skills', 'skill' || ((x % {DEPARTMENTS}) * 3 + {h} % 40), 'Skill ' || ((x % {DEPARTMENTS}) * 3 + {h} % 40)",
            h = h(100 + s)
        ));
    }
    for t in terms {
        step(c, "profile terms", rows(people, &t))?;
    }
    step(
        c,
        "follows",
        rows(
            FOLLOWS,
            &format!(
                "INSERT INTO follows (id, account_id, target_account_id, uri, pending, show_reblogs, notify, created_at, updated_at) \
         SELECT {FOLLOW_IDS} + x, {BASE} + {a}, {t}, NULL, false, true, false, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP",
                a = local(1),
                t = target(people, &local(1), 2),
            ),
        ),
    )?;
    step(
        c,
        "group memberships",
        rows(
            GROUPS * 25,
            &format!(
                "INSERT INTO follows (id, account_id, target_account_id, uri, pending, show_reblogs, notify, created_at, updated_at) \
         SELECT {FOLLOW_IDS} + {FOLLOWS} + x, {BASE} + ((x % {GROUPS}) % {DEPARTMENTS} + {DEPARTMENTS} * ({h} % {per})), {BASE} + {people} + {remote} + x % {GROUPS}, NULL, false, true, false, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP",
                h = h(3),
                per = people / DEPARTMENTS,
            ),
        ),
    )?;
    let status = |id: String, author: String, reply_to: &str, reblog_of: &str| {
        format!(
            "INSERT INTO statuses (id, uri, account_id, local, visibility, content, spoiler_text, sensitive, in_reply_to_account_id, reblog_of_id, replies_count, reblogs_count, favourites_count, created_at, updated_at) \
             SELECT {id}, 'https://bench.localhost/s/' || ({id}), {author}, true, 'public', '<p>post</p>', '', false, {reply_to}, {reblog_of}, 0, 0, 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP"
        )
    };
    step(
        c,
        "posts",
        rows(
            ORIGINALS,
            &status(
                format!("{first_status} + x"),
                format!(
                    "{BASE} + CASE WHEN x % 10 = 0 THEN {people} + {h} % {remote} ELSE {h} % {people} END",
                    h = h(4)
                ),
                "NULL",
                "NULL",
            ),
        ),
    )?;
    step(
        c,
        "replies",
        rows(
            REPLIES,
            &status(
                format!("{first_status} + {ORIGINALS} + x"),
                format!("{BASE} + {}", local(5)),
                &target(people, &local(5), 6),
                "NULL",
            ),
        ),
    )?;
    step(
        c,
        "mentions",
        rows(
            MENTIONS,
            &format!(
                "INSERT INTO mentions (id, status_id, account_id) SELECT {MENTION_IDS} + x, {first_status} + {ORIGINALS} + x, {}",
                target(people, &local(5), 8)
            ),
        ),
    )?;
    step(
        c,
        "boosts",
        rows(
            BOOSTS,
            &status(
                format!("{first_status} + {ORIGINALS} + {REPLIES} + x"),
                format!("{BASE} + {}", local(9)),
                "NULL",
                &format!("{first_status} + {} % {ORIGINALS}", h(10)),
            ),
        ),
    )?;
    step(
        c,
        "favourites",
        rows(
            FAVOURITES,
            &format!(
                "INSERT INTO favourites (id, account_id, status_id, uri, created_at) \
         SELECT {first_status} + x, {BASE} + {}, {first_status} + {} % {}, NULL, CURRENT_TIMESTAMP",
                local(11),
                h(12),
                ORIGINALS + REPLIES
            ),
        ),
    )?;
    let analyze = match c {
        DbConn::Postgres(_) => "VACUUM ANALYZE;",
        DbConn::Sqlite(_) => "ANALYZE;",
    };
    step(c, "statistics", analyze.to_string())
}

/// Sampled against exact betweenness on the first `n` nodes' induced graph.
fn accuracy(g: &graph::Graph, n: usize, k: usize) {
    let mut ties = Vec::new();
    for v in 0..n {
        for (&u, &w) in g.neighbors(v).iter().zip(g.neighbor_weights(v)) {
            if (u as usize) < n && (v as u32) < u {
                ties.push((v as u32, u, w));
            }
        }
    }
    let sub = graph::Graph::new(n, &ties);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let t = Instant::now();
    let exact = graph::betweenness(&sub, None, 1, threads, &|_, _| {});
    let exact_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let sampled = graph::betweenness(&sub, Some(k), 1, threads, &|_, _| {});
    let sampled_s = t.elapsed().as_secs_f64();
    let rank = |v: &[f64]| {
        let mut idx: Vec<usize> = (0..v.len()).collect();
        idx.sort_by(|&a, &b| v[b].total_cmp(&v[a]));
        idx
    };
    let (re, rs) = (rank(&exact.values), rank(&sampled.values));
    let top = (n / 100).max(1);
    let found = re[..top].iter().filter(|i| rs[..top].contains(i)).count();
    let tenth = (n / 10).max(1);
    let near = re[..top].iter().filter(|i| rs[..tenth].contains(i)).count();
    let median = exact.values[re[n / 2]].max(1e-12);
    let spread = exact.values[re[0]] / median;
    let total = |v: &[f64]| v.iter().sum::<f64>();
    let total_err = (total(&sampled.values) - total(&exact.values)).abs() / total(&exact.values);
    let top100: Vec<f64> = re[..100.min(n)]
        .iter()
        .map(|&i| (sampled.values[i] - exact.values[i]).abs() / exact.values[i].max(1e-12))
        .collect();
    let mean100 = top100.iter().sum::<f64>() / top100.len() as f64;
    println!(
        "betweenness on {n} people, {} ties: exact {exact_s:.1}s, k={k} sampled {sampled_s:.2}s; \
         sample finds {found}/{top} of the exact top 1% in its top 1%, {near}/{top} in its top 10%; \
         total within {:.1}%; top 100 mean error {:.1}%; exact highest / median {spread:.1}",
        sub.ties(),
        total_err * 100.0,
        mean100 * 100.0
    );
}

fn main() {
    common::bench_main(|| async {
        let people: i64 = std::env::var("BENCH_PEOPLE")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(100_000);
        let people = (people / DEPARTMENTS).max(1) * DEPARTMENTS;
        let common::Setup {
            db,
            config,
            app,
            dir: _dir,
        } = common::setup(8, Duration::from_secs(300)).await;
        let day_ago = chrono::Utc::now().timestamp_millis() - 86_400_000;
        let first_status = meetfield::db::id::id_at_millis(day_ago);
        let t = Instant::now();
        db.run(move |c| seed(c, people, first_status))
            .await
            .unwrap();
        println!(
            "backend {}: seeded {people} people in {DEPARTMENTS} departments, {} partner people on {INSTANCES} instances, \
             {GROUPS} groups, {FOLLOWS} follows, {} interactions in {:.0}s",
            db.backend().name(),
            INSTANCES * PER_INSTANCE,
            REPLIES + MENTIONS + BOOSTS + FAVOURITES,
            t.elapsed().as_secs_f64()
        );

        println!("before the run: RSS {:.0} MiB", common::rss_mib());
        common::reset_peak_rss();
        let t = Instant::now();
        let run = insights::compute(&db, &config, |_, _| {}).await.unwrap();
        println!(
            "insights::compute: {:.1}s wall, peak RSS {:.0} MiB; {run}",
            t.elapsed().as_secs_f64(),
            common::peak_rss_mib()
        );

        let (domain, window) = (config.domain.clone(), config.insights_window_days);
        let g = db
            .run(move |c| {
                insights::load(c, &domain, window, meetfield::db::now()).map_err(DbError::from)
            })
            .await
            .unwrap();
        accuracy(&g.graph, SAMPLE.min(g.graph.len()), config.insights_sources);
        drop(g);

        common::reset_peak_rss();
        let t = Instant::now();
        let n = suggestions::compute(&db, config.insights_window_days)
            .await
            .unwrap();
        println!(
            "suggestions::compute: {n} people in {:.1}s, peak RSS {:.0} MiB",
            t.elapsed().as_secs_f64(),
            common::peak_rss_mib()
        );

        let router = app.router();
        let mut tokens = Vec::new();
        for i in [1i64, 77, 4_242 % people, people / 2, people - 3] {
            let (token, _) =
                issue_token(&db, None, Some(USERS + i), Scopes::parse("read").unwrap())
                    .await
                    .unwrap();
            tokens.push(token);
        }
        for path in [
            "/api/v2/suggestions",
            "/api/v2/suggestions?limit=80",
            "/api/v1/meetfield/suggestions/groups",
        ] {
            for t in &tokens {
                common::timed_get(&router, t, path).await;
            }
            let mut lat = Vec::new();
            for i in 0..500 {
                lat.push(common::timed_get(&router, &tokens[i % tokens.len()], path).await);
            }
            println!("{}", common::latency_line(&format!("GET {path}"), lat));
        }
    });
}
