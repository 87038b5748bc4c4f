//! Building department-style workbooks: title blocks with merged cells, a header a few
//! rows down, hidden sheets, formulas with cached results, percent-formatted cells, dates.
//! The demo quarter, the test fixtures and the benchmarks are made with it.
//!
//! Owns: `DemoCell`, `SheetSpec`, `write_book`, `title_block`, `national_directory`.
//! Receives: sheets described by the caller; a `catalog::Directory` to grow to national
//! scale. Hands on: xlsx bytes (and that `Directory`) to `tests/`, `benches/` and
//! `examples/make_fixtures.rs`; no library module calls it.

use chrono::NaiveDate;
use rust_xlsxwriter::{ExcelDateTime, Format, FormatAlign, FormatBorder, Formula, Workbook, XlsxError};

/// A cell to write.
#[derive(Debug, Clone, PartialEq)]
pub enum DemoCell {
    Empty,
    Text(String),
    Number(f64),
    /// A fraction shown as a percentage (`0.855` → `85,5%`).
    Percent(f64),
    /// A formula and the result Excel cached for it.
    Formula {
        formula: String,
        cached: f64,
        percent: bool,
    },
    Date(NaiveDate),
}

impl From<&str> for DemoCell {
    fn from(s: &str) -> Self {
        if s.is_empty() { DemoCell::Empty } else { DemoCell::Text(s.to_string()) }
    }
}

impl From<String> for DemoCell {
    fn from(s: String) -> Self {
        DemoCell::Text(s)
    }
}

impl From<f64> for DemoCell {
    fn from(v: f64) -> Self {
        DemoCell::Number(v)
    }
}

/// One sheet.
#[derive(Debug, Clone, Default)]
pub struct SheetSpec {
    pub name: String,
    pub hidden: bool,
    /// Title lines above the header, each merged across the table's width.
    pub title: Vec<String>,
    /// 0-based row of the header; title lines go above it.
    pub header_row: u32,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<DemoCell>>,
}

/// Writes a workbook of sheets, in order.
pub fn write_book(sheets: &[SheetSpec]) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold().set_align(FormatAlign::Center).set_text_wrap();
    let header =
        Format::new().set_bold().set_border(FormatBorder::Thin).set_text_wrap().set_background_color("#E7E6E6");
    let cell = Format::new().set_border(FormatBorder::Thin).set_text_wrap();
    let percent = Format::new().set_border(FormatBorder::Thin).set_num_format("0.0%");
    let date = Format::new().set_border(FormatBorder::Thin).set_num_format("dd/mm/yyyy");
    let mut first_visible = None;
    for (i, spec) in sheets.iter().enumerate() {
        let ws = wb.add_worksheet();
        ws.set_name(&spec.name)?;
        let width = spec.headers.len().max(1) as u16;
        for (r, line) in spec.title.iter().enumerate() {
            if width > 1 {
                ws.merge_range(r as u32, 0, r as u32, width - 1, line, &bold)?;
            } else {
                ws.write_with_format(r as u32, 0, line.as_str(), &bold)?;
            }
        }
        for (c, h) in spec.headers.iter().enumerate() {
            ws.write_with_format(spec.header_row, c as u16, h.as_str(), &header)?;
            ws.set_column_width(c as u16, if h.len() > 20 { 50.0 } else { 16.0 })?;
        }
        for (r, row) in spec.rows.iter().enumerate() {
            let r = spec.header_row + 1 + r as u32;
            for (c, v) in row.iter().enumerate() {
                let c = c as u16;
                match v {
                    DemoCell::Empty => {}
                    DemoCell::Text(t) => {
                        ws.write_with_format(r, c, t.as_str(), &cell)?;
                    }
                    DemoCell::Number(n) => {
                        ws.write_with_format(r, c, *n, &cell)?;
                    }
                    DemoCell::Percent(p) => {
                        ws.write_with_format(r, c, *p, &percent)?;
                    }
                    DemoCell::Formula { formula, cached, percent: pct } => {
                        let f = Formula::new(formula.as_str()).set_result(cached.to_string());
                        ws.write_formula_with_format(r, c, f, if *pct { &percent } else { &cell })?;
                    }
                    DemoCell::Date(d) => {
                        let dt = ExcelDateTime::from_ymd(d.year_u16(), d.month_u8(), d.day_u8())?;
                        ws.write_datetime_with_format(r, c, &dt, &date)?;
                    }
                }
            }
        }
        if spec.hidden {
            ws.set_hidden(true);
        } else if first_visible.is_none() {
            first_visible = Some(i);
        }
    }
    if let Some(i) = first_visible {
        wb.worksheet_from_index(i)?.set_active(true);
    }
    wb.save_to_buffer()
}

trait DateParts {
    fn year_u16(&self) -> u16;
    fn month_u8(&self) -> u8;
    fn day_u8(&self) -> u8;
}

impl DateParts for NaiveDate {
    fn year_u16(&self) -> u16 {
        chrono::Datelike::year(self).clamp(1900, 9999) as u16
    }
    fn month_u8(&self) -> u8 {
        chrono::Datelike::month(self) as u8
    }
    fn day_u8(&self) -> u8 {
        chrono::Datelike::day(self) as u8
    }
}

/// The usual title block of a department's report.
pub fn title_block(parent: &str, agency: &str, period_vi: &str) -> Vec<String> {
    vec![
        parent.to_uppercase(),
        agency.to_uppercase(),
        String::new(),
        format!("BÁO CÁO KẾT QUẢ THỰC HIỆN KẾ HOẠCH 742/KH-UBND VỀ CHUYỂN ĐỔI SỐ {}", period_vi.to_uppercase()),
    ]
}

/// A national-scale directory: the real one plus `communes` synthetic commune-level
/// units (codes from 900000) under synthetic districts of 30 communes each, all members
/// of `UBND cấp xã`. For benchmarks at the scale of the whole country (~3,300 communes).
pub fn national_directory(
    base: &crate::catalog::Directory,
    communes: usize,
) -> Result<crate::catalog::Directory, crate::catalog::directory::DirectoryError> {
    use crate::catalog::{Agency, Level};
    use crate::domain::AgencyId;
    let mut agencies: Vec<Agency> = base.iter().cloned().collect();
    let template = |id: String, name: String, level: Level, parent: Option<String>, code: String| -> Option<Agency> {
        Some(Agency {
            id: AgencyId::parse(&id).ok()?,
            name,
            short_name: None,
            level,
            parent: parent.and_then(|p| AgencyId::parse(&p).ok()),
            code: Some(code),
            emails: vec![format!("{id}@bench.example")],
            aliases: Vec::new(),
            valid_from: None,
            valid_to: None,
            successors: Vec::new(),
            members: None,
            contact_via: None,
            note: None,
        })
    };
    let districts = communes.div_ceil(30);
    for d in 0..districts {
        agencies.extend(template(
            format!("bench_h{d:04}"),
            format!("Huyện Thử {d}"),
            Level::District,
            Some("ubnd_tinh".into()),
            format!("8{d:04}"),
        ));
    }
    for c in 0..communes {
        let code = 900_000 + c;
        agencies.extend(template(
            format!("bench_x{code}"),
            format!("Xã Thử {c}"),
            Level::Commune,
            Some(format!("bench_h{:04}", c / 30)),
            code.to_string(),
        ));
    }
    crate::catalog::Directory::new(agencies, "national benchmark directory")
}
