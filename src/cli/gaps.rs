//! `chiso evaluate` and `chiso gaps`.
//!
//! Owns: `GapsArgs`, `GapFormat`, `evaluate`, `gaps` and their printing (`print_summary`,
//! `print_table`, `sort_by_severity`). Receives: the arguments from `cli`, the
//! `app::Context`; `warehouse::StoredGap`s from the warehouse. Hands on: an
//! `EvaluateRequest` to `jobs::evaluate::evaluate`; the gap rows as a table to the
//! terminal, as CSV through `report::export`, or as xlsx through `report::gap_table`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, ValueEnum};

use super::Ctx;
use chiso::app::Context;
use chiso::domain::gap::RowOwner;
use chiso::domain::number::format_vi;
use chiso::domain::{Period, Section, Value};
use chiso::evaluate::Status;
use chiso::jobs::evaluate::{EvaluateReport, EvaluateRequest};
use chiso::report::gap_table::HEADERS;
use chiso::warehouse::{StoredGap, Trigger};

#[derive(Debug, Clone, Copy, Default, ValueEnum)]
pub enum GapFormat {
    #[default]
    Table,
    Csv,
    Json,
    Xlsx,
}

#[derive(Debug, Args)]
pub struct GapsArgs {
    /// Quý: 2024-Q2, Q2/2024, Quý II/2024 …
    #[arg(long)]
    pub period: Period,
    /// Chỉ các dòng của cơ quan này (mã, tên hoặc tên gọi khác).
    #[arg(long)]
    pub agency: Option<String>,
    /// Chỉ các trạng thái này (cách nhau bằng dấu phẩy): overdue (quá hạn), lagging (chậm),
    /// missing (chưa báo cáo), refused (số liệu bị từ chối), at_risk (có nguy cơ), not_due (chưa
    /// đến hạn), on_track (đúng tiến độ), done (hoàn thành), not_applicable (không áp dụng).
    #[arg(long, value_delimiter = ',')]
    pub status: Vec<String>,
    /// Chỉ một lĩnh vực: I, II, III hoặc tên của lĩnh vực (Kinh tế số, digital_economy).
    #[arg(long)]
    pub section: Option<String>,
    /// table cho người đọc; csv, json, xlsx cho công cụ khác.
    #[arg(long, value_enum, default_value_t)]
    pub format: GapFormat,
    /// Nơi ghi tệp xlsx (mặc định data/reports/gaps-KỲ.xlsx).
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Bảng như ngay sau lần đánh giá này (số lần chạy, xem `chiso runs list`).
    #[arg(long, value_name = "LẦN_CHẠY")]
    pub as_of: Option<i64>,
    /// Số dòng hiện trong bảng (csv, json và xlsx luôn có mọi dòng).
    #[arg(long, default_value_t = 60)]
    pub limit: usize,
}

pub async fn evaluate(
    ctx: &Ctx,
    period: Period,
    at: Option<chrono::DateTime<chrono::Utc>>,
    operator: Option<String>,
) -> anyhow::Result<ExitCode> {
    let app = super::open_app(ctx).await?;
    let req = EvaluateRequest { now: at, replay: at.is_some(), ..EvaluateRequest::new(period, Trigger::Cli, operator) };
    let report = chiso::jobs::evaluate::evaluate(&app, &req).await?;
    print_summary(&report);
    if req.replay {
        println!(
            "Đánh giá lại tại thời điểm đã chọn, lưu riêng: xem bằng `chiso gaps --period {period} --as-of {}`; bảng hiện hành không đổi",
            report.run_id
        );
    }
    app.wh.close().await;
    Ok(ExitCode::SUCCESS)
}

