//! Storing gap evaluations as versioned rows and reading them back: the current view of
//! a period, or what was known at a given run.
//!
//! Owns: the stored gap rows (`StoredGap`, `EvalCounts`, `GapStatus`, `MemberTally`).
//! Receives: `domain::gap::GapRow`s from `jobs::evaluate` (made by `evaluate`); the
//! `catalog::plan::Catalog` and `catalog::Directory` to map ids. Hands on: a period's
//! `domain::gap::Observations` to `jobs::evaluate`; `StoredGap`s to `jobs`, `report`,
//! `serve` and `cli`; status counts and `MemberTally`s to `report::overview`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use serde::Serialize;
use sqlx::Row;

use super::collect::value_from_parts;
use super::{QueryContext, Warehouse, WarehouseError, with_pool};
use crate::catalog::Directory;
use crate::catalog::plan::Catalog;
use crate::domain::gap::{GapRow, Observations, Observed, Refusal, RowKind, RowOwner, Status};
use crate::domain::{AgencyId, ItemKey, Period, Section, Value};

/// What storing an evaluation did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct EvalCounts {
    /// Rows that did not exist before.
    pub new: u64,
    /// Rows whose content changed (the old version is kept, closed by this run).
    pub changed: u64,
    pub unchanged: u64,
    /// Rows no longer produced (closed).
    pub gone: u64,
}

/// A stored gap row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredGap {
    pub item: String,
    pub number: i64,
    pub sub: i64,
    pub section: Section,
    pub task: String,
    pub measure: String,
    pub kind: RowKind,
    pub agency: RowOwner,
    pub status: Status,
    pub target: String,
    pub expected: Option<f64>,
    pub actual: Option<Value>,
    pub gap: Option<f64>,
    pub pace: Option<f64>,
    pub reason: String,
    pub co: Vec<AgencyId>,
    pub members: Option<(i64, i64)>,
    pub observation_id: Option<i64>,
    pub valid_from_run: i64,
    /// The figure sent and refused, for a `refused` row.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reject: Option<Refusal>,
}

/// A stable 64-bit FNV-1a hash of a row's content: stored, compared across runs and
/// versions, so it must not depend on the standard library's hasher.
fn content_hash(r: &GapRow) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x0100_0000_01b3);
    };
    feed(r.status.as_str().as_bytes());
    feed(r.target.as_bytes());
    for x in [r.expected, r.gap, r.pace, r.actual.and_then(|v| v.number())] {
        feed(&x.map_or([0xee; 8], f64::to_le_bytes));
    }
    feed(r.actual.and_then(|v| v.status()).map_or("", |p| p.as_str()).as_bytes());
    feed(r.reason.as_bytes());
    for c in &r.co {
        feed(c.as_str().as_bytes());
    }
    if let Some((a, b)) = r.members {
        feed(&a.to_le_bytes());
        feed(&b.to_le_bytes());
    }
    feed(&r.observation_id.unwrap_or(-1).to_le_bytes());
    if let Some(x) = &r.refused {
        feed(reject_json(Some(x)).unwrap_or_default().as_bytes());
    }
    h as i64
}

fn actual_parts(v: Option<Value>) -> (Option<&'static str>, Option<f64>, Option<&'static str>) {
    match v {
        None => (None, None, None),
        Some(Value::Percent(x)) => (Some("percent"), Some(x), None),
        Some(Value::Count(x)) => (Some("count"), Some(x), None),
        Some(Value::Status(p)) => (Some("status"), None, Some(p.as_str())),
    }
}

fn reject_json(r: Option<&Refusal>) -> Option<String> {
    r.and_then(|r| serde_json::to_string(r).ok())
}

const ROWS_PER_STATEMENT: usize = 400;
const BINDS_PER_ROW: usize = 19;

