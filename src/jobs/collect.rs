//! `collect`: for one period, fetch every source, keep each file as a raw snapshot, and
//! ingest what changed. One bad source never stops the others: its failure becomes a
//! reject with a reason, and the run ends `partial`.
//!
//! Owns: `CollectRequest`, `CollectReport` (`SourceReport`, `FileReport`, `Failure`,
//! `Change`, `Preview`), the `Progress` trait, `CollectError`, `collect` and the
//! single-file entries `ingest_bytes`, `ingest_file`, `ingest_backfill` (with `FileBytes`).
//! Receives: the `app::Context` (its `sources::Source`s, catalogue, directory, warehouse)
//! and a `CollectRequest` from `jobs::dispatch`, `jobs::preview` and `cli`; bytes from
//! `sources::http::Fetcher`, `sources::json_api` and `sources::list_folder`;
//! `warehouse::LastFetch` for conditional requests. Hands on: bytes and a `FileSpec` to
//! `ingest` (or `sources::json_api::parse_json`), the `Normalized` items, fetch records and
//! raw snapshots to `warehouse`; a `CollectReport` to the caller.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use futures::StreamExt;
use serde::Serialize;
use tokio::sync::mpsc;

use crate::app::Context;
use crate::domain::{AgencyId, ItemKey, Period, Value};
use crate::events::Event;
use crate::ingest::normalize::{NewReject, Normalized};
use crate::ingest::sheet::FileFormat;
use crate::ingest::{FileSpec, FileSummary};
use crate::sources::http::{Fetched, Fetcher};
use crate::sources::{Source, SourceKind, expand, list_folder};
use crate::warehouse::{
    FetchRecord, FileRejectAt, IngestionEnd, NewIngestion, NewRun, RunStatus, StoreCounts, Trigger, WarehouseError,
};

/// What to collect.
#[derive(Debug, Clone, Serialize)]
pub struct CollectRequest {
    pub period: Period,
    /// One source only.
    pub source: Option<String>,
    /// Re-read the stored snapshots instead of fetching.
    pub from_raw: bool,
    pub trigger: Trigger,
    pub operator: Option<String>,
    /// Fetch and read, compare with what is stored, write nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// A run created beforehand (the admin API answers with its id before the job starts).
    #[serde(skip)]
    pub run_id: Option<i64>,
    #[serde(default)]
    pub rerun_of: Option<i64>,
}

impl CollectRequest {
    pub fn new(period: Period, trigger: Trigger, operator: Option<String>) -> Self {
        Self { period, source: None, from_raw: false, trigger, operator, dry_run: false, run_id: None, rerun_of: None }
    }
}

/// The run a collection writes under; a preview writes nothing and gathers what would
/// change instead.
pub struct Run {
    pub id: i64,
    preview: Option<std::sync::Mutex<Preview>>,
}

/// A value a collection would store.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub source: String,
    pub file: String,
    pub item: String,
    pub measure: String,
    pub agency: String,
    /// The current value it would supersede (`None`: a new value).
    pub old: Option<Value>,
    pub new: Value,
    pub location: String,
}

/// What a dry-run collection found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Preview {
    /// Values new or different from the current ones.
    pub changes: Vec<Change>,
    /// Values equal to the current ones.
    pub unchanged: usize,
    /// Rejects the files would add.
    pub rejects: Vec<NewReject>,
    #[serde(skip)]
    current: HashMap<AgencyId, HashMap<(String, String), Value>>,
}
#[derive(Debug, Clone, Default, Serialize)]
pub struct FileReport {
    pub name: String,
    /// fetched | not_modified | unchanged | rejected | incomplete (pages missing) | failed
    pub outcome: &'static str,
    pub counts: StoreCounts,
    pub summary: Option<FileSummary>,
    pub error: Option<String>,
}

/// What happened to one source.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SourceReport {
    pub source: String,
    pub kind: &'static str,
    pub files: Vec<FileReport>,
    /// Why the source as a whole failed.
    pub failed: Option<String>,
}

impl SourceReport {
    pub fn count(&self, outcome: &str) -> usize {
        self.files.iter().filter(|f| f.outcome == outcome).count()
    }
    pub fn observations(&self) -> u64 {
        self.files.iter().map(|f| f.counts.observations).sum()
    }
    pub fn superseded(&self) -> u64 {
        self.files.iter().map(|f| f.counts.superseded).sum()
    }
    pub fn rejects(&self) -> u64 {
        self.files.iter().map(|f| f.counts.rejects).sum()
    }
    pub fn is_failed(&self) -> bool {
        self.failed.is_some() || self.files.iter().any(|f| f.outcome == "failed")
    }
    /// Read in part: pages of a portal missing.
    pub fn is_incomplete(&self) -> bool {
        self.files.iter().any(|f| f.outcome == "incomplete")
    }
}

/// Why a source or one of its files failed, as the run keeps it (`chiso runs show`,
/// `GET /api/runs/{id}`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Failure {
    pub source: String,
    /// The file or URL, decoded and with its query hidden; `None` for the source as a whole.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// `failed` or `incomplete`.
    pub outcome: &'static str,
    /// In Vietnamese.
    pub reason: String,
}

