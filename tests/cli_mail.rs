//! The `chiso` binary sending reminders to a separate, real SMTP server: Debian's aiosmtpd
//! (`python3-aiosmtpd`, installed by `.ci/run`), storing what it receives in a maildir.
//! Also the crash between sending and marking, injected in the binary, then resumed.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use mail_parser::{MessageParser, MimeHeaders};

struct Aiosmtpd {
    child: Child,
    port: u16,
    maildir: PathBuf,
}

impl Drop for Aiosmtpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Aiosmtpd {
    fn start(dir: &Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let maildir = dir.join("maildir");
        common::require_aiosmtpd();
        #[allow(clippy::zombie_processes)] // killed and waited for in Drop
        let child = Command::new("/usr/bin/python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3-aiosmtpd is installed (.ci/run installs it)");
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Self { child, port, maildir };
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        let mut child = child;
        let _ = child.kill();
        let _ = child.wait();
        panic!("aiosmtpd did not start on {port}");
    }

    /// Every stored message, as received.
    fn messages(&self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            if let Ok(entries) = std::fs::read_dir(self.maildir.join(sub)) {
                for e in entries.flatten() {
                    out.push(std::fs::read(e.path()).unwrap());
                }
            }
        }
        out
    }

    fn wait_for(&self, n: usize) -> Vec<Vec<u8>> {
        for _ in 0..400 {
            let m = self.messages();
            if m.len() >= n {
                return m;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        self.messages()
    }
}

fn chiso(dir: &Path, args: &[&str], env: &[(&str, String)]) -> Output {
    let mut cmd = common::chiso_command(dir);
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("the chiso binary runs")
}

fn smtp_env(port: u16) -> Vec<(&'static str, String)> {
    vec![
        ("CHISO_MAIL__TRANSPORT", "smtp".into()),
        ("CHISO_MAIL__SMTP__HOST", "127.0.0.1".into()),
        ("CHISO_MAIL__SMTP__PORT", port.to_string()),
        ("CHISO_MAIL__SMTP__SECURITY", "none".into()),
        ("CHISO_REMIND__RATE_PER_SECOND", "500".into()),
    ]
}

fn out(o: &Output) -> String {
    format!("{}\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn header(raw: &[u8], name: &str) -> Option<String> {
    let parsed = MessageParser::default().parse(raw)?;
    parsed.header_raw(name).map(|h| h.trim().to_string())
}

#[test]
fn the_binary_reminds_through_a_real_smtp_server_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = Aiosmtpd::start(dir.path());
    let env = smtp_env(server.port);
    // Thursday 20/06/2024 10:00 in Vĩnh Long; no source is configured here, so every lead
    // agency is missing its report.
    let args = ["remind", "--period", "2024-Q2", "--at", "2024-06-20T03:00:00Z", "--format", "json"];
    let first = chiso(dir.path(), &args, &env);
    assert!(first.status.success(), "{}", out(&first));
    let report: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    assert_eq!(report["round"], "sau_han");
    let queued = report["queued"].as_u64().unwrap() as usize;
    assert!(queued > 50, "{queued}");
    assert_eq!(report["delivery"]["sent"].as_u64().unwrap() as usize, queued);
    let messages = server.wait_for(queued);
    assert_eq!(messages.len(), queued);

    let yt = messages
        .iter()
        .find(|m| header(m, "X-RcptTo").as_deref() == Some("so_yt@vinhlong.example"))
        .expect("Sở Y tế's reminder arrived");
    let parsed = MessageParser::default().parse(yt).unwrap();
    let subject = parsed.subject().unwrap();
    assert!(
        subject.starts_with("[Chuyển đổi số] Nhắc báo cáo Quý II/2024 – ")
            && subject.ends_with(" chỉ tiêu chưa báo cáo"),
        "{subject}"
    );
    assert_eq!(parsed.from().unwrap().first().unwrap().name(), Some("Sở Thông tin và Truyền thông Vĩnh Long"));
    assert!(parsed.body_text(0).unwrap().contains("Kính gửi: Sở Y tế"));
    assert!(parsed.body_html(0).unwrap().contains("<strong>Sở Y tế</strong>"));
    let a = parsed.attachments().next().unwrap();
    assert_eq!(a.attachment_name(), Some("bao-cao-2024-Q2-so_yt.xlsx"));
    let mut book = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(a.contents().to_vec())).unwrap();
    let sheet = calamine::Reader::worksheet_range_at(&mut book, 0).unwrap().unwrap();
    assert!(sheet.rows().flatten().any(|c| c.to_string().contains("Sở Y tế")));

    // The same command again: nothing new queued or sent.
    let second = chiso(dir.path(), &args, &env);
    assert!(second.status.success(), "{}", out(&second));
    let again: serde_json::Value = serde_json::from_slice(&second.stdout).unwrap();
    assert_eq!(again["queued"], 0);
    assert_eq!(again["already"].as_u64().unwrap() as usize, queued);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(server.messages().len(), queued);

    // The operator's view.
    let list = chiso(dir.path(), &["outbox", "list", "--status", "sent", "--format", "json"], &env);
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(rows.len(), queued);
    let id = rows.iter().find(|r| r["agency"] == "so_yt").unwrap()["id"].as_i64().unwrap();
    let show = chiso(dir.path(), &["outbox", "show", &id.to_string()], &env);
    let shown = out(&show);
    assert!(
        show.status.success()
            && shown.contains("kh-742-2023/2024-Q2/so_yt/sau_han")
            && shown.contains("so_yt@vinhlong.example> — đã gửi 250"),
        "{shown}"
    );
    assert!(shown.contains("bao-cao-2024-Q2-so_yt.xlsx"), "{shown}");

    // A dry run of the escalation shows who would be copied, and sends nothing.
    let dry = chiso(
        dir.path(),
        &["remind", "--period", "2024-Q2", "--round", "don_doc", "--dry-run", "--at", "2024-07-01T02:00:00Z"],
        &env,
    );
    let text = out(&dry);
    assert!(dry.status.success(), "{text}");
    assert!(
        text.contains("CHẠY THỬ") && text.contains("ubnd_tinh@vinhlong.example") && text.contains("sẽ được xếp hàng"),
        "{text}"
    );
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(server.messages().len(), queued);
}

