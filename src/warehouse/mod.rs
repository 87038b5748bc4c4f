//! The warehouse: every stored fact goes through this module.
//!
//! SQLite (a file under `data/`, WAL) is the embedded default; PostgreSQL is chosen by
//! the URL. Queries are runtime queries with `$N` placeholders, which both drivers read,
//! against per-backend migrations in `migrations/sqlite` and `migrations/postgres`
//! (types differ: `TIMESTAMPTZ`/`DATE`/`BOOLEAN` on PostgreSQL, text and integers on
//! SQLite). Each public method is one unit of work in one transaction; the same code
//! body is compiled for both pools by [`with_pool!`].
//!
//! Owns: `Warehouse` (the pool, its `Backend`, `connect`, `migrate`), `WarehouseError` and
//! the row types its submodules re-export here (`NewRun`, `FetchRecord`, `LastFetch`,
//! `StoredGap`, `RunRow`, `OutMessage`, …). Receives: a database URL and `ConnectOptions`
//! from `app::open_warehouse` (or `cli`); rows to store from the stages and jobs. Hands on:
//! stored facts and typed reads back to `app`, `jobs`, `report`, `remind`, `serve` and
//! `cli`.

mod catalog;
mod collect;
mod evaluation;
pub mod lease;
mod outbox;
mod runs;
#[allow(unsafe_code)]
mod sqlite_bulk;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

pub use catalog::{CatalogLoad, Counts};
pub use collect::{
    FetchRecord, FileRejectAt, IngestionEnd, LastFetch, NewIngestion, NewRun, ObservationRow, RejectRow, RunStatus,
    StoreCounts, Trigger,
};
pub use evaluation::{EvalCounts, GapStatus, MemberTally, StoredGap};
pub use outbox::{LastMessage, NewMessage, NewRecipient, OutMessage, OutboxRow, RecipientRow, RecipientState};
pub use runs::{LeaseHolder, RunFilter, RunRow};

/// Which database a warehouse runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        })
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs the same body against whichever pool the warehouse holds. Inside, `$pool` is a
/// `&SqlitePool` or a `&PgPool`; the body is compiled once for each.
macro_rules! with_pool {
    ($wh:expr, |$pool:ident| $body:expr) => {
        match &$wh.pool {
            $crate::warehouse::Pool::Sqlite($pool) => $body,
            $crate::warehouse::Pool::Postgres($pool) => $body,
        }
    };
}
pub(crate) use with_pool;

/// Why the warehouse could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum WarehouseError {
    #[error("{}", crate::messages::warehouse::connect(.url, &crate::messages::sqlx_reason(.source)))]
    Connect { url: String, source: sqlx::Error },
    #[error("{}", crate::messages::warehouse::create_dir(.path, &crate::messages::io_reason(.source)))]
    CreateDir { path: String, source: std::io::Error },
    #[error("{}", crate::messages::warehouse::migrate(&.0.to_string()))]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{}", crate::messages::warehouse::query(.operation, &crate::messages::sqlx_reason(.source)))]
    Query { operation: &'static str, source: sqlx::Error },
    #[error("{}", crate::messages::warehouse::sqlite(.operation, .step, *.code, .message))]
    Sqlite { operation: &'static str, step: String, code: i32, message: String },
    #[error("{}", crate::messages::warehouse::corrupt(.what, .detail))]
    Corrupt { what: String, detail: String },
}

/// Wraps a sqlx error with the operation it belongs to.
pub(crate) trait QueryContext<T> {
    fn op(self, operation: &'static str) -> Result<T, WarehouseError>;
}

impl<T> QueryContext<T> for Result<T, sqlx::Error> {
    fn op(self, operation: &'static str) -> Result<T, WarehouseError> {
        self.map_err(|source| WarehouseError::Query { operation, source })
    }
}

/// Connection settings.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self { max_connections: 8, acquire_timeout: Duration::from_secs(30) }
    }
}

/// A connected warehouse.
#[derive(Debug, Clone)]
pub struct Warehouse {
    pub(crate) pool: Pool,
    url_redacted: String,
}

static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Migrations applied by one `migrate` call.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct MigrationReport {
    pub applied: Vec<String>,
    pub already: usize,
}

