//! `evaluate`: judge every indicator of a period from the stored observations and keep the
//! result as a new version of the period's gap table.
//!
//! Owns: `EvaluateRequest`, `EvaluateReport`, `EvaluateError`, `evaluate` (the job) and
//! `compute`, `compute_with` (a period's rows without storing). Receives: the
//! `app::Context` and an `EvaluateRequest` from `jobs::dispatch`, `jobs::remind` and `cli`;
//! a period's `domain::gap::Observations` from `warehouse::evaluation`. Hands on: the
//! `EvalInput` to `evaluate::evaluate`, its `GapRow`s to `warehouse` (`store_evaluation`),
//! and an `EvaluateReport` (rows, counts by status, flips) to the caller; `compute_with` to
//! `jobs::preview`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::app::Context;
use crate::domain::{Period, Section};
use crate::evaluate::{EvalInput, GapRow, Status, evaluate as judge};
use crate::warehouse::{EvalCounts, NewRun, RunStatus, Trigger, WarehouseError};

/// What to evaluate.
#[derive(Debug, Clone, Serialize)]
pub struct EvaluateRequest {
    pub period: Period,
    /// The moment of judgement (default: now).
    pub now: Option<DateTime<Utc>>,
    pub trigger: Trigger,
    pub operator: Option<String>,
    /// Judge and compare with the stored gap table; store nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// Judged as of another moment (`--at`): stored as a replay, seen with `--as-of RUN`,
    /// never as the current table.
    #[serde(default)]
    pub replay: bool,
    /// A run created beforehand (admin API).
    #[serde(skip)]
    pub run_id: Option<i64>,
    #[serde(default)]
    pub rerun_of: Option<i64>,
    /// How long to wait for another evaluation of the period (default: the context's).
    #[serde(skip)]
    pub wait: Option<std::time::Duration>,
}

impl EvaluateRequest {
    pub fn new(period: Period, trigger: Trigger, operator: Option<String>) -> Self {
        Self {
            period,
            now: None,
            trigger,
            operator,
            dry_run: false,
            replay: false,
            run_id: None,
            rerun_of: None,
            wait: None,
        }
    }
}

