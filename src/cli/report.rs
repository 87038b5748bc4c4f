//! `chiso report`: the quarter's report from the stored evaluation (reads only).
//!
//! Owns: `ReportArgs`, `ReportFormat` and `report`. Receives: the arguments from `cli`, the
//! `app::Context` through `open_app`. Hands on: the `report::quarterly::ReportInput` to
//! `report::quarterly::load`, its `QuarterReport` to `report::quarterly::write_xlsx` or
//! `report::docx::write_docx`, and the bytes to a file.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, ValueEnum};

use super::Ctx;
use chiso::domain::Period;
use chiso::report::docx::{ReportTemplate, write_docx};
use chiso::report::quarterly::{ReportError, Scope, load, write_xlsx};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Bảng tính: Tổng hợp, Theo đơn vị, Theo chỉ tiêu, biểu đồ.
    #[default]
    Xlsx,
    /// Dự thảo báo cáo bằng văn bản (Word).
    Docx,
    /// Cả hai.
    All,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Quý báo cáo: 2024-Q2, Q2/2024, Quý II/2024 …
    #[arg(long)]
    pub period: Period,
    /// Tệp cần ghi.
    #[arg(long, value_enum, default_value_t)]
    pub format: ReportFormat,
    /// Thư mục ghi tệp.
    #[arg(long, default_value = "data/reports")]
    pub out: PathBuf,
    /// Báo cáo của một huyện về các xã, thị trấn của huyện (ví dụ h_long_ho).
    #[arg(long)]
    pub agency: Option<String>,
}

pub async fn report(ctx: &Ctx, args: ReportArgs) -> anyhow::Result<ExitCode> {
    let app = super::open_app(ctx).await?;
    let scope = match &args.agency {
        None => Scope::Province,
        Some(id) => {
            Scope::district(&app.dir, id, args.period).map_err(|e| super::Failed { code: 2, message: e.to_string() })?
        }
    };
    // The template is checked before anything is written.
    let template = match args.format {
        ReportFormat::Xlsx => None,
        ReportFormat::Docx | ReportFormat::All => Some(
            ReportTemplate::load(&app.settings.remind.templates)
                .map_err(|e| super::Failed {
                    code: 2, message: format!("mẫu báo cáo không dùng được: {e}")
                })?,
        ),
    };
    let report = match load(&app.report_input(), args.period, scope).await {
        Ok(r) => r,
        Err(e @ ReportError::NotEvaluated(..)) => {
            println!("{}", capitalize(&e.to_string()));
            app.wh.close().await;
            return Ok(ExitCode::from(1));
        }
        Err(e) => return Err(e).context("không đọc được kết quả đánh giá"),
    };
    app.wh.close().await;
    std::fs::create_dir_all(&args.out).with_context(|| format!("không tạo được thư mục {}", args.out.display()))?;
    let mut written = Vec::new();
    if matches!(args.format, ReportFormat::Xlsx | ReportFormat::All) {
        let path = args.out.join(format!("{}.xlsx", report.file_stem()));
        let bytes = write_xlsx(&report).context("không ghi được bảng tính")?;
        std::fs::write(&path, bytes).with_context(|| format!("không ghi được {}", path.display()))?;
        written.push(path);
    }
    if let Some(template) = template {
        let path = args.out.join(format!("{}.docx", report.file_stem()));
        // Dated in the year the report is due (the fourth quarter's is sent in January).
        let issue_year = chrono::Datelike::year(&app.settings.calendar.due_date(args.period));
        let bytes = write_docx(&report, &template, issue_year).context("không ghi được văn bản")?;
        std::fs::write(&path, bytes).with_context(|| format!("không ghi được {}", path.display()))?;
        written.push(path);
    }
    println!(
        "Báo cáo {} — {}: {} chỉ tiêu, {} đơn vị chủ trì, đánh giá đến lần chạy #{}",
        report.period.vi(),
        report.scope_name(),
        report.indicators.len(),
        report.agencies.len(),
        report.as_of_run
    );
    for p in written {
        println!("Đã ghi {}", p.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}
