//! `chiso collect`, `chiso ingest`, `chiso rejects`, `chiso export`, `chiso template`.
//!
//! Owns: the arguments of these commands (`CollectArgs`, `IngestArgs`, `ExportCommand`, the
//! formats), the progress bars (`progress`) and their reports' printing. Receives: the
//! arguments from `cli`, the `app::Context`; a file's bytes for `chiso ingest`;
//! observations, rejects and known values from `warehouse`. Hands on: a `CollectRequest` to
//! `jobs::collect::collect`; a file to `jobs::collect::ingest_bytes` or `ingest_backfill`;
//! tables to `report::export`; a `report::template::TemplateSpec` to
//! `report::template::write` for `chiso template`; summaries to the terminal.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use clap::{Args, Subcommand, ValueEnum};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use super::Ctx;
use chiso::app::Context;
use chiso::domain::{AgencyId, Period};
use chiso::jobs::collect::{CollectReport, CollectRequest, Progress, SourceReport};
use chiso::report::export::Table;
use chiso::warehouse::{RunStatus, Trigger};

#[derive(Debug, Args)]
pub struct CollectArgs {
    /// Quý: 2024-Q2, Q2/2024, Quý II/2024 …
    #[arg(long)]
    pub period: Period,
    /// Chỉ nguồn này.
    #[arg(long)]
    pub source: Option<String>,
    /// Đọc lại các bản gốc đã lưu của kỳ thay vì tải về.
    #[arg(long)]
    pub from_raw: bool,
    /// Người yêu cầu (ghi cùng lần chạy).
    #[arg(long, env = "CHISO_OPERATOR")]
    pub operator: Option<String>,
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Các sổ tính nhận qua thư hoặc mang đến (xlsx, xls, xlsb, ods).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Kỳ báo cáo cần lấy (các dòng kỳ khác được bỏ qua và đếm là "khác kỳ"); bỏ trống để
    /// nạp mọi kỳ có trong tệp (nạp bù số liệu cũ).
    #[arg(long)]
    pub period: Option<Period>,
    /// Đơn vị báo cáo (mã, tên hoặc tên gọi khác); bỏ trống để đọc từ tiêu đề của tệp.
    #[arg(long)]
    pub agency: Option<String>,
    /// Người yêu cầu (ghi cùng lần chạy).
    #[arg(long, env = "CHISO_OPERATOR")]
    pub operator: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, ValueEnum)]
