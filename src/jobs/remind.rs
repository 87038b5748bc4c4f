//! `remind`: pick the round that is due, judge the period afresh, plan one digest per
//! agency that must act, queue them under their idempotency keys (a rerun queues nothing
//! new), withdraw what a newer message supersedes, then send what is due.
//!
//! Owns: `RemindRequest`, `RemindReport`, `Planned`, `RemindError`, `remind` (the job),
//! `send_due`, `sending_calendar` and `options`. Receives: the `app::Context` and a
//! `RemindRequest` from `jobs::dispatch`, `cli` and `cli::remind` (optionally the rows just
//! judged by `jobs::evaluate`); the last messages from `warehouse`. Hands on: gap rows to
//! `remind::plan`, digests to `remind::compose`, `warehouse::NewMessage`s to the outbox,
//! the outbox to `remind::deliver`; a `RemindReport` (or a
//! `remind::deliver::DeliveryReport` from `send_due`, also called by `serve`) to the
//! caller.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::Arc;

/// The sender as the coordinating agency valid on the day of composition: a configured
/// `mail.from` that names the plan's coordinator (`Sở Thông tin và Truyền thông Vĩnh Long`)
/// names its successor once it is merged (`Sở Khoa học và Công nghệ Vĩnh Long` from
/// 1/3/2025); the address stays. A sender name that names another agency is kept.
fn sender_on_the_day(ctx: &Context, from: lettre::message::Mailbox, current: &str) -> lettre::message::Mailbox {
    let Some(configured) = from.name.clone() else { return from };
    let Some(original) = ctx.dir.get(&ctx.settings.plan.coordinator).map(|a| a.name.clone()) else { return from };
    match configured.strip_prefix(original.as_str()) {
        Some(rest) if !current.is_empty() => {
            lettre::message::Mailbox::new(Some(format!("{current}{rest}")), from.email)
        }
        _ => from,
    }
}

/// Messages queued per transaction.
const QUEUE_BATCH: usize = 128;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::app::Context;
use crate::domain::{AgencyId, Period};
use crate::evaluate::GapRow;
use crate::events::Event;
use crate::jobs::evaluate::{EvaluateRequest, compute, evaluate};
use crate::remind::compose::{ComposeInput, Composed, Known, Shared, compose_into, context};
use crate::remind::deliver::{DeliverError, DeliverOptions, DeliveryReport, Fault, Transport, deliver_due};
use crate::remind::plan::{Digest, MessageKind, PlanInput, Unreachable, due_round, plan_round, round_opens};
use crate::remind::render::{Named, TemplateError, Templates};
use crate::remind::{Round, SendingCalendar};
use crate::report::template::WorkbookCache;
use crate::warehouse::NewMessage;
use crate::warehouse::{NewRun, RunStatus, Trigger, WarehouseError};

