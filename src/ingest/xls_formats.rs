//! Which cells of an xls (BIFF8, and BIFF5 as far as it is the same) workbook are
//! percent-formatted.
//!
//! calamine reads an xls file's values and turns date formats into dates, but keeps the
//! other number formats to itself (`worksheet_style` is empty for xls). A fraction shown as
//! `82,3%` would then reach us as a bare `0.823`. This module reads the `Workbook` (or
//! `Book`) stream a second time and follows only the records needed to know a cell's
//! format: `FORMAT` (format index → format string), `XF` (cell style → format index),
//! `BOUNDSHEET8` (sheet name → offset of its substream) and, in each sheet, the cell records
//! that carry an XF index (`NUMBER`, `RK`, `MULRK`, `FORMULA`).
//!
//! Hand-written because no crate exposes per-cell BIFF formats: calamine's parser is
//! private and drops them, and the compound-file container is left to the `cfb` crate. The
//! walk is one linear pass over the stream's record headers, so a 200,000-row sheet costs a
//! few milliseconds next to calamine's own read; only percent cells are kept, as a sorted
//! list of positions.
//!
//! Owns: `percent_cells` and `XlsFormatError`. Receives: an xls file's bytes and the
//! part-size limit from `ingest::sheet` (this is `sheet::xls_formats`). Hands on: per
//! sheet, the `sheet::CellMarks` of percent-formatted cells to `sheet::Workbook::rows`.

use std::collections::HashMap;
use std::io::{Cursor, Read};

use super::{CellMarks, is_percent_format};

/// Why the formats could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XlsFormatError {
    #[error("the compound file cannot be read: {0}")]
    Container(String),
    #[error("the compound file has no Workbook stream")]
    NoWorkbookStream,
    #[error("the `{stream}` stream is {size} bytes, over the limit of {limit}")]
    StreamTooLarge { stream: String, size: u64, limit: u64 },
    #[error("the workbook stream does not start with a BOF record")]
    NoBof,
    /// A cell record whose length disagrees with its own fields: the bytes after it would
    /// be read as other records (a damaged length swallows the cells that follow).
    #[error(
        "sheet `{sheet}`: the cell record 0x{kind:04X} at byte {offset} is {len} bytes long, which its fields rule out"
    )]
    Damaged { sheet: String, kind: u16, offset: usize, len: usize },
}

const BOF: u16 = 0x0809;
const EOF: u16 = 0x000A;
const FILEPASS: u16 = 0x002F;
const FORMAT: u16 = 0x041E;
const XF: u16 = 0x00E0;
const BOUNDSHEET: u16 = 0x0085;
const CONTINUE: u16 = 0x003C;
const NUMBER: u16 = 0x0203;
const RK: u16 = 0x027E;
const MULRK: u16 = 0x00BD;
const FORMULA: u16 = 0x0006;
const LABEL: u16 = 0x0204;
const RSTRING: u16 = 0x00D6;
const BOOLERR: u16 = 0x0205;
const LABELSST: u16 = 0x00FD;
const BLANK: u16 = 0x0201;
const MULBLANK: u16 = 0x00BE;

/// Whether a BIFF8 cell record's length fits its own fields: the fixed-size cells have
/// one length, a MULRK or MULBLANK spans the columns its first and last fields name.
/// (BIFF5 is only checked for the records it shares unchanged.)
fn cell_length_fits(kind: u16, body: &[u8], biff: Biff) -> bool {
    let spans = |each: usize| match (u16_at(body, 2), body.len().checked_sub(2).and_then(|at| u16_at(body, at))) {
        (Some(first), Some(last)) if last >= first => body.len() == 6 + each * usize::from(last - first + 1),
        _ => false,
    };
    match kind {
        NUMBER => body.len() == 14,
        RK => body.len() == 10,
        BLANK => body.len() == 6,
        BOOLERR => body.len() == 8,
        LABELSST if biff == Biff::Eight => body.len() == 10,
        MULRK => spans(6),
        MULBLANK => spans(2),
        _ => true,
    }
}

/// Built-in format ids that show a percentage: 9 is `0%`, 10 is `0.00%`.
const BUILTIN_PERCENT: [u16; 2] = [9, 10];

/// The percent-formatted cells of every sheet, and the extent of its values (the cells
/// calamine will allocate), by sheet name. `max_stream_bytes` bounds the
/// workbook stream read into memory.
pub fn percent_cells(bytes: &[u8], max_stream_bytes: u64) -> Result<HashMap<String, CellMarks>, XlsFormatError> {
    let stream = read_workbook_stream(bytes, max_stream_bytes)?;
    parse_stream(&stream)
}

