//! The dashboard's overview page and `chiso report` on the national-scale warehouse of the
//! evaluate benchmark (`target/bench/national.db`, generated once through the real storage
//! path if it is not there; 2024-Q3 evaluated once if it is not: 160,666 gap rows).
//!
//! ```sh
//! cargo bench --bench dashboard                # -- --runs 5
//! ```
//!
//! Lines, measured in the same run (SQLite):
//! * floor (reference): reading the quarter's current gap rows (`Warehouse::gaps`), nothing else;
//! * `chiso report`: the quarter's report built from the warehouse (`report::quarterly::load`)
//!   and written as the workbook and the draft (`write_xlsx`, `write_docx`), as the command does;
//! * overview, first view: a real `chiso serve` on 127.0.0.1, a fresh daemon each run, and
//!   `GET /?period=2024-Q3` answered in full (the overview counted, the page rendered);
//! * overview, next views: the same page again on that daemon, no run having started or
//!   ended since (the report comes from memory; the runs table is read once);
//! * overview, first view after a run: a run ends on that running daemon (a dry-run
//!   evaluation recorded, nothing else written), then the page: counted again on the
//!   daemon's warm pool, as a leader who opens it right after a collection sees it.

#[path = "common/national.rs"]
mod national;

use std::sync::Arc;
use std::time::Instant;

use national::{context, evaluated, generate, open};

const URL: &str = "sqlite://target/bench/national.db";

fn stats(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[0], v[v.len() / 2], v[v.len() - 1])
}

fn settings() -> chiso::config::Settings {
    let mut s = chiso::config::Settings::defaults().expect("settings");
    s.admin.bind = "127.0.0.1:0".into();
    s.serve.schedules = vec![];
    s.mail.outbox_dir = "target/bench/dashboard-outbox".into();
    s
}

async fn run(runs: usize) {
    std::fs::create_dir_all("target/bench").expect("mkdir");
    generate(URL).await;
    let wh = open(URL).await;
    let period = evaluated();
    let ctx = context(&wh, URL, settings()).await;
    let plan = ctx.catalog.plan.id.clone();
    if wh.gaps(&plan, period, None).await.expect("gaps").is_empty() {
        eprintln!("evaluating {period} once (not timed)");
        let req = chiso::jobs::evaluate::EvaluateRequest::new(period, chiso::warehouse::Trigger::Cli, None);
        chiso::jobs::evaluate::evaluate(&ctx, &req).await.expect("evaluate");
    }
    let mut lines: Vec<(&str, Vec<f64>, String)> = Vec::new();

    let mut floor = Vec::new();
    let mut rows = 0;
    for _ in 0..runs {
        let t = Instant::now();
        rows = wh.gaps(&plan, period, None).await.expect("gaps").len();
        floor.push(t.elapsed().as_secs_f64());
    }
    assert!(rows > 100_000, "{rows} gap rows");
    lines.push(("floor: read the quarter's gap rows", floor, format!("{rows} rows")));

    let template = chiso::report::docx::ReportTemplate::load(&ctx.settings.remind.templates).expect("template");
    let mut report = Vec::new();
    let mut size = 0;
    for _ in 0..runs {
        let t = Instant::now();
        let r = chiso::report::quarterly::load(&ctx.report_input(), period, chiso::report::quarterly::Scope::Province)
            .await
            .expect("report");
        let xlsx = chiso::report::quarterly::write_xlsx(&r).expect("xlsx");
        let docx = chiso::report::docx::write_docx(&r, &template, 2024).expect("docx");
        report.push(t.elapsed().as_secs_f64());
        size = xlsx.len() + docx.len();
    }
    lines.push(("chiso report (load + xlsx + docx)", report, format!("{} KB", size / 1024)));

    let mut counted = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let o = chiso::report::overview::load(&ctx.report_input(), period).await.expect("overview");
        counted.push(t.elapsed().as_secs_f64());
        assert!(o.indicators > 100, "{} indicator lines", o.indicators);
    }
    lines.push(("overview counted alone (report::overview::load)", counted, "GROUP BY".to_string()));

    let http = reqwest::Client::new();
    let (mut first, mut next, mut after_run) = (Vec::new(), Vec::new(), Vec::new());
    let mut page = 0;
    for _ in 0..runs {
        let ctx = Arc::new(context(&wh, URL, settings()).await);
        let (tx, rx) = tokio::sync::oneshot::channel();
        let daemon = tokio::spawn(chiso::serve::serve(ctx.clone(), Some(tx)));
        let addr = rx.await.expect("the daemon starts");
        let url = format!("http://{addr}/?period={period}");
        for i in 0..=runs {
            let t = Instant::now();
            let r = http.get(&url).send().await.expect("GET /");
            assert_eq!(r.status(), 200);
            let body = r.text().await.expect("body");
            let secs = t.elapsed().as_secs_f64();
            assert!(body.contains("Tổng quan Quý III"), "not the overview");
            page = body.len();
            if i == 0 { first.push(secs) } else { next.push(secs) }
        }
        // A run ends on the running daemon (a dry-run evaluate recorded, nothing else
        // written): the next reader's overview is counted again, on the daemon's warm pool.
        let run = chiso::warehouse::NewRun {
            job: "evaluate".into(),
            period: Some(period),
            source: None,
            round: None,
            params: serde_json::json!({}),
            trigger: chiso::warehouse::Trigger::Cli,
            operator: None,
            dry_run: true,
            rerun_of: None,
        };
        let id = wh.start_run(&run).await.expect("run");
        wh.finish_run(id, chiso::warehouse::RunStatus::Succeeded, &serde_json::json!({}), None).await.expect("run");
        let t = Instant::now();
        let r = http.get(&url).send().await.expect("GET /");
        assert_eq!(r.status(), 200);
        let body = r.text().await.expect("body");
        after_run.push(t.elapsed().as_secs_f64());
        assert!(body.contains("Tổng quan Quý III"), "not the overview");
        ctx.cancel.cancel();
        let _ = daemon.await;
    }
    lines.push(("overview page, first view (counted)", first, format!("{} KB", page / 1024)));
    lines.push(("overview page, next views (kept)", next, format!("{} KB", page / 1024)));
    lines.push(("overview page, first view after a run", after_run, format!("{} KB", page / 1024)));

    println!("\ndashboard benchmark — national warehouse, period {period}, SQLite; {runs} runs");
    println!("| {:<42} | {:>8} | {:>9} | {:>8} | {:>12} |", "", "min ms", "median ms", "max ms", "size");
    println!("|{:-<44}|{:-<10}|{:-<11}|{:-<10}|{:-<14}|", "", "", "", "", "");
    for (label, v, what) in lines {
        let (lo, med, hi) = stats(v);
        println!("| {label:<42} | {:>8.1} | {:>9.1} | {:>8.1} | {what:>12} |", lo * 1e3, med * 1e3, hi * 1e3);
    }
    println!("\ngoal: the overview in under 300 ms");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runs: usize = args.iter().position(|a| a == "--runs").and_then(|i| args.get(i + 1)?.parse().ok()).unwrap_or(5);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(run(runs));
}
