//! Documents chiso writes: the agency reporting template, the quarterly report (xlsx and
//! docx draft), and the print setup they share with the gap table.
//!
//! Owns: what the documents share: the print setup (`print_setup`, `PAPER_A4`), row
//! heights, the status colours (`Bucket`, `status_format`, `is_judged`) and
//! `NumberFormats`. Receives: `evaluate::Status` and `domain::Value` from the submodules'
//! callers. Hands on: those helpers to `report::gap_table`, `report::quarterly` and the
//! other submodules; `Bucket` and `is_judged` to `serve::dashboard`.

pub mod docx;
pub mod export;
pub mod gap_table;
pub mod overview;
pub mod quarterly;
pub mod template;

use rust_xlsxwriter::{Format, Worksheet, XlsxError};

use crate::evaluate::Status;

/// Excel's paper code for A4.
pub const PAPER_A4: u8 = 9;

/// A print setup an officer can use: A4 landscape, fit to the page width (as many pages
/// down as needed), the header rows `header.0..=header.1` (0-based) repeated on each
/// page, narrow margins, and a footer with the document's name and the page numbers.
pub fn print_setup(ws: &mut Worksheet, header: (u32, u32), footer_left: &str) -> Result<(), XlsxError> {
    ws.set_paper_size(PAPER_A4);
    ws.set_landscape();
    ws.set_print_fit_to_pages(1, 0);
    ws.set_margins(0.4, 0.4, 0.6, 0.6, 0.3, 0.3);
    ws.set_print_center_horizontally(true);
    ws.set_repeat_rows(header.0, header.1)?;
    // `&` starts a code in Excel's header and footer language: a literal one is `&&`.
    ws.set_footer(format!("&L{}&RTrang &P/&N", footer_left.replace('&', "&&")));
    Ok(())
}

/// The height (points) of a row whose wrapped cells hold these texts in columns of these
/// widths (Excel character units). Excel and LibreOffice do not grow rows written with
/// wrapped text on opening, so rows are sized when written: a line of 11-point text is 15
/// points, and a width unit holds about 1.1 characters of running text (the unit is the
/// width of a digit; spaces, commas and most letters, marks included, are narrower).
pub fn wrapped_height(cells: &[(&str, f64)]) -> f64 {
    let lines = cells
        .iter()
        .map(|(text, width)| {
            let per_line = (width * 1.1 - 2.0).max(1.0);
            text.split('\n').map(|l| ((l.chars().count() as f64) / per_line).ceil().max(1.0)).sum::<f64>()
        })
        .fold(1.0_f64, f64::max);
    lines * 15.0 + 3.0
}

/// How a status groups in the report's columns and colours. New statuses fall in
/// [`Bucket::Other`] until they are given a place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Bucket {
    Good,
    AtRisk,
    Lagging,
    Missing,
    Other,
}

impl Bucket {
    pub fn of(status: Status) -> Self {
        match status {
            Status::OnTrack | Status::Done => Bucket::Good,
            Status::AtRisk => Bucket::AtRisk,
            Status::Lagging | Status::Overdue => Bucket::Lagging,
            Status::Missing => Bucket::Missing,
            _ => Bucket::Other,
        }
    }

    /// The fill of a status cell.
    pub fn color(self) -> &'static str {
        match self {
            Bucket::Good => "#C6EFCE",
            Bucket::AtRisk => "#FFEB9C",
            Bucket::Lagging => "#FFC7CE",
            Bucket::Missing => "#F4B183",
            Bucket::Other => "#E7E6E6",
        }
    }
}

/// Whether a status is a judgement of progress (the denominator of the share on track):
/// not for rows with no target this year or not yet due. A new status counts as judged.
pub fn is_judged(status: Status) -> bool {
    !matches!(status, Status::NotApplicable | Status::NotDue)
}

/// A cell format with the status's fill.
pub fn status_format(base: &Format, status: Status) -> Format {
    base.clone().set_background_color(Bucket::of(status).color())
}

/// Cell formats for figures: text, a percent (`0.0%`), a whole count (`#,##0`), a count
/// with a decimal (`#,##0.0`); each on the same bordered, top-aligned cell.
pub struct NumberFormats {
    pub text: Format,
    pub pct: Format,
    pub int: Format,
    pub dec: Format,
}

impl NumberFormats {
    pub fn new() -> Self {
        let cell =
            Format::new().set_border(rust_xlsxwriter::FormatBorder::Thin).set_align(rust_xlsxwriter::FormatAlign::Top);
        Self {
            text: cell.clone().set_text_wrap(),
            pct: cell.clone().set_num_format("0.0%"),
            int: cell.clone().set_num_format("#,##0"),
            dec: cell.set_num_format("#,##0.0"),
        }
    }

    /// A figure as Excel holds it: a percent (in points, as stored) as its fraction, a
    /// count as itself; blank when absent.
    pub fn write_figure(
        &self,
        ws: &mut Worksheet,
        r: u32,
        c: u16,
        x: Option<f64>,
        percent: bool,
    ) -> Result<(), XlsxError> {
        match x {
            None => ws.write_blank(r, c, &self.text).map(|_| ()),
            Some(x) if percent => ws.write_number_with_format(r, c, x / 100.0, &self.pct).map(|_| ()),
            Some(x) if x.fract().abs() < 1e-9 => ws.write_number_with_format(r, c, x, &self.int).map(|_| ()),
            Some(x) => ws.write_number_with_format(r, c, x, &self.dec).map(|_| ()),
        }
    }

    /// A reported value: a number typed, a task status as its Vietnamese text.
    pub fn write_value(
        &self,
        ws: &mut Worksheet,
        r: u32,
        c: u16,
        v: Option<crate::domain::Value>,
    ) -> Result<(), XlsxError> {
        use crate::domain::Value;
        match v {
            Some(Value::Percent(x)) => self.write_figure(ws, r, c, Some(x), true),
            Some(Value::Count(x)) => self.write_figure(ws, r, c, Some(x), false),
            Some(v @ Value::Status(_)) => ws.write_with_format(r, c, v.vi().as_str(), &self.text).map(|_| ()),
            None => ws.write_blank(r, c, &self.text).map(|_| ()),
        }
    }

    /// A share (0 to 1) as a percent; blank when there is none.
    pub fn write_share(&self, ws: &mut Worksheet, r: u32, c: u16, share: Option<f64>) -> Result<(), XlsxError> {
        match share {
            Some(x) => ws.write_number_with_format(r, c, x, &self.pct).map(|_| ()),
            None => ws.write_blank(r, c, &self.text).map(|_| ()),
        }
    }

    pub fn write_count(&self, ws: &mut Worksheet, r: u32, c: u16, n: usize) -> Result<(), XlsxError> {
        ws.write_number_with_format(r, c, n as f64, &self.int).map(|_| ())
    }
}

impl Default for NumberFormats {
    fn default() -> Self {
        Self::new()
    }
}