/// Why a reminder run could not run.
#[derive(Debug, thiserror::Error)]
pub enum RemindError {
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
    #[error(transparent)]
    Deliver(#[from] DeliverError),
    #[error("templates: {0}")]
    Template(#[from] TemplateError),
    #[error("{}", crate::messages::jobs::unknown_round(.round, .known))]
    UnknownRound { round: String, known: String },
    #[error("remind: {0}")]
    Settings(String),
    #[error(transparent)]
    Busy(#[from] super::lease::LeaseError),
}

impl From<super::evaluate::EvaluateError> for RemindError {
    fn from(e: super::evaluate::EvaluateError) -> Self {
        match e {
            super::evaluate::EvaluateError::Busy(b) => RemindError::Busy(b),
            super::evaluate::EvaluateError::Warehouse(w) => RemindError::Warehouse(w),
        }
    }
}

/// What to do.
#[derive(Debug, Clone, Serialize)]
pub struct RemindRequest {
    pub period: Period,
    /// A round by id; by default the latest round whose opening has passed.
    pub round: Option<String>,
    /// The moment of the run (default: now).
    pub now: Option<DateTime<Utc>>,
    /// Show who would get what; queue and send nothing.
    pub dry_run: bool,
    /// Queue the round again for agencies that already got it (a new key `…#r<run>`).
    pub force: bool,
    /// Send what is due after queuing (the daemon's delivery loop sends otherwise).
    pub deliver: bool,
    /// Judged as of another moment (`--at`): the evaluation is stored as a replay and the
    /// current gap table is left as it was.
    #[serde(default)]
    pub replay: bool,
    pub trigger: Trigger,
    pub operator: Option<String>,
    #[serde(skip)]
    pub fault: Fault,
    /// A run created beforehand (admin API).
    #[serde(skip)]
    pub run_id: Option<i64>,
    #[serde(default)]
    pub rerun_of: Option<i64>,
}

impl RemindRequest {
    pub fn new(period: Period) -> Self {
        Self {
            period,
            round: None,
            now: None,
            dry_run: false,
            force: false,
            deliver: true,
            replay: false,
            trigger: Trigger::Cli,
            operator: None,
            fault: Fault::None,
            run_id: None,
            rerun_of: None,
        }
    }
}

/// One planned message, as the operator previews it.
#[derive(Debug, Clone, Serialize)]
pub struct Planned {
    pub key: String,
    pub kind: MessageKind,
    pub agency: String,
    pub agency_name: String,
    pub on_behalf: Vec<String>,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub items: usize,
    pub subject: String,
    pub not_before: DateTime<Utc>,
    pub held_by_interval: bool,
    pub copies_missing: Vec<String>,
    /// new | already (a previous run queued it) | error
    pub state: String,
    pub error: Option<String>,
}

/// What a run did or, dry, would do.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RemindReport {
    pub run_id: Option<i64>,
    pub period: Option<Period>,
    pub round: Option<String>,
    pub round_name: Option<String>,
    pub opens_at: Option<DateTime<Utc>>,
    /// Why nothing was planned, when no round is open yet.
    pub idle: Option<String>,
    pub dry_run: bool,
    pub evaluation_run: Option<i64>,
    /// Earlier rounds that opened but never went out: the round sent now replaces them.
    pub superseded: Vec<String>,
    pub planned: Vec<Planned>,
    pub queued: usize,
    pub already: usize,
    pub corrections: usize,
    pub errors: usize,
    /// Keys withdrawn before sending (superseded by a newer message).
    pub cancelled: Vec<String>,
    pub unreachable: Vec<Unreachable>,
    pub delivery: Option<DeliveryReport>,
    /// Milliseconds spent in each phase (judge, plan, compose, queue, send).
    pub phases_ms: std::collections::BTreeMap<&'static str, u64>,
}

impl RemindReport {
    /// Something the operator must look at went wrong.
    pub fn failed(&self) -> bool {
        self.errors > 0 || self.delivery.as_ref().is_some_and(|d| d.failed > 0 || d.partial > 0)
    }
}

/// The sending calendar of the settings.
pub fn sending_calendar(ctx: &Context) -> Result<SendingCalendar, RemindError> {
    SendingCalendar::new(&ctx.settings.remind.working, ctx.settings.calendar.timezone)
        .map_err(|e| RemindError::Settings(e.to_string()))
}

fn find_round<'a>(rounds: &'a [Round], id: &str) -> Result<&'a Round, RemindError> {
    rounds.iter().find(|r| r.id == id).ok_or_else(|| RemindError::UnknownRound {
        round: id.to_string(),
        known: rounds.iter().map(|r| r.id.as_str()).collect::<Vec<_>>().join(", "),
    })
}

