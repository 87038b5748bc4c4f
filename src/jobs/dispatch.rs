//! One entry for every way a job is started — the scheduler, the admin API, `chiso rerun`,
//! `chiso cycle`: a job kind, a period and its options, run under its lease, with a summary
//! to show; and the one chain of jobs, collect → evaluate → remind (`run_cycle`).
//!
//! Owns: `JobSpec`, `Origin`, `JobOutcome`, `JobError`, `Prepared`, `CycleRun` and
//! `CycleSteps`, and `execute`, `run_cycle`, `prepare`, `finish`. Receives: a `JobSpec` (a
//! `domain::job::JobKind`, re-exported here, with a period and options, or read back from a
//! `warehouse::RunRow`) and an `Origin` from `serve`, `serve::api`, `cli::runs` and the
//! CLI's `cycle`, with the `app::Context`. Hands on: the request to `jobs::collect`,
//! `jobs::evaluate`, `jobs::remind` or `jobs::preview` under its lease (`jobs::lease`); a
//! `JobOutcome` with the run's summary, or for `chiso cycle` the typed `CycleRun`, back to
//! the caller.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::collect::{CollectError, CollectReport, CollectRequest, Progress, Quiet, collect};
use super::evaluate::{EvaluateError, EvaluateReport, EvaluateRequest, evaluate};
use super::lease::{LeaseError, lease_name};
use super::remind::{RemindError, RemindReport, RemindRequest, remind};
use crate::app::Context;
use crate::domain::Period;
use crate::warehouse::{NewRun, RunRow, RunStatus, Trigger, WarehouseError};

pub use crate::domain::job::JobKind;

/// A job to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSpec {
    pub job: JobKind,
    /// Default: the period being reported now.
    #[serde(default)]
    pub period: Option<Period>,
    /// collect: one source only.
    #[serde(default)]
    pub source: Option<String>,
    /// remind: a round by id.
    #[serde(default)]
    pub round: Option<String>,
    #[serde(default)]
    pub dry_run: bool,
    /// collect: re-read the stored snapshots.
    #[serde(default)]
    pub from_raw: bool,
    /// remind: queue the round again for agencies that already got it.
    #[serde(default)]
    pub force: bool,
}

impl JobSpec {
    pub fn new(job: JobKind, period: Option<Period>) -> Self {
        Self { job, period, source: None, round: None, dry_run: false, from_raw: false, force: false }
    }

    /// The same job as a stored run (for `chiso rerun`).
    pub fn from_run(run: &RunRow) -> Option<Self> {
        let job = JobKind::parse(&run.job)?;
        Some(Self {
            job,
            period: run.period,
            source: run.source.clone(),
            round: run.params.get("round").and_then(|v| v.as_str()).map(str::to_string).or_else(|| run.round.clone()),
            dry_run: false,
            from_raw: run.params.get("from_raw").and_then(serde_json::Value::as_bool).unwrap_or(false),
            force: run.params.get("force").and_then(serde_json::Value::as_bool).unwrap_or(false),
        })
    }

    /// Checks what can be checked before anything runs: the source and the round exist.
    pub fn validate(&self, ctx: &Context) -> Result<(), JobError> {
        if let Some(s) = &self.source {
            if self.job != JobKind::Collect && self.job != JobKind::Cycle {
                return Err(JobError::Invalid(format!(
                    "`source` applies to collect and cycle, not {}",
                    self.job.as_str()
                )));
            }
            if !ctx.sources.iter().any(|x| x.id == *s) {
                let known: Vec<&str> = ctx.sources.iter().map(|x| x.id.as_str()).collect();
                return Err(JobError::Invalid(crate::messages::jobs::unknown_source_among(s, &known.join(", "))));
            }
        }
        if let Some(r) = &self.round
            && !ctx.settings.remind.rounds.iter().any(|x| x.id == *r)
        {
            let known: Vec<&str> = ctx.settings.remind.rounds.iter().map(|x| x.id.as_str()).collect();
            return Err(JobError::Invalid(format!("no reminder round `{r}`; configured rounds: {}", known.join(", "))));
        }
        Ok(())
    }