/// A multi-row insert for SQLite: plain `?` parameters (sqlx looks every parameter's name
/// up, and SQLite finds names by a linear scan: thousands of numbered parameters make each
/// statement quadratic), with the period, run and time as literals, so the statement is
/// the same for every full chunk and is prepared once.
fn insert_sql(rows: usize, period: i64, run: i64, at: DateTime<Utc>, replay: bool) -> String {
    let at = at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false);
    let mut sql = String::from(
        "INSERT INTO evaluations (indicator_id, measure, row_kind, agency_id, status, target, expected, actual_kind, actual_num, \
         actual_status, gap, pace, reason, co, members_judged, members_good, observation_id, content_hash, reject, period, valid_from_run, valid_to_run, evaluated_at) VALUES ",
    );
    let to = if replay { run.to_string() } else { "NULL".into() };
    let row = format!("({}{period},{run},{to},'{at}')", "?,".repeat(BINDS_PER_ROW));
    for r in 0..rows {
        if r > 0 {
            sql.push(',');
        }
        sql.push_str(&row);
    }
    sql
}

/// Bulk insertion of evaluation rows inside a transaction: multi-row `INSERT`s on SQLite,
/// `COPY … FROM STDIN` (CSV) on PostgreSQL.
trait EvalRowsSink {
    fn insert_rows(
        &mut self,
        rows: &[(&GapRow, i64, i64)],
        period: i64,
        run: i64,
        at: DateTime<Utc>,
        replay: bool,
    ) -> impl std::future::Future<Output = Result<(), WarehouseError>> + Send;
}

impl EvalRowsSink for sqlx::Transaction<'_, sqlx::Sqlite> {
    async fn insert_rows(
        &mut self,
        rows: &[(&GapRow, i64, i64)],
        period: i64,
        run: i64,
        at: DateTime<Utc>,
        replay: bool,
    ) -> Result<(), WarehouseError> {
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(insert_sql(chunk.len(), period, run, at, replay)));
            for (r, indicator_id, hash) in chunk {
                let (kind, num, status) = actual_parts(r.actual);
                q = q
                    .bind(*indicator_id)
                    .bind(r.measure.as_str())
                    .bind(r.kind.as_str())
                    .bind(r.agency.as_str())
                    .bind(r.status.as_str())
                    .bind(r.target.as_str())
                    .bind(r.expected)
                    .bind(kind)
                    .bind(num)
                    .bind(status)
                    .bind(r.gap)
                    .bind(r.pace)
                    .bind(r.reason.as_str())
                    .bind(super::json(&r.co))
                    .bind(r.members.map(|m| i64::from(m.0)))
                    .bind(r.members.map(|m| i64::from(m.1)))
                    .bind(r.observation_id)
                    .bind(*hash)
                    .bind(reject_json(r.refused.as_ref()));
            }
            q.execute(&mut **self).await.op("evaluation insert")?;
        }
        Ok(())
    }
}

