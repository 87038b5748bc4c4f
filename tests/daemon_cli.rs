//! The binary as it is deployed: a CLI job beside one running elsewhere waits or is told
//! clearly; `chiso serve` stopped by SIGTERM during a collection leaves no half-loaded file
//! and a clean run record; started again, it sends what the outbox holds.

mod common;

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use chiso::jobs::lease::Lease;

fn chiso(dir: &Path) -> Command {
    common::chiso_command(dir)
}

fn text(o: &Output) -> String {
    format!("{}\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cli_job_beside_the_same_job_running_elsewhere_is_told_or_waits() {
    let db = common::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let url = db.sqlite_url().unwrap();
    // Another process (the daemon, say) is collecting 2024-Q2.
    let held = Lease::acquire(&db.wh, "collect:2024-Q2", Duration::ZERO).await.unwrap();
    held.set_run(4242).await;
    let out =
        chiso(dir.path()).args(["collect", "--period", "2024-Q2"]).env("CHISO_DATABASE__URL", &url).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let said = text(&out);
    assert!(said.contains("collect 2024-Q2 đang chạy, lần chạy #4242") && said.contains("--wait"), "{said}");
    // With --wait, it waits for the other to end, then runs.
    let release = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        held.release().await;
    });
    let started = Instant::now();
    let out = chiso(dir.path())
        .args(["--wait", "30", "collect", "--period", "2024-Q2"])
        .env("CHISO_DATABASE__URL", &url)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(started.elapsed() >= Duration::from_millis(1400), "it waited");
    release.await.unwrap();
    db.cleanup().await;
}

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Daemon {
    fn sigterm(&self) {
        let ok = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status().unwrap();
        assert!(ok.success());
    }

    fn wait_exit(&mut self, secs: u64) -> std::process::ExitStatus {
        for _ in 0..secs * 10 {
            if let Some(s) = self.0.try_wait().unwrap() {
                return s;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the daemon did not exit within {secs} s");
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn wait_ready(port: u16) {
    let http = reqwest::Client::new();
    for _ in 0..200 {
        if http.get(format!("http://127.0.0.1:{port}/readyz")).send().await.is_ok_and(|r| r.status() == 200) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the daemon never became ready");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_collection_leaves_a_clean_record_and_the_next_start_sends_the_outbox() {
    let dir = tempfile::tempdir().unwrap();
    // A department portal that takes its time.
    let portal = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(
            wiremock::ResponseTemplate::new(200).set_body_bytes(b"slow".to_vec()).set_delay(Duration::from_secs(60)),
        )
        .mount(&portal)
        .await;
    std::fs::write(
        dir.path().join("sources.toml"),
        format!(
            "[[source]]\nid = \"cong_slow\"\nagency = \"so_yt\"\nkind = \"http\"\nurl = \"{}/bao-cao.xlsx\"\n",
            portal.uri()
        ),
    )
    .unwrap();
    let mail = dir.path().join("maildir");
    common::require_aiosmtpd();
    #[allow(clippy::zombie_processes)] // killed and waited for below
    let mut smtp = Command::new("/usr/bin/python3")
        .args(["-m", "aiosmtpd", "-n", "-l"])
        .arg(format!("127.0.0.1:{}", {
            let p = free_port();
            std::fs::write(dir.path().join("smtp-port"), p.to_string()).unwrap();
            p
        }))
        .args(["-c", "aiosmtpd.handlers.Mailbox"])
        .arg(&mail)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3-aiosmtpd is installed (.ci/run installs it)");
    let smtp_port = std::fs::read_to_string(dir.path().join("smtp-port")).unwrap();
    let api_port = free_port();
    let url = format!("sqlite://{}", dir.path().join("chiso.db").display());
    let env: Vec<(&str, String)> = vec![
        ("CHISO_DATABASE__URL", url.clone()),
        ("CHISO_ADMIN__BIND", format!("127.0.0.1:{api_port}")),
        ("CHISO_COLLECT__SOURCES", dir.path().join("sources.toml").display().to_string()),
        ("CHISO_COLLECT__HTTP__READ_TIMEOUT_SECS", "120".into()),
        ("CHISO_SERVE__SCHEDULE", "[]".into()),
        ("CHISO_SERVE__SHUTDOWN_GRACE_SECS", "10".into()),
        ("CHISO_SERVE__DELIVERY_INTERVAL_SECS", "1".into()),
        ("CHISO_MAIL__TRANSPORT", "smtp".into()),
        ("CHISO_MAIL__SMTP__HOST", "127.0.0.1".into()),
        ("CHISO_MAIL__SMTP__PORT", smtp_port.clone()),
        ("CHISO_MAIL__SMTP__SECURITY", "none".into()),
        ("CHISO_REMIND__RATE_PER_SECOND", "500".into()),
        ("CHISO_REMIND__WORKING_DAYS", "[\"mon\",\"tue\",\"wed\",\"thu\",\"fri\",\"sat\",\"sun\"]".into()),
        ("CHISO_REMIND__WORKING_START", "00:00".into()),
        ("CHISO_REMIND__WORKING_END", "23:59".into()),
        ("CHISO_REMIND__HOLIDAYS", "[]".into()),
    ];
    let spawn = || {
        let mut cmd = chiso(dir.path());
        cmd.arg("serve").envs(env.iter().map(|(k, v)| (*k, v.as_str()))).stdout(Stdio::null()).stderr(Stdio::null());
        Daemon(cmd.spawn().unwrap())
    };

    let mut daemon = spawn();
    wait_ready(api_port).await;
    let http = reqwest::Client::new();
    let posted = http
        .post(format!("http://127.0.0.1:{api_port}/api/runs"))
        .json(&serde_json::json!({ "job": "collect", "period": "2024-Q2" }))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 202);
    let run_id = posted.json::<serde_json::Value>().await.unwrap()["run_id"].as_i64().unwrap();
    // The fetch is under way when the signal comes.
    for _ in 0..100 {
        if !portal.received_requests().await.unwrap_or_default().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!portal.received_requests().await.unwrap_or_default().is_empty(), "the collection started fetching");
    let signalled = Instant::now();
    daemon.sigterm();
    let status = daemon.wait_exit(15);
    assert!(status.success(), "exit {status:?}");
    assert!(
        signalled.elapsed() < Duration::from_secs(10),
        "stopped at a safe point, not at the end of the grace period"
    );

    let wh = chiso::warehouse::Warehouse::connect(&url, &Default::default()).await.unwrap();
    let run = wh.run(run_id).await.unwrap().unwrap();
    assert_eq!(run.status.as_str(), "cancelled", "{run:?}");
    assert!(run.error.as_deref().unwrap_or("").contains("shutdown"), "{run:?}");
    assert!(run.finished_at.is_some());
    assert_eq!(wh.count_rows("ingestions").await.unwrap(), 0, "no half-loaded file");
    assert_eq!(wh.count_rows("observations").await.unwrap(), 0);

    // Reminders queued while no daemon runs …
    let queued = chiso(dir.path())
        .args(["remind", "--period", "2024-Q2", "--no-send", "--at", "2024-06-20T03:00:00Z", "--format", "json"])
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .unwrap();
    assert!(queued.status.success(), "{}", text(&queued));
    let report: serde_json::Value = serde_json::from_slice(&queued.stdout).unwrap();
    let n = report["queued"].as_u64().unwrap() as usize;
    assert!(n > 10);
    // … are sent by the next start.
    let mut daemon = spawn();
    wait_ready(api_port).await;
    let count = || std::fs::read_dir(mail.join("new")).map(|d| d.count()).unwrap_or(0);
    for _ in 0..300 {
        if count() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(count(), n, "the outbox was delivered after the restart");
    daemon.sigterm();
    assert!(daemon.wait_exit(15).success());
    let _ = smtp.kill();
    let _ = smtp.wait();
    wh.close().await;
}

/// Two ingests of one quarter: the second is told who runs it (exit 3), or waits with
/// `--wait`; a real concurrent pair runs one at a time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_concurrent_ingests_run_once() {
    let db = common::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let url = db.sqlite_url().unwrap();
    let file = common::repo("tests/data/legacy.xlsx");
    let ingest = |wait: &str| {
        let mut cmd = chiso(dir.path());
        cmd.args(["--wait", wait, "ingest", file.to_str().unwrap(), "--period", "2024-Q2"])
            .env("CHISO_DATABASE__URL", &url);
        cmd
    };
    let held = Lease::acquire(&db.wh, "ingest:2024-Q2", Duration::ZERO).await.unwrap();
    held.set_run(777).await;
    let out = ingest("0").output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("ingest 2024-Q2 đang chạy, lần chạy #777"), "{}", text(&out));
    let runs = |wh: chiso::warehouse::Warehouse| async move {
        wh.runs(&chiso::warehouse::RunFilter { job: Some("ingest".into()), ..Default::default() }).await.unwrap()
    };
    assert!(runs(db.wh.clone()).await.is_empty(), "the refused ingest started no run");
    let release = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1000)).await;
        held.release().await;
    });
    let out = ingest("30").output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    release.await.unwrap();
    // Two processes at once: both end (the second waits for the first), one run each,
    // never side by side.
    let spawn = || ingest("30").stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let (a, b) = (spawn(), spawn());
    for child in [a, b] {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", text(&out));
    }
    let mut all = runs(db.wh.clone()).await;
    all.sort_by_key(|r| r.started_at);
    assert_eq!(all.len(), 3);
    for pair in all.windows(2) {
        assert!(pair[0].finished_at.unwrap() <= pair[1].started_at, "ingests overlapped: {pair:?}");
    }
    db.cleanup().await;
}

