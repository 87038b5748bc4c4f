//! Reading workbooks: xlsx, xlsm, xlsb, xls and ods through calamine, as rows of cells
//! with their locations.
//!
//! xlsx/xlsm sheets are streamed (values and style ids in one pass over the XML), so a
//! 200,000-row file is never held whole and percent-formatted cells are known without a
//! second read. The other formats are read whole by calamine. The format is decided by
//! the file's bytes, not its name: an HTML error page saved as `.xlsx` is recognised as
//! what it is.
//!
//! A value's unit comes from the file itself. calamine gives number formats for xlsx only;
//! for xls the BIFF records are walked once more ([`xls_formats`]) and for ods the cells'
//! value types are read from `content.xml` ([`ods_cells`]), and [`Workbook::rows`] sets
//! the `percent` flag of [`Cell::Number`] from them (and turns ods error cells into [`Cell::Error`]).
//!
//! Reading is bounded and never panics out: a zip's central directory is checked against
//! [`ReadLimits`] before calamine inflates anything (the zip crate refuses to inflate a
//! part past its declared size, so the declared sizes are what is read), an xls Workbook
//! stream likewise, an xls or ods sheet (which calamine builds whole, as a dense grid) may
//! not span more than an xls sheet's 65,536 × 256 cells from its first value to its last,
//! a cell's text is capped at Excel's own 32,767 characters, and every
//! call into calamine or our own parsers runs under `catch_unwind`, a panic becoming
//! [`ReadError::ReaderFailed`].
//!
//! Owns: `Workbook`, `Row`, `Cell`, `FileFormat`, `ReadLimits`, `CellMarks` and
//! `ReadError`, and the cell-reference helpers (`column_index`, `column_letters`,
//! `cell_ref`). Receives: a file's bytes from `ingest` (and `sources::json_api`, which also
//! uses `FileFormat`). Hands on: rows of cells to `ingest::layout`, `ingest::normalize`,
//! `ingest::template` and `ingest`; `FileFormat` to `jobs::collect` and `cli::collect`;
//! `column_letters` to `report::template`.

use std::collections::HashMap;
use std::io::Cursor;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use calamine::{Data, DataRef, Reader, SheetVisible, Sheets};
use chrono::NaiveDateTime;

use crate::domain::number::format_vi;

#[path = "ods_cells.rs"]
pub mod ods_cells;
#[path = "xls_formats.rs"]
pub mod xls_formats;

/// Largest uncompressed size of one zip part (or of an xls Workbook stream).
pub const MAX_PART_BYTES: u64 = 256 * 1024 * 1024;
/// Largest uncompressed size of all of a zip's parts together.
pub const MAX_TOTAL_BYTES: u64 = 512 * 1024 * 1024;
/// Parts larger than this may not expand more than [`MAX_RATIO`] times.
pub const RATIO_FLOOR_BYTES: u64 = 16 * 1024 * 1024;
/// Largest uncompressed/compressed ratio of a large part.
pub const MAX_RATIO: u64 = 1_000;
/// Longest text of one cell, in characters: Excel's own limit.
pub const MAX_CELL_CHARS: usize = 32_767;
/// Most cells (the box from the first to the last value) of a sheet read whole (xls, ods):
/// the whole grid of an xls sheet, 65,536 rows by 256 columns.
pub const MAX_SHEET_CELLS: u64 = 65_536 * 256;

/// Bounds on what reading one workbook may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimits {
    /// Largest declared uncompressed size of one zip part, and largest xls Workbook stream.
    pub max_part_bytes: u64,
    /// Largest sum of the declared uncompressed sizes of a zip's parts.
    pub max_total_bytes: u64,
    /// Parts with a declared size above this are held to `max_ratio`.
    pub ratio_floor_bytes: u64,
    /// Largest uncompressed/compressed ratio of a part above `ratio_floor_bytes`.
    pub max_ratio: u64,
    /// Longest text of one cell, in characters.
    pub max_cell_chars: usize,
    /// Most cells of a sheet read whole (xls, ods), counted over the box of its values.
    pub max_sheet_cells: u64,
}

