//! Jobs: every execution is a run recorded in the warehouse, started by the CLI, the
//! scheduler or the admin API through the same functions, each under the lease of its job
//! and period so it runs once at a time across processes.
//!
//! Owns: a run's beginning and end (`begin`: the lease, then the run row; `end`: the run's
//! status and counts, then the lease let go) and the leases prepared before a run starts
//! (`keep_prepared`, `take_prepared`). Receives: a `warehouse::NewRun` and the
//! `app::Context` from the jobs (`jobs::collect`, `jobs::evaluate`, `jobs::remind`,
//! `jobs::dispatch`). Hands on: the held `warehouse::lease::Lease` and the run id back to
//! the job; the run row to `warehouse`; `warehouse::lease` re-exported as `jobs::lease` for
//! `serve` and `cli`.

pub mod collect;
pub mod dispatch;
pub mod evaluate;
pub use crate::warehouse::lease;
pub mod preview;
pub mod remind;

use crate::app::Context;
use crate::warehouse::{NewRun, RunStatus, WarehouseError};
use lease::{Lease, LeaseError, lease_name};

/// Takes the job's lease (waiting up to `ctx.lease_wait`), then starts its run — or adopts
/// the run created beforehand (`existing`), which is closed `cancelled` if the lease is
/// held by someone else.
pub(crate) async fn begin(
    ctx: &Context,
    run: &NewRun,
    existing: Option<i64>,
    wait: Option<std::time::Duration>,
) -> Result<(Lease, i64), LeaseError> {
    let name = lease_name(&run.job, run.period);
    let prepared = existing.and_then(|_| take_prepared(ctx, &name));
    let acquired = match prepared {
        Some(lease) => Ok(lease),
        None => Lease::acquire(&ctx.wh, &name, wait.unwrap_or(ctx.lease_wait)).await,
    };
    let lease = match acquired {
        Ok(l) => l,
        Err(e) => {
            if let Some(id) = existing {
                let _ = ctx.wh.finish_run(id, RunStatus::Cancelled, &serde_json::json!({}), Some(&e.to_string())).await;
            }
            return Err(e);
        }
    };
    let id = match existing {
        Some(id) => {
            ctx.wh.adopt_run(id, &run.params).await?;
            id
        }
        None => match ctx.wh.start_run(run).await {
            Ok(id) => id,
            Err(e) => {
                lease.release().await;
                return Err(e.into());
            }
        },
    };
    lease.set_run(id).await;
    // The job's span (`#[instrument(fields(run_id))]`) carries its run from here on.
    tracing::Span::current().record("run_id", id);
    Ok((lease, id))
}

/// Keeps a lease taken for a run announced before its job starts.
pub(crate) fn keep_prepared(ctx: &Context, lease: Lease) {
    let mut held = ctx.prepared.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    held.insert(lease.name.clone(), lease);
}

/// The lease kept for a run announced before its job started, if any.
pub(crate) fn take_prepared(ctx: &Context, name: &str) -> Option<Lease> {
    ctx.prepared.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(name)
}

/// Closes a run and releases its lease.
pub(crate) async fn end(
    ctx: &Context,
    lease: Lease,
    run_id: i64,
    status: RunStatus,
    counts: &serde_json::Value,
    error: Option<&str>,
) -> Result<(), WarehouseError> {
    let result = ctx.wh.finish_run(run_id, status, counts, error).await;
    lease.release().await;
    result
}