/// Runs a round. `evaluated` passes rows a caller has just judged and stored (the cycle),
/// with their run, so they are not judged twice.
#[tracing::instrument(skip_all, fields(run_id, job = "remind", period = %req.period))]
pub async fn remind(
    ctx: &Context,
    req: &RemindRequest,
    evaluated: Option<(i64, &[GapRow])>,
) -> Result<RemindReport, RemindError> {
    let now = req.now.unwrap_or_else(Utc::now);
    let settings = &ctx.settings.remind;
    let sending = sending_calendar(ctx)?;
    let due = ctx.settings.calendar.due_date(req.period);
    let mut report = RemindReport { period: Some(req.period), dry_run: req.dry_run, ..RemindReport::default() };
    let (round, opens_at) = match &req.round {
        Some(id) => {
            // Named by the operator: sent now even if its scheduled opening is later.
            let r = find_round(&settings.rounds, id)?;
            (r, round_opens(r, &sending, due).min(now))
        }
        None => match due_round(&settings.rounds, &sending, due, now) {
            Some(x) => x,
            None => {
                let first = settings.rounds.iter().map(|r| (round_opens(r, &sending, due), r)).min_by_key(|x| x.0);
                report.idle = Some(match first {
                    Some((at, r)) => format!(
                        "chưa đến đợt nhắc nào của {}: đợt đầu, {} ({}), mở lúc {}",
                        req.period.vi(),
                        r.id,
                        r.name,
                        at.with_timezone(&ctx.settings.calendar.timezone).format("%d/%m/%Y %H:%M")
                    ),
                    None => "chưa cấu hình đợt nhắc nào ([[remind.round]])".into(),
                });
                return Ok(report);
            }
        },
    };
    report.round = Some(round.id.clone());
    report.round_name = Some(round.name.clone());
    report.opens_at = Some(opens_at);
    if req.round.is_none() {
        for r in &settings.rounds {
            let opens = round_opens(r, &sending, due);
            if r.id != round.id
                && opens <= now
                && opens < opens_at
                && !ctx.wh.round_queued(&ctx.catalog.plan.id, req.period, &r.id).await?
            {
                report.superseded.push(r.id.clone());
            }
        }
    }
    let templates = Arc::new(Templates::load(&settings.templates)?);
    let new_run = NewRun {
        job: "remind".into(),
        period: Some(req.period),
        source: None,
        round: Some(round.id.clone()),
        params: serde_json::to_value(req).unwrap_or_default(),
        trigger: req.trigger,
        operator: req.operator.clone(),
        dry_run: req.dry_run,
        rerun_of: req.rerun_of,
    };
    let (lease, run_id) = super::begin(ctx, &new_run, req.run_id, None).await?;
    report.run_id = Some(run_id);
    let on = RoundRun { now, round, opens_at, sending: &sending, templates: &templates, evaluated, run_id };
    match run(ctx, req, &on, &mut report).await {
        Ok(()) => {
            let status = if report.failed() { RunStatus::Partial } else { RunStatus::Succeeded };
            let counts = serde_json::json!({
                "round": round.id,
                "queued": report.queued,
                "already": report.already,
                "corrections": report.corrections,
                "errors": report.errors,
                "cancelled": report.cancelled,
                "superseded": report.superseded,
                "unreachable": report.unreachable,
                "delivery": report.delivery,
                "dry_run": req.dry_run,
            });
            super::end(ctx, lease, run_id, status, &counts, None).await?;
            Ok(report)
        }
        Err(e) => {
            let _ =
                super::end(ctx, lease, run_id, RunStatus::Failed, &serde_json::json!({}), Some(&e.to_string())).await;
            Err(e)
        }
    }
}

/// One round's run: when it is judged, the round, when sending opens, the templates, the
/// evaluation it is based on, and the run it is recorded under.
struct RoundRun<'a> {
    now: DateTime<Utc>,
    round: &'a Round,
    opens_at: DateTime<Utc>,
    sending: &'a SendingCalendar,
    templates: &'a Arc<Templates>,
    evaluated: Option<(i64, &'a [GapRow])>,
    run_id: i64,
}