#[test]
fn a_crash_after_sending_is_resumed_with_at_most_one_duplicate_and_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let server = Aiosmtpd::start(dir.path());
    let mut env = smtp_env(server.port);
    env.push(("CHISO_REMIND__CONCURRENCY", "1".into()));
    env.push(("CHISO_REMIND__LEASE_SECS", "1".into()));
    // Any day, any hour, so the resumed pass (at the real time) may send.
    env.push(("CHISO_REMIND__WORKING_DAYS", "[\"mon\",\"tue\",\"wed\",\"thu\",\"fri\",\"sat\",\"sun\"]".into()));
    env.push(("CHISO_REMIND__WORKING_START", "00:00".into()));
    env.push(("CHISO_REMIND__WORKING_END", "23:59".into()));
    env.push(("CHISO_REMIND__HOLIDAYS", "[]".into()));
    let mut crash = env.clone();
    crash.push(("CHISO_FAULT_CRASH_AFTER_SEND", "1".into()));
    let first = chiso(dir.path(), &["remind", "--period", "2024-Q2", "--at", "2024-06-20T03:00:00Z"], &crash);
    assert_eq!(first.status.code(), Some(86), "{}", out(&first));
    assert!(out(&first).contains("fault injected"), "{}", out(&first));
    assert_eq!(server.wait_for(1).len(), 1);

    std::thread::sleep(Duration::from_millis(1500));
    let resumed = chiso(dir.path(), &["outbox", "send"], &env);
    let text = out(&resumed);
    assert!(resumed.status.success(), "{text}");
    assert!(text.contains("may receive it twice"), "the log says so: {text}");
    let list = chiso(dir.path(), &["outbox", "list", "--format", "json"], &env);
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&list.stdout).unwrap();
    assert!(rows.iter().all(|r| r["status"] == "sent"), "{rows:?}");
    let recipients: usize = rows.iter().map(|r| r["recipients"].as_array().unwrap().len()).sum();
    let got = server.wait_for(recipients + 1);
    assert_eq!(got.len(), recipients + 1, "every recipient once, the one in flight at the crash twice");
}

/// aiosmtpd storing into a maildir, slowed down: each DATA is logged in `started` when it
/// begins, then answered after the number of seconds in `slow` (while that file exists).
struct SlowAiosmtpd {
    server: Aiosmtpd,
    started: PathBuf,
    slow: PathBuf,
}

const SLOW_HANDLER: &str = r#"
import asyncio, os, sys, time
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
port, maildir, started, slow = sys.argv[1:5]
class Slow(Mailbox):
    async def handle_DATA(self, server, session, envelope):
        with open(started, "a") as f:
            f.write("data\n")
        if os.path.exists(slow):
            with open(slow) as f:
                await asyncio.sleep(float(f.read()))
        return await super().handle_DATA(server, session, envelope)
Controller(Slow(maildir), hostname="127.0.0.1", port=int(port)).start()
while True:
    time.sleep(3600)
"#;

impl SlowAiosmtpd {
    fn start(dir: &Path, seconds: f64) -> Self {
        common::require_aiosmtpd();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let (maildir, started, slow) = (dir.join("maildir"), dir.join("started"), dir.join("slow"));
        std::fs::write(&slow, seconds.to_string()).unwrap();
        #[allow(clippy::zombie_processes)] // killed and waited for in Drop
        let child = Command::new("/usr/bin/python3")
            .args(["-c", SLOW_HANDLER, &port.to_string()])
            .args([&maildir, &started, &slow])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3-aiosmtpd is installed (.ci/run installs it)");
        let server = Aiosmtpd { child, port, maildir };
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Self { server, started, slow };
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("aiosmtpd did not start on {port}");
    }

