//! The daemon in process: a schedule runs a cycle on its own, a job started over HTTP ends
//! `succeeded`, tokens are checked (and never logged), a job for a period runs once at a
//! time across daemons and processes, a restart catches up one missed tick and marks runs
//! a crash left `running` as interrupted.

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chiso::app::Context;
use chiso::config::schedule::{Schedule, Window};
use chiso::jobs::dispatch::JobKind;
use chiso::jobs::lease::Lease;
use chiso::serve::{ServeError, ServeReport, serve};
use chiso::warehouse::{NewRun, RunFilter, Trigger};
use chrono::{Duration as ChronoDuration, TimeZone, Utc};

/// Log lines of this test binary.
static LOGS: std::sync::OnceLock<Arc<Mutex<Vec<u8>>>> = std::sync::OnceLock::new();

struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn logs() -> Arc<Mutex<Vec<u8>>> {
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let b = buf.clone();
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("info,tokio_cron_scheduler=warn"))
            .with_ansi(false)
            .with_writer(move || Capture(b.clone()))
            .try_init();
        buf
    })
    .clone()
}

fn schedule(id: &str, job: JobKind, cron: &str) -> Schedule {
    Schedule { id: id.into(), job, cron: cron.into(), window: Window::Always, catch_up: true, period: None }
}

fn settings(token: &str, schedules: Vec<Schedule>, outbox: &std::path::Path) -> chiso::config::Settings {
    let mut s = common::settings();
    s.admin.bind = "127.0.0.1:0".into();
    s.admin.token = chiso::config::Secret::new(token);
    s.serve.schedules = schedules;
    s.serve.delivery_interval_secs = 1;
    s.serve.shutdown_grace_secs = 10;
    s.mail.outbox_dir = outbox.to_path_buf();
    s
}

struct Running {
    addr: SocketAddr,
    ctx: Arc<Context>,
    handle: tokio::task::JoinHandle<Result<ServeReport, ServeError>>,
}

async fn start(ctx: Context) -> Running {
    let ctx = Arc::new(ctx);
    let (tx, rx) = tokio::sync::oneshot::channel();
    let handle = tokio::spawn(serve(ctx.clone(), Some(tx)));
    let addr = rx.await.expect("the daemon starts");
    Running { addr, ctx, handle }
}

async fn stop(r: Running) -> ServeReport {
    r.ctx.cancel.cancel();
    r.handle.await.expect("joins").expect("stops cleanly")
}

fn url(r: &Running, path: &str) -> String {
    format!("http://{}{path}", r.addr)
}