async fn run(
    ctx: &Context,
    req: &RemindRequest,
    on: &RoundRun<'_>,
    report: &mut RemindReport,
) -> Result<(), RemindError> {
    let RoundRun { now, round, templates, run_id, .. } = *on;
    let mut clock = std::time::Instant::now();
    let mut lap = |report: &mut RemindReport, phase: &'static str| {
        report.phases_ms.insert(phase, u64::try_from(clock.elapsed().as_millis()).unwrap_or(u64::MAX));
        clock = std::time::Instant::now();
    };
    let rows = judged_rows(ctx, req, on, report).await?;
    lap(report, "judge");
    let (fresh, old) = plan_digests(ctx, req, on, &rows, report).await?;
    lap(report, "plan");

    // Pre-filled workbooks need what each agency reported this quarter and the last.
    let origins: Vec<AgencyId> =
        fresh.iter().flat_map(|d| d.origins.iter().cloned()).collect::<BTreeSet<_>>().into_iter().collect();
    let known = Arc::new(if req.dry_run {
        Known::default()
    } else {
        Known(ctx.wh.agencies_values(&ctx.catalog.plan.id, &origins, &[req.period, req.period.prev()]).await?)
    });
    let assignments = ctx.assignments(req.period);
    let (from, coordinator) = sender(ctx, ctx.settings.calendar.local_date(now))?;
    let preview_books = WorkbookCache::default();
    let own = Arc::new(crate::remind::plan::OwnItems::new(&ctx.catalog, &ctx.dir));
    let input = ComposeInput {
        catalog: &ctx.catalog,
        dir: &ctx.dir,
        calendar: &ctx.settings.calendar,
        assignments: &assignments,
        templates,
        books: &preview_books,
        known: &known,
        period: req.period,
        round,
        subject_prefix: &ctx.settings.remind.subject_prefix,
        from: &from,
        coordinator,
        now,
        run_id: Some(run_id),
        evaluation_run: report.evaluation_run,
        group_mode: ctx.settings.remind.group_items,
        own: &own,
    };
    let subject_of = |d: &Digest| {
        let names = d.origins.iter().map(|o| crate::remind::compose::workbook_name(req.period, o)).collect();
        templates.render(d.kind.as_str(), &context(&input, d, names)).map(|r| r.subject).unwrap_or_default()
    };
    for d in &old {
        report.planned.push(preview(d, "already", subject_of(d), None));
    }
    if req.dry_run {
        for d in &fresh {
            report.planned.push(preview(d, "new", subject_of(d), None));
            if d.kind == MessageKind::Correction {
                report.corrections += 1;
            }
        }
        report.queued = fresh.len();
        return Ok(());
    }
    lap(report, "prepare");
    let shared = Arc::new(Shared {
        catalog: ctx.catalog.clone(),
        dir: ctx.dir.clone(),
        calendar: ctx.settings.calendar,
        assignments: assignments.clone(),
        templates: templates.clone(),
        books: WorkbookCache::default(),
        known: known.clone(),
        period: req.period,
        round: round.clone(),
        subject_prefix: ctx.settings.remind.subject_prefix.clone(),
        from: from.clone(),
        coordinator: input.coordinator.clone(),
        now,
        run_id: Some(run_id),
        evaluation_run: report.evaluation_run,
        group_mode: ctx.settings.remind.group_items,
        own: own.clone(),
    });
    let planned = compose_and_queue(ctx, shared, fresh, now, report).await?;
    report.planned.extend(planned);
    lap(report, "compose_queue");
    conclude(ctx, req, on, report).await
}

/// The rows the round is judged on: those the caller has just judged and stored, else the
/// period judged afresh (a report that came in since the last evaluation counts); a dry
/// run judges without storing.
async fn judged_rows<'r>(
    ctx: &Context,
    req: &RemindRequest,
    on: &RoundRun<'r>,
    report: &mut RemindReport,
) -> Result<Cow<'r, [GapRow]>, RemindError> {
    match on.evaluated {
        Some((run, rows)) => {
            report.evaluation_run = Some(run);
            Ok(Cow::Borrowed(rows))
        }
        None if req.dry_run => {
            report.evaluation_run = ctx.wh.last_run("evaluate", req.period).await?;
            Ok(Cow::Owned(compute(ctx, req.period, on.now).await?))
        }
        None => {
            // Another process may be evaluating the period: wait for it rather than fail.
            let e = evaluate(
                ctx,
                &EvaluateRequest {
                    now: Some(on.now),
                    replay: req.replay,
                    wait: Some(std::time::Duration::from_secs(300).max(ctx.lease_wait)),
                    ..EvaluateRequest::new(req.period, req.trigger, req.operator.clone())
                },
            )
            .await?;
            report.evaluation_run = Some(e.run_id);
            Ok(Cow::Owned(e.rows))
        }
    }
}