    fn started(&self) -> usize {
        std::fs::read_to_string(&self.started).map(|s| s.lines().count()).unwrap_or(0)
    }

    /// (key, recipient) of every message stored, as received.
    fn received(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .server
            .messages()
            .iter()
            .map(|m| (header(m, "X-Chiso-Key").unwrap_or_default(), header(m, "X-RcptTo").unwrap_or_default()))
            .collect();
        out.sort();
        out
    }
}

/// Every message in the warehouse file: (key, status, claimed_by, recipient addresses).
fn outbox_rows(db: &Path) -> Vec<(String, String, Option<String>, Vec<String>)> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let url = format!("sqlite://{}", db.display());
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        let rows: Vec<(i64, String, String, Option<String>)> =
            sqlx::query_as("SELECT id, idempotency_key, status, claimed_by FROM outbox ORDER BY id")
                .fetch_all(&pool)
                .await
                .unwrap();
        let mut out = Vec::new();
        for (id, key, status, claimed_by) in rows {
            let to: Vec<(String,)> = sqlx::query_as("SELECT address FROM outbox_recipients WHERE outbox_id = ?")
                .bind(id)
                .fetch_all(&pool)
                .await
                .unwrap();
            out.push((key, status, claimed_by, to.into_iter().map(|(a,)| a).collect()));
        }
        pool.close().await;
        out
    })
}

#[test]
fn sigterm_mid_send_sends_each_message_once_gives_back_the_rest_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = SlowAiosmtpd::start(dir.path(), 0.4);
    let mut env = smtp_env(server.server.port);
    env.push(("CHISO_REMIND__CONCURRENCY", "2".into()));
    // Any day, any hour, so `outbox send` (at the real time) may send.
    env.push(("CHISO_REMIND__WORKING_DAYS", "[\"mon\",\"tue\",\"wed\",\"thu\",\"fri\",\"sat\",\"sun\"]".into()));
    env.push(("CHISO_REMIND__WORKING_START", "00:00".into()));
    env.push(("CHISO_REMIND__WORKING_END", "23:59".into()));
    env.push(("CHISO_REMIND__HOLIDAYS", "[]".into()));
    let queued = chiso(
        dir.path(),
        &["remind", "--period", "2024-Q2", "--at", "2024-06-20T03:00:00Z", "--no-send", "--format", "json"],
        &env,
    );
    assert!(queued.status.success(), "{}", out(&queued));
    let db = dir.path().join("data/chiso.db");
    let total: usize = outbox_rows(&db).iter().map(|r| r.3.len()).sum();
    assert!(total > 50, "{total} recipients queued");

    // `chiso outbox send`, stopped with a real SIGTERM once the server is receiving.
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_chiso"));
    cmd.current_dir(dir.path()).args(["outbox", "send"]).env("NO_COLOR", "1");
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("CHISO_")) {
        cmd.env_remove(k);
    }
    let child =
        cmd.envs(env.iter().map(|(k, v)| (*k, v))).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    for _ in 0..400 {
        if server.started() >= 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    assert!(server.started() >= 2, "the server never started receiving");
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    // SAFETY: `pid` is our own child, still running (it is waited for below).
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let stopped = child.wait_with_output().unwrap();
    let text = out(&stopped);
    assert_eq!(stopped.status.code(), Some(143), "the documented status of a stop by SIGTERM: {text}");
    assert!(text.contains("đã dừng khi nhận SIGTERM"), "{text}");
    assert!(text.contains("trả lại hàng đợi"), "claimed messages were given back: {text}");

    let rows = outbox_rows(&db);
    let received = server.received();
    let sent: Vec<_> = rows.iter().filter(|r| r.1 == "sent").collect();
    assert!(!sent.is_empty() && sent.len() < rows.len(), "stopped mid-send: {} of {} sent", sent.len(), rows.len());
    for (key, status, claimed_by, to) in &rows {
        assert!(status == "sent" || status == "queued", "{key} is {status}");
        assert_eq!(claimed_by, &None, "{key} is still claimed");
        for address in to {
            let n = received.iter().filter(|(k, a)| k == key && a == address).count();
            assert_eq!(n, usize::from(status == "sent"), "{key} to {address}: received {n} times while {status}");
        }
    }
    // Nothing lost: what arrived and what waits make up every recipient.
    let waiting: usize = rows.iter().filter(|r| r.1 == "queued").map(|r| r.3.len()).sum();
    assert_eq!(received.len() + waiting, total);

    // The next pass, at full speed, delivers the rest at once (no lease to wait for), nobody twice.
    std::fs::remove_file(&server.slow).unwrap();
    let rest = chiso(dir.path(), &["outbox", "send"], &env);
    assert!(rest.status.success(), "{}", out(&rest));
    let rows = outbox_rows(&db);
    assert!(rows.iter().all(|r| r.1 == "sent" && r.2.is_none()), "{rows:?}");
    let received = server.received();
    assert_eq!(received.len(), total);
    let mut unique = received.clone();
    unique.dedup();
    assert_eq!(unique.len(), total, "no (message, recipient) pair delivered twice");
}
