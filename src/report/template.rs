//! The agency workbook: what an agency fills in for a quarter.
//!
//! Sheet `Báo cáo` lists the indicators it leads; sheet `Phối hợp` those it co-operates
//! on. Each row shows the task, the unit, this year's target and the last reported value;
//! the input column (yellow) is the only one unlocked, with data validation: a list of
//! statuses, a percent between 0 and 100, or a whole count. The item key of every row is
//! in a hidden column, and a very hidden sheet `_chiso` holds the plan, agency, period and
//! layout, so a filled workbook imports with no mapping at all (see
//! `ingest::template`).
//!
//! Owns: the agency workbook's layout (`LEAD_SHEET`, `CO_SHEET`, the columns, `VERSION`),
//! `TemplateSpec`, `TemplateLine`, the `KnownValues` trait, `build_spec`,
//! `build_spec_with`, `write` and `WorkbookCache`. Receives: the `catalog::plan::Catalog`,
//! `catalog::Directory`, `catalog::assign::Assignments`, the `domain::ReportingCalendar`,
//! an agency and a period, and last reported values (`KnownValues`) from `cli::collect`
//! (`chiso template`) and `remind::compose`; the contract `MARKER` and `META_SHEET` from
//! `ingest::template`. Hands on: xlsx bytes to `cli::collect` and, as reminder attachments,
//! to `remind::compose` (`WorkbookCache` also from `jobs::remind`).

use chrono::NaiveDate;
use rust_xlsxwriter::{
    DataValidation, DataValidationRule, Format, FormatAlign, FormatBorder, Workbook, Worksheet, XlsxError,
};

use crate::catalog::Directory;
use crate::catalog::assign::{Assignments, Part};
use crate::catalog::plan::{Catalog, Indicator};
use crate::domain::value::{MeasureKind, Progress};
use crate::domain::{AgencyId, ItemKey, Period, ReportingCalendar, Section, Value};

pub use crate::ingest::template::{MARKER, META_SHEET};
pub const VERSION: &str = "1";
pub const LEAD_SHEET: &str = "Báo cáo";
pub const CO_SHEET: &str = "Phối hợp";
/// 1-based header row on both data sheets.
pub const HEADER_ROW: u32 = 8;
pub const KEY_COL: u16 = 0;
pub const VALUE_COL: u16 = 6;
pub const NOTE_COL: u16 = 7;

/// One line of the workbook.
#[derive(Debug, Clone)]
pub struct TemplateLine {
    pub key: ItemKey,
    /// `""`, or the measure key of a composite indicator.
    pub measure: String,
    pub section: Section,
    pub task: String,
    pub kind: MeasureKind,
    pub target: String,
    /// The value reported for the previous quarter.
    pub previous: Option<Value>,
    /// The value already reported for this quarter, pre-filled in the input column.
    pub current: Option<Value>,
}

/// What the workbook is for.
#[derive(Debug, Clone)]
pub struct TemplateSpec {
    pub plan_id: String,
    pub plan_symbol: String,
    pub agency: AgencyId,
    pub agency_name: String,
    pub period: Period,
    pub window: (NaiveDate, NaiveDate),
    pub due: NaiveDate,
    pub lead: Vec<TemplateLine>,
    /// Items the agency answers for as a member of a group lead, listed on the lead sheet
    /// after its own under a heading of their own (`group_title`). Empty unless the caller
    /// splits them off ([`TemplateSpec::split_group`]).
    pub group: Vec<TemplateLine>,
    /// `Nhiệm vụ chung của các sở, ban, ngành tỉnh`.
    pub group_title: String,
    pub co: Vec<TemplateLine>,
}

