//! Delivery that fails safe, against real SMTP servers on loopback: a login the server
//! refuses (aiosmtpd answering 535) stops the pass at the first message with one login
//! attempt and the queue as it was; an outage longer than the retry budget leaves every
//! message queued; `retry --failed` re-queues the failed ones at once; a graceful stop
//! gives back what it claimed and never started.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration as StdDuration;

use chiso::app::Context;
use chiso::jobs::remind::{RemindRequest, remind, send_due};
use chiso::remind::deliver::Fault;
use chrono::{DateTime, Duration, Utc};
use common::smtp::{Script, ScriptedSmtp, closed_port};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Thursday 20/06/2024 10:00 in Vĩnh Long, the day after the 2024-Q2 due date.
fn now() -> DateTime<Utc> {
    at("2024-06-20T10:00:00+07:00")
}

fn q2() -> chiso::domain::Period {
    common::period("2024-Q2")
}

/// Queues the round of 2024-Q2 (nothing reported: every agency is reminded), sending nothing.
async fn queue(ctx: &Context, period: chiso::domain::Period, now: DateTime<Utc>) -> usize {
    let req = RemindRequest { now: Some(now), deliver: false, ..RemindRequest::new(period) };
    let r = remind(ctx, &req, None).await.unwrap();
    assert!(r.queued > 10, "{} queued", r.queued);
    r.queued
}

async fn statuses(ctx: &Context, period: chiso::domain::Period) -> Vec<(String, i64)> {
    ctx.wh.outbox(Some(period), None, None).await.unwrap().into_iter().map(|r| (r.status, r.attempts)).collect()
}

struct Aiosmtpd(Child);

