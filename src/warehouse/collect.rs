//! Storing what collection produces: runs, fetch records, raw snapshots (addressed by
//! sha256, kept in the warehouse), ingestions, versioned observations and rejects.
//!
//! A file's figures land in one transaction or not at all. Within it, values equal to the
//! current ones are dropped (nothing changes), different ones supersede the current ones
//! (history is kept, `superseded_by` points to the new row), and earlier processings of
//! the same file name stop being current, with their rejects.
//!
//! Owns: the runs' start and end (`NewRun`, `RunStatus`, `Trigger`), fetch records
//! (`FetchRecord`, `LastFetch`), raw snapshots, ingestions (`NewIngestion`, `IngestionEnd`,
//! `StoreCounts`) and the stored observations and rejects. Receives:
//! `domain::observation::Normalized` rows (`NewObservation`, `NewReject`) and fetch records
//! from `jobs::collect` (and `cli::collect`), run rows from `jobs`. Hands on: `LastFetch`
//! to `jobs::collect` for `sources`; `ObservationRow`s, `RejectRow`s and agencies' values
//! to `jobs`, `report`, `serve` and `cli`; `value_from_parts` to `warehouse::evaluation`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{QueryBuilder, Row};
use tokio::sync::mpsc;

use super::{QueryContext, Warehouse, WarehouseError, with_pool};
use crate::domain::observation::{NewObservation, NewReject, Normalized};
use crate::domain::{AgencyId, ItemKey, Period, Value};

/// How a run was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    Cli,
    Schedule,
    Api,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Cli => "cli",
            Trigger::Schedule => "schedule",
            Trigger::Api => "api",
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Succeeded,
    Partial,
    Failed,
    Cancelled,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Partial => "partial",
            RunStatus::Failed => "failed",
            RunStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [RunStatus::Running, RunStatus::Succeeded, RunStatus::Partial, RunStatus::Failed, RunStatus::Cancelled]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

/// A run about to start.
#[derive(Debug, Clone, Serialize)]
pub struct NewRun {
    pub job: String,
    pub period: Option<Period>,
    pub source: Option<String>,
    pub round: Option<String>,
    pub params: serde_json::Value,
    pub trigger: Trigger,
    pub operator: Option<String>,
    pub dry_run: bool,
    pub rerun_of: Option<i64>,
}

/// A fetch attempt, successful or not.
#[derive(Debug, Clone, Default)]
pub struct FetchRecord {
    pub run_id: Option<i64>,
    pub source_id: String,
    pub period: Option<Period>,
    pub url: String,
    pub file_name: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub http_status: Option<u16>,
    pub attempts: u32,
    /// fetched | not_modified | unchanged | failed
    pub outcome: &'static str,
    pub sha256: Option<String>,
    pub size: Option<u64>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub error: Option<String>,
}

impl FetchRecord {
    /// A fetch of `url` for `source_id` in a run, with its outcome; the rest as known.
    pub fn new(run_id: i64, source_id: &str, period: Period, url: &str, outcome: &'static str) -> Self {
        Self {
            run_id: Some(run_id),
            source_id: source_id.to_string(),
            period: Some(period),
            url: url.to_string(),
            outcome,
            ..Default::default()
        }
    }
}

/// What is known from the last successful fetch of a URL, for conditional requests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LastFetch {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub sha256: Option<String>,
}

/// One file about to be stored.
#[derive(Debug, Clone)]
pub struct NewIngestion {
    pub run_id: Option<i64>,
    pub fetch_id: Option<i64>,
    pub source_id: String,
    pub period: Period,
    pub sha256: String,
    pub file_name: String,
    pub agency: Option<AgencyId>,
    pub layout: Option<String>,
    pub sheet: Option<String>,
}

/// What is known about a file once it has been read.
#[derive(Debug, Clone, Default)]
pub struct IngestionEnd {
    /// The reason the whole file was refused, if it was.
    pub file_reject: Option<NewReject>,
    pub agency: Option<AgencyId>,
    pub layout: Option<String>,
    pub sheet: Option<String>,
}

/// What storing a file did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StoreCounts {
    pub ingestion_id: i64,
    /// New values stored (first reports and changes).
    pub observations: u64,
    /// Earlier values replaced by a different one.
    pub superseded: u64,
    /// Values equal to what was already current: nothing stored.
    pub unchanged: u64,
    pub rejects: u64,
}

/// A stored reject.
#[derive(Debug, Clone, Serialize)]
pub struct RejectRow {
    pub id: i64,
    pub source_id: String,
    pub agency_id: Option<String>,
    pub file_name: Option<String>,
    pub location: String,
    pub item_key: Option<String>,
    pub raw_text: String,
    pub code: String,
    pub message: String,
    pub created_at: DateTime<Utc>,
}

/// A stored observation with its trace.
#[derive(Debug, Clone, Serialize)]
pub struct ObservationRow {
    pub id: i64,
    pub period: Period,
    pub item: String,
    pub measure: String,
    pub agency_id: AgencyId,
    pub value: Value,
    pub raw_text: String,
    pub note: Option<String>,
    pub source_id: String,
    pub file_name: String,
    pub sha256: String,
    pub location: String,
    pub loaded_at: DateTime<Utc>,
    pub superseded_at: Option<DateTime<Utc>>,
}

