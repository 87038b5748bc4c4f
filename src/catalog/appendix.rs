//! Reads the appendix table of a plan as it comes out of a copied Word/PDF document:
//! one cell per tab-led line, cells running over several lines, rows separated by blank
//! lines, section headings (`I. CHÍNH QUYỀN SỐ`) as rows of their own, and unnumbered
//! `trong đó …` rows that are sub-indicators of the item above (item 118).
//!
//! The header row (`Nhiệm vụ trọng tâm`, `Năm 2023`, …, `Căn cứ pháp lý`) gives the column
//! order and the plan years, so a plan with other years or columns in another order reads
//! the same. Every row keeps its line number, so an error names the line.
//!
//! Owns: `parse_appendix`, `Appendix`, `AppendixRow` and `AppendixError`. Receives: the
//! copied plan text from `catalog::plan::import_text` (`chiso plan import`). Hands on: the
//! rows, with their line numbers, to `catalog::plan`; `AppendixError` to `cli`.

use crate::domain::{ItemKey, Section};
use crate::text::{ascii_fold, clean, clean_multiline};

/// One item (or sub-indicator) row of the appendix, as text.
#[derive(Debug, Clone, PartialEq)]
pub struct AppendixRow {
    pub key: ItemKey,
    pub section: Section,
    /// 1-based line of the row's first cell in the source text.
    pub line: usize,
    pub task: String,
    /// Raw target text per plan year, in header order.
    pub targets: Vec<(i32, String)>,
    pub lead: String,
    pub co: String,
    pub legal_basis: String,
}

/// The whole appendix.
#[derive(Debug, Clone, PartialEq)]
pub struct Appendix {
    /// 1-based line of the `PHỤ LỤC` heading.
    pub line: usize,
    pub years: Vec<i32>,
    pub rows: Vec<AppendixRow>,
}

/// Why the text cannot be read as a plan appendix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppendixError {
    #[error("{}", crate::messages::appendix::no_appendix(.file))]
    NoAppendix { file: String },
    #[error("{}", crate::messages::appendix::header(.file, *.line, .missing))]
    Header { file: String, line: usize, missing: String },
    #[error("{}", crate::messages::appendix::cell_count(.file, *.line, .row, *.found, *.expected))]
    CellCount { file: String, line: usize, row: String, found: usize, expected: usize },
    #[error("{}", crate::messages::appendix::no_section(.file, *.line, .row))]
    NoSection { file: String, line: usize, row: String },
    #[error("{}", crate::messages::appendix::orphan(.file, *.line))]
    OrphanSubRow { file: String, line: usize },
    #[error("{}", crate::messages::appendix::duplicate(.file, *.line, .row, *.first))]
    Duplicate { file: String, line: usize, row: String, first: usize },
    #[error("{}", crate::messages::appendix::unreadable(.file, *.line, .start))]
    Unreadable { file: String, line: usize, start: String },
    #[error("{}", crate::messages::appendix::empty(.file))]
    Empty { file: String },
}

#[derive(Debug)]
struct RawRow {
    line: usize,
    cells: Vec<String>,
}

/// Splits the text after the appendix heading into rows of cells.
fn raw_rows(lines: &[&str], first_line: usize) -> Vec<RawRow> {
    let mut rows: Vec<RawRow> = Vec::new();
    let mut prev_blank = true;
    for (offset, line) in lines.iter().enumerate() {
        let line_no = first_line + offset;
        if !line.contains('\t') {
            if line.trim().is_empty() {
                prev_blank = true;
                continue;
            }
            // A continuation line of the last cell.
            if let Some(cell) = rows.last_mut().and_then(|r| r.cells.last_mut()) {
                cell.push('\n');
                cell.push_str(line);
            }
            prev_blank = false;
            continue;
        }
        let mut segments = line.split('\t');
        let lead = segments.next().unwrap_or_default();
        if prev_blank || rows.is_empty() {
            rows.push(RawRow { line: line_no, cells: Vec::new() });
        }
        let row = rows.last_mut().expect("a row was just pushed");
        if !lead.trim().is_empty() {
            match row.cells.last_mut() {
                Some(cell) => {
                    cell.push('\n');
                    cell.push_str(lead);
                }
                None => row.cells.push(lead.to_string()),
            }
        }
        row.cells.extend(segments.map(str::to_string));
        prev_blank = false;
    }
    rows
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Number,
    Task,
    Year(i32),
    Lead,
    Co,
    Legal,
}

