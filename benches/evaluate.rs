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

#[path = "common/national.rs"]
mod national;

use std::process::Command;
use std::time::Instant;

use national::{COMMUNES, context, evaluated, generate, open};

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
    let ctx = context(&wh, url, chiso::config::Settings::defaults().expect("settings")).await;
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