impl EvalRowsSink for sqlx::Transaction<'_, sqlx::Postgres> {
    async fn insert_rows(
        &mut self,
        rows: &[(&GapRow, i64, i64)],
        period: i64,
        run: i64,
        at: DateTime<Utc>,
        replay: bool,
    ) -> Result<(), WarehouseError> {
        fn field(out: &mut String, v: Option<&str>) {
            if let Some(v) = v {
                out.push('"');
                out.push_str(&v.replace('"', "\"\""));
                out.push('"');
            }
            out.push(',');
        }
        fn num<T: ToString>(out: &mut String, v: Option<T>) {
            if let Some(v) = v {
                out.push_str(&v.to_string());
            }
            out.push(',');
        }
        let at = at.to_rfc3339();
        let mut copy = self
            .copy_in_raw(
                "COPY evaluations (indicator_id, measure, row_kind, agency_id, status, target, expected, actual_kind, actual_num, actual_status, \
                 gap, pace, reason, co, members_judged, members_good, observation_id, content_hash, reject, period, valid_from_run, valid_to_run, evaluated_at) \
                 FROM STDIN WITH (FORMAT csv)",
            )
            .await
            .op("evaluation copy")?;
        let mut buf = String::with_capacity(1 << 20);
        for (r, indicator_id, hash) in rows {
            let (kind, n, status) = actual_parts(r.actual);
            num(&mut buf, Some(indicator_id));
            field(&mut buf, Some(&r.measure));
            field(&mut buf, Some(r.kind.as_str()));
            field(&mut buf, Some(&r.agency));
            field(&mut buf, Some(r.status.as_str()));
            field(&mut buf, Some(&r.target));
            num(&mut buf, r.expected);
            field(&mut buf, kind);
            num(&mut buf, n);
            field(&mut buf, status);
            num(&mut buf, r.gap);
            num(&mut buf, r.pace);
            field(&mut buf, Some(&r.reason));
            field(&mut buf, Some(&super::json(&r.co)));
            num(&mut buf, r.members.map(|m| m.0));
            num(&mut buf, r.members.map(|m| m.1));
            num(&mut buf, r.observation_id);
            num(&mut buf, Some(hash));
            field(&mut buf, reject_json(r.refused.as_ref()).as_deref());
            let to = if replay { run.to_string() } else { String::new() };
            buf.push_str(&format!("{period},{run},{to},{at}\n"));
            if buf.len() > (1 << 20) {
                copy.send(std::mem::take(&mut buf).into_bytes()).await.op("evaluation copy")?;
            }
        }
        if !buf.is_empty() {
            copy.send(buf.into_bytes()).await.op("evaluation copy")?;
        }
        copy.finish().await.op("evaluation copy")?;
        Ok(())
    }
}

impl Warehouse {
    /// The current observations of a period, keyed for evaluation. Streams the rows.
    pub async fn period_observations(
        &self,
        catalog: &Catalog,
        dir: &Directory,
        ids: &HashMap<ItemKey, i64>,
        period: Period,
        keep: &(dyn Fn(usize, usize) -> bool + Sync),
    ) -> Result<Observations, WarehouseError> {
        // indicator id → (catalogue index, measure keys)
        let by_id: HashMap<i64, usize> =
            catalog.indicators.iter().enumerate().filter_map(|(i, ind)| ids.get(&ind.key).map(|id| (*id, i))).collect();
        let agency_index: HashMap<String, usize> = dir.iter().enumerate().map(|(i, a)| (a.id.to_string(), i)).collect();
        // One result row per indicator and measure, the values packed in a string: the
        // driver then moves a few hundred rows instead of a million (sqlx hands SQLite rows
        // over one by one, at about 3 µs each).
        let sql = match self.backend() {
            // Grouped by indicator only, which follows the index: no sort.
            super::Backend::Sqlite => {
                "SELECT indicator_id, group_concat(agency_id || char(31) || measure || char(31) || kind || char(31) || COALESCE(value_num, '') \
                 || char(31) || COALESCE(value_status, '') || char(31) || id, char(30)) \
                 FROM observations WHERE period = $1 AND superseded_at IS NULL GROUP BY indicator_id"
            }
            super::Backend::Postgres => {
                "SELECT indicator_id, string_agg(agency_id || chr(31) || measure || chr(31) || kind || chr(31) || COALESCE(value_num::text, '') \
                 || chr(31) || COALESCE(value_status, '') || chr(31) || id::text, chr(30)) \
                 FROM observations WHERE period = $1 AND superseded_at IS NULL GROUP BY indicator_id"
            }
        };
        with_pool!(self, |pool| {
            let mut obs = Observations::with_capacity(1024);
            let mut rows = sqlx::query(sql).bind(period.code()).fetch(pool);
            while let Some(r) = rows.try_next().await.op("observation read")? {
                let Some(&index) = by_id.get(&r.get::<i64, _>(0)) else { continue };
                let measures = &catalog.indicators[index].measures;
                let packed: &str = r.get(1);
                for entry in packed.split('\u{1e}') {
                    let mut f = entry.split('\u{1f}');
                    let (Some(agency), Some(measure), Some(kind), Some(num), Some(status), Some(id)) =
                        (f.next(), f.next(), f.next(), f.next(), f.next(), f.next())
                    else {
                        continue;
                    };
                    let Some(&a) = agency_index.get(agency) else { continue };
                    if !keep(index, a) {
                        continue;
                    }
                    let Some(m) = measures.iter().position(|x| x.key == measure) else { continue };
                    let num = if num.is_empty() { None } else { num.parse::<f64>().ok() };
                    let status = (!status.is_empty()).then_some(status);
                    let Some(value) = value_from_parts(kind, num, status) else { continue };
                    let Ok(id) = id.parse::<i64>() else { continue };
                    obs.insert(index, m, a, Observed { value, id });
                }
            }
            Ok::<_, WarehouseError>(obs)
        })
    }

