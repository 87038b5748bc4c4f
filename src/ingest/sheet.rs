//! Reading workbooks: xlsx, xlsm, xlsb, xls and ods through calamine, as rows of cells
//! with their locations.
//!
//! xlsx/xlsm sheets are streamed (values and style ids in one pass over the XML), so a
//! 200,000-row file is never held whole and percent-formatted cells are known without a
//! second read. The other formats are read whole by calamine. The format is decided by
//! the file's bytes, not its name: an HTML error page saved as `.xlsx` is recognised as
//! what it is.

use std::io::Cursor;
use std::sync::Arc;

use calamine::{Data, DataRef, Reader, SheetVisible, Sheets};
use chrono::NaiveDateTime;

/// The format a file's first bytes say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileFormat {
    /// A zip holding `xl/workbook.xml` (xlsx, xlsm).
    Xlsx,
    /// A zip holding `xl/workbook.bin`.
    Xlsb,
    /// An OLE2 compound file (Excel 97–2003).
    Xls,
    /// A zip holding an OpenDocument spreadsheet.
    Ods,
    Json,
    Html,
    Unknown,
}

impl FileFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            FileFormat::Xlsx => "xlsx",
            FileFormat::Xlsb => "xlsb",
            FileFormat::Xls => "xls",
            FileFormat::Ods => "ods",
            FileFormat::Json => "json",
            FileFormat::Html => "html",
            FileFormat::Unknown => "unknown",
        }
    }

    pub fn is_workbook(self) -> bool {
        matches!(self, FileFormat::Xlsx | FileFormat::Xlsb | FileFormat::Xls | FileFormat::Ods)
    }

    /// Sniffs the bytes.
    pub fn detect(bytes: &[u8]) -> Self {
        if bytes.starts_with(b"PK\x03\x04") {
            let head = &bytes[..bytes.len().min(4096)];
            let has = |needle: &[u8]| head.windows(needle.len()).any(|w| w == needle) || contains(bytes, needle);
            if has(b"mimetypeapplication/vnd.oasis.opendocument.spreadsheet") {
                return FileFormat::Ods;
            }
            if has(b"xl/workbook.bin") {
                return FileFormat::Xlsb;
            }
            if has(b"xl/") {
                return FileFormat::Xlsx;
            }
            return FileFormat::Unknown;
        }
        if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
            return FileFormat::Xls;
        }
        let text_start: Vec<u8> = bytes
            .iter()
            .skip_while(|b| b.is_ascii_whitespace() || **b == 0xEF || **b == 0xBB || **b == 0xBF)
            .take(64)
            .map(u8::to_ascii_lowercase)
            .collect();
        if text_start.starts_with(b"<!doctype html")
            || text_start.starts_with(b"<html")
            || text_start.starts_with(b"<?xml") && contains(&bytes[..bytes.len().min(1024)], b"<html")
        {
            return FileFormat::Html;
        }
        if text_start.starts_with(b"{") || text_start.starts_with(b"[") {
            return FileFormat::Json;
        }
        FileFormat::Unknown
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// A cell's value.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Cell {
    #[default]
    Empty,
    Text(String),
    /// `percent` when the cell's number format is a percentage (xlsx only).
    Number {
        value: f64,
        percent: bool,
    },
    Bool(bool),
    Date(NaiveDateTime),
    Error(String),
}

impl Cell {
    pub fn is_empty(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(t) => t.trim().is_empty() || t.trim() == "\u{a0}",
            _ => false,
        }
    }

    /// The cell as text, as an officer would read it.
    pub fn text(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(t) => t.clone(),
            Cell::Number { value, percent: true } => format!("{}%", crate::domain::number::format_vi(value * 100.0, 2)),
            Cell::Number { value, percent: false } => {
                if value.fract() == 0.0 && value.abs() < 1e15 {
                    format!("{value:.0}")
                } else {
                    value.to_string()
                }
            }
            Cell::Bool(b) => if *b { "TRUE" } else { "FALSE" }.into(),
            Cell::Date(d) => d.format("%d/%m/%Y").to_string(),
            Cell::Error(e) => e.clone(),
        }
    }
}

