//! Streaming fan-out of a real `meetfield serve` process (the release
//! binary): 1,000 WebSocket connections of 1,000 users who follow one
//! poster, each on its `user` stream. Prints the server's memory per
//! connection and the time from a post to the last client receiving it.
//! Asserts nothing.
//!
//!     cargo bench --bench streaming
//!     BENCH_DATABASE_URL=postgres://postgres@127.0.0.1/mfbench cargo bench --bench streaming
//!
//! The PostgreSQL database must be empty (it is migrated and filled).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use meetfield::db::models::{Account, Follow, NewAccount, NewUser, User};
use meetfield::db::{Db, DbOptions};
use meetfield::domain::oauth::{Scopes, issue_token};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

const CONNECTIONS: usize = 1000;
const POSTS: usize = 20;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_meetfield")
}

fn envs(port: u16, db_url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("MEETFIELD_DOMAIN", format!("bench.localhost:{port}")),
        ("MEETFIELD_BIND", format!("127.0.0.1:{port}")),
        ("MEETFIELD_DATABASE_URL", db_url.to_string()),
        ("MEETFIELD_LOG", "warn".into()),
    ]
}

fn cli(port: u16, db_url: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(bin())
        .envs(envs(port, db_url))
        .env_remove("MEETFIELD_CONFIG")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `CONNECTIONS` local users following alice, each with a token. They
/// share alice's key pair: generating 1,000 RSA keys would dominate the run.
async fn seed_viewers(db: &Db, port: u16) -> Vec<String> {
    let ids: Vec<i64> = db
        .transaction(move |c| {
            let alice = Account::local_by_username(c, "alice")?.unwrap();
            let mut ids = Vec::new();
            for i in 0..CONNECTIONS {
                let t = meetfield::db::now();
                let name = format!("viewer{i}");
                let base = format!("http://bench.localhost:{port}");
                let a = Account::insert(
                    c,
                    &NewAccount {
                        id: meetfield::db::id::next_id(),
                        username: name.clone(),
                        domain: None,
                        actor_type: "Person".into(),
                        uri: format!("{base}/users/{name}"),
                        url: Some(format!("{base}/@{name}")),
                        display_name: String::new(),
                        locked: false,
                        discoverable: false,
                        bot: false,
                        public_key_pem: alice.public_key_pem.clone(),
                        private_key_pem: alice.private_key_pem.clone(),
                        created_at: t,
                        updated_at: t,
                    },
                )?;
                let u = User::insert(
                    c,
                    &NewUser {
                        id: meetfield::db::id::next_id(),
                        account_id: a.id,
                        email: format!("{name}@bench.example"),
                        password_hash: "unusable".into(),
                        role: "user".into(),
                        approved: true,
                        confirmed_at: Some(t),
                        created_at: t,
                        updated_at: t,
                        sign_up_reason: None,
                        invite_id: None,
                    },
                )?;
                Follow::insert(c, a.id, alice.id, None, false)?;
                ids.push(u.id);
            }
            Ok::<_, meetfield::error::AppError>(ids)
        })
        .await
        .unwrap();
    let mut tokens = Vec::new();
    for id in ids {
        let (t, _) = issue_token(db, None, Some(id), Scopes::parse("read").unwrap())
            .await
            .unwrap();
        tokens.push(t);
    }
    tokens
}

/// Arrival times of each status id over all connections.
type Arrivals = Arc<Mutex<HashMap<String, (usize, Instant)>>>;

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

async fn run() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let db_url = std::env::var("BENCH_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}/bench.db", dir.path().display()));
    println!("database: {}", db_url.split(':').next().unwrap());
    cli(
        port,
        &db_url,
        &[
            "admin",
            "create-user",
            "alice",
            "--email",
            "a@b.example",
            "--generate-password",
        ],
    );
    let token = cli(port, &db_url, &["admin", "create-token", "alice"]);
    let token = token.lines().last().unwrap().trim().to_string();
    let db = Db::connect(
        &meetfield::config::DatabaseUrl::parse(&db_url).unwrap(),
        DbOptions::default(),
    )
    .await
    .unwrap();
    let tokens = seed_viewers(&db, port).await;
    db.close();

    let child = std::process::Command::new(bin())
        .arg("serve")
        .envs(envs(port, &db_url))
        .env_remove("MEETFIELD_CONFIG")
        .current_dir(dir.path())
        .spawn()
        .unwrap();
    let server = Server(child);
    let pid = server.0.id();
    let client = reqwest::Client::new();
    while client
        .get(format!("http://127.0.0.1:{port}/health"))
        .send()
        .await
        .map(|r| r.status() != 200)
        .unwrap_or(true)
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // One warm-up post and connection so lazily built state is counted idle.
    let mut warm = open(port, &tokens[0]).await;
    post(&client, port, &token, "warm-up").await;
    let _ = tokio::time::timeout(Duration::from_secs(5), warm.next()).await;
    drop(warm);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = rss_kib(pid);
    println!("server RSS idle: {:.1} MiB", idle as f64 / 1024.0);

    let arrivals: Arrivals = Arc::default();
    let started = Instant::now();
    let mut readers = Vec::new();
    for t in &tokens {
        let ws = open(port, t).await;
        let arrivals = arrivals.clone();
        readers.push(tokio::spawn(read(ws, arrivals)));
    }
    println!(
        "{CONNECTIONS} WebSocket connections opened in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let connected = rss_kib(pid);
    println!(
        "server RSS with {CONNECTIONS} connections: {:.1} MiB ({:.1} KiB per connection)",
        connected as f64 / 1024.0,
        (connected.saturating_sub(idle)) as f64 / CONNECTIONS as f64
    );

    let mut times = Vec::new();
    let mut peak = connected;
    for i in 0..POSTS {
        let t0 = Instant::now();
        let id = post(&client, port, &token, &format!("announcement {i}")).await;
        loop {
            let done = arrivals
                .lock()
                .unwrap()
                .get(&id)
                .filter(|(n, _)| *n == CONNECTIONS)
                .map(|(_, last)| *last);
            if let Some(last) = done {
                times.push(last - t0);
                break;
            }
            peak = peak.max(rss_kib(pid));
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "post {i} did not reach every client"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "post to last of {CONNECTIONS} clients ({POSTS} posts, one at a time): median {:.0} ms, max {:.0} ms, min {:.0} ms",
        ms(times[POSTS / 2]),
        ms(times[POSTS - 1]),
        ms(times[0])
    );
    println!(
        "server RSS peak while streaming: {:.1} MiB",
        peak as f64 / 1024.0
    );
    for r in readers {
        r.abort();
    }
    drop(server);
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn open(port: u16, token: &str) -> Socket {
    let url = format!("ws://127.0.0.1:{port}/api/v1/streaming?stream=user&access_token={token}");
    tokio_tungstenite::connect_async(url).await.unwrap().0
}

async fn read(mut ws: Socket, arrivals: Arrivals) {
    while let Some(Ok(m)) = ws.next().await {
        let Message::Text(t) = m else { continue };
        let at = Instant::now();
        let v: Value = serde_json::from_str(&t).unwrap();
        if v["event"] != "update" {
            continue;
        }
        let status: Value = serde_json::from_str(v["payload"].as_str().unwrap()).unwrap();
        let id = status["id"].as_str().unwrap().to_string();
        let mut a = arrivals.lock().unwrap();
        let e = a.entry(id).or_insert((0, at));
        e.0 += 1;
        e.1 = e.1.max(at);
    }
}

async fn post(client: &reqwest::Client, port: u16, token: &str, text: &str) -> String {
    let r = client
        .post(format!("http://127.0.0.1:{port}/api/v1/statuses"))
        .bearer_auth(token)
        .json(&json!({ "status": text }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}