fn read_workbook_stream(bytes: &[u8], max_stream_bytes: u64) -> Result<Vec<u8>, XlsFormatError> {
    let container = |e: std::io::Error| XlsFormatError::Container(e.to_string());
    let mut cf = cfb::CompoundFile::open(Cursor::new(bytes)).map_err(container)?;
    let name = ["/Workbook", "/Book"]
        .into_iter()
        .find(|n| cf.entry(n).is_ok_and(|e| e.is_stream()))
        .ok_or(XlsFormatError::NoWorkbookStream)?;
    let size = cf.entry(name).map_err(container)?.len();
    if size > max_stream_bytes {
        return Err(XlsFormatError::StreamTooLarge {
            stream: name.trim_start_matches('/').to_string(),
            size,
            limit: max_stream_bytes,
        });
    }
    let mut stream = cf.open_stream(name).map_err(container)?;
    // `size` is bounded above, so the reservation is too.
    let mut out = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    stream.by_ref().take(max_stream_bytes).read_to_end(&mut out).map_err(container)?;
    Ok(out)
}

/// One BIFF record: its type and body.
#[derive(Clone, Copy)]
struct Record<'a> {
    kind: u16,
    body: &'a [u8],
}

/// The records from `pos` on; stops quietly at a truncated record (calamine reports the
/// damage itself).
struct Records<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for Records<'a> {
    type Item = Record<'a>;

    fn next(&mut self) -> Option<Record<'a>> {
        let header = self.data.get(self.pos..self.pos.checked_add(4)?)?;
        let kind = u16::from_le_bytes([header[0], header[1]]);
        let len = usize::from(u16::from_le_bytes([header[2], header[3]]));
        let start = self.pos + 4;
        let body = self.data.get(start..start + len)?;
        self.pos = start + len;
        Some(Record { kind, body })
    }
}

impl<'a> Records<'a> {
    /// The bodies of the `CONTINUE` records that follow, consumed.
    fn continues(&mut self) -> Vec<&'a [u8]> {
        let mut out = Vec::new();
        loop {
            let save = self.pos;
            match self.next() {
                Some(r) if r.kind == CONTINUE => out.push(r.body),
                _ => {
                    self.pos = save;
                    return out;
                }
            }
        }
    }
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes([*b.get(at)?, *b.get(at + 1)?, *b.get(at + 2)?, *b.get(at + 3)?]))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Biff {
    Five,
    Eight,
}

/// A BIFF8 unicode string of `cch` characters starting at `at` in `first`, continued (with a
/// fresh option byte at the start of each fragment) in `rest`. Lossy on damage: only `%`,
/// `"` and `\` matter to the caller.
fn unicode_string(first: &[u8], at: usize, cch: usize, rest: &[&[u8]]) -> String {
    let mut out = String::with_capacity(cch.min(256));
    let Some(&flags) = first.get(at) else { return out };
    let mut wide = flags & 1 == 1;
    let mut frag = first.get(at + 1..).unwrap_or(&[]);
    let mut pos = 0usize;
    // BIFF8 rich/extended strings carry a run count and an extension size before the text.
    if flags & 0x08 != 0 {
        pos += 2;
    }
    if flags & 0x04 != 0 {
        pos += 4;
    }
    let mut fragments = rest.iter();
    let mut read = 0usize;
    while read < cch {
        let width = if wide { 2 } else { 1 };
        if pos + width > frag.len() {
            let Some(next) = fragments.next() else { break };
            let Some((&f, tail)) = next.split_first() else { break };
            wide = f & 1 == 1;
            frag = tail;
            pos = 0;
            continue;
        }
        let unit = if wide { u16::from_le_bytes([frag[pos], frag[pos + 1]]) } else { u16::from(frag[pos]) };
        out.push(char::from_u32(u32::from(unit)).unwrap_or('\u{fffd}'));
        pos += width;
        read += 1;
    }
    out
}

/// An 8-bit string (BIFF5): code-page bytes, read as Latin-1.
fn byte_string(b: &[u8], at: usize, cch: usize) -> String {
    b.get(at..).unwrap_or(&[]).iter().take(cch).map(|&c| char::from(c)).collect()
}

