//! The dashboard of `chiso serve`, on the real server (127.0.0.1:0) over a SQLite
//! warehouse filled through the real jobs (the demo quarter collected, two quarters
//! evaluated, a reminder round sent to files):
//! * each page loaded by Debian's Chromium headless: its DOM (`--dump-dom`) shows the key
//!   figures the warehouse holds, and a screenshot of it is kept under
//!   `target/screenshots/` (CI keeps them as artifacts);
//! * access over HTTP: no token, no page on a non-loopback bind; the sign-in form sets an
//!   `HttpOnly; SameSite=Strict; Path=/` cookie, signing out ends it; the viewer token
//!   reads but cannot start runs (403 in the API's JSON shape); tokens in a URL do nothing;
//! * the downloads are the `chiso report` files, and nothing is written to the warehouse.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use chiso::app::Context;
use chiso::evaluate::Status;
use chiso::jobs::remind::{RemindRequest, remind};
use chiso::report::quarterly::{Scope, load};
use chiso::serve::{ServeError, ServeReport, serve};
use chiso::warehouse::RunFilter;
use chrono::{TimeZone, Utc};

const CHROMIUM: &str = "/usr/bin/chromium";
const OPERATOR: &str = "operator-token-for-dashboard-tests";
const VIEWER: &str = "viewer-token-for-dashboard-tests";

struct Running {
    addr: SocketAddr,
    ctx: Arc<Context>,
    handle: tokio::task::JoinHandle<Result<ServeReport, ServeError>>,
    _out: tempfile::TempDir,
}

impl Running {
    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.addr.port())
    }

    async fn stop(self) {
        self.ctx.cancel.cancel();
        self.handle.await.expect("joins").expect("stops cleanly");
    }
}

/// The demo quarter collected; 2024-Q1 and Q2 evaluated; the reminders of Q2's late round
/// queued and written to files.
async fn demo(db: &common::TestDb, bind: &str, operator: &str, viewer: &str) -> Running {
    let sources = chiso::sources::load(&common::repo("config/sources.toml"), &common::directory()).unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut s = common::settings();
    s.mail.outbox_dir = out.path().to_path_buf();
    s.serve.schedules = vec![];
    let ctx = common::context(db, s.clone(), sources.clone()).await;
    let q2 = common::period("2024-Q2");
    common::collect_and_evaluate_demo(&ctx).await;
    let now = Utc.with_ymd_and_hms(2024, 7, 1, 3, 0, 0).unwrap();
    let sent = remind(&ctx, &RemindRequest { now: Some(now), ..RemindRequest::new(q2) }, None).await.unwrap();
    assert!(sent.queued > 0, "the demo round queued nothing");
    s.admin.bind = bind.into();
    s.admin.token = chiso::config::Secret::new(operator);
    s.admin.viewer_token = chiso::config::Secret::new(viewer);
    let ctx = Arc::new(common::context(db, s, sources).await);
    let (tx, rx) = tokio::sync::oneshot::channel();
    let handle = tokio::spawn(serve(ctx.clone(), Some(tx)));
    let addr = rx.await.expect("the daemon starts");
    Running { addr, ctx, handle, _out: out }
}

/// Chromium, or why not: required on CI (`CI=true`), else the test says it is skipped.
fn chromium() -> Option<&'static str> {
    if Path::new(CHROMIUM).exists() {
        return Some(CHROMIUM);
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(!ci, "{CHROMIUM} is missing: the dashboard's browser tests need Debian's package `chromium`");
    // Straight to the process's stderr, past the test harness's capture: a skip is seen.
    use std::io::Write as _;
    let _ =
        writeln!(std::io::stderr(), "SKIPPED dashboard browser test: {CHROMIUM} is missing (apt-get install chromium)");
    None
}

fn browser(exe: &str, profile: &Path, args: &[&str]) -> std::process::Output {
    Command::new(exe)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--lang=vi"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .expect("chromium runs")
}

fn screenshots_dir() -> PathBuf {
    // CARGO_TARGET_TMPDIR is <target>/tmp: the screenshots go beside it.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().expect("the target dir").join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Loads a page: its DOM as Chromium built it, and a screenshot named `name`.
async fn load_page(exe: &str, profile: &Path, url: &str, name: &str) -> String {
    let (exe, profile, url, name) = (exe.to_string(), profile.to_path_buf(), url.to_string(), name.to_string());
    tokio::task::spawn_blocking(move || {
        let dom = browser(&exe, &profile, &["--dump-dom", &url]);
        assert!(dom.status.success(), "{url}: {}", String::from_utf8_lossy(&dom.stderr));
        let shot = screenshots_dir().join(format!("{name}.png"));
        let _ = std::fs::remove_file(&shot);
        let arg = format!("--screenshot={}", shot.display());
        let out = browser(&exe, &profile, &[&arg, "--window-size=1366,900", &url]);
        assert!(out.status.success(), "{url}: {}", String::from_utf8_lossy(&out.stderr));
        let png = std::fs::read(&shot).unwrap_or_else(|_| panic!("no screenshot of {url}"));
        assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "{name}.png is not a page's picture");
        String::from_utf8(dom.stdout).expect("UTF-8 DOM")
    })
    .await
    .unwrap()
}