const OBS_PER_STATEMENT: usize = 1_000;

pub(crate) fn value_parts(v: &Value) -> (&'static str, Option<f64>, Option<&'static str>) {
    match v {
        Value::Percent(x) => ("percent", Some(*x), None),
        Value::Count(x) => ("count", Some(*x), None),
        Value::Status(p) => ("status", None, Some(p.as_str())),
    }
}

pub(crate) fn value_from_parts(kind: &str, num: Option<f64>, status: Option<&str>) -> Option<Value> {
    match kind {
        "percent" => num.map(Value::Percent),
        "count" => num.map(Value::Count),
        "status" => status.and_then(crate::domain::value::Progress::parse_code).map(Value::Status),
        _ => None,
    }
}

// The steps of `store_ingestion` are macros, not functions: each runs the same statements
// on either backend's transaction (`with_pool!`), as `catalog.rs` explains.

/// Inserts the file's ingestion row, and reads what the comparison needs before the file's
/// rows go in: `(ingestion id, anything current for the period, the highest observation id)`.
macro_rules! open_ingestion {
    ($tx:ident, $ing:expr, $period:expr, $now:expr) => {{
        let ingestion_id: i64 = sqlx::query_scalar(
            "INSERT INTO ingestions (run_id, fetch_id, source_id, period, sha256, file_name, agency_id, layout, sheet, status, \
             observations, superseded, unchanged, rejects, is_current, loaded_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'loaded', 0, 0, 0, 0, $10, $11) RETURNING id",
        )
        .bind($ing.run_id)
        .bind($ing.fetch_id)
        .bind(&$ing.source_id)
        .bind($period)
        .bind(&$ing.sha256)
        .bind(&$ing.file_name)
        .bind($ing.agency.as_ref().map(|a| a.as_str()))
        .bind(&$ing.layout)
        .bind(&$ing.sheet)
        .bind(true)
        .bind($now)
        .fetch_one(&mut *$tx)
        .await
        .op("ingestion")?;
        // Asked before this file's rows go in: is anything current for the period? If not
        // (a first load), there is nothing to compare with and the comparison is skipped.
        let others: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM observations WHERE period = $1 AND superseded_at IS NULL)",
        )
        .bind($period)
        .fetch_one(&mut *$tx)
        .await
        .op("observation compare")?;
        // This file's rows get ids above this one: a range on the primary key finds them
        // without an index on ingestion_id.
        let first_id: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM observations")
            .fetch_one(&mut *$tx)
            .await
            .op("observation compare")?;
        (ingestion_id, others, first_id)
    }};
}

/// Completes the ingestion row from the reader's end of file; a whole-file reject deletes
/// the file's rows (nothing of it is kept but the reject). Then earlier processings of the
/// same file stop being current, with their rejects.
macro_rules! close_ingestion {
    ($tx:ident, $ing:expr, $end:expr, $ingestion_id:expr, $first_id:expr, $counts:expr, $rejects:expr) => {{
        sqlx::query("UPDATE ingestions SET agency_id = $1, layout = $2, sheet = $3 WHERE id = $4")
            .bind($end.agency.as_ref().or($ing.agency.as_ref()).map(|a| a.as_str()))
            .bind($end.layout.as_ref().or($ing.layout.as_ref()))
            .bind($end.sheet.as_ref().or($ing.sheet.as_ref()))
            .bind($ingestion_id)
            .execute(&mut *$tx)
            .await
            .op("ingestion")?;
        // A whole-file reject: nothing of the file is kept but the reject.
        if let Some(r) = $end.file_reject {
            sqlx::query("DELETE FROM observations WHERE id > $1 AND ingestion_id = $2")
                .bind($first_id)
                .bind($ingestion_id)
                .execute(&mut *$tx)
                .await
                .op("ingestion")?;
            $counts.observations = 0;
            $rejects = vec![r];
            sqlx::query("UPDATE ingestions SET status = 'rejected' WHERE id = $1")
                .bind($ingestion_id)
                .execute(&mut *$tx)
                .await
                .op("ingestion")?;
        }
        // Earlier processings of the same file stop being current, with their rejects.
        sqlx::query("UPDATE rejects SET is_current = $1 WHERE is_current = $2 AND ingestion_id IN (SELECT id FROM ingestions WHERE source_id = $3 AND period = $4 AND file_name = $5 AND id <> $6)")
            .bind(false)
            .bind(true)
            .bind(&$ing.source_id)
            .bind($ing.period.code())
            .bind(&$ing.file_name)
            .bind($ingestion_id)
            .execute(&mut *$tx)
            .await
            .op("reject retire")?;
        sqlx::query("UPDATE ingestions SET is_current = $1 WHERE source_id = $2 AND period = $3 AND file_name = $4 AND id <> $5")
            .bind(false)
            .bind(&$ing.source_id)
            .bind($ing.period.code())
            .bind(&$ing.file_name)
            .bind($ingestion_id)
            .execute(&mut *$tx)
            .await
            .op("ingestion retire")?;
    }};
}