impl Warehouse {
    /// Opens (and for SQLite creates) the warehouse named by `url`.
    pub async fn connect(url: &str, opts: &ConnectOptions) -> Result<Self, WarehouseError> {
        let url_redacted = crate::secret::redact_url(url);
        let connect_err = |source| WarehouseError::Connect { url: url_redacted.clone(), source };
        let pool = if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(connect_err)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(opts.acquire_timeout)
                // 32 MB of page cache (allocated as used): bulk loads otherwise re-read
                // their own pages from the WAL.
                .pragma("cache_size", "-32768")
                .pragma("temp_store", "memory");
            let file = options.get_filename();
            if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty())
                && !dir.exists()
            {
                std::fs::create_dir_all(dir)
                    .map_err(|source| WarehouseError::CreateDir { path: dir.display().to_string(), source })?;
            }
            let pool = SqlitePoolOptions::new()
                .max_connections(opts.max_connections)
                .acquire_timeout(opts.acquire_timeout)
                .connect_with(options)
                .await
                .map_err(connect_err)?;
            Pool::Sqlite(pool)
        } else {
            let options = PgConnectOptions::from_str(url).map_err(connect_err)?;
            return Self::connect_postgres(options, opts).await;
        };
        Ok(Self { pool, url_redacted })
    }

    /// Connects to an existing PostgreSQL pool with its own options (tests use a schema
    /// per test through `search_path`).
    pub async fn connect_postgres(options: PgConnectOptions, opts: &ConnectOptions) -> Result<Self, WarehouseError> {
        let url_redacted = format!(
            "postgres://{}:{}/{}",
            options.get_host(),
            options.get_port(),
            options.get_database().unwrap_or_default()
        );
        let pool = PgPoolOptions::new()
            .max_connections(opts.max_connections)
            .acquire_timeout(opts.acquire_timeout)
            .connect_with(options)
            .await
            .map_err(|source| WarehouseError::Connect { url: url_redacted.clone(), source })?;
        Ok(Self { pool: Pool::Postgres(pool), url_redacted })
    }

    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// The URL with any password hidden, for messages.
    pub fn url(&self) -> &str {
        &self.url_redacted
    }

    fn migrator(&self) -> &'static sqlx::migrate::Migrator {
        match self.pool {
            Pool::Sqlite(_) => &SQLITE_MIGRATOR,
            Pool::Postgres(_) => &POSTGRES_MIGRATOR,
        }
    }

    /// Applies pending migrations.
    pub async fn migrate(&self) -> Result<MigrationReport, WarehouseError> {
        let before = self.applied_versions().await?;
        with_pool!(self, |pool| self.migrator().run(pool).await)?;
        let after = self.applied_versions().await?;
        let applied = self
            .migrator()
            .iter()
            .filter(|m| after.contains(&m.version) && !before.contains(&m.version))
            .map(|m| format!("{:04} {}", m.version, m.description))
            .collect();
        Ok(MigrationReport { applied, already: before.len() })
    }

    /// Versions of the migrations not yet applied (empty when current).
    pub async fn pending_migrations(&self) -> Result<Vec<i64>, WarehouseError> {
        let applied = self.applied_versions().await?;
        Ok(self.migrator().iter().map(|m| m.version).filter(|v| !applied.contains(v)).collect())
    }

    async fn applied_versions(&self) -> Result<Vec<i64>, WarehouseError> {
        let exists: bool = with_pool!(self, |pool| {
            let sql = match self.backend() {
                Backend::Sqlite => {
                    "SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'"
                }
                Backend::Postgres => "SELECT to_regclass('_sqlx_migrations') IS NOT NULL",
            };
            sqlx::query_scalar(sql).fetch_one(pool).await.op("migration check")
        })?;
        if !exists {
            return Ok(Vec::new());
        }
        with_pool!(self, |pool| sqlx::query_scalar(
            "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version"
        )
        .fetch_all(pool)
        .await
        .op("migration check"))
    }

    /// True when the warehouse answers.
    pub async fn ping(&self) -> Result<(), WarehouseError> {
        with_pool!(self, |pool| sqlx::query("SELECT 1").execute(pool).await.op("ping").map(|_| ()))
    }

    pub async fn close(&self) {
        with_pool!(self, |pool| pool.close().await)
    }
}

/// JSON text of a value; the value types we store always serialize.
pub(crate) fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}