/// Why an evaluation could not run.
#[derive(Debug, thiserror::Error)]
pub enum EvaluateError {
    #[error(transparent)]
    Busy(#[from] super::lease::LeaseError),
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
}

/// The outcome.
#[derive(Debug, Clone, Serialize)]
pub struct EvaluateReport {
    pub run_id: i64,
    pub period: Period,
    pub counts: EvalCounts,
    pub by_section: BTreeMap<Section, BTreeMap<Status, usize>>,
    #[serde(skip)]
    pub rows: Vec<GapRow>,
    /// A dry run: the rows whose status would change.
    pub flips: Option<Vec<super::preview::Flip>>,
}

impl EvaluateReport {
    pub fn by_status(&self) -> BTreeMap<Status, usize> {
        let mut out = BTreeMap::new();
        for per in self.by_section.values() {
            for (s, n) in per {
                *out.entry(*s).or_default() += n;
            }
        }
        out
    }
}

/// Evaluates a period and stores the gaps (or, dry, says which statuses would change).
#[tracing::instrument(skip_all, fields(run_id, job = "evaluate", period = %req.period))]
pub async fn evaluate(ctx: &Context, req: &EvaluateRequest) -> Result<EvaluateReport, EvaluateError> {
    let new_run = NewRun {
        job: "evaluate".into(),
        period: Some(req.period),
        source: None,
        round: None,
        params: serde_json::to_value(req).unwrap_or_default(),
        trigger: req.trigger,
        operator: req.operator.clone(),
        dry_run: req.dry_run,
        rerun_of: req.rerun_of,
    };
    let (lease, run_id) = super::begin(ctx, &new_run, req.run_id, req.wait).await?;
    match run(ctx, req, run_id).await {
        Ok(report) => {
            let counts = serde_json::json!({
                "rows": report.rows.len(),
                "by_status": report.by_status(),
                "store": report.counts,
                "would_flip": report.flips.as_ref().map(Vec::len),
            });
            super::end(ctx, lease, run_id, RunStatus::Succeeded, &counts, None).await?;
            Ok(report)
        }
        Err(e) => {
            let _ =
                super::end(ctx, lease, run_id, RunStatus::Failed, &serde_json::json!({}), Some(&e.to_string())).await;
            Err(e.into())
        }
    }
}

/// The rows an evaluation would produce now, without storing them (previews, dry runs).
pub async fn compute(ctx: &Context, period: Period, now: DateTime<Utc>) -> Result<Vec<GapRow>, WarehouseError> {
    compute_with(ctx, period, now, &[]).await
}

/// [`compute`] as if the given values were stored too (previews of a collection).
pub async fn compute_with(
    ctx: &Context,
    period: Period,
    now: DateTime<Utc>,
    overlay: &[super::collect::Change],
) -> Result<Vec<GapRow>, WarehouseError> {
    let ids = ctx.wh.indicator_id_map(&ctx.catalog.plan.id).await?;
    let assignments = ctx.assignments(period);
    // Only the figures of agencies judged this period (members of per-district quotas are
    // judged as communes too) matter; the rest is not kept in memory.
    let words = ctx.dir.len().div_ceil(64);
    let judged: Vec<Vec<u64>> = (0..ctx.catalog.indicators.len())
        .map(|i| {
            let mut set = vec![0u64; words];
            for a in assignments.leads(i) {
                if let Some(x) = ctx.dir.index_of(a) {
                    set[x / 64] |= 1 << (x % 64);
                }
            }
            set
        })
        .collect();
    let all_communes = ctx.catalog.indicators.iter().map(|ind| ind.targets.values().any(|t| matches!(&t.spec, crate::domain::TargetSpec::Units(u) if !u.per_district.is_empty() || u.communes_per_district.is_some()))).collect::<Vec<bool>>();
    // An item's single lead, judged or not: its own figure for a share of units (item 29)
    // is the indicator's figure.
    let own_lead: Vec<Option<usize>> = ctx
        .catalog
        .indicators
        .iter()
        .map(|ind| match ind.lead.as_slice() {
            [one] => ctx.dir.index_of(one),
            _ => None,
        })
        .collect();
    let dir = ctx.dir.clone();
    let keep = move |i: usize, a: usize| {
        judged[i][a / 64] & (1 << (a % 64)) != 0
            || own_lead[i] == Some(a)
            || (all_communes[i] && dir.at_index(a).level == crate::catalog::Level::Commune)
    };
    let mut current = ctx.wh.period_observations(&ctx.catalog, &ctx.dir, &ids, period, &keep).await?;
    add_refusals(ctx, period, &mut current).await?;
    for c in overlay {
        let Some(i) = c.item.parse().ok().and_then(|k| ctx.catalog.indicators.iter().position(|x| x.key == k)) else {
            continue;
        };
        let Some(m) = ctx.catalog.indicators[i].measures.iter().position(|x| x.key == c.measure) else { continue };
        let Some(a) = c.agency.parse().ok().and_then(|a| ctx.dir.index_of(&a)) else { continue };
        current.insert(i, m, a, crate::evaluate::Observed { value: c.new, id: -1 });
    }
    let previous = ctx.wh.period_observations(&ctx.catalog, &ctx.dir, &ids, period.previous_year_end(), &keep).await?;
    let input = EvalInput {
        catalog: &ctx.catalog,
        dir: &ctx.dir,
        assignments: &assignments,
        calendar: &ctx.settings.calendar,
        settings: ctx.settings.evaluate,
        period,
        now,
        current: &current,
        previous_year_end: &previous,
    };
    Ok(judge(&input))
}

/// Codes of rejects that are not a refused figure: nothing to correct.
const NOT_A_REFUSAL: [&str; 1] = ["no_figure"];

/// The period's current rejects that name an item and an agency: the figures sent and
/// refused, so that the gap row says so instead of "not reported".
async fn add_refusals(
    ctx: &Context,
    period: Period,
    current: &mut crate::evaluate::Observations,
) -> Result<(), WarehouseError> {
    let mut rejects = ctx.wh.rejects(period).await?;
    rejects.sort_by_key(|r| r.id);
    let index: std::collections::HashMap<crate::domain::ItemKey, usize> =
        ctx.catalog.indicators.iter().enumerate().map(|(i, ind)| (ind.key, i)).collect();
    for r in rejects {
        if NOT_A_REFUSAL.contains(&r.code.as_str()) {
            continue;
        }
        let (Some(item), Some(agency)) = (r.item_key.as_deref(), r.agency_id.as_deref()) else { continue };
        let Some(&i) = item.parse().ok().and_then(|k| index.get(&k)) else { continue };
        let Some(a) = crate::domain::AgencyId::parse(agency).ok().and_then(|a| ctx.dir.index_of(&a)) else {
            continue;
        };
        current.insert_refused(
            i,
            a,
            crate::evaluate::Refusal {
                location: r.location,
                raw_text: r.raw_text,
                code: r.code,
                message: r.message,
                hint: String::new(),
                file: r.file_name,
            },
        );
    }
    Ok(())
}

async fn run(ctx: &Context, req: &EvaluateRequest, run_id: i64) -> Result<EvaluateReport, WarehouseError> {
    let now = req.now.unwrap_or_else(Utc::now);
    let rows = compute(ctx, req.period, now).await?;
    let (counts, flips) = if req.dry_run {
        let stored = ctx.wh.gaps(&ctx.catalog.plan.id, req.period, None).await?;
        (EvalCounts::default(), Some(super::preview::flips(&stored, &rows)))
    } else {
        let ids = ctx.wh.indicator_id_map(&ctx.catalog.plan.id).await?;
        (ctx.wh.store_evaluation(run_id, req.period, &ids, &rows, req.replay).await?, None)
    };
    let mut by_section: BTreeMap<Section, BTreeMap<Status, usize>> = BTreeMap::new();
    for r in &rows {
        if let Some(ind) = ctx.catalog.indicator(r.item) {
            *by_section.entry(ind.section).or_default().entry(r.status).or_default() += 1;
        }
    }
    tracing::info!(period = %req.period, run_id, rows = rows.len(), new = counts.new, changed = counts.changed, "evaluated");
    Ok(EvaluateReport { run_id, period: req.period, counts, by_section, rows, flips })
}