impl TemplateSpec {
    /// Moves the lead lines `is_group` picks into the group section titled by `title` (of
    /// the items kept), keeping only those `keep` says (`group_items = "omit"` keeps none
    /// but the refused ones).
    pub fn split_group(
        mut self,
        is_group: impl Fn(ItemKey) -> bool,
        keep: impl Fn(ItemKey) -> bool,
        title: impl FnOnce(&[ItemKey]) -> String,
    ) -> Self {
        let (group, own): (Vec<TemplateLine>, Vec<TemplateLine>) =
            std::mem::take(&mut self.lead).into_iter().partition(|l| is_group(l.key));
        self.lead = own;
        let group: Vec<TemplateLine> = group.into_iter().filter(|l| keep(l.key)).collect();
        if !group.is_empty() {
            let mut keys: Vec<ItemKey> = group.iter().map(|l| l.key).collect();
            keys.dedup();
            self.group_title = title(&keys);
            self.group = group;
        }
        self
    }
}

/// Values already known, for pre-filling: `(item, measure, agency, period) → value`.
pub trait KnownValues {
    fn value(&self, item: ItemKey, measure: &str, period: Period) -> Option<Value>;
}

impl KnownValues for () {
    fn value(&self, _: ItemKey, _: &str, _: Period) -> Option<Value> {
        None
    }
}

/// The lines of an agency's workbook for a period.
pub fn build_spec(
    catalog: &Catalog,
    dir: &Directory,
    calendar: &ReportingCalendar,
    agency: &AgencyId,
    period: Period,
    known: &dyn KnownValues,
) -> TemplateSpec {
    let assignments = Assignments::new(catalog, dir, period.year(), calendar.cutoff(period));
    build_spec_with(&TemplateBasis { catalog, dir, calendar, assignments: &assignments }, agency, period, known)
}

/// What every agency's workbook of a period is built from.
#[derive(Clone, Copy)]
pub struct TemplateBasis<'a> {
    pub catalog: &'a Catalog,
    pub dir: &'a Directory,
    pub calendar: &'a ReportingCalendar,
    pub assignments: &'a Assignments,
}

/// [`build_spec`] with the period's assignments computed once for many agencies.
pub fn build_spec_with(
    basis: &TemplateBasis<'_>,
    agency: &AgencyId,
    period: Period,
    known: &dyn KnownValues,
) -> TemplateSpec {
    let TemplateBasis { catalog, dir, calendar, assignments } = *basis;
    let year = period.year();
    let mut lead = Vec::new();
    let mut co = Vec::new();
    for &(index, part) in assignments.parts_of(agency) {
        let ind = &catalog.indicators[index];
        let lines = lines_of(ind, year, period, known);
        match part {
            Part::Lead => lead.extend(lines),
            Part::Co => co.extend(lines),
        }
    }
    TemplateSpec {
        plan_id: catalog.plan.id.clone(),
        plan_symbol: catalog.plan.symbol.clone(),
        agency: agency.clone(),
        agency_name: dir.get(agency).map_or_else(|| agency.to_string(), |a| a.name.clone()),
        period,
        window: calendar.window(period),
        due: calendar.due_date(period),
        lead,
        group: Vec::new(),
        group_title: String::new(),
        co,
    }
}

fn lines_of(ind: &Indicator, year: i32, period: Period, known: &dyn KnownValues) -> Vec<TemplateLine> {
    let target = ind.target(year).map(|t| t.raw.clone()).unwrap_or_default();
    ind.measures
        .iter()
        .map(|m| TemplateLine {
            key: ind.key,
            measure: m.key.clone(),
            section: ind.section,
            task: ind.task.clone(),
            kind: m.kind.clone(),
            target: target.clone(),
            previous: known.value(ind.key, &m.key, period.prev()),
            current: known.value(ind.key, &m.key, period),
        })
        .collect()
}

/// Statuses offered in the input list.
pub const STATUS_CHOICES: [Progress; 4] = [Progress::Done, Progress::InProgress, Progress::NotDone, Progress::Ongoing];

/// Writes the workbook.
pub fn write(spec: &TemplateSpec) -> Result<Vec<u8>, XlsxError> {
    write_named(spec, &spec.agency_name.to_uppercase(), spec.agency.as_str())
}