fn header_column(cell: &str) -> Option<Column> {
    let f = ascii_fold(cell);
    if f == "stt" || f == "tt" || f == "so tt" {
        return Some(Column::Number);
    }
    if let Some(year) = f.strip_prefix("nam ").and_then(|y| y.trim().parse::<i32>().ok()) {
        return Some(Column::Year(year));
    }
    if f.starts_with("nhiem vu") || f.starts_with("chi tieu") || f.starts_with("noi dung") {
        return Some(Column::Task);
    }
    if f.contains("chu tri") {
        return Some(Column::Lead);
    }
    if f.contains("phoi hop") {
        return Some(Column::Co);
    }
    if f.contains("phap ly") || f.starts_with("can cu") {
        return Some(Column::Legal);
    }
    None
}

/// Reads the appendix of `text`; `file` names the source in errors.
pub fn parse_appendix(text: &str, file: &str) -> Result<Appendix, AppendixError> {
    let lines: Vec<&str> = text.lines().collect();
    let heading = lines
        .iter()
        .position(|l| ascii_fold(l).starts_with("phu luc") && !l.contains('\t'))
        .ok_or_else(|| AppendixError::NoAppendix { file: file.to_string() })?;
    let rows = raw_rows(&lines[heading + 1..], heading + 2);
    let header_idx = rows
        .iter()
        .position(|r| r.cells.iter().filter(|c| matches!(header_column(c), Some(Column::Year(_)))).count() >= 1)
        .ok_or_else(|| AppendixError::NoAppendix { file: file.to_string() })?;
    let header = &rows[header_idx];
    let mut columns: Vec<Option<Column>> = header.cells.iter().map(|c| header_column(c)).collect();
    // The number column usually has no heading: the first cell is then the task.
    if !columns.contains(&Some(Column::Number)) {
        columns.insert(0, Some(Column::Number));
    }
    let width = columns.len();
    let find = |col: Column| columns.iter().position(|c| *c == Some(col));
    let years: Vec<i32> =
        columns.iter().filter_map(|c| if let Some(Column::Year(y)) = c { Some(*y) } else { None }).collect();
    let mut missing = Vec::new();
    for (col, name) in [
        (Column::Task, "`Nhiệm vụ`"),
        (Column::Lead, "`Cơ quan chủ trì`"),
        (Column::Co, "`Cơ quan phối hợp`"),
        (Column::Legal, "`Căn cứ pháp lý`"),
    ] {
        if find(col).is_none() {
            missing.push(name);
        }
    }
    if !missing.is_empty() {
        return Err(AppendixError::Header { file: file.to_string(), line: header.line, missing: missing.join(", ") });
    }
    let (task_i, lead_i, co_i, legal_i, number_i) = (
        find(Column::Task).unwrap_or(1),
        find(Column::Lead).unwrap_or(0),
        find(Column::Co).unwrap_or(0),
        find(Column::Legal).unwrap_or(0),
        find(Column::Number).unwrap_or(0),
    );
    let year_cols: Vec<(i32, usize)> = columns
        .iter()
        .enumerate()
        .filter_map(|(i, c)| if let Some(Column::Year(y)) = c { Some((*y, i)) } else { None })
        .collect();

    let mut section: Option<Section> = None;
    let mut out: Vec<AppendixRow> = Vec::new();
    let mut first_seen: std::collections::HashMap<ItemKey, usize> = Default::default();
    for row in &rows[header_idx + 1..] {
        let non_empty: Vec<&String> = row.cells.iter().filter(|c| !clean(c).is_empty()).collect();
        if non_empty.is_empty() {
            continue;
        }
        if non_empty.len() == 1
            && let Some(s) = Section::parse(&clean(non_empty[0]))
        {
            section = Some(s);
            continue;
        }
        let first = clean(row.cells.first().map(String::as_str).unwrap_or_default());
        let is_sub = first.is_empty();
        let start = || clean(non_empty[0]).chars().take(40).collect::<String>();
        let key = if is_sub {
            let parent = out.last().ok_or(AppendixError::OrphanSubRow { file: file.to_string(), line: row.line })?;
            let subs = out.iter().filter(|r| r.key.number == parent.key.number && r.key.is_sub()).count();
            ItemKey::sub(parent.key.number, u8::try_from(subs + 1).unwrap_or(u8::MAX))
        } else {
            first.parse::<ItemKey>().map_err(|_| AppendixError::Unreadable {
                file: file.to_string(),
                line: row.line,
                start: start(),
            })?
        };
        if row.cells.len() != width {
            return Err(AppendixError::CellCount {
                file: file.to_string(),
                line: row.line,
                row: key.to_string(),
                found: row.cells.len(),
                expected: width,
            });
        }
        let section = section.ok_or_else(|| AppendixError::NoSection {
            file: file.to_string(),
            line: row.line,
            row: key.to_string(),
        })?;
        if let Some(first) = first_seen.insert(key, row.line) {
            return Err(AppendixError::Duplicate {
                file: file.to_string(),
                line: row.line,
                row: key.to_string(),
                first,
            });
        }
        let cell = |i: usize| clean_multiline(&row.cells[i]);
        let _ = number_i;
        out.push(AppendixRow {
            key,
            section,
            line: row.line,
            task: clean(&row.cells[task_i]),
            targets: year_cols.iter().map(|&(y, i)| (y, cell(i))).collect(),
            lead: clean(&row.cells[lead_i]),
            co: clean(&row.cells[co_i]),
            legal_basis: clean(&row.cells[legal_i]),
        });
    }
    if out.is_empty() {
        return Err(AppendixError::Empty { file: file.to_string() });
    }
    Ok(Appendix { line: heading + 1, years, rows: out })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = "Preamble\nPHỤ LỤC 1\nTitle\n \tNhiệm vụ trọng tâm\n\tNăm 2023\n\tNăm 2024\n\tCơ quan chủ trì\n\tCơ quan phối hợp\n\tCăn cứ pháp lý\n\n\t\u{a0}\n\tI. CHÍNH QUYỀN SỐ\n\t\u{a0}\n\n\t1.\n\tTask one\n\t100%\n\t>80%\n\tSở Y tế\n\tSở Tư pháp\n\tNQ 07\n\n\t2.\n\tTask two\n\t25% đơn vị, trong đó: \n+ cấp tỉnh: Sở Y tế\n\n+ cấp huyện: UBND tp Vĩnh Long\n\t\u{a0}\n\tUBND cấp xã\n\t\u{a0}\n\t\u{a0}\n\n\t\n\ttrong đó sub\n\t40%\n\t50%\n\t\n\t\n\t\n";

    #[test]
    fn reads_rows_sections_and_sub_rows() {
        let a = parse_appendix(SMALL, "small.txt").unwrap();
        assert_eq!(a.years, [2023, 2024]);
        assert_eq!(a.rows.len(), 3);
        assert_eq!(a.rows[0].key, ItemKey::new(1));
        assert_eq!(a.rows[0].section, Section::DigitalGovernment);
        assert_eq!(a.rows[0].targets, [(2023, "100%".to_string()), (2024, ">80%".to_string())]);
        assert_eq!(
            a.rows[1].targets[0].1,
            "25% đơn vị, trong đó:\n+ cấp tỉnh: Sở Y tế\n+ cấp huyện: UBND tp Vĩnh Long"
        );
        assert_eq!(a.rows[1].targets[1].1, "");
        assert_eq!(a.rows[2].key, ItemKey::sub(2, 1));
        assert_eq!(a.rows[2].task, "trong đó sub");
        assert_eq!(a.rows[0].line, 15);
    }

    #[test]
    fn errors_name_the_line() {
        let missing_cell = SMALL.replace("\tNQ 07\n", "");
        let err = parse_appendix(&missing_cell, "plan.txt").unwrap_err().to_string();
        assert_eq!(err, "plan.txt:15: dòng số 1 có 6 ô trong khi tiêu đề có 7 cột");
        let no_section = SMALL.replace("\t\u{a0}\n\tI. CHÍNH QUYỀN SỐ\n\t\u{a0}\n\n", "");
        let err = parse_appendix(&no_section, "plan.txt").unwrap_err().to_string();
        assert_eq!(err, "plan.txt:11: dòng số 1 đứng trước mọi tiêu đề lĩnh vực (I. CHÍNH QUYỀN SỐ …)");
        let stray = SMALL.replace("\tI. CHÍNH QUYỀN SỐ\n", "\tkhông phải tiêu đề\n");
        let err = parse_appendix(&stray, "plan.txt").unwrap_err().to_string();
        assert_eq!(err, "plan.txt:11: dòng không đánh số mà phía trên không có nhiệm vụ nào để thuộc về");
        let dup = SMALL.replace("\t2.\n", "\t1.\n");
        assert!(parse_appendix(&dup, "plan.txt").unwrap_err().to_string().contains("xuất hiện hai lần"));
        assert!(matches!(parse_appendix("no table here", "x.txt"), Err(AppendixError::NoAppendix { .. })));
        let no_lead = SMALL.replace("\tCơ quan chủ trì\n", "\tGhi chú\n");
        assert!(parse_appendix(&no_lead, "x.txt").unwrap_err().to_string().contains("Cơ quan chủ trì"));
    }
}