/// Compares the file's new rows with what is current: the same figures are dropped as
/// unchanged, the others supersede what they replace.
macro_rules! compare_with_current {
    ($tx:ident, $ingestion_id:expr, $first_id:expr, $now:expr, $counts:expr) => {{
        let same = "o.period = n.period AND o.indicator_id = n.indicator_id AND o.agency_id = n.agency_id AND o.measure = n.measure";
        let unchanged = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM observations WHERE id IN (SELECT n.id FROM observations n JOIN observations o ON {same} \
             WHERE n.id > $2 AND n.ingestion_id = $1 AND o.ingestion_id <> $1 AND o.superseded_at IS NULL AND o.kind = n.kind \
             AND o.value_num IS NOT DISTINCT FROM n.value_num AND o.value_status IS NOT DISTINCT FROM n.value_status \
             AND o.note IS NOT DISTINCT FROM n.note)"
        )))
        .bind($ingestion_id)
        .bind($first_id)
        .execute(&mut *$tx)
        .await
        .op("observation compare")?
        .rows_affected();
        $counts.unchanged = unchanged;
        $counts.observations -= unchanged;
        // Driven from the file's new rows, so the cost follows the file, not the period.
        let superseded = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE observations SET superseded_at = $2, superseded_by = (SELECT n.id FROM observations n WHERE n.ingestion_id = $1 \
             AND n.period = observations.period AND n.indicator_id = observations.indicator_id AND n.agency_id = observations.agency_id \
             AND n.measure = observations.measure) \
             WHERE id IN (SELECT o.id FROM observations n JOIN observations o ON {same} \
             WHERE n.id > $3 AND n.ingestion_id = $1 AND o.ingestion_id <> $1 AND o.superseded_at IS NULL)"
        )))
        .bind($ingestion_id)
        .bind($now)
        .bind($first_id)
        .execute(&mut *$tx)
        .await
        .op("observation supersede")?
        .rows_affected();
        $counts.superseded = superseded;
    }};
}

impl Warehouse {
    pub async fn start_run(&self, run: &NewRun) -> Result<i64, WarehouseError> {
        let now = Utc::now();
        let host = hostname();
        with_pool!(self, |pool| {
            sqlx::query_scalar(
            "INSERT INTO runs (job, period, source_id, round, params, trigger, operator, dry_run, rerun_of, started_at, status, counts, host, pid) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'running', '{}', $11, $12) RETURNING id",
        )
        .bind(&run.job)
        .bind(run.period.map(Period::code))
        .bind(&run.source)
        .bind(&run.round)
        .bind(run.params.to_string())
        .bind(run.trigger.as_str())
        .bind(&run.operator)
        .bind(run.dry_run)
        .bind(run.rerun_of)
        .bind(now)
        .bind(&host)
        .bind(i64::from(std::process::id()))
        .fetch_one(pool)
        .await
        .op("run start")
        })
    }

    pub async fn finish_run(
        &self,
        id: i64,
        status: RunStatus,
        counts: &serde_json::Value,
        error: Option<&str>,
    ) -> Result<(), WarehouseError> {
        with_pool!(self, |pool| sqlx::query(
            "UPDATE runs SET status = $1, counts = $2, error = $3, finished_at = $4 WHERE id = $5"
        )
        .bind(status.as_str())
        .bind(counts.to_string())
        .bind(error)
        .bind(Utc::now())
        .bind(id)
        .execute(pool)
        .await
        .op("run finish")
        .map(|_| ()))
    }

    /// Keeps a file's bytes under their sha256 (once) and records the fetch.
    pub async fn record_fetch(&self, f: &FetchRecord, content: Option<(&[u8], &str)>) -> Result<i64, WarehouseError> {
        let now = Utc::now();
        with_pool!(self, |pool| {
            let mut tx = pool.begin().await.op("fetch record")?;
            if let (Some(sha), Some((bytes, media))) = (&f.sha256, content) {
                sqlx::query("INSERT INTO raw_files (sha256, size, media_type, content, first_seen) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (sha256) DO NOTHING")
                    .bind(sha)
                    .bind(bytes.len() as i64)
                    .bind(media)
                    .bind(bytes)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .op("raw file write")?;
            }
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO fetches (run_id, source_id, period, url, file_name, started_at, finished_at, http_status, attempts, outcome, \
                 sha256, size, etag, last_modified, error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id",
            )
            .bind(f.run_id)
            .bind(&f.source_id)
            .bind(f.period.map(Period::code).unwrap_or(0))
            .bind(&f.url)
            .bind(&f.file_name)
            .bind(f.started_at.unwrap_or(now))
            .bind(now)
            .bind(f.http_status.map(i64::from))
            .bind(i64::from(f.attempts))
            .bind(f.outcome)
            .bind(&f.sha256)
            .bind(f.size.map(|s| s as i64))
            .bind(&f.etag)
            .bind(&f.last_modified)
            .bind(&f.error)
            .fetch_one(&mut *tx)
            .await
            .op("fetch record")?;
            tx.commit().await.op("fetch record")?;
            Ok(id)
        })
    }