    pub fn period_or_current(&self, ctx: &Context, now: DateTime<Utc>) -> Period {
        self.period.unwrap_or_else(|| ctx.settings.calendar.reporting_period(now))
    }
}

/// Who started a job and how.
#[derive(Debug, Clone)]
pub struct Origin {
    pub trigger: Trigger,
    pub operator: Option<String>,
    /// A run row created beforehand (the API answers with it before the job starts).
    pub run_id: Option<i64>,
    pub rerun_of: Option<i64>,
    /// The moment to judge at (default: now).
    pub now: Option<DateTime<Utc>>,
}

impl Origin {
    pub fn new(trigger: Trigger, operator: Option<String>) -> Self {
        Self { trigger, operator, run_id: None, rerun_of: None, now: None }
    }
}

/// Why a job did not run or ended in error.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Busy(#[from] LeaseError),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
    #[error("{0}")]
    Failed(String),
}

impl From<CollectError> for JobError {
    fn from(e: CollectError) -> Self {
        match e {
            CollectError::Busy(b) => JobError::Busy(b),
            CollectError::UnknownSource(s) => JobError::Invalid(crate::messages::jobs::unknown_source(&s)),
            CollectError::Warehouse(w) => JobError::Warehouse(w),
            e @ CollectError::Client(_) => JobError::Failed(e.to_string()),
        }
    }
}

impl From<EvaluateError> for JobError {
    fn from(e: EvaluateError) -> Self {
        match e {
            EvaluateError::Busy(b) => JobError::Busy(b),
            EvaluateError::Warehouse(w) => JobError::Warehouse(w),
        }
    }
}

impl From<RemindError> for JobError {
    fn from(e: RemindError) -> Self {
        match e {
            RemindError::Busy(b) => JobError::Busy(b),
            RemindError::Warehouse(w) => JobError::Warehouse(w),
            e @ RemindError::UnknownRound { .. } => JobError::Invalid(e.to_string()),
            e => JobError::Failed(e.to_string()),
        }
    }
}

/// What a job did, for people and for the API.
#[derive(Debug, Clone, Serialize)]
pub struct JobOutcome {
    pub job: JobKind,
    pub period: Period,
    /// The run of the job (for a cycle, the cycle's own run).
    pub run_id: Option<i64>,
    pub status: String,
    pub summary: serde_json::Value,
}

