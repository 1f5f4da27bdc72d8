//! Three instances as separate `meetfield serve` processes, driven only
//! through the command line and the client API over HTTP, as admins and
//! apps drive them. One instance is killed with SIGKILL and restarted.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use crate::common::{Backend, TestDb, free_port};
use crate::harness::{eventually, http};
use crate::process::{ServerProcess, admin};

struct Node {
    name: &'static str,
    dir: tempfile::TempDir,
    port: u16,
    envs: Vec<(&'static str, String)>,
    server: Option<ServerProcess>,
    _db: Option<TestDb>,
}

impl Node {
    fn new(name: &'static str, backend: Backend) -> Node {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut envs = vec![
            ("MEETFIELD_DOMAIN", format!("{name}.localhost:{port}")),
            ("MEETFIELD_FEDERATION_INSECURE_LOCAL", "true".to_string()),
            ("MEETFIELD_LOG", "warn".to_string()),
        ];
        let db = (backend == Backend::Postgres).then(|| TestDb::new(Backend::Postgres));
        if let Some(db) = &db {
            envs.push(("MEETFIELD_DATABASE_URL", db.url_string.clone()));
        }
        Node {
            name,
            dir,
            port,
            envs,
            server: None,
            _db: db,
        }
    }

    fn domain(&self) -> String {
        format!("{}.localhost:{}", self.name, self.port)
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn workdir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    fn cli(&self, args: &[&str]) -> String {
        let out = admin(&self.workdir(), &self.envs, args);
        assert!(
            out.status.success(),
            "{} {args:?}: {}",
            self.name,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Creates a user and returns an API token for it.
    fn user(&self, name: &str) -> String {
        self.cli(&[
            "admin",
            "create-user",
            name,
            "--email",
            &format!("{name}@{}.example", self.name),
            "--generate-password",
        ]);
        let out = self.cli(&[
            "admin",
            "create-token",
            name,
            "--scopes",
            "read write follow",
        ]);
        out.lines().last().unwrap().trim().to_string()
    }

    async fn start(&mut self) {
        let mut s = ServerProcess::start_on(&self.workdir(), self.port, &self.envs);
        s.wait_healthy(Duration::from_secs(30)).await;
        self.server = Some(s);
    }

    fn kill9(&mut self) {
        if let Some(mut s) = self.server.take() {
            s.signal(nix::sys::signal::Signal::SIGKILL);
            s.wait_exit(Duration::from_secs(10));
        }
    }

    async fn get(&self, path: &str, token: &str) -> Value {
        http()
            .get(format!("{}{path}", self.base()))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn post(&self, path: &str, token: &str, form: &[(&str, &str)]) -> Value {
        let res = http()
            .post(format!("{}{path}", self.base()))
            .bearer_auth(token)
            .form(form)
            .send()
            .await
            .unwrap();
        let status = res.status();
        let v: Value = res.json().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {v}");
        v
    }

    /// The id of `handle` here, looked up through WebFinger by the API.
    async fn resolve(&self, token: &str, handle: &str) -> String {
        let v = self
            .get(
                &format!("/api/v2/search?type=accounts&resolve=true&q={handle}"),
                token,
            )
            .await;
        v["accounts"][0]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{handle} not found: {v}"))
            .to_string()
    }
}

async fn scenario(backend: Backend) {
    let mut alpha = Node::new("alpha", backend);
    let mut beta = Node::new("beta", backend);
    let mut gamma = Node::new("gamma", backend);
    // alpha and beta are partners; gamma is known to no one.
    alpha.cli(&["admin", "domain", "allow", &beta.domain()]);
    beta.cli(&["admin", "domain", "allow", &alpha.domain()]);
    gamma.cli(&["admin", "domain", "allow", &alpha.domain()]);
    let alice = alpha.user("alice");
    let bob = beta.user("bob");
    let dave = gamma.user("dave");
    for n in [&mut alpha, &mut beta, &mut gamma] {
        n.start().await;
    }

    // alice follows bob across instances, through the API only.
    let bob_id = alpha
        .resolve(&alice, &format!("bob@{}", beta.domain()))
        .await;
    alpha
        .post(&format!("/api/v1/accounts/{bob_id}/follow"), &alice, &[])
        .await;
    eventually("alice follows bob", || async {
        alpha
            .get(
                &format!("/api/v1/accounts/relationships?id[]={bob_id}"),
                &alice,
            )
            .await[0]["following"]
            == true
    })
    .await;

    // bob mentions alice; it reaches her home timeline.
    let post = beta
        .post(
            "/api/v1/statuses",
            &bob,
            &[("status", &format!("@alice@{} agenda is up", alpha.domain()))],
        )
        .await;
    let post_uri = post["uri"].as_str().unwrap().to_string();
    eventually("bob's post on alice's home", || async {
        alpha
            .get("/api/v1/timelines/home", &alice)
            .await
            .as_array()
            .is_some_and(|a| a.iter().any(|s| s["uri"] == post_uri.as_str()))
    })
    .await;
    let home = alpha.get("/api/v1/timelines/home", &alice).await;
    let local_copy = home
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["uri"] == post_uri.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        local_copy["account"]["acct"],
        format!("bob@{}", beta.domain())
    );
    assert_eq!(local_copy["mentions"][0]["acct"], "alice");

    // alice replies; the reply threads under bob's post on beta.
    let reply = alpha
        .post(
            "/api/v1/statuses",
            &alice,
            &[
                ("status", "thanks, see you there"),
                ("in_reply_to_id", local_copy["id"].as_str().unwrap()),
            ],
        )
        .await;
    let reply_uri = reply["uri"].as_str().unwrap().to_string();
    let bob_post_id = post["id"].as_str().unwrap().to_string();
    eventually("the reply under bob's post on beta", || async {
        beta.get(&format!("/api/v1/statuses/{bob_post_id}/context"), &bob)
            .await["descendants"]
            .as_array()
            .is_some_and(|d| d.iter().any(|s| s["uri"] == reply_uri.as_str()))
    })
    .await;

    // gamma is not alpha's partner: its follow never takes.
    let alice_at_gamma = gamma
        .resolve(&dave, &format!("alice@{}", alpha.domain()))
        .await;
    gamma
        .post(
            &format!("/api/v1/accounts/{alice_at_gamma}/follow"),
            &dave,
            &[],
        )
        .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let rel = gamma
        .get(
            &format!("/api/v1/accounts/relationships?id[]={alice_at_gamma}"),
            &dave,
        )
        .await;
    assert_eq!(rel[0]["following"], false);
    assert_eq!(rel[0]["requested"], true);
    let lookup = alpha
        .get(
            &format!("/api/v1/accounts/lookup?acct=dave@{}", gamma.domain()),
            &alice,
        )
        .await;
    assert!(
        lookup["error"].is_string(),
        "alpha stored nothing of gamma: {lookup}"
    );

    // bob follows alice back, then beta dies without warning and comes back
    // on the same data.
    let alice_at_beta = beta
        .resolve(&bob, &format!("alice@{}", alpha.domain()))
        .await;
    beta.post(
        &format!("/api/v1/accounts/{alice_at_beta}/follow"),
        &bob,
        &[],
    )
    .await;
    eventually("bob follows alice", || async {
        beta.get(
            &format!("/api/v1/accounts/relationships?id[]={alice_at_beta}"),
            &bob,
        )
        .await[0]["following"]
            == true
    })
    .await;
    beta.kill9();
    beta.start().await;
    let rel = beta.get("/api/v1/timelines/home", &bob).await;
    assert!(
        rel.as_array()
            .unwrap()
            .iter()
            .any(|s| s["uri"] == post["uri"]),
        "bob's post survived SIGKILL"
    );
    let rel = beta
        .get(
            &format!("/api/v1/accounts/relationships?id[]={alice_at_beta}"),
            &bob,
        )
        .await;
    assert_eq!(rel[0]["following"], true, "the follow survived SIGKILL");
    let again = alpha
        .post("/api/v1/statuses", &alice, &[("status", "back online?")])
        .await;
    let again_uri = again["uri"].as_str().unwrap().to_string();
    eventually("the restarted beta receives new posts", || async {
        beta.get("/api/v1/timelines/home", &bob)
            .await
            .as_array()
            .is_some_and(|a| a.iter().any(|s| s["uri"] == again_uri.as_str()))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_processes_over_the_api_sqlite() {
    scenario(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_processes_over_the_api_postgres() {
    scenario(Backend::Postgres).await;
}