async fn wait_until<F, Fut>(what: &str, secs: u64, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..secs * 10 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

/// Waits until the runs of `job` satisfy `check`.
async fn wait_for_runs(
    what: &str,
    wh: &chiso::warehouse::Warehouse,
    job: &str,
    secs: u64,
    check: impl Fn(&[chiso::warehouse::RunRow]) -> bool,
) {
    let check = &check;
    wait_until(what, secs, || async move {
        check(&wh.runs(&RunFilter { job: Some(job.into()), ..Default::default() }).await.unwrap())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_scheduled_cycle_runs_and_an_http_rerun_succeeds_with_the_token_checked() {
    let logs = logs();
    let db = common::sqlite().await;
    let out = tempfile::tempdir().unwrap();
    let token = "s3cret-token-for-tests";
    let s = settings(token, vec![schedule("cycle", JobKind::Cycle, "*/2 * * * * *")], out.path());
    let ctx = common::context(&db, s, vec![]).await;
    let d = start(ctx).await;
    let http = reqwest::Client::new();

    // Open endpoints.
    let health = http.get(url(&d, "/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready = http.get(url(&d, "/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);

    // A cycle runs on its own.
    wait_for_runs("a scheduled cycle to finish", &db.wh, "cycle", 60, |runs| {
        runs.iter().any(|r| r.trigger == "schedule" && r.status.as_str() != "running")
    })
    .await;
    let cycle =
        db.wh.runs(&RunFilter { job: Some("cycle".into()), ..Default::default() }).await.unwrap().pop().unwrap();
    assert!(["succeeded", "partial"].contains(&cycle.status.as_str()), "{cycle:?}");
    assert!(cycle.counts.get("remind").is_some(), "{:?}", cycle.counts);

    // Tokens: none, wrong, right.
    let none = http.get(url(&d, "/api/runs")).send().await.unwrap();
    assert_eq!(none.status(), 401);
    let wrong = http.get(url(&d, "/api/runs")).bearer_auth("not-the-token-xyz").send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    let body: serde_json::Value = wrong.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");
    let logged = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(logged.contains("refused a request with a missing or wrong bearer token") && logged.contains("/api/runs"));
    assert!(!logged.contains("not-the-token-xyz") && !logged.contains(token), "a token reached the log");

    // A job over HTTP: 202, then its run moves to succeeded.
    let posted = http
        .post(url(&d, "/api/runs"))
        .bearer_auth(token)
        .header("X-Chiso-Operator", reqwest::header::HeaderValue::from_bytes("Nguyễn Văn A".as_bytes()).unwrap())
        .json(&serde_json::json!({ "job": "evaluate", "period": "Quý II/2024" }))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 202);
    let id = posted.json::<serde_json::Value>().await.unwrap()["run_id"].as_i64().unwrap();
    let (h, t) = (http.clone(), url(&d, &format!("/api/runs/{id}")));
    wait_until("the HTTP run to succeed", 30, || {
        let (h, t) = (h.clone(), t.clone());
        async move {
            let run: serde_json::Value = h.get(&t).bearer_auth(token).send().await.unwrap().json().await.unwrap();
            run["status"] == "succeeded"
        }
    })
    .await;
    let run: serde_json::Value =
        http.get(url(&d, &format!("/api/runs/{id}"))).bearer_auth(token).send().await.unwrap().json().await.unwrap();
    assert_eq!(
        (run["trigger"].as_str(), run["operator"].as_str(), run["period"].as_str()),
        (Some("api"), Some("Nguyễn Văn A"), Some("2024-Q2"))
    );

    // Clear JSON errors.
    let bad = http.get(url(&d, "/api/gaps?period=2024-Q9")).bearer_auth(token).send().await.unwrap();
    assert_eq!(bad.status(), 400);
    assert!(bad.json::<serde_json::Value>().await.unwrap()["error"]["message"].as_str().unwrap().contains("2024-Q9"));
    let unknown = http
        .post(url(&d, "/api/runs"))
        .bearer_auth(token)
        .json(&serde_json::json!({ "job": "collect", "period": "2024-Q2", "source": "nope" }))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 400);
    assert!(
        unknown.json::<serde_json::Value>().await.unwrap()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("không có nguồn `nope`")
    );
    // The same job for the same period, running elsewhere: 409, saying so.
    let held = Lease::acquire(&db.wh, "evaluate:2024-Q3", Duration::ZERO).await.unwrap();
    let conflict = http
        .post(url(&d, "/api/runs"))
        .bearer_auth(token)
        .json(&serde_json::json!({ "job": "evaluate", "period": "2024-Q3" }))
        .send()
        .await
        .unwrap();
    assert_eq!(conflict.status(), 409);
    assert!(
        conflict.json::<serde_json::Value>().await.unwrap()["error"]["message"].as_str().unwrap().contains("đang chạy")
    );
    held.release().await;

    // Metrics and the OpenAPI document.
    let metrics = http.get(url(&d, "/metrics")).bearer_auth(token).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("chiso_runs{job=\"evaluate\",status=\"succeeded\"}"), "{metrics}");
    assert!(metrics.contains("chiso_lagging_agencies{period="), "{metrics}");
    let doc: serde_json::Value =
        http.get(url(&d, "/api/openapi.json")).bearer_auth(token).send().await.unwrap().json().await.unwrap();
    for route in chiso::serve::api::ROUTES {
        let path = route.split('#').next().unwrap();
        assert!(doc["paths"].get(path).is_some(), "{path} is not in the OpenAPI document");
    }
    assert!(doc["paths"]["/api/runs"].get("post").is_some());

    let report = stop(d).await;
    assert_eq!(report.abandoned, 0);
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_restart_catches_up_one_missed_tick_and_marks_interrupted_runs() {
    logs();
    let db = common::sqlite().await;
    let out = tempfile::tempdir().unwrap();
    let tz = chrono_tz::Asia::Ho_Chi_Minh;
    // The daily 07:00 tick last ran three days ago: two or three ticks were missed since.
    let today = Utc::now().with_timezone(&tz).date_naive();
    let old = tz
        .from_local_datetime(&(today - chrono::Days::new(3)).and_hms_opt(7, 0, 0).unwrap())
        .unwrap()
        .with_timezone(&Utc);
    assert!(db.wh.claim_tick("daily", old, "an earlier daemon", false).await.unwrap());
    // A crash left a run `running`.
    let orphan = db
        .wh
        .start_run(&NewRun {
            job: "collect".into(),
            period: Some(common::period("2024-Q2")),
            source: None,
            round: None,
            params: serde_json::json!({}),
            trigger: Trigger::Schedule,
            operator: None,
            dry_run: false,
            rerun_of: None,
        })
        .await
        .unwrap();
    let s = settings("t", vec![schedule("daily", JobKind::Evaluate, "0 0 7 * * *")], out.path());
    let ctx = common::context(&db, s, vec![]).await;
    let d = start(ctx).await;
    let wh = db.wh.clone();
    wait_until("the catch-up run", 30, || {
        let wh = wh.clone();
        async move {
            wh.runs(&RunFilter { job: Some("evaluate".into()), ..Default::default() })
                .await
                .unwrap()
                .iter()
                .any(|r| r.trigger == "schedule" && r.status.as_str() != "running")
        }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let report = stop(d).await;
    assert_eq!(report.interrupted, vec![orphan]);
    let crashed = db.wh.run(orphan).await.unwrap().unwrap();
    assert_eq!(crashed.status.as_str(), "failed");
    assert!(crashed.error.unwrap().starts_with("interrupted"));

    let ticks = db.wh.ticks("daily").await.unwrap();
    assert_eq!(ticks.len(), 2, "the old tick and one catch-up: {ticks:?}");
    let cron = chiso::config::schedule::parse_cron("0 0 7 * * *").unwrap();
    let latest = chiso::serve::schedule::tick_at(&cron, Utc::now(), tz);
    assert_eq!(ticks[1], (latest, true), "the latest missed tick, marked as a catch-up");
    assert!(latest - old >= ChronoDuration::days(2), "at least two ticks were missed");
    let scheduled = db
        .wh
        .runs(&RunFilter { job: Some("evaluate".into()), ..Default::default() })
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.trigger == "schedule")
        .count();
    assert_eq!(scheduled, 1, "one catch-up run, not one per missed tick");
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_daemons_on_one_postgres_run_each_tick_once_and_send_each_reminder_once() {
    logs();
    let pg = common::postgres().await;
    common::record_pg_half(pg.is_some());
    let Some(db) = pg else {
        assert!(
            std::env::var_os("CHISO_REQUIRE_POSTGRES").is_none(),
            "CHISO_REQUIRE_POSTGRES is set but CHISO_TEST_DATABASE_URL is not"
        );
        eprintln!("CHISO_TEST_DATABASE_URL is not set: the two-daemon test needs PostgreSQL (CI sets it)");
        return;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let server = mailcrab::development_mail_server([127, 0, 0, 1], port).await;
    let received = Arc::new(Mutex::new(Vec::<(String, String)>::new()));
    let mut rx = server.rx.resubscribe();
    let r = received.clone();
    tokio::spawn(async move {
        while let Ok(m) = rx.recv().await {
            let raw = String::from_utf8_lossy(&m.raw_bytes().unwrap_or_default()).into_owned();
            let key = raw.lines().find_map(|l| l.strip_prefix("X-Chiso-Key: ")).unwrap_or("").trim().to_string();
            for to in m.envelope_recipients {
                r.lock().unwrap().push((key.clone(), to));
            }
        }
    });
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let out = tempfile::tempdir().unwrap();
    let make = |wh: chiso::warehouse::Warehouse| {
        // A campaign on 2024-Q2, which the plan has targets for.
        let pinned =
            Schedule { period: Some(common::period("2024-Q2")), ..schedule("cycle", JobKind::Cycle, "*/3 * * * * *") };
        let mut s = settings("t", vec![pinned], out.path());
        s.mail = common::smtp_settings(port).mail;
        s.remind.rate_per_second = 1000.0;
        s.remind.working.working_days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].map(String::from).to_vec();
        s.remind.working.working_start = "00:00".into();
        s.remind.working.working_end = "23:59".into();
        s.remind.working.holidays.clear();
        async move {
            let (dir, catalog) = common::catalog();
            Context::with_warehouse(s, dir, catalog, vec![], wh).await.unwrap()
        }
    };
    let a = start(make(db.wh.clone()).await).await;
    let b = start(make(db.reconnect().await).await).await;
    tokio::time::sleep(Duration::from_secs(12)).await;
    stop(a).await;
    stop(b).await;

    let runs = db.wh.runs(&RunFilter { job: Some("cycle".into()), ..Default::default() }).await.unwrap();
    assert!(!runs.is_empty(), "the cycle ran");
    // Never two cycles of the period at the same time.
    let mut spans: Vec<_> = runs.iter().map(|r| (r.started_at, r.finished_at.unwrap_or(Utc::now()))).collect();
    spans.sort();
    for w in spans.windows(2) {
        assert!(w[0].1 <= w[1].0, "two cycles overlapped: {w:?}");
    }
    // Each run answers one tick, each tick was claimed by one daemon.
    let ticks = db.wh.ticks("cycle").await.unwrap();
    assert!(ticks.len() >= runs.len(), "{} ticks, {} runs", ticks.len(), runs.len());
    // Every reminder reached each recipient once.
    let sent: Vec<(String, String)> = db
        .wh
        .outbox(None, None, None)
        .await
        .unwrap()
        .into_iter()
        .flat_map(|m| m.recipients.into_iter().filter(|x| x.status == "sent").map(move |x| (m.key.clone(), x.address)))
        .collect();
    assert!(!sent.is_empty(), "reminders were sent");
    // The server hands a message on after it has answered the SMTP transaction: on a busy
    // machine that can take a while. Wait for as many as were sent (at most 10 s), then
    // compare: a duplicate or a missing copy still fails.
    for _ in 0..100 {
        if received.lock().unwrap().len() >= sent.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = received.lock().unwrap().clone();
    for pair in &sent {
        assert_eq!(got.iter().filter(|g| *g == pair).count(), 1, "{pair:?}");
    }
    assert_eq!(got.len(), sent.len());
    server.token.cancel();
    db.cleanup().await;
}

#[tokio::test]
async fn a_non_loopback_address_without_a_token_is_refused() {
    let db = common::sqlite().await;
    let out = tempfile::tempdir().unwrap();
    let mut s = settings("", vec![], out.path());
    s.admin.bind = "0.0.0.0:0".into();
    let ctx = Arc::new(common::context(&db, s, vec![]).await);
    let err = serve(ctx, None).await.unwrap_err();
    assert!(matches!(err, ServeError::Insecure(_)), "{err}");
    assert!(err.to_string().contains("CHISO_ADMIN__TOKEN"));
}

/// `POST /api/runs` is strict: a typed body, one JSON error shape, the lease taken before
/// the answer. 50 parallel POSTs of one job: every 202 starts a run that executes, the
/// others are 409s naming the run that holds the lease, and no run is recorded failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_strict_api_types_its_bodies_and_takes_the_lease_before_answering() {
    logs();
    for db in common::all().await {
        let out = tempfile::tempdir().unwrap();
        let token = "tok-strict";
        let ctx = common::context(&db, settings(token, vec![], out.path()), vec![]).await;
        let d = start(ctx).await;
        let http = reqwest::Client::new();
        let post = |body: serde_json::Value| http.post(url(&d, "/api/runs")).bearer_auth(token).json(&body).send();
        let runs_before = db.wh.runs(&RunFilter::default()).await.unwrap().len();

        // A string where a boolean goes would have run the job for real.
        for (body, field, expected) in [
            (serde_json::json!({ "job": "remind", "period": "2024-Q2", "dry_run": "true" }), "dry_run", "a boolean"),
            (serde_json::json!({ "job": "collect", "period": 2024 }), "period", "a string"),
            (serde_json::json!({ "job": "collect", "period": "2024-Q2", "dryrun": true }), "dryrun", "expected one of"),
            (serde_json::json!({ "job": "send_everything" }), "job", "expected one of"),
        ] {
            let r = post(body.clone()).await.unwrap();
            assert_eq!(r.status(), 400, "{}: {body}", db.name);
            let v: serde_json::Value = r.json().await.unwrap();
            let m = v["error"]["message"].as_str().unwrap();
            assert_eq!(v["error"]["code"], "bad_request");
            assert!(m.contains(field) && m.contains(expected), "{body}: {m}");
        }
        assert_eq!(db.wh.runs(&RunFilter::default()).await.unwrap().len(), runs_before, "no run for a bad body");

        // Errors the handlers do not build come in the same shape.
        // Its own client: the server closes a connection whose body it refused.
        let big = reqwest::Client::new()
            .post(url(&d, "/api/runs"))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(vec![b' '; 3 * 1024 * 1024])
            .send()
            .await
            .unwrap();
        assert_eq!(big.status(), 413);
        let v: serde_json::Value = big.json().await.unwrap();
        assert_eq!(v["error"]["code"], "payload_too_large", "{v}");
        let wrong_method = http.delete(url(&d, "/api/runs")).bearer_auth(token).send().await.unwrap();
        assert_eq!(wrong_method.status(), 405);
        let v: serde_json::Value = wrong_method.json().await.unwrap();
        assert_eq!(v["error"]["code"], "method_not_allowed", "{v}");
        let bad_query = http.get(url(&d, "/api/runs?limit=many")).bearer_auth(token).send().await.unwrap();
        assert_eq!(bad_query.status(), 400);
        let v: serde_json::Value = bad_query.json().await.unwrap();
        assert!(v["error"]["message"].as_str().unwrap().contains("limit"), "{v}");

        // 50 parallel POSTs of one job.
        let answers = futures::future::join_all(
            (0..50).map(|_| post(serde_json::json!({ "job": "evaluate", "period": "2024-Q3" }))),
        )
        .await;
        let mut accepted = Vec::new();
        let mut conflicts = 0;
        for a in answers {
            let a = a.unwrap();
            let status = a.status();
            let v: serde_json::Value = a.json().await.unwrap();
            match status.as_u16() {
                202 => accepted.push(v["run_id"].as_i64().unwrap()),
                409 => {
                    conflicts += 1;
                    assert_eq!(v["error"]["code"], "conflict");
                    assert!(v["error"]["holder_run_id"].as_i64().is_some(), "the holder's run is named: {v}");
                }
                other => panic!("{}: unexpected {other}: {v}", db.name),
            }
        }
        assert!(!accepted.is_empty(), "{}: at least one POST starts the job", db.name);
        assert_eq!(accepted.len() + conflicts, 50);
        wait_for_runs("the accepted runs to end", &db.wh, "evaluate", 60, |runs| {
            runs.iter().all(|r| r.status.as_str() != "running")
        })
        .await;
        let runs = db.wh.runs(&RunFilter { job: Some("evaluate".into()), ..Default::default() }).await.unwrap();
        assert_eq!(runs.len(), accepted.len(), "{}: a run for each 202, none for a 409", db.name);
        for r in &runs {
            assert!(accepted.contains(&r.id));
            assert_eq!(r.status.as_str(), "succeeded", "{}: run {} executed: {:?}", db.name, r.id, r.error);
        }
        let report = stop(d).await;
        assert_eq!(report.abandoned, 0);
        db.cleanup().await;
    }
}
