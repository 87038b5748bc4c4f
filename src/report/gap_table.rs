//! The gap table as a workbook (`chiso gaps --format xlsx`): real numbers with number
//! formats (a percent as its fraction with `0.0%`, counts with `#,##0`), a fill per
//! status, autofilter, frozen header, rows sized to their wrapped text, and the report's
//! print setup (A4 landscape, fit to width, header repeated, page numbers).
//!
//! Owns: the gap table's workbook: `SHEET`, `HEADERS`, `write_xlsx`, `is_percent`.
//! Receives: `warehouse::StoredGap` rows and agency labels from `cli::gaps`. Hands on: xlsx
//! bytes to `cli::gaps`; `HEADERS` to `cli::gaps` for its CSV; `is_percent` to
//! `serve::dashboard`.

use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Workbook, XlsxError};

use super::{NumberFormats, print_setup, status_format, wrapped_height};
use crate::domain::gap::RowOwner;
use crate::domain::{Period, Value};
use crate::warehouse::StoredGap;

pub const SHEET: &str = "Tiến độ";

pub const HEADERS: [&str; 11] = [
    "Mục",
    "Nhiệm vụ / Chỉ tiêu",
    "Đơn vị",
    "Chỉ tiêu năm",
    "Cần đạt",
    "Thực hiện",
    "Thiếu",
    "Cần/quý",
    "Trạng thái",
    "Lý do",
    "Lần chạy",
];

const WIDTHS: [f64; 11] = [9.0, 50.0, 22.0, 22.0, 10.0, 11.0, 10.0, 10.0, 15.0, 44.0, 8.0];

/// 0-based header row.
pub const HEADER_ROW: u32 = 2;

/// Whether a row's numbers are percentages.
pub fn is_percent(g: &StoredGap) -> bool {
    matches!(g.actual, Some(Value::Percent(_))) || g.target.contains('%')
}

/// Writes the table; `agency_label` names an agency id as the table shows it.
pub fn write_xlsx(
    plan_symbol: &str,
    period: Period,
    rows: &[StoredGap],
    agency_label: &dyn Fn(&RowOwner) -> String,
) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name(SHEET)?;
    let title = Format::new().set_bold().set_font_size(13);
    let head = Format::new()
        .set_bold()
        .set_border(FormatBorder::Thin)
        .set_background_color("#D9E1F2")
        .set_text_wrap()
        .set_align(FormatAlign::Center)
        .set_align(FormatAlign::VerticalCenter);
    let f = NumberFormats::new();
    let heading = format!("BẢNG TIẾN ĐỘ THỰC HIỆN KẾ HOẠCH {plan_symbol} — {}", period.vi().to_uppercase());
    ws.write_with_format(0, 0, heading.as_str(), &title)?;
    for (c, (h, w)) in HEADERS.iter().zip(WIDTHS).enumerate() {
        ws.write_with_format(HEADER_ROW, c as u16, *h, &head)?;
        ws.set_column_width(c as u16, w)?;
    }
    ws.set_row_height(HEADER_ROW, 30)?;
    for (i, g) in rows.iter().enumerate() {
        let r = HEADER_ROW + 1 + i as u32;
        let percent = is_percent(g);
        let item = if g.measure.is_empty() { g.item.clone() } else { format!("{} ({})", g.item, g.measure) };
        let agency = agency_label(&g.agency);
        ws.write_string_with_format(r, 0, item.as_str(), &f.text)?;
        ws.write_string_with_format(r, 1, g.task.as_str(), &f.text)?;
        ws.write_string_with_format(r, 2, agency.as_str(), &f.text)?;
        ws.write_string_with_format(r, 3, g.target.as_str(), &f.text)?;
        f.write_figure(ws, r, 4, g.expected, percent)?;
        f.write_value(ws, r, 5, g.actual)?;
        f.write_figure(ws, r, 6, g.gap.filter(|x| *x > 0.0), percent)?;
        f.write_figure(ws, r, 7, g.pace.filter(|x| *x > 0.0), percent)?;
        ws.write_with_format(r, 8, g.status.vi(), &status_format(&f.text, g.status))?;
        ws.write_string_with_format(r, 9, g.reason.as_str(), &f.text)?;
        ws.write_number_with_format(r, 10, g.valid_from_run as f64, &f.int)?;
        ws.set_row_height(
            r,
            wrapped_height(&[
                (g.task.as_str(), WIDTHS[1]),
                (agency.as_str(), WIDTHS[2]),
                (g.target.as_str(), WIDTHS[3]),
                (g.reason.as_str(), WIDTHS[9]),
            ]),
        )?;
    }
    ws.autofilter(HEADER_ROW, 0, HEADER_ROW + rows.len() as u32, (HEADERS.len() - 1) as u16)?;
    ws.set_freeze_panes(HEADER_ROW + 1, 1)?;
    print_setup(ws, (HEADER_ROW, HEADER_ROW), &format!("Bảng tiến độ {plan_symbol} — {}", period.vi()))?;
    wb.save_to_buffer()
}