pub fn print_summary(report: &EvaluateReport) {
    println!(
        "Đánh giá {} ({}) — lần chạy #{}: {} dòng ({} mới, {} thay đổi, {} không đổi, {} bỏ)",
        report.period.vi(),
        report.period,
        report.run_id,
        report.rows.len(),
        report.counts.new,
        report.counts.changed,
        report.counts.unchanged,
        report.counts.gone
    );
    let mut table = comfy_table::Table::new();
    table.load_style(comfy_table::presets::UTF8_FULL_CONDENSED);
    let mut header = vec!["Lĩnh vực".to_string()];
    header.extend(Status::ALL.iter().map(|s| s.vi().to_string()));
    table.set_header(header);
    for (section, counts) in &report.by_section {
        let mut row = vec![format!("{}. {}", section.roman(), section.vi())];
        row.extend(Status::ALL.iter().map(|s| counts.get(s).copied().unwrap_or(0).to_string()));
        table.add_row(row);
    }
    let total = report.by_status();
    let mut row = vec!["Cộng".to_string()];
    row.extend(Status::ALL.iter().map(|s| total.get(s).copied().unwrap_or(0).to_string()));
    table.add_row(row);
    println!("{table}");
}

fn show_value(v: &Value) -> String {
    v.vi()
}

fn show_number(v: Option<f64>, percent: bool) -> String {
    match v {
        None => String::new(),
        Some(x) if percent => format!("{}%", format_vi(x, 1)),
        Some(x) => format_vi(x, 1),
    }
}

/// Rows in order of severity, then by how far behind.
pub fn sort_by_severity(rows: &mut [StoredGap]) {
    rows.sort_by(|a, b| {
        a.status
            .cmp(&b.status)
            .then_with(|| b.gap.unwrap_or(f64::MIN).total_cmp(&a.gap.unwrap_or(f64::MIN)))
            .then_with(|| (a.number, a.sub, &a.agency).cmp(&(b.number, b.sub, &b.agency)))
    });
}

fn agency_label(app: &Context, owner: &RowOwner) -> String {
    match owner {
        RowOwner::Province => "Toàn tỉnh".into(),
        RowOwner::Agency(id) => app.dir.get(id).map_or_else(|| id.to_string(), |a| a.label().to_string()),
    }
}

fn shorten(s: &str, n: usize) -> String {
    if s.chars().count() <= n { s.to_string() } else { format!("{}…", s.chars().take(n).collect::<String>()) }
}

fn cells(app: &Context, g: &StoredGap, short: bool) -> Vec<String> {
    let percent = matches!(g.actual, Some(Value::Percent(_))) || g.target.contains('%');
    let item = if g.measure.is_empty() { g.item.clone() } else { format!("{} ({})", g.item, g.measure) };
    let task = if short { shorten(&g.task, 48) } else { g.task.clone() };
    let target = if short { shorten(&g.target.replace('\n', " "), 24) } else { g.target.clone() };
    vec![
        item,
        task,
        agency_label(app, &g.agency),
        target,
        show_number(g.expected, percent),
        g.actual.as_ref().map(show_value).unwrap_or_default(),
        show_number(g.gap.filter(|x| *x > 0.0), percent),
        show_number(g.pace.filter(|x| *x > 0.0), percent),
        g.status.vi().to_string(),
        g.reason.clone(),
        g.valid_from_run.to_string(),
    ]
}