fn parse_stream(data: &[u8]) -> Result<HashMap<String, CellMarks>, XlsFormatError> {
    let mut records = Records { data, pos: 0 };
    let bof = records.next().filter(|r| r.kind == BOF).ok_or(XlsFormatError::NoBof)?;
    let biff = if u16_at(bof.body, 0) == Some(0x0600) { Biff::Eight } else { Biff::Five };

    let mut formats: HashMap<u16, bool> = HashMap::new();
    let mut xf_formats: Vec<u16> = Vec::new();
    let mut sheets: Vec<(String, usize)> = Vec::new();
    while let Some(r) = records.next() {
        match r.kind {
            EOF => break,
            // Encrypted: calamine refuses it; there is nothing to read here.
            FILEPASS => return Ok(HashMap::new()),
            FORMAT => {
                let rest = records.continues();
                let Some(id) = u16_at(r.body, 0) else { continue };
                let code = match biff {
                    Biff::Eight => {
                        let cch = usize::from(u16_at(r.body, 2).unwrap_or(0));
                        unicode_string(r.body, 4, cch, &rest)
                    }
                    Biff::Five => byte_string(r.body, 3, usize::from(r.body.get(2).copied().unwrap_or(0))),
                };
                formats.insert(id, is_percent_format(&code));
            }
            XF => xf_formats.push(u16_at(r.body, 2).unwrap_or(0)),
            BOUNDSHEET => {
                let Some(offset) = u32_at(r.body, 0) else { continue };
                let cch = usize::from(r.body.get(6).copied().unwrap_or(0));
                let name = match biff {
                    Biff::Eight => unicode_string(r.body, 7, cch, &[]),
                    Biff::Five => byte_string(r.body, 7, cch),
                };
                if let Ok(offset) = usize::try_from(offset) {
                    sheets.push((name, offset));
                }
            }
            _ => {}
        }
    }
    let percent_xf: Vec<bool> =
        xf_formats.iter().map(|id| formats.get(id).copied().unwrap_or_else(|| BUILTIN_PERCENT.contains(id))).collect();

    sheets
        .into_iter()
        .map(|(name, offset)| {
            let marks = sheet_cells(data, offset, &percent_xf, biff)
                .map_err(|(kind, offset, len)| XlsFormatError::Damaged { sheet: name.clone(), kind, offset, len })?;
            Ok((name, marks))
        })
        .collect()
}

