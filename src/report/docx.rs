//! The draft written report (`Báo cáo kết quả thực hiện Kế hoạch … Quý II/2024`), as a
//! Word document in the layout of Vietnamese administrative documents (Nghị định
//! 30/2020/NĐ-CP): the issuing agency beside the national motto, `Số: …/BC-…`, place and
//! date, the title, numbered sections, the signature block and `Nơi nhận`.
//!
//! The figures and the tables of lagging agencies and indicators come from the
//! evaluation ([`QuarterReport`]); the heading lines and the narrative paragraphs come from
//! a template the operator edits (`config/templates/report/report.toml`, every string a
//! minijinja template), and are left for the department to complete and sign.
//!
//! Owns: `ReportTemplate` (with `TEMPLATE_FILE` and `EMBEDDED`), `write_docx`, `title` and
//! `DocxError`. Receives: a `quarterly::QuarterReport` and the operator's template (under
//! the remind settings' templates directory) from `cli::report` and `serve::dashboard`.
//! Hands on: docx bytes to `cli::report` and `serve::dashboard`; `ReportTemplate::load`
//! also to `cli`'s `chiso config check`.

use std::path::Path;

use docx_rs::{
    AlignmentType, Docx, Footer, LineSpacing, PageMargin, PageNum, Paragraph, Run, RunFonts, Shading, Table, TableCell,
    TableRow, WidthType,
};
use serde::{Deserialize, Serialize};

use super::Bucket;
use super::quarterly::{Figures, QuarterReport, Scope};
use crate::domain::Section;
use crate::domain::number::format_vi;

/// The template's file name inside the templates folder.
pub const TEMPLATE_FILE: &str = "report/report.toml";

/// The shipped template, built in.
pub const EMBEDDED: &str = include_str!("../../config/templates/report/report.toml");

/// Why the document cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum DocxError {
    #[error("không đọc được mẫu báo cáo {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("mẫu báo cáo {path} không hợp lệ: {message}")]
    Invalid { path: String, message: String },
    #[error("mục `{field}` của mẫu báo cáo không hiển thị được: {source}")]
    Render { field: String, source: minijinja::Error },
    #[error("không đóng gói được văn bản: {0}")]
    Pack(String),
}

/// The operator's template: every string is rendered with minijinja.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReportTemplate {
    /// The body above the issuer (`UBND TỈNH VĨNH LONG`); may render empty.
    pub parent: String,
    /// The issuing agency, upper case.
    pub issuer: String,
    /// The issuer's abbreviation in the number (`Số: …/BC-STTTT`).
    pub code: String,
    pub place: String,
    /// Paragraphs (blank-line separated) opening section I.
    pub intro: String,
    /// Section II.
    pub assessment: String,
    /// Section III.
    pub next_steps: String,
    /// Section IV.
    pub proposals: String,
    /// The signer's title (`GIÁM ĐỐC`).
    pub signer: String,
    pub recipients: Vec<String>,
}

impl ReportTemplate {
    pub fn from_toml(text: &str, path: &str) -> Result<Self, DocxError> {
        toml::from_str(text).map_err(|e| DocxError::Invalid { path: path.to_string(), message: e.to_string() })
    }

    /// The template in a templates folder (`config/templates`); the one built in when the
    /// default folder is absent (outside a checkout), as for the reminder templates.
    pub fn load(templates_dir: &Path) -> Result<Self, DocxError> {
        let path = templates_dir.join(TEMPLATE_FILE);
        if !templates_dir.exists() && templates_dir == Path::new("config/templates") {
            return Self::from_toml(EMBEDDED, "(built in)");
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|source| DocxError::Read { path: path.display().to_string(), source })?;
        let template = Self::from_toml(&text, &path.display().to_string())?;
        template.check(&path.display().to_string())?;
        Ok(template)
    }