    /// Keeps a file's bytes under their sha256 unless already kept.
    pub async fn keep_raw(&self, sha256: &str, bytes: &[u8], media: &str) -> Result<(), WarehouseError> {
        with_pool!(self, |pool| {
            let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM raw_files WHERE sha256 = $1)")
                .bind(sha256)
                .fetch_one(pool)
                .await
                .op("raw file read")?;
            if !exists {
                sqlx::query("INSERT INTO raw_files (sha256, size, media_type, content, first_seen) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (sha256) DO NOTHING")
                    .bind(sha256)
                    .bind(bytes.len() as i64)
                    .bind(media)
                    .bind(bytes)
                    .bind(Utc::now())
                    .execute(pool)
                    .await
                    .op("raw file write")?;
            }
            Ok(())
        })
    }

    /// Validators and hash of the last fetch of a URL that brought a file.
    pub async fn last_fetch(&self, source_id: &str, url: &str) -> Result<Option<LastFetch>, WarehouseError> {
        with_pool!(self, |pool| {
            let row = sqlx::query(
                "SELECT etag, last_modified, sha256 FROM fetches WHERE source_id = $1 AND url = $2 AND sha256 IS NOT NULL ORDER BY id DESC LIMIT 1",
            )
            .bind(source_id)
            .bind(url)
            .fetch_optional(pool)
            .await
            .op("fetch read")?;
            Ok(row.map(|r| LastFetch { etag: r.get(0), last_modified: r.get(1), sha256: r.get(2) }))
        })
    }

    /// The sha256 of the current ingestion of a file name for a source and period.
    pub async fn current_ingestion_sha(
        &self,
        source_id: &str,
        period: Period,
        file_name: &str,
    ) -> Result<Option<String>, WarehouseError> {
        with_pool!(self, |pool| {
            sqlx::query_scalar(
            "SELECT sha256 FROM ingestions WHERE source_id = $1 AND period = $2 AND file_name = $3 AND is_current = $4 ORDER BY id DESC LIMIT 1",
        )
        .bind(source_id)
        .bind(period.code())
        .bind(file_name)
        .bind(true)
        .fetch_optional(pool)
        .await
        .op("ingestion read")
        })
    }

    pub async fn raw_content(&self, sha256: &str) -> Result<Option<Vec<u8>>, WarehouseError> {
        with_pool!(self, |pool| sqlx::query_scalar("SELECT content FROM raw_files WHERE sha256 = $1")
            .bind(sha256)
            .fetch_optional(pool)
            .await
            .op("raw file read"))
    }

    /// The latest stored file per URL of a source for a period: what `--from-raw` re-reads.
    pub async fn raw_files_for(
        &self,
        source_id: &str,
        period: Period,
    ) -> Result<Vec<(String, Option<String>, String, i64)>, WarehouseError> {
        with_pool!(self, |pool| {
            let rows = sqlx::query(
                "SELECT f.url, f.file_name, f.sha256, f.id FROM fetches f WHERE f.source_id = $1 AND f.period = $2 AND f.sha256 IS NOT NULL \
                 AND f.id = (SELECT MAX(g.id) FROM fetches g WHERE g.source_id = f.source_id AND g.period = f.period AND g.url = f.url AND g.sha256 IS NOT NULL) \
                 ORDER BY f.url",
            )
            .bind(source_id)
            .bind(period.code())
            .fetch_all(pool)
            .await
            .op("raw file list")?;
            Ok(rows.into_iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))).collect())
        })
    }

    /// Stores a file-level reject (a failed fetch, an unreadable file), making earlier
    /// file-level rejects of the same source and URL for the period no longer current.
    pub async fn record_file_reject(&self, at: FileRejectAt<'_>, r: &NewReject) -> Result<(), WarehouseError> {
        let FileRejectAt { run_id, fetch_id, source_id, period, file_name } = at;
        let now = Utc::now();
        with_pool!(self, |pool| {
            let mut tx = pool.begin().await.op("reject write")?;
            sqlx::query("UPDATE rejects SET is_current = $1 WHERE source_id = $2 AND period = $3 AND ingestion_id IS NULL AND file_name IS NOT DISTINCT FROM $4")
                .bind(false)
                .bind(source_id)
                .bind(period.code())
                .bind(file_name)
                .execute(&mut *tx)
                .await
                .op("reject retire")?;
            let origin = RejectOrigin { run_id, ingestion_id: None, fetch_id, source_id, period, file_name, now };
            insert_rejects(&mut tx, &origin, std::slice::from_ref(r)).await?;
            tx.commit().await.op("reject write")?;
            Ok(())
        })
    }

    /// Stores one file's observations and rejects as they arrive on `rx`, in one
    /// transaction. `ids` maps item keys to indicator ids.
    pub async fn store_ingestion(
        &self,
        ing: &NewIngestion,
        ids: &HashMap<ItemKey, i64>,
        mut rx: mpsc::Receiver<Normalized>,
        end: impl std::future::Future<Output = IngestionEnd>,
    ) -> Result<StoreCounts, WarehouseError> {
        let now = Utc::now();
        let period = ing.period.code();
        with_pool!(self, |pool| {
            let mut tx = pool.begin().await.op("ingestion")?;
            let (ingestion_id, others, first_id) = open_ingestion!(tx, ing, period, now);
            let mut counts = StoreCounts { ingestion_id, ..Default::default() };
            let mut rejects: Vec<NewReject> = Vec::new();
            let mut pending: Vec<NewObservation> = Vec::new();
            while let Some(msg) = rx.recv().await {
                match msg {
                    Normalized::Observations(obs) => {
                        pending.extend(obs);
                        while pending.len() >= OBS_PER_STATEMENT {
                            let rest = pending.split_off(OBS_PER_STATEMENT);
                            counts.observations +=
                                insert_observations(&mut tx, ingestion_id, period, ids, &pending, now).await?;
                            pending = rest;
                        }
                    }
                    Normalized::Reject(r) => rejects.push(r),
                    Normalized::Skip(_) => {}
                }
            }
            if !pending.is_empty() {
                counts.observations += insert_observations(&mut tx, ingestion_id, period, ids, &pending, now).await?;
            }
            let end = end.await;
            close_ingestion!(tx, ing, end, ingestion_id, first_id, counts, rejects);
            counts.rejects = rejects.len() as u64;
            let origin = RejectOrigin {
                run_id: ing.run_id,
                ingestion_id: Some(ingestion_id),
                fetch_id: ing.fetch_id,
                source_id: &ing.source_id,
                period: ing.period,
                file_name: Some(&ing.file_name),
                now,
            };
            insert_rejects(&mut tx, &origin, &rejects).await?;
            // Compare with what is current, unless nothing is (a first load).
            if others && counts.observations > 0 {
                compare_with_current!(tx, ingestion_id, first_id, now, counts);
            }
            sqlx::query(
                "UPDATE ingestions SET observations = $1, superseded = $2, unchanged = $3, rejects = $4 WHERE id = $5",
            )
            .bind(counts.observations as i64)
            .bind(counts.superseded as i64)
            .bind(counts.unchanged as i64)
            .bind(counts.rejects as i64)
            .bind(ingestion_id)
            .execute(&mut *tx)
            .await
            .op("ingestion")?;
            tx.commit().await.op("ingestion commit")?;
            Ok(counts)
        })
    }

    /// What the files of a run stored, from the warehouse itself (a cancelled run's sources
    /// do not report what they had stored): `(files, observations, superseded, unchanged,
    /// rejects)`.
    pub async fn run_stored(&self, run_id: i64) -> Result<(i64, i64, i64, i64, i64), WarehouseError> {
        with_pool!(self, |pool| {
            sqlx::query_as(
            "SELECT COUNT(*), CAST(COALESCE(SUM(observations), 0) AS BIGINT), CAST(COALESCE(SUM(superseded), 0) AS BIGINT), \
             CAST(COALESCE(SUM(unchanged), 0) AS BIGINT), CAST(COALESCE(SUM(rejects), 0) AS BIGINT) \
             FROM ingestions WHERE run_id = $1"
        )
        .bind(run_id)
        .fetch_one(pool)
        .await
        .op("run stored")
        })
    }

    /// Rows in a collection table (for checks and tests).
    pub async fn count_rows(&self, table: &str) -> Result<i64, WarehouseError> {
        let sql = match table {
            "observations" => "SELECT COUNT(*) FROM observations",
            "ingestions" => "SELECT COUNT(*) FROM ingestions",
            "raw_files" => "SELECT COUNT(*) FROM raw_files",
            "rejects" => "SELECT COUNT(*) FROM rejects",
            "fetches" => "SELECT COUNT(*) FROM fetches",
            "runs" => "SELECT COUNT(*) FROM runs",
            _ => {
                return Err(WarehouseError::Corrupt {
                    what: table.to_string(),
                    detail: "not a countable table".into(),
                });
            }
        };
        with_pool!(self, |pool| sqlx::query_scalar(sql).fetch_one(pool).await.op("count"))
    }

    /// The fetch records of a source, oldest first: (outcome, attempts, http status, error).
    pub async fn fetch_log(
        &self,
        source_id: &str,
    ) -> Result<Vec<(String, i64, Option<i64>, Option<String>)>, WarehouseError> {
        with_pool!(self, |pool| {
            let rows = sqlx::query(
                "SELECT outcome, attempts, http_status, error FROM fetches WHERE source_id = $1 ORDER BY id",
            )
            .bind(source_id)
            .fetch_all(pool)
            .await
            .op("fetch read")?;
            Ok(rows.into_iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))).collect())
        })
    }

    /// Current rejects of a period, newest first.
    /// How many current rejects of the quarter name each agency.
    pub async fn rejects_by_agency(&self, period: Period) -> Result<HashMap<String, usize>, WarehouseError> {
        with_pool!(self, |pool| {
            let rows: Vec<(String, i64)> = sqlx::query_as(
                "SELECT agency_id, COUNT(*) FROM rejects WHERE period = $1 AND is_current = $2 AND agency_id IS NOT NULL \
                 GROUP BY agency_id",
            )
            .bind(period.code())
            .bind(true)
            .fetch_all(pool)
            .await
            .op("reject read")?;
            Ok(rows.into_iter().map(|(a, n)| (a, usize::try_from(n).unwrap_or(0))).collect())
        })
    }

    pub async fn rejects(&self, period: Period) -> Result<Vec<RejectRow>, WarehouseError> {
        with_pool!(self, |pool| {
            let rows = sqlx::query(
                "SELECT id, source_id, agency_id, file_name, location, item_key, raw_text, code, message, created_at FROM rejects \
                 WHERE period = $1 AND is_current = $2 ORDER BY source_id, file_name, id",
            )
            .bind(period.code())
            .bind(true)
            .fetch_all(pool)
            .await
            .op("reject read")?;
            Ok(rows
                .into_iter()
                .map(|r| RejectRow {
                    id: r.get(0),
                    source_id: r.get(1),
                    agency_id: r.get(2),
                    file_name: r.get(3),
                    location: r.get(4),
                    item_key: r.get(5),
                    raw_text: r.get(6),
                    code: r.get(7),
                    message: r.get(8),
                    created_at: r.get(9),
                })
                .collect())
        })
    }

    /// Observations of a period with their trace; all versions when `history`.
    /// When each agency first reported for the quarter (superseded figures included): one
    /// row per agency, computed by the database.
    pub async fn first_reports(
        &self,
        plan_id: &str,
        period: Period,
    ) -> Result<HashMap<String, DateTime<Utc>>, WarehouseError> {
        with_pool!(self, |pool| {
            // A skip scan of the (period, agency_id, loaded_at) index: the next agency after
            // the last one, then its earliest row of the plan, one index seek each, instead of
            // reading the quarter's every observation (580,800 on a national quarter: 125 →
            // 14 ms on SQLite).
            let rows: Vec<(String, Option<DateTime<Utc>>)> = sqlx::query_as(
                "WITH RECURSIVE a(id) AS ( \
                   SELECT MIN(agency_id) FROM observations WHERE period = $2 \
                   UNION ALL \
                   SELECT (SELECT MIN(o.agency_id) FROM observations o WHERE o.period = $2 AND o.agency_id > a.id) \
                   FROM a WHERE a.id IS NOT NULL) \
                 SELECT a.id, (SELECT o.loaded_at FROM observations o WHERE o.period = $2 AND o.agency_id = a.id \
                   AND o.indicator_id IN (SELECT i.id FROM indicators i WHERE i.plan_id = $1) \
                   ORDER BY o.loaded_at LIMIT 1) \
                 FROM a WHERE a.id IS NOT NULL",
            )
            .bind(plan_id)
            .bind(period.code())
            .fetch_all(pool)
            .await
            .op("observation read")?;
            Ok(rows.into_iter().filter_map(|(agency, first)| Some((agency, first?))).collect())
        })
    }

    pub async fn observations(
        &self,
        plan_id: &str,
        period: Period,
        history: bool,
    ) -> Result<Vec<ObservationRow>, WarehouseError> {
        with_pool!(self, |pool| {
            let rows = sqlx::query(
                "SELECT o.id, i.item_key, o.measure, o.agency_id, o.kind, o.value_num, o.value_status, o.raw_text, o.note, \
                 g.source_id, g.file_name, g.sha256, o.location, o.loaded_at, o.superseded_at \
                 FROM observations o JOIN indicators i ON i.id = o.indicator_id JOIN ingestions g ON g.id = o.ingestion_id \
                 WHERE i.plan_id = $1 AND o.period = $2 AND ($3 OR o.superseded_at IS NULL) \
                 ORDER BY i.number, i.sub, o.measure, o.agency_id, o.id",
            )
            .bind(plan_id)
            .bind(period.code())
            .bind(history)
            .fetch_all(pool)
            .await
            .op("observation read")?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                let kind: String = r.get(4);
                let status: Option<String> = r.get(6);
                let value =
                    value_from_parts(&kind, r.get(5), status.as_deref()).ok_or_else(|| WarehouseError::Corrupt {
                        what: format!("observation {}", r.get::<i64, _>(0)),
                        detail: format!("kind {kind}"),
                    })?;
                out.push(ObservationRow {
                    id: r.get(0),
                    period,
                    item: r.get(1),
                    measure: r.get(2),
                    agency_id: super::evaluation::parse_agency(r.get(3))?,
                    value,
                    raw_text: r.get(7),
                    note: r.get(8),
                    source_id: r.get(9),
                    file_name: r.get(10),
                    sha256: r.get(11),
                    location: r.get(12),
                    loaded_at: r.get(13),
                    superseded_at: r.get(14),
                });
            }
            Ok(out)
        })
    }

    /// Current values of one agency for a period: `(item, measure) → value`.
    pub async fn agency_values(
        &self,
        plan_id: &str,
        agency: &AgencyId,
        period: Period,
    ) -> Result<HashMap<(String, String), Value>, WarehouseError> {
        with_pool!(self, |pool| {
            let rows = sqlx::query(
                "SELECT i.item_key, o.measure, o.kind, o.value_num, o.value_status FROM observations o JOIN indicators i ON i.id = o.indicator_id \
                 WHERE i.plan_id = $1 AND o.period = $2 AND o.agency_id = $3 AND o.superseded_at IS NULL",
            )
            .bind(plan_id)
            .bind(period.code())
            .bind(agency.as_str())
            .fetch_all(pool)
            .await
            .op("observation read")?;
            Ok(rows
                .into_iter()
                .filter_map(|r| {
                    let kind: String = r.get(2);
                    let status: Option<String> = r.get(4);
                    value_from_parts(&kind, r.get(3), status.as_deref()).map(|v| ((r.get(0), r.get(1)), v))
                })
                .collect())
        })
    }

    /// [`Self::agency_values`] for many agencies and periods at once (pre-filling the
    /// workbooks attached to a round's reminders).
    pub async fn agencies_values(
        &self,
        plan_id: &str,
        agencies: &[AgencyId],
        periods: &[Period],
    ) -> Result<HashMap<(AgencyId, Period), HashMap<(String, String), Value>>, WarehouseError> {
        let mut out: HashMap<(AgencyId, Period), HashMap<(String, String), Value>> = HashMap::new();
        for chunk in agencies.chunks(400) {
            for period in periods {
                with_pool!(self, |pool| {
                    let mut q = sqlx::QueryBuilder::new(
                        "SELECT o.agency_id, i.item_key, o.measure, o.kind, o.value_num, o.value_status FROM observations o \
                         JOIN indicators i ON i.id = o.indicator_id WHERE o.superseded_at IS NULL AND i.plan_id = ",
                    );
                    q.push_bind(plan_id)
                        .push(" AND o.period = ")
                        .push(period.code().to_string())
                        .push(" AND o.agency_id IN (");
                    let mut sep = q.separated(", ");
                    for a in chunk {
                        sep.push_bind(a.as_str());
                    }
                    q.push(")");
                    for r in q.build().fetch_all(pool).await.op("observation read")? {
                        let kind: String = r.get(3);
                        let status: Option<String> = r.get(5);
                        let agency: String = r.get(0);
                        if let (Some(v), Ok(agency)) =
                            (value_from_parts(&kind, r.get(4), status.as_deref()), AgencyId::parse(&agency))
                        {
                            out.entry((agency, *period)).or_default().insert((r.get(1), r.get(2)), v);
                        }
                    }
                    Ok::<_, WarehouseError>(())
                })?;
            }
        }
        Ok(out)
    }

    /// Item key → indicator id for a plan.
    pub async fn indicator_id_map(&self, plan_id: &str) -> Result<HashMap<ItemKey, i64>, WarehouseError> {
        Ok(self
            .indicator_ids(plan_id)
            .await?
            .into_iter()
            .filter_map(|(k, id)| k.parse().ok().map(|k| (k, id)))
            .collect())
    }

    /// A canonical dump of a period's observations, ingestions and rejects (ids and
    /// times excluded), to compare two warehouses or two moments.
    pub async fn dump_period(&self, period: Period) -> Result<String, WarehouseError> {
        with_pool!(self, |pool| {
            let mut out = String::new();
            for r in sqlx::query(
                "SELECT i.item_key, o.measure, o.agency_id, o.kind, o.value_num, o.value_status, o.raw_text, o.location, g.sha256, \
                 o.superseded_at IS NULL FROM observations o JOIN indicators i ON i.id = o.indicator_id JOIN ingestions g ON g.id = o.ingestion_id \
                 WHERE o.period = $1 ORDER BY i.number, i.sub, o.measure, o.agency_id, o.id",
            )
            .bind(period.code())
            .fetch_all(pool)
            .await
            .op("dump")?
            {
                out.push_str(&format!(
                    "obs {} {} {} {} {:?} {:?} {:?} {} {} {}\n",
                    r.get::<String, _>(0),
                    r.get::<String, _>(1),
                    r.get::<String, _>(2),
                    r.get::<String, _>(3),
                    r.get::<Option<f64>, _>(4),
                    r.get::<Option<String>, _>(5),
                    r.get::<String, _>(6),
                    r.get::<String, _>(7),
                    r.get::<String, _>(8),
                    r.get::<bool, _>(9)
                ));
            }
            // Files and rejects: four texts and whether the row is current.
            for (tag, sql) in [
                (
                    "ing",
                    "SELECT source_id, file_name, sha256, status, is_current FROM ingestions WHERE period = $1 ORDER BY source_id, file_name, id",
                ),
                (
                    "rej",
                    "SELECT source_id, location, code, message, is_current FROM rejects WHERE period = $1 ORDER BY source_id, location, code",
                ),
            ] {
                for r in sqlx::query(sql).bind(period.code()).fetch_all(pool).await.op("dump")? {
                    out.push_str(&format!(
                        "{tag} {} {} {} {} {}\n",
                        r.get::<String, _>(0),
                        r.get::<String, _>(1),
                        r.get::<String, _>(2),
                        r.get::<String, _>(3),
                        r.get::<bool, _>(4)
                    ));
                }
            }
            Ok(out)
        })
    }
}