/// A sheet's marks, or the (kind, offset, length) of a cell record its fields rule out.
fn sheet_cells(data: &[u8], offset: usize, percent_xf: &[bool], biff: Biff) -> Result<CellMarks, (u16, usize, usize)> {
    let mut marks = CellMarks::default();
    let is_percent = |xf: Option<u16>| xf.is_some_and(|x| percent_xf.get(usize::from(x)).copied().unwrap_or(false));
    let mut depth = 0usize;
    let mut records = Records { data, pos: offset };
    loop {
        let at = records.pos;
        let Some(r) = records.next() else { break };
        if depth == 1 && !cell_length_fits(r.kind, r.body, biff) {
            return Err((r.kind, at, r.body.len()));
        }
        match r.kind {
            BOF => depth += 1,
            EOF => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    break;
                }
            }
            // Embedded chart substreams have cells of their own.
            _ if depth != 1 => {}
            NUMBER | RK | FORMULA | LABEL | RSTRING | BOOLERR | LABELSST => {
                if let (Some(row), Some(col)) = (u16_at(r.body, 0), u16_at(r.body, 2)) {
                    let (row, col) = (u32::from(row), u32::from(col));
                    marks.include((row, row), (col, col));
                    if matches!(r.kind, NUMBER | RK | FORMULA) && is_percent(u16_at(r.body, 4)) {
                        marks.percent.push((row, col));
                    }
                }
            }
            MULRK => {
                let (Some(row), Some(first)) = (u16_at(r.body, 0), u16_at(r.body, 2)) else { continue };
                let n = r.body.len().saturating_sub(6) / 6;
                if n > 0 {
                    let row = u32::from(row);
                    marks.include((row, row), (u32::from(first), u32::from(first) + n as u32 - 1));
                }
                for i in 0..n {
                    if is_percent(u16_at(r.body, 4 + i * 6)) {
                        marks.percent.push((u32::from(row), u32::from(first) + i as u32));
                    }
                }
            }
            _ => {}
        }
        if depth == 0 {
            // The offset did not point at a BOF: a damaged BOUNDSHEET.
            break;
        }
    }
    marks.finish();
    Ok(marks)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(kind: u16, body: &[u8]) -> Vec<u8> {
        let mut v = kind.to_le_bytes().to_vec();
        v.extend((body.len() as u16).to_le_bytes());
        v.extend(body);
        v
    }

    #[test]
    fn format_string_continued_across_records() {
        // `0.0%` split after `0.`, the continuation switching to 16-bit characters.
        let mut first = 170u16.to_le_bytes().to_vec();
        first.extend(4u16.to_le_bytes());
        first.push(0);
        first.extend(b"0.");
        let mut cont = vec![1u8];
        cont.extend([b'0', 0, b'%', 0]);
        let recs = [record(FORMAT, &first), record(CONTINUE, &cont)].concat();
        let mut it = Records { data: &recs, pos: 0 };
        let r = it.next().unwrap();
        let rest = it.continues();
        assert_eq!(unicode_string(r.body, 4, 4, &rest), "0.0%");
        assert!(it.next().is_none());
    }

    #[test]
    fn cells_with_percent_xf_are_marked() {
        let mut bof = 0x0600u16.to_le_bytes().to_vec();
        bof.extend([0u8; 14]);
        let mut fmt = 164u16.to_le_bytes().to_vec();
        fmt.extend(7u16.to_le_bytes());
        fmt.push(0);
        fmt.extend(b"0.00\"%\"");
        let xf = |ifmt: u16| {
            let mut b = vec![0u8, 0];
            b.extend(ifmt.to_le_bytes());
            b.extend([0u8; 16]);
            b
        };
        let mut globals =
            [record(BOF, &bof), record(FORMAT, &fmt), record(XF, &xf(0)), record(XF, &xf(9)), record(XF, &xf(164))]
                .concat();
        let sheet_at = globals.len() + 14 + 4;
        let mut bs = (sheet_at as u32).to_le_bytes().to_vec();
        bs.extend([0, 0, 2, 0]);
        bs.extend(b"S1");
        globals.extend(record(BOUNDSHEET, &bs));
        globals.extend(record(EOF, &[]));
        assert_eq!(globals.len(), sheet_at);
        let number = |row: u16, col: u16, xf: u16| {
            let mut b = row.to_le_bytes().to_vec();
            b.extend(col.to_le_bytes());
            b.extend(xf.to_le_bytes());
            b.extend(0.5f64.to_le_bytes());
            b
        };
        let mut mulrk = 3u16.to_le_bytes().to_vec();
        mulrk.extend(1u16.to_le_bytes());
        for xf in [1u16, 0, 1] {
            mulrk.extend(xf.to_le_bytes());
            mulrk.extend(0u32.to_le_bytes());
        }
        mulrk.extend(3u16.to_le_bytes());
        let stream = [
            globals,
            record(BOF, &bof),
            record(NUMBER, &number(0, 0, 1)),
            record(NUMBER, &number(1, 0, 2)),
            record(NUMBER, &number(2, 0, 0)),
            record(MULRK, &mulrk),
            record(EOF, &[]),
        ]
        .concat();
        let marks = parse_stream(&stream).unwrap();
        assert_eq!(marks["S1"].percent, vec![(0, 0), (3, 1), (3, 3)]);
    }

    /// A damaged length field makes the reader swallow the cells after it (a MULBLANK of
    /// 12 bytes read as 150 hid a sheet's `Số lượng | Tỷ lệ (%)` headings, and percentages
    /// were then read from the count column): such a record is refused, not skipped.
    #[test]
    fn a_cell_record_whose_length_its_fields_rule_out_is_damage() {
        let mulblank = |first: u16, last: u16, extra: usize| {
            let mut b = 7u16.to_le_bytes().to_vec();
            b.extend(first.to_le_bytes());
            b.extend(std::iter::repeat_n(0u8, 2 * usize::from(last - first + 1) + extra));
            b.extend(last.to_le_bytes());
            b
        };
        let cases: [(u16, Vec<u8>, bool); 8] = [
            (MULBLANK, mulblank(1, 4, 0), true),
            (MULBLANK, mulblank(1, 4, 138), false),
            (MULRK, [vec![0, 0, 1, 0], vec![0; 12], vec![2, 0]].concat(), true),
            (MULRK, [vec![0, 0, 1, 0], vec![0; 12], vec![5, 0]].concat(), false),
            (NUMBER, vec![0; 14], true),
            (NUMBER, vec![0; 15], false),
            (LABELSST, vec![0; 10], true),
            (BLANK, vec![0; 7], false),
        ];
        for (kind, body, fits) in cases {
            assert_eq!(cell_length_fits(kind, &body, Biff::Eight), fits, "0x{kind:04X} of {} bytes", body.len());
        }
        let sheet = [record(BOF, &[0u8; 16]), record(MULBLANK, &mulblank(1, 4, 138)), record(EOF, &[])].concat();
        assert_eq!(sheet_cells(&sheet, 0, &[], Biff::Eight), Err((MULBLANK, 20, 152)));
    }
}
