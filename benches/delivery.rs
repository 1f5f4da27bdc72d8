//! Delivery and inbox throughput of a real `meetfield serve` process (the
//! release binary), against partner inboxes served by this program on
//! loopback with chosen latencies. Prints numbers; asserts nothing.
//!
//!     cargo bench --bench delivery
//!     BENCH_DATABASE_URL=postgres://postgres@127.0.0.1/mfbench cargo bench --bench delivery
//!
//! The PostgreSQL database must be empty (it is migrated and filled).
//! Phases: the machine's RSA-2048 signing limit; one post to 1,000
//! followers on 50 instances answering after 50 ms; sustained fan-out
//! (20,000 deliveries, partners answering at once); a backlog of 10,000
//! activities to one instance answering after 150 ms; signed activities
//! posted to our inbox by 8 clients; a partner feed of 50 public posts/s
//! for a minute (BENCH_FEED_RATE, BENCH_FEED_SECS), open loop. RSS of the
//! server idle and per phase.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use base64::Engine;
use diesel::prelude::*;
use http_signature_normalization_reqwest::prelude::{Config as SigConfig, SignExt};
use meetfield::db::models::{Account, Follow, NewAccount};
use meetfield::db::{Db, DbOptions};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::{Pkcs1v15Sign, RsaPrivateKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A partner: counts distinct activities received; answers after `delay`.
#[derive(Clone)]
struct Partner {
    host: String,
    seen: Arc<Mutex<HashSet<String>>>,
    count: Arc<AtomicUsize>,
    delay_ms: Arc<AtomicU64>,
}

async fn partner_inbox(
    State(p): State<Partner>,
    axum::extract::Path(name): axum::extract::Path<String>,
    body: String,
) -> StatusCode {
    let d = p.delay_ms.load(Ordering::Relaxed);
    if d > 0 {
        tokio::time::sleep(Duration::from_millis(d)).await;
    }
    let id = serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| v["id"].as_str().map(str::to_string))
        .unwrap_or_default();
    if p.seen.lock().unwrap().insert(format!("{name} {id}")) {
        p.count.fetch_add(1, Ordering::Relaxed);
    }
    StatusCode::ACCEPTED
}

async fn start_partner(name: &str, delay_ms: u64) -> Partner {
    let port = free_port();
    let p = Partner {
        host: format!("{name}.localhost:{port}"),
        seen: Arc::default(),
        count: Arc::default(),
        delay_ms: Arc::new(AtomicU64::new(delay_ms)),
    };
    let app = Router::new()
        .route("/users/{name}/inbox", post(partner_inbox))
        .with_state(p.clone());
    let l = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    p
}

/// User plus system CPU seconds of a process, from `/proc/…/stat`.
fn cpu_secs(stat: &str) -> f64 {
    let text = std::fs::read_to_string(stat).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at ")".
    let rest = text.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 (11 and 12 after the state).
    // SAFETY: sysconf only reads a constant of the system.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    (ticks(11) + ticks(12)) / hz
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

/// Samples the server's RSS every 50 ms; returns the peak since `reset`.
#[derive(Clone)]
struct RssPeak(Arc<AtomicU64>);

impl RssPeak {
    fn start(pid: u32) -> RssPeak {
        let peak = RssPeak(Arc::default());
        let p = peak.clone();
        tokio::spawn(async move {
            loop {
                p.0.fetch_max(rss_kib(pid), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        peak
    }
    fn take(&self) -> f64 {
        self.0.swap(0, Ordering::Relaxed) as f64 / 1024.0
    }
}

fn signing_limit() -> (f64, f64) {
    let key = RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
    let sign = |key: &RsaPrivateKey, n: usize| {
        for i in 0..n {
            let digest = Sha256::digest(format!("(request-target): post /inbox {i}").as_bytes());
            key.sign(Pkcs1v15Sign::new::<Sha256>(), &digest).unwrap();
        }
    };
    let n = 1000;
    let t = Instant::now();
    sign(&key, n);
    let one = n as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..2 {
            let k = key.clone();
            s.spawn(move || sign(&k, n));
        }
    });
    let two = (2 * n) as f64 / t.elapsed().as_secs_f64();
    (one, two)
}

/// The same signatures with aws-lc-rs (what deliveries use), on one core
/// and on two.
fn aws_lc_signing() -> (f64, f64) {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
    let key = RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
    let der = key.to_pkcs8_der().unwrap();
    let pair = RsaKeyPair::from_pkcs8(der.as_bytes()).unwrap();
    let sign = |pair: &RsaKeyPair, n: usize| {
        let rng = SystemRandom::new();
        let mut sig = vec![0u8; pair.public_modulus_len()];
        for i in 0..n {
            pair.sign(
                &RSA_PKCS1_SHA256,
                &rng,
                format!("(request-target): post /inbox {i}").as_bytes(),
                &mut sig,
            )
            .unwrap();
        }
    };
    let n = 4000;
    let t = Instant::now();
    sign(&pair, n);
    let one = n as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| sign(&pair, n));
        }
    });
    (one, (2 * n) as f64 / t.elapsed().as_secs_f64())
}

