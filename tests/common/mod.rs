//! Shared test harness: a fresh warehouse per test on SQLite, and on PostgreSQL too when
//! `CHISO_TEST_DATABASE_URL` is set (each test gets its own schema there).

#![allow(dead_code)]

pub mod smtp;

use std::str::FromStr;

use chiso::warehouse::{ConnectOptions, Warehouse};
use sqlx::postgres::PgConnectOptions;

pub struct TestDb {
    pub wh: Warehouse,
    pub name: &'static str,
    _dir: Option<tempfile::TempDir>,
    schema: Option<(PgConnectOptions, String)>,
}

impl TestDb {
    /// A second, independent connection pool to the same warehouse (another process's
    /// view: a second daemon, a CLI).
    pub async fn reconnect(&self) -> Warehouse {
        match &self.schema {
            Some((admin, schema)) => {
                let opts = admin.clone().options([("search_path", schema.as_str())]);
                Warehouse::connect_postgres(opts, &ConnectOptions { max_connections: 4, ..Default::default() })
                    .await
                    .expect("postgres warehouse")
            }
            None => {
                let path = self._dir.as_ref().expect("sqlite dir").path().join("chiso.db");
                Warehouse::connect(&format!("sqlite://{}", path.display()), &ConnectOptions::default())
                    .await
                    .expect("sqlite warehouse")
            }
        }
    }

    /// The SQLite file, for a binary run beside the test.
    pub fn sqlite_url(&self) -> Option<String> {
        self._dir.as_ref().map(|d| format!("sqlite://{}", d.path().join("chiso.db").display()))
    }

    /// Drops the PostgreSQL schema (SQLite files go with their temp directory).
    pub async fn cleanup(self) {
        self.wh.close().await;
        if let Some((opts, schema)) = self.schema
            && let Ok(pool) = sqlx::PgPool::connect_with(opts).await
        {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA IF EXISTS {schema} CASCADE")))
                .execute(&pool)
                .await;
            pool.close().await;
        }
    }
}

pub fn pg_url() -> Option<String> {
    std::env::var("CHISO_TEST_DATABASE_URL").ok().filter(|u| !u.is_empty())
}

pub async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("chiso.db").display());
    let wh = Warehouse::connect(&url, &ConnectOptions::default()).await.expect("sqlite warehouse");
    wh.migrate().await.expect("sqlite migrations");
    TestDb { wh, name: "sqlite", _dir: Some(dir), schema: None }
}

pub async fn postgres() -> Option<TestDb> {
    let url = pg_url()?;
    let admin = PgConnectOptions::from_str(&url).expect("CHISO_TEST_DATABASE_URL is a postgres URL");
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let pool =
        sqlx::PgPool::connect_with(admin.clone()).await.expect("PostgreSQL from CHISO_TEST_DATABASE_URL answers");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}"))).execute(&pool).await.expect("create schema");
    pool.close().await;
    let opts = admin.clone().options([("search_path", schema.as_str())]);
    let wh = Warehouse::connect_postgres(opts, &ConnectOptions { max_connections: 4, ..Default::default() })
        .await
        .expect("postgres warehouse");
    wh.migrate().await.expect("postgres migrations");
    Some(TestDb { wh, name: "postgres", _dir: None, schema: Some((admin, schema)) })
}

/// SQLite always, PostgreSQL when configured. A skipped PostgreSQL half is not silent:
/// each call is recorded (see [`record_pg_half`]) and `tests/zz_postgres_summary.rs` ends
/// `cargo test` with `PostgreSQL: N of M warehouse tests ran`; with `CHISO_REQUIRE_POSTGRES`
/// set (CI), a missing PostgreSQL fails the test.
pub async fn all() -> Vec<TestDb> {
    let mut out = vec![sqlite().await];
    let pg = postgres().await;
    record_pg_half(pg.is_some());
    if pg.is_none() && std::env::var_os("CHISO_REQUIRE_POSTGRES").is_some() {
        panic!("CHISO_REQUIRE_POSTGRES is set but CHISO_TEST_DATABASE_URL is not: the PostgreSQL half cannot run");
    }
    out.extend(pg);
    out
}

