//! Which cells of an ods workbook hold percentages, and which hold formula errors.
//!
//! calamine reads an ods cell's value but not its `office:value-type`: a cell LibreOffice
//! shows as `82,3%` (`office:value-type="percentage" office:value="0.823"`) reaches us as a
//! bare `0.823`, and an error cell (`calcext:value-type="error"`, text `#DIV/0!` or
//! `Err:502`) as ordinary text. This module streams `content.xml` once more with quick-xml
//! (the version calamine already links) and keeps, per `table:table`, only the positions of
//! those cells.
//!
//! Positions are counted exactly as calamine counts them, so they index its ranges:
//! `table:number-rows-repeated` and `table:number-columns-repeated` advance the position
//! (capped at calamine's 1,048,576 rows and 16,384 columns) without materialising the empty
//! repeats LibreOffice writes for trailing rows and columns; `table:covered-table-cell`
//! takes a column like any cell; whatever a cell contains (paragraphs, annotations, nested
//! tables) is skipped as one unit.
//!
//! Hand-written because calamine's ods parser is private and no other crate reads ods cell
//! types without loading the whole document.
//!
//! Owns: `cell_marks` and `OdsCellsError`. Receives: an ods file's bytes from
//! `ingest::sheet` (this is `sheet::ods_cells`). Hands on: per sheet, the
//! `sheet::CellMarks` of percent and error cells to `sheet::Workbook::rows`.

use std::collections::HashMap;
use std::io::{BufReader, Cursor, Read};

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::QName;

use super::CellMarks;

/// calamine's caps on an ods sheet.
const MAX_ROWS: u64 = 1_048_576;
const MAX_COLUMNS: u64 = 16_384;
/// More marked cells than this in one workbook is not a department's report.
pub const MAX_MARKS: usize = 16_000_000;

/// Why the cell types could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OdsCellsError {
    #[error("the zip cannot be read: {0}")]
    Zip(String),
    #[error("content.xml: {0}")]
    Xml(String),
    #[error("content.xml: bad `{attribute}` value `{value}`")]
    Attribute { attribute: &'static str, value: String },
    #[error("more than {MAX_MARKS} percent or error cells")]
    TooManyMarks,
}

const TABLE: QName<'static> = QName("table:table");
const ROW: QName<'static> = QName("table:table-row");
const CELL: QName<'static> = QName("table:table-cell");
const COVERED: QName<'static> = QName("table:covered-table-cell");
const PARAGRAPH: QName<'static> = QName("text:p");
const VALUE_ATTRIBUTES: [&str; 6] = [
    "office:value",
    "office:string-value",
    "office:date-value",
    "office:time-value",
    "office:boolean-value",
    "table:formula",
];

/// The percent and error cells of every sheet, by sheet name.
pub fn cell_marks(bytes: &[u8]) -> Result<HashMap<String, CellMarks>, OdsCellsError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| OdsCellsError::Zip(e.to_string()))?;
    let content = archive.by_name("content.xml").map_err(|e| OdsCellsError::Zip(e.to_string()))?;
    let mut reader = Reader::from_reader(BufReader::new(content));
    let config = reader.config_mut();
    config.trim_text(false);
    config.expand_empty_elements = true;
    Scan { reader, buf: Vec::with_capacity(1024), marked: 0 }.document()
}

struct Scan<R: Read> {
    reader: Reader<BufReader<R>>,
    buf: Vec<u8>,
    marked: usize,
}

fn xml(e: impl std::fmt::Display) -> OdsCellsError {
    OdsCellsError::Xml(e.to_string())
}

/// An attribute's value, unescaped.
fn attr(e: &BytesStart<'_>, name: &'static str) -> Result<Option<String>, OdsCellsError> {
    match e.try_get_attribute(name).map_err(xml)? {
        Some(a) => Ok(Some(quick_xml::escape::unescape(&a.value).map_err(xml)?.into_owned())),
        None => Ok(None),
    }
}

fn repeats(e: &BytesStart<'_>, name: &'static str) -> Result<u64, OdsCellsError> {
    match attr(e, name)? {
        Some(v) => parse_repeats(name, &v),
        None => Ok(1),
    }
}

fn parse_repeats(attribute: &'static str, v: &str) -> Result<u64, OdsCellsError> {
    v.trim().parse().map_err(|_| OdsCellsError::Attribute { attribute, value: v.to_string() })
}

