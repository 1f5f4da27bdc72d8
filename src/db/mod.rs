//! Database access over SQLite or PostgreSQL from one code base.
//!
//! Diesel is synchronous, so every query runs on tokio's blocking pool through
//! [`Db::run`] / [`Db::transaction`]; async code never holds a connection.
//! Backend-specific SQL goes in a `match` on [`DbConn`], only where it matters.

pub mod id;
pub mod models;
pub mod schema;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::{PgConnection, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::config::DatabaseUrl;

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Any PostgreSQL advisory lock id we own; serializes migrations across nodes.
const MIGRATION_LOCK_ID: i64 = 0x6d65_6574_6669_656c;

#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Errors of the database layer itself (not of a query's meaning).
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("database task failed: {0}")]
    Task(String),
}

/// Opens connections of the backend the URL names (never guessing, so a
/// wrong password is reported as such) and prepares SQLite connections.
#[derive(Debug, Clone)]
pub struct Manager {
    url: DatabaseUrl,
}

impl Manager {
    fn connect(&self) -> Result<DbConn, diesel::ConnectionError> {
        match &self.url {
            DatabaseUrl::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(&path.to_string_lossy())?;
                // WAL lets readers run beside the single writer; NORMAL is
                // durable across process crashes (not power loss) and 5-10x
                // faster to commit than FULL here.
                conn.batch_execute(
                    "PRAGMA journal_mode = WAL;
                     PRAGMA synchronous = NORMAL;
                     PRAGMA busy_timeout = 10000;
                     PRAGMA foreign_keys = ON;",
                )
                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                Ok(DbConn::Sqlite(conn))
            }
            DatabaseUrl::Postgres(url) => Ok(DbConn::Postgres(PgConnection::establish(url)?)),
        }
    }
}

impl deadpool::managed::Manager for Manager {
    type Type = DbConn;
    type Error = DbError;

    async fn create(&self) -> Result<DbConn, DbError> {
        // Connecting blocks (DNS, TLS, SQLite file I/O): keep it off the
        // async threads. Connections are made on demand, never by a
        // background thread, so none is half-open when the process exits.
        let manager = self.clone();
        tokio::task::spawn_blocking(move || manager.connect())
            .await
            .map_err(|e| DbError::Task(e.to_string()))?
            .map_err(|e| DbError::Unavailable(e.to_string()))
    }

    async fn recycle(
        &self,
        _conn: &mut DbConn,
        _metrics: &deadpool::managed::Metrics,
    ) -> deadpool::managed::RecycleResult<DbError> {
        // Broken connections are found where they fail (see `Db::run`).
        Ok(())
    }
}

pub type Pool = deadpool::managed::Pool<Manager>;
type Pooled = deadpool::managed::Object<Manager>;

/// Options for opening the pool.
#[derive(Debug, Clone)]
pub struct DbOptions {
    pub pool_size: u32,
    pub timeout: Duration,
}

impl Default for DbOptions {
    fn default() -> Self {
        DbOptions {
            pool_size: 10,
            timeout: Duration::from_secs(5),
        }
    }
}

/// Cheap to clone handle on the pool; the one way in for async code.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    backend: Backend,
    url: DatabaseUrl,
    /// SQLite allows one writer: taking turns here rather than in SQLite's
    /// lock avoids SQLITE_BUSY when a read transaction upgrades to a write.
    write_lock: Option<Arc<Mutex<()>>>,
    /// Stream signals of committed work (see `crate::stream::bus`).
    signals: Arc<crate::stream::bus::Sender>,
}

impl Db {
    /// Opens the pool and checks that one connection can be made.
    pub async fn connect(url: &DatabaseUrl, opts: DbOptions) -> Result<Db, DbError> {
        let db = Self::connect_lazy(url, opts)?;
        db.ping().await?;
        Ok(db)
    }