    /// Stores an evaluation run: new and changed rows are inserted, replaced and vanished
    /// rows are closed, identical rows are left alone. A `replay` is stored apart instead
    /// (see [`Warehouse::gaps`] with its run).
    pub async fn store_evaluation(
        &self,
        run_id: i64,
        period: Period,
        ids: &HashMap<ItemKey, i64>,
        rows: &[GapRow],
        replay: bool,
    ) -> Result<EvalCounts, WarehouseError> {
        let now = Utc::now();
        let code = period.code();
        if replay {
            let to_insert: Vec<(&GapRow, i64, i64)> =
                rows.iter().filter_map(|r| ids.get(&r.item).map(|id| (r, *id, content_hash(r)))).collect();
            return self.store_replay(run_id, code, &to_insert).await;
        }
        with_pool!(self, |pool| {
            let mut tx = pool.begin().await.op("evaluation")?;
            let mut current: HashMap<(i64, String, String, String), (i64, i64)> = HashMap::new();
            {
                let mut stream = sqlx::query(
                    "SELECT indicator_id, measure, row_kind, agency_id, id, content_hash FROM evaluations WHERE period = $1 AND valid_to_run IS NULL",
                )
                .bind(code)
                .fetch(&mut *tx);
                while let Some(r) = stream.try_next().await.op("evaluation read")? {
                    current.insert((r.get(0), r.get(1), r.get(2), r.get(3)), (r.get(4), r.get(5)));
                }
            }
            let mut counts = EvalCounts::default();
            let mut to_insert: Vec<(&GapRow, i64, i64)> = Vec::new();
            let mut to_close: Vec<i64> = Vec::new();
            for r in rows {
                let Some(&indicator_id) = ids.get(&r.item) else { continue };
                let hash = content_hash(r);
                match current.remove(&(indicator_id, r.measure.clone(), r.kind.as_str().to_string(), r.agency.clone()))
                {
                    Some((_, old)) if old == hash => counts.unchanged += 1,
                    Some((id, _)) => {
                        counts.changed += 1;
                        to_close.push(id);
                        to_insert.push((r, indicator_id, hash));
                    }
                    None => {
                        counts.new += 1;
                        to_insert.push((r, indicator_id, hash));
                    }
                }
            }
            counts.gone = current.len() as u64;
            to_close.extend(current.into_values().map(|(id, _)| id));
            for chunk in to_close.chunks(500) {
                let list = chunk.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE evaluations SET valid_to_run = $1 WHERE id IN ({list})"
                )))
                .bind(run_id)
                .execute(&mut *tx)
                .await
                .op("evaluation close")?;
            }
            tx.insert_rows(&to_insert, code, run_id, now, false).await?;
            tx.commit().await.op("evaluation commit")?;
            Ok(counts)
        })
    }

    /// A judgement as of another moment (`evaluate --at`, `remind --at`) as a replay:
    /// every row opened and closed by its own run, so it is seen with `--as-of RUN` only and
    /// the current table is left as it was.
    async fn store_replay(
        &self,
        run_id: i64,
        code: i64,
        to_insert: &[(&GapRow, i64, i64)],
    ) -> Result<EvalCounts, WarehouseError> {
        let now = Utc::now();
        with_pool!(self, |pool| {
            let mut tx = pool.begin().await.op("evaluation")?;
            tx.insert_rows(to_insert, code, run_id, now, true).await?;
            tx.commit().await.op("evaluation commit")?;
            Ok::<_, WarehouseError>(())
        })?;
        Ok(EvalCounts { new: to_insert.len() as u64, ..EvalCounts::default() })
    }

    /// Whether a run stored a replay of the period.
    async fn is_replay(&self, period: Period, run: i64) -> Result<bool, WarehouseError> {
        with_pool!(self, |pool| sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM evaluations WHERE period = $1 AND valid_from_run = $2 AND valid_to_run = $2"
        )
        .bind(period.code())
        .bind(run)
        .fetch_one(pool)
        .await
        .op("gap read")
        .map(|n| n > 0))
    }

    /// The gap rows of a period: current, or as known right after run `as_of`.
    /// The periods with a stored evaluation, latest first. One index seek per period (the
    /// highest code below the last one found) rather than a `DISTINCT` that reads every
    /// row's index entry: a national warehouse holds 160,000 rows per quarter.
    pub async fn evaluated_periods(&self) -> Result<Vec<Period>, WarehouseError> {
        let mut out = Vec::new();
        let mut below = i64::MAX;
        loop {
            let code: Option<i64> = with_pool!(self, |pool| {
                sqlx::query_scalar("SELECT MAX(period) FROM evaluations WHERE period < $1")
                    .bind(below)
                    .fetch_one(pool)
                    .await
                    .op("gap read")
            })?;
            let Some(code) = code else { return Ok(out) };
            out.extend(Period::from_code(code));
            below = code;
        }
    }

    pub async fn gaps(
        &self,
        plan_id: &str,
        period: Period,
        as_of: Option<i64>,
    ) -> Result<Vec<StoredGap>, WarehouseError> {
        let replay = match as_of {
            Some(run) => self.is_replay(period, run).await?,
            None => false,
        };
        with_pool!(self, |pool| {
            let sql = "SELECT i.item_key, i.number, i.sub, i.section, i.task, e.measure, e.row_kind, e.agency_id, e.status, e.target, \
                       e.expected, e.actual_kind, e.actual_num, e.actual_status, e.gap, e.pace, e.reason, e.co, e.members_judged, e.members_good, \
                       e.observation_id, e.valid_from_run, e.reject \
                       FROM evaluations e JOIN indicators i ON i.id = e.indicator_id \
                       WHERE i.plan_id = $1 AND e.period = $2 AND ( ($3 < 0 AND e.valid_to_run IS NULL) \
                       OR ($4 AND e.valid_from_run = $3 AND e.valid_to_run = $3) \
                       OR (NOT $4 AND $3 >= 0 AND e.valid_from_run <= $3 AND (e.valid_to_run IS NULL OR e.valid_to_run > $3)) ) \
                       ORDER BY i.number, i.sub, e.measure, e.row_kind, e.agency_id";
            let rows = sqlx::query(sql)
                .bind(plan_id)
                .bind(period.code())
                .bind(as_of.unwrap_or(-1))
                .bind(replay)
                .fetch_all(pool)
                .await
                .op("gap read")?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                let status: String = r.get(8);
                let kind: Option<String> = r.get(11);
                let actual_status: Option<String> = r.get(13);
                let co: String = r.get(17);
                let judged: Option<i64> = r.get(18);
                let good: Option<i64> = r.get(19);
                out.push(StoredGap {
                    item: r.get(0),
                    number: r.get(1),
                    sub: r.get(2),
                    section: parse_section(r.get(3))?,
                    task: r.get(4),
                    measure: r.get(5),
                    kind: parse_kind(r.get(6))?,
                    agency: parse_owner(r.get(7))?,
                    status: parse_status(&status)?,
                    target: r.get(9),
                    expected: r.get(10),
                    actual: kind.as_deref().and_then(|k| value_from_parts(k, r.get(12), actual_status.as_deref())),
                    gap: r.get(14),
                    pace: r.get(15),
                    reason: r.get(16),
                    co: serde_json::from_str(&co).unwrap_or_default(),
                    members: judged.zip(good),
                    observation_id: r.get(20),
                    valid_from_run: r.get(21),
                    reject: r.get::<Option<String>, _>(22).and_then(|j| serde_json::from_str(&j).ok()),
                });
            }
            Ok(out)
        })
    }

    /// The latest run of a job for a period that finished, if any.
    pub async fn last_run(&self, job: &str, period: Period) -> Result<Option<i64>, WarehouseError> {
        with_pool!(self, |pool| {
            sqlx::query_scalar(
            "SELECT id FROM runs WHERE job = $1 AND period = $2 AND status IN ('succeeded', 'partial') ORDER BY id DESC LIMIT 1",
        )
        .bind(job)
        .bind(period.code())
        .fetch_optional(pool)
        .await
        .op("run read")
        })
    }
}

