//! Delivery faults and the sending calendar, against a scripted SMTP server on loopback:
//! refused connections, a busy server (421), a refused recipient (550), a crash between
//! sending and marking; rounds that fall on a Saturday, in Tết or after hours; the minimum
//! interval; corrections after a late report. Each ends as documented in
//! `src/remind/deliver.rs`, and a rerun never sends a reminder twice.

mod common;

use std::collections::HashMap;

use chiso::app::Context;
use chiso::domain::{ItemKey, MeasureKind, Period, Progress, Value};
use chiso::jobs::remind::{RemindError, RemindRequest, remind, send_due};
use chiso::remind::deliver::{DeliverError, Fault};
use chiso::remind::{Copy, Round};
use chiso::report::template::{KnownValues, build_spec, write};
use chrono::{DateTime, Duration, Utc};
use common::smtp::{Script, ScriptedSmtp, closed_port};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn q2() -> Period {
    common::period("2024-Q2")
}

fn round(id: &str, offset_days: i64, copy: Vec<Copy>) -> Round {
    Round {
        id: id.into(),
        name: format!("Vòng {id}"),
        offset_days,
        statuses: vec![
            chiso::evaluate::Status::Missing,
            chiso::evaluate::Status::Lagging,
            chiso::evaluate::Status::AtRisk,
            chiso::evaluate::Status::Overdue,
        ],
        min_interval_hours: 72,
        copy,
        copy_co_agencies: false,
    }
}

async fn demo(db: &common::TestDb, s: chiso::config::Settings) -> Context {
    let sources = chiso::sources::load(&common::repo("config/sources.toml"), &common::directory()).unwrap();
    let ctx = common::context(db, s, sources).await;
    common::collect(&ctx, q2()).await;
    ctx
}

fn req(now: DateTime<Utc>) -> RemindRequest {
    RemindRequest { now: Some(now), ..RemindRequest::new(q2()) }
}

/// Every recipient address of every queued message.
async fn all_recipients(ctx: &Context) -> Vec<String> {
    ctx.wh
        .outbox(Some(q2()), None, None)
        .await
        .unwrap()
        .into_iter()
        .flat_map(|r| r.recipients.into_iter().map(|x| x.address))
        .collect()
}