impl Failure {
    fn line(&self) -> String {
        match &self.file {
            Some(f) => format!("{} ({f}): {}", self.source, self.reason),
            None => format!("{}: {}", self.source, self.reason),
        }
    }
}

/// The run's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct CollectReport {
    pub run_id: i64,
    pub period: Period,
    pub status: RunStatus,
    pub sources: Vec<SourceReport>,
    /// A dry run: what would change.
    pub preview: Option<Preview>,
}

impl CollectReport {
    /// Every source or file that failed or was read in part, with its reason.
    pub fn failures(&self) -> Vec<Failure> {
        let mut out = Vec::new();
        for s in &self.sources {
            if let Some(reason) = &s.failed {
                out.push(Failure { source: s.source.clone(), file: None, outcome: "failed", reason: reason.clone() });
            }
            for f in s.files.iter().filter(|f| matches!(f.outcome, "failed" | "incomplete")) {
                out.push(Failure {
                    source: s.source.clone(),
                    file: Some(crate::sources::shown_url(&f.name)),
                    outcome: f.outcome,
                    reason: f.error.clone().unwrap_or_default(),
                });
            }
        }
        out
    }

    pub fn counts(&self) -> serde_json::Value {
        let sum = |f: &dyn Fn(&SourceReport) -> u64| self.sources.iter().map(f).sum::<u64>();
        serde_json::json!({
            "sources": self.sources.len(),
            "files_fetched": sum(&|s| s.count("fetched") as u64),
            "files_unchanged": sum(&|s| (s.count("unchanged") + s.count("not_modified")) as u64),
            "files_rejected": sum(&|s| s.count("rejected") as u64),
            "observations": sum(&|s| s.observations()),
            "superseded": sum(&|s| s.superseded()),
            "rejects": sum(&|s| s.rejects()),
            "sources_failed": self.sources.iter().filter(|s| s.is_failed()).count(),
            "sources_incomplete": self.sources.iter().filter(|s| !s.is_failed() && s.is_incomplete()).count(),
            "failures": self.failures(),
            "would_change": self.preview.as_ref().map(|p| p.changes.len()),
        })
    }
}

/// Progress for a terminal (or nothing).
pub trait Progress: Send + Sync {
    fn source_started(&self, _source: &str) {}
    fn file(&self, _source: &str, _name: &str) {}
    fn source_done(&self, _report: &SourceReport) {}
}

/// No progress display.
pub struct Quiet;
impl Progress for Quiet {}

/// Why a collection could not run at all (a source failing is not that).
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error("{}", crate::messages::jobs::unknown_source(.0))]
    UnknownSource(String),
    #[error(transparent)]
    Busy(#[from] super::lease::LeaseError),
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
    #[error("{}", crate::messages::jobs::http_client(&.0.to_string()))]
    Client(crate::sources::http::FetchError),
}

/// Collects a period (or, dry, previews what a collection would change).
#[tracing::instrument(skip_all, fields(run_id, job = "collect", period = %req.period))]
pub async fn collect(
    ctx: &Context,
    req: &CollectRequest,
    progress: Arc<dyn Progress>,
) -> Result<CollectReport, CollectError> {
    let sources: Vec<Source> = match &req.source {
        Some(id) => vec![
            ctx.sources.iter().find(|s| s.id == *id).cloned().ok_or_else(|| CollectError::UnknownSource(id.clone()))?,
        ],
        None => ctx.sources.iter().filter(|s| s.enabled).cloned().collect(),
    };
    let new_run = NewRun {
        job: "collect".into(),
        period: Some(req.period),
        source: req.source.clone(),
        round: None,
        params: serde_json::to_value(req).unwrap_or_default(),
        trigger: req.trigger,
        operator: req.operator.clone(),
        dry_run: req.dry_run,
        rerun_of: req.rerun_of,
    };
    let (lease, run_id) = super::begin(ctx, &new_run, req.run_id, None).await?;
    let run = Run { id: run_id, preview: req.dry_run.then(Default::default) };
    let ids = match ctx.wh.indicator_id_map(&ctx.catalog.plan.id).await {
        Ok(ids) => Arc::new(ids),
        Err(e) => {
            let _ =
                super::end(ctx, lease, run_id, RunStatus::Failed, &serde_json::json!({}), Some(&e.to_string())).await;
            return Err(e.into());
        }
    };
    // One client for the whole collection: one connection pool, one byte budget.
    let fetcher = match Fetcher::new(ctx.settings.collect.http.clone()) {
        Ok(f) => f,
        Err(e) => {
            let _ =
                super::end(ctx, lease, run_id, RunStatus::Failed, &serde_json::json!({}), Some(&e.to_string())).await;
            return Err(CollectError::Client(e));
        }
    };
    let shared = Shared { ctx, run: &run, req, ids: &ids, fetcher: &fetcher };
    let shared = &shared;
    let reports: Vec<SourceReport> = futures::stream::iter(sources.into_iter().map(|source| {
        let progress = progress.clone();
        async move {
            if ctx.cancel.is_cancelled() {
                return stopped(&source);
            }
            progress.source_started(&source.id);
            // Stopped at shutdown: a file being stored is one transaction, so nothing is
            // half-loaded; the files not reached are untouched.
            let report = tokio::select! {
                biased;
                _ = ctx.cancel.cancelled() => stopped(&source),
                r = collect_source(shared, &source, progress.as_ref()) => r,
            };
            progress.source_done(&report);
            report
        }
    }))
    .buffered(ctx.settings.collect.concurrency.max(1))
    .collect()
    .await;
    let cancelled = ctx.cancel.is_cancelled();
    let status = if cancelled {
        RunStatus::Cancelled
    } else if reports.iter().any(|r| r.is_failed() || r.is_incomplete()) {
        if reports.iter().all(SourceReport::is_failed) && !reports.is_empty() {
            RunStatus::Failed
        } else {
            RunStatus::Partial
        }
    } else if reports.iter().any(|r| r.count("rejected") > 0) {
        // A file refused whole failed; refused cells alone leave the run succeeded, with
        // their count.
        RunStatus::Partial
    } else {
        RunStatus::Succeeded
    };
    let preview = run.preview.map(|p| p.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner));
    let report = CollectReport { run_id, period: req.period, status, sources: reports, preview };
    let mut failed: Vec<String> = report.failures().iter().map(Failure::line).collect();
    if cancelled {
        failed.insert(
            0,
            "stopped by a shutdown before the end; files already stored are complete, the others untouched".into(),
        );
    }
    let mut counts = report.counts();
    if cancelled && !req.dry_run {
        // The sources stopped mid-way report nothing; the files they had stored are complete
        // and counted from the warehouse.
        match ctx.wh.run_stored(run_id).await {
            Ok((files, observations, superseded, _unchanged, rejects)) => {
                counts["files_stored"] = files.into();
                counts["observations"] = observations.into();
                counts["superseded"] = superseded.into();
                counts["rejects"] = rejects.into();
            }
            Err(e) => tracing::warn!(run = run_id, "cannot count what the cancelled run stored: {e}"),
        }
    }
    super::end(ctx, lease, run_id, status, &counts, (!failed.is_empty()).then(|| failed.join("; ")).as_deref()).await?;
    Ok(report)
}