async fn wait_count(partners: &[Partner], target: usize, limit: Duration) -> Duration {
    let t = Instant::now();
    loop {
        let n: usize = partners
            .iter()
            .map(|p| p.count.load(Ordering::Relaxed))
            .sum();
        if n >= target || t.elapsed() > limit {
            if n < target {
                println!("  (only {n} of {target} after {limit:?})");
            }
            return t.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

struct Server {
    child: std::process::Child,
    port: u16,
    domain: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_meetfield")
}

fn envs(port: u16, db_url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("MEETFIELD_DOMAIN", format!("bench.localhost:{port}")),
        ("MEETFIELD_BIND", format!("127.0.0.1:{port}")),
        ("MEETFIELD_DATABASE_URL", db_url.to_string()),
        ("MEETFIELD_FEDERATION_INSECURE_LOCAL", "true".into()),
        ("MEETFIELD_FEDERATION_MODE", "open".into()),
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

async fn open_db(url: &str) -> Db {
    let u = meetfield::config::DatabaseUrl::parse(url).unwrap();
    Db::connect(&u, DbOptions::default()).await.unwrap()
}

/// Remote accounts following alice, one per inbox.
async fn add_followers(db: &Db, inboxes: Vec<String>) {
    db.transaction(move |c| {
        use meetfield::db::schema::accounts;
        let alice = Account::local_by_username(c, "alice")?.unwrap();
        for (i, inbox) in inboxes.iter().enumerate() {
            let u = url::Url::parse(inbox).unwrap();
            let t = meetfield::db::now();
            let a = Account::insert(
                c,
                &NewAccount {
                    id: meetfield::db::id::next_id(),
                    username: format!("f{i}"),
                    domain: Some(format!("{}:{}", u.host_str().unwrap(), u.port().unwrap())),
                    actor_type: "Person".into(),
                    uri: inbox.trim_end_matches("/inbox").into(),
                    url: None,
                    display_name: String::new(),
                    locked: false,
                    discoverable: false,
                    bot: false,
                    public_key_pem: None,
                    private_key_pem: None,
                    created_at: t,
                    updated_at: t,
                },
            )?;
            diesel::update(accounts::table.find(a.id))
                .set(accounts::inbox_url.eq(inbox))
                .execute(c)?;
            Follow::insert(c, a.id, alice.id, None, false)?;
        }
        Ok::<_, meetfield::error::AppError>(())
    })
    .await
    .unwrap();
}

async fn post_status(client: &reqwest::Client, port: u16, token: &str, text: &str) {
    let r = client
        .post(format!("http://127.0.0.1:{port}/api/v1/statuses"))
        .bearer_auth(token)
        .json(&json!({ "status": text }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// A remote actor served here, whose signed activities we post to the
/// server's inbox.
async fn start_remote_actor() -> (String, RsaPrivateKey) {
    let key = RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
    let public = key
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    let port = free_port();
    let host = format!("remote.localhost:{port}");
    let id = format!("http://{host}/users/remote");
    let actor = json!({
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": id, "type": "Person", "preferredUsername": "remote",
        "inbox": format!("{id}/inbox"),
        "publicKey": { "id": format!("{id}#main-key"), "owner": id, "publicKeyPem": public }
    });
    let app = Router::new()
        .route(
            "/users/remote",
            get(move || {
                let a = actor.clone();
                async move {
                    (
                        [("content-type", "application/activity+json")],
                        a.to_string(),
                    )
                }
            }),
        )
        // Pages the partner's posts link to (their preview cards).
        .route(
            "/page/{n}",
            get(|axum::extract::Path(n): axum::extract::Path<u32>| async move {
                axum::response::Html(format!(
                    "<html><head><title>Page {n}</title><meta property=\"og:description\" content=\"About {n}\"></head><body>{}</body></html>",
                    "text ".repeat(2000)
                ))
            }),
        );
    let l = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (id, key)
}

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
    let (one, rsa_two) = signing_limit();
    println!(
        "RSA-2048 signing, rsa crate (the federation library's fetches): {one:.0}/s on one core, {rsa_two:.0}/s on two"
    );
    let (fast_one, two) = aws_lc_signing();
    println!(
        "RSA-2048 signing limit, aws-lc-rs (our deliveries): {fast_one:.0}/s on one core, {two:.0}/s on two ({:.1}x the rsa crate)",
        fast_one / one
    );

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

    let mut partners = Vec::new();
    for i in 0..50 {
        partners.push(start_partner(&format!("p{i}"), 50).await);
    }
    let inboxes: Vec<String> = partners
        .iter()
        .flat_map(|p| (0..20).map(move |i| format!("http://{}/users/f{i}/inbox", p.host)))
        .collect();
    let db = open_db(&db_url).await;
    add_followers(&db, inboxes).await;
    // Alice follows #ops: the partner feed phase's posts carry it.
    db.transaction(|c| {
        let alice = Account::local_by_username(c, "alice")?.expect("alice");
        meetfield::domain::tags::follow(c, alice.id, "ops")
    })
    .await
    .unwrap();

    let child = std::process::Command::new(bin())
        .arg("serve")
        .envs(envs(port, &db_url))
        .env_remove("MEETFIELD_CONFIG")
        .current_dir(dir.path())
        .spawn()
        .unwrap();
    let server = Server {
        child,
        port,
        domain: format!("bench.localhost:{port}"),
        _dir: dir,
    };
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
    tokio::time::sleep(Duration::from_secs(1)).await;
    let pid = server.child.id();
    println!("server RSS idle: {:.1} MiB", rss_kib(pid) as f64 / 1024.0);
    let peak = RssPeak::start(pid);

    // One post to 1,000 followers on 50 instances answering after 50 ms.
    let t = Instant::now();
    post_status(&client, port, &token, "fan-out").await;
    let took = wait_count(&partners, 1000, Duration::from_secs(60)).await;
    println!(
        "fan-out: 1 post to 1,000 followers on 50 instances (50 ms answers): last delivery after {:.0} ms (post request included: {:.0} ms); RSS peak {:.1} MiB",
        took.as_secs_f64() * 1e3,
        t.elapsed().as_secs_f64() * 1e3,
        peak.take()
    );

    // Sustained: 20 posts = 20,000 deliveries, partners answering at once.
    for p in &partners {
        p.delay_ms.store(0, Ordering::Relaxed);
    }
    let t = Instant::now();
    let (server_cpu0, bench_cpu0) = (
        cpu_secs(&format!("/proc/{pid}/stat")),
        cpu_secs("/proc/self/stat"),
    );
    for i in 0..20 {
        post_status(&client, port, &token, &format!("sustained {i}")).await;
    }
    wait_count(&partners, 21_000, Duration::from_secs(300)).await;
    let rate = 20_000.0 / t.elapsed().as_secs_f64();
    let server_cpu = cpu_secs(&format!("/proc/{pid}/stat")) - server_cpu0;
    let bench_cpu = cpu_secs("/proc/self/stat") - bench_cpu0;
    println!(
        "sustained: 20,000 deliveries at {rate:.0}/s = {:.0} % of the two-core signing limit; RSS peak {:.1} MiB",
        100.0 * rate / two,
        peak.take()
    );
    // Where the two cores went: the server's CPU per delivery (signing is
    // one part of it) and the partners' and load generator's share.
    let per = server_cpu / 20_000.0 * 1e6;
    println!(
        "  CPU: server {server_cpu:.1} s ({per:.0} µs per delivery, of which signing {:.0} µs), partners and bench {bench_cpu:.1} s; \
         the server alone on two cores would sustain about {:.0}/s = {:.0} % of the signing limit",
        1e6 / fast_one,
        2e6 / per,
        100.0 * (2e6 / per) / two
    );

    // Backlog: 10,000 activities to one instance answering after 150 ms.
    let slow = start_partner("slow", 150).await;
    let alice_id = db
        .run(|c| {
            Ok::<_, meetfield::error::AppError>(Account::local_by_username(c, "alice")?.unwrap().id)
        })
        .await
        .unwrap();
    let inbox = format!("http://{}/users/f0/inbox", slow.host);
    let t = Instant::now();
    // In chunks, retried: the server writes to the same SQLite file.
    for chunk in 0..10 {
        loop {
            let inbox = inbox.clone();
            let r = db
                .transaction(move |c| {
                    for i in chunk * 1000..(chunk + 1) * 1000 {
                        let a = json!({
                            "@context": "https://www.w3.org/ns/activitystreams",
                            "id": format!("http://bench.localhost/backlog/{i}"),
                            "type": "Update",
                            "actor": format!("http://bench.localhost:{port}/users/alice"),
                            "object": format!("http://bench.localhost:{port}/users/alice"),
                        });
                        meetfield::delivery::enqueue(
                            c,
                            alice_id,
                            &a,
                            std::slice::from_ref(&inbox),
                        )?;
                    }
                    Ok::<_, meetfield::error::AppError>(())
                })
                .await;
            if r.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let queued = t.elapsed();
    let slow_list = [slow.clone()];
    let took = wait_count(&slow_list, 10_000, Duration::from_secs(300)).await;
    println!(
        "backlog: 10,000 activities to one instance (150 ms answers): {:.0}/s (queued in {:.1}s); RSS peak {:.1} MiB",
        10_000.0 / took.as_secs_f64(),
        queued.as_secs_f64(),
        peak.take()
    );
    db.close();

    // Inbox: signed Creates from a remote actor, 8 clients.
    let (actor, key) = start_remote_actor().await;
    let key_pem = key.to_pkcs8_pem(LineEnding::LF).unwrap().to_string();
    let n = 4000;
    let sig = SigConfig::new()
        .mastodon_compat()
        .set_expiration(Duration::from_secs(3600));
    let key = std::sync::Arc::new(RsaPrivateKey::from_pkcs8_pem(&key_pem).unwrap());
    let inbox_url = format!("http://127.0.0.1:{}/inbox", server.port);
    let notes = (0..n)
        .map(|i| {
            json!({
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": format!("{actor}/activities/{i}"),
                "type": "Create",
                "actor": actor,
                "to": ["https://www.w3.org/ns/activitystreams#Public"],
                "object": {
                    "id": format!("{actor}/notes/{i}"), "type": "Note", "attributedTo": actor,
                    "content": format!("<p>note {i}</p>"),
                    "to": ["https://www.w3.org/ns/activitystreams#Public"],
                    "published": "2026-11-22T10:00:00Z"
                }
            })
        })
        .collect();
    let mut requests = sign_all(
        &client,
        &sig,
        &actor,
        &key,
        &inbox_url,
        &server.domain,
        notes,
    )
    .await;
    // The first one fetches the actor; not timed.
    let first = requests.remove(0);
    let r = client.execute(first).await.unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let queue = Arc::new(Mutex::new(requests));
    let lat = Arc::new(Mutex::new(Vec::new()));
    let t = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (q, l, c) = (queue.clone(), lat.clone(), client.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let Some(req) = q.lock().unwrap().pop() else {
                    break;
                };
                let s = Instant::now();
                // A kept-alive connection the server just closed fails the
                // send; the request is sent again on a fresh one.
                let again = req.try_clone();
                let r = match c.execute(req).await {
                    Ok(r) => r,
                    Err(e) => {
                        eprintln!("resending after: {e}");
                        c.execute(again.expect("bytes body")).await.unwrap()
                    }
                };
                assert!(r.status().is_success(), "{}", r.status());
                l.lock().unwrap().push(s.elapsed());
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let wall = t.elapsed();
    let mut lat = lat.lock().unwrap().clone();
    lat.sort();
    println!(
        "inbox: {} signed activities by 8 clients: {:.0}/s; p50 {:.2} ms, p99 {:.2} ms; RSS peak {:.1} MiB",
        lat.len(),
        lat.len() as f64 / wall.as_secs_f64(),
        lat[lat.len() / 2].as_secs_f64() * 1e3,
        lat[(lat.len() as f64 * 0.99) as usize].as_secs_f64() * 1e3,
        peak.take()
    );

    // Partner feed: a partner posting public posts at a steady rate (open
    // loop: a slow answer does not slow the sender), tagged #ops (followed
    // here), every other one with a link to a page of its own (a card to
    // fetch). Latency per 10 s window shows whether a backlog builds.
    let rate: usize = std::env::var("BENCH_FEED_RATE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let secs: usize = std::env::var("BENCH_FEED_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let actor_host = url::Url::parse(&actor).unwrap();
    let actor_host = format!(
        "{}:{}",
        actor_host.host_str().unwrap(),
        actor_host.port().unwrap()
    );
    let notes = (0..rate * secs)
        .map(|i| {
            let link = if i % 2 == 0 {
                format!(" <a href=\"http://{actor_host}/page/{i}\">page {i}</a>")
            } else {
                String::new()
            };
            json!({
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": format!("{actor}/feed/{i}/activity"),
                "type": "Create",
                "actor": actor,
                "to": ["https://www.w3.org/ns/activitystreams#Public"],
                "object": {
                    "id": format!("{actor}/feed/{i}"), "type": "Note", "attributedTo": actor,
                    "content": format!("<p>update {i} <a href=\"http://{actor_host}/tags/ops\" class=\"mention hashtag\" rel=\"tag\">#ops</a>{link}</p>"),
                    "tag": [{"type": "Hashtag", "name": "#ops", "href": format!("http://{actor_host}/tags/ops")}],
                    "to": ["https://www.w3.org/ns/activitystreams#Public"],
                    "published": "2026-11-22T10:00:00Z"
                }
            })
        })
        .collect();
    let t = Instant::now();
    let requests = sign_all(
        &client,
        &sig,
        &actor,
        &key,
        &inbox_url,
        &server.domain,
        notes,
    )
    .await;
    println!(
        "partner feed: {} activities signed in {:.1} s; sending {rate}/s for {secs} s",
        requests.len(),
        t.elapsed().as_secs_f64()
    );
    let in_flight = Arc::new(AtomicUsize::new(0));
    let max_in_flight = Arc::new(AtomicUsize::new(0));
    let start = tokio::time::Instant::now();
    let mut tasks = Vec::new();
    let mut late = Duration::ZERO;
    for (i, req) in requests.into_iter().enumerate() {
        let due = start + Duration::from_secs_f64(i as f64 / rate as f64);
        tokio::time::sleep_until(due).await;
        late = late.max(due.elapsed());
        let (c, f, m) = (client.clone(), in_flight.clone(), max_in_flight.clone());
        tasks.push(tokio::spawn(async move {
            let n = f.fetch_add(1, Ordering::SeqCst) + 1;
            m.fetch_max(n, Ordering::SeqCst);
            let s = Instant::now();
            let again = req.try_clone();
            let r = match c.execute(req).await {
                Ok(r) => r,
                Err(_) => c.execute(again.expect("bytes body")).await.unwrap(),
            };
            assert!(r.status().is_success(), "{}", r.status());
            f.fetch_sub(1, Ordering::SeqCst);
            (i, s.elapsed())
        }));
    }
    let mut windows: Vec<Vec<Duration>> = vec![Vec::new(); secs.div_ceil(10)];
    let mut all = Vec::new();
    for t in tasks {
        let (i, d) = t.await.unwrap();
        windows[i / rate / 10].push(d);
        all.push(d);
    }
    let wall = start.elapsed();
    all.sort();
    let pct = |v: &[Duration], p: f64| v[((v.len() as f64 * p) as usize).min(v.len() - 1)];
    println!(
        "partner feed: {} posts in {:.1} s ({:.1}/s); inbox p50 {:.2} ms, p99 {:.2} ms, max {:.1} ms; at most {} requests in flight; sender at most {:.1} ms late; RSS peak {:.1} MiB",
        all.len(),
        wall.as_secs_f64(),
        all.len() as f64 / wall.as_secs_f64(),
        pct(&all, 0.5).as_secs_f64() * 1e3,
        pct(&all, 0.99).as_secs_f64() * 1e3,
        all.last().unwrap().as_secs_f64() * 1e3,
        max_in_flight.load(Ordering::SeqCst),
        late.as_secs_f64() * 1e3,
        peak.take()
    );
    let per_window: Vec<String> = windows
        .iter_mut()
        .map(|w| {
            w.sort();
            format!("{:.1}", pct(w, 0.99).as_secs_f64() * 1e3)
        })
        .collect();
    println!("  p99 per 10 s window (ms): {}", per_window.join(", "));
    // What is left behind: link cards still to fetch, seconds after.
    let db = open_db(&db_url).await;
    for wait in [0u64, 5] {
        tokio::time::sleep(Duration::from_secs(wait)).await;
        let pattern = format!("{actor}/feed/%");
        let (stored, pending, ready) = db
            .run(move |c| {
                use meetfield::db::schema::{preview_cards as pc, statuses};
                let stored: i64 = statuses::table
                    .filter(statuses::uri.like(pattern))
                    .count()
                    .get_result(c)?;
                let pending: i64 = pc::table
                    .filter(pc::state.eq("pending"))
                    .count()
                    .get_result(c)?;
                let ready: i64 = pc::table
                    .filter(pc::state.eq("ready"))
                    .count()
                    .get_result(c)?;
                Ok::<_, meetfield::db::DbError>((stored, pending, ready))
            })
            .await
            .unwrap();
        println!(
            "  {wait} s after the last post: {stored} feed posts stored, link cards {ready} ready, {pending} pending"
        );
    }
    db.close();
}

/// Requests posting `activities` to `inbox_url`, signed as `actor`.
async fn sign_all(
    client: &reqwest::Client,
    sig: &SigConfig,
    actor: &str,
    key: &Arc<RsaPrivateKey>,
    inbox_url: &str,
    host: &str,
    activities: Vec<Value>,
) -> Vec<reqwest::Request> {
    let mut requests = Vec::with_capacity(activities.len());
    for a in activities {
        let k = key.clone();
        let req = client
            .post(inbox_url)
            .header("content-type", "application/activity+json")
            .header("host", host)
            .header(
                "date",
                httpdate::fmt_http_date(std::time::SystemTime::now()),
            )
            .signature_with_digest(
                sig.clone(),
                format!("{actor}#main-key"),
                Sha256::new(),
                a.to_string(),
                move |s| {
                    let sig =
                        k.sign(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(s.as_bytes()))?;
                    Ok::<_, SignErr>(base64::engine::general_purpose::STANDARD.encode(sig))
                },
            )
            .await
            .unwrap();
        requests.push(req);
    }
    requests
}

#[derive(Debug)]
struct SignErr;

impl From<rsa::Error> for SignErr {
    fn from(_: rsa::Error) -> Self {
        SignErr
    }
}
impl From<http_signature_normalization_reqwest::SignError> for SignErr {
    fn from(_: http_signature_normalization_reqwest::SignError) -> Self {
        SignErr
    }
}
impl From<reqwest::Error> for SignErr {
    fn from(_: reqwest::Error) -> Self {
        SignErr
    }
}
