//! Run history, leases and schedule ticks.
//!
//! A lease makes a job for a period run once at a time across processes. On PostgreSQL it
//! is a session advisory lock held on a connection of its own (it vanishes with the
//! process), plus a row saying who holds it; on SQLite it is the row alone, with an expiry
//! the holder keeps pushing forward.
//!
//! Owns: the run history (`RunRow`, `RunFilter`), the lease rows (`LeaseHolder`) and
//! advisory locks, the schedule ticks and the counts for metrics. Receives: lease calls
//! from `warehouse::lease`, tick claims from `serve`, run filters from `serve::api`,
//! `serve::dashboard` and `cli::runs`. Hands on: `RunRow`s to `serve` and `cli::runs`;
//! ticks to `serve`; run, mail, data and lagging-agency counts to `serve::metrics`.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;

use super::{Pool, QueryContext, RunStatus, Warehouse, WarehouseError, with_pool};
use crate::domain::Period;

/// A run as operators read it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRow {
    pub id: i64,
    pub job: String,
    pub period: Option<Period>,
    pub source: Option<String>,
    pub round: Option<String>,
    pub params: serde_json::Value,
    pub trigger: String,
    pub operator: Option<String>,
    pub dry_run: bool,
    pub rerun_of: Option<i64>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub status: RunStatus,
    pub counts: serde_json::Value,
    pub error: Option<String>,
    pub host: Option<String>,
    pub pid: Option<i64>,
}

/// Filters of `chiso runs list`.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    pub job: Option<String>,
    pub period: Option<Period>,
    pub status: Option<String>,
    pub limit: Option<i64>,
}

/// Who holds a lease.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeaseHolder {
    pub name: String,
    pub holder: String,
    pub run_id: Option<i64>,
    pub acquired_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

const RUN_COLUMNS: &str = "id, job, period, source_id, round, params, trigger, operator, dry_run, rerun_of, started_at, \
                           finished_at, status, counts, error, host, pid";

fn run_from<R: Row>(r: &R) -> Result<RunRow, WarehouseError>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<i64>: sqlx::Decode<'a, R::Database>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<String>: sqlx::Decode<'a, R::Database>,
    for<'a> bool: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> DateTime<Utc>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<DateTime<Utc>>: sqlx::Decode<'a, R::Database>,
{
    let period: Option<i64> = r.try_get("period").unwrap_or(None);
    let status: String = r.try_get("status").unwrap_or_default();
    let status = RunStatus::parse(&status)
        .ok_or_else(|| WarehouseError::Corrupt { what: "run status".into(), detail: status.clone() })?;
    let params: String = r.try_get("params").unwrap_or_default();
    let counts: String = r.try_get("counts").unwrap_or_default();
    Ok(RunRow {
        id: r.try_get("id").unwrap_or_default(),
        job: r.try_get("job").unwrap_or_default(),
        period: period.and_then(Period::from_code),
        source: r.try_get("source_id").unwrap_or(None),
        round: r.try_get("round").unwrap_or(None),
        params: serde_json::from_str(&params).unwrap_or_default(),
        trigger: r.try_get("trigger").unwrap_or_default(),
        operator: r.try_get("operator").unwrap_or(None),
        dry_run: r.try_get("dry_run").unwrap_or(false),
        rerun_of: r.try_get("rerun_of").unwrap_or(None),
        started_at: r.try_get("started_at").unwrap_or_default(),
        finished_at: r.try_get("finished_at").unwrap_or(None),
        status,
        counts: serde_json::from_str(&counts).unwrap_or_default(),
        error: r.try_get("error").unwrap_or(None),
        host: r.try_get("host").unwrap_or(None),
        pid: r.try_get("pid").unwrap_or(None),
    })
}

