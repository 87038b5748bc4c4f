//! `chiso inspect FILE`: how chiso reads a file, row by row, storing nothing. The operator's
//! tool for adapting chiso to a new layout: the sheet chosen and why, the header rows and
//! each column's role (with the source's mapping applied), where the agency and the period
//! were found, then every data row with its item, the evidence for it, and its outcome.
//!
//! Owns: `InspectArgs`, `inspect` and `render` (the row-by-row text). Receives: the
//! arguments from `cli`; the catalogue, directory and sources from `app::load_catalog` and
//! `app::load_sources`. Hands on: the file's bytes and a `ingest::FileSpec` to
//! `ingest::parse_file_scoped` (under `ingest::guarded`), and its `ingest::FileSummary` and
//! `Normalized` items, as text, to the terminal.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;

use chiso::domain::Period;
use chiso::ingest::normalize::Normalized;
use chiso::ingest::{FileSpec, FileSummary, ParseOptions, Reference};

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Tệp cần xem (xlsx, xls, xlsb, ods).
    pub file: PathBuf,
    /// Kỳ báo cáo đọc theo; bỏ trống để đọc mọi kỳ có trong tệp (như khi nạp bù).
    #[arg(long)]
    pub period: Option<Period>,
    /// Đơn vị báo cáo; bỏ trống để đọc từ tệp (tiêu đề, chữ ký, tên tệp).
    #[arg(long)]
    pub agency: Option<String>,
    /// Nguồn trong config/sources.toml có cấu hình đọc (mapping) và đơn vị của tệp.
    #[arg(long)]
    pub source: Option<String>,
    /// `json` cho máy đọc.
    #[arg(long, value_enum, default_value_t)]
    pub format: super::collect::TableFormat,
}

