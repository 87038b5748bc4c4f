//! Evaluating one period of a national-scale warehouse: 3,300 commune-level units × the
//! 174 indicators × 12 quarters (2023-Q1 … 2025-Q4), about 6.9 million observations.
//!
//! ```sh
//! cargo bench --bench evaluate                                   # SQLite
//! CHISO_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:55432/postgres \
//!     cargo bench --bench evaluate                               # and PostgreSQL
//! ```
//!
//! The warehouse is generated once through the real storage path (`store_ingestion`)
//! and reused: `target/bench/national.db`, and the database `chiso_bench` on the server.
//! Each measurement runs in a child process so its peak resident memory is its own:
//! * floor: reading the period's and last year-end's current observations, nothing else;
//! * first evaluation of the period (every row written);
//! * re-evaluation with nothing changed (the daily case: nothing written).

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use chiso::catalog::plan::{Catalog, OverridesFile, PlanFile};
use chiso::demo::national_directory;
use chiso::domain::{MeasureKind, Period, Progress, Value};
use chiso::ingest::normalize::{NewObservation, Normalized};
use chiso::warehouse::{ConnectOptions, IngestionEnd, NewIngestion, Warehouse};

const COMMUNES: usize = 3_300;

fn catalog(dir: &chiso::catalog::Directory) -> Catalog {
    let plan = PlanFile::load(Path::new("config/plans/kh-742-2023.toml")).expect("plan");
    let overrides = OverridesFile::load(Path::new("config/plans/kh-742-2023.overrides.toml")).expect("overrides");
    Catalog::build(&plan, &overrides, "overrides", dir).expect("catalog")
}

fn directory() -> chiso::catalog::Directory {
    let base = chiso::catalog::Directory::load(Path::new("config/agencies.toml")).expect("directory");
    national_directory(&base, COMMUNES).expect("national directory")
}

fn periods() -> Vec<Period> {
    (2023..=2025).flat_map(|y| (1..=4).map(move |q| Period::new(y, q).expect("period"))).collect()
}

fn evaluated() -> Period {
    Period::new(2024, 3).expect("period")
}

async fn open(url: &str) -> Warehouse {
    let wh =
        Warehouse::connect(url, &ConnectOptions { max_connections: 4, ..Default::default() }).await.expect("warehouse");
    wh.migrate().await.expect("migrate");
    wh
}

fn pick(seed: u64, n: u64) -> u64 {
    (seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407) >> 33) % n
}

/// Fills the warehouse unless it already holds the 12 periods.
async fn generate(url: &str) {
    let wh = open(url).await;
    let dir = directory();
    let catalog = catalog(&dir);
    wh.load_catalog(&catalog, &dir).await.expect("catalog");
    let have = wh.count_rows("observations").await.expect("count");
    let per_period: usize = COMMUNES * catalog.indicators.iter().map(|i| i.measures.len()).sum::<usize>();
    if have as usize >= per_period * 12 {
        eprintln!("{}: {have} observations already there", wh.url());
        return;
    }
    assert_eq!(have, 0, "{}: a partial benchmark warehouse; delete it and rerun", wh.url());
    let ids = wh.indicator_id_map("kh-742-2023").await.expect("ids");
    let communes: Vec<String> = (0..COMMUNES).map(|c| format!("bench_x{}", 900_000 + c)).collect();
    let started = Instant::now();
    for period in periods() {
        let marker = format!("national benchmark {period}");
        let sha = chiso::sha256_hex(marker.as_bytes());
        wh.keep_raw(&sha, marker.as_bytes(), "unknown").await.expect("raw");
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let indicators: Vec<(chiso::domain::ItemKey, Vec<(String, MeasureKind)>)> = catalog
            .indicators
            .iter()
            .map(|i| (i.key, i.measures.iter().map(|m| (m.key.clone(), m.kind.clone())).collect()))
            .collect();
        let communes = communes.clone();
        let feeder = tokio::spawn(async move {
            let mut batch = Vec::with_capacity(2000);
            for (c, agency) in communes.iter().enumerate() {
                let agency: chiso::domain::AgencyId = agency.parse().expect("id");
                for (key, measures) in &indicators {
                    for (m, (measure, kind)) in measures.iter().enumerate() {
                        let seed =
                            (c as u64) << 24 | u64::from(key.number) << 8 | m as u64 | (period.code() as u64) << 40;
                        let value = match kind {
                            MeasureKind::Percent => Value::Percent(30.0 + pick(seed, 71) as f64),
                            MeasureKind::Count { .. } => Value::Count(pick(seed, 1500) as f64),
                            MeasureKind::Status => Value::Status(
                                [Progress::Done, Progress::InProgress, Progress::NotDone, Progress::Ongoing]
                                    [pick(seed, 4) as usize],
                            ),
                        };
                        batch.push(NewObservation {
                            period,
                            item: *key,
                            measure: measure.clone(),
                            agency: agency.clone(),
                            value,
                            raw_text: value.vi(),
                            note: None,
                            location: format!("Cấp xã!E{}", c + 2),
                        });
                        if batch.len() == 2000
                            && tx.send(Normalized::Observations(std::mem::take(&mut batch))).await.is_err()
                        {
                            return;
                        }
                    }
                }
            }
            let _ = tx.send(Normalized::Observations(batch)).await;
        });
        let ing = NewIngestion {
            run_id: None,
            fetch_id: None,
            source_id: "bench".into(),
            period,
            sha256: sha,
            file_name: format!("national-{period}.xlsx"),
            agency: None,
            layout: Some("long".into()),
            sheet: None,
        };
        let counts = wh.store_ingestion(&ing, &ids, rx, async { IngestionEnd::default() }).await.expect("store");
        feeder.await.expect("feeder");
        eprintln!(
            "{}: {period}: {} observations ({:.0} s so far)",
            wh.url(),
            counts.observations,
            started.elapsed().as_secs_f64()
        );
    }
    wh.close().await;
}

fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// In a child: `read`, `first` or `again`.
async fn child(what: &str, url: &str) -> f64 {
    let wh = open(url).await;
    let dir = directory();
    let catalog = catalog(&dir);
    let mut settings = chiso::config::Settings::defaults().expect("settings");
    settings.database.url = chiso::config::Secretish::new(url);
    let ctx = chiso::app::Context::with_warehouse(settings, dir, catalog, vec![], wh.clone()).await.expect("context");
    let _ = ctx.assignments(evaluated());
    let period = evaluated();
    let now = chrono::Utc::now();
    match what {
        "read" => {
            let ids = wh.indicator_id_map("kh-742-2023").await.expect("ids");
            let started = Instant::now();
            let all = |_: usize, _: usize| true;
            let a = wh.period_observations(&ctx.catalog, &ctx.dir, &ids, period, &all).await.expect("read");
            let b = wh
                .period_observations(&ctx.catalog, &ctx.dir, &ids, period.previous_year_end(), &all)
                .await
                .expect("read");
            assert!(a.len() > 500_000 && b.len() > 500_000, "{} {}", a.len(), b.len());
            started.elapsed().as_secs_f64()
        }
        _ => {
            if what == "first" {
                wh.reset_evaluations(period).await.expect("reset");
            }
            let req = chiso::jobs::evaluate::EvaluateRequest {
                now: Some(now),
                ..chiso::jobs::evaluate::EvaluateRequest::new(period, chiso::warehouse::Trigger::Cli, None)
            };
            let started = Instant::now();
            let report = chiso::jobs::evaluate::evaluate(&ctx, &req).await.expect("evaluate");
            let secs = started.elapsed().as_secs_f64();
            eprintln!("{what}: {} rows, {:?}", report.rows.len(), report.counts);
            if what == "again" {
                assert_eq!(report.counts.new + report.counts.changed, 0);
            } else {
                assert_eq!(report.counts.new as usize, report.rows.len());
            }
            secs
        }
    }
}

fn run_child(exe: &str, what: &str, url: &str) -> Option<(f64, f64)> {
    let out = Command::new(exe).args(["--child", what, url]).output().ok()?;
    if !out.status.success() {
        eprintln!("child {what} failed: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    let line = String::from_utf8_lossy(&out.stdout).lines().rev().find(|l| l.starts_with("RESULT "))?.to_string();
    let mut parts = line.split_whitespace().skip(1);
    Some((parts.next()?.parse().ok()?, parts.next()?.parse::<f64>().ok()? / 1024.0))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    if let Some(i) = args.iter().position(|a| a == "--child") {
        let secs = rt.block_on(child(&args[i + 1], &args[i + 2]));
        println!("RESULT {secs} {}", peak_rss_kb());
        return;
    }
    let runs: usize = args.iter().position(|a| a == "--runs").and_then(|i| args.get(i + 1)?.parse().ok()).unwrap_or(3);
    std::fs::create_dir_all("target/bench").expect("mkdir");
    let mut targets = vec![("SQLite".to_string(), "sqlite://target/bench/national.db".to_string())];
    if let Ok(url) = std::env::var("CHISO_BENCH_DATABASE_URL") {
        rt.block_on(async {
            let admin = sqlx::PgPool::connect(&url).await.expect("PostgreSQL");
            let exists: bool =
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'chiso_bench')")
                    .fetch_one(&admin)
                    .await
                    .expect("query");
            if !exists {
                sqlx::query("CREATE DATABASE chiso_bench").execute(&admin).await.expect("create database");
            }
        });
        let bench_url = match url.rsplit_once('/') {
            Some((base, _)) => format!("{base}/chiso_bench"),
            None => url.clone(),
        };
        targets.push(("PostgreSQL".into(), bench_url));
    }
    for (_, url) in &targets {
        rt.block_on(generate(url));
    }
    let exe = std::env::current_exe().expect("exe").display().to_string();
    println!(
        "\nevaluate benchmark — {COMMUNES} commune units × 174 indicators × 12 quarters; period {} ; {runs} runs",
        evaluated()
    );
    println!(
        "| {:<12} | {:<44} | {:>8} | {:>8} | {:>8} | {:>8} |",
        "backend", "", "min s", "median s", "max s", "peak MB"
    );
    println!("|{:-<14}|{:-<46}|{:-<10}|{:-<10}|{:-<10}|{:-<10}|", "", "", "", "", "", "");
    for (name, url) in &targets {
        for (what, label) in [
            ("read", "floor: read the two periods' observations"),
            ("first", "first evaluation (all rows written)"),
            ("again", "re-evaluation, nothing changed"),
        ] {
            let mut secs = Vec::new();
            let mut rss: f64 = 0.0;
            for _ in 0..runs {
                if let Some((s, m)) = run_child(&exe, what, url) {
                    secs.push(s);
                    rss = rss.max(m);
                }
            }
            if secs.is_empty() {
                println!("| {name:<12} | {label:<44} | failed (see stderr)");
                continue;
            }
            secs.sort_by(f64::total_cmp);
            println!(
                "| {name:<12} | {label:<44} | {:>8.3} | {:>8.3} | {:>8.3} | {:>8.0} |",
                secs[0],
                secs[secs.len() / 2],
                secs[secs.len() - 1],
                rss
            );
        }
    }
    println!("\ngoal: under 5 s per period on either backend, under 500 MB");
}
