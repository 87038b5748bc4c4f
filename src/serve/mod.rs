//! `chiso serve`: the daemon. It runs the schedules (each tick claimed once across
//! replicas, a missed tick caught up once at start), sends what the outbox holds when it
//! is due, answers the admin API, and on shutdown stops taking work and gives running jobs
//! a grace period to reach a safe point.
//!
//! Owns: `Daemon` (the shared state: `app::Context`, `access::Access`, the claimer's name),
//! `serve`, `run_tick`, `ServeReport` and `ServeError`. Receives: the `app::Context` from
//! `cli::runs` (`chiso serve`) and its `[serve]` schedules
//! (`config::schedule::ServeSettings`). Hands on: each claimed tick to
//! `jobs::dispatch::execute` as a `JobSpec`; due mail to `jobs::remind::send_due`; the
//! `Daemon` to `serve::api` and `serve::dashboard`; a `ServeReport` to `cli::runs` at
//! shutdown.

pub mod access;
pub mod api;
pub mod dashboard;
pub mod metrics;
pub mod schedule;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::Notify;
use tokio_util::task::TaskTracker;

use crate::app::Context;
use crate::config::schedule::{self as settings, Schedule};
use crate::jobs::dispatch::{JobError, JobKind, JobSpec, Origin, execute};
use crate::jobs::remind::send_due;
use crate::remind::deliver::Fault;
use crate::warehouse::{Trigger, WarehouseError};

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("{}", crate::messages::serve::bad_bind(.0))]
    BadBind(String),
    #[error("{}", crate::messages::serve::insecure(.0))]
    Insecure(String),
    #[error("{}", crate::messages::serve::cannot_listen(.addr, &crate::messages::io_reason(.source)))]
    Listen { addr: String, source: std::io::Error },
    #[error("{}", crate::messages::serve::scheduler(.0))]
    Scheduler(String),
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
}

/// What the daemon's parts share.
pub struct Daemon {
    pub ctx: Arc<Context>,
    /// Every job the daemon started; shutdown waits for them.
    pub tracker: TaskTracker,
    /// Wakes the delivery loop (new messages queued).
    pub deliver_now: Notify,
    /// `host:pid`, on the ticks it claims.
    pub claimer: String,
    /// The tokens (as digests) and the dashboard's sessions.
    pub access: access::Access,
    /// The dashboard's quarter reports, kept until the next run.
    pub reports: dashboard::ReportCache,
    pub started: std::time::Instant,
}

/// How the daemon ended.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ServeReport {
    /// Runs left `running` by a stopped process, marked failed (interrupted) at start.
    pub interrupted: Vec<i64>,
    /// Jobs still running when the grace period ended.
    pub abandoned: usize,
}

/// Runs the daemon until `ctx.cancel` is cancelled (by a signal, or a test). `ready`
/// receives the address the API listens on.
pub async fn serve(
    ctx: Arc<Context>,
    ready: Option<tokio::sync::oneshot::Sender<SocketAddr>>,
) -> Result<ServeReport, ServeError> {
    let bind = ctx.settings.admin.bind.clone();
    let addr: SocketAddr = bind.parse().map_err(|_| ServeError::BadBind(bind.clone()))?;
    let token = ctx.settings.admin.token.expose().trim().to_string();
    if token.is_empty() && !addr.ip().is_loopback() {
        return Err(ServeError::Insecure(bind));
    }
    let mut report = ServeReport {
        interrupted: crate::jobs::lease::mark_interrupted(&ctx.wh).await?.runs,
        ..ServeReport::default()
    };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Listen { addr: bind.clone(), source })?;
    let local = listener.local_addr().map_err(|source| ServeError::Listen { addr: bind.clone(), source })?;
    metrics::handle();
    let daemon = Arc::new(Daemon {
        ctx: ctx.clone(),
        tracker: TaskTracker::new(),
        deliver_now: Notify::new(),
        claimer: crate::remind::deliver::claimer(),
        access: access::Access::new(&token, ctx.settings.admin.viewer_token.expose()),
        reports: dashboard::ReportCache::default(),
        started: std::time::Instant::now(),
    });
    let mut scheduler = start_schedules(&daemon).await?;
    catch_up(&daemon).await;
    let delivery = tokio::spawn(delivery_loop(daemon.clone()));
    let warm = tokio::spawn(dashboard::keep_warm(daemon.clone()));
    tracing::info!(address = %local, schedules = ctx.settings.serve.schedules.len(), "chiso serve: listening");
    if let Some(tx) = ready {
        let _ = tx.send(local);
    }
    let app = api::router(daemon.clone()).merge(dashboard::router(daemon.clone()));
    let stop = ctx.cancel.clone();
    let served = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await;
    if let Err(e) = served {
        tracing::error!("the admin API stopped: {e}");
    }
    // Shutdown: no new work; running jobs stop at their next safe point.
    ctx.cancel.cancel();
    let _ = scheduler.shutdown().await;
    daemon.tracker.close();
    let grace = Duration::from_secs(ctx.settings.serve.shutdown_grace_secs);
    tracing::info!(
        running = daemon.tracker.len(),
        grace_secs = grace.as_secs(),
        "shutting down: waiting for running jobs"
    );
    if tokio::time::timeout(grace, daemon.tracker.wait()).await.is_err() {
        report.abandoned = daemon.tracker.len();
        tracing::warn!(
            running = report.abandoned,
            "jobs still running after the grace period: they will be marked failed (interrupted) at the next start"
        );
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), delivery).await;
    warm.abort();
    tracing::info!("chiso serve: stopped");
    Ok(report)
}