/// A row: its 0-based index and dense cells from column A.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub index: u32,
    pub cells: Vec<Cell>,
}

impl Row {
    pub fn get(&self, col: usize) -> &Cell {
        self.cells.get(col).unwrap_or(&Cell::Empty)
    }

    pub fn is_blank(&self) -> bool {
        self.cells.iter().all(Cell::is_empty)
    }
}

/// `(0, 3)` → `D1`.
pub fn cell_ref(row: u32, col: usize) -> String {
    format!("{}{}", column_letters(col), row + 1)
}

/// `0` → `A`, `27` → `AB`.
pub fn column_letters(mut col: usize) -> String {
    let mut out = Vec::new();
    loop {
        out.push(b'A' + (col % 26) as u8);
        if col < 26 {
            break;
        }
        col = col / 26 - 1;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// `AB` → `27`.
pub fn column_index(letters: &str) -> Option<usize> {
    let letters = letters.trim();
    if letters.is_empty() || letters.len() > 3 || !letters.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    let mut n = 0usize;
    for c in letters.chars() {
        n = n * 26 + (c.to_ascii_uppercase() as usize - 'A' as usize + 1);
    }
    Some(n - 1)
}

/// Why a workbook could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error("the file is a web page (HTML), not a workbook")]
    Html,
    #[error("the file is empty")]
    Empty,
    #[error("the file is not a workbook (xlsx, xls, xlsb or ods)")]
    NotAWorkbook,
    #[error("the workbook cannot be opened: {0}")]
    Corrupt(String),
    #[error("the workbook has no sheet named `{0}`")]
    NoSuchSheet(String),
}

impl ReadError {
    pub fn code(&self) -> &'static str {
        match self {
            ReadError::Html => "html_page",
            ReadError::Empty => "empty_file",
            ReadError::NotAWorkbook => "not_a_workbook",
            ReadError::Corrupt(_) => "corrupt_workbook",
            ReadError::NoSuchSheet(_) => "no_such_sheet",
        }
    }

    /// What the officer reads.
    pub fn vi(&self) -> String {
        match self {
            ReadError::Html => {
                "Tệp nhận được là một trang web (HTML), không phải tệp Excel: đường dẫn có thể sai hoặc máy chủ yêu cầu đăng nhập".into()
            }
            ReadError::Empty => "Tệp rỗng (0 byte)".into(),
            ReadError::NotAWorkbook => "Tệp không phải bảng tính Excel (xlsx, xls, xlsb) hoặc ODS".into(),
            ReadError::Corrupt(d) => format!("Không mở được tệp bảng tính: tệp bị hỏng hoặc lưu chưa xong ({d})"),
            ReadError::NoSuchSheet(s) => format!("Không có trang tính “{s}” trong tệp"),
        }
    }
}

/// Sheet name and visibility.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetInfo {
    pub name: String,
    pub visible: bool,
}

/// An open workbook.
pub struct Workbook {
    pub format: FileFormat,
    inner: Sheets<Cursor<Arc<[u8]>>>,
}

impl std::fmt::Debug for Workbook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workbook").field("format", &self.format).finish()
    }
}

/// A source of rows, in order.
pub trait RowSource {
    fn next_row(&mut self) -> Result<Option<Row>, ReadError>;
}

impl Workbook {
    pub fn open(bytes: Arc<[u8]>) -> Result<Self, ReadError> {
        if bytes.is_empty() {
            return Err(ReadError::Empty);
        }
        let format = FileFormat::detect(&bytes);
        let cursor = Cursor::new(bytes);
        let corrupt = |e: &dyn std::fmt::Display| ReadError::Corrupt(e.to_string());
        let inner = match format {
            FileFormat::Html => return Err(ReadError::Html),
            FileFormat::Xlsx => Sheets::Xlsx(calamine::open_workbook_from_rs(cursor).map_err(|e| corrupt(&e))?),
            FileFormat::Xlsb => Sheets::Xlsb(calamine::open_workbook_from_rs(cursor).map_err(|e| corrupt(&e))?),
            FileFormat::Xls => Sheets::Xls(calamine::open_workbook_from_rs(cursor).map_err(|e| corrupt(&e))?),
            FileFormat::Ods => Sheets::Ods(calamine::open_workbook_from_rs(cursor).map_err(|e| corrupt(&e))?),
            FileFormat::Json | FileFormat::Unknown => return Err(ReadError::NotAWorkbook),
        };
        Ok(Self { format, inner })
    }