    /// Every string is a template minijinja can compile.
    pub fn check(&self, path: &str) -> Result<(), DocxError> {
        let env = minijinja::Environment::new();
        let fields = [
            ("parent", &self.parent),
            ("issuer", &self.issuer),
            ("code", &self.code),
            ("place", &self.place),
            ("intro", &self.intro),
            ("assessment", &self.assessment),
            ("next_steps", &self.next_steps),
            ("proposals", &self.proposals),
            ("signer", &self.signer),
        ];
        for (field, text) in fields.into_iter().chain(self.recipients.iter().map(|r| ("recipients", r))) {
            env.template_from_str(text)
                .map_err(|e| DocxError::Invalid { path: path.to_string(), message: format!("`{field}`: {e}") })?;
        }
        Ok(())
    }
}

/// What the template's strings see.
#[derive(Debug, Serialize)]
struct TemplateContext<'a> {
    plan: &'a str,
    period: PeriodView,
    next_period: PeriodView,
    /// The district's name for a district's report, else empty.
    district: String,
    scope: &'a str,
    figures: FigureView,
    previous: Option<FigureView>,
    lagging_agencies: usize,
    lagging_indicators: usize,
}

#[derive(Debug, Serialize)]
struct PeriodView {
    vi: String,
    code: String,
    year: i32,
    quarter: u8,
}

impl PeriodView {
    fn of(p: crate::domain::Period) -> Self {
        Self { vi: p.vi(), code: p.to_string(), year: p.year(), quarter: p.quarter() }
    }
}

/// A quarter's figures as the text reads them (`68,4%`).
#[derive(Debug, Serialize)]
struct FigureView {
    judged: usize,
    good: usize,
    at_risk: usize,
    lagging: usize,
    missing: usize,
    share: String,
    on_time: Option<usize>,
    late: Option<usize>,
    not_reported: Option<usize>,
}

fn share_vi(x: Option<f64>) -> String {
    x.map_or_else(|| "—".to_string(), |x| format!("{}%", format_vi(x * 100.0, 1)))
}

impl FigureView {
    fn of(f: &Figures) -> Self {
        let total = f.total();
        Self {
            judged: Figures::judged_in(&total),
            good: Figures::bucket_in(&total, Bucket::Good),
            at_risk: Figures::bucket_in(&total, Bucket::AtRisk),
            lagging: Figures::bucket_in(&total, Bucket::Lagging),
            missing: Figures::bucket_in(&total, Bucket::Missing),
            share: share_vi(f.share()),
            on_time: f.timeliness.map(|t| t.on_time),
            late: f.timeliness.map(|t| t.late),
            not_reported: f.timeliness.map(|t| t.none),
        }
    }
}

/// The template's strings rendered for one report.
struct Rendered {
    parent: String,
    issuer: String,
    code: String,
    place: String,
    intro: String,
    assessment: String,
    next_steps: String,
    proposals: String,
    signer: String,
    recipients: Vec<String>,
}

fn render(t: &ReportTemplate, report: &QuarterReport) -> Result<Rendered, DocxError> {
    let ctx = TemplateContext {
        plan: &report.plan_symbol,
        period: PeriodView::of(report.period),
        next_period: PeriodView::of(report.period.next()),
        district: match &report.scope {
            Scope::Province => String::new(),
            Scope::District { name, .. } => name.clone(),
        },
        scope: report.scope_name(),
        figures: FigureView::of(&report.current),
        previous: report.previous.as_ref().map(FigureView::of),
        lagging_agencies: report.lagging_agencies().len(),
        lagging_indicators: report.lagging_indicators().len(),
    };
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    let one = |field: &str, text: &str| {
        env.render_str(text, minijinja::value::Serde(&ctx))
            .map(|s| s.trim().to_string())
            .map_err(|source| DocxError::Render { field: field.to_string(), source })
    };
    Ok(Rendered {
        parent: one("parent", &t.parent)?,
        issuer: one("issuer", &t.issuer)?,
        code: one("code", &t.code)?,
        place: one("place", &t.place)?,
        intro: one("intro", &t.intro)?,
        assessment: one("assessment", &t.assessment)?,
        next_steps: one("next_steps", &t.next_steps)?,
        proposals: one("proposals", &t.proposals)?,
        signer: one("signer", &t.signer)?,
        recipients: t
            .recipients
            .iter()
            .map(|r| one("recipients", r))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .filter(|r| !r.is_empty())
            .collect(),
    })
}