impl RowKind {
    pub fn parse(s: &str) -> Option<Self> {
        [RowKind::Member, RowKind::Aggregate, RowKind::District].into_iter().find(|k| k.as_str() == s)
    }
}

impl Warehouse {
    /// Drops every evaluation of a period (benchmarks and tests start from nothing).
    pub async fn reset_evaluations(&self, period: Period) -> Result<u64, WarehouseError> {
        with_pool!(self, |pool| sqlx::query("DELETE FROM evaluations WHERE period = $1")
            .bind(period.code())
            .execute(pool)
            .await
            .op("evaluation reset")
            .map(|r| r.rows_affected()))
    }
}

/// A current gap row's facts for counting, without its texts: what the dashboard's overview
/// picks an indicator's headline status from.
#[derive(Debug, Clone, PartialEq)]
pub struct GapStatus {
    pub number: i64,
    pub sub: i64,
    pub measure: String,
    pub section: Section,
    pub kind: RowKind,
    pub agency: RowOwner,
    pub status: Status,
}

/// How many of a member's current rows carry a status, and how many of those hold a figure.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberTally {
    pub agency: AgencyId,
    pub status: Status,
    pub rows: usize,
    pub reported: usize,
}

// What the warehouse reads back is typed here, once: a value no writer produces is
// corruption, said so, rather than a string every caller compares.
fn corrupt(what: &str, s: &str) -> WarehouseError {
    WarehouseError::Corrupt { what: what.into(), detail: s.to_string() }
}