/// Plans the round's digests from the judged rows, withdraws what waits for an agency a
/// report has since cleared, and splits the digests into those not queued yet and those
/// already queued under their key (a rerun queues nothing new).
async fn plan_digests(
    ctx: &Context,
    req: &RemindRequest,
    on: &RoundRun<'_>,
    rows: &[GapRow],
    report: &mut RemindReport,
) -> Result<(Vec<Digest>, Vec<Digest>), RemindError> {
    let plan_id = &ctx.catalog.plan.id;
    let last = ctx.wh.last_messages(plan_id, req.period).await?;
    let plan = plan_round(&PlanInput {
        catalog: &ctx.catalog,
        dir: &ctx.dir,
        settings: &ctx.settings.remind,
        sending: on.sending,
        coordinator: &ctx.settings.plan.coordinator,
        plan_id,
        period: req.period,
        round: on.round,
        opens_at: on.opens_at,
        now: on.now,
        today: ctx.settings.calendar.local_date(on.now),
        responsible_on: ctx.settings.calendar.cutoff(req.period),
        rows,
        last: &last,
        key_suffix: req.force.then(|| format!("#r{}", on.run_id)),
    });
    report.unreachable = plan.unreachable;
    if !req.dry_run {
        for agency in &plan.withdraw {
            let reason = "withdrawn: a report received since cleared every item it listed";
            report.cancelled.extend(ctx.wh.cancel_queued(plan_id, req.period, agency.as_str(), None, reason).await?);
        }
    }
    for u in &report.unreachable {
        tracing::warn!(agency = %u.agency, items = u.items, "cannot remind {}: {}", u.name, u.reason);
    }
    let keys: Vec<String> = plan.digests.iter().map(|d| d.key.clone()).collect();
    let existing = ctx.wh.existing_keys(&keys).await?;
    let (fresh, old): (Vec<Digest>, Vec<Digest>) = plan.digests.into_iter().partition(|d| !existing.contains(&d.key));
    report.already = old.len();
    Ok((fresh, old))
}

/// The sender (`mail.from`, named for the coordinating agency valid on the day) and that
/// agency, as the messages name them.
fn sender(ctx: &Context, today: NaiveDate) -> Result<(lettre::message::Mailbox, Named), RemindError> {
    let from: lettre::message::Mailbox = ctx
        .settings
        .mail
        .from
        .parse()
        .map_err(|_| RemindError::Settings(format!("mail.from `{}` is not an address", ctx.settings.mail.from)))?;
    let coordinator = ctx
        .dir
        .current(&ctx.settings.plan.coordinator, today)
        .and_then(|id| ctx.dir.get(&id))
        .map(|a| Named { name: a.name.clone(), email: a.emails.first().cloned().unwrap_or_default() })
        .unwrap_or_default();
    Ok((sender_on_the_day(ctx, from, &coordinator.name), coordinator))
}

/// A digest as the operator previews it, in a given state.
fn preview(d: &Digest, state: &str, subject: String, error: Option<String>) -> Planned {
    Planned {
        key: d.key.clone(),
        kind: d.kind,
        agency: d.agency.to_string(),
        agency_name: d.agency_name.clone(),
        on_behalf: d.on_behalf.clone(),
        to: d.to.iter().map(|r| r.address.clone()).collect(),
        cc: d.cc.iter().map(|r| r.address.clone()).collect(),
        items: d.rows.len() + d.group_rows.len(),
        subject,
        not_before: d.not_before,
        held_by_interval: d.held_by_interval,
        copies_missing: d.copies_missing.clone(),
        state: state.to_string(),
        error,
    }
}