/// A run whose process was killed (kill -9) is shown interrupted by the next command that
/// opens the warehouse; a live run is never marked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_kill_9_the_next_command_shows_the_run_interrupted_and_a_live_run_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let portal = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(
            wiremock::ResponseTemplate::new(200).set_body_bytes(b"slow".to_vec()).set_delay(Duration::from_secs(120)),
        )
        .mount(&portal)
        .await;
    let sources = dir.path().join("sources.toml");
    std::fs::write(
        &sources,
        format!(
            "[[source]]\nid = \"cong_slow\"\nagency = \"so_yt\"\nkind = \"http\"\nurl = \"{}/bc.xlsx\"\n",
            portal.uri()
        ),
    )
    .unwrap();
    let url = format!("sqlite://{}", dir.path().join("chiso.db").display());
    let env = [
        ("CHISO_DATABASE__URL", url.as_str()),
        ("CHISO_COLLECT__SOURCES", sources.to_str().unwrap()),
        ("CHISO_COLLECT__HTTP__READ_TIMEOUT_SECS", "300"),
    ];
    let runs_list = || {
        let out = chiso(dir.path()).args(["runs", "list", "--format", "json"]).envs(env).output().unwrap();
        assert!(out.status.success(), "{}", text(&out));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v.as_array().unwrap().iter().find(|r| r["job"] == "collect").cloned()
    };
    #[allow(clippy::zombie_processes)] // killed and waited for below
    let mut collect = chiso(dir.path())
        .args(["collect", "--period", "2024-Q2"])
        .envs(env)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..200 {
        if !portal.received_requests().await.unwrap_or_default().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!portal.received_requests().await.unwrap_or_default().is_empty(), "the collection is fetching");
    // Live: other commands open the warehouse and leave it running.
    for _ in 0..2 {
        let run = runs_list().expect("the collect run is recorded");
        assert_eq!(run["status"], "running", "a live run is never marked: {run}");
    }
    let killed = Command::new("kill").args(["-KILL", &collect.id().to_string()]).status().unwrap();
    assert!(killed.success());
    collect.wait().unwrap();
    let run = runs_list().unwrap();
    assert_eq!(run["status"], "failed", "{run}");
    assert!(run["error"].as_str().unwrap().starts_with("interrupted"), "{run}");
}