fn parse_status(s: &str) -> Result<Status, WarehouseError> {
    Status::parse(s).ok_or_else(|| corrupt("evaluation status", s))
}

fn parse_kind(s: &str) -> Result<RowKind, WarehouseError> {
    RowKind::parse(s).ok_or_else(|| corrupt("evaluation row kind", s))
}

fn parse_owner(s: &str) -> Result<RowOwner, WarehouseError> {
    RowOwner::parse(s).map_err(|_| corrupt("evaluation agency", s))
}

pub(super) fn parse_agency(s: &str) -> Result<AgencyId, WarehouseError> {
    AgencyId::parse(s).map_err(|_| corrupt("agency id", s))
}

/// Read for every gap row: the stored snake_case name is matched as it is, without the
/// text folding `Section::parse` does for headings people write.
fn parse_section(s: &str) -> Result<Section, WarehouseError> {
    Section::ALL.into_iter().find(|x| x.as_str() == s).ok_or_else(|| corrupt("indicator section", s))
}

/// Counts for the dashboard's overview, by `GROUP BY` over the current evaluation: a
/// quarter's figures without reading (and decoding) its 160,000 gap rows and their texts.
impl Warehouse {
    /// The latest run the quarter's current gap rows come from; `None` when it was never
    /// evaluated.
    pub async fn gaps_as_of(&self, plan_id: &str, period: Period) -> Result<Option<i64>, WarehouseError> {
        with_pool!(self, |pool| {
            sqlx::query_scalar::<_, Option<i64>>(
                "SELECT MAX(e.valid_from_run) FROM evaluations e JOIN indicators i ON i.id = e.indicator_id \
                 WHERE i.plan_id = $1 AND e.period = $2 AND e.valid_to_run IS NULL",
            )
            .bind(plan_id)
            .bind(period.code())
            .fetch_one(pool)
            .await
            .op("gap read")
        })
    }