async fn start_schedules(daemon: &Arc<Daemon>) -> Result<tokio_cron_scheduler::JobScheduler, ServeError> {
    let err = |e: tokio_cron_scheduler::JobSchedulerError| ServeError::Scheduler(e.to_string());
    let scheduler = tokio_cron_scheduler::JobScheduler::new().await.map_err(err)?;
    let tz = daemon.ctx.settings.calendar.timezone;
    for s in daemon.ctx.settings.serve.schedules.clone() {
        let cron = settings::parse_cron(&s.cron).map_err(ServeError::Scheduler)?;
        let d = daemon.clone();
        let expr = s.cron.clone();
        let job = tokio_cron_scheduler::Job::new_async_tz(expr.as_str(), tz, move |_, _| {
            let (d, s, cron) = (d.clone(), s.clone(), cron.clone());
            Box::pin(async move {
                let tick = schedule::tick_at(&cron, Utc::now(), tz);
                let task = d.clone();
                d.tracker.spawn(async move { run_tick(&task, &s, tick, false).await });
            })
        })
        .map_err(err)?;
        scheduler.add(job).await.map_err(err)?;
    }
    scheduler.start().await.map_err(err)?;
    Ok(scheduler)
}

/// At start: for each schedule that missed ticks while the daemon was down, run the latest
/// missed tick once.
async fn catch_up(daemon: &Arc<Daemon>) {
    let tz = daemon.ctx.settings.calendar.timezone;
    for s in daemon.ctx.settings.serve.schedules.iter().filter(|s| s.catch_up) {
        let Ok(cron) = settings::parse_cron(&s.cron) else { continue };
        let last = match daemon.ctx.wh.last_tick(&s.id).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(schedule = %s.id, "cannot read the schedule's last tick: {e}");
                continue;
            }
        };
        if let Some(tick) = schedule::missed_tick(&cron, last, Utc::now(), tz) {
            tracing::info!(schedule = %s.id, tick = %tick, "catching up the latest missed tick, once");
            let (d, s) = (daemon.clone(), s.clone());
            daemon.tracker.spawn(async move { run_tick(&d, &s, tick, true).await });
        }
    }
}

/// Runs one tick of a schedule, if this process claims it.
pub async fn run_tick(daemon: &Daemon, s: &Schedule, tick: chrono::DateTime<Utc>, catch_up: bool) {
    let ctx = &daemon.ctx;
    if ctx.cancel.is_cancelled() {
        return;
    }
    match ctx.wh.claim_tick(&s.id, tick, &daemon.claimer, catch_up).await {
        Ok(true) => {}
        Ok(false) => {
            tracing::debug!(schedule = %s.id, tick = %tick, "tick claimed by another replica");
            return;
        }
        Err(e) => {
            tracing::warn!(schedule = %s.id, "cannot claim the tick: {e}");
            return;
        }
    }
    let Some(period) = schedule::period_for(s, &ctx.settings.serve, &ctx.settings.calendar, tick) else {
        tracing::debug!(schedule = %s.id, tick = %tick, "outside the reporting window: nothing to do");
        return;
    };
    let origin = Origin::new(Trigger::Schedule, None);
    let mut steps = vec![s.job];
    if s.job == JobKind::Collect {
        steps.push(JobKind::Evaluate);
    }
    for job in steps {
        let spec = JobSpec::new(job, Some(period));
        match execute(ctx, &spec, &origin).await {
            Ok(o) => {
                if let Some(id) = o.run_id.filter(|_| job == s.job) {
                    let _ = ctx.wh.set_tick_run(&s.id, tick, id).await;
                }
                tracing::info!(schedule = %s.id, job = job.as_str(), period = %period, run = ?o.run_id, status = %o.status, "scheduled job done");
            }
            Err(JobError::Busy(e)) => {
                tracing::info!(schedule = %s.id, "{e}: this tick is skipped");
                return;
            }
            Err(e) => {
                tracing::error!(schedule = %s.id, job = job.as_str(), period = %period, "scheduled job failed: {e}");
                return;
            }
        }
        if ctx.cancel.is_cancelled() {
            return;
        }
    }
    daemon.deliver_now.notify_one();
}

/// Sends what is due, now and whenever something becomes due; picks up what a stopped
/// process left in the outbox.
async fn delivery_loop(daemon: Arc<Daemon>) {
    let ctx = &daemon.ctx;
    let interval = Duration::from_secs(ctx.settings.serve.delivery_interval_secs.max(1));
    loop {
        if ctx.cancel.is_cancelled() {
            return;
        }
        let mut wait = interval;
        match send_due(ctx, Utc::now(), Fault::None).await {
            Ok(d) => {
                if d.sent + d.partial + d.failed + d.retrying > 0 {
                    tracing::info!(
                        sent = d.sent,
                        partial = d.partial,
                        failed = d.failed,
                        retrying = d.retrying,
                        "outbox delivered"
                    );
                }
                for at in [d.next_due, d.waiting_until].into_iter().flatten() {
                    if let Ok(until) = (at - Utc::now()).to_std() {
                        wait = wait.min(until.max(Duration::from_secs(1)));
                    }
                }
            }
            Err(e) => tracing::warn!("cannot deliver the outbox: {e}"),
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = daemon.deliver_now.notified() => {}
            _ = ctx.cancel.cancelled() => return,
        }
    }
}