/// Debian's `python3-aiosmtpd`, the real SMTP server of the binary's mail tests: absent, the
/// test fails saying which package to install, not with a server that never answers.
pub fn require_aiosmtpd() {
    let found = std::process::Command::new("/usr/bin/python3")
        .args(["-c", "import aiosmtpd"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "python3-aiosmtpd is not installed: the mail tests of the binary need it (apt-get install python3-aiosmtpd)"
    );
}

/// Where this `cargo test` invocation records its PostgreSQL halves: one folder per cargo
/// process (every test binary of a run is its child).
pub fn pg_halves_dir() -> std::path::PathBuf {
    // SAFETY: getppid has no preconditions and cannot fail.
    let cargo = unsafe { libc::getppid() };
    std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("pg-halves").join(cargo.to_string())
}

/// Appends `ran` or `skipped` and the test's name to this run's record.
pub fn record_pg_half(ran: bool) {
    use std::io::Write;
    let dir = pg_halves_dir();
    let test = std::thread::current().name().unwrap_or("?").to_string();
    let line = format!("{}\t{}\n", if ran { "ran" } else { "skipped" }, test);
    let _ = std::fs::create_dir_all(&dir).and_then(|()| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(format!("{}.tsv", std::process::id())))?
            .write_all(line.as_bytes())
    });
}

pub fn repo(path: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

pub fn directory() -> chiso::catalog::Directory {
    chiso::catalog::Directory::load(&repo("config/agencies.toml")).expect("the shipped directory loads")
}

pub fn seed_text() -> String {
    std::fs::read_to_string(repo("config/plans/kh-742-2023.source.txt")).expect("the vendored plan text")
}

/// The shipped catalogue (plan file + overrides).
pub fn catalog() -> (chiso::catalog::Directory, chiso::catalog::plan::Catalog) {
    let dir = directory();
    let plan = chiso::catalog::plan::PlanFile::load(&repo("config/plans/kh-742-2023.toml")).expect("plan file");
    let path = repo("config/plans/kh-742-2023.overrides.toml");
    let overrides = chiso::catalog::plan::OverridesFile::load(&path).expect("overrides");
    let catalog =
        chiso::catalog::plan::Catalog::build(&plan, &overrides, &path.display().to_string(), &dir).expect("catalog");
    (dir, catalog)
}

/// A department's quarterly report sheet as officers send it: the title block of `agency`
/// for Quý II/2024, then STT, task, unit, target, result and note columns.
#[allow(dead_code)]
pub fn report_sheet(name: &str, agency: &str, rows: Vec<Vec<chiso::demo::DemoCell>>) -> chiso::demo::SheetSpec {
    chiso::demo::SheetSpec {
        name: name.into(),
        title: chiso::demo::title_block("UBND tỉnh Vĩnh Long", agency, "Quý II năm 2024"),
        header_row: 6,
        headers: ["STT", "Nhiệm vụ / Chỉ tiêu", "ĐVT", "Chỉ tiêu năm 2024", "Kết quả thực hiện", "Ghi chú"]
            .map(String::from)
            .to_vec(),
        rows,
        ..Default::default()
    }
}

/// Settings on the embedded defaults, with fast retries for tests.
pub fn settings() -> chiso::config::Settings {
    let mut s = chiso::config::Settings::defaults().expect("embedded defaults");
    s.collect.http.backoff_base_ms = 10;
    s.collect.http.backoff_max_ms = 5_000;
    s.collect.http.read_timeout_secs = 2.0;
    s.collect.http.connect_timeout_secs = 2.0;
    s
}

/// A job context over a test warehouse.
pub async fn context(
    db: &TestDb,
    settings: chiso::config::Settings,
    sources: Vec<chiso::sources::Source>,
) -> chiso::app::Context {
    let (dir, catalog) = catalog();
    chiso::app::Context::with_warehouse(settings, dir, catalog, sources, db.wh.clone()).await.expect("context")
}

pub fn period(s: &str) -> chiso::domain::Period {
    s.parse().expect("a period")
}

/// Collects one period.
pub async fn collect(ctx: &chiso::app::Context, period: chiso::domain::Period) -> chiso::jobs::collect::CollectReport {
    let req = chiso::jobs::collect::CollectRequest::new(period, chiso::warehouse::Trigger::Cli, Some("test".into()));
    chiso::jobs::collect::collect(ctx, &req, std::sync::Arc::new(chiso::jobs::collect::Quiet))
        .await
        .expect("collect runs")
}

/// Settings sending through a plain SMTP server on loopback, with no rate limit to speak of.
pub fn smtp_settings(port: u16) -> chiso::config::Settings {
    let mut s = settings();
    s.mail.transport = chiso::config::MailTransport::Smtp;
    s.mail.smtp.host = "127.0.0.1".into();
    s.mail.smtp.port = port;
    s.mail.smtp.security = chiso::config::SmtpSecurity::None;
    s.remind.rate_per_second = 1000.0;
    s
}

/// Plans a round of 2024-Q4 on the shipped catalogue, on `today` (YYYY-MM-DD) at 10:00 in
/// Vĩnh Long, with nothing sent before.
pub fn plan_round(
    rows: &[chiso::evaluate::GapRow],
    today: &str,
    round_id: &str,
    mode: chiso::remind::GroupItems,
) -> chiso::remind::plan::RoundPlan {
    let (dir, catalog) = catalog();
    let mut settings = settings();
    let sending = chiso::remind::SendingCalendar::new(&settings.remind.working, settings.calendar.timezone)
        .expect("sending calendar");
    let round = settings.remind.rounds.iter().find(|r| r.id == round_id).expect("a shipped round").clone();
    settings.remind.rounds.clear();
    settings.remind.group_items = mode;
    let now: chrono::DateTime<chrono::Utc> = format!("{today}T03:00:00Z").parse().expect("a date");
    let last = std::collections::HashMap::new();
    chiso::remind::plan::plan_round(&chiso::remind::plan::PlanInput {
        catalog: &catalog,
        dir: &dir,
        settings: &settings.remind,
        sending: &sending,
        coordinator: &settings.plan.coordinator,
        plan_id: "kh-742-2023",
        period: period("2024-Q4"),
        round: &round,
        opens_at: now,
        now,
        today: now.date_naive(),
        responsible_on: settings.calendar.cutoff(period("2024-Q4")),
        rows,
        last: &last,
        key_suffix: None,
    })
}

/// The `Báo cáo` sheet of an agency workbook below its header: (hidden key, STT or heading).
#[allow(dead_code)]
pub fn lead_sheet_rows(xlsx: &[u8]) -> Vec<(String, String)> {
    use calamine::Reader;
    let mut book = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(xlsx.to_vec())).expect("an xlsx");
    let sheet = book.worksheet_range(chiso::report::template::LEAD_SHEET).expect("the lead sheet");
    sheet
        .rows()
        .skip(chiso::report::template::HEADER_ROW as usize)
        .map(|r| {
            let cell = |i: usize| r.get(i).map(|c| c.to_string()).unwrap_or_default();
            (cell(0), cell(1))
        })
        .collect()
}