impl Default for ReadLimits {
    fn default() -> Self {
        Self {
            max_part_bytes: MAX_PART_BYTES,
            max_total_bytes: MAX_TOTAL_BYTES,
            ratio_floor_bytes: RATIO_FLOOR_BYTES,
            max_ratio: MAX_RATIO,
            max_cell_chars: MAX_CELL_CHARS,
            max_sheet_cells: MAX_SHEET_CELLS,
        }
    }
}

/// What a sheet's cells are, read from the file where calamine does not say: positions
/// `(row, col)`, 0-based and absolute, sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CellMarks {
    /// Numbers shown as percentages.
    pub percent: Vec<(u32, u32)>,
    /// Error cells and the text they show (`#DIV/0!`, `Err:502`).
    pub errors: Vec<((u32, u32), String)>,
    /// The smallest box holding every cell with a value, `(first_row, first_col, last_row,
    /// last_col)`: calamine materialises all of it.
    pub extent: Option<(u32, u32, u32, u32)>,
}

impl CellMarks {
    /// Widens the extent to cover rows `rows` and columns `cols`.
    pub fn include(&mut self, rows: (u32, u32), cols: (u32, u32)) {
        let (r0, c0, r1, c1) = self.extent.unwrap_or((rows.0, cols.0, rows.1, cols.1));
        self.extent = Some((r0.min(rows.0), c0.min(cols.0), r1.max(rows.1), c1.max(cols.1)));
    }

    /// How many cells the extent holds.
    pub fn area(&self) -> u64 {
        self.extent.map_or(0, |(r0, c0, r1, c1)| {
            (u64::from(r1.saturating_sub(r0)) + 1) * (u64::from(c1.saturating_sub(c0)) + 1)
        })
    }

    /// Sorts and deduplicates, as the row walk needs.
    pub fn finish(&mut self) {
        self.percent.sort_unstable();
        self.percent.dedup();
        self.errors.sort_by_key(|e| e.0);
        self.errors.dedup_by_key(|e| e.0);
    }
}

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
    /// `percent` when the cell's number format is a percentage (xlsx, xls) or its ods value
    /// type is `percentage`; not known for xlsb.
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
    /// The reader panicked or gave up mid-way on a damaged file.
    #[error("the workbook reader failed: {0}")]
    ReaderFailed(String),
    #[error("part `{part}` is {size} bytes uncompressed, over the limit of {limit}")]
    PartTooLarge { part: String, size: u64, limit: u64 },
    #[error("the parts are {total} bytes uncompressed in all, over the limit of {limit}")]
    WorkbookTooLarge { total: u64, limit: u64 },
    #[error("part `{part}` expands from {compressed} to {size} bytes, over {max_ratio} times")]
    SuspiciousCompression { part: String, size: u64, compressed: u64, max_ratio: u64 },
    #[error("cell {cell} of sheet `{sheet}` holds {chars} characters, over the limit of {limit}")]
    CellTooLong { sheet: String, cell: String, chars: usize, limit: usize },
    #[error("sheet `{sheet}` spans {cells} cells, over the limit of {limit}")]
    SheetTooLarge { sheet: String, cells: u64, limit: u64 },
}