fn stopped(source: &Source) -> SourceReport {
    SourceReport {
        source: source.id.clone(),
        kind: source.kind_name(),
        failed: Some("stopped: chiso is shutting down".into()),
        ..Default::default()
    }
}

/// What every source of one collection shares: the run, the request, the indicator ids
/// and one HTTP client (one connection pool and one byte budget).
struct Shared<'a> {
    ctx: &'a Context,
    run: &'a Run,
    req: &'a CollectRequest,
    ids: &'a HashMap<ItemKey, i64>,
    fetcher: &'a Fetcher,
}

impl Shared<'_> {
    fn period(&self) -> Period {
        self.req.period
    }
}

/// How a body was fetched, for the fetch log.
struct FetchMeta {
    status: Option<u16>,
    etag: Option<String>,
    last_modified: Option<String>,
    started: chrono::DateTime<chrono::Utc>,
    attempts: u32,
}

impl FetchMeta {
    fn local(started: chrono::DateTime<chrono::Utc>) -> Self {
        Self { status: None, etag: None, last_modified: None, started, attempts: 1 }
    }
}

fn failed_file(name: &str, error: String) -> FileReport {
    FileReport { name: name.into(), outcome: "failed", error: Some(error), ..Default::default() }
}

/// One source's files, collected, with each outcome logged and counted (`events`).
#[tracing::instrument(skip_all, fields(source = %source.id))]
async fn collect_source(sh: &Shared<'_>, source: &Source, progress: &dyn Progress) -> SourceReport {
    let report = collect_files(sh, source, progress).await;
    if sh.run.preview.is_none() {
        emit_events(&report);
    }
    report
}

/// The outcomes of a source's files, as events: fetched or unchanged, figures stored, rows
/// held, a file refused whole, a failure.
fn emit_events(report: &SourceReport) {
    if let Some(why) = &report.failed {
        Event::Failed.emit_because(1, &report.source, why);
    }
    for f in &report.files {
        match f.outcome {
            "not_modified" | "unchanged" => Event::Unchanged.emit(1, &f.name),
            "failed" => Event::Failed.emit_because(1, &f.name, f.error.as_deref().unwrap_or_default()),
            _ => Event::Fetched.emit(1, &f.name),
        }
        Event::Stored.emit(f.counts.observations, &f.name);
        if f.outcome == "rejected" {
            let why = f.summary.as_ref().and_then(|s| s.file_reject.as_ref()).map(|r| r.code);
            Event::Rejected.emit_because(1, &f.name, why.unwrap_or_default());
        } else {
            Event::Held.emit(f.counts.rejects, &f.name);
        }
    }
}