    pub fn sheets(&self) -> Vec<SheetInfo> {
        self.inner
            .sheets_metadata()
            .iter()
            .map(|s| SheetInfo { name: s.name.clone(), visible: s.visible == SheetVisible::Visible })
            .collect()
    }

    /// The rows of a sheet, streamed for xlsx.
    pub fn rows(&mut self, sheet: &str) -> Result<Box<dyn RowSource + Send + '_>, ReadError> {
        if !self.sheets().iter().any(|s| s.name == sheet) {
            return Err(ReadError::NoSuchSheet(sheet.to_string()));
        }
        match &mut self.inner {
            Sheets::Xlsx(x) => {
                let reader = x.worksheet_cells_reader(sheet).map_err(|e| ReadError::Corrupt(e.to_string()))?;
                let percent_styles: Vec<bool> = reader
                    .styles()
                    .iter()
                    .map(|s| s.number_format.as_ref().is_some_and(|f| is_percent_format(&f.format_code)))
                    .collect();
                Ok(Box::new(XlsxRows { reader, percent_styles, pending: None, done: false }))
            }
            other => {
                let range = other.worksheet_range(sheet).map_err(|e| ReadError::Corrupt(e.to_string()))?;
                Ok(Box::new(RangeRows::new(range)))
            }
        }
    }
}

/// A number format shows a percentage when it has an unquoted, unescaped `%`.
fn is_percent_format(code: &str) -> bool {
    let mut quoted = false;
    let mut escaped = false;
    for c in code.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            '%' if !quoted => return true,
            _ => {}
        }
    }
    false
}

fn from_data_ref(d: DataRef<'_>, percent: bool) -> Cell {
    match d {
        DataRef::Empty => Cell::Empty,
        DataRef::String(s) => Cell::Text(s),
        DataRef::SharedString(s) => Cell::Text(s.to_string()),
        DataRef::Float(f) => Cell::Number { value: f, percent },
        DataRef::Int(i) => Cell::Number { value: i as f64, percent },
        DataRef::Bool(b) => Cell::Bool(b),
        DataRef::DateTime(dt) => {
            dt.as_datetime().map_or_else(|| Cell::Number { value: dt.as_f64(), percent: false }, Cell::Date)
        }
        DataRef::DateTimeIso(s) => parse_iso(&s).map_or(Cell::Text(s), Cell::Date),
        DataRef::DurationIso(s) => Cell::Text(s),
        DataRef::Error(e) => Cell::Error(e.to_string()),
    }
}

fn from_data(d: &Data) -> Cell {
    match d {
        Data::Empty => Cell::Empty,
        Data::String(s) => Cell::Text(s.clone()),
        Data::Float(f) => Cell::Number { value: *f, percent: false },
        Data::Int(i) => Cell::Number { value: *i as f64, percent: false },
        Data::Bool(b) => Cell::Bool(*b),
        Data::DateTime(dt) => {
            dt.as_datetime().map_or_else(|| Cell::Number { value: dt.as_f64(), percent: false }, Cell::Date)
        }
        Data::DateTimeIso(s) => parse_iso(s).map_or_else(|| Cell::Text(s.clone()), Cell::Date),
        Data::DurationIso(s) => Cell::Text(s.clone()),
        Data::Error(e) => Cell::Error(e.to_string()),
    }
}

fn parse_iso(s: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S")
        .ok()
        .or_else(|| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)))
}

struct XlsxRows<'a> {
    reader: calamine::XlsxCellReader<'a, Cursor<Arc<[u8]>>>,
    percent_styles: Vec<bool>,
    pending: Option<(u32, u32, Cell)>,
    done: bool,
}