/// `INSERT … VALUES (…), (…)` for `rows` rows, for PostgreSQL: `$1` period, `$2` ingestion
/// and `$3` load time are bound once and shared by every row, which binds nine values after
/// them. (SQLite takes its rows through its C API instead: [`super::sqlite_bulk`].)
fn insert_sql(rows: usize) -> String {
    let mut sql = String::with_capacity(140 + rows * 60);
    sql.push_str(
        "INSERT INTO observations (period, indicator_id, measure, agency_id, kind, value_num, value_status, raw_text, note, ingestion_id, location, loaded_at) VALUES ",
    );
    for r in 0..rows {
        if r > 0 {
            sql.push(',');
        }
        let b = 4 + r * 9;
        sql.push_str("($1");
        for p in b..b + 8 {
            sql.push_str(",$");
            sql.push_str(&p.to_string());
        }
        sql.push_str(",$2,$");
        sql.push_str(&(b + 8).to_string());
        sql.push_str(",$3)");
    }
    sql
}

/// One multi-row statement per batch on PostgreSQL.
async fn insert_postgres(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    ingestion_id: i64,
    period: i64,
    ids: &HashMap<ItemKey, i64>,
    rows: &[NewObservation],
    now: DateTime<Utc>,
) -> Result<u64, WarehouseError> {
    let rows: Vec<&NewObservation> = rows.iter().filter(|o| ids.contains_key(&o.item)).collect();
    if rows.is_empty() {
        return Ok(0);
    }
    let mut q = sqlx::query(sqlx::AssertSqlSafe(insert_sql(rows.len()))).bind(period).bind(ingestion_id).bind(now);
    for o in &rows {
        let (kind, num, status) = value_parts(&o.value);
        q = q
            .bind(ids[&o.item])
            .bind(o.measure.as_str())
            .bind(o.agency.as_str())
            .bind(kind)
            .bind(num)
            .bind(status)
            .bind(o.raw_text.as_str())
            .bind(o.note.as_deref())
            .bind(o.location.as_str());
    }
    q.execute(&mut **tx).await.op("observation insert")?;
    Ok(rows.len() as u64)
}