/// What a cell's attributes say, read in one pass without allocating (this runs for every
/// cell of the document).
struct CellAttributes {
    repeats: u64,
    percent: bool,
    error: bool,
    /// What calamine counts as a cell with a value.
    valued: bool,
}

impl CellAttributes {
    fn of(e: &BytesStart<'_>) -> Result<Self, OdsCellsError> {
        let mut out = CellAttributes { repeats: 1, percent: false, error: false, valued: false };
        for a in e.attributes().with_checks(false) {
            let a = a.map_err(xml)?;
            let value: &str = &a.value;
            match a.key.as_ref() {
                "table:number-columns-repeated" => out.repeats = parse_repeats("table:number-columns-repeated", value)?,
                "office:value-type" => {
                    out.percent = value == "percentage";
                    out.valued |= value == "string";
                }
                "calcext:value-type" => out.error = value == "error",
                key if VALUE_ATTRIBUTES.contains(&key) => out.valued = true,
                _ => {}
            }
        }
        Ok(out)
    }
}

impl<R: Read> Scan<R> {
    fn document(mut self) -> Result<HashMap<String, CellMarks>, OdsCellsError> {
        let mut sheets = HashMap::new();
        loop {
            self.buf.clear();
            let name = match self.reader.read_event_into(&mut self.buf).map_err(xml)? {
                Event::Start(e) if e.name() == TABLE => attr(&e, "table:name")?,
                Event::Eof => return Ok(sheets),
                _ => continue,
            };
            let marks = self.table()?;
            if let Some(name) = name {
                sheets.insert(name, marks);
            }
        }
    }

    /// From after `<table:table>` to its end.
    fn table(&mut self) -> Result<CellMarks, OdsCellsError> {
        let mut marks = CellMarks::default();
        let mut row = 0u64;
        loop {
            self.buf.clear();
            match self.reader.read_event_into(&mut self.buf).map_err(xml)? {
                Event::Start(e) if e.name() == ROW => {
                    let n = repeats(&e, "table:number-rows-repeated")?.min(MAX_ROWS.saturating_sub(row));
                    self.row(row, n, &mut marks)?;
                    row += n;
                }
                Event::End(e) if e.name() == TABLE => break,
                Event::Eof => return Err(OdsCellsError::Xml("unexpected end inside table:table".into())),
                _ => {}
            }
        }
        marks.finish();
        Ok(marks)
    }

    /// From after `<table:table-row>` to its end; the row stands for `rows` rows from `row`.
    fn row(&mut self, row: u64, rows: u64, marks: &mut CellMarks) -> Result<(), OdsCellsError> {
        let mut col = 0u64;
        loop {
            self.buf.clear();
            let (name, n, percent, error, valued) = match self.reader.read_event_into(&mut self.buf).map_err(xml)? {
                Event::Start(e) if e.name() == CELL || e.name() == COVERED => {
                    let cell = CellAttributes::of(&e)?;
                    let n = cell.repeats.min(MAX_COLUMNS.saturating_sub(col));
                    let name = if e.name() == CELL { CELL } else { COVERED };
                    (name, n, cell.percent, cell.error, cell.valued)
                }
                Event::End(e) if e.name() == ROW => return Ok(()),
                Event::Eof => return Err(OdsCellsError::Xml("unexpected end inside table:table-row".into())),
                _ => continue,
            };
            if valued && n > 0 && rows > 0 {
                // Both are below calamine's caps, so they fit in u32.
                marks.include((row as u32, (row + rows - 1) as u32), (col as u32, (col + n - 1) as u32));
            }
            let error_text = if error { Some(self.cell_text(name)?) } else { self.skip(name).map(|()| None)? };
            if percent || error_text.is_some() {
                let count = usize::try_from(rows.saturating_mul(n)).unwrap_or(usize::MAX);
                self.marked = self.marked.saturating_add(count);
                if self.marked > MAX_MARKS {
                    return Err(OdsCellsError::TooManyMarks);
                }
                for r in row..row + rows {
                    for c in col..col + n {
                        // Both are below calamine's caps, so they fit in u32.
                        let at = (r as u32, c as u32);
                        match &error_text {
                            Some(text) => marks.errors.push((at, text.clone())),
                            None => marks.percent.push(at),
                        }
                    }
                }
            }
            col += n;
        }
    }