async fn collect_files(sh: &Shared<'_>, source: &Source, progress: &dyn Progress) -> SourceReport {
    let (ctx, period) = (sh.ctx, sh.period());
    let mut report = SourceReport { source: source.id.clone(), kind: source.kind_name(), ..Default::default() };
    let fail = |report: &mut SourceReport, message: String| report.failed = Some(message);
    if sh.req.from_raw {
        match ctx.wh.raw_files_for(&source.id, period).await {
            Ok(files) if files.is_empty() => {
                fail(&mut report, format!("Chưa có bản lưu nào của {} để đọc lại", period.vi()))
            }
            Ok(files) => {
                for (url, name, sha, fetch_id) in files {
                    let name = name.unwrap_or_else(|| url.clone());
                    progress.file(&source.id, &name);
                    let file = match ctx.wh.raw_content(&sha).await {
                        Ok(Some(bytes)) => {
                            ingest_or_preview(sh, source, &name, Some(fetch_id), Arc::from(bytes), sha).await
                        }
                        Ok(None) => failed_file(&name, "Không còn bản lưu của tệp (snapshot missing)".into()),
                        Err(e) => failed_file(&name, e.to_string()),
                    };
                    report.files.push(file);
                }
            }
            Err(e) => fail(&mut report, e.to_string()),
        }
        return report;
    }
    let headers = match source.auth_headers() {
        Ok(h) => h,
        Err(e) => {
            let message = format!("Thiếu thông tin xác thực của nguồn: {e}");
            let _ = record_failure(sh, source, &source.id, "source_config", &message, None).await;
            fail(&mut report, message);
            return report;
        }
    };
    match &source.kind {
        SourceKind::Folder { path, glob } => {
            let files = match list_folder(path, glob, period) {
                Ok(f) => f,
                Err(e) => {
                    let message = format!("Không đọc được thư mục nhận báo cáo {} ({e})", path.display());
                    let _ =
                        record_failure(sh, source, &path.display().to_string(), "folder_unreadable", &message, None)
                            .await;
                    fail(&mut report, message);
                    return report;
                }
            };
            for file in files {
                let name =
                    file.file_name().map_or_else(|| file.display().to_string(), |n| n.to_string_lossy().into_owned());
                progress.file(&source.id, &name);
                report.files.push(fetch_local(sh, source, &file, &name).await);
            }
        }
        SourceKind::Http { url } => {
            let url = expand(url, period);
            let name = crate::sources::file_name_of(&url);
            progress.file(&source.id, &name);
            if let Some(path) = url.strip_prefix("file://") {
                report.files.push(fetch_local(sh, source, Path::new(path), &name).await);
            } else {
                report.files.push(fetch_http(sh, source, &url, &name, &headers).await);
            }
        }
        SourceKind::JsonApi { url, json } => {
            let url = expand(url, period);
            progress.file(&source.id, &crate::sources::http::redact_query(&url));
            report.files.push(fetch_json(sh, source, &url, json, &headers).await);
        }
    }
    report
}

/// Records a fetch that failed, with its reason, and a reject that says it to the officer.
async fn record_failure(
    sh: &Shared<'_>,
    source: &Source,
    url: &str,
    code: &'static str,
    message: &str,
    fetch: Option<FetchRecord>,
) -> Result<(), WarehouseError> {
    let (run_id, period) = (sh.run.id, sh.period());
    if sh.run.preview.is_some() {
        return Ok(());
    }
    let fetch = fetch.unwrap_or_else(|| FetchRecord {
        error: Some(message.to_string()),
        ..FetchRecord::new(run_id, &source.id, period, url, "failed")
    });
    let fetch_id = sh.ctx.wh.record_fetch(&fetch, None).await?;
    let shown = crate::sources::shown_url(url);
    let reject = NewReject {
        period: None,
        location: shown.clone(),
        item_key: None,
        agency: source.agency.clone(),
        raw_text: String::new(),
        code,
        message: message.to_string(),
    };
    sh.ctx
        .wh
        .record_file_reject(
            FileRejectAt {
                run_id: Some(run_id),
                fetch_id: Some(fetch_id),
                source_id: &source.id,
                period,
                file_name: Some(&shown),
            },
            &reject,
        )
        .await
}

async fn fetch_local(sh: &Shared<'_>, source: &Source, path: &Path, name: &str) -> FileReport {
    let started = chrono::Utc::now();
    let bytes = match tokio::fs::read(path).await {
        Ok(b) => b,
        Err(e) => {
            let message = format!("Không đọc được tệp {} ({e})", path.display());
            let _ = record_failure(sh, source, &path.display().to_string(), "file_unreadable", &message, None).await;
            return failed_file(name, message);
        }
    };
    store_and_ingest(sh, source, &path.display().to_string(), name, bytes, FetchMeta::local(started)).await
}