/// The text of the element with `id` (its first text, up to the next tag).
fn by_id<'a>(dom: &'a str, id: &str) -> &'a str {
    let at = dom.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no element #{id}"));
    let rest = &dom[at..];
    let start = rest.find('>').unwrap() + 1;
    let end = rest[start..].find('<').unwrap() + start;
    rest[start..end].trim()
}

/// The text of the `data-status` cell of row `data-section`.
fn section_cell<'a>(dom: &'a str, section: &str, status: &str) -> &'a str {
    let at = dom.find(&format!("data-section=\"{section}\"")).unwrap_or_else(|| panic!("no section row {section}"));
    by_id_like(&dom[at..], &format!("data-status=\"{status}\""))
}

fn by_id_like<'a>(dom: &'a str, attr: &str) -> &'a str {
    let at = dom.find(attr).unwrap_or_else(|| panic!("no {attr}"));
    let rest = &dom[at..];
    let start = rest.find('>').unwrap() + 1;
    let end = rest[start..].find('<').unwrap() + start;
    rest[start..end].trim()
}

fn pct(share: Option<f64>) -> String {
    chiso::serve::dashboard::pct(share)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_page_in_a_real_browser_shows_the_warehouse_figures() {
    let Some(exe) = chromium() else { return };
    let db = common::sqlite().await;
    // Loopback, no token: pages are open, as the API is.
    let d = demo(&db, "127.0.0.1:0", "", "").await;
    let profile = tempfile::tempdir().unwrap();
    let q2 = common::period("2024-Q2");
    let plan = d.ctx.catalog.plan.id.clone();
    let gaps = db.wh.gaps(&plan, q2, None).await.unwrap();
    let report = load(&d.ctx.report_input(), q2, Scope::Province).await.unwrap();
    let runs_before = db.wh.runs(&RunFilter::default()).await.unwrap();

    // Overview: the totals over the indicator lines, section by section, and timeliness.
    let dom = load_page(exe, profile.path(), &d.url("/"), "overview").await;
    assert!(dom.contains("Tổng quan Quý II/2024"), "the latest evaluated quarter is not the default");
    assert_eq!(db.wh.evaluated_periods().await.unwrap(), [q2, common::period("2024-Q1")]);
    assert!(dom.contains("<option value=\"2024-Q1\">Quý I/2024</option>"), "the quarter picker");
    let lines = chiso::report::quarterly::indicator_lines(&Scope::Province, &gaps);
    let judged = lines.iter().filter(|l| chiso::report::is_judged(l.status)).count();
    let good = lines.iter().filter(|l| l.status.is_good()).count();
    assert!(judged > 10, "{judged}");
    assert_eq!(by_id(&dom, "judged"), judged.to_string());
    assert_eq!(by_id(&dom, "good"), good.to_string());
    assert_eq!(by_id(&dom, "share"), pct(Some(good as f64 / judged as f64)));
    assert_eq!(by_id(&dom, "as-of-run"), gaps.iter().map(|g| g.valid_from_run).max().unwrap().to_string());
    for s in chiso::domain::Section::ALL {
        for st in [Status::OnTrack, Status::Missing, Status::Lagging] {
            let want = lines.iter().filter(|l| l.section == Some(s) && l.status == st).count();
            assert_eq!(section_cell(&dom, s.as_str(), st.as_str()), want.to_string(), "{s:?} {st:?}");
        }
    }
    let t = report.current.timeliness.unwrap();
    assert_eq!(
        (by_id(&dom, "on-time"), by_id(&dom, "late"), by_id(&dom, "none")),
        (t.on_time.to_string().as_str(), t.late.to_string().as_str(), t.none.to_string().as_str())
    );
    assert!(t.none > 0 && t.on_time + t.late > 0, "{t:?}");
    assert_eq!(dom.matches("<svg").count(), 3, "the section, timeliness and trend charts");
    assert!(dom.contains("Quý I/2024") && dom.contains("href=\"/report.xlsx?period=2024-Q2\""));
    assert!(!dom.contains("<script"), "no script");

    // Agencies, sorted by the most missing: the first row is the warehouse's.
    let dom = load_page(exe, profile.path(), &d.url("/agencies?period=2024-Q2&sort=missing"), "agencies").await;
    let mut missing: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for g in gaps.iter().filter(|g| g.kind.as_str() == "member" && g.status == Status::Missing) {
        *missing.entry(g.agency.as_str()).or_default() += 1;
    }
    let most = missing.values().max().copied().unwrap();
    let first_row = &dom[dom.find("data-agency=").unwrap()..];
    assert_eq!(by_id_like(first_row, "data-col=\"missing\""), most.to_string());
    assert_eq!(dom.matches("data-agency=").count(), report.agencies.len());

    // One agency: its items, figures, refusals and the reminder it was sent.
    let rejects = db.wh.rejects(q2).await.unwrap();
    let refused_agency = rejects.iter().find_map(|r| r.agency_id.clone()).expect("the demo has a refused figure");
    let url = d.url(&format!("/agencies/{refused_agency}?period=2024-Q2"));
    let dom = load_page(exe, profile.path(), &url, "agency").await;
    let own: Vec<_> =
        gaps.iter().filter(|g| g.agency.as_str() == refused_agency && g.status != Status::NotApplicable).collect();
    assert_eq!(dom.matches("data-item=").count(), own.len());
    let refused_here = rejects.iter().filter(|r| r.agency_id.as_deref() == Some(&refused_agency)).count();
    assert_eq!(by_id(&dom, "refused-count"), refused_here.to_string());
    let outbox = db.wh.outbox(Some(q2), None, None).await.unwrap();
    let letter = outbox.iter().find(|m| m.agency.as_str() == refused_agency).expect("a reminder to the agency");
    assert!(dom.contains(&letter.subject.replace('&', "&amp;")), "the reminder's subject is not shown");
    assert!(dom.contains("Đã gửi"), "the reminder was sent to a file");

    // Indicators: every line, and one indicator's members and history.
    let dom = load_page(exe, profile.path(), &d.url("/indicators?period=2024-Q2"), "indicators").await;
    assert_eq!(dom.matches("<tr data-item=").count(), report.indicators.len());
    let agg = gaps.iter().find(|g| g.kind.as_str() == "aggregate" && g.members.is_some()).expect("an aggregate row");
    let dom =
        load_page(exe, profile.path(), &d.url(&format!("/indicators/{}?period=2024-Q2", agg.item)), "indicator").await;
    let members =
        gaps.iter().filter(|g| g.item == agg.item && g.kind.as_str() == "member" && g.status != Status::NotApplicable);
    assert_eq!(dom.matches("<tr data-agency=").count(), members.count());
    let (judged, good) = agg.members.unwrap();
    assert!(by_id_like(&dom, "data-col=\"members\"").contains(&format!("{good}/{judged}")));
    assert!(dom.contains("Quý I/2024"), "the history lists the quarter before");

    // Refused figures: every one, with the text that was sent.
    let dom = load_page(exe, profile.path(), &d.url("/refused?period=2024-Q2"), "refused").await;
    assert_eq!(by_id(&dom, "count"), rejects.len().to_string());
    assert_eq!(dom.matches("data-col=\"raw\"").count(), rejects.len());

    // Runs: the warehouse's, newest first.
    let dom = load_page(exe, profile.path(), &d.url("/runs"), "runs").await;
    let first = &dom[dom.find("data-run=").unwrap()..];
    assert!(first.starts_with(&format!("data-run=\"{}\"", runs_before[0].id)));
    assert_eq!(dom.matches("data-run=").count(), runs_before.len());

    // The downloads are the report's files.
    let http = reqwest::Client::new();
    for (path, part) in [("/report.xlsx?period=2024-Q2", "xl/workbook.xml"), ("/report.docx", "word/document.xml")] {
        let r = http.get(d.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let name = r.headers()["content-disposition"].to_str().unwrap().to_string();
        assert!(name.contains("bao-cao-2024-Q2."), "{name}");
        let bytes = r.bytes().await.unwrap();
        let zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
        assert!(zip.file_names().any(|n| n.is_ok_and(|n| n == part)), "{path}");
    }
    // A quarter not evaluated, and one that is not a quarter: said so, in Vietnamese.
    let r = http.get(d.url("/?period=2023-Q1")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("chiso evaluate --period 2023-Q1"));
    let r = http.get(d.url("/agencies?period=2024-Q9")).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("không phải là một quý"));

    // Reading wrote nothing.
    assert_eq!(db.wh.runs(&RunFilter::default()).await.unwrap(), runs_before);
    assert_eq!(db.wh.gaps(&plan, q2, None).await.unwrap(), gaps);
    d.stop().await;
    db.cleanup().await;
}

/// The sign-in form's body, as a browser sends it.
fn form_token(token: &str) -> String {
    format!("token={}", url::form_urlencoded::byte_serialize(token.as_bytes()).collect::<String>())
}

fn cookie_of(r: &reqwest::Response) -> String {
    r.headers()["set-cookie"].to_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_token_or_a_session_is_required_and_the_viewer_reads_only() {
    let db = common::sqlite().await;
    let d = demo(&db, "0.0.0.0:0", OPERATOR, VIEWER).await;
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let plan = d.ctx.catalog.plan.id.clone();
    let q2 = common::period("2024-Q2");
    let gaps = db.wh.gaps(&plan, q2, None).await.unwrap();

    // No token: no page, but the sign-in form; a token in the URL is not read.
    for path in ["/", "/agencies", "/runs", "/report.xlsx", &format!("/?token={OPERATOR}")] {
        let r = http.get(d.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 401, "{path}");
        let body = r.text().await.unwrap();
        assert!(body.contains("action=\"/login\"") && body.contains("Mã truy cập"), "{path}: {body}");
        assert!(!body.contains(OPERATOR) && !body.contains("Tổng quan Quý"), "{path}");
    }
    let wrong = http
        .post(d.url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_token("not-a-token"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(wrong.headers().get("set-cookie").is_none());
    assert!(wrong.text().await.unwrap().contains("Mã truy cập không đúng"));

    // The viewer signs in: a strict, HttpOnly session cookie, not Secure over plain http.
    let signed = http
        .post(d.url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_token(VIEWER))
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), 303);
    assert_eq!(signed.headers()["location"], "/");
    let cookie = cookie_of(&signed);
    let parts: Vec<&str> = cookie.split("; ").collect();
    assert!(parts[0].starts_with("chiso_session=") && parts[0].len() == "chiso_session=".len() + 64, "{cookie}");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(parts.contains(&flag), "{flag} missing: {cookie}");
    }
    assert!(!parts.contains(&"Secure"), "a Secure cookie never comes back over http://: {cookie}");
    assert!(!cookie.contains(VIEWER));
    let session = parts[0].to_string();
    let page = http.get(d.url("/")).header("cookie", &session).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let body = page.text().await.unwrap();
    assert!(body.contains("Tổng quan Quý II") && body.contains("Quyền: Xem"), "{body}");
    let api = http.get(d.url("/api/runs")).header("cookie", &session).send().await.unwrap();
    assert_eq!(api.status(), 200, "a viewer's session reads the API");

    // The viewer cannot start runs, by session or by token.
    let job = serde_json::json!({ "job": "evaluate", "period": "2024-Q2" });
    let runs = db.wh.runs(&RunFilter::default()).await.unwrap().len();
    for r in [
        http.post(d.url("/api/runs")).header("cookie", &session).json(&job).send().await.unwrap(),
        http.post(d.url("/api/runs")).bearer_auth(VIEWER).json(&job).send().await.unwrap(),
    ] {
        assert_eq!(r.status(), 403);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "forbidden", "{body}");
        assert!(body["error"]["message"].as_str().unwrap().contains("operator token"), "{body}");
    }
    assert_eq!(db.wh.runs(&RunFilter::default()).await.unwrap().len(), runs, "a viewer started a run");
    let viewer_reads = http.get(d.url("/api/gaps?period=2024-Q2")).bearer_auth(VIEWER).send().await.unwrap();
    assert_eq!(viewer_reads.status(), 200);

    // The operator's token works as a bearer on pages, and starts runs.
    let page = http.get(d.url("/agencies")).bearer_auth(OPERATOR).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Quyền: Quản trị"));
    let dry = serde_json::json!({ "job": "evaluate", "period": "2024-Q2", "dry_run": true });
    let started = http.post(d.url("/api/runs")).bearer_auth(OPERATOR).json(&dry).send().await.unwrap();
    assert_eq!(started.status(), 202);

    // Behind a TLS proxy the cookie is Secure.
    let proxied = http
        .post(d.url("/login"))
        .header("x-forwarded-proto", "https")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_token(OPERATOR))
        .send()
        .await
        .unwrap();
    assert!(cookie_of(&proxied).ends_with("; Secure"), "{}", cookie_of(&proxied));

    // Signing out ends the session: the cookie is cleared and no longer opens pages.
    let out = http.post(d.url("/logout")).header("cookie", &session).send().await.unwrap();
    assert_eq!(out.status(), 303);
    assert!(cookie_of(&out).contains("Max-Age=0"));
    let after = http.get(d.url("/")).header("cookie", &session).send().await.unwrap();
    assert_eq!(after.status(), 401);

    // Reading pages wrote no evaluation (the operator's run was a dry run).
    let id = started.json::<serde_json::Value>().await.unwrap()["run_id"].as_i64().unwrap();
    for _ in 0..300 {
        if db.wh.run(id).await.unwrap().is_some_and(|r| r.status.as_str() != "running") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(db.wh.gaps(&plan, q2, None).await.unwrap(), gaps, "nothing written");
    d.stop().await;
    db.cleanup().await;
}
