//! Shared test support: a fresh database per test on either backend.
//!
//! PostgreSQL: `TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`)
//! names a server we may create a database on; each test gets its own schema
//! in database `meetfield_test`, dropped afterwards.
#![allow(dead_code)]

pub mod browser;
pub mod ldap;
pub mod oidc;

use std::path::PathBuf;

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use meetfield::config::{Config, DatabaseUrl};
use meetfield::db::{Db, DbOptions};

pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const TEST_DATABASE: &str = "meetfield_test";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database that exists for one test.
pub struct TestDb {
    pub url: DatabaseUrl,
    /// Raw URL string as an admin would put it in MEETFIELD_DATABASE_URL.
    pub url_string: String,
    _dir: Option<tempfile::TempDir>,
    pg_schema: Option<(String, String)>,
}

fn admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_string())
}

fn with_database(url: &str, db: &str) -> String {
    let mut u = url::Url::parse(url).expect("TEST_POSTGRES_URL is a URL");
    u.set_path(&format!("/{db}"));
    u.to_string()
}

fn ensure_test_database() -> String {
    let admin = admin_url();
    let mut conn = PgConnection::establish(&admin).unwrap_or_else(|e| {
        panic!(
            "PostgreSQL tests need a server at {admin} (set TEST_POSTGRES_URL or run scripts/test.sh, \
             which starts one): {e}"
        )
    });
    // Parallel test processes race here; "already exists" is fine.
    let _ = conn.batch_execute(&format!("CREATE DATABASE {TEST_DATABASE}"));
    with_database(&admin, TEST_DATABASE)
}

impl TestDb {
    pub fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let path = dir.path().join("test.db");
                TestDb {
                    url: DatabaseUrl::Sqlite(path.clone()),
                    url_string: format!("sqlite://{}", path.display()),
                    _dir: Some(dir),
                    pg_schema: None,
                }
            }
            Backend::Postgres => {
                let base = ensure_test_database();
                let schema = format!("t_{:016x}", rand::random::<u64>());
                let mut conn = PgConnection::establish(&base).expect("connect to test database");
                conn.batch_execute(&format!("CREATE SCHEMA {schema}"))
                    .expect("create schema");
                let mut u = url::Url::parse(&base).unwrap();
                u.query_pairs_mut()
                    .append_pair("options", &format!("-csearch_path={schema}"));
                let s = u.to_string();
                TestDb {
                    url: DatabaseUrl::Postgres(s.clone()),
                    url_string: s,
                    _dir: None,
                    pg_schema: Some((base, schema)),
                }
            }
        }
    }

    /// A directory that lives as long as the database (SQLite's temp dir, else a new one).
    pub fn data_dir(&self) -> PathBuf {
        match &self._dir {
            Some(d) => d.path().join("data"),
            None => std::env::temp_dir().join(format!("meetfield-data-{}", rand::random::<u64>())),
        }
    }

    pub fn config(&self) -> Config {
        Config {
            database_url: self.url_string.clone(),
            data_dir: self.data_dir(),
            // Posts with links to example domains must not send the
            // workers out to the network; tests of cards turn it on.
            link_previews: false,
            ..Config::default()
        }
    }

    /// Opens the pool and migrates.
    pub async fn open(&self) -> Db {
        let db = Db::connect(&self.url, DbOptions::default())
            .await
            .expect("open test database");
        db.migrate().await.expect("migrate test database");
        db
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((base, schema)) = &self.pg_schema
            && let Ok(mut conn) = PgConnection::establish(base)
        {
            let _ = conn.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
        }
    }
}

/// Defines `mod $name { sqlite, postgres }`, each running `$body(TestDb)`.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let tdb = $crate::common::TestDb::new($crate::common::Backend::Sqlite);
                ($body)(tdb).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let tdb = $crate::common::TestDb::new($crate::common::Backend::Postgres);
                ($body)(tdb).await;
            }
        }
    };
}

/// A free port on loopback (racy, but the OS rarely reuses it at once).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