async fn fetch_http(
    sh: &Shared<'_>,
    source: &Source,
    url: &str,
    name: &str,
    headers: &[(String, String)],
) -> FileReport {
    let (ctx, run, period) = (sh.ctx, sh.run, sh.period());
    let started = chrono::Utc::now();
    // A preview fetches the whole file (no conditional request) to compare it.
    let last = if run.preview.is_some() { None } else { ctx.wh.last_fetch(&source.id, url).await.ok().flatten() };
    let attempt = sh.fetcher.get(url, headers, last.as_ref()).await;
    record_fetch_metrics(&source.id, started, attempt.result.is_err());
    match attempt.result {
        Ok(Fetched::NotModified) => {
            let record = FetchRecord {
                file_name: Some(name.into()),
                started_at: Some(started),
                http_status: attempt.status,
                attempts: attempt.attempts,
                ..FetchRecord::new(run.id, &source.id, period, url, "not_modified")
            };
            if run.preview.is_none() {
                let _ = ctx.wh.record_fetch(&record, None).await;
            }
            // Not modified since the last fetch; if that file was ingested for another
            // period, re-read it for this one.
            if let Some(sha) = last.and_then(|l| l.sha256)
                && ctx.wh.current_ingestion_sha(&source.id, period, name).await.ok().flatten().as_deref()
                    != Some(sha.as_str())
                && let Ok(Some(bytes)) = ctx.wh.raw_content(&sha).await
            {
                return ingest_or_preview(sh, source, name, None, Arc::from(bytes), sha).await;
            }
            FileReport { name: name.into(), outcome: "not_modified", ..Default::default() }
        }
        Ok(Fetched::Body { bytes, status, etag, last_modified, budget, .. }) => {
            let meta = FetchMeta { status: Some(status), etag, last_modified, started, attempts: attempt.attempts };
            let report = store_and_ingest(sh, source, url, name, bytes, meta).await;
            drop(budget);
            report
        }
        Err(e) => {
            let message = e.vi();
            let record = FetchRecord {
                file_name: Some(name.into()),
                started_at: Some(started),
                http_status: attempt.status,
                attempts: attempt.attempts,
                error: Some(e.to_string()),
                ..FetchRecord::new(run.id, &source.id, period, url, "failed")
            };
            let _ = record_failure(sh, source, url, e.code(), &message, Some(record)).await;
            // The failure is logged and counted with the file's outcome (`emit_events`).
            tracing::debug!(url = %crate::sources::http::redact_query(url), error = %e, attempts = attempt.attempts, "fetch failed");
            failed_file(name, format!("{message} (sau {} lần thử)", attempt.attempts))
        }
    }
}

async fn fetch_json(
    sh: &Shared<'_>,
    source: &Source,
    url: &str,
    json: &crate::sources::json_api::JsonMapping,
    headers: &[(String, String)],
) -> FileReport {
    let (run_id, period) = (sh.run.id, sh.period());
    let started = chrono::Utc::now();
    let name = url.to_string();
    let paged = if let Some(path) = url.strip_prefix("file://") {
        match std::fs::read(path)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
        {
            Ok(body) => crate::sources::json_api::Paged {
                pages: vec![crate::sources::json_api::Page { number: 1, body, records: 0 }],
                attempts: 1,
                ..Default::default()
            },
            Err(e) => {
                let message = format!("Không đọc được tệp dữ liệu {path} ({e})");
                let _ = record_failure(sh, source, url, "json_unreadable", &message, None).await;
                return failed_file(&name, message);
            }
        }
    } else {
        let Ok(mut base) = reqwest::Url::parse(url) else {
            return failed_file(&name, format!("Địa chỉ nguồn “{}” không hợp lệ", crate::sources::shown_url(url)));
        };
        for (k, v) in &json.query {
            base.query_pairs_mut().append_pair(k, &expand(v, period));
        }
        let fetched = crate::sources::json_api::fetch_pages(sh.fetcher, &base, json, headers).await;
        record_fetch_metrics(&source.id, started, fetched.is_err());
        match fetched {
            Ok(p) => p,
            Err(e) => {
                let record = FetchRecord {
                    started_at: Some(started),
                    http_status: e.status(),
                    attempts: e.attempts(),
                    error: Some(e.to_string()),
                    ..FetchRecord::new(run_id, &source.id, period, url, "failed")
                };
                let _ = record_failure(sh, source, url, e.code(), &e.vi(), Some(record)).await;
                tracing::debug!(url = %crate::sources::http::redact_query(url), error = %e, "portal fetch failed");
                return failed_file(&name, format!("{} (sau {} lần thử)", e.vi(), e.attempts()));
            }
        }
    };
    for m in &paged.missing {
        tracing::warn!(source = %source.id, page = ?m.page, url = %m.url, code = %m.code, "portal page missing");
    }
    let bytes = serde_json::to_vec(&paged.snapshot(&source.id, url)).unwrap_or_default();
    let meta =
        FetchMeta { status: paged.status, etag: None, last_modified: None, started, attempts: paged.attempts.max(1) };
    let mut report = store_and_ingest(sh, source, url, &name, bytes, meta).await;
    // Pages missing make the collection incomplete, even when the same pages were missing
    // last time and the snapshot is unchanged.
    if !paged.missing.is_empty() && report.outcome != "failed" {
        report.outcome = "incomplete";
        report.error = Some(paged.missing.iter().map(|m| m.reason.clone()).collect::<Vec<_>>().join("; "));
    }
    report
}

/// Fetch duration and failures per source, for `/metrics` (no-ops outside `chiso serve`).
fn record_fetch_metrics(source: &str, started: chrono::DateTime<chrono::Utc>, failed: bool) {
    let secs = (chrono::Utc::now() - started).num_milliseconds() as f64 / 1000.0;
    metrics::histogram!("chiso_fetch_duration_seconds", "source" => source.to_string()).record(secs);
    if failed {
        metrics::counter!("chiso_fetch_failures_total", "source" => source.to_string()).increment(1);
    }
}