/// Composes the fresh digests on every core and queues the messages as they come, in
/// batches (each its own transaction: a message's key is what makes it unique, not the
/// batch). Returns their previews in key order.
async fn compose_and_queue(
    ctx: &Context,
    shared: Arc<Shared>,
    fresh: Vec<Digest>,
    now: DateTime<Utc>,
    report: &mut RemindReport,
) -> Result<Vec<Planned>, RemindError> {
    let fresh = Arc::new(fresh);
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Composed>(256);
    compose_into(shared, fresh.clone(), tx);
    let mut batch: Vec<(usize, NewMessage)> = Vec::with_capacity(QUEUE_BATCH);
    let mut planned = Vec::with_capacity(fresh.len());
    loop {
        let next = rx.recv().await;
        let finished = next.is_none();
        match next {
            Some((i, Ok(m))) => batch.push((i, m)),
            Some((i, Err(e))) => {
                let d = &fresh[i];
                Event::Failed.emit_because(1, &d.key, format_args!("cannot compose the message: {e}"));
                report.errors += 1;
                planned.push(preview(d, "error", String::new(), Some(e.to_string())));
            }
            None => {}
        }
        if (finished || batch.len() >= QUEUE_BATCH) && !batch.is_empty() {
            let (indices, messages): (Vec<usize>, Vec<NewMessage>) = batch.drain(..).unzip();
            let ids = ctx.wh.queue_messages(&messages, now).await?;
            for ((i, m), id) in indices.into_iter().zip(messages).zip(ids) {
                let d = &fresh[i];
                if id.is_some() {
                    report.queued += 1;
                    if d.kind == MessageKind::Correction {
                        report.corrections += 1;
                    }
                    planned.push(preview(d, "new", m.subject, None));
                } else {
                    // Another process queued the same key between our check and our write.
                    report.already += 1;
                    planned.push(preview(d, "already", m.subject, None));
                }
            }
        }
        if finished {
            break;
        }
    }
    planned.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(planned)
}

/// After queueing: withdraws what a newer message supersedes (one message at a time per
/// agency), logs the round, and sends what is due when the request asks to.
async fn conclude(
    ctx: &Context,
    req: &RemindRequest,
    on: &RoundRun<'_>,
    report: &mut RemindReport,
) -> Result<(), RemindError> {
    report.cancelled.extend(ctx.wh.cancel_superseded(&ctx.catalog.plan.id, req.period, on.run_id).await?);
    Event::Reminded.emit(report.queued as u64, &on.round.id);
    tracing::info!(
        period = %req.period,
        round = %on.round.id,
        queued = report.queued,
        already = report.already,
        corrections = report.corrections,
        unreachable = report.unreachable.len(),
        "reminders queued"
    );
    if req.deliver {
        let transport = Transport::from_settings(&ctx.settings.mail, ctx.settings.remind.concurrency)?;
        let opts = DeliverOptions { fault: req.fault, ..options(ctx, on.now) };
        report.delivery = Some(
            deliver_due(&ctx.wh, &transport, &ctx.settings.remind, on.sending, &ctx.settings.mail.from, &opts).await?,
        );
    }
    Ok(())
}

/// Sends what is due now (the daemon's loop, `chiso outbox send`).
pub async fn send_due(ctx: &Context, now: DateTime<Utc>, fault: Fault) -> Result<DeliveryReport, RemindError> {
    let sending = sending_calendar(ctx)?;
    let transport = Transport::from_settings(&ctx.settings.mail, ctx.settings.remind.concurrency)?;
    let opts = DeliverOptions { fault, ..options(ctx, now) };
    Ok(deliver_due(&ctx.wh, &transport, &ctx.settings.remind, &sending, &ctx.settings.mail.from, &opts).await?)
}

/// Delivery options from the settings.
pub fn options(ctx: &Context, now: DateTime<Utc>) -> DeliverOptions {
    let lease = chrono::Duration::seconds(i64::try_from(ctx.settings.remind.lease_secs.max(1)).unwrap_or(600));
    DeliverOptions { lease, stop: Some(ctx.cancel.clone()), ..DeliverOptions::at(now) }
}