impl RowSource for XlsxRows<'_> {
    fn next_row(&mut self) -> Result<Option<Row>, ReadError> {
        let mut row: Option<Row> = None;
        loop {
            let next = match self.pending.take() {
                Some(p) => Some(p),
                None if self.done => None,
                None => match self.reader.next_cell_with_style_id().map_err(|e| ReadError::Corrupt(e.to_string()))? {
                    Some((cell, style)) => {
                        let (r, c) = cell.get_position();
                        let percent = self.percent_styles.get(style).copied().unwrap_or(false);
                        Some((r, c, from_data_ref(cell.get_value().clone(), percent)))
                    }
                    None => {
                        self.done = true;
                        None
                    }
                },
            };
            let Some((r, c, value)) = next else { return Ok(row) };
            match &mut row {
                Some(current) if current.index != r => {
                    self.pending = Some((r, c, value));
                    return Ok(row);
                }
                Some(current) => put(&mut current.cells, c as usize, value),
                None => {
                    let mut cells = Vec::new();
                    put(&mut cells, c as usize, value);
                    row = Some(Row { index: r, cells });
                }
            }
        }
    }
}

fn put(cells: &mut Vec<Cell>, col: usize, value: Cell) {
    if col >= 16_384 {
        return;
    }
    if cells.len() <= col {
        cells.resize(col + 1, Cell::Empty);
    }
    cells[col] = value;
}

struct RangeRows {
    range: calamine::Range<Data>,
    next: usize,
    start: (u32, u32),
}

impl RangeRows {
    fn new(range: calamine::Range<Data>) -> Self {
        let start = range.start().unwrap_or((0, 0));
        Self { range, next: 0, start }
    }
}

impl RowSource for RangeRows {
    fn next_row(&mut self) -> Result<Option<Row>, ReadError> {
        let height = self.range.height();
        if self.next >= height {
            return Ok(None);
        }
        let i = self.next;
        self.next += 1;
        let mut cells = vec![Cell::Empty; self.start.1 as usize];
        cells.extend((0..self.range.width()).map(|c| self.range.get((i, c)).map_or(Cell::Empty, from_data)));
        while cells.last().is_some_and(Cell::is_empty) {
            cells.pop();
        }
        Ok(Some(Row { index: self.start.0 + i as u32, cells }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_letters_round_trip() {
        for (i, s) in [(0, "A"), (25, "Z"), (26, "AA"), (27, "AB"), (701, "ZZ"), (702, "AAA")] {
            assert_eq!(column_letters(i), s);
            assert_eq!(column_index(s), Some(i));
        }
        assert_eq!(cell_ref(11, 3), "D12");
        assert_eq!(column_index("a1"), None);
    }

    #[test]
    fn percent_formats() {
        assert!(is_percent_format("0%"));
        assert!(is_percent_format("0.00%"));
        assert!(!is_percent_format("0.00\"%\""));
        assert!(!is_percent_format("0.00\\%"));
        assert!(!is_percent_format("#,##0"));
    }

    #[test]
    fn sniffs_formats() {
        assert_eq!(FileFormat::detect(b"<!DOCTYPE html><html>"), FileFormat::Html);
        assert_eq!(FileFormat::detect(b"\n  <html lang=vi>"), FileFormat::Html);
        assert_eq!(FileFormat::detect(b"{\"data\": []}"), FileFormat::Json);
        assert_eq!(FileFormat::detect(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0]), FileFormat::Xls);
        assert_eq!(FileFormat::detect(b"hello"), FileFormat::Unknown);
        assert_eq!(Workbook::open(Arc::from(&b"<html><body>404</body></html>"[..])).unwrap_err(), ReadError::Html);
        assert_eq!(Workbook::open(Arc::from(&b""[..])).unwrap_err(), ReadError::Empty);
        let truncated_zip = Arc::from(&b"PK\x03\x04xl/workbook.xml garbage"[..]);
        assert!(matches!(Workbook::open(truncated_zip).unwrap_err(), ReadError::Corrupt(_)));
    }
}