pub enum TableFormat {
    #[default]
    Table,
    Csv,
    Json,
    Xlsx,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DataFormat {
    Csv,
    Json,
    Xlsx,
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Mọi giá trị hiện hành của một kỳ kèm nguồn gốc (nguồn, tệp, sha256, ô).
    Observations {
        /// Quý: 2024-Q2, Q2/2024, Quý II/2024 …
        #[arg(long)]
        period: Period,
        /// csv (mở bằng Excel), json hoặc xlsx.
        #[arg(long, value_enum)]
        format: DataFormat,
        /// Cả các giá trị đã bị thay.
        #[arg(long)]
        history: bool,
        /// Nơi ghi tệp xlsx (mặc định data/reports/observations-KỲ.xlsx).
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

struct Bars {
    multi: MultiProgress,
    bars: Mutex<std::collections::HashMap<String, ProgressBar>>,
}

impl Progress for Bars {
    fn source_started(&self, source: &str) {
        let bar = self.multi.add(ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {prefix:<24} {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_prefix(source.to_string());
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        if let Ok(mut b) = self.bars.lock() {
            b.insert(source.to_string(), bar);
        }
    }
    fn file(&self, source: &str, name: &str) {
        if let Some(bar) = self.bars.lock().ok().and_then(|b| b.get(source).cloned()) {
            bar.set_message(name.to_string());
        }
    }
    fn source_done(&self, report: &SourceReport) {
        if let Some(bar) = self.bars.lock().ok().and_then(|b| b.get(&report.source).cloned()) {
            let msg = match &report.failed {
                Some(f) => format!("LỖI: {f}"),
                None => format!(
                    "{} tệp, {} số liệu mới, {} từ chối",
                    report.files.len(),
                    report.observations(),
                    report.rejects()
                ),
            };
            bar.finish_with_message(msg);
        }
    }
}

pub fn progress() -> Arc<dyn Progress> {
    if std::io::stderr().is_terminal() {
        Arc::new(Bars { multi: MultiProgress::new(), bars: Mutex::default() })
    } else {
        Arc::new(chiso::jobs::collect::Quiet)
    }
}

pub async fn collect(ctx: &Ctx, args: CollectArgs) -> anyhow::Result<ExitCode> {
    let app = super::open_app(ctx).await?;
    let req = CollectRequest {
        source: args.source,
        from_raw: args.from_raw,
        ..CollectRequest::new(args.period, Trigger::Cli, args.operator)
    };
    let report = chiso::jobs::collect::collect(&app, &req, progress()).await?;
    print_report(&report);
    app.wh.close().await;
    // Refused cells are the officers' to fix and leave the run succeeded; a source or a file
    // that failed is a problem the job found.
    Ok(if matches!(report.status, RunStatus::Succeeded) { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

pub fn print_report(report: &CollectReport) {
    let mut table = comfy_table::Table::new();
    table.load_style(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_header(["Nguồn", "Loại", "Tải mới", "Không đổi", "Số liệu mới", "Thay thế", "Từ chối", "Lỗi"]);
    for s in &report.sources {
        // Every reason, once: the source's own, then each file that failed or was read in part.
        let mut reasons: Vec<String> = s.failed.iter().cloned().collect();
        for f in s.files.iter().filter(|f| matches!(f.outcome, "failed" | "incomplete")) {
            let what = if f.outcome == "incomplete" { "thiếu trang" } else { "lỗi" };
            reasons.push(format!(
                "{} ({what}): {}",
                chiso::sources::shown_url(&f.name),
                f.error.as_deref().unwrap_or("không rõ lý do")
            ));
        }
        let failed = reasons.join("\n");
        table.add_row([
            s.source.clone(),
            s.kind.to_string(),
            s.count("fetched").to_string(),
            (s.count("unchanged") + s.count("not_modified")).to_string(),
            s.observations().to_string(),
            s.superseded().to_string(),
            (s.rejects() + s.count("rejected") as u64).to_string(),
            failed,
        ]);
    }
    println!(
        "Thu thập {} ({}) — lần chạy #{}: {}",
        report.period.vi(),
        report.period,
        report.run_id,
        super::texts::run_status(report.status.as_str())
    );
    println!("{table}");
    let rejects: u64 = report.sources.iter().map(SourceReport::rejects).sum();
    if rejects > 0 {
        println!("Xem lý do từ chối: chiso rejects --period {}", report.period);
    }
}

pub async fn ingest(ctx: &Ctx, args: IngestArgs) -> anyhow::Result<ExitCode> {
    let app = super::open_app(ctx).await?;
    let agency = args.agency.as_deref().map(|a| super::resolve_agency(&app.dir, a)).transpose()?;
    // Every file is read before anything is stored: a missing one is exit 2, with no run.
    let mut files = Vec::with_capacity(args.files.len());
    for file in &args.files {
        files.push((file, super::read_input(file)?));
    }
    // The period's lease, like collect: one ingest of a quarter at a time, across processes
    // (`--wait`, else exit 3 naming the holder). A backfill (no --period) takes the `ingest` one.
    let lease =
        chiso::jobs::lease::Lease::acquire(&app.wh, &chiso::jobs::lease::lease_name("ingest", args.period), ctx.wait)
            .await?;
    let run_id = app
        .wh
        .start_run(&chiso::warehouse::NewRun {
            job: "ingest".into(),
            period: args.period,
            source: Some("manual".into()),
            round: None,
            params: serde_json::json!({ "files": args.files, "agency": agency, "period": args.period }),
            trigger: Trigger::Cli,
            operator: args.operator.clone(),
            dry_run: false,
            rerun_of: None,
        })
        .await?;
    lease.set_run(run_id).await;
    let ids = app.wh.indicator_id_map(&app.catalog.plan.id).await?;
    let source = chiso::sources::Source {
        id: "manual".into(),
        agency: agency.clone(),
        kind: chiso::sources::SourceKind::Folder { path: ".".into(), glob: "*".into() },
        auth: None,
        mapping: Default::default(),
        enabled: true,
    };
    let mut table = comfy_table::Table::new();
    table.load_style(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_header(["Tệp", "Kỳ", "Đơn vị", "Kết quả", "Số liệu mới", "Thay thế", "Không đổi", "Từ chối", "Bỏ qua"]);
    let mut failed = false;
    let mut total = serde_json::Map::new();
    for (file, bytes) in files {
        let name = file.file_name().map_or_else(|| file.display().to_string(), |n| n.to_string_lossy().into_owned());
        let sha = chiso::sha256_hex(&bytes);
        let record = chiso::warehouse::FetchRecord {
            run_id: Some(run_id),
            source_id: "manual".into(),
            period: args.period,
            url: std::fs::canonicalize(file).unwrap_or_else(|_| file.clone()).display().to_string(),
            file_name: Some(name.clone()),
            attempts: 1,
            outcome: "fetched",
            sha256: Some(sha.clone()),
            size: Some(bytes.len() as u64),
            ..Default::default()
        };
        let fetch_id = app
            .wh
            .record_fetch(&record, Some((&bytes, chiso::ingest::sheet::FileFormat::detect(&bytes).as_str())))
            .await?;
        let file = chiso::jobs::collect::FileBytes {
            name: name.clone(),
            fetch_id: Some(fetch_id),
            bytes: Arc::from(bytes),
            sha,
        };
        let reports = match args.period {
            Some(period) => {
                vec![(period, chiso::jobs::collect::ingest_bytes(&app, run_id, &source, period, file, &ids).await)]
            }
            None => chiso::jobs::collect::ingest_backfill(&app, run_id, &source, file, &ids).await,
        };
        for (period, report) in reports {
            let agency = report
                .summary
                .as_ref()
                .and_then(|s| s.agency.clone())
                .map(|a| app.dir.get(&a).map_or(a.to_string(), |x| x.label().to_string()))
                .unwrap_or_else(|| {
                    let long =
                        report.summary.as_ref().and_then(|s| s.layout) == Some(chiso::ingest::layout::Layout::Long);
                    if long { "theo từng dòng".into() } else { String::new() }
                });
            let outcome = match (&report.summary.as_ref().and_then(|s| s.file_reject.clone()), &report.error) {
                (Some(r), _) => format!("từ chối: {}", r.message),
                (None, Some(e)) => format!("lỗi: {e}"),
                (None, None) => "đã nhận".into(),
            };
            failed |= report.outcome == "failed" || report.outcome == "rejected";
            for (k, v) in [("observations", report.counts.observations), ("rejects", report.counts.rejects)] {
                let cur = total.get(k).and_then(|x| x.as_u64()).unwrap_or(0);
                total.insert(k.into(), (cur + v).into());
            }
            table.add_row([
                name.clone(),
                period.vi(),
                agency,
                outcome,
                report.counts.observations.to_string(),
                report.counts.superseded.to_string(),
                report.counts.unchanged.to_string(),
                report.counts.rejects.to_string(),
                skipped_cell(report.summary.as_ref()),
            ]);
        }
    }
    let status = if failed { RunStatus::Partial } else { RunStatus::Succeeded };
    app.wh.finish_run(run_id, status, &serde_json::Value::Object(total), None).await?;
    lease.release().await;
    match args.period {
        Some(p) => println!("Nhận tệp cho {} — lần chạy #{run_id}", p.vi()),
        None => println!("Nhận tệp, mọi kỳ có trong tệp (nạp bù) — lần chạy #{run_id}"),
    }
    println!("{table}");
    app.wh.close().await;
    Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// What was skipped without being an error: rows of other quarters, no-figure cells, rows
/// that are not data.
fn skipped_cell(summary: Option<&chiso::ingest::FileSummary>) -> String {
    let Some(s) = summary else { return String::new() };
    let r = &s.skipped_records;
    let mut parts = Vec::new();
    if r.other_period > 0 {
        parts.push(format!("{} khác kỳ", r.other_period));
    }
    if r.no_figure > 0 {
        parts.push(format!("{} không phát sinh", r.no_figure));
    }
    let other = s.skipped.total() + r.blank;
    if other > 0 {
        parts.push(format!("{other} dòng không có số liệu"));
    }
    parts.join(", ")
}

/// How `rejects` and `export` hand their table over: csv and json on stdout, xlsx to a file.
fn emit(
    table: &Table,
    format: DataFormat,
    json: impl FnOnce() -> serde_json::Result<String>,
    output: Option<PathBuf>,
    default: &str,
) -> anyhow::Result<()> {
    match format {
        DataFormat::Json => println!("{}", json()?),
        DataFormat::Csv => chiso::report::export::write_csv(std::io::stdout().lock(), table)?,
        DataFormat::Xlsx => {
            let out = output.unwrap_or_else(|| PathBuf::from(default));
            super::write_file(&out, &chiso::report::export::write_xlsx(table)?)?;
            println!("{} dòng → {}", table.rows.len(), out.display());
        }
    }
    Ok(())
}

pub async fn rejects(
    ctx: &Ctx,
    period: Period,
    format: TableFormat,
    output: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    let app = super::open_app(ctx).await?;
    let rows = app.wh.rejects(period).await?;
    let data = match format {
        TableFormat::Table => None,
        TableFormat::Csv => Some(DataFormat::Csv),
        TableFormat::Json => Some(DataFormat::Json),
        TableFormat::Xlsx => Some(DataFormat::Xlsx),
    };
    if let Some(format) = data {
        let mut table =
            Table::new("Từ chối", &["source", "agency", "file", "location", "item", "raw_text", "code", "message"]);
        for r in &rows {
            table.push(vec![
                r.source_id.clone(),
                r.agency_id.clone().unwrap_or_default(),
                r.file_name.clone().unwrap_or_default(),
                r.location.clone(),
                r.item_key.clone().unwrap_or_default(),
                r.raw_text.clone(),
                r.code.clone(),
                r.message.clone(),
            ]);
        }
        emit(
            &table,
            format,
            || serde_json::to_string_pretty(&rows),
            output,
            &format!("data/reports/rejects-{period}.xlsx"),
        )?;
    } else {
        let mut table = comfy_table::Table::new();
        table.load_style(comfy_table::presets::UTF8_FULL_CONDENSED);
        table.set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
        table.set_header(["Nguồn", "Đơn vị", "Tệp", "Vị trí", "Chỉ tiêu", "Giá trị", "Lý do"]);
        for r in &rows {
            let agency = r
                .agency_id
                .as_deref()
                .and_then(|a| app.dir.get_str(a))
                .map_or_else(|| r.agency_id.clone().unwrap_or_default(), |a| a.label().to_string());
            table.add_row([
                r.source_id.clone(),
                agency,
                r.file_name.clone().unwrap_or_default(),
                r.location.clone(),
                r.item_key.clone().unwrap_or_default(),
                r.raw_text.clone(),
                r.message.clone(),
            ]);
        }
        println!("Các giá trị bị từ chối — {} ({} dòng)", period.vi(), rows.len());
        if !rows.is_empty() {
            println!("{table}");
        }
    }
    app.wh.close().await;
    Ok(ExitCode::SUCCESS)
}

pub async fn export(ctx: &Ctx, cmd: ExportCommand) -> anyhow::Result<ExitCode> {
    let ExportCommand::Observations { period, format, history, output } = cmd;
    let app = super::open_app(ctx).await?;
    let rows = app.wh.observations(&app.catalog.plan.id, period, history).await?;
    let mut table = Table::new(
        "Số liệu",
        &[
            "period",
            "item",
            "measure",
            "agency",
            "kind",
            "value",
            "raw_text",
            "note",
            "source",
            "file",
            "sha256",
            "location",
            "loaded_at",
            "superseded_at",
        ],
    );
    for r in &rows {
        let (kind, value) = match r.value {
            chiso::domain::Value::Percent(v) => ("percent", v.to_string()),
            chiso::domain::Value::Count(v) => ("count", v.to_string()),
            chiso::domain::Value::Status(p) => ("status", p.as_str().to_string()),
        };
        table.push(vec![
            r.period.to_string(),
            r.item.clone(),
            r.measure.clone(),
            r.agency_id.to_string(),
            kind.into(),
            value,
            r.raw_text.clone(),
            r.note.clone().unwrap_or_default(),
            r.source_id.clone(),
            r.file_name.clone(),
            r.sha256.clone(),
            r.location.clone(),
            r.loaded_at.to_rfc3339(),
            r.superseded_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
        ]);
    }
    emit(
        &table,
        format,
        || serde_json::to_string_pretty(&rows),
        output,
        &format!("data/reports/observations-{period}.xlsx"),
    )?;
    app.wh.close().await;
    Ok(ExitCode::SUCCESS)
}

/// Values already in the warehouse, for pre-filling a workbook.
struct Known(std::collections::HashMap<(String, String, Period), chiso::domain::Value>);

impl chiso::report::template::KnownValues for Known {
    fn value(&self, item: chiso::domain::ItemKey, measure: &str, period: Period) -> Option<chiso::domain::Value> {
        self.0.get(&(item.to_string(), measure.to_string(), period)).copied()
    }
}

pub async fn known_values(
    app: &Context,
    agency: &AgencyId,
    period: Period,
) -> anyhow::Result<impl chiso::report::template::KnownValues> {
    let mut map = std::collections::HashMap::new();
    for p in [period.prev(), period] {
        for ((item, measure), v) in app.wh.agency_values(&app.catalog.plan.id, agency, p).await? {
            map.insert((item, measure, p), v);
        }
    }
    Ok(Known(map))
}

pub async fn template(ctx: &Ctx, agency: &str, period: Period, output: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let app = super::open_app(ctx).await?;
    let agency = super::resolve_agency(&app.dir, agency)?;
    let known = known_values(&app, &agency, period).await?;
    // As in the workbook a reminder attaches: named items first, group items apart (all of
    // them: an agency asking for its form may report any item it answers for).
    let own = chiso::remind::plan::OwnItems::new(&app.catalog, &app.dir);
    let spec =
        chiso::report::template::build_spec(&app.catalog, &app.dir, &app.settings.calendar, &agency, period, &known)
            .split_group(
                |item| !own.is_own_item(item, &agency),
                |_| true,
                |items| own.title_of(&app.dir, items.iter().map(|i| (*i, Some(agency.clone())))),
            );
    let bytes = chiso::report::template::write(&spec).context(super::texts::WORKBOOK_NOT_WRITTEN)?;
    let out = output.unwrap_or_else(|| PathBuf::from(format!("data/templates/{agency}-{period}.xlsx")));
    super::write_file(&out, &bytes)?;
    println!(
        "{} — {}: {} chỉ tiêu chủ trì, {} chỉ tiêu trong phần nhiệm vụ chung, {} chỉ tiêu phối hợp → {}",
        spec.agency_name,
        period.vi(),
        spec.lead.len(),
        spec.group.len(),
        spec.co.len(),
        out.display()
    );
    app.wh.close().await;
    Ok(ExitCode::SUCCESS)
}
