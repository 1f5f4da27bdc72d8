//! "Who knows X?" and the directory over a large organization: 100,000
//! accounts (10 % local, the rest from 20 partner instances) with five
//! fields each, their profile terms, and 200,000 tagged public posts.
//! SQLite by default, PostgreSQL with BENCH_DATABASE_URL (an empty database).
//!
//!     cargo bench --bench experts
//!     BENCH_ACCOUNTS=20000 cargo bench --bench experts
//!
//! Prints p50/p99 latency per query kind; asserts nothing.

mod common;

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use meetfield::db::models::Role;
use meetfield::db::{DbConn, DbError};
use meetfield::domain::oauth::{Scopes, issue_token};
use meetfield::domain::users::{NewLocalUser, create_local_user};

const PARTNERS: i64 = 20;
const DEPARTMENTS: &[&str] = &[
    "Research",
    "Sales",
    "Legal",
    "Platform",
    "Data",
    "Finance",
    "Marketing",
    "Support",
    "Security",
    "Design",
    "Operations",
    "HR",
    "Procurement",
    "Logistics",
    "Quality",
];
const ROLES: &[&str] = &[
    "Engineer",
    "Data scientist",
    "Manager",
    "Analyst",
    "Designer",
    "Lawyer",
    "Accountant",
    "Site reliability engineer",
    "Product owner",
    "Researcher",
    "Consultant",
    "Architect",
];
const LOCATIONS: &[&str] = &[
    "Berlin", "Lyon", "Madrid", "Oslo", "Turin", "Porto", "Ghent", "Graz",
];
const LANGUAGES: &[&str] = &["English", "German", "French", "Spanish", "Italian", "Dutch"];

/// 300 skills: a few real ones people search for, the rest generated.
fn skills() -> Vec<String> {
    let mut v: Vec<String> = [
        "Kubernetes",
        "Rust",
        "Go",
        "Machine learning",
        "Terraform",
        "PostgreSQL",
        "Contract law",
        "Accessibility",
        "Tax",
        "Figma",
        "Kafka",
        "Python",
        "Statistics",
        "GDPR",
        "Negotiation",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let parts = [
        "cloud", "data", "risk", "supply", "brand", "quantum", "edge", "audit", "mobile", "graph",
    ];
    let ends = [
        "modelling",
        "strategy",
        "engineering",
        "analytics",
        "compliance",
        "design",
        "ops",
        "testing",
        "security",
        "planning",
    ];
    'outer: for p in parts {
        for e in ends {
            for n in 0..3 {
                if v.len() >= 300 {
                    break 'outer;
                }
                v.push(format!(
                    "{p} {e}{}",
                    if n == 0 {
                        String::new()
                    } else {
                        format!(" {n}")
                    }
                ));
            }
        }
    }
    v
}