impl ReadError {
    pub fn code(&self) -> &'static str {
        match self {
            ReadError::Html => "html_page",
            ReadError::Empty => "empty_file",
            ReadError::NotAWorkbook => "not_a_workbook",
            ReadError::Corrupt(_) => "corrupt_workbook",
            ReadError::NoSuchSheet(_) => "no_such_sheet",
            ReadError::ReaderFailed(_) => "reader_failed",
            ReadError::PartTooLarge { .. } => "part_too_large",
            ReadError::WorkbookTooLarge { .. } => "workbook_too_large",
            ReadError::SuspiciousCompression { .. } => "suspicious_compression",
            ReadError::CellTooLong { .. } => "cell_too_long",
            ReadError::SheetTooLarge { .. } => "sheet_too_large",
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
            ReadError::ReaderFailed(_) => format!(
                "Không đọc được tệp bảng tính đến hết: tệp có chỗ hỏng nên {NOTHING_STORED}. {RESAVE}"
            ),
            ReadError::PartTooLarge { part, size, limit } => format!(
                "Phần “{part}” của tệp bảng tính khi giải nén lớn {}, quá giới hạn {}, nên {NOTHING_STORED}. {TRIM}",
                bytes_vi(*size),
                bytes_vi(*limit)
            ),
            ReadError::WorkbookTooLarge { total, limit } => format!(
                "Tệp bảng tính khi giải nén lớn tổng cộng {}, quá giới hạn {}, nên {NOTHING_STORED}. {TRIM}",
                bytes_vi(*total),
                bytes_vi(*limit)
            ),
            ReadError::SuspiciousCompression { part, size, compressed, .. } => format!(
                "Phần “{part}” của tệp bảng tính nén bất thường ({} giải nén thành {}): tệp có thể bị hỏng, nên {NOTHING_STORED}. {RESAVE}",
                bytes_vi(*compressed),
                bytes_vi(*size)
            ),
            ReadError::CellTooLong { sheet, cell, chars, limit } => format!(
                "Ô {cell} của trang “{sheet}” dài {} ký tự, quá giới hạn {} ký tự của Excel, nên {NOTHING_STORED}. Hãy sửa ô đó rồi lưu và gửi lại",
                format_vi(*chars as f64, 0),
                format_vi(*limit as f64, 0)
            ),
            ReadError::SheetTooLarge { sheet, cells, limit } => format!(
                "Trang “{sheet}” trải trên {} ô, quá giới hạn {} ô: tệp quá lớn hoặc bị hỏng, nên {NOTHING_STORED}. {TRIM}",
                format_vi(*cells as f64, 0),
                format_vi(*limit as f64, 0)
            ),
        }
    }
}

const NOTHING_STORED: &str = "không có số liệu nào từ tệp này được lưu";
const RESAVE: &str = "Hãy mở tệp bằng Excel hoặc LibreOffice, lưu lại (Save As) rồi gửi lại";
const TRIM: &str = "Hãy xoá các trang, ô thừa hoặc hình ảnh lớn, lưu lại rồi gửi lại";

/// `1_572_864` → `1,5 MB`.
fn bytes_vi(n: u64) -> String {
    const MB: f64 = 1024.0 * 1024.0;
    if (n as f64) < MB {
        format!("{} byte", format_vi(n as f64, 0))
    } else {
        format!("{} MB", format_vi(n as f64 / MB, 1))
    }
}

/// Runs a reader, turning a panic into [`ReadError::ReaderFailed`].
fn guarded<T>(f: impl FnOnce() -> Result<T, ReadError>) -> Result<T, ReadError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        let detail = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".into());
        Err(ReadError::ReaderFailed(detail))
    })
}