    /// (section, status, how many) of the quarter's current aggregate rows: the province's
    /// headline of every indicator (and measure) that has one.
    pub async fn aggregate_status_counts(
        &self,
        plan_id: &str,
        period: Period,
    ) -> Result<Vec<(String, Status, usize)>, WarehouseError> {
        with_pool!(self, |pool| {
            let rows: Vec<(String, String, i64)> = sqlx::query_as(
                "SELECT i.section, e.status, COUNT(*) FROM evaluations e JOIN indicators i ON i.id = e.indicator_id \
                 WHERE i.plan_id = $1 AND e.period = $2 AND e.valid_to_run IS NULL AND e.row_kind = 'aggregate' \
                 GROUP BY i.section, e.status",
            )
            .bind(plan_id)
            .bind(period.code())
            .fetch_all(pool)
            .await
            .op("gap read")?;
            rows.into_iter()
                .map(|(section, status, n)| Ok((section, parse_status(&status)?, usize::try_from(n).unwrap_or(0))))
                .collect()
        })
    }

    /// The current rows of the indicators (and measures) that have no aggregate row, in
    /// the order of [`Warehouse::gaps`]: the few whose headline is picked from their rows.
    pub async fn unaggregated_gap_statuses(
        &self,
        plan_id: &str,
        period: Period,
    ) -> Result<Vec<GapStatus>, WarehouseError> {
        with_pool!(self, |pool| {
            let rows: Vec<(i64, i64, String, String, String, String, String)> = sqlx::query_as(
                "SELECT i.number, i.sub, i.section, e.measure, e.row_kind, e.agency_id, e.status \
                 FROM evaluations e JOIN indicators i ON i.id = e.indicator_id \
                 WHERE i.plan_id = $1 AND e.period = $2 AND e.valid_to_run IS NULL AND (e.indicator_id, e.measure) NOT IN ( \
                   SELECT a.indicator_id, a.measure FROM evaluations a WHERE a.period = $2 \
                   AND a.row_kind = 'aggregate' AND a.valid_to_run IS NULL) \
                 ORDER BY i.number, i.sub, e.measure, e.row_kind, e.agency_id",
            )
            .bind(plan_id)
            .bind(period.code())
            .fetch_all(pool)
            .await
            .op("gap read")?;
            rows.into_iter()
                .map(|(number, sub, section, measure, kind, agency, status)| {
                    Ok(GapStatus {
                        number,
                        sub,
                        measure,
                        section: parse_section(&section)?,
                        kind: parse_kind(&kind)?,
                        agency: parse_owner(&agency)?,
                        status: parse_status(&status)?,
                    })
                })
                .collect()
        })
    }

    /// Each member's current rows by status, not-applicable ones left out, with how many
    /// hold a figure.
    pub async fn member_tallies(&self, plan_id: &str, period: Period) -> Result<Vec<MemberTally>, WarehouseError> {
        with_pool!(self, |pool| {
            let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(
                "SELECT e.agency_id, e.status, COUNT(*), \
                 SUM(CASE WHEN e.actual_kind IS NOT NULL AND (e.actual_num IS NOT NULL OR e.actual_status IS NOT NULL) THEN 1 ELSE 0 END) \
                 FROM evaluations e JOIN indicators i ON i.id = e.indicator_id \
                 WHERE i.plan_id = $1 AND e.period = $2 AND e.valid_to_run IS NULL AND e.row_kind = 'member' \
                 AND e.status <> 'not_applicable' GROUP BY e.agency_id, e.status",
            )
            .bind(plan_id)
            .bind(period.code())
            .fetch_all(pool)
            .await
            .op("gap read")?;
            rows.into_iter()
                .map(|(agency, status, rows, reported)| {
                    Ok(MemberTally {
                        agency: parse_agency(&agency)?,
                        status: parse_status(&status)?,
                        rows: usize::try_from(rows).unwrap_or(0),
                        reported: usize::try_from(reported).unwrap_or(0),
                    })
                })
                .collect()
        })
    }
}
