//! Several Meetfield instances in one test process, each with its own
//! database, host name (`alpha.localhost:PORT`, …), HTTP listener and
//! delivery worker, talking over real HTTP with real signatures.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use meetfield::app::App;
use meetfield::config::{Config, FederationMode};
use meetfield::db::models::{Account, Role};
use meetfield::domain::policy::{PolicyKind, set_domain_policy};
use meetfield::domain::users::{NewLocalUser, create_local_user};
use meetfield::error::AppError;
use meetfield::federation::FedData;
use meetfield::federation::client::LocalDevResolver;

use crate::common::{Backend, TestDb};

pub struct Instance {
    pub name: String,
    pub domain: String,
    pub base: String,
    pub app: App,
    /// Kept for its lifetime: the database is dropped with the instance.
    _tdb: TestDb,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    stop_worker: tokio::sync::watch::Sender<bool>,
}

/// A client that reaches `*.localhost` instances on loopback.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .dns_resolver(Arc::new(LocalDevResolver))
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

impl Instance {
    pub async fn start(name: &str, backend: Backend, mode: FederationMode) -> Instance {
        Self::start_with(name, backend, mode, |_| {}).await
    }

    /// Starts with extra configuration applied by `tweak`.
    pub async fn start_with(
        name: &str,
        backend: Backend,
        mode: FederationMode,
        tweak: impl FnOnce(&mut Config),
    ) -> Instance {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let domain = format!("{name}.localhost:{port}");
        let tdb = TestDb::new(backend);
        let mut config = Config {
            domain: domain.clone(),
            bind: format!("127.0.0.1:{port}"),
            federation_mode: mode,
            federation_insecure_local: true,
            ..tdb.config()
        };
        tweak(&mut config);
        let db = tdb.open().await;
        let app = App::new(config, db).await.expect("app");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(meetfield::server::serve_until(
            listener,
            app.router(),
            async {
                let _ = stopped.await;
            },
            Duration::from_secs(1),
        ));
        let (stop_worker, worker_stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(meetfield::delivery::run_worker(
            app.federation.clone(),
            worker_stopped.clone(),
        ));
        tokio::spawn(meetfield::jobs::run(app.federation.clone(), worker_stopped));
        Instance {
            name: name.to_string(),
            base: format!("http://{domain}"),
            domain,
            app,
            _tdb: tdb,
            stop: Some(stop),
            stop_worker,
        }
    }

    pub fn data(&self) -> FedData {
        self.app.data()
    }

    pub async fn create_user(&self, username: &str) -> Account {
        let (_, account) = create_local_user(
            &self.app.state.db,
            &self.app.state.config,
            NewLocalUser {
                username: username.into(),
                email: format!("{username}@{}.example", self.name),
                password: "correct horse battery".into(),
                role: Role::User,
            },
        )
        .await
        .expect("create user");
        account
    }

    /// Lets `other`'s host federate with this instance.
    pub async fn allow(&self, other: &Instance) {
        set_domain_policy(&self.app.state.db, &other.domain, PolicyKind::Allow, "")
            .await
            .unwrap();
        self.app.state.policy.invalidate();
    }

    pub async fn block(&self, other: &Instance) {
        set_domain_policy(&self.app.state.db, &other.domain, PolicyKind::Block, "")
            .await
            .unwrap();
        self.app.state.policy.invalidate();
    }

    /// `user@host` handle of a local user here.
    pub fn handle(&self, username: &str) -> String {
        format!("{username}@{}", self.domain)
    }

    /// Runs a read on this instance's database.
    pub async fn query<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut meetfield::db::DbConn) -> QueryResult<T> + Send + 'static,
    ) -> T {
        self.app
            .state
            .db
            .run(move |c| f(c).map_err(AppError::from))
            .await
            .expect("query")
    }

    pub async fn account_by_uri(&self, uri: &str) -> Option<Account> {
        let uri = uri.to_string();
        self.query(move |c| Account::by_uri(c, &uri)).await
    }

    /// Deliveries not yet finished (pending), by state.
    pub async fn delivery_states(&self) -> Vec<(String, i64)> {
        meetfield::delivery::counts(&self.app.state.db)
            .await
            .unwrap()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let _ = self.stop_worker.send(true);
    }
}

/// Three instances that all allow each other (allowlist mode, as deployed).
pub async fn trio(backend: Backend) -> (Instance, Instance, Instance) {
    let a = Instance::start("alpha", backend, FederationMode::Allowlist).await;
    let b = Instance::start("beta", backend, FederationMode::Allowlist).await;
    let g = Instance::start("gamma", backend, FederationMode::Allowlist).await;
    for (x, y) in [(&a, &b), (&a, &g), (&b, &a), (&b, &g), (&g, &a), (&g, &b)] {
        x.allow(y).await;
    }
    (a, b, g)
}

/// `follower` (on `from`) follows `target` (elsewhere) and waits for the
/// Accept.
pub async fn follow(from: &Instance, follower: &Account, target: &Account) {
    let t = meetfield::federation::resolve::resolve_account(&from.data(), &target.uri)
        .await
        .unwrap();
    meetfield::domain::follows::follow(&from.app.state, follower, &t)
        .await
        .unwrap();
    let (fu, tu) = (follower.uri.clone(), target.uri.clone());
    eventually("follow accepted", || async {
        let (f, t) = (
            from.account_by_uri(&fu).await.unwrap(),
            from.account_by_uri(&tu).await.unwrap(),
        );
        from.query(move |c| meetfield::db::models::Follow::find(c, f.id, t.id))
            .await
            .is_some_and(|f| !f.pending)
    })
    .await;
}

/// Waits until `check` holds, failing after 15 s with `what`.
pub async fn eventually<F, Fut>(what: &str, check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    eventually_within(Duration::from_secs(15), what, check).await
}

/// [`eventually`] with another time limit.
pub async fn eventually_within<F, Fut>(limit: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let started = Instant::now();
    loop {
        if check().await {
            return;
        }
        assert!(started.elapsed() < limit, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Defines `mod $name { sqlite, postgres }` running `$body(Backend)`.
#[macro_export]
macro_rules! on_both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                ($body)($crate::common::Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                ($body)($crate::common::Backend::Postgres).await;
            }
        }
    };
}