    /// Skips to the end of the element `name` just opened.
    fn skip(&mut self, name: QName<'_>) -> Result<(), OdsCellsError> {
        let name = name.as_ref().to_string();
        self.buf.clear();
        self.reader.read_to_end_into(QName(&name), &mut self.buf).map_err(xml)?;
        Ok(())
    }

    /// The text of the cell `name` just opened, paragraphs joined by new lines; nested
    /// elements other than paragraphs and spans are skipped.
    fn cell_text(&mut self, name: QName<'_>) -> Result<String, OdsCellsError> {
        let name = name.as_ref().to_string();
        let mut text = String::new();
        let mut paragraphs = 0usize;
        let mut depth = 0usize;
        loop {
            self.buf.clear();
            match self.reader.read_event_into(&mut self.buf).map_err(xml)? {
                Event::Start(e) => {
                    if e.name() == PARAGRAPH {
                        if paragraphs > 0 && depth == 0 {
                            text.push('\n');
                        }
                        paragraphs += 1;
                        depth += 1;
                    } else if e.name().as_ref().starts_with("text:") {
                        depth += 1;
                    } else {
                        let inner = e.name().as_ref().to_string();
                        self.buf.clear();
                        self.reader.read_to_end_into(QName(&inner), &mut self.buf).map_err(xml)?;
                    }
                }
                Event::End(e) if e.name().as_ref() == name.as_str() && depth == 0 => return Ok(text),
                Event::End(_) => depth = depth.saturating_sub(1),
                Event::Text(t) if depth > 0 => text.push_str(&t.xml10_content()),
                Event::GeneralRef(r) if depth > 0 => {
                    if let Some(c) = r.resolve_char_ref().map_err(xml)? {
                        text.push(c);
                    } else if let Some(s) = quick_xml::escape::resolve_predefined_entity(&r.xml10_content()) {
                        text.push_str(s);
                    }
                }
                Event::Eof => return Err(OdsCellsError::Xml("unexpected end inside a cell".into())),
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn ods(content: &str) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        let mut w = zip::ZipWriter::new(&mut out);
        w.start_file("content.xml", zip::write::SimpleFileOptions::default()).unwrap();
        w.write_all(content.as_bytes()).unwrap();
        w.finish().unwrap();
        out.into_inner()
    }

    #[test]
    fn repeats_covered_cells_and_errors() {
        let xml = r#"<office:document-content><office:body><office:spreadsheet>
<table:table table:name="BC quý 2"><table:table-column/>
<table:table-row table:number-rows-repeated="2"><table:table-cell table:number-columns-repeated="3"/></table:table-row>
<table:table-row><table:table-cell table:number-columns-spanned="2" office:value-type="string"><text:p>x</text:p></table:table-cell><table:covered-table-cell/><table:table-cell office:value-type="percentage" office:value="0.5"><text:p>50%</text:p></table:table-cell></table:table-row>
<table:table-row><table:table-cell office:value-type="string" office:string-value="" calcext:value-type="error"><text:p>#DIV/0!</text:p><office:annotation><text:p>note</text:p></office:annotation></table:table-cell><table:table-cell><table:table table:name="nested"><table:table-row><table:table-cell office:value-type="percentage" office:value="1"/></table:table-row></table:table></table:table-cell><table:table-cell office:value-type="percentage" office:value="0.1" table:number-columns-repeated="2"/></table:table-row>
<table:table-row table:number-rows-repeated="1048000"><table:table-cell table:number-columns-repeated="16384"/></table:table-row>
</table:table></office:spreadsheet></office:body></office:document-content>"#;
        let marks = cell_marks(&ods(xml)).unwrap();
        let m = &marks["BC quý 2"];
        assert_eq!(m.percent, vec![(2, 2), (3, 2), (3, 3)]);
        assert_eq!(m.errors, vec![((3, 0), "#DIV/0!".to_string())]);
        assert!(!marks.contains_key("nested"));
        assert_eq!(m.extent, Some((2, 0, 3, 3)));
    }

    #[test]
    fn truncated_xml_is_an_error() {
        let xml = r#"<office:document-content><table:table table:name="A"><table:table-row><table:table-cell office:value-type="percentage""#;
        assert!(cell_marks(&ods(xml)).is_err());
    }
}