/// Runs a job to its end.
#[tracing::instrument(skip_all, fields(job = spec.job.as_str(), period = ?spec.period))]
pub async fn execute(ctx: &Context, spec: &JobSpec, origin: &Origin) -> Result<JobOutcome, JobError> {
    spec.validate(ctx)?;
    let now = origin.now;
    let period = spec.period_or_current(ctx, now.unwrap_or_else(Utc::now));
    let outcome = |run_id: Option<i64>, status: &str, summary: serde_json::Value| JobOutcome {
        job: spec.job,
        period,
        run_id,
        status: status.to_string(),
        summary,
    };
    let collect_req = CollectRequest {
        source: spec.source.clone(),
        from_raw: spec.from_raw,
        dry_run: spec.dry_run,
        run_id: origin.run_id,
        rerun_of: origin.rerun_of,
        ..CollectRequest::new(period, origin.trigger, origin.operator.clone())
    };
    match spec.job {
        JobKind::Collect if spec.dry_run => {
            let chain = super::preview::collect_chain(ctx, &collect_req, now).await?;
            let run_id = chain.collect.as_ref().map(|c| c.run_id);
            Ok(outcome(run_id, "succeeded", serde_json::to_value(&chain).unwrap_or_default()))
        }
        JobKind::Collect => {
            let r = collect(ctx, &collect_req, Arc::new(Quiet)).await?;
            Ok(outcome(
                Some(r.run_id),
                r.status.as_str(),
                serde_json::json!({ "counts": r.counts(), "sources": r.sources }),
            ))
        }
        JobKind::Evaluate => {
            let req = EvaluateRequest {
                now,
                dry_run: spec.dry_run,
                run_id: origin.run_id,
                rerun_of: origin.rerun_of,
                ..EvaluateRequest::new(period, origin.trigger, origin.operator.clone())
            };
            let r = evaluate(ctx, &req).await?;
            let mut summary = serde_json::json!({ "by_status": r.by_status(), "store": r.counts, "flips": r.flips });
            if spec.dry_run {
                let remind_req = RemindRequest {
                    now,
                    dry_run: true,
                    deliver: false,
                    trigger: origin.trigger,
                    operator: origin.operator.clone(),
                    ..RemindRequest::new(period)
                };
                let reminders = remind(ctx, &remind_req, Some((r.run_id, &r.rows))).await?;
                summary["remind"] = serde_json::to_value(&reminders).unwrap_or_default();
            }
            Ok(outcome(Some(r.run_id), "succeeded", summary))
        }
        JobKind::Remind => {
            let req = RemindRequest {
                round: spec.round.clone(),
                now,
                dry_run: spec.dry_run,
                force: spec.force,
                trigger: origin.trigger,
                operator: origin.operator.clone(),
                run_id: origin.run_id,
                rerun_of: origin.rerun_of,
                ..RemindRequest::new(period)
            };
            let r = remind(ctx, &req, None).await?;
            let status = if r.idle.is_some() {
                if let Some(id) = origin.run_id {
                    // Nothing to do: close the run created for it.
                    let _ =
                        ctx.wh.finish_run(id, RunStatus::Succeeded, &serde_json::json!({ "idle": r.idle }), None).await;
                }
                "succeeded"
            } else if r.failed() {
                "partial"
            } else {
                "succeeded"
            };
            Ok(outcome(r.run_id.or(origin.run_id), status, serde_json::to_value(&r).unwrap_or_default()))
        }
        JobKind::Cycle if spec.dry_run => {
            let chain = super::preview::collect_chain(ctx, &collect_req, now).await?;
            Ok(outcome(
                chain.collect.as_ref().map(|c| c.run_id),
                "succeeded",
                serde_json::to_value(&chain).unwrap_or_default(),
            ))
        }
        JobKind::Cycle => {
            let c = run_cycle(ctx, spec, origin, Arc::new(Quiet)).await?;
            Ok(outcome(Some(c.run_id), c.status.as_str(), c.steps.summary()))
        }
    }
}

/// What a cycle's runs did: collect, then (unless the daemon was stopping) evaluate and
/// remind. The CLI prints them; the API and the scheduler show [`CycleSteps::summary`].
#[derive(Debug)]
pub struct CycleSteps {
    pub collected: CollectReport,
    pub evaluated: Option<EvaluateReport>,
    pub reminded: Option<RemindReport>,
}

impl CycleSteps {
    /// The cycle run's counts: each step's run and what it did.
    pub fn summary(&self) -> serde_json::Value {
        let c = &self.collected;
        let mut out = serde_json::json!({
            "collect": { "run": c.run_id, "status": c.status.as_str(), "counts": c.counts() },
        });
        if let Some(e) = &self.evaluated {
            out["evaluate"] = serde_json::json!({ "run": e.run_id, "by_status": e.by_status() });
        }
        if let Some(r) = &self.reminded {
            out["remind"] =
                serde_json::json!({ "run": r.run_id, "round": r.round, "queued": r.queued, "idle": r.idle });
        }
        out
    }
}

/// A cycle that ran: its own run, how it ended, and its steps.
#[derive(Debug)]
pub struct CycleRun {
    pub run_id: i64,
    pub status: RunStatus,
    pub steps: CycleSteps,
}