const FONT: &str = "Times New Roman";
/// Body text, in half-points (14 pt).
const BODY: usize = 28;
const TABLE_TEXT: usize = 22;
/// A4 in twentieths of a point.
const A4: (u32, u32) = (11_906, 16_838);
/// The text width: A4 less 3 cm left and 2 cm right margins.
const TEXT_WIDTH: usize = 11_906 - 1_701 - 1_134;

fn run(text: &str, size: usize) -> Run {
    Run::new().add_text(text).size(size).fonts(RunFonts::new().ascii(FONT).hi_ansi(FONT).cs(FONT).east_asia(FONT))
}

fn centered(text: &str, size: usize, bold: bool, italic: bool) -> Paragraph {
    let mut r = run(text, size);
    if bold {
        r = r.bold();
    }
    if italic {
        r = r.italic();
    }
    Paragraph::new().add_run(r).align(AlignmentType::Center)
}

/// A body paragraph: justified, first line indented, 6 pt after.
fn body(text: &str) -> Paragraph {
    Paragraph::new()
        .add_run(run(text, BODY))
        .align(AlignmentType::Both)
        .indent(None, Some(docx_rs::SpecialIndentType::FirstLine(567)), None, None)
        .line_spacing(LineSpacing::new().after(120))
}

fn heading(text: &str) -> Paragraph {
    Paragraph::new()
        .add_run(run(text, BODY).bold())
        .align(AlignmentType::Both)
        .indent(None, Some(docx_rs::SpecialIndentType::FirstLine(567)), None, None)
        .line_spacing(LineSpacing::new().before(120).after(120))
        .keep_next(true)
}

/// The template's text: one paragraph per blank-line-separated block.
fn paragraphs(text: &str) -> Vec<Paragraph> {
    text.split("\n\n")
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|p| !p.is_empty())
        .map(|p| body(&p))
        .collect()
}

fn cell(paragraphs: Vec<Paragraph>, width: usize) -> TableCell {
    paragraphs.into_iter().fold(TableCell::new().width(width, WidthType::Dxa), TableCell::add_paragraph)
}

fn table_cell(text: &str, width: usize, head: bool, fill: Option<&str>) -> TableCell {
    let mut r = run(text, TABLE_TEXT);
    if head {
        r = r.bold();
    }
    let p = Paragraph::new().add_run(r).align(if head { AlignmentType::Center } else { AlignmentType::Left });
    let c = cell(vec![p], width);
    match fill.or(head.then_some("D9E1F2")) {
        Some(color) => c.shading(Shading::new().fill(color.trim_start_matches('#'))),
        None => c,
    }
}

