//! `chiso runs`, `chiso rerun`, `chiso serve`.
//!
//! Owns: `RunsCommand`, `runs`, `rerun` and `serve` (the commands' side). Receives: the
//! arguments from `cli`, the `app::Context` through `open_app`; `warehouse::RunRow`s. Hands
//! on: a `jobs::dispatch::JobSpec` (from the stored run) to `jobs::dispatch::execute` for
//! `chiso rerun`; the `Context` to `serve::serve` for `chiso serve`; run lists and outcomes
//! to the terminal.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Subcommand;

use chiso::domain::Period;
use chiso::jobs::dispatch::{JobOutcome, JobSpec, Origin, execute};
use chiso::warehouse::{RunFilter, RunRow, Trigger};

use super::{Ctx, Failed, OutputFormat, open_app};

#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// Mọi lần chạy của mọi công việc, mới nhất trước: ai khởi động, kết thúc thế nào, số đếm.
    List {
        /// Chỉ công việc này: collect, ingest, evaluate, remind, cycle.
        #[arg(long)]
        job: Option<String>,
        /// Chỉ kỳ này.
        #[arg(long)]
        period: Option<Period>,
        /// running (đang chạy) | succeeded (thành công) | partial (một phần) | failed (thất bại) | cancelled (đã dừng)
        #[arg(long)]
        status: Option<String>,
        /// Số lần chạy hiện ra nhiều nhất.
        #[arg(long, default_value_t = 30)]
        limit: i64,
        /// text cho người đọc, json cho máy.
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// Một lần chạy đầy đủ: tham số, cách khởi động và người yêu cầu, số đếm, chuỗi lỗi.
    Show {
        /// Số của lần chạy.
        id: i64,
    },
}

fn local(ctx: &Ctx, t: chrono::DateTime<chrono::Utc>) -> String {
    t.with_timezone(&ctx.settings.calendar.timezone).format("%d/%m/%Y %H:%M:%S").to_string()
}

fn duration(r: &RunRow) -> String {
    r.finished_at.map(|f| format!("{:.1} s", (f - r.started_at).num_milliseconds() as f64 / 1000.0)).unwrap_or_default()
}

pub async fn runs(ctx: &Ctx, cmd: RunsCommand) -> anyhow::Result<ExitCode> {
    let app = open_app(ctx).await?;
    match cmd {
        RunsCommand::List { job, period, status, limit, format } => {
            let rows = app.wh.runs(&RunFilter { job, period, status, limit: Some(limit) }).await?;
            match format {
                OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
                OutputFormat::Text => {
                    let mut table = comfy_table::Table::new();
                    table.load_style(comfy_table::presets::UTF8_FULL_CONDENSED);
                    table.set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
                    table.set_header([
                        "ID",
                        "Công việc",
                        "Kỳ",
                        "Trạng thái",
                        "Khởi động",
                        "Bắt đầu",
                        "Thời gian",
                        "Lỗi",
                    ]);
                    for r in &rows {
                        let mut job = r.job.clone();
                        if r.dry_run {
                            job.push_str(" (chạy thử)");
                        }
                        if let Some(of) = r.rerun_of {
                            job.push_str(&format!(" ↻{of}"));
                        }
                        let trigger = match &r.operator {
                            Some(op) => format!("{} ({op})", super::texts::trigger(&r.trigger)),
                            None => super::texts::trigger(&r.trigger).to_string(),
                        };
                        let mut error = r.error.as_deref().map(super::texts::run_error).unwrap_or_default();
                        if error.chars().count() > 80 {
                            error = error.chars().take(77).collect::<String>() + "…";
                        }
                        table.add_row([
                            r.id.to_string(),
                            job,
                            r.period.map(|p| p.to_string()).unwrap_or_default(),
                            super::texts::run_status(r.status.as_str()).to_string(),
                            trigger,
                            local(ctx, r.started_at),
                            duration(r),
                            error,
                        ]);
                    }
                    println!("{table}");
                }
            }
        }
        RunsCommand::Show { id } => {
            let Some(r) = app.wh.run(id).await? else {
                anyhow::bail!(Failed { code: 2, message: format!("không có lần chạy {id}") });
            };
            println!(
                "Lần chạy {}: {} {}{}",
                r.id,
                r.job,
                r.period.map(|p| p.to_string()).unwrap_or_default(),
                if r.dry_run { " (chạy thử)" } else { "" }
            );
            println!("  trạng thái  {}", super::texts::run_status(r.status.as_str()));
            println!(
                "  khởi động   {}{}",
                super::texts::trigger(&r.trigger),
                r.operator.as_deref().map(|o| format!(", bởi {o}")).unwrap_or_default()
            );
            if let Some(of) = r.rerun_of {
                println!("  chạy lại    lần chạy {of}");
            }
            println!("  bắt đầu     {} trên {}", local(ctx, r.started_at), r.host.as_deref().unwrap_or("?"));
            if let Some(f) = r.finished_at {
                println!("  kết thúc    {} ({})", local(ctx, f), duration(&r));
            }
            if let Some(e) = &r.error {
                println!("  lỗi         {}", super::texts::run_error(e));
            }
            // The reason of each source or file that failed or was read in part.
            if let Some(failures) = r.counts.get("failures").and_then(|f| f.as_array()).filter(|f| !f.is_empty()) {
                println!("  lỗi theo nguồn");
                for f in failures {
                    let text = |k: &str| f.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_string();
                    let file = text("file");
                    let what = if text("outcome") == "incomplete" { "thiếu trang" } else { "lỗi" };
                    let at = if file.is_empty() { String::new() } else { format!(" ({file})") };
                    println!("    {}{at}, {what}: {}", text("source"), text("reason"));
                }
            }
            println!("  tham số     {}", serde_json::to_string(&r.params)?);
            println!("  kết quả     {}", serde_json::to_string_pretty(&r.counts)?);
        }
    }
    app.wh.close().await;
    Ok(ExitCode::SUCCESS)
}