/// Refuses a zip whose parts would inflate past `limits`, reading only its directory.
pub fn check_zip_sizes(bytes: &[u8], limits: &ReadLimits) -> Result<(), ReadError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| ReadError::Corrupt(format!("zip: {e}")))?;
    let mut total = 0u64;
    for i in 0..archive.len() {
        let part = archive.by_index_raw(i).map_err(|e| ReadError::Corrupt(format!("zip: {e}")))?;
        let (size, compressed) = (part.size(), part.compressed_size());
        let name = || part.name().map_or_else(|_| format!("#{i}"), |n| n.into_owned());
        if size > limits.max_part_bytes {
            return Err(ReadError::PartTooLarge { part: name(), size, limit: limits.max_part_bytes });
        }
        if size > limits.ratio_floor_bytes && size / compressed.max(1) > limits.max_ratio {
            return Err(ReadError::SuspiciousCompression {
                part: name(),
                size,
                compressed,
                max_ratio: limits.max_ratio,
            });
        }
        total = total.saturating_add(size);
        if total > limits.max_total_bytes {
            return Err(ReadError::WorkbookTooLarge { total, limit: limits.max_total_bytes });
        }
    }
    Ok(())
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
    /// Per sheet, what calamine does not say (xls and ods).
    marks: HashMap<String, Arc<CellMarks>>,
    limits: ReadLimits,
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
        Self::open_with_limits(bytes, ReadLimits::default())
    }

    /// Opens with other bounds than the defaults (tests use small ones).
    pub fn open_with_limits(bytes: Arc<[u8]>, limits: ReadLimits) -> Result<Self, ReadError> {
        if bytes.is_empty() {
            return Err(ReadError::Empty);
        }
        let format = FileFormat::detect(&bytes);
        let marks = match format {
            FileFormat::Html => return Err(ReadError::Html),
            FileFormat::Json | FileFormat::Unknown => return Err(ReadError::NotAWorkbook),
            FileFormat::Xlsx | FileFormat::Xlsb => {
                guarded(|| check_zip_sizes(&bytes, &limits))?;
                HashMap::new()
            }
            FileFormat::Ods => {
                guarded(|| check_zip_sizes(&bytes, &limits))?;
                guarded(|| ods_cells::cell_marks(&bytes).map_err(|e| ReadError::Corrupt(e.to_string())))?
            }
            FileFormat::Xls => guarded(|| {
                xls_formats::percent_cells(&bytes, limits.max_part_bytes).map_err(|e| match e {
                    xls_formats::XlsFormatError::StreamTooLarge { stream, size, limit } => {
                        ReadError::PartTooLarge { part: stream, size, limit }
                    }
                    other => ReadError::Corrupt(other.to_string()),
                })
            })?,
        };
        // calamine builds each of these sheets whole, and an xls file all of them at once.
        if let Some((sheet, m)) = marks.iter().find(|(_, m)| m.area() > limits.max_sheet_cells) {
            return Err(ReadError::SheetTooLarge {
                sheet: sheet.clone(),
                cells: m.area(),
                limit: limits.max_sheet_cells,
            });
        }
        let marks = marks.into_iter().map(|(k, v)| (k, Arc::new(v))).collect();
        let cursor = Cursor::new(bytes);
        let corrupt = |e: &dyn std::fmt::Display| ReadError::Corrupt(e.to_string());
        let inner = guarded(|| {
            Ok(match format {
                FileFormat::Xlsx => Sheets::Xlsx(calamine::open_workbook_from_rs(cursor).map_err(|e| corrupt(&e))?),
                FileFormat::Xlsb => Sheets::Xlsb(calamine::open_workbook_from_rs(cursor).map_err(|e| corrupt(&e))?),
                FileFormat::Xls => Sheets::Xls(calamine::open_workbook_from_rs(cursor).map_err(|e| corrupt(&e))?),
                FileFormat::Ods => Sheets::Ods(calamine::open_workbook_from_rs(cursor).map_err(|e| corrupt(&e))?),
                FileFormat::Html | FileFormat::Json | FileFormat::Unknown => return Err(ReadError::NotAWorkbook),
            })
        })?;
        Ok(Self { format, inner, marks, limits })
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
        let max_cell_chars = self.limits.max_cell_chars;
        match &mut self.inner {
            Sheets::Xlsx(x) => guarded(move || {
                let reader = x.worksheet_cells_reader(sheet).map_err(|e| ReadError::Corrupt(e.to_string()))?;
                let percent_styles: Vec<bool> = reader
                    .styles()
                    .iter()
                    .map(|s| s.number_format.as_ref().is_some_and(|f| is_percent_format(&f.format_code)))
                    .collect();
                let rows: Box<dyn RowSource + Send + '_> = Box::new(XlsxRows {
                    reader,
                    percent_styles,
                    pending: None,
                    done: false,
                    failed: None,
                    sheet: sheet.to_string(),
                    max_cell_chars,
                });
                Ok(rows)
            }),
            other => {
                let range = guarded(|| other.worksheet_range(sheet).map_err(|e| ReadError::Corrupt(e.to_string())))?;
                let marks = self.marks.get(sheet).cloned().unwrap_or_default();
                Ok(Box::new(RangeRows::new(range, marks, sheet, max_cell_chars)))
            }
        }
    }
}

/// Refuses a text longer than `limit` characters.
fn check_len(cell: &Cell, sheet: &str, row: u32, col: usize, limit: usize) -> Result<(), ReadError> {
    if let Cell::Text(t) = cell
        && t.len() > limit
    {
        let chars = t.chars().count();
        if chars > limit {
            return Err(ReadError::CellTooLong { sheet: sheet.to_string(), cell: cell_ref(row, col), chars, limit });
        }
    }
    Ok(())
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
    /// Once the reader failed, every later call gives the same error.
    failed: Option<ReadError>,
    sheet: String,
    max_cell_chars: usize,
}