/// Records the fetch and keeps the bytes; skips the file when the same bytes are already
/// the current ingestion of this name; ingests it otherwise.
async fn store_and_ingest(
    sh: &Shared<'_>,
    source: &Source,
    url: &str,
    name: &str,
    bytes: Vec<u8>,
    meta: FetchMeta,
) -> FileReport {
    let (ctx, run, period) = (sh.ctx, sh.run, sh.period());
    // One copy of the body from here on: the Vec is moved into the shared buffer the
    // parser reads, before the warehouse copies it into the raw snapshot.
    let bytes: Arc<[u8]> = Arc::from(bytes);
    let sha = crate::sha256_hex(&bytes);
    let unchanged =
        ctx.wh.current_ingestion_sha(&source.id, period, name).await.ok().flatten().as_deref() == Some(sha.as_str());
    if run.preview.is_some() {
        if unchanged {
            return FileReport { name: name.into(), outcome: "unchanged", ..Default::default() };
        }
        return ingest_or_preview(sh, source, name, None, bytes, sha).await;
    }
    let media = FileFormat::detect(&bytes).as_str();
    let record = FetchRecord {
        file_name: Some(name.to_string()),
        started_at: Some(meta.started),
        http_status: meta.status,
        attempts: meta.attempts,
        sha256: Some(sha.clone()),
        size: Some(bytes.len() as u64),
        etag: meta.etag,
        last_modified: meta.last_modified,
        ..FetchRecord::new(run.id, &source.id, period, url, if unchanged { "unchanged" } else { "fetched" })
    };
    let fetch_id = match ctx.wh.record_fetch(&record, Some((&bytes, media))).await {
        Ok(id) => id,
        Err(e) => return failed_file(name, e.to_string()),
    };
    if unchanged {
        return FileReport { name: name.into(), outcome: "unchanged", ..Default::default() };
    }
    ingest_or_preview(sh, source, name, Some(fetch_id), bytes, sha).await
}

/// Ingests a file, or in a preview, reads it and compares it with what is stored.
async fn ingest_or_preview(
    sh: &Shared<'_>,
    source: &Source,
    name: &str,
    fetch_id: Option<i64>,
    bytes: Arc<[u8]>,
    sha: String,
) -> FileReport {
    match &sh.run.preview {
        None => {
            let file = FileBytes { name: name.to_string(), fetch_id, bytes, sha };
            ingest_bytes(sh.ctx, sh.run.id, source, sh.period(), file, sh.ids).await
        }
        Some(preview) => preview_bytes(sh.ctx, preview, source, sh.period(), name, bytes).await,
    }
}

async fn preview_bytes(
    ctx: &Context,
    preview: &std::sync::Mutex<Preview>,
    source: &Source,
    period: Period,
    name: &str,
    bytes: Arc<[u8]>,
) -> FileReport {
    let spec = FileSpec {
        file_name: name.to_string(),
        mapping: source.mapping.clone(),
        agency: source.agency.clone(),
        period,
    };
    let (catalog, dir, assignments, json) =
        (ctx.catalog.clone(), ctx.dir.clone(), ctx.assignments(period), source_json(source));
    let parsed = tokio::task::spawn_blocking(move || {
        let mut out: Vec<Normalized> = Vec::new();
        let mut sink = |n: Normalized| out.push(n);
        let summary = match json {
            Some(mapping) => crate::sources::json_api::parse_json(
                &bytes,
                &mapping,
                &spec,
                crate::ingest::Reference { catalog: &catalog, dir: &dir, assignments: &assignments },
                &mut sink,
            ),
            None => crate::ingest::parse_file(bytes, &spec, &catalog, &dir, &assignments, &mut sink),
        };
        (summary, out)
    })
    .await;
    let Ok((summary, items)) = parsed else {
        return FileReport {
            name: name.into(),
            outcome: "failed",
            error: Some("the reader stopped".into()),
            ..Default::default()
        };
    };
    let mut counts = StoreCounts::default();
    let mut observations = Vec::new();
    let mut rejects = Vec::new();
    for n in items {
        match n {
            Normalized::Observations(o) => observations.extend(o),
            Normalized::Reject(r) => rejects.push(r),
            Normalized::Skip(_) => {}
        }
    }
    // What each agency has now, read once per agency.
    let agencies: Vec<AgencyId> = {
        let guard = preview.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut a: Vec<AgencyId> =
            observations.iter().map(|o| o.agency.clone()).filter(|a| !guard.current.contains_key(a)).collect();
        a.sort();
        a.dedup();
        a
    };
    let mut fresh = HashMap::new();
    for a in agencies {
        let values = ctx.wh.agency_values(&ctx.catalog.plan.id, &a, period).await.unwrap_or_default();
        fresh.insert(a, values);
    }
    let mut guard = preview.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    guard.current.extend(fresh);
    for o in observations {
        let key = (o.item.to_string(), o.measure.clone());
        let old = guard.current.get(&o.agency).and_then(|m| m.get(&key)).copied();
        if old == Some(o.value) {
            guard.unchanged += 1;
            counts.unchanged += 1;
        } else {
            if old.is_some() {
                counts.superseded += 1;
            }
            counts.observations += 1;
            guard.changes.push(Change {
                source: source.id.clone(),
                file: name.to_string(),
                item: key.0,
                measure: key.1,
                agency: o.agency.to_string(),
                old,
                new: o.value,
                location: o.location,
            });
        }
    }
    counts.rejects = rejects.len() as u64;
    guard.rejects.extend(rejects);
    let outcome = if summary.file_reject.is_some() { "rejected" } else { "fetched" };
    FileReport { name: name.into(), outcome, counts, summary: Some(summary), error: None }
}