fn seed(c: &mut DbConn, accounts: i64) -> Result<(), DbError> {
    let now = "2026-11-01 00:00:00";
    let skills = skills();
    let base: i64 = 1 << 40;
    let chunk = 2_000;
    let mut a = 0;
    while a < accounts {
        let mut acc = Vec::new();
        let mut terms = Vec::new();
        for i in a..(a + chunk).min(accounts) {
            let id = base + i;
            let local = i % 10 == 0;
            let domain = if local {
                "NULL".to_string()
            } else {
                format!("'partner{}.example:443'", i % PARTNERS)
            };
            let host = if local {
                "bench.localhost".to_string()
            } else {
                format!("partner{}.example:443", i % PARTNERS)
            };
            let dept = DEPARTMENTS[(i % DEPARTMENTS.len() as i64) as usize];
            let role = ROLES[((i / 3) % ROLES.len() as i64) as usize];
            let loc = LOCATIONS[((i / 7) % LOCATIONS.len() as i64) as usize];
            let lang = LANGUAGES[((i / 11) % LANGUAGES.len() as i64) as usize];
            // Zipf-like: low-numbered skills are common.
            let pick = |k: i64| -> &str {
                let r = ((i * 2654435761 + k * 40503) % 1_000_003) as f64 / 1_000_003.0;
                &skills[((r * r) * skills.len() as f64) as usize % skills.len()]
            };
            let my: Vec<&str> = (0..3).map(pick).collect();
            let fields = serde_json::json!([
                {"name": "Department", "value": dept},
                {"name": "Role", "value": role},
                {"name": "Skills", "value": my.join(", ")},
                {"name": "Location", "value": loc},
                {"name": "Languages", "value": lang},
            ]);
            let note = format!("<p>Working on {} and {} in {dept}.</p>", pick(7), pick(8));
            acc.push(format!(
                "({id}, 'user{i}', {domain}, 'Person', 'https://{host}/users/user{i}', 'User {i}', '{}', '{}', false, {}, false, '{now}', '{now}')",
                common::sql_str(&note),
                common::sql_str(&fields.to_string()),
                i % 17 != 0
            ));
            let mut seen = std::collections::HashSet::new();
            let mut term = |field: &str, display: &str| {
                let t = display.to_lowercase();
                if seen.insert((field.to_string(), t.clone())) {
                    terms.push(format!(
                        "({id}, '{field}', '{}', '{}')",
                        common::sql_str(&t),
                        common::sql_str(display)
                    ));
                }
            };
            term("department", dept);
            term("role", role);
            for s in &my {
                term("skills", s);
            }
            term("location", loc);
            term("languages", lang);
        }
        c.batch_execute(&format!(
            "BEGIN; INSERT INTO accounts (id, username, domain, actor_type, uri, display_name, note, fields, locked, discoverable, bot, created_at, updated_at) VALUES {}; \
             INSERT INTO profile_terms (account_id, field, term, display) VALUES {}; COMMIT;",
            acc.join(","),
            terms.join(",")
        ))?;
        a += chunk;
    }
    // Tagged public posts by a quarter of the people.
    let posts = accounts * 2;
    let start: i64 = 1 << 50;
    let mut p = 0;
    while p < posts {
        let mut rows = Vec::new();
        let mut tags = Vec::new();
        for i in p..(p + 5_000).min(posts) {
            let id = start + i * 64;
            let author = base + (i * 7919) % (accounts / 4).max(1) * 4;
            let tag = skills[(i % 60) as usize].to_lowercase().replace(' ', "");
            rows.push(format!(
                "({id}, 'https://x.example/s/{i}', {author}, false, 'public', '<p>about #{tag}</p>', '', false, 0, 0, 0, '{now}', '{now}')"
            ));
            tags.push(format!("({id}, '{tag}')"));
        }
        c.batch_execute(&format!(
            "BEGIN; INSERT INTO statuses (id, uri, account_id, local, visibility, content, spoiler_text, sensitive, replies_count, reblogs_count, favourites_count, created_at, updated_at) VALUES {}; \
             INSERT INTO status_tags (status_id, tag) VALUES {}; COMMIT;",
            rows.join(","),
            tags.join(",")
        ))?;
        p += 5_000;
    }
    // As the application keeps it when it indexes a profile.
    c.batch_execute(
        "INSERT INTO profile_vocabulary (term) SELECT DISTINCT term FROM profile_terms;",
    )?;
    // Statistics (and on PostgreSQL the visibility map, as autovacuum
    // would keep it) for the planner.
    let analyze = match c {
        DbConn::Postgres(_) => "VACUUM ANALYZE;",
        DbConn::Sqlite(_) => "ANALYZE;",
    };
    c.batch_execute(analyze)?;
    Ok(())
}

fn main() {
    common::bench_main(|| async {
        let accounts: i64 = std::env::var("BENCH_ACCOUNTS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(100_000);
        let common::Setup {
            db,
            config,
            app,
            dir: _dir,
        } = common::setup(8, Duration::from_secs(30)).await;
        let (user, _) = create_local_user(
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
        let (token, _) = issue_token(&db, None, Some(user.id), Scopes::parse("read").unwrap())
            .await
            .unwrap();
        let t = Instant::now();
        db.run(move |c| seed(c, accounts)).await.unwrap();
        println!(
            "backend {}: seeded {accounts} accounts ({} local, {PARTNERS} partners), 5 fields each, {} tagged posts, in {:.1}s",
            db.backend().name(),
            accounts / 10,
            accounts * 2,
            t.elapsed().as_secs_f64()
        );
        let router = app.router();
        let queries = [
            ("experts: skill", "/api/v1/meetfield/experts?q=kubernetes"),
            ("experts: typo", "/api/v1/meetfield/experts?q=kubernets"),
            (
                "experts: phrase",
                "/api/v1/meetfield/experts?q=who%20knows%20machine%20learning",
            ),
            (
                "experts: rare skill",
                "/api/v1/meetfield/experts?q=quantum%20audit",
            ),
            (
                "experts: department filter",
                "/api/v1/meetfield/experts?q=rust&department=research",
            ),
            (
                "account search (names, then experts)",
                "/api/v2/search?type=accounts&q=terraform",
            ),
            (
                "account search: name prefix (autocomplete)",
                "/api/v1/accounts/search?q=user12&limit=5",
            ),
            (
                "account search: a word of every name",
                "/api/v1/accounts/search?q=user&limit=5",
            ),
            ("directory: skill", "/api/v1/directory?skill=kubernetes"),
            (
                "directory: department, active",
                "/api/v1/directory?department=legal&order=active",
            ),
        ];
        let only = std::env::var("BENCH_ONLY").unwrap_or_default();
        for (name, path) in queries
            .into_iter()
            .filter(|(n, _)| n.contains(only.as_str()))
        {
            for _ in 0..5 {
                common::timed_get(&router, &token, path).await;
            }
            let mut lat = Vec::new();
            let start = Instant::now();
            while lat.len() < 200 && start.elapsed() < Duration::from_secs(60) {
                lat.push(common::timed_get(&router, &token, path).await);
            }
            lat.sort();
            println!(
                "{name}: {} requests, p50 {:.1} ms, p99 {:.1} ms",
                lat.len(),
                common::pct(&lat, 0.50).as_secs_f64() * 1e3,
                common::pct(&lat, 0.99).as_secs_f64() * 1e3
            );
        }
    });
}