impl XlsxRows<'_> {
    fn next_cell(&mut self) -> Result<Option<(u32, u32, Cell)>, ReadError> {
        let (reader, percent_styles) = (&mut self.reader, &self.percent_styles);
        let next = guarded(|| match reader.next_cell_with_style_id() {
            Ok(Some((cell, style))) => {
                let (r, c) = cell.get_position();
                // A cell whose style the workbook does not hold (its styles part lost or
                // damaged) has an unknown number format: 1 may be 100% or 1. Not a guess to
                // make; the file is damaged. Style 0 is the default, present or not.
                let percent = match percent_styles.get(style) {
                    Some(&p) => p,
                    None if style == 0 => false,
                    None => {
                        return Err(ReadError::Corrupt(format!(
                            "cell {} uses cell style {style}, which the workbook does not contain (its styles part is missing or damaged)",
                            cell_ref(r, c as usize)
                        )));
                    }
                };
                Ok(Some((r, c, from_data_ref(cell.get_value().clone(), percent))))
            }
            Ok(None) => Ok(None),
            Err(e) => Err(ReadError::Corrupt(e.to_string())),
        })?;
        if let Some((r, c, cell)) = &next {
            check_len(cell, &self.sheet, *r, *c as usize, self.max_cell_chars)?;
        }
        Ok(next)
    }
}

impl RowSource for XlsxRows<'_> {
    fn next_row(&mut self) -> Result<Option<Row>, ReadError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let mut row: Option<Row> = None;
        loop {
            let next = match self.pending.take() {
                Some(p) => Some(p),
                None if self.done => None,
                None => match self.next_cell() {
                    Ok(Some(cell)) => Some(cell),
                    Ok(None) => {
                        self.done = true;
                        None
                    }
                    Err(e) => {
                        self.failed = Some(e.clone());
                        return Err(e);
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
    marks: Arc<CellMarks>,
    /// Where the walk is in `marks.percent` and `marks.errors`.
    percent_at: usize,
    error_at: usize,
    sheet: String,
    max_cell_chars: usize,
}

impl RangeRows {
    fn new(range: calamine::Range<Data>, marks: Arc<CellMarks>, sheet: &str, max_cell_chars: usize) -> Self {
        let start = range.start().unwrap_or((0, 0));
        Self { range, next: 0, start, marks, percent_at: 0, error_at: 0, sheet: sheet.to_string(), max_cell_chars }
    }

    /// Applies the marks of row `index` (rows are visited in order, so the walk is linear).
    fn mark(&mut self, index: u32, cells: &mut Vec<Cell>) {
        let percent = &self.marks.percent;
        while percent.get(self.percent_at).is_some_and(|&(r, _)| r < index) {
            self.percent_at += 1;
        }
        while let Some(&(r, c)) = percent.get(self.percent_at)
            && r == index
        {
            if let Some(Cell::Number { percent, .. }) = cells.get_mut(c as usize) {
                *percent = true;
            }
            self.percent_at += 1;
        }
        let errors = &self.marks.errors;
        while errors.get(self.error_at).is_some_and(|e| e.0.0 < index) {
            self.error_at += 1;
        }
        while let Some(((r, c), text)) = errors.get(self.error_at)
            && *r == index
        {
            put(cells, *c as usize, Cell::Error(text.clone()));
            self.error_at += 1;
        }
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
        let index = self.start.0 + i as u32;
        let mut cells = vec![Cell::Empty; self.start.1 as usize];
        cells.extend((0..self.range.width()).map(|c| self.range.get((i, c)).map_or(Cell::Empty, from_data)));
        for (col, cell) in cells.iter().enumerate() {
            check_len(cell, &self.sheet, index, col, self.max_cell_chars)?;
        }
        self.mark(index, &mut cells);
        while cells.last().is_some_and(Cell::is_empty) {
            cells.pop();
        }
        Ok(Some(Row { index, cells }))
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