    /// Opens the pool without connecting; connections are made on demand.
    pub fn connect_lazy(url: &DatabaseUrl, opts: DbOptions) -> Result<Db, DbError> {
        if let DatabaseUrl::Sqlite(path) = url
            && let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| {
                DbError::Unavailable(format!("cannot create directory {}: {e}", dir.display()))
            })?;
        }
        let backend = match url {
            DatabaseUrl::Sqlite(_) => Backend::Sqlite,
            DatabaseUrl::Postgres(_) => Backend::Postgres,
        };
        let pool = Pool::builder(Manager { url: url.clone() })
            .max_size(opts.pool_size as usize)
            .runtime(deadpool::Runtime::Tokio1)
            .timeouts(deadpool::managed::Timeouts {
                wait: Some(opts.timeout),
                create: Some(opts.timeout),
                recycle: None,
            })
            .build()
            .map_err(|e| DbError::Unavailable(e.to_string()))?;
        Ok(Db {
            pool,
            backend,
            url: url.clone(),
            write_lock: (backend == Backend::Sqlite).then(|| Arc::new(Mutex::new(()))),
            signals: Arc::new(crate::stream::bus::channel()),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    /// Where this node hears of committed changes that streams may show.
    pub fn signals(&self) -> &Arc<crate::stream::bus::Sender> {
        &self.signals
    }

    async fn checkout(&self) -> Result<Pooled, DbError> {
        self.pool.get().await.map_err(|e| match e {
            deadpool::managed::PoolError::Backend(e) => e,
            deadpool::managed::PoolError::Timeout(_) => {
                DbError::Unavailable("timed out waiting for a database connection".into())
            }
            other => DbError::Unavailable(other.to_string()),
        })
    }

    /// Runs `f` on the blocking thread pool with a connection; a connection
    /// that turns out broken is dropped rather than returned to the pool.
    async fn with_conn<T, E, F>(&self, write: bool, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let mut conn = self.checkout().await?;
        let lock = if write { self.write_lock.clone() } else { None };
        let (conn, result, broken, signals) = tokio::task::spawn_blocking(move || {
            let _turn = lock
                .as_ref()
                .map(|l| l.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
            crate::stream::bus::clear_pending();
            let result = f(&mut conn);
            let signals = crate::stream::bus::take_pending();
            let broken = result.is_err() && conn.batch_execute("SELECT 1").is_err();
            (conn, result, broken, signals)
        })
        .await
        .map_err(|e| E::from(DbError::Task(e.to_string())))?;
        if broken {
            let _ = Pooled::take(conn);
        }
        if result.is_ok() {
            for s in signals {
                // No receiver (no stream open) is not an error.
                let _ = self.signals.send(s);
            }
        }
        result
    }

    /// Runs `f` with a pooled connection on the blocking thread pool.
    pub async fn run<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        self.with_conn(false, f).await
    }

    /// Runs `f` in one write transaction (committed if it returns Ok).
    pub async fn transaction<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + From<diesel::result::Error> + Send + 'static,
    {
        self.with_conn(true, move |conn| conn.transaction(f)).await
    }

    /// Applies pending migrations; returns the versions applied.
    pub async fn migrate(&self) -> Result<Vec<String>, DbError> {
        self.run(run_migrations).await
    }

    /// Closes idle connections now and refuses new checkouts.
    pub fn close(self) {
        self.pool.close();
    }

    /// Succeeds when the database answers a trivial query in time.
    pub async fn ping(&self) -> Result<(), DbError> {
        self.run(|conn| Ok::<_, DbError>(conn.batch_execute("SELECT 1")?))
            .await
    }
}

/// Applies the pending migrations of the connection's backend.
pub fn run_migrations(conn: &mut DbConn) -> Result<Vec<String>, DbError> {
    let source = match conn {
        DbConn::Sqlite(_) => SQLITE_MIGRATIONS,
        DbConn::Postgres(_) => POSTGRES_MIGRATIONS,
    };
    let is_pg = matches!(conn, DbConn::Postgres(_));
    if is_pg {
        // Several nodes may start at once; one migrates, the others wait.
        conn.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_ID})"))?;
    }
    let result = conn
        .run_pending_migrations(source)
        .map(|versions| versions.iter().map(|v| v.to_string()).collect())
        .map_err(|e| DbError::Migration(e.to_string()));
    if is_pg {
        conn.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_ID})"))?;
    }
    result
}

/// Migrations not yet applied (for `migrate --check` and tests).
pub fn pending_migrations(conn: &mut DbConn) -> Result<usize, DbError> {
    let source = match conn {
        DbConn::Sqlite(_) => SQLITE_MIGRATIONS,
        DbConn::Postgres(_) => POSTGRES_MIGRATIONS,
    };
    conn.pending_migrations(source)
        .map(|m| m.len())
        .map_err(|e| DbError::Migration(e.to_string()))
}

diesel::define_sql_function! {
    /// SQL `lower()`, for case-insensitive lookups that use the lower() indexes.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// Current time as stored: UTC, truncated to microseconds (PostgreSQL's precision).
pub fn now() -> chrono::NaiveDateTime {
    let t = chrono::Utc::now().naive_utc();
    t.with_nanosecond_truncated()
}

trait TruncateMicros {
    fn with_nanosecond_truncated(self) -> Self;
}

impl TruncateMicros for chrono::NaiveDateTime {
    fn with_nanosecond_truncated(self) -> Self {
        use chrono::Timelike;
        let micros = self.nanosecond() / 1_000 * 1_000;
        self.with_nanosecond(micros).unwrap_or(self)
    }
}