/// One file's bytes as fetched or read: its name, the fetch that brought it (none for a
/// file given on the command line) and its sha256, under which the raw copy is kept.
#[derive(Debug, Clone)]
pub struct FileBytes {
    pub name: String,
    pub fetch_id: Option<i64>,
    pub bytes: Arc<[u8]>,
    pub sha: String,
}

impl FileBytes {
    /// A file read from disk or built in memory: no fetch, its hash computed here.
    pub fn new(name: impl Into<String>, bytes: impl Into<Arc<[u8]>>) -> Self {
        let bytes = bytes.into();
        Self { name: name.into(), fetch_id: None, sha: crate::sha256_hex(&bytes), bytes }
    }

    /// The same file, recorded as brought by fetch `fetch_id`.
    pub fn fetched(self, fetch_id: Option<i64>) -> Self {
        Self { fetch_id, ..self }
    }
}

/// Parses a file in a blocking thread while the warehouse stores what it yields.
pub async fn ingest_bytes(
    ctx: &Context,
    run_id: i64,
    source: &Source,
    period: Period,
    file: FileBytes,
    ids: &HashMap<ItemKey, i64>,
) -> FileReport {
    let name = file.name.clone();
    let spec =
        FileSpec { file_name: name.clone(), mapping: source.mapping.clone(), agency: source.agency.clone(), period };
    let (counts, summary) = match ingest_file(ctx, Some(run_id), source, spec, file, ids).await {
        Ok(v) => v,
        Err(e) => {
            return FileReport {
                name: name.clone(),
                outcome: "failed",
                error: Some(e.to_string()),
                ..Default::default()
            };
        }
    };
    let outcome = if summary.file_reject.is_some() { "rejected" } else { "fetched" };
    FileReport { name, outcome, counts, summary: Some(summary), error: None }
}

fn source_json(source: &Source) -> Option<crate::sources::json_api::JsonMapping> {
    match &source.kind {
        SourceKind::JsonApi { json, .. } => Some((**json).clone()),
        _ => None,
    }
}

/// The ingest pipeline for one file: parse (blocking thread) → store (one transaction).
/// The file is read as `spec` says (its name included); `source` says how (a portal's
/// JSON, or a workbook).
#[tracing::instrument(skip_all, fields(file = %spec.file_name))]
pub async fn ingest_file(
    ctx: &Context,
    run_id: Option<i64>,
    source: &Source,
    spec: FileSpec,
    file: FileBytes,
    ids: &HashMap<ItemKey, i64>,
) -> Result<(StoreCounts, FileSummary), WarehouseError> {
    let FileBytes { fetch_id, bytes, sha, .. } = file;
    let (source_id, json) = (source.id.as_str(), source_json(source));
    ctx.wh.keep_raw(&sha, &bytes, FileFormat::detect(&bytes).as_str()).await?;
    let (tx, rx) = mpsc::channel::<Normalized>(8);
    let (summary_tx, summary_rx) = tokio::sync::oneshot::channel::<FileSummary>();
    let catalog = ctx.catalog.clone();
    let dir = ctx.dir.clone();
    let assignments = ctx.assignments(spec.period);
    let parse_spec = spec.clone();
    let parser = tokio::task::spawn_blocking(move || {
        let mut cap = crate::ingest::RejectCap::new(&parse_spec.file_name);
        let mut sink = move |n: Normalized| {
            if let Some(n) = cap.pass(n) {
                let _ = tx.blocking_send(n);
            }
        };
        let summary = crate::ingest::guarded(&parse_spec, || match json {
            Some(mapping) => crate::sources::json_api::parse_json(
                &bytes,
                &mapping,
                &parse_spec,
                crate::ingest::Reference { catalog: &catalog, dir: &dir, assignments: &assignments },
                &mut sink,
            ),
            None => crate::ingest::parse_file(bytes, &parse_spec, &catalog, &dir, &assignments, &mut sink),
        });
        drop(sink);
        let _ = summary_tx.send(summary);
    });
    let ingestion = NewIngestion {
        run_id,
        fetch_id,
        source_id: source_id.to_string(),
        period: spec.period,
        sha256: sha,
        file_name: spec.file_name.clone(),
        agency: spec.agency.clone(),
        layout: None,
        sheet: None,
    };
    let (spec_name, spec_agency) = (spec.file_name.clone(), spec.agency.clone());
    let summary_slot: Arc<std::sync::Mutex<Option<FileSummary>>> = Arc::default();
    let slot = summary_slot.clone();
    let end = async move {
        let summary = summary_rx.await.ok();
        // A parser that ended without a summary did not read the file to its end: nothing
        // of it is kept.
        let died = || IngestionEnd {
            file_reject: Some(crate::ingest::reader_died(&spec_name, spec_agency.clone())),
            ..Default::default()
        };
        let end = summary.as_ref().map_or_else(died, |s| IngestionEnd {
            file_reject: s.file_reject.clone(),
            agency: s.agency.clone(),
            layout: s.kind.map(str::to_string).or_else(|| s.layout.map(|l| format!("{l:?}").to_lowercase())),
            sheet: s.sheet.clone(),
        });
        if let Ok(mut guard) = slot.lock() {
            *guard = summary;
        }
        end
    };
    let counts = ctx.wh.store_ingestion(&ingestion, ids, rx, end).await;
    let _ = parser.await;
    let summary = summary_slot.lock().ok().and_then(|mut g| g.take()).unwrap_or_default();
    let counts = counts?;
    tracing::info!(
        source = source_id,
        file = %spec.file_name,
        agency = ?summary.agency.as_ref().map(AgencyId::as_str),
        observations = counts.observations,
        superseded = counts.superseded,
        unchanged = counts.unchanged,
        rejects = counts.rejects,
        "file ingested"
    );
    Ok((counts, summary))
}