impl Drop for Aiosmtpd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_login_stops_the_pass_after_one_attempt_and_leaves_the_queue() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("smtp.log");
    let port = free_port();
    let server = Aiosmtpd(
        Command::new("/usr/bin/python3")
            .arg(common::repo("tests/data/smtp/refuse_auth.py"))
            .arg(port.to_string())
            .arg(&log)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3-aiosmtpd is installed (.ci/run installs it)"),
    );
    for _ in 0..200 {
        if std::fs::read_to_string(&log).is_ok_and(|l| l.contains("ready")) {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(25)).await;
    }
    let attempts = || std::fs::read_to_string(&log).unwrap_or_default().lines().filter(|l| *l == "auth").count();
    for db in common::all().await {
        let before = attempts();
        let mut s = common::smtp_settings(port);
        s.mail.smtp.username = "chiso".into();
        s.mail.smtp.password = chiso::config::Secret::new("wrong password");
        s.remind.concurrency = 4;
        let ctx = common::context(&db, s, Vec::new()).await;
        let queued = queue(&ctx, q2(), now()).await;
        for pass in 1..=2 {
            let d = send_due(&ctx, now() + Duration::minutes(pass), Fault::None).await.unwrap();
            let why = d.stopped.clone().expect("the pass says why it stopped");
            assert!(why.contains("535"), "{why}");
            assert!(why.contains("từ chối đăng nhập"), "{why}");
            assert_eq!((d.sent, d.failed, d.partial, d.retrying, d.recipients_sent), (0, 0, 0, 0, 0), "{}", db.name);
            assert_eq!(attempts() - before, pass as usize, "{}: one login attempt per pass", db.name);
            // Every message still queued as it was: no attempt counted, no recipient touched.
            let rows = ctx.wh.outbox(Some(q2()), None, None).await.unwrap();
            assert_eq!(rows.len(), queued);
            for r in &rows {
                assert_eq!((r.status.as_str(), r.attempts), ("queued", 0), "{}: {}", db.name, r.key);
                assert!(r.recipients.iter().all(|x| x.status == "pending"), "{}", r.key);
            }
        }
        assert!(!std::fs::read_to_string(&log).unwrap().contains("data"), "nothing was sent");
        db.cleanup().await;
    }
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_longer_than_the_retry_budget_fails_nothing_for_good() {
    let db = common::sqlite().await;
    let mut s = common::smtp_settings(closed_port());
    s.remind.max_attempts = 3;
    s.remind.retry_base_secs = 60;
    s.remind.retry_max_secs = 300;
    let ctx = common::context(&db, s, Vec::new()).await;
    let queued = queue(&ctx, q2(), now()).await;
    // Forty minutes down, a pass every five minutes.
    for minute in (0..=40).step_by(5) {
        let d = send_due(&ctx, now() + Duration::minutes(minute), Fault::None).await.unwrap();
        assert_eq!((d.sent, d.failed, d.partial), (0, 0, 0), "minute {minute}");
        assert!(d.stopped.is_none(), "an outage is not a login fault");
    }
    let rows = statuses(&ctx, q2()).await;
    assert!(rows.iter().all(|(s, _)| s == "queued"), "{rows:?}");
    assert!(rows.iter().all(|(_, a)| *a > 3), "attempts are counted past the budget: {rows:?}");
    // The server is back: everything goes out, once.
    let server = ScriptedSmtp::start(Script::default()).await;
    let back = common::context(&db, common::smtp_settings(server.port), Vec::new()).await;
    let d = send_due(&back, now() + Duration::minutes(60), Fault::None).await.unwrap();
    assert_eq!((d.sent, d.failed, d.retrying), (queued, 0, 0));
    for r in back.wh.outbox(Some(q2()), None, None).await.unwrap() {
        for x in &r.recipients {
            assert_eq!(server.count_of(&r.key, &x.address), 1, "{} to {}", r.key, x.address);
        }
    }
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_failed_requeues_every_failed_message_of_the_period_at_once() {
    let db = common::sqlite().await;
    let ctx = common::context(&db, common::settings(), Vec::new()).await;
    let q1 = common::period("2024-Q1");
    queue(&ctx, q2(), now()).await;
    queue(&ctx, q1, at("2024-03-25T10:00:00+07:00")).await;
    // A server that refuses two departments for good.
    let refused = vec!["so_yt@vinhlong.example".to_string(), "so_tc@vinhlong.example".to_string()];
    let server = ScriptedSmtp::start(Script { refuse: refused.clone(), ..Script::default() }).await;
    let smtp = common::context(&db, common::smtp_settings(server.port), Vec::new()).await;
    let d = send_due(&smtp, now(), Fault::None).await.unwrap();
    assert_eq!(d.failed, 4, "two agencies, two quarters: {:?}", d.refused);
    drop(server);
    // The binary, as the operator types it, on the same warehouse and a server that accepts.
    let good = ScriptedSmtp::start(Script::default()).await;
    let work = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_chiso"));
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("CHISO_")) {
        cmd.env_remove(k);
    }
    let out = cmd
        .current_dir(work.path())
        .args(["outbox", "retry", "--failed", "--period", "2024-Q2"])
        .env("CHISO_DATABASE__URL", db.sqlite_url().unwrap())
        .env("CHISO_MAIL__TRANSPORT", "smtp")
        .env("CHISO_MAIL__SMTP__HOST", "127.0.0.1")
        .env("CHISO_MAIL__SMTP__PORT", good.port.to_string())
        .env("CHISO_MAIL__SMTP__SECURITY", "none")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("đã đưa lại 2 thư không gửi được vào hàng đợi"), "{stdout}");
    // Quý II's two are queued again (or already sent, inside working hours); Quý I's stay failed.
    let state = |period| {
        let wh = db.wh.clone();
        async move { wh.outbox(Some(period), None, None).await.unwrap() }
    };
    for r in state(q2()).await.iter().filter(|r| r.agency.as_str() == "so_yt" || r.agency.as_str() == "so_tc") {
        assert!(r.status == "queued" || r.status == "sent", "{}: {}", r.key, r.status);
        assert!(r.recipients.iter().all(|x| x.status.as_str() != "failed"), "{}", r.key);
    }
    let q1_failed: Vec<_> = state(q1).await.into_iter().filter(|r| r.status.as_str() == "failed").collect();
    assert_eq!(q1_failed.len(), 2);
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_stop_gives_back_what_it_claimed_and_never_started() {
    let db = common::sqlite().await;
    let server = ScriptedSmtp::start(Script::default()).await;
    let mut s = common::smtp_settings(server.port);
    // Slow enough that the stop comes mid-batch: 4 claimed at a time, 5 per second.
    s.remind.rate_per_second = 5.0;
    s.remind.concurrency = 2;
    let ctx = common::context(&db, s, Vec::new()).await;
    let queued = queue(&ctx, q2(), now()).await;
    assert!(queued >= 8, "two batches to stop between: {queued}");
    // The stop comes when the server has the fifth message, whatever the machine's speed:
    // the second batch (messages 5 to 8) is then claimed, and its last message cannot have
    // started (it waits for the sixth to end, a fifth of a second later).
    let cancel = ctx.cancel.clone();
    let received = server.deliveries.clone();
    let stopper = tokio::spawn(async move {
        while ScriptedSmtp::messages_received(&received) < 5 {
            tokio::time::sleep(StdDuration::from_millis(5)).await;
        }
        cancel.cancel();
    });
    let d = send_due(&ctx, now(), Fault::None).await.unwrap();
    stopper.await.unwrap();
    assert!(d.sent > 0 && d.sent < queued, "stopped mid-send: {} of {queued}", d.sent);
    assert!(d.released > 0, "claimed messages were given back: {d:?}");
    let rows = ctx.wh.outbox(Some(q2()), None, None).await.unwrap();
    assert!(rows.iter().all(|r| r.status == "queued" || r.status == "sent"), "none left claimed");
    assert_eq!(rows.iter().filter(|r| r.status == "sent").count(), d.sent);
    // Released ones are as they were: due now, their claim not counted as an attempt.
    assert!(rows.iter().filter(|r| r.status == "queued").all(|r| r.attempts == 0));
    // The next start sends the rest at once (no lease to wait for), and nobody twice.
    let next = common::context(&db, common::smtp_settings(server.port), Vec::new()).await;
    let rest = send_due(&next, now() + Duration::seconds(5), Fault::None).await.unwrap();
    assert_eq!(d.sent + rest.sent, queued);
    for r in next.wh.outbox(Some(q2()), None, None).await.unwrap() {
        assert_eq!(r.status, "sent");
        for x in &r.recipients {
            assert_eq!(server.count_of(&r.key, &x.address), 1, "{} to {}", r.key, x.address);
        }
    }
    db.cleanup().await;
}