/// The demo quarter (2024-Q2) collected, and 2024-Q1 and Q2 evaluated at fixed moments
/// (Q1 has no figures: all missing).
pub async fn collect_and_evaluate_demo(ctx: &chiso::app::Context) {
    use chrono::TimeZone as _;
    collect(ctx, period("2024-Q2")).await;
    for (p, now) in [
        ("2024-Q1", chrono::Utc.with_ymd_and_hms(2024, 4, 25, 3, 0, 0).unwrap()),
        ("2024-Q2", chrono::Utc.with_ymd_and_hms(2024, 7, 1, 3, 0, 0).unwrap()),
    ] {
        let req = chiso::jobs::evaluate::EvaluateRequest {
            now: Some(now),
            ..chiso::jobs::evaluate::EvaluateRequest::new(period(p), chiso::warehouse::Trigger::Cli, None)
        };
        chiso::jobs::evaluate::evaluate(ctx, &req).await.expect("evaluate runs");
    }
}

/// The `chiso` binary, run in `dir` with none of this process's `CHISO_*` settings (each
/// test sets what it needs) and no colours.
pub fn chiso_command(dir: &std::path::Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_chiso"));
    cmd.current_dir(dir).env("NO_COLOR", "1");
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("CHISO_") {
            cmd.env_remove(k);
        }
    }
    cmd
}