/// A backfill of one file: every quarter its rows name (a system export holding several
/// quarters), read once, then stored quarter by quarter, each as its own ingestion. A file
/// refused whole is recorded under `fallback` (the quarter its title names, or the current
/// reporting quarter). Returns one report per quarter stored, in order.
pub async fn ingest_backfill(
    ctx: &Context,
    run_id: i64,
    source: &Source,
    file: FileBytes,
    ids: &HashMap<ItemKey, i64>,
) -> Vec<(Period, FileReport)> {
    let FileBytes { name, fetch_id, bytes, sha } = file;
    let name = name.as_str();
    let fallback = ctx.settings.calendar.reporting_period(chrono::Utc::now());
    let spec = FileSpec {
        file_name: name.to_string(),
        mapping: source.mapping.clone(),
        agency: source.agency.clone(),
        period: fallback,
    };
    let failed = |e: String| {
        vec![(fallback, FileReport { name: name.into(), outcome: "failed", error: Some(e), ..Default::default() })]
    };
    if let Err(e) = ctx.wh.keep_raw(&sha, &bytes, FileFormat::detect(&bytes).as_str()).await {
        return failed(e.to_string());
    }
    let (catalog, dir, assignments, calendar) =
        (ctx.catalog.clone(), ctx.dir.clone(), ctx.assignments(fallback), ctx.settings.calendar);
    let parse_spec = spec.clone();
    let parsed = tokio::task::spawn_blocking(move || {
        let mut by_period: std::collections::BTreeMap<Period, Vec<Normalized>> = Default::default();
        let mut cap = crate::ingest::RejectCap::new(&parse_spec.file_name);
        let summary = crate::ingest::guarded(&parse_spec, || {
            crate::ingest::parse_file_scoped(
                bytes,
                &parse_spec,
                crate::ingest::ParseOptions { backfill: Some(calendar), trace: false },
                crate::ingest::Reference { catalog: &catalog, dir: &dir, assignments: &assignments },
                &mut |n| match cap.pass(n) {
                    Some(Normalized::Observations(obs)) => {
                        for o in obs {
                            let list = by_period.entry(o.period).or_default();
                            match list.last_mut() {
                                Some(Normalized::Observations(batch)) if batch.len() < crate::ingest::BATCH => {
                                    batch.push(o)
                                }
                                _ => list.push(Normalized::Observations(vec![o])),
                            }
                        }
                    }
                    Some(Normalized::Reject(r)) => {
                        by_period.entry(r.period.unwrap_or(fallback)).or_default().push(Normalized::Reject(r))
                    }
                    Some(Normalized::Skip(_)) | None => {}
                },
            )
        });
        (summary, by_period)
    })
    .await;
    let Ok((summary, mut by_period)) = parsed else {
        return failed("the reader stopped".into());
    };
    if summary.file_reject.is_some() || by_period.is_empty() {
        by_period = std::iter::once((fallback, Vec::new())).collect();
    }
    let mut reports = Vec::new();
    for (period, items) in by_period {
        let ingestion = NewIngestion {
            run_id: Some(run_id),
            fetch_id,
            source_id: source.id.clone(),
            period,
            sha256: sha.clone(),
            file_name: name.to_string(),
            agency: spec.agency.clone(),
            layout: None,
            sheet: None,
        };
        let (tx, rx) = mpsc::channel::<Normalized>(8);
        let feeder = tokio::spawn(async move {
            for n in items {
                if tx.send(n).await.is_err() {
                    break;
                }
            }
        });
        let end = IngestionEnd {
            file_reject: summary.file_reject.clone(),
            agency: summary.agency.clone(),
            layout: summary
                .kind
                .map(str::to_string)
                .or_else(|| summary.layout.map(|l| format!("{l:?}").to_lowercase())),
            sheet: summary.sheet.clone(),
        };
        let stored = ctx.wh.store_ingestion(&ingestion, ids, rx, std::future::ready(end)).await;
        let _ = feeder.await;
        let report = match stored {
            Ok(counts) => FileReport {
                name: name.into(),
                outcome: if summary.file_reject.is_some() { "rejected" } else { "fetched" },
                counts,
                summary: Some(summary.clone()),
                error: None,
            },
            Err(e) => {
                FileReport { name: name.into(), outcome: "failed", error: Some(e.to_string()), ..Default::default() }
            }
        };
        tracing::info!(file = %name, period = %period, observations = report.counts.observations, rejects = report.counts.rejects, "backfill quarter stored");
        reports.push((period, report));
    }
    reports
}
