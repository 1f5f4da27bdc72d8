//! A full directory sync of 10,000 people (BENCH_PEOPLE) from one partner,
//! between two release `meetfield serve` processes on SQLite: beta
//! publishes its people (five fields each, two featured tags), alpha's
//! server signs (its instance actor), and `meetfield admin directory sync`
//! runs for alpha as its own process. Reports the wall time and the sync
//! process's peak RSS; then a sync with nothing changed, then one after
//! 100 profiles changed.
//!
//!     cargo bench --bench directory_sync
//!
//! Prints numbers; asserts only that the syncs succeed.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use meetfield::db::{Db, DbConn, DbError, DbOptions};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_meetfield")
}

struct Node {
    port: u16,
    db_url: String,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl Node {
    fn new() -> Node {
        let dir = tempfile::tempdir().unwrap();
        let db_url = format!("sqlite://{}/meetfield.db", dir.path().display());
        Node {
            port: free_port(),
            db_url,
            dir,
            child: None,
        }
    }

    fn domain(&self, name: &str) -> String {
        format!("{name}.localhost:{}", self.port)
    }

    fn command(&self, name: &str) -> Command {
        let mut c = Command::new(bin());
        c.env_remove("MEETFIELD_CONFIG")
            .env("MEETFIELD_DOMAIN", self.domain(name))
            .env("MEETFIELD_BIND", format!("127.0.0.1:{}", self.port))
            .env("MEETFIELD_DATABASE_URL", &self.db_url)
            .env("MEETFIELD_DATA_DIR", self.dir.path())
            .env("MEETFIELD_FEDERATION_INSECURE_LOCAL", "true")
            .env("MEETFIELD_FEDERATION_MODE", "open")
            .env("MEETFIELD_DIRECTORY_SYNC_SECS", "0")
            .env("MEETFIELD_LOG", "warn")
            .current_dir(self.dir.path());
        c
    }

    async fn serve(&mut self, name: &str) {
        self.child = Some(self.command(name).arg("serve").spawn().unwrap());
        let client = reqwest::Client::new();
        while client
            .get(format!("http://127.0.0.1:{}/health", self.port))
            .send()
            .await
            .map(|r| r.status() != 200)
            .unwrap_or(true)
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(c) = self.child.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn hwm_kib(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Runs a command to its end: (stdout, wall time, peak RSS in MiB).
fn measured(mut cmd: Command) -> (String, Duration, f64) {
    let t = Instant::now();
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut peak = 0;
    loop {
        if let Some(h) = hwm_kib(pid) {
            peak = peak.max(h);
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let wall = t.elapsed();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        wall,
        peak as f64 / 1024.0,
    )
}

const SKILLS: &[&str] = &[
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
];

/// Local people on beta, sharing one key pair (10,000 RSA keys would take
/// minutes and measure nothing here).
fn seed(c: &mut DbConn, domain: &str, people: i64) -> Result<(), DbError> {
    let keys = activitypub_federation::http_signatures::generate_actor_keypair().unwrap();
    let now = "2026-11-01 00:00:00";
    let base: i64 = 1 << 45;
    let mut done = 0;
    while done < people {
        let n = 1000.min(people - done);
        let (mut accounts, mut users, mut tags) = (Vec::new(), Vec::new(), Vec::new());
        for i in done..done + n {
            let id = base + i;
            let fields = serde_json::json!([
                {"name": "Department", "value": format!("Unit {}", i % 40)},
                {"name": "Role", "value": if i % 3 == 0 { "Engineer" } else { "Analyst" }},
                {"name": "Skills", "value": format!("{}, {}, skill{}", SKILLS[(i % 15) as usize], SKILLS[((i / 15) % 15) as usize], i % 300)},
                {"name": "Location", "value": "Berlin"},
                {"name": "Languages", "value": "English, German"},
            ])
            .to_string()
            .replace('\'', "''");
            accounts.push(format!(
                "({id}, 'p{i}', NULL, 'Person', 'http://{domain}/users/p{i}', 'http://{domain}/@p{i}', 'Person {i}', '<p>I work on things number {i}</p>', '{fields}', '{}', '{}', false, true, true, false, '{now}', '{now}')",
                keys.public_key, keys.private_key
            ));
            users.push(format!(
                "({id}, {id}, 'p{i}@beta.example', 'x', 'user', false, true, 'en', '{now}', '{now}')"
            ));
            tags.push(format!(
                "({}, {id}, 'topic{}', 'Topic{}', '{now}')",
                id * 2,
                i % 50,
                i % 50
            ));
            tags.push(format!(
                "({}, {id}, 'kubecon', 'KubeCon', '{now}')",
                id * 2 + 1
            ));
        }
        c.batch_execute(&format!(
            "BEGIN; \
             INSERT INTO accounts (id, username, domain, actor_type, uri, url, display_name, note, fields, public_key_pem, private_key_pem, locked, discoverable, indexable, bot, created_at, updated_at) VALUES {}; \
             INSERT INTO users (id, account_id, email, password_hash, role, disabled, approved, locale, created_at, updated_at) VALUES {}; \
             INSERT INTO featured_tags (id, account_id, name, display_name, created_at) VALUES {}; COMMIT;",
            accounts.join(","),
            users.join(","),
            tags.join(",")
        ))?;
        done += n;
    }
    Ok(())
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let people: i64 = std::env::var("BENCH_PEOPLE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (mut alpha, mut beta) = (Node::new(), Node::new());
        for (node, name) in [(&alpha, "alpha"), (&beta, "beta")] {
            let out = node.command(name).arg("migrate").output().unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        }
        let db = Db::connect(
            &meetfield::config::DatabaseUrl::parse(&beta.db_url).unwrap(),
            DbOptions::default(),
        )
        .await
        .unwrap();
        let domain = beta.domain("beta");
        let t = Instant::now();
        let d = domain.clone();
        db.run(move |c| seed(c, &d, people)).await.unwrap();
        println!("seeded {people} people on beta in {:.1}s", t.elapsed().as_secs_f64());
        beta.serve("beta").await;
        alpha.serve("alpha").await;

        let sync = |alpha: &Node| {
            let mut c = alpha.command("alpha");
            c.args(["admin", "directory", "sync", &domain]);
            c
        };
        let (out, wall, rss) = measured(sync(&alpha));
        println!(
            "full sync of {people} people: {:.1} s, peak RSS of the sync process {rss:.0} MiB; {}",
            wall.as_secs_f64(),
            out.trim()
        );
        let (out, wall, rss) = measured(sync(&alpha));
        println!(
            "sync with nothing changed: {:.2} s, peak RSS {rss:.0} MiB; {}",
            wall.as_secs_f64(),
            out.trim()
        );
        db.run(|c| {
            c.batch_execute(&format!(
                "UPDATE accounts SET note = '<p>changed</p>', updated_at = strftime('%Y-%m-%d %H:%M:%f', 'now') WHERE id < {}",
                (1i64 << 45) + 100
            ))
            .map_err(DbError::from)
        })
        .await
        .unwrap();
        let peers = alpha.command("alpha").args(["admin", "directory", "list"]).output().unwrap();
        print!("{}", String::from_utf8_lossy(&peers.stdout));
        let (out, wall, rss) = measured(sync(&alpha));
        println!(
            "sync after 100 profiles changed: {:.2} s, peak RSS {rss:.0} MiB; {}",
            wall.as_secs_f64(),
            out.trim()
        );
    });
}