/// A bordered table with a header row; column widths in twentieths of a point.
fn data_table(heads: &[&str], widths: &[usize], rows: Vec<Vec<(String, Option<&'static str>)>>) -> Table {
    let mut out = vec![
        TableRow::new(heads.iter().zip(widths).map(|(h, w)| table_cell(h, *w, true, None)).collect()).cant_split(),
    ];
    for row in rows {
        out.push(
            TableRow::new(row.iter().zip(widths).map(|((t, fill), w)| table_cell(t, *w, false, *fill)).collect())
                .cant_split(),
        );
    }
    Table::new(out).set_grid(widths.to_vec()).width(TEXT_WIDTH, WidthType::Dxa)
}

/// The heading block: issuer on the left, national motto on the right, each with its
/// number or place and date beneath.
fn heading_block(r: &Rendered, issue_year: i32) -> Table {
    let left_w = 3_600;
    let right_w = TEXT_WIDTH - left_w;
    let mut left = Vec::new();
    if !r.parent.is_empty() {
        left.push(centered(&r.parent, 26, false, false));
    }
    left.push(Paragraph::new().add_run(run(&r.issuer, 26).bold().underline("single")).align(AlignmentType::Center));
    left.push(centered("", 26, false, false));
    left.push(centered(&format!("Số:       /BC-{}", r.code), 26, false, false));
    let right = vec![
        centered("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 24, true, false),
        Paragraph::new()
            .add_run(run("Độc lập - Tự do - Hạnh phúc", 26).bold().underline("single"))
            .align(AlignmentType::Center),
        centered("", 26, false, false),
        centered(&format!("{}, ngày    tháng    năm {issue_year}", r.place), 26, false, true),
    ];
    Table::without_borders(vec![TableRow::new(vec![cell(left, left_w), cell(right, right_w)])])
        .set_grid(vec![left_w, right_w])
        .width(TEXT_WIDTH, WidthType::Dxa)
}

fn signature_block(r: &Rendered) -> Table {
    let left_w = 4_800;
    let right_w = TEXT_WIDTH - left_w;
    let mut left = vec![Paragraph::new().add_run(run("Nơi nhận:", 24).bold().italic())];
    for (i, name) in r.recipients.iter().enumerate() {
        let end = if i + 1 == r.recipients.len() { "." } else { ";" };
        left.push(Paragraph::new().add_run(run(&format!("- {}{end}", name.trim_end_matches([';', '.'])), 22)));
    }
    let right = vec![
        centered(&r.signer, 26, true, false),
        centered("", 26, false, false),
        centered("", 26, false, false),
        centered("", 26, false, false),
        centered("(Ký, ghi rõ họ tên, đóng dấu)", 24, false, true),
    ];
    Table::without_borders(vec![TableRow::new(vec![cell(left, left_w), cell(right, right_w)])])
        .set_grid(vec![left_w, right_w])
        .width(TEXT_WIDTH, WidthType::Dxa)
}

/// The summary figures as sentences.
fn figures_text(report: &QuarterReport) -> Vec<String> {
    let now = FigureView::of(&report.current);
    let mut out = vec![format!(
        "{} có {} chỉ tiêu, nhiệm vụ được đánh giá: {} đúng tiến độ hoặc đã hoàn thành (tỷ lệ {}), {} có nguy cơ chậm, {} chậm tiến độ hoặc quá hạn, {} chưa có báo cáo.",
        report.period.vi(),
        now.judged,
        now.good,
        now.share,
        now.at_risk,
        now.lagging,
        now.missing
    )];
    if let Some(t) = report.current.timeliness {
        out.push(format!(
            "Về báo cáo: {} đơn vị gửi đúng hạn, {} đơn vị gửi muộn, {} đơn vị chưa báo cáo.",
            t.on_time, t.late, t.none
        ));
    }
    match &report.previous {
        Some(p) => {
            let before = FigureView::of(p);
            out.push(format!(
                "So với {}: tỷ lệ chỉ tiêu đúng tiến độ {} (quý trước {}), số chỉ tiêu chậm tiến độ hoặc quá hạn {} (quý trước {}), chưa báo cáo {} (quý trước {}).",
                report.period.prev().vi(),
                now.share,
                before.share,
                now.lagging,
                before.lagging,
                now.missing,
                before.missing
            ));
        }
        None => out.push(format!("Chưa có kết quả đánh giá {} để so sánh.", report.period.prev().vi())),
    }
    out
}

fn section_table(report: &QuarterReport) -> Table {
    let heads = ["Lĩnh vực", "Được đánh giá", "Đúng tiến độ", "Có nguy cơ", "Chậm, quá hạn", "Chưa báo cáo", "Tỷ lệ"];
    let widths = [2_471, 1_100, 1_100, 1_000, 1_100, 1_100, 1_200];
    let empty = Default::default();
    let mut rows = Vec::new();
    let mut lines: Vec<(String, std::collections::BTreeMap<crate::evaluate::Status, usize>)> = Section::ALL
        .iter()
        .map(|s| (format!("{}. {}", s.roman(), s.vi()), report.current.by_section.get(s).unwrap_or(&empty).clone()))
        .collect();
    lines.push(("Cộng".into(), report.current.total()));
    for (label, counts) in lines {
        rows.push(vec![
            (label, None),
            (Figures::judged_in(&counts).to_string(), None),
            (Figures::bucket_in(&counts, Bucket::Good).to_string(), Some(Bucket::Good.color())),
            (Figures::bucket_in(&counts, Bucket::AtRisk).to_string(), Some(Bucket::AtRisk.color())),
            (Figures::bucket_in(&counts, Bucket::Lagging).to_string(), Some(Bucket::Lagging.color())),
            (Figures::bucket_in(&counts, Bucket::Missing).to_string(), Some(Bucket::Missing.color())),
            (share_vi(Figures::share_in(&counts)), None),
        ]);
    }
    data_table(&heads, &widths, rows)
}

/// Agencies listed in the draft's table; the workbook lists them all.
pub const AGENCIES_IN_DRAFT: usize = 30;

fn agencies_table(report: &QuarterReport) -> Option<Table> {
    let mut lagging = report.lagging_agencies();
    if lagging.is_empty() {
        return None;
    }
    lagging.truncate(AGENCIES_IN_DRAFT);
    let heads = ["TT", "Đơn vị", "Số chỉ tiêu", "Chậm, quá hạn", "Có nguy cơ", "Chưa báo cáo", "Tỷ lệ đúng tiến độ"];
    let widths = [500, 3_371, 1_000, 1_100, 1_000, 1_100, 1_000];
    let rows = lagging
        .iter()
        .enumerate()
        .map(|(i, a)| {
            vec![
                ((i + 1).to_string(), None),
                (a.name.clone(), None),
                (a.rows.to_string(), None),
                (a.lagging.to_string(), (a.lagging > 0).then(|| Bucket::Lagging.color())),
                (a.at_risk.to_string(), (a.at_risk > 0).then(|| Bucket::AtRisk.color())),
                (a.missing.to_string(), (a.missing > 0).then(|| Bucket::Missing.color())),
                (share_vi(a.share), None),
            ]
        })
        .collect();
    Some(data_table(&heads, &widths, rows))
}

fn indicators_table(report: &QuarterReport) -> Option<Table> {
    let lagging = report.lagging_indicators();
    if lagging.is_empty() {
        return None;
    }
    let heads = ["Mục", "Nhiệm vụ / Chỉ tiêu", "Chỉ tiêu năm", "Trạng thái", "Lý do"];
    let widths = [700, 3_371, 1_500, 1_300, 2_200];
    let rows = lagging
        .iter()
        .map(|l| {
            let item = if l.measure.is_empty() { l.item.clone() } else { format!("{} ({})", l.item, l.measure) };
            vec![
                (item, None),
                (l.task.clone(), None),
                (l.target.clone(), None),
                (l.status.vi().to_string(), Some(Bucket::of(l.status).color())),
                (l.reason.clone(), None),
            ]
        })
        .collect();
    Some(data_table(&heads, &widths, rows))
}

/// The report's title line (`Báo cáo kết quả thực hiện Kế hoạch 742/KH-UBND Quý II/2024`).
pub fn title(report: &QuarterReport) -> String {
    format!("Kết quả thực hiện Kế hoạch {} {}", report.plan_symbol, report.period.vi())
}

/// Writes the draft report.
pub fn write_docx(report: &QuarterReport, template: &ReportTemplate, issue_year: i32) -> Result<Vec<u8>, DocxError> {
    let r = render(template, report)?;
    let mut doc = Docx::new()
        .page_size(A4.0, A4.1)
        .page_margin(PageMargin {
            top: 1_134,
            left: 1_701,
            bottom: 1_134,
            right: 1_134,
            header: 567,
            footer: 567,
            gutter: 0,
        })
        .default_fonts(RunFonts::new().ascii(FONT).hi_ansi(FONT).cs(FONT).east_asia(FONT))
        .default_size(BODY)
        .footer(Footer::new().add_paragraph(Paragraph::new().add_page_num(PageNum::new()).align(AlignmentType::Center)))
        .add_table(heading_block(&r, issue_year))
        .add_paragraph(centered("", BODY, false, false))
        .add_paragraph(centered("BÁO CÁO", BODY, true, false))
        .add_paragraph(centered(&title(report), BODY, true, false))
        .add_paragraph(centered(
            &match &report.scope {
                Scope::Province => "(Dự thảo — số liệu do chiso tổng hợp từ kết quả đánh giá)".to_string(),
                Scope::District { name, .. } => format!("(Dự thảo — {name}, tổng hợp kết quả của các xã, thị trấn)"),
            },
            26,
            false,
            true,
        ))
        .add_paragraph(centered("", BODY, false, false));
    doc = doc.add_paragraph(heading("I. KẾT QUẢ THỰC HIỆN"));
    for p in paragraphs(&r.intro) {
        doc = doc.add_paragraph(p);
    }
    doc = doc.add_paragraph(heading("1. Tổng hợp chung"));
    for t in figures_text(report) {
        doc = doc.add_paragraph(body(&t));
    }
    doc = doc.add_table(section_table(report));
    doc = doc.add_paragraph(heading("2. Các đơn vị chậm tiến độ, chưa báo cáo"));
    match agencies_table(report) {
        Some(t) => doc = doc.add_table(t),
        None => doc = doc.add_paragraph(body("Không có đơn vị nào chậm tiến độ hoặc chưa báo cáo.")),
    }
    let more = report.lagging_agencies().len().saturating_sub(AGENCIES_IN_DRAFT);
    if more > 0 {
        doc = doc.add_paragraph(body(&format!(
            "Ngoài {AGENCIES_IN_DRAFT} đơn vị trên, còn {more} đơn vị khác chậm tiến độ hoặc chưa báo cáo (xem sheet “Theo đơn vị” của bảng tính kèm theo)."
        )));
    }
    doc = doc.add_paragraph(heading("3. Các chỉ tiêu, nhiệm vụ chậm tiến độ"));
    match indicators_table(report) {
        Some(t) => doc = doc.add_table(t),
        None => doc = doc.add_paragraph(body("Không có chỉ tiêu, nhiệm vụ nào chậm tiến độ.")),
    }
    for (head, text) in [
        ("II. ĐÁNH GIÁ CHUNG", &r.assessment),
        (&*format!("III. NHIỆM VỤ, GIẢI PHÁP TRỌNG TÂM {}", report.period.next().vi().to_uppercase()), &r.next_steps),
        ("IV. KIẾN NGHỊ, ĐỀ XUẤT", &r.proposals),
    ] {
        doc = doc.add_paragraph(heading(head));
        for p in paragraphs(text) {
            doc = doc.add_paragraph(p);
        }
    }
    doc = doc.add_paragraph(centered("", BODY, false, false)).add_table(signature_block(&r));
    let mut out = std::io::Cursor::new(Vec::new());
    doc.build().pack(&mut out).map_err(|e| DocxError::Pack(e.to_string()))?;
    deflate(&out.into_inner()).map_err(|e| DocxError::Pack(e.to_string()))
}

/// The package with its parts deflated: docx-rs stores them as they are, and a report
/// with long tables is then ten times the size.
fn deflate(stored: &[u8]) -> zip::result::ZipResult<Vec<u8>> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(stored))?;
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::with_capacity(stored.len() / 4)));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for i in 0..archive.len() {
        let mut part = archive.by_index(i)?;
        if part.is_dir() {
            continue;
        }
        let name = part.name()?.to_string();
        out.start_file(name, options)?;
        std::io::copy(&mut part, &mut out)?;
    }
    Ok(out.finish()?.into_inner())
}
