//! What a rerun would do, before it does it: the values a collection would supersede, the
//! statuses that would flip, the reminders and corrections that would be queued.
//!
//! Owns: `Flip`, `flips`, `ChainPreview` and the dry runs `collect_chain` and
//! `evaluate_chain`. Receives: the `app::Context` and a `jobs::collect::CollectRequest`
//! from `jobs::dispatch` (a dry run); stored `warehouse::StoredGap`s and new
//! `evaluate::GapRow`s from `jobs::evaluate`. Hands on: `Flip`s to `jobs::evaluate`'s
//! report and a `ChainPreview` to `jobs::dispatch`; nothing is stored.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::collect::{Change, CollectReport, CollectRequest, Quiet, collect};
use super::evaluate::compute_with;
use super::remind::{RemindReport, RemindRequest, remind};
use crate::app::Context;
use crate::domain::Period;
use crate::evaluate::{GapRow, Status};
use crate::warehouse::StoredGap;

/// A gap row whose status would change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Flip {
    pub item: String,
    pub measure: String,
    pub kind: String,
    pub agency: String,
    /// `None`: a row that does not exist yet.
    pub from: Option<Status>,
    pub to: Status,
    pub reason: String,
}

/// The rows of `new` whose status differs from the stored current table.
pub fn flips(stored: &[StoredGap], new: &[GapRow]) -> Vec<Flip> {
    let before: HashMap<(String, &str, &str, &str), Status> = stored
        .iter()
        .map(|g| ((g.item.clone(), g.measure.as_str(), g.kind.as_str(), g.agency.as_str()), g.status))
        .collect();
    new.iter()
        .filter_map(|r| {
            let key = (r.item.to_string(), r.measure.as_str(), r.kind.as_str(), r.agency.as_str());
            let from = before.get(&key).copied();
            (from != Some(r.status)).then(|| Flip {
                item: key.0.clone(),
                measure: r.measure.clone(),
                kind: r.kind.as_str().to_string(),
                agency: r.agency.clone(),
                from,
                to: r.status,
                reason: r.reason.clone(),
            })
        })
        .collect()
}

/// The chain a collection would set off.
#[derive(Debug, Clone, Serialize)]
pub struct ChainPreview {
    pub period: Period,
    /// The dry-run collection (its `preview` lists the values that would change).
    pub collect: Option<CollectReport>,
    pub flips: Vec<Flip>,
    /// The reminder round as it would run after: messages new, already sent, corrections.
    pub remind: RemindReport,
}

/// Previews a collection and what follows it: values, statuses, reminders.
pub async fn collect_chain(
    ctx: &Context,
    req: &CollectRequest,
    now: Option<DateTime<Utc>>,
) -> Result<ChainPreview, super::dispatch::JobError> {
    let dry = CollectRequest { dry_run: true, ..req.clone() };
    let collected = collect(ctx, &dry, std::sync::Arc::new(Quiet)).await?;
    chain_after(ctx, req.period, Some(collected), now, req.trigger, req.operator.clone()).await
}

/// Previews an evaluation of the stored figures and the reminders after it.
pub async fn evaluate_chain(
    ctx: &Context,
    period: Period,
    now: Option<DateTime<Utc>>,
    trigger: crate::warehouse::Trigger,
    operator: Option<String>,
) -> Result<ChainPreview, super::dispatch::JobError> {
    chain_after(ctx, period, None, now, trigger, operator).await
}

async fn chain_after(
    ctx: &Context,
    period: Period,
    collect: Option<CollectReport>,
    now: Option<DateTime<Utc>>,
    trigger: crate::warehouse::Trigger,
    operator: Option<String>,
) -> Result<ChainPreview, super::dispatch::JobError> {
    // What the collection would change, laid over the stored figures (none: the stored ones).
    let overlay: Vec<Change> =
        collect.as_ref().and_then(|c| c.preview.as_ref()).map(|p| p.changes.clone()).unwrap_or_default();
    let at = now.unwrap_or_else(Utc::now);
    let rows = compute_with(ctx, period, at, &overlay).await?;
    let stored = ctx.wh.gaps(&ctx.catalog.plan.id, period, None).await?;
    let flips = flips(&stored, &rows);
    let req =
        RemindRequest { now: Some(at), dry_run: true, deliver: false, trigger, operator, ..RemindRequest::new(period) };
    let remind = remind(ctx, &req, Some((0, &rows))).await?;
    Ok(ChainPreview { period, collect, flips, remind })
}