#[tokio::test]
async fn refused_connections_retry_with_backoff_and_stay_queued() {
    for db in common::all().await {
        let mut s = common::smtp_settings(closed_port());
        s.remind.max_attempts = 2;
        let ctx = demo(&db, s).await;
        let now = at("2024-06-20T10:00:00+07:00");
        let r = remind(&ctx, &req(now), None).await.unwrap();
        let d = r.delivery.unwrap();
        assert_eq!((d.sent, d.retrying, d.failed), (0, r.queued, 0), "{}", db.name);
        let rows = ctx.wh.outbox(Some(q2()), None, None).await.unwrap();
        for row in &rows {
            assert_eq!((row.status.as_str(), row.attempts), ("queued", 1), "{}", row.key);
            let wait = row.not_before - now;
            assert!(wait >= Duration::seconds(48) && wait <= Duration::seconds(72), "backoff {wait} for {}", row.key);
            assert!(row.last_error.as_deref().is_some_and(|e| !e.is_empty()));
            assert!(row.recipients.iter().all(|x| x.status == "pending"));
        }
        // Not yet due: nothing tried.
        let early = send_due(&ctx, now + Duration::seconds(30), Fault::None).await.unwrap();
        assert_eq!(early.retrying + early.sent + early.failed, 0);
        // The second attempt, the last of the budget, fails too: still queued, never given up
        // for an unreachable server, with its attempts counted and the cause kept.
        let last = send_due(&ctx, now + Duration::minutes(5), Fault::None).await.unwrap();
        assert_eq!((last.failed, last.retrying), (0, r.queued));
        for row in ctx.wh.outbox(Some(q2()), None, None).await.unwrap() {
            assert_eq!((row.status.as_str(), row.attempts), ("queued", 2), "{}", row.key);
            assert!(row.recipients.iter().all(|x| x.status == "pending"), "{}", row.key);
            assert!(row.last_error.as_deref().is_some_and(|e| !e.is_empty()));
        }
        let run = remind(&ctx, &req(now + Duration::minutes(6)), None).await.unwrap();
        assert_eq!(run.queued, 0, "a rerun does not queue a waiting message twice");
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_busy_server_answering_421_is_retried_and_each_recipient_gets_one_copy() {
    let db = common::sqlite().await;
    let server = ScriptedSmtp::start(Script { busy_connections: 1, ..Script::default() }).await;
    let ctx = demo(&db, common::smtp_settings(server.port)).await;
    let now = at("2024-06-20T10:00:00+07:00");
    let r = remind(&ctx, &req(now), None).await.unwrap();
    let d = r.delivery.unwrap();
    assert_eq!((d.sent, d.retrying, d.failed), (r.queued - 1, 1, 0));
    let waiting: Vec<_> = ctx.wh.outbox(Some(q2()), Some("queued"), None).await.unwrap();
    assert_eq!(waiting.len(), 1);
    assert!(waiting[0].last_error.as_deref().unwrap().contains("421"), "{:?}", waiting[0].last_error);
    let later = send_due(&ctx, now + Duration::minutes(2), Fault::None).await.unwrap();
    assert_eq!((later.sent, later.retrying), (1, 0));
    let row = ctx.wh.outbox(None, None, Some(waiting[0].id)).await.unwrap().remove(0);
    assert_eq!((row.status.as_str(), row.attempts), ("sent", 2));
    for address in all_recipients(&ctx).await {
        assert_eq!(server.count_for(&address), 1, "{address}");
    }
    db.cleanup().await;
}

#[tokio::test]
async fn a_recipient_refused_with_550_is_recorded_and_the_others_are_served() {
    for db in common::all().await {
        let server =
            ScriptedSmtp::start(Script { refuse: vec!["so_tttt@vinhlong.example".into()], ..Script::default() }).await;
        let mut s = common::smtp_settings(server.port);
        s.remind.rounds = vec![round("escalate", 1, vec![Copy::Coordinator, Copy::Supervisor])];
        let ctx = demo(&db, s).await;
        let now = at("2024-06-20T10:00:00+07:00");
        let r = remind(&ctx, &req(now), None).await.unwrap();
        assert!(r.failed(), "a refused recipient is something the operator must see");
        let yt = ctx
            .wh
            .outbox(Some(q2()), None, None)
            .await
            .unwrap()
            .into_iter()
            .find(|x| x.agency.as_str() == "so_yt")
            .unwrap();
        assert_eq!(yt.status, "partial");
        let state: HashMap<&str, (&str, Option<i64>)> =
            yt.recipients.iter().map(|x| (x.address.as_str(), (x.status.as_str(), x.smtp_code))).collect();
        assert_eq!(state.len(), 3, "to the agency, copies to the coordinator and the supervisor: {state:?}");
        assert_eq!(state["so_yt@vinhlong.example"], ("sent", Some(250)));
        assert_eq!(state["ubnd_tinh@vinhlong.example"], ("sent", Some(250)));
        assert_eq!(state["so_tttt@vinhlong.example"], ("failed", Some(550)));
        let refused = yt.recipients.iter().find(|x| x.status.as_str() == "failed").unwrap();
        assert!(refused.error.as_deref().unwrap().contains("mailbox unavailable"), "{:?}", refused.error);
        assert_eq!(server.count_for("so_yt@vinhlong.example"), 1);

        // Permanent: not retried by later passes; a retry asked by the operator tries only
        // the refused recipient again.
        let later = send_due(&ctx, now + Duration::hours(2), Fault::None).await.unwrap();
        assert_eq!(later.sent + later.partial + later.retrying, 0);
        assert!(ctx.wh.retry_message(yt.id, now + Duration::hours(3)).await.unwrap());
        let retried = send_due(&ctx, now + Duration::hours(3), Fault::None).await.unwrap();
        assert_eq!(retried.partial, 1);
        assert_eq!(server.count_for("so_yt@vinhlong.example"), 1, "the agency is not sent the message again");
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_crash_between_send_and_mark_repeats_at_most_one_recipient() {
    for db in common::all().await {
        let server = ScriptedSmtp::start(Script::default()).await;
        let mut s = common::smtp_settings(server.port);
        s.remind.concurrency = 1;
        s.remind.rounds = vec![round("escalate", 1, vec![Copy::Coordinator, Copy::Supervisor])];
        let ctx = demo(&db, s).await;
        let now = at("2024-06-20T10:00:00+07:00");
        let crash = RemindRequest { fault: Fault::StopAfterSend, ..req(now) };
        let err = remind(&ctx, &crash, None).await.unwrap_err();
        assert!(matches!(err, RemindError::Deliver(DeliverError::InjectedCrash { .. })), "{err}");
        assert_eq!(server.deliveries().len(), 1, "one recipient was sent to before the crash");
        let first = server.deliveries()[0].clone();
        let crashed = first.rcpt[0].clone();
        let text = String::from_utf8_lossy(&first.data).into_owned();
        let key = text.lines().find_map(|l| l.strip_prefix("X-Chiso-Key: ")).unwrap().trim().to_string();
        let message_id = text.lines().find(|l| l.starts_with("Message-ID:")).unwrap().to_string();
        let sending = ctx.wh.outbox(Some(q2()), Some("sending"), None).await.unwrap();
        assert!(sending.iter().any(|r| r.key == key));

        // While the crashed sender's lease holds, nobody takes its messages.
        let held = send_due(&ctx, now + Duration::minutes(1), Fault::None).await.unwrap();
        assert!(held.reclaimed.is_empty());
        assert_eq!(server.count_of(&key, &crashed), 1);

        // After the lease: taken over, the one in flight repeated, nobody else.
        let resumed = send_due(&ctx, now + Duration::minutes(11), Fault::None).await.unwrap();
        assert_eq!(resumed.reclaimed.len(), sending.len());
        assert!(resumed.reclaimed.contains(&key));
        assert_eq!(server.count_of(&key, &crashed), 2, "the recipient in flight at the crash gets it twice");
        for row in ctx.wh.outbox(Some(q2()), None, None).await.unwrap() {
            for x in &row.recipients {
                let expected = if row.key == key && x.address == crashed { 2 } else { 1 };
                assert_eq!(server.count_of(&row.key, &x.address), expected, "{} {}", row.key, x.address);
            }
        }
        // Same Message-ID both times: a mail client shows one message.
        for d in server.deliveries().iter().filter(|d| d.rcpt[0] == crashed) {
            let t = String::from_utf8_lossy(&d.data).into_owned();
            if t.contains(&format!("X-Chiso-Key: {key}")) {
                assert!(t.contains(&message_id));
            }
        }
        assert!(ctx.wh.outbox(Some(q2()), None, None).await.unwrap().iter().all(|r| r.status == "sent"));
        db.cleanup().await;
    }
}

/// Runs a reminder at `now` and returns how many messages it queued and sent.
async fn run_at(ctx: &Context, now: DateTime<Utc>) -> (usize, usize, Option<DateTime<Utc>>) {
    let r = remind(ctx, &req(now), None).await.unwrap();
    let d = r.delivery.unwrap_or_default();
    (r.queued, d.sent, d.waiting_until)
}

#[tokio::test]
async fn a_round_due_on_a_saturday_goes_out_on_monday_morning_once() {
    let db = common::sqlite().await;
    let server = ScriptedSmtp::start(Script::default()).await;
    let mut s = common::smtp_settings(server.port);
    // Due 19/06/2024 + 3 days = Saturday 22/06.
    s.remind.rounds = vec![round("r", 3, vec![])];
    let ctx = demo(&db, s).await;
    let saturday = at("2024-06-22T10:00:00+07:00");
    let r = remind(&ctx, &req(saturday), None).await.unwrap();
    assert!(r.idle.as_deref().unwrap().contains("24/06/2024 07:30"), "{:?}", r.idle);
    assert_eq!(ctx.wh.outbox(None, None, None).await.unwrap().len(), 0);
    let (queued, sent, _) = run_at(&ctx, at("2024-06-24T07:30:00+07:00")).await;
    assert!(queued > 0);
    assert_eq!(sent, queued);
    assert_eq!(run_at(&ctx, at("2024-06-24T09:00:00+07:00")).await, (0, 0, None));
    for a in all_recipients(&ctx).await {
        assert_eq!(server.count_for(&a), 1);
    }
    db.cleanup().await;
}

#[tokio::test]
async fn a_round_due_in_tet_waits_for_the_first_working_day_after() {
    let db = common::sqlite().await;
    let server = ScriptedSmtp::start(Script::default()).await;
    let mut s = common::smtp_settings(server.port);
    // 19/06/2024 + 224 days = Wednesday 29/01/2025, Tết (holidays 25/01–02/02/2025).
    s.remind.rounds = vec![round("r", 224, vec![])];
    let ctx = demo(&db, s).await;
    let r = remind(&ctx, &req(at("2025-01-29T09:00:00+07:00")), None).await.unwrap();
    assert!(r.idle.as_deref().unwrap().contains("03/02/2025 07:30"), "{:?}", r.idle);
    let (queued, sent, _) = run_at(&ctx, at("2025-02-03T07:31:00+07:00")).await;
    assert!(queued > 0);
    assert_eq!(sent, queued);
    assert_eq!(run_at(&ctx, at("2025-02-03T10:00:00+07:00")).await, (0, 0, None));
    db.cleanup().await;
}

#[tokio::test]
async fn a_round_run_at_five_pm_is_queued_and_sent_next_morning_once() {
    let db = common::sqlite().await;
    let server = ScriptedSmtp::start(Script::default()).await;
    let ctx = demo(&db, common::smtp_settings(server.port)).await;
    let evening = at("2024-06-20T17:00:00+07:00");
    let (queued, sent, waiting) = run_at(&ctx, evening).await;
    assert!(queued > 0);
    assert_eq!(sent, 0);
    assert_eq!(waiting, Some(at("2024-06-21T07:30:00+07:00")));
    assert!(server.deliveries().is_empty());
    let morning = send_due(&ctx, at("2024-06-21T07:30:00+07:00"), Fault::None).await.unwrap();
    assert_eq!(morning.sent, queued);
    assert_eq!(run_at(&ctx, at("2024-06-21T08:00:00+07:00")).await, (0, 0, None));
    for a in all_recipients(&ctx).await {
        assert_eq!(server.count_for(&a), 1);
    }
    db.cleanup().await;
}

#[tokio::test]
async fn the_next_round_waits_for_the_minimum_interval() {
    let db = common::sqlite().await;
    let server = ScriptedSmtp::start(Script::default()).await;
    let ctx = demo(&db, common::smtp_settings(server.port)).await;
    let thursday = at("2024-06-20T10:00:00+07:00");
    let (first, _, _) = run_at(&ctx, thursday).await;
    assert!(first > 0);
    // The escalation run by hand on Friday: 72 h after Thursday's is Sunday, so Monday.
    let friday = at("2024-06-21T10:00:00+07:00");
    let r = remind(&ctx, &RemindRequest { round: Some("don_doc".into()), ..req(friday) }, None).await.unwrap();
    let yt = r.planned.iter().find(|p| p.agency.as_str() == "so_yt").unwrap();
    assert!(yt.held_by_interval);
    let wait = yt.not_before - (thursday + Duration::hours(72));
    assert!(wait >= Duration::zero() && wait < Duration::minutes(1), "72 h after the last message: {}", yt.not_before);
    assert_eq!(r.delivery.unwrap().sent, r.planned.iter().filter(|p| p.state == "new" && !p.held_by_interval).count());
    let monday = send_due(&ctx, at("2024-06-24T07:30:00+07:00"), Fault::None).await.unwrap();
    assert!(monday.sent > 0);
    assert_eq!(server.count_for("so_yt@vinhlong.example"), 2, "one per round");
    db.cleanup().await;
}

struct Fill(HashMap<(ItemKey, String), Value>);

impl KnownValues for Fill {
    fn value(&self, item: ItemKey, measure: &str, _: Period) -> Option<Value> {
        self.0.get(&(item, measure.to_string())).copied()
    }
}

/// Sở KH&CN sends its workbook late, every value at the target or above.
async fn late_report(ctx: &Context, run: i64) {
    let agency = "so_khcn".parse().unwrap();
    let spec = build_spec(&ctx.catalog, &ctx.dir, &ctx.settings.calendar, &agency, q2(), &());
    let values = spec
        .lead
        .iter()
        .chain(&spec.co)
        .map(|l| {
            let v = match l.kind {
                MeasureKind::Percent => Value::Percent(100.0),
                MeasureKind::Count { .. } => Value::Count(1_000_000.0),
                MeasureKind::Status => Value::Status(Progress::Done),
            };
            ((l.key, l.measure.clone()), v)
        })
        .collect();
    let filled = build_spec(&ctx.catalog, &ctx.dir, &ctx.settings.calendar, &agency, q2(), &Fill(values));
    let bytes = write(&filled).unwrap();
    let ids = ctx.wh.indicator_id_map("kh-742-2023").await.unwrap();
    let source = chiso::sources::Source { id: "manual".into(), agency: None, ..ctx.sources[0].clone() };
    chiso::jobs::collect::ingest_bytes(
        ctx,
        run,
        &source,
        q2(),
        chiso::jobs::collect::FileBytes::new("so_khcn.xlsx", bytes.clone()),
        &ids,
    )
    .await;
}

#[tokio::test]
async fn a_late_report_turns_the_next_reminder_into_a_correction() {
    for db in common::all().await {
        let server = ScriptedSmtp::start(Script::default()).await;
        let ctx = demo(&db, common::smtp_settings(server.port)).await;
        let thursday = at("2024-06-20T10:00:00+07:00");
        let first = remind(&ctx, &req(thursday), None).await.unwrap();
        let khcn = first.planned.iter().find(|p| p.agency.as_str() == "so_khcn").expect("Sở KH&CN has not reported");
        assert_eq!(khcn.kind, chiso::remind::plan::MessageKind::Reminder);
        late_report(&ctx, first.run_id.unwrap()).await;

        let later = at("2024-07-01T09:00:00+07:00");
        let next = remind(&ctx, &req(later), None).await.unwrap();
        assert_eq!(next.round.as_deref(), Some("don_doc"));
        let p = next.planned.iter().find(|p| p.agency.as_str() == "so_khcn").expect("a correction for Sở KH&CN");
        assert_eq!(p.kind, chiso::remind::plan::MessageKind::Correction);
        assert_eq!(p.subject, "[Chuyển đổi số] Đã nhận báo cáo Quý II/2024 – không cần thực hiện thư nhắc");
        assert_eq!(next.corrections, 1, "{}", db.name);
        let mail = server
            .deliveries()
            .into_iter()
            .rev()
            .find(|d| d.rcpt == vec!["so_khcn@vinhlong.example".to_string()])
            .unwrap();
        let parsed = mail_parser::MessageParser::default().parse(&mail.data).unwrap();
        let text = parsed.body_text(0).unwrap();
        assert!(text.contains("thư nhắc ngày 20/06/2024"), "{text}");
        assert!(parsed.attachments().next().is_none());
        // Once: the round after sends nothing to it.
        let again = remind(
            &ctx,
            &RemindRequest { round: Some("don_doc".into()), force: false, ..req(later + Duration::days(5)) },
            None,
        )
        .await
        .unwrap();
        assert!(again.planned.iter().filter(|p| p.agency.as_str() == "so_khcn").all(|p| p.state == "already"));
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_queued_reminder_is_withdrawn_when_a_report_clears_it_before_sending() {
    let db = common::sqlite().await;
    let server = ScriptedSmtp::start(Script::default()).await;
    let ctx = demo(&db, common::smtp_settings(server.port)).await;
    // Queued Saturday (the window is closed), the report arrives Sunday.
    let saturday = at("2024-06-22T10:00:00+07:00");
    let first = remind(&ctx, &req(saturday), None).await.unwrap();
    assert!(first.delivery.unwrap().waiting_until.is_some());
    late_report(&ctx, first.run_id.unwrap()).await;
    let monday = at("2024-06-24T07:30:00+07:00");
    let next = remind(&ctx, &req(monday), None).await.unwrap();
    assert_eq!(next.cancelled, vec!["kh-742-2023/2024-Q2/so_khcn/sau_han".to_string()]);
    assert_eq!(server.count_for("so_khcn@vinhlong.example"), 0, "neither the reminder nor a correction");
    assert!(server.count_for("so_yt@vinhlong.example") == 1);
    db.cleanup().await;
}