/// collect → evaluate → remind, each its own run, under the cycle's own run and lease: the
/// one chain of jobs, for the CLI (`chiso cycle`, with its progress), the scheduler and the
/// API (through [`execute`]).
#[tracing::instrument(skip_all, fields(run_id, job = "cycle"))]
pub async fn run_cycle(
    ctx: &Context,
    spec: &JobSpec,
    origin: &Origin,
    progress: Arc<dyn Progress>,
) -> Result<CycleRun, JobError> {
    spec.validate(ctx)?;
    let period = spec.period_or_current(ctx, origin.now.unwrap_or_else(Utc::now));
    let new_run = NewRun {
        job: "cycle".into(),
        period: Some(period),
        source: spec.source.clone(),
        round: None,
        params: serde_json::to_value(spec).unwrap_or_default(),
        trigger: origin.trigger,
        operator: origin.operator.clone(),
        dry_run: false,
        rerun_of: origin.rerun_of,
    };
    let (lease, run_id) = super::begin(ctx, &new_run, origin.run_id, None).await?;
    let result = cycle_steps(ctx, spec, origin, period, progress).await;
    let (status, counts, error) = match &result {
        Ok((status, steps)) => (*status, steps.summary(), None),
        Err(e) => (RunStatus::Failed, serde_json::json!({}), Some(e.to_string())),
    };
    super::end(ctx, lease, run_id, status, &counts, error.as_deref()).await?;
    let (status, steps) = result?;
    Ok(CycleRun { run_id, status, steps })
}

async fn cycle_steps(
    ctx: &Context,
    spec: &JobSpec,
    origin: &Origin,
    period: Period,
    progress: Arc<dyn Progress>,
) -> Result<(RunStatus, CycleSteps), JobError> {
    let collected = collect(
        ctx,
        &CollectRequest {
            source: spec.source.clone(),
            ..CollectRequest::new(period, origin.trigger, origin.operator.clone())
        },
        progress,
    )
    .await?;
    if ctx.cancel.is_cancelled() {
        return Ok((RunStatus::Cancelled, CycleSteps { collected, evaluated: None, reminded: None }));
    }
    let evaluated = evaluate(
        ctx,
        &EvaluateRequest { now: origin.now, ..EvaluateRequest::new(period, origin.trigger, origin.operator.clone()) },
    )
    .await?;
    let reminded = remind(
        ctx,
        &RemindRequest {
            now: origin.now,
            trigger: origin.trigger,
            operator: origin.operator.clone(),
            ..RemindRequest::new(period)
        },
        Some((evaluated.run_id, &evaluated.rows)),
    )
    .await?;
    let status = if collected.status == RunStatus::Succeeded && !reminded.failed() {
        RunStatus::Succeeded
    } else {
        RunStatus::Partial
    };
    Ok((status, CycleSteps { collected, evaluated: Some(evaluated), reminded: Some(reminded) }))
}

/// A job's run announced before the job starts, its lease held.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub run_id: i64,
    pub lease: String,
}

/// Takes the job's lease and creates its run row, for a job about to be started in the
/// background (the API answers with the run's id): refused at once, with who holds it, when
/// the lease is taken. [`execute`] with `origin.run_id` set adopts the lease; [`finish`]
/// releases it if the job did not.
pub async fn prepare(ctx: &Context, spec: &JobSpec, origin: &Origin) -> Result<Prepared, JobError> {
    spec.validate(ctx)?;
    let period = spec.period_or_current(ctx, origin.now.unwrap_or_else(Utc::now));
    let name = lease_name(spec.job.as_str(), Some(period));
    let lease = super::lease::Lease::acquire(&ctx.wh, &name, std::time::Duration::ZERO).await?;
    let started = ctx
        .wh
        .start_run(&NewRun {
            job: spec.job.as_str().into(),
            period: Some(period),
            source: spec.source.clone(),
            round: spec.round.clone(),
            params: serde_json::to_value(spec).unwrap_or_default(),
            trigger: origin.trigger,
            operator: origin.operator.clone(),
            dry_run: spec.dry_run,
            rerun_of: origin.rerun_of,
        })
        .await;
    let id = match started {
        Ok(id) => id,
        Err(e) => {
            lease.release().await;
            return Err(e.into());
        }
    };
    lease.set_run(id).await;
    super::keep_prepared(ctx, lease);
    Ok(Prepared { run_id: id, lease: name })
}

/// Releases a prepared lease its job did not adopt (a reminder round with nothing to do).
pub async fn finish(ctx: &Context, prepared: &Prepared) {
    if let Some(lease) = super::take_prepared(ctx, &prepared.lease) {
        lease.release().await;
    }
}
