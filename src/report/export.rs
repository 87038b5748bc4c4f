//! Tables handed to auditors and to other tools: CSV and xlsx.
//!
//! Every CSV chiso writes goes through [`write_csv`]: the `csv` crate does the quoting, a
//! UTF-8 byte-order mark lets Excel show Vietnamese correctly, and [`guard`] keeps an
//! officer's text from being run as a formula when the file is opened in a spreadsheet
//! (OWASP, "CSV Injection": a field that starts with `=`, `+`, `-`, `@`, a tab or a carriage
//! return gets a leading `'`; a plain number, a negative one included, is written as it is).
//! The xlsx writer stores every text as a string cell, never as a formula.
//!
//! Owns: `Table`, `write_csv`, `write_xlsx`, `guard`, `BOM` and `ExportError`. Receives: a
//! `Table` of strings from `cli::collect` and `cli::gaps`. Hands on: CSV to the caller's
//! writer, xlsx bytes to the caller.

use std::borrow::Cow;
use std::io::Write;

/// The UTF-8 byte-order mark Excel needs to read a CSV file as UTF-8.
pub const BOM: &str = "\u{feff}";

/// Why an export could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Csv(#[from] csv::Error),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
}

/// A field as it may be written to a CSV file: `'` before a field a spreadsheet would read
/// as a formula, unless the field is a plain number.
pub fn guard(field: &str) -> Cow<'_, str> {
    let risky = field.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && !is_plain_number(field) { Cow::Owned(format!("'{field}")) } else { Cow::Borrowed(field) }
}

/// `-12`, `+3.5`, `1e3`: a finite decimal number and nothing else.
fn is_plain_number(s: &str) -> bool {
    s.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'))
        && s.parse::<f64>().is_ok_and(f64::is_finite)
}

/// A table: a header and rows of texts.
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// The xlsx sheet's name.
    pub sheet: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(sheet: &str, headers: &[&str]) -> Self {
        Self { sheet: sheet.into(), headers: headers.iter().map(|h| (*h).to_string()).collect(), rows: Vec::new() }
    }

    pub fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }
}

/// Writes `table` as CSV: BOM, header, rows, every field guarded.
pub fn write_csv<W: Write>(mut out: W, table: &Table) -> Result<(), ExportError> {
    out.write_all(BOM.as_bytes())?;
    let mut w = csv::Writer::from_writer(out);
    w.write_record(table.headers.iter().map(|h| guard(h)).map(|h| h.into_owned()))?;
    for row in &table.rows {
        w.write_record(row.iter().map(|f| guard(f).into_owned()))?;
    }
    w.flush()?;
    Ok(())
}

/// The table as an xlsx workbook: one sheet, a bold header, every field a string cell.
pub fn write_xlsx(table: &Table) -> Result<Vec<u8>, ExportError> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name(&table.sheet)?;
    let head = Format::new().set_bold();
    for (c, h) in table.headers.iter().enumerate() {
        ws.write_string_with_format(0, col(c), h, &head)?;
    }
    for (r, row) in table.rows.iter().enumerate() {
        let r = u32::try_from(r + 1).unwrap_or(u32::MAX);
        for (c, v) in row.iter().enumerate() {
            ws.write_string(r, col(c), v)?;
        }
    }
    if !table.headers.is_empty() {
        ws.set_freeze_panes(1, 0)?;
    }
    Ok(wb.save_to_buffer()?)
}

fn col(c: usize) -> u16 {
    u16::try_from(c).unwrap_or(u16::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_starts_are_guarded_and_numbers_are_not() {
        let cases = [
            ("=HYPERLINK(\"http://x\",\"bấm\")", "'=HYPERLINK(\"http://x\",\"bấm\")"),
            ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
            ("+1+1", "'+1+1"),
            ("-2+3", "'-2+3"),
            ("@SUM(1,2)", "'@SUM(1,2)"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\r=1"),
            ("-inf", "'-inf"),
            ("-NaN", "'-NaN"),
            ("-", "'-"),
            ("-12", "-12"),
            ("-12.5", "-12.5"),
            ("+3", "+3"),
            ("1e3", "1e3"),
            ("85,5%", "85,5%"),
            ("Đạt 80% (=12/15)", "Đạt 80% (=12/15)"),
            ("", ""),
        ];
        for (raw, want) in cases {
            assert_eq!(guard(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn csv_has_a_bom_quotes_and_guards() {
        let mut t = Table::new("x", &["a", "b"]);
        t.push(vec!["=1+1".into(), "x, \"y\"\nz".into()]);
        t.push(vec!["-5".into(), "Sở Y tế".into()]);
        let mut out = Vec::new();
        write_csv(&mut out, &t).unwrap();
        let s = String::from_utf8(out).unwrap();
        assert_eq!(s, "\u{feff}a,b\n'=1+1,\"x, \"\"y\"\"\nz\"\n-5,Sở Y tế\n");
    }
}