pub fn inspect(ctx: &super::Ctx, args: InspectArgs) -> anyhow::Result<ExitCode> {
    let (dir, catalog) = chiso::app::load_catalog(&ctx.settings).context(super::texts::CATALOG_UNUSABLE)?;
    let bytes = super::read_input(&args.file)?;
    let mut mapping = Default::default();
    let mut agency = args.agency.as_deref().map(|a| super::resolve_agency(&dir, a)).transpose()?;
    if let Some(id) = &args.source {
        let sources = chiso::app::load_sources(&ctx.settings, &dir).context(super::texts::SOURCES_UNUSABLE)?;
        let Some(source) = sources.into_iter().find(|s| s.id == *id) else {
            anyhow::bail!(super::Failed { code: 2, message: super::texts::unknown_source(id) });
        };
        mapping = source.mapping;
        agency = agency.or(source.agency);
    }
    if let Some(a) = &agency
        && dir.get(a).is_none()
    {
        anyhow::bail!(super::Failed {
            code: 2,
            message: super::texts::unknown_agency(a.as_str(), &chiso::messages::catalog::unknown_agency(a.as_str()))
        });
    }
    let calendar = ctx.settings.calendar;
    let period = args.period.unwrap_or_else(|| calendar.reporting_period(chrono::Utc::now()));
    let name =
        args.file.file_name().map_or_else(|| args.file.display().to_string(), |n| n.to_string_lossy().into_owned());
    let spec = FileSpec { file_name: name.clone(), mapping, agency, period };
    let assignments = chiso::catalog::assign::Assignments::new(&catalog, &dir, period.year(), calendar.cutoff(period));
    let options = ParseOptions { backfill: args.period.is_none().then_some(calendar), trace: true };
    let summary = chiso::ingest::guarded(&spec, || {
        chiso::ingest::parse_file_scoped(
            Arc::from(bytes),
            &spec,
            options,
            Reference { catalog: &catalog, dir: &dir, assignments: &assignments },
            &mut |n| drop::<Normalized>(n),
        )
    });
    if matches!(args.format, super::collect::TableFormat::Json) {
        println!("{}", serde_json::to_string_pretty(&summary)?);
        return Ok(ExitCode::SUCCESS);
    }
    print!("{}", render(&name, args.period, &summary, &dir));
    Ok(if summary.file_reject.is_some() { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn role_vi(role: Option<&str>) -> &'static str {
    match role {
        Some("item") => "STT",
        Some("plan_item") => "số chỉ tiêu theo kế hoạch",
        Some("task") => "nội dung nhiệm vụ",
        Some("value") => "kết quả",
        Some("note") => "ghi chú",
        Some("uom") => "đơn vị tính",
        Some("unit_code") => "mã đơn vị",
        Some("unit_name") => "tên đơn vị",
        Some("district") => "huyện",
        Some("period") => "kỳ báo cáo",
        Some("year") => "năm",
        Some("quarter") => "quý",
        Some("month") => "tháng",
        Some("other") => "khác (không đọc)",
        Some(_) => "khác",
        None => "",
    }
}

fn outcome_vi(o: &str) -> &'static str {
    match o {
        "stored" => "lưu",
        "held" => "giữ lại",
        "refused" => "từ chối",
        _ => "bỏ qua",
    }
}

/// The report an operator reads.
pub fn render(name: &str, period: Option<Period>, s: &FileSummary, dir: &chiso::catalog::Directory) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let format = s.format.map_or("?", |f| f.as_str());
    let _ = writeln!(out, "Tệp: {name} ({format}) — chỉ xem, không lưu gì vào kho dữ liệu");
    if let Some(r) = &s.file_reject {
        let _ = writeln!(out, "Tệp bị từ chối [{}]: {}", r.code, r.message);
    }
    if s.kind == Some("template") {
        let _ = writeln!(out, "Mẫu báo cáo của chiso (đọc theo mã ẩn, không cần cấu hình)");
    }
    if let Some(sheet) = &s.sheet {
        let _ = writeln!(out, "Trang: “{sheet}” — {}", s.sheet_reason.as_deref().unwrap_or("trang có bảng số liệu"));
    }
    let by_row = s.agency.is_none() && s.agency_found_in.as_deref() == Some("cột đơn vị");
    let agency = s.agency.as_ref().map_or_else(
        || if by_row { "theo từng dòng".to_string() } else { "chưa xác định".to_string() },
        |a| format!("{} ({a})", dir.get(a).map_or(a.as_str(), |x| x.name.as_str())),
    );
    let _ = writeln!(
        out,
        "Đơn vị báo cáo: {agency}{}",
        s.agency_found_in.as_deref().map_or_else(String::new, |w| format!(" — tìm thấy ở: {w}"))
    );
    let _ = writeln!(
        out,
        "Kỳ báo cáo: {}{}",
        period.map_or_else(|| "mọi kỳ có trong tệp (nạp bù)".to_string(), |p| p.vi()),
        s.period_found_in.as_deref().map_or_else(String::new, |w| format!(" — tệp ghi ở: {w}"))
    );
    for (i, t) in s.tables.iter().enumerate() {
        let rows = match (t.header_rows.first(), t.header_rows.last()) {
            (Some(a), Some(b)) if a != b => format!("dòng {a}–{b}"),
            (Some(a), _) => format!("dòng {a}"),
            _ => String::new(),
        };
        let kind = if t.cooperation { " (nhiệm vụ phối hợp)" } else { "" };
        let _ = writeln!(out, "\nBảng {}{kind} — tiêu đề ở {rows}", i + 1);
        let mut table = comfy_table::Table::new();
        table.load_style(comfy_table::presets::UTF8_FULL_CONDENSED);
        table.set_header(["Cột", "Tiêu đề", "Vai trò", "Đơn vị"]);
        for c in &t.columns {
            let unit = match c.unit {
                Some("percent") => "%",
                Some("count") => "số lượng",
                _ => "",
            };
            table.add_row([c.letter.clone(), c.path.join(" › "), role_vi(c.role).to_string(), unit.to_string()]);
        }
        let _ = writeln!(out, "{table}");
    }
    if !s.trace.is_empty() {
        let _ = writeln!(out, "\nCác dòng:");
        let mut table = comfy_table::Table::new();
        table.load_style(comfy_table::presets::UTF8_FULL_CONDENSED);
        table.set_header(["Ô", "STT", "Nội dung", "Ghi", "Kết quả", "Chỉ tiêu", "Căn cứ / lý do"]);
        for r in &s.trace {
            let item = match (&r.item, r.period, period) {
                (Some(i), Some(p), None) => format!("{i} ({p})"),
                (Some(i), _, _) => i.clone(),
                (None, _, _) => String::new(),
            };
            let why = match r.evidence {
                Some(e) => format!("{} — {e}", r.detail),
                None => r.detail.clone(),
            };
            table.add_row([
                r.location.clone(),
                r.numbers.clone(),
                r.task.clone(),
                r.value.clone(),
                outcome_vi(r.outcome).to_string(),
                item,
                why,
            ]);
        }
        let _ = writeln!(out, "{table}");
    }
    let count = |o: &str| s.trace.iter().filter(|r| r.outcome == o).count();
    let _ = writeln!(
        out,
        "\nTổng: {} dòng đọc — {} lưu, {} giữ lại chờ xem xét, {} từ chối, {} bỏ qua; dòng không phải số liệu: {} (chân trang, chữ ký {}; dòng tổng {}; tiêu đề mục {}; tiêu đề lặp lại {})",
        s.trace.len(),
        count("stored"),
        count("held"),
        count("refused"),
        count("skipped"),
        s.skipped.total(),
        s.skipped.footer,
        s.skipped.totals,
        s.skipped.sections,
        s.skipped.headers
    );
    out
}