pub async fn rerun(
    ctx: &Ctx,
    id: i64,
    dry_run: bool,
    operator: Option<String>,
    format: OutputFormat,
) -> anyhow::Result<ExitCode> {
    let app = open_app(ctx).await?;
    let Some(run) = app.wh.run(id).await? else {
        anyhow::bail!(Failed { code: 2, message: format!("không có lần chạy {id}") });
    };
    let Some(mut spec) = JobSpec::from_run(&run) else {
        anyhow::bail!(Failed {
            code: 2, message: format!("lần chạy {id} là việc `{}`, không chạy lại được", run.job)
        });
    };
    spec.dry_run = dry_run;
    let origin = Origin { rerun_of: Some(id), ..Origin::new(Trigger::Cli, operator) };
    let outcome = execute(&app, &spec, &origin).await?;
    match format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&outcome)?),
        OutputFormat::Text => print_outcome(&outcome, dry_run),
    }
    app.wh.close().await;
    Ok(if outcome.status == "failed" { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn print_outcome(o: &JobOutcome, dry_run: bool) {
    println!(
        "{} {} — lần chạy {}: {}{}",
        o.job.as_str(),
        o.period,
        o.run_id.map(|r| r.to_string()).unwrap_or_else(|| "-".into()),
        o.status,
        if dry_run { " (chạy thử: không ghi gì ngoài bản ghi lần chạy)" } else { "" }
    );
    let s = &o.summary;
    if let Some(changes) = s.pointer("/collect/preview/changes").and_then(|c| c.as_array()) {
        let superseded = changes.iter().filter(|c| !c["old"].is_null()).count();
        println!(
            "  số liệu: {} giá trị sẽ thay đổi ({} thay thế giá trị hiện có, {} mới)",
            changes.len(),
            superseded,
            changes.len() - superseded
        );
        for c in changes.iter().take(20) {
            println!(
                "    {} {}{} {}: {} → {}  ({})",
                c["agency"].as_str().unwrap_or(""),
                c["item"].as_str().unwrap_or(""),
                c["measure"].as_str().filter(|m| !m.is_empty()).map(|m| format!(":{m}")).unwrap_or_default(),
                c["file"].as_str().unwrap_or(""),
                if c["old"].is_null() { "—".to_string() } else { c["old"].to_string() },
                c["new"],
                c["location"].as_str().unwrap_or("")
            );
        }
        if changes.len() > 20 {
            println!("    … và {} dòng nữa (--format json)", changes.len() - 20);
        }
    }
    let flips = s.get("flips").and_then(|f| f.as_array());
    if let Some(flips) = flips {
        println!("  tình trạng: {} dòng sẽ đổi", flips.len());
        for f in flips.iter().take(20) {
            println!(
                "    {} {} {}: {} → {}",
                f["agency"].as_str().unwrap_or(""),
                f["item"].as_str().unwrap_or(""),
                f["kind"].as_str().unwrap_or(""),
                f["from"].as_str().unwrap_or("(mới)"),
                f["to"].as_str().unwrap_or("")
            );
        }
        if flips.len() > 20 {
            println!("    … và {} dòng nữa (--format json)", flips.len() - 20);
        }
    }
    // A cycle nests the round under `remind`; a remind job's summary is the round itself.
    let round = s.get("remind").filter(|r| r.is_object()).or_else(|| (o.job.as_str() == "remind").then_some(s));
    if let Some(r) = round {
        if let Some(idle) = r["idle"].as_str() {
            println!("  thư nhắc: {idle}");
        } else {
            let planned = r["planned"].as_array().cloned().unwrap_or_default();
            let new: Vec<_> = planned.iter().filter(|p| p["state"] == "new").collect();
            let corrections = new.iter().filter(|p| p["kind"] == "correction").count();
            let withdrawn = r["cancelled"].as_array().map_or(0, Vec::len);
            println!(
                "  thư nhắc (đợt {}): {} thư sẽ được xếp hàng ({} thư đính chính), {} thư rút lại, {} thư đã gửi trước đó",
                r["round"].as_str().unwrap_or(""),
                new.len(),
                corrections,
                withdrawn,
                planned.len() - new.len()
            );
            for p in new.iter().take(20) {
                println!(
                    "    {} {}: {}",
                    p["kind"].as_str().unwrap_or(""),
                    p["agency"].as_str().unwrap_or(""),
                    p["subject"].as_str().unwrap_or("")
                );
            }
        }
    }
    if let Some(counts) = s.get("counts") {
        println!("  {counts}");
    }
}

pub async fn serve(ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let app = Arc::new(open_app(ctx).await?);
    let cancel = app.cancel.clone();
    tokio::spawn(async move {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!("cannot listen for SIGTERM: {e}");
                return;
            }
        };
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
            _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: shutting down"),
        }
        cancel.cancel();
    });
    let report = match chiso::serve::serve(app.clone(), None).await {
        Ok(r) => r,
        Err(e @ (chiso::serve::ServeError::Insecure(_) | chiso::serve::ServeError::BadBind(_))) => {
            anyhow::bail!(Failed { code: 2, message: e.to_string() })
        }
        Err(e) => return Err(e.into()),
    };
    app.wh.close().await;
    Ok(if report.abandoned > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