pub async fn gaps(ctx: &Ctx, args: GapsArgs) -> anyhow::Result<ExitCode> {
    let app = super::open_app(ctx).await?;
    let mut statuses = Vec::new();
    for s in &args.status {
        statuses.push(Status::parse(s.trim()).ok_or_else(|| super::Failed {
            code: 2,
            message: format!(
                "`{s}` is not a status (overdue, lagging, missing, refused, at_risk, not_due, on_track, done, not_applicable)"
            ),
        })?);
    }
    let section = match &args.section {
        Some(s) => Some(
            Section::parse(s)
                .ok_or_else(|| super::Failed { code: 2, message: format!("`{s}` is not a section (I, II, III)") })?,
        ),
        None => None,
    };
    let agency = args.agency.as_deref().map(|a| super::resolve_agency(&app.dir, a)).transpose()?;
    if let Some(id) = args.as_of {
        let known = app.wh.run(id).await?;
        if !known.as_ref().is_some_and(|r| r.job == "evaluate" && r.period == Some(args.period)) {
            anyhow::bail!(super::Failed {
                code: 2,
                message: super::texts::unknown_as_of(id, &args.period.to_string()),
            });
        }
    }
    let mut rows = app.wh.gaps(&app.catalog.plan.id, args.period, args.as_of).await?;
    if rows.is_empty() {
        println!("Chưa có kết quả đánh giá {}: chạy `chiso evaluate --period {}`", args.period.vi(), args.period);
        app.wh.close().await;
        return Ok(ExitCode::from(1));
    }
    rows.retain(|g| agency.as_ref().is_none_or(|a| g.agency.agency() == Some(a)));
    rows.retain(|g| statuses.is_empty() || statuses.contains(&g.status));
    rows.retain(|g| section.is_none_or(|s| g.section == s));
    sort_by_severity(&mut rows);
    match args.format {
        GapFormat::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
        GapFormat::Csv => {
            let mut table = chiso::report::export::Table::new(
                "Tiến độ",
                &[
                    "item",
                    "measure",
                    "task",
                    "agency",
                    "agency_name",
                    "kind",
                    "target",
                    "expected",
                    "actual",
                    "gap",
                    "pace",
                    "status",
                    "status_vi",
                    "reason",
                    "run",
                ],
            );
            for g in &rows {
                let c = cells(&app, g, false);
                table.push(vec![
                    g.item.clone(),
                    g.measure.clone(),
                    g.task.clone(),
                    g.agency.to_string(),
                    c[2].clone(),
                    g.kind.as_str().to_string(),
                    g.target.clone(),
                    g.expected.map(|x| x.to_string()).unwrap_or_default(),
                    g.actual.map(|v| v.to_string()).unwrap_or_default(),
                    g.gap.map(|x| x.to_string()).unwrap_or_default(),
                    g.pace.map(|x| x.to_string()).unwrap_or_default(),
                    g.status.as_str().to_string(),
                    g.status.vi().to_string(),
                    g.reason.clone(),
                    g.valid_from_run.to_string(),
                ]);
            }
            chiso::report::export::write_csv(std::io::stdout().lock(), &table)?;
        }
        GapFormat::Xlsx => {
            let out =
                args.output.clone().unwrap_or_else(|| PathBuf::from(format!("data/reports/gaps-{}.xlsx", args.period)));
            let bytes = write_xlsx(&app, args.period, &rows).context(super::texts::WORKBOOK_NOT_WRITTEN)?;
            super::write_file(&out, &bytes)?;
            println!("{} dòng → {}", rows.len(), out.display());
        }
        GapFormat::Table => {
            print_table(&app, args.period, &rows, args.limit);
        }
    }
    app.wh.close().await;
    Ok(ExitCode::SUCCESS)
}

pub fn print_table(app: &Context, period: Period, rows: &[StoredGap], limit: usize) {
    let mut table = comfy_table::Table::new();
    table.load_style(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
    table.set_header(&HEADERS[..10]);
    for g in rows.iter().take(limit) {
        let mut c = cells(app, g, true);
        c.truncate(10);
        table.add_row(c);
    }
    println!(
        "Bảng tiến độ {} — {} dòng{}",
        period.vi(),
        rows.len(),
        if rows.len() > limit { format!(" (hiện {limit} dòng nặng nhất)") } else { String::new() }
    );
    println!("{table}");
}

fn write_xlsx(app: &Context, period: Period, rows: &[StoredGap]) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    chiso::report::gap_table::write_xlsx(&app.catalog.plan.symbol, period, rows, &|id| agency_label(app, id))
}