/// Inserts a batch of observations with one multi-row statement.
async fn insert_observations<DB: ObservationSink>(
    tx: &mut sqlx::Transaction<'_, DB>,
    ingestion_id: i64,
    period: i64,
    ids: &HashMap<ItemKey, i64>,
    rows: &[NewObservation],
    now: DateTime<Utc>,
) -> Result<u64, WarehouseError> {
    DB::insert(tx, ingestion_id, period, ids, rows, now).await
}

/// Per-backend multi-row inserts (the query builder's placeholders differ).
pub(crate) trait ObservationSink: sqlx::Database {
    fn insert<'a>(
        tx: &'a mut sqlx::Transaction<'_, Self>,
        ingestion_id: i64,
        period: i64,
        ids: &'a HashMap<ItemKey, i64>,
        rows: &'a [NewObservation],
        now: DateTime<Utc>,
    ) -> impl std::future::Future<Output = Result<u64, WarehouseError>> + Send + 'a;

    fn insert_rejects<'a>(
        tx: &'a mut sqlx::Transaction<'_, Self>,
        origin: &'a RejectOrigin<'a>,
        rows: &'a [NewReject],
    ) -> impl std::future::Future<Output = Result<(), WarehouseError>> + Send + 'a;
}

macro_rules! impl_sink {
    ($db:ty, $insert:path) => {
        impl ObservationSink for $db {
            async fn insert(
                tx: &mut sqlx::Transaction<'_, Self>,
                ingestion_id: i64,
                period: i64,
                ids: &HashMap<ItemKey, i64>,
                rows: &[NewObservation],
                now: DateTime<Utc>,
            ) -> Result<u64, WarehouseError> {
                $insert(tx, ingestion_id, period, ids, rows, now).await
            }

            async fn insert_rejects(
                tx: &mut sqlx::Transaction<'_, Self>,
                origin: &RejectOrigin<'_>,
                rows: &[NewReject],
            ) -> Result<(), WarehouseError> {
                let RejectOrigin { run_id, ingestion_id, fetch_id, source_id, period, file_name, now } = *origin;
                for chunk in rows.chunks(500) {
                    let mut qb: QueryBuilder<$db> = QueryBuilder::new(
                        "INSERT INTO rejects (run_id, ingestion_id, fetch_id, source_id, period, agency_id, file_name, location, item_key, raw_text, code, message, is_current, created_at) ",
                    );
                    qb.push_values(chunk, |mut b, r| {
                        b.push_bind(run_id)
                            .push_bind(ingestion_id)
                            .push_bind(fetch_id)
                            .push_bind(source_id.to_string())
                            .push_bind(period.code())
                            .push_bind(r.agency.as_ref().map(|a| a.as_str().to_string()))
                            .push_bind(file_name.map(str::to_string))
                            .push_bind(r.location.clone())
                            .push_bind(r.item_key.clone())
                            .push_bind(r.raw_text.clone())
                            .push_bind(r.code)
                            .push_bind(r.message.clone())
                            .push_bind(true)
                            .push_bind(now);
                    });
                    qb.build().execute(&mut **tx).await.op("reject insert")?;
                }
                Ok(())
            }
        }
    };
}