/// [`write`] with the agency's name (as shown, upper case) and id given separately: the
/// cache writes marks there and puts each agency's in afterwards.
fn write_named(spec: &TemplateSpec, name_upper: &str, agency_id: &str) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    // A reminder round writes one workbook per agency (thousands at national scale):
    // level 1 deflates several times faster than the default 6 for a few KB more per file.
    wb.set_zip_compression_level(1);
    let heads = HeadFormats::new();
    let formats = LineFormats::new()?;
    let no_group: &[TemplateLine] = &[];
    for (sheet_name, lines, group, group_title, role) in [
        (LEAD_SHEET, &spec.lead, spec.group.as_slice(), spec.group_title.as_str(), "chủ trì"),
        (CO_SHEET, &spec.co, no_group, "", "phối hợp"),
    ] {
        let ws = wb.add_worksheet();
        let sheet = SheetHeading { name: sheet_name, role, name_upper };
        write_heading(ws, spec, &sheet, &heads)?;
        let mut r = HEADER_ROW;
        write_lines(ws, &mut r, lines, &formats)?;
        if !group.is_empty() {
            // The items answered as one of a group, apart from the agency's own, as in the digest.
            ws.merge_range(r, 1, r, 7, group_title, &formats.group)?;
            r += 1;
            write_lines(ws, &mut r, group, &formats)?;
        }
        ws.set_freeze_panes(HEADER_ROW, 3)?;
        // A4 landscape fitted to the width: every column an officer fills in is on page
        // 1, and the header row is repeated on the pages after it.
        let h = HEADER_ROW - 1;
        super::print_setup(ws, (h, h), &format!("Kế hoạch {} — {}", spec.plan_symbol, spec.period.vi()))?;
        ws.protect();
    }
    write_meta(&mut wb, spec, agency_id)?;
    wb.worksheet_from_index(0)?.set_active(true);
    wb.save_to_buffer()
}

/// The formats of a data sheet's heading.
struct HeadFormats {
    title: Format,
    bold_center: Format,
    italic: Format,
    header: Format,
}

impl HeadFormats {
    fn new() -> Self {
        let title = Format::new().set_bold().set_font_size(13).set_align(FormatAlign::Center).set_text_wrap();
        let bold_center = Format::new().set_bold().set_align(FormatAlign::Center);
        let italic = Format::new().set_italic().set_text_wrap().set_align(FormatAlign::Left);
        let header = Format::new()
            .set_bold()
            .set_text_wrap()
            .set_align(FormatAlign::Center)
            .set_align(FormatAlign::VerticalCenter)
            .set_border(FormatBorder::Thin)
            .set_background_color("#D9E1F2");
        Self { title, bold_center, italic, header }
    }
}

/// Which data sheet a heading is for: its name, the agency's role on its items, and the
/// agency's name in capitals.
struct SheetHeading<'a> {
    name: &'a str,
    role: &'a str,
    name_upper: &'a str,
}