impl Warehouse {
    /// Runs, newest first.
    pub async fn runs(&self, f: &RunFilter) -> Result<Vec<RunRow>, WarehouseError> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE ($1 = '' OR job = $1) AND ($2 < 0 OR period = $2) AND ($3 = '' OR status = $3) \
             ORDER BY id DESC LIMIT $4"
        );
        with_pool!(self, |pool| {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .bind(f.job.as_deref().unwrap_or(""))
                .bind(f.period.map_or(-1, Period::code))
                .bind(f.status.as_deref().unwrap_or(""))
                .bind(f.limit.unwrap_or(100))
                .fetch_all(pool)
                .await
                .op("run read")?;
            rows.iter().map(run_from).collect()
        })
    }

    /// The runs table's highest id and number of finished runs: changes whenever a run
    /// starts or ends (what a cache of figures built from the warehouse is keyed on).
    pub async fn runs_version(&self) -> Result<(i64, i64), WarehouseError> {
        with_pool!(self, |pool| {
            let (max, finished): (Option<i64>, i64) =
                sqlx::query_as("SELECT MAX(id), COUNT(finished_at) FROM runs").fetch_one(pool).await.op("run read")?;
            Ok((max.unwrap_or(0), finished))
        })
    }

    pub async fn run(&self, id: i64) -> Result<Option<RunRow>, WarehouseError> {
        let sql = format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = $1");
        with_pool!(self, |pool| {
            let row =
                sqlx::query(sqlx::AssertSqlSafe(sql.clone())).bind(id).fetch_optional(pool).await.op("run read")?;
            row.as_ref().map(run_from).transpose()
        })
    }

    /// Runs still marked running (by anyone).
    pub async fn running_runs(&self) -> Result<Vec<RunRow>, WarehouseError> {
        let sql = format!("SELECT {RUN_COLUMNS} FROM runs WHERE status = 'running' ORDER BY id");
        with_pool!(self, |pool| {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.clone())).fetch_all(pool).await.op("run read")?;
            rows.iter().map(run_from).collect()
        })
    }

    /// Marks a run left `running` by a process that stopped: `failed`, error "interrupted".
    pub async fn mark_interrupted(&self, id: i64, why: &str) -> Result<bool, WarehouseError> {
        with_pool!(self, |pool| sqlx::query(
            "UPDATE runs SET status = 'failed', error = $1, finished_at = $2 WHERE id = $3 AND status = 'running'"
        )
        .bind(format!("interrupted: {why}"))
        .bind(Utc::now())
        .bind(id)
        .execute(pool)
        .await
        .op("run finish")
        .map(|r| r.rows_affected() > 0))
    }

    /// Takes a lease row if nobody holds it or its holder's expiry has passed.
    pub async fn take_lease_row(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
        force: bool,
    ) -> Result<bool, WarehouseError> {
        with_pool!(self, |pool| {
            let got: Option<String> = sqlx::query_scalar(
                "INSERT INTO leases (name, holder, run_id, acquired_at, expires_at) VALUES ($1, $2, NULL, $3, $4) \
                 ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, run_id = NULL, acquired_at = excluded.acquired_at, \
                 expires_at = excluded.expires_at WHERE leases.expires_at < $3 OR $5 RETURNING holder",
            )
            .bind(name)
            .bind(holder)
            .bind(now)
            .bind(expires)
            .bind(force)
            .fetch_optional(pool)
            .await
            .op("lease take")?;
            Ok(got.is_some())
        })
    }

    /// Pushes a held lease's expiry forward; false when it is no longer ours.
    pub async fn renew_lease_row(
        &self,
        name: &str,
        holder: &str,
        expires: DateTime<Utc>,
    ) -> Result<bool, WarehouseError> {
        with_pool!(self, |pool| sqlx::query("UPDATE leases SET expires_at = $1 WHERE name = $2 AND holder = $3")
            .bind(expires)
            .bind(name)
            .bind(holder)
            .execute(pool)
            .await
            .op("lease renew")
            .map(|r| r.rows_affected() > 0))
    }

    pub async fn set_lease_run(&self, name: &str, holder: &str, run_id: i64) -> Result<(), WarehouseError> {
        with_pool!(self, |pool| sqlx::query("UPDATE leases SET run_id = $1 WHERE name = $2 AND holder = $3")
            .bind(run_id)
            .bind(name)
            .bind(holder)
            .execute(pool)
            .await
            .op("lease write")
            .map(|_| ()))
    }

    pub async fn drop_lease_row(&self, name: &str, holder: &str) -> Result<(), WarehouseError> {
        with_pool!(self, |pool| sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(holder)
            .execute(pool)
            .await
            .op("lease release")
            .map(|_| ()))
    }

    /// Who holds a lease (as its row says).
    pub async fn lease_holder(&self, name: &str) -> Result<Option<LeaseHolder>, WarehouseError> {
        with_pool!(self, |pool| {
            let row = sqlx::query("SELECT name, holder, run_id, acquired_at, expires_at FROM leases WHERE name = $1")
                .bind(name)
                .fetch_optional(pool)
                .await
                .op("lease read")?;
            Ok(row.map(|r| LeaseHolder {
                name: r.get(0),
                holder: r.get(1),
                run_id: r.get(2),
                acquired_at: r.get(3),
                expires_at: r.get(4),
            }))
        })
    }

    /// On PostgreSQL: a connection of its own holding the session advisory lock named
    /// `name` in this database and schema (two warehouses in one database do not share
    /// locks), or `None` when another session holds it. (SQLite: always `None`.)
    pub async fn try_advisory_lock(
        &self,
        name: &str,
    ) -> Result<Option<sqlx::pool::PoolConnection<sqlx::Postgres>>, WarehouseError> {
        let Pool::Postgres(pool) = &self.pool else { return Ok(None) };
        let mut conn = pool.acquire().await.op("lease lock")?;
        let got: bool = sqlx::query_scalar(
            "SELECT pg_try_advisory_lock(hashtextextended(current_database() || '/' || current_schema() || '/' || $1, 0))",
        )
        .bind(name)
        .fetch_one(&mut *conn)
        .await
        .op("lease lock")?;
        Ok(got.then_some(conn))
    }

    /// Releases what [`Self::try_advisory_lock`] took, on its connection.
    pub async fn advisory_unlock(conn: &mut sqlx::PgConnection, name: &str) -> Result<bool, WarehouseError> {
        sqlx::query_scalar(
            "SELECT pg_advisory_unlock(hashtextextended(current_database() || '/' || current_schema() || '/' || $1, 0))",
        )
        .bind(name)
        .fetch_one(conn)
        .await
        .op("lease unlock")
    }

    /// Claims a schedule's tick; true for the one process that gets it.
    pub async fn claim_tick(
        &self,
        schedule: &str,
        tick: DateTime<Utc>,
        claimer: &str,
        catch_up: bool,
    ) -> Result<bool, WarehouseError> {
        with_pool!(self, |pool| {
            let got: Option<String> = sqlx::query_scalar(
                "INSERT INTO schedule_ticks (schedule, tick, claimed_by, claimed_at, catch_up) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (schedule, tick) DO NOTHING RETURNING schedule",
            )
            .bind(schedule)
            .bind(tick)
            .bind(claimer)
            .bind(Utc::now())
            .bind(catch_up)
            .fetch_optional(pool)
            .await
            .op("tick claim")?;
            Ok(got.is_some())
        })
    }

    pub async fn set_tick_run(&self, schedule: &str, tick: DateTime<Utc>, run_id: i64) -> Result<(), WarehouseError> {
        with_pool!(self, |pool| sqlx::query("UPDATE schedule_ticks SET run_id = $1 WHERE schedule = $2 AND tick = $3")
            .bind(run_id)
            .bind(schedule)
            .bind(tick)
            .execute(pool)
            .await
            .op("tick write")
            .map(|_| ()))
    }

    /// The latest tick claimed for a schedule.
    pub async fn last_tick(&self, schedule: &str) -> Result<Option<DateTime<Utc>>, WarehouseError> {
        with_pool!(self, |pool| sqlx::query_scalar("SELECT MAX(tick) FROM schedule_ticks WHERE schedule = $1")
            .bind(schedule)
            .fetch_one(pool)
            .await
            .op("tick read"))
    }

    /// Every tick claimed for a schedule, oldest first (tests, `runs` views).
    pub async fn ticks(&self, schedule: &str) -> Result<Vec<(DateTime<Utc>, bool)>, WarehouseError> {
        with_pool!(self, |pool| {
            let rows = sqlx::query("SELECT tick, catch_up FROM schedule_ticks WHERE schedule = $1 ORDER BY tick")
                .bind(schedule)
                .fetch_all(pool)
                .await
                .op("tick read")?;
            Ok(rows.into_iter().map(|r| (r.get(0), r.get(1))).collect())
        })
    }

    /// Runs by job and status, for the metrics.
    pub async fn run_counts(&self) -> Result<Vec<(String, String, i64)>, WarehouseError> {
        with_pool!(self, |pool| {
            let rows = sqlx::query("SELECT job, status, COUNT(*) FROM runs GROUP BY job, status ORDER BY job, status")
                .fetch_all(pool)
                .await
                .op("run read")?;
            Ok(rows.into_iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect())
        })
    }

    /// Recipients by delivery state, and messages waiting (deferred), for the metrics.
    pub async fn mail_counts(&self) -> Result<Vec<(String, i64)>, WarehouseError> {
        with_pool!(self, |pool| {
            let mut out: Vec<(String, i64)> =
                sqlx::query("SELECT status, COUNT(*) FROM outbox_recipients GROUP BY status ORDER BY status")
                    .fetch_all(pool)
                    .await
                    .op("outbox read")?
                    .into_iter()
                    .map(|r| (r.get(0), r.get(1)))
                    .collect();
            let deferred: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE status = 'queued' AND attempts > 0")
                    .fetch_one(pool)
                    .await
                    .op("outbox read")?;
            out.push(("deferred".into(), deferred));
            Ok(out)
        })
    }

    /// Current observations and rejects per period, for the metrics.
    pub async fn data_counts(&self) -> Result<Vec<(i64, i64, i64)>, WarehouseError> {
        with_pool!(self, |pool| {
            let obs =
                sqlx::query("SELECT period, COUNT(*) FROM observations WHERE superseded_at IS NULL GROUP BY period")
                    .fetch_all(pool)
                    .await
                    .op("observation read")?;
            let rej = sqlx::query("SELECT period, COUNT(*) FROM rejects GROUP BY period")
                .fetch_all(pool)
                .await
                .op("reject read")?;
            let mut map: std::collections::BTreeMap<i64, (i64, i64)> = std::collections::BTreeMap::new();
            for r in obs {
                map.entry(r.get(0)).or_default().0 = r.get(1);
            }
            for r in rej {
                map.entry(r.get(0)).or_default().1 = r.get(1);
            }
            Ok(map.into_iter().map(|(p, (o, j))| (p, o, j)).collect())
        })
    }

    /// Agencies with a lagging, missing or overdue row in the current gap table, per period.
    pub async fn lagging_agencies(&self) -> Result<Vec<(i64, i64)>, WarehouseError> {
        with_pool!(self, |pool| {
            let rows = sqlx::query(
                "SELECT period, COUNT(DISTINCT agency_id) FROM evaluations WHERE valid_to_run IS NULL AND row_kind <> 'aggregate' \
                 AND status IN ('lagging', 'missing', 'overdue') GROUP BY period ORDER BY period",
            )
            .fetch_all(pool)
            .await
            .op("gap read")?;
            Ok(rows.into_iter().map(|r| (r.get(0), r.get(1))).collect())
        })
    }

    /// Sets a pre-created run's parameters when the job starts in it (API requests get
    /// their run id before the job begins).
    pub async fn adopt_run(&self, id: i64, params: &serde_json::Value) -> Result<(), WarehouseError> {
        with_pool!(self, |pool| sqlx::query("UPDATE runs SET params = $1 WHERE id = $2")
            .bind(params.to_string())
            .bind(id)
            .execute(pool)
            .await
            .op("run start")
            .map(|_| ()))
    }
}