impl_sink!(sqlx::Sqlite, super::sqlite_bulk::insert_observations);
impl_sink!(sqlx::Postgres, insert_postgres);

/// The file or fetch a reject of a whole file belongs to.
#[derive(Debug, Clone, Copy)]
pub struct FileRejectAt<'a> {
    pub run_id: Option<i64>,
    pub fetch_id: Option<i64>,
    pub source_id: &'a str,
    pub period: Period,
    pub file_name: Option<&'a str>,
}

/// Where a batch of rejects came from: the run, the file or fetch, and when.
#[derive(Clone, Copy)]
pub(crate) struct RejectOrigin<'a> {
    run_id: Option<i64>,
    ingestion_id: Option<i64>,
    fetch_id: Option<i64>,
    source_id: &'a str,
    period: Period,
    file_name: Option<&'a str>,
    now: DateTime<Utc>,
}

async fn insert_rejects<DB: ObservationSink>(
    tx: &mut sqlx::Transaction<'_, DB>,
    origin: &RejectOrigin<'_>,
    rows: &[NewReject],
) -> Result<(), WarehouseError> {
    if rows.is_empty() {
        return Ok(());
    }
    DB::insert_rejects(tx, origin, rows).await
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_string()).unwrap_or_else(|_| "localhost".into())
}