/// A data sheet's columns and heading, down to its header row: the two agencies' names,
/// the title, the window and the due date, how to fill it in, and the column heads.
fn write_heading(
    ws: &mut Worksheet,
    spec: &TemplateSpec,
    sheet: &SheetHeading<'_>,
    f: &HeadFormats,
) -> Result<(), XlsxError> {
    let SheetHeading { name: sheet_name, role, name_upper } = *sheet;
    let (title, bold_center, italic, header) = (&f.title, &f.bold_center, &f.italic, &f.header);
    ws.set_name(sheet_name)?;
    for (col, width) in [(0, 8.0), (1, 6.0), (2, 60.0), (3, 12.0), (4, 22.0), (5, 16.0), (6, 18.0), (7, 30.0)] {
        ws.set_column_width(col, width)?;
    }
    ws.set_column_hidden(KEY_COL)?;
    ws.merge_range(0, 1, 0, 3, "UBND TỈNH VĨNH LONG", bold_center)?;
    ws.merge_range(1, 1, 1, 3, name_upper, bold_center)?;
    ws.merge_range(0, 4, 0, 7, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", bold_center)?;
    ws.merge_range(1, 4, 1, 7, "Độc lập - Tự do - Hạnh phúc", bold_center)?;
    ws.merge_range(
        3,
        1,
        3,
        7,
        &format!(
            "BÁO CÁO KẾT QUẢ THỰC HIỆN KẾ HOẠCH {} VỀ CHUYỂN ĐỔI SỐ — {}",
            spec.plan_symbol,
            spec.period.vi().to_uppercase()
        ),
        title,
    )?;
    ws.merge_range(
        4,
        1,
        4,
        7,
        &format!(
            "Các nhiệm vụ, chỉ tiêu đơn vị {role}. Số liệu từ {} đến {}; hạn gửi báo cáo: {}.",
            spec.window.0.format("%d/%m/%Y"),
            spec.window.1.format("%d/%m/%Y"),
            spec.due.format("%d/%m/%Y")
        ),
        italic,
    )?;
    ws.merge_range(
        5,
        1,
        5,
        7,
        "Chỉ nhập vào các ô màu vàng (cột Kết quả) và cột Ghi chú. Tỷ lệ ghi số phần trăm (ví dụ 85,5); số lượng ghi số nguyên; \
         chỉ tiêu trạng thái chọn trong danh sách. Không thêm, xóa hoặc đổi thứ tự dòng.",
        italic,
    )?;
    ws.set_row_height(5, 30)?;
    let h = HEADER_ROW - 1;
    let year = spec.period.year();
    let heads = [
        "Mã".to_string(),
        "STT".to_string(),
        "Nhiệm vụ / Chỉ tiêu".to_string(),
        "ĐVT".to_string(),
        format!("Chỉ tiêu năm {year}"),
        format!("Kỳ trước ({})", spec.period.prev().vi()),
        format!("Kết quả thực hiện {}", spec.period.vi()),
        "Ghi chú".to_string(),
    ];
    for (c, text) in heads.iter().enumerate() {
        ws.write_with_format(h, c as u16, text.as_str(), header)?;
    }
    ws.set_row_height(h, 32)?;
    Ok(())
}

/// The hidden sheet that tells the reader this is chiso's workbook: plan, agency, period
/// and where the key, value and note columns are.
fn write_meta(wb: &mut Workbook, spec: &TemplateSpec, agency_id: &str) -> Result<(), XlsxError> {
    let meta = wb.add_worksheet();
    meta.set_name(META_SHEET)?;
    let rows: [(&str, String); 9] = [
        (MARKER, VERSION.to_string()),
        ("plan", spec.plan_id.clone()),
        ("agency", agency_id.to_string()),
        ("period", spec.period.to_string()),
        ("sheets", format!("{LEAD_SHEET}|{CO_SHEET}")),
        ("header_row", HEADER_ROW.to_string()),
        ("key_column", crate::ingest::sheet::column_letters(KEY_COL.into())),
        ("value_column", crate::ingest::sheet::column_letters(VALUE_COL.into())),
        ("note_column", crate::ingest::sheet::column_letters(NOTE_COL.into())),
    ];
    for (i, (k, v)) in rows.iter().enumerate() {
        meta.write(i as u32, 0, *k)?;
        meta.write(i as u32, 1, v.as_str())?;
    }
    meta.set_very_hidden(true);
    meta.protect();
    Ok(())
}

impl LineFormats {
    fn new() -> Result<Self, XlsxError> {
        let cell = Format::new().set_text_wrap().set_border(FormatBorder::Thin).set_align(FormatAlign::Top);
        let section_fmt = Format::new().set_bold().set_border(FormatBorder::Thin).set_background_color("#F2F2F2");
        let group_fmt = Format::new()
            .set_bold()
            .set_font_size(12)
            .set_border(FormatBorder::Thin)
            .set_background_color("#D9E1F2")
            .set_align(FormatAlign::Left);
        let input = Format::new()
            .set_unlocked()
            .set_border(FormatBorder::Thin)
            .set_background_color("#FFF2CC")
            .set_align(FormatAlign::Top);
        let input_number = input.clone().set_num_format("0.##");
        let note =
            Format::new().set_unlocked().set_text_wrap().set_border(FormatBorder::Thin).set_align(FormatAlign::Top);

        let validations = [
            validation_for(&MeasureKind::Percent)?,
            validation_for(&MeasureKind::Count { unit: None })?,
            validation_for(&MeasureKind::Status)?,
        ];
        Ok(LineFormats { section: section_fmt, group: group_fmt, cell, input, input_number, note, validations })
    }
}

/// The formats of a data sheet's lines, built once per workbook.
struct LineFormats {
    section: Format,
    group: Format,
    cell: Format,
    input: Format,
    input_number: Format,
    note: Format,
    /// Percent, count, status: each line's input cell gets a clone.
    validations: [DataValidation; 3],
}

/// Writes `lines` from row `r` on, a heading before each section of the plan.
fn write_lines(ws: &mut Worksheet, r: &mut u32, lines: &[TemplateLine], f: &LineFormats) -> Result<(), XlsxError> {
    let mut section = None;
    for line in lines {
        if section != Some(line.section) {
            section = Some(line.section);
            ws.merge_range(
                *r,
                1,
                *r,
                7,
                &format!("{}. {}", line.section.roman(), line.section.vi().to_uppercase()),
                &f.section,
            )?;
            *r += 1;
        }
        let row = *r;
        let key = if line.measure.is_empty() { line.key.to_string() } else { format!("{}:{}", line.key, line.measure) };
        ws.write(row, KEY_COL, key)?;
        ws.write_with_format(row, 1, line.key.to_string(), &f.cell)?;
        ws.write_with_format(row, 2, line.task.as_str(), &f.cell)?;
        ws.set_row_height(row, super::wrapped_height(&[(line.task.as_str(), 60.0), (line.target.as_str(), 22.0)]))?;
        let uom = match &line.kind {
            MeasureKind::Percent => "%".to_string(),
            MeasureKind::Count { unit } => unit.clone().unwrap_or_else(|| "số lượng".into()),
            MeasureKind::Status => "trạng thái".into(),
        };
        ws.write_with_format(row, 3, uom.as_str(), &f.cell)?;
        ws.write_with_format(row, 4, line.target.as_str(), &f.cell)?;
        ws.write_with_format(row, 5, line.previous.map(|v| v.vi()).unwrap_or_default().as_str(), &f.cell)?;
        match (&line.kind, line.current) {
            (MeasureKind::Status, Some(v)) => {
                ws.write_with_format(row, VALUE_COL, v.vi().as_str(), &f.input)?;
            }
            (_, Some(v)) => {
                ws.write_with_format(row, VALUE_COL, v.number().unwrap_or_default(), &f.input_number)?;
            }
            (_, None) => {
                ws.write_blank(row, VALUE_COL, &f.input)?;
            }
        }
        ws.write_blank(row, NOTE_COL, &f.note)?;
        let validation = match line.kind {
            MeasureKind::Percent => &f.validations[0],
            MeasureKind::Count { .. } => &f.validations[1],
            MeasureKind::Status => &f.validations[2],
        };
        ws.add_data_validation(row, VALUE_COL, row, VALUE_COL, validation)?;
        *r += 1;
    }
    Ok(())
}

fn validation_for(kind: &MeasureKind) -> Result<DataValidation, XlsxError> {
    Ok(match kind {
        MeasureKind::Status => {
            let choices: Vec<&str> = STATUS_CHOICES.iter().map(|p| p.vi()).collect();
            DataValidation::new()
                .allow_list_strings(&choices)?
                .set_error_title("Trạng thái không hợp lệ")?
                .set_error_message(
                    "Chọn một trạng thái trong danh sách: Hoàn thành, Đang thực hiện, Chưa thực hiện, Thường xuyên.",
                )?
        }
        MeasureKind::Percent => DataValidation::new()
            .allow_decimal_number(DataValidationRule::Between(0.0, 100.0))
            .set_input_message("Ghi tỷ lệ phần trăm từ 0 đến 100, ví dụ 85,5")?
            .set_error_title("Tỷ lệ không hợp lệ")?
            .set_error_message("Tỷ lệ phải từ 0 đến 100 (ghi 85,5 cho 85,5%).")?,
        MeasureKind::Count { .. } => DataValidation::new()
            .allow_whole_number(DataValidationRule::GreaterThanOrEqualTo(0))
            .set_error_title("Số lượng không hợp lệ")?
            .set_error_message("Số lượng phải là số nguyên không âm.")?,
    })
}

/// Marks standing for the agency in a cached workbook (upper case survives the title's
/// `to_uppercase`; neither can occur in a name or an id).
const NAME_MARK: &str = "CHISO0AGENCY0NAME0MARK";
const ID_MARK: &str = "chiso0agency0id0mark";

/// Writes agencies' workbooks, reusing the work for agencies whose workbooks differ only
/// by the agency: at national scale thousands of communes answer for the same items and
/// have reported nothing yet. The workbook of such a shape is written once with marks in
/// place of the agency's name and id (both live in the shared-strings part), and each
/// agency's copy is that file with the one part rewritten; the other parts are copied
/// compressed as they are. Workbooks with values of their own are written in full.
#[derive(Debug, Default)]
pub struct WorkbookCache {
    shapes: std::sync::Mutex<std::collections::HashMap<u64, std::sync::Arc<Vec<u8>>>>,
}

impl WorkbookCache {
    pub fn write(&self, spec: &TemplateSpec) -> Result<Vec<u8>, XlsxError> {
        let key = shape_key(spec);
        let cached = self.shapes.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&key).cloned();
        let base = match cached {
            Some(b) => b,
            None => {
                let b = std::sync::Arc::new(write_named(spec, NAME_MARK, ID_MARK)?);
                self.shapes.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(key, b.clone());
                b
            }
        };
        match personalize(&base, &spec.agency_name.to_uppercase(), spec.agency.as_str()) {
            Ok(bytes) => Ok(bytes),
            Err(_) => write(spec),
        }
    }
}

/// A hash of everything in a workbook but its agency.
fn shape_key(spec: &TemplateSpec) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (&spec.plan_id, &spec.plan_symbol, spec.period, spec.window, spec.due).hash(&mut h);
    spec.group_title.hash(&mut h);
    for (part, lines) in [(0u8, &spec.lead), (1, &spec.group), (2, &spec.co)] {
        part.hash(&mut h);
        lines.len().hash(&mut h);
        for l in lines {
            format!("{:?}", (l.key, &l.measure, l.section, &l.task, &l.kind, &l.target, &l.previous, &l.current))
                .hash(&mut h);
        }
    }
    h.finish()
}

fn escape_xml(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The cached workbook with the marks replaced in `xl/sharedStrings.xml`.
fn personalize(base: &[u8], name_upper: &str, agency_id: &str) -> zip::result::ZipResult<Vec<u8>> {
    use std::io::{Read, Write};
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(base))?;
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::with_capacity(base.len() + 256)));
    for i in 0..archive.len() {
        let name = archive.by_index_raw(i)?.name()?.to_string();
        if name == "xl/sharedStrings.xml" {
            let mut xml = String::new();
            archive.by_index(i)?.read_to_string(&mut xml)?;
            if !xml.contains(NAME_MARK) || !xml.contains(ID_MARK) {
                return Err(zip::result::ZipError::FileNotFound);
            }
            let xml = xml.replace(NAME_MARK, &escape_xml(name_upper)).replace(ID_MARK, &escape_xml(agency_id));
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated)
                .compression_level(Some(1));
            out.start_file(name, options)?;
            out.write_all(xml.as_bytes())?;
        } else {
            out.raw_copy_file(archive.by_index_raw(i)?)?;
        }
    }
    Ok(out.finish()?.into_inner())
}
