//! Finding the table in a department's sheet: the header row (somewhere in the first 20
//! rows, recognised by its words, compared NFC-, case- and diacritic-insensitively), the
//! columns, the layout (wide: one row per plan item; long: one row per unit × item), and
//! the title block above the header (which agency reports, for which quarter).
//!
//! A source's `mapping` can pin the sheet, the header row and any column (by letter or by
//! header text) when detection is not enough.

use serde::{Deserialize, Serialize};

use super::sheet::{Cell, Row, column_index};
use crate::catalog::{Directory, Level};
use crate::domain::{AgencyId, Period};
use crate::text::{ascii_fold, clean};

/// How rows relate to plan items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// One row per plan item; the agency comes from the source, the title block or the
    /// operator.
    Wide,
    /// One row per reporting unit and item; the unit is in a column (code or name).
    Long,
}

/// Column choices: a letter (`E`) or the header's text (`Kết quả`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnMap {
    /// The plan item number (STT).
    pub item: Option<String>,
    /// The task text, used when the number is missing.
    pub task: Option<String>,
    /// The reported result.
    pub value: Option<String>,
    pub note: Option<String>,
    /// Unit of measure (ĐVT), which also picks the measure of a composite indicator.
    pub uom: Option<String>,
    /// Long layout: the unit's code (GSO code for communes).
    pub unit_code: Option<String>,
    /// Long layout: the unit's name.
    pub unit_name: Option<String>,
    /// A period per row.
    pub period: Option<String>,
}

/// How to read a source's workbooks when detection is not enough.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// The sheet to read; by default the first visible sheet with a recognisable header.
    pub sheet: Option<String>,
    /// The header row, 1-based as Excel shows it.
    pub header_row: Option<u32>,
    pub layout: Option<Layout>,
    #[serde(default)]
    pub columns: ColumnMap,
    /// For xls, xlsb and ods (whose number formats are not read): whether numbers in a
    /// percent indicator's column are fractions (0.855 = 85,5%). Default: decided per
    /// column, fractions when every such number lies in 0–1.
    pub fraction_percent: Option<bool>,
}

/// What a header cell is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Item,
    Task,
    Value,
    Note,
    Uom,
    UnitCode,
    UnitName,
    Period,
    /// Targets, previous values, totals: recognised so they are not taken for results.
    Other,
}

fn role(header: &str) -> Option<Role> {
    let h = ascii_fold(header);
    let h = h.trim_matches(|c: char| !c.is_alphanumeric());
    if h.is_empty() {
        return None;
    }
    let starts = |p: &str| h.starts_with(p);
    if matches!(h, "stt" | "tt" | "so tt" | "so thu tu" | "ma chi tieu" | "ma so" | "so chi tieu" | "muc") {
        return Some(Role::Item);
    }
    if h.contains("ky truoc") || h.contains("luy ke") || h.contains("nam truoc") || h.contains("cung ky") {
        return Some(Role::Other);
    }
    if (h.contains("chi tieu nam") || h.contains("ke hoach nam") || starts("muc tieu") || starts("chi tieu 20"))
        && !h.contains("ket qua")
    {
        return Some(Role::Other);
    }
    if starts("ket qua")
        || starts("thuc hien")
        || starts("so lieu")
        || starts("gia tri")
        || h.contains("ket qua thuc hien")
    {
        return Some(Role::Value);
    }
    if starts("ghi chu") {
        return Some(Role::Note);
    }
    if matches!(h, "dvt" | "don vi tinh") || starts("don vi tinh") {
        return Some(Role::Uom);
    }
    if starts("ma don vi") || starts("ma dvhc") || matches!(h, "ma xa" | "ma dv" | "ma") {
        return Some(Role::UnitCode);
    }
    if matches!(
        h,
        "don vi" | "ten don vi" | "don vi bao cao" | "ten xa" | "co quan" | "ten co quan" | "xa phuong thi tran"
    ) || starts("ten don vi")
        || starts("don vi bao cao")
    {
        return Some(Role::UnitName);
    }
    if matches!(h, "ky bao cao" | "ky" | "quy") {
        return Some(Role::Period);
    }
    if starts("nhiem vu")
        || starts("ten chi tieu")
        || starts("chi tieu")
        || starts("noi dung")
        || starts("ten nhiem vu")
    {
        return Some(Role::Task);
    }
    None
}

/// Column indexes of a header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Columns {
    pub item: Option<usize>,
    pub task: Option<usize>,
    pub value: Option<usize>,
    pub note: Option<usize>,
    pub uom: Option<usize>,
    pub unit_code: Option<usize>,
    pub unit_name: Option<usize>,
    pub period: Option<usize>,
}

impl Columns {
    /// Every role's column, in the order of the fields.
    fn slots(&mut self) -> [&mut Option<usize>; 8] {
        [
            &mut self.item,
            &mut self.task,
            &mut self.value,
            &mut self.note,
            &mut self.uom,
            &mut self.unit_code,
            &mut self.unit_name,
            &mut self.period,
        ]
    }
}

/// The table found in a sheet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// 0-based row index of the header.
    pub row: u32,
    /// 0-based index of the header block's last row: the header row itself, or the row of
    /// sub-headings (`Số liệu | Đơn vị tính` under a merged `Kết quả thực hiện`) or of
    /// column numbers (`(1) (2) (3)`, `A B 1 2 3`) right under it. Data starts below.
    pub last_row: u32,
    pub columns: Columns,
    pub layout: Layout,
    /// Result columns per quarter (`Quý I | Quý II | Quý III`, on the header row or under a
    /// merged `Kết quả thực hiện`): the collection takes the one of its quarter, not the first.
    pub quarters: Vec<QuarterColumn>,
}

/// A column headed by a quarter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarterColumn {
    pub quarter: u8,
    /// When the heading gives it (`Quý III/2024`).
    pub year: Option<i32>,
    pub column: usize,
    /// The heading as written.
    pub label: String,
}

impl Header {
    /// Points the result column at `period`'s quarter when the table has one column per
    /// quarter; `Err` with the quarters it has when none is `period`'s.
    pub fn choose_quarter(&mut self, period: Period) -> Result<(), Vec<String>> {
        if self.quarters.is_empty() {
            return Ok(());
        }
        let fits = |q: &&QuarterColumn| q.quarter == period.quarter() && q.year.is_none_or(|y| y == period.year());
        match self.quarters.iter().find(fits) {
            Some(q) => {
                self.columns.value = Some(q.column);
                Ok(())
            }
            None => Err(self.quarters.iter().map(|q| q.label.clone()).collect()),
        }
    }
}

/// `Quý III`, `Quý 3`, `Q3`, `Quý III/2024`, `Quý 3 năm 2024`: a heading naming a quarter.
fn quarter_heading(text: &str) -> Option<(u8, Option<i32>)> {
    let f = ascii_fold(text);
    let f = f.trim();
    let rest = f.strip_prefix("quy").or_else(|| f.strip_prefix('q'))?;
    if let Some(p) = find_period(text) {
        return Some((p.quarter(), Some(p.year())));
    }
    let rest = rest.trim_start();
    let quarter = match rest.trim_end_matches(|c: char| !c.is_alphanumeric()) {
        "1" | "i" => 1,
        "2" | "ii" => 2,
        "3" | "iii" => 3,
        "4" | "iv" => 4,
        _ => return None,
    };
    Some((quarter, None))
}

fn quarters_of(row: &Row) -> Vec<QuarterColumn> {
    row.cells
        .iter()
        .enumerate()
        .filter_map(|(column, cell)| match cell {
            Cell::Text(t) => quarter_heading(t).map(|(quarter, year)| QuarterColumn {
                quarter,
                year,
                column,
                label: t.trim().to_string(),
            }),
            _ => None,
        })
        .collect()
}

/// Why no table was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    #[error("no header row (STT, Nhiệm vụ/Chỉ tiêu, Kết quả) in the first 20 rows")]
    NoHeader,
    #[error("the mapping names column `{0}`, which is neither a letter nor a header of row {1}")]
    BadColumn(String, u32),
    #[error("the header has no result column")]
    NoValueColumn,
}

impl LayoutError {
    pub fn vi(&self, sheet: &str) -> String {
        match self {
            LayoutError::NoHeader => format!(
                "Không tìm thấy dòng tiêu đề bảng (STT, Nhiệm vụ/Chỉ tiêu, Kết quả thực hiện) trong 20 dòng đầu của trang “{sheet}”"
            ),
            LayoutError::BadColumn(c, r) => {
                format!("Cấu hình nguồn chỉ định cột “{c}”, không có trong dòng tiêu đề {r} của trang “{sheet}”")
            }
            LayoutError::NoValueColumn => format!("Dòng tiêu đề của trang “{sheet}” không có cột Kết quả thực hiện"),
        }
    }
}

/// Rows searched for a header.
pub const HEADER_SEARCH_ROWS: usize = 20;

/// Finds the header among the first rows of a sheet, applying the mapping.
pub fn find_header(rows: &[Row], mapping: &Mapping) -> Result<Header, LayoutError> {
    let candidates: Vec<&Row> = match mapping.header_row {
        Some(n) => rows.iter().filter(|r| r.index + 1 == n).collect(),
        None => rows.iter().take(HEADER_SEARCH_ROWS).collect(),
    };
    let mut found = None;
    for row in candidates {
        let cols = columns_of(row);
        let names_rows = cols.item.is_some() || cols.task.is_some();
        // The result column may be named only on the sub-heading row under a merged cell.
        let value_below = || {
            rows.iter().find(|r| r.index == row.index + 1).is_some_and(|next| {
                sub_heading(next, &cols).is_some_and(|c| c.value.is_some() || !quarters_of(next).is_empty())
            })
        };
        let ok = mapping.header_row.is_some()
            || (names_rows && (cols.value.is_some() || !quarters_of(row).is_empty() || value_below()));
        if ok {
            found = Some((row, cols));
            break;
        }
    }
    let (row, mut cols) = found.ok_or(LayoutError::NoHeader)?;
    // Rows right under the header that belong to it: sub-headings under merged header
    // cells, and the column-numbering row official forms carry. Either would otherwise be
    // read as data: `1 2 3 4 5` as item 1 reporting 3.
    let mut last_row = row.index;
    let mut quarters = quarters_of(row);
    for next in rows.iter().skip_while(|r| r.index <= row.index).take(2) {
        if next.index != last_row + 1 {
            break;
        }
        if is_numbering_row(next) {
            last_row = next.index;
        } else if let Some(sub) = sub_heading(next, &cols) {
            cols = sub;
            quarters.extend(quarters_of(next));
            last_row = next.index;
        } else {
            break;
        }
    }
    if cols.value.is_none() {
        cols.value = quarters.first().map(|q| q.column);
    }
    let m = &mapping.columns;
    let choices = [&m.item, &m.task, &m.value, &m.note, &m.uom, &m.unit_code, &m.unit_name, &m.period];
    for (choice, slot) in choices.into_iter().zip(cols.slots()) {
        if let Some(c) = choice {
            *slot = Some(resolve_column(c, row).ok_or_else(|| LayoutError::BadColumn(c.clone(), row.index + 1))?);
        }
    }
    // A result column the source pins is the one, whatever the headings say.
    if m.value.is_some() {
        quarters.clear();
    }
    if cols.value.is_none() {
        return Err(LayoutError::NoValueColumn);
    }
    let layout = mapping.layout.unwrap_or(if cols.unit_code.is_some() || cols.unit_name.is_some() {
        Layout::Long
    } else {
        Layout::Wide
    });
    Ok(Header { row: row.index, last_row, columns: cols, layout, quarters })
}

/// A row that numbers the columns: three or more cells, each a small number or a single
/// letter, bare or in parentheses (`(1)`, `1`, `A`), the numbers rising by one from left to
/// right. A data row has text (a task) or numbers that do not run like that.
fn is_numbering_row(row: &Row) -> bool {
    let mut labels = 0;
    let mut last: Option<f64> = None;
    for cell in &row.cells {
        let n = match cell {
            Cell::Empty => continue,
            Cell::Number { value, percent: false } if value.fract() == 0.0 && (0.0..=50.0).contains(value) => {
                Some(*value)
            }
            Cell::Text(t) => {
                let t = t.trim().trim_start_matches('(').trim_end_matches(')').trim();
                if let Ok(n) = t.parse::<u8>() {
                    Some(f64::from(n))
                } else if t.len() == 1 && t.chars().all(|c| c.is_ascii_alphabetic()) {
                    None
                } else {
                    return false;
                }
            }
            _ => return false,
        };
        if let Some(n) = n {
            if last.is_some_and(|l| n != l + 1.0) {
                return false;
            }
            last = Some(n);
        }
        labels += 1;
    }
    labels >= 3
}

/// The header completed by a row of sub-headings under it (`Số liệu`, `Đơn vị tính` under
/// a merged `Kết quả thực hiện`): only header words, at least one of them, no numbers. The
/// header's own columns stay; the sub-headings fill the roles it left open.
fn sub_heading(row: &Row, header: &Columns) -> Option<Columns> {
    let mut words = 0;
    for cell in &row.cells {
        match cell {
            Cell::Empty => {}
            Cell::Text(t) if t.trim().is_empty() => {}
            Cell::Text(t) if role(t).is_some() || quarter_heading(t).is_some() => words += 1,
            _ => return None,
        }
    }
    if words == 0 {
        return None;
    }
    let mut sub = columns_of(row);
    let mut cols = header.clone();
    for (slot, found) in cols.slots().into_iter().zip(sub.slots()) {
        if slot.is_none() {
            *slot = *found;
        }
    }
    Some(cols)
}

fn resolve_column(choice: &str, header: &Row) -> Option<usize> {
    if let Some(i) = column_index(choice) {
        return Some(i);
    }
    let want = ascii_fold(choice);
    header.cells.iter().position(|c| matches!(c, Cell::Text(t) if ascii_fold(t) == want))
}

fn columns_of(row: &Row) -> Columns {
    let mut cols = Columns::default();
    for (i, cell) in row.cells.iter().enumerate() {
        let Cell::Text(text) = cell else { continue };
        let slot = match role(text) {
            Some(Role::Item) => &mut cols.item,
            Some(Role::Task) => &mut cols.task,
            Some(Role::Value) => &mut cols.value,
            Some(Role::Note) => &mut cols.note,
            Some(Role::Uom) => &mut cols.uom,
            Some(Role::UnitCode) => &mut cols.unit_code,
            Some(Role::UnitName) => &mut cols.unit_name,
            Some(Role::Period) => &mut cols.period,
            Some(Role::Other) | None => continue,
        };
        // The first column of a role wins: `Kết quả thực hiện` before `Kết quả (lũy kế)`.
        if slot.is_none() {
            *slot = Some(i);
        }
    }
    cols
}

/// What the title block above the header says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Title {
    /// The reporting agency, and the text it was read from.
    pub agency: Option<(AgencyId, String)>,
    pub period: Option<(Period, String)>,
}

/// Reads the agency and the period from the rows above the header. Of several agencies
/// named (`UBND TỈNH VĨNH LONG` over `SỞ Y TẾ`), the lowest level is the one reporting.
pub fn read_title(rows: &[Row], header_row: u32, dir: &Directory, date: chrono::NaiveDate) -> Title {
    let mut title = Title::default();
    let mut best_rank = i32::MIN;
    for row in rows.iter().filter(|r| r.index < header_row) {
        for cell in &row.cells {
            let Cell::Text(text) = cell else { continue };
            let text = clean(text);
            if text.is_empty() {
                continue;
            }
            if title.period.is_none()
                && let Some(p) = find_period(&text)
            {
                title.period = Some((p, text.clone()));
            }
            if let Ok(id) = dir.resolve(&text, Some(date))
                && let Some(a) = dir.get(&id)
                && !a.is_group()
            {
                let rank = match a.level {
                    Level::Committee => 0,
                    Level::District => 2,
                    Level::Commune => 3,
                    _ => 1,
                };
                if rank > best_rank {
                    best_rank = rank;
                    title.agency = Some((id, text.clone()));
                }
            }
        }
    }
    title
}

/// Finds a quarter inside a sentence: `BÁO CÁO KẾT QUẢ QUÝ II NĂM 2024`, `Kỳ báo cáo:
/// Quý 2/2024`, `(2024-Q2)`.
pub fn find_period(text: &str) -> Option<Period> {
    let folded = ascii_fold(text);
    let words: Vec<&str> = folded
        .split(|c: char| c.is_whitespace() || c == ':' || c == '(' || c == ')' || c == ',')
        .filter(|w| !w.is_empty())
        .collect();
    for i in 0..words.len() {
        let w = words[i];
        let q_word = w
            .strip_prefix('q')
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit() || c == 'i' || c == 'v'));
        if w == "quy" || q_word || w.contains("-q") {
            for len in 1..=4 {
                if i + len > words.len() {
                    break;
                }
                let candidate = words[i..i + len].join(" ");
                if let Ok(p) = candidate.parse::<Period>() {
                    return Some(p);
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(index: u32, cells: &[&str]) -> Row {
        Row {
            index,
            cells: cells.iter().map(|c| if c.is_empty() { Cell::Empty } else { Cell::Text(c.to_string()) }).collect(),
        }
    }

    #[test]
    fn finds_a_header_below_a_title_block() {
        let rows = vec![
            row(0, &["UBND TỈNH VĨNH LONG"]),
            row(1, &["SỞ Y TẾ"]),
            row(2, &[]),
            row(3, &["BÁO CÁO KẾT QUẢ THỰC HIỆN QUÝ II NĂM 2024"]),
            row(5, &["STT", "Nhiệm vụ / Chỉ tiêu", "Chỉ tiêu năm 2024", "Kết quả thực hiện", "Ghi chú"]),
        ];
        let h = find_header(&rows, &Mapping::default()).unwrap();
        assert_eq!(h.row, 5);
        assert_eq!(h.layout, Layout::Wide);
        assert_eq!(
            (h.columns.item, h.columns.task, h.columns.value, h.columns.note),
            (Some(0), Some(1), Some(3), Some(4))
        );
    }

    #[test]
    fn sub_headings_and_column_numbers_belong_to_the_header() {
        let header = row(4, &["TT", "Nội dung nhiệm vụ", "Kết quả thực hiện", "", "Ghi chú"]);
        let sub = row(5, &["", "", "Số liệu", "Đơn vị tính", ""]);
        let numbers = |index, cells: &[&str]| row(index, cells);
        let data = row(6, &["1", "Duy trì tỷ lệ dịch vụ công trực tuyến", "85%", "%", ""]);
        // (rows, expected last header row, expected unit-of-measure column)
        let cases: Vec<(Vec<Row>, u32, Option<usize>)> = vec![
            (vec![header.clone(), data.clone()], 4, None),
            (vec![header.clone(), sub.clone(), row(6, &["1", "Duy trì", "85%", "%", ""])], 5, Some(3)),
            (vec![header.clone(), numbers(5, &["1", "2", "3", "4", "5"]), row(6, &["1", "Duy trì", "85%"])], 5, None),
            (vec![header.clone(), numbers(5, &["(1)", "(2)", "(3)", "(4)", "(5)"])], 5, None),
            (vec![header.clone(), numbers(5, &["A", "B", "1", "2", "3"])], 5, None),
            (
                vec![header.clone(), sub.clone(), numbers(6, &["(1)", "(2)", "(3)", "(4)", "(5)"]), data.clone()],
                6,
                Some(3),
            ),
            // Not numbering rows: a gap in the numbers, too few labels, a task's text.
            (vec![header.clone(), numbers(5, &["1", "2", "4"])], 4, None),
            (vec![header.clone(), numbers(5, &["1", "2"])], 4, None),
            (vec![header.clone(), numbers(5, &["1", "Nhiệm vụ 2", "3"])], 4, None),
            // Not under the header (a blank row between): left to the data rules.
            (vec![header.clone(), numbers(6, &["1", "2", "3", "4", "5"])], 4, None),
        ];
        for (rows, last, uom) in cases {
            let h = find_header(&rows, &Mapping::default()).unwrap();
            assert_eq!((h.row, h.last_row, h.columns.value, h.columns.uom), (4, last, Some(2), uom), "{rows:?}");
        }
        // Numbers typed as numbers.
        let typed =
            Row { index: 5, cells: (1..=5).map(|n| Cell::Number { value: f64::from(n), percent: false }).collect() };
        assert_eq!(find_header(&[header.clone(), typed], &Mapping::default()).unwrap().last_row, 5);
    }

    #[test]
    fn the_result_column_named_only_under_a_merged_heading() {
        let rows = vec![
            row(0, &["STT", "Nhiệm vụ", "Quý III năm 2024", ""]),
            row(1, &["", "", "Kết quả", "Ghi chú"]),
            row(2, &["62", "Rà soát các doanh nghiệp", "Đã thực hiện", ""]),
        ];
        let h = find_header(&rows, &Mapping::default()).unwrap();
        assert_eq!(
            (h.row, h.last_row, h.columns.item, h.columns.value, h.columns.note),
            (0, 1, Some(0), Some(2), Some(3))
        );
    }

    #[test]
    fn one_result_column_per_quarter_takes_the_collected_one() {
        let q3 = Period::new(2024, 3).unwrap();
        let cases: Vec<(Vec<Row>, Option<usize>)> = vec![
            // Quarters under a merged result heading.
            (
                vec![
                    row(0, &["STT", "Nhiệm vụ", "Kết quả thực hiện", "", "", "", "Ghi chú"]),
                    row(1, &["", "", "Quý I", "Quý II", "Quý III", "Quý IV", ""]),
                ],
                Some(4),
            ),
            // Quarters on the header row itself, in other spellings.
            (vec![row(0, &["TT", "Nội dung", "Q1", "Q2", "Q3", "Q4"])], Some(4)),
            (vec![row(0, &["TT", "Nội dung", "Quý 2/2024", "Quý 3/2024"])], Some(3)),
            (vec![row(0, &["TT", "Nội dung", "QUÝ III NĂM 2024", "Ghi chú"])], Some(2)),
            // A year that is not the collected one is not this quarter.
            (vec![row(0, &["TT", "Nội dung", "Quý III/2023", "Quý III/2024"])], Some(3)),
            // The collected quarter is missing.
            (vec![row(0, &["TT", "Nội dung", "Quý I", "Quý II"])], None),
        ];
        for (rows, column) in cases {
            let mut h = find_header(&rows, &Mapping::default()).unwrap();
            match column {
                Some(c) => {
                    assert_eq!(h.choose_quarter(q3), Ok(()), "{rows:?}");
                    assert_eq!(h.columns.value, Some(c), "{rows:?}");
                }
                None => assert_eq!(h.choose_quarter(q3), Err(vec!["Quý I".to_string(), "Quý II".to_string()])),
            }
        }
        // Headings that merely mention a quarter are not quarter columns.
        for text in ["Lũy kế đến Quý III", "Quyết định", "Quý", "Kết quả quý này"] {
            assert_eq!(quarter_heading(text), None, "{text}");
        }
        // A pinned result column wins over the headings.
        let rows = vec![row(0, &["TT", "Nội dung", "Q1", "Q2", "Q3", "Q4"])];
        let mapping =
            Mapping { columns: ColumnMap { value: Some("C".into()), ..Default::default() }, ..Default::default() };
        let mut h = find_header(&rows, &mapping).unwrap();
        assert_eq!((h.choose_quarter(q3), h.columns.value), (Ok(()), Some(2)));
    }

    #[test]
    fn header_words_without_diacritics_and_in_capitals() {
        let rows = vec![row(0, &["TT", "NOI DUNG", "KET QUA", "GHI CHU"])];
        let h = find_header(&rows, &Mapping::default()).unwrap();
        assert_eq!(h.columns.value, Some(2));
        let rows = vec![row(0, &["Mã đơn vị", "Tên đơn vị", "STT", "Chỉ tiêu", "Kết quả"])];
        let h = find_header(&rows, &Mapping::default()).unwrap();
        assert_eq!(h.layout, Layout::Long);
        assert_eq!((h.columns.unit_code, h.columns.unit_name, h.columns.item), (Some(0), Some(1), Some(2)));
    }

    #[test]
    fn lũy_kế_and_targets_are_not_results() {
        let rows = vec![row(0, &["STT", "Nhiệm vụ", "Lũy kế đến kỳ trước", "Kết quả quý này", "Kế hoạch năm 2024"])];
        let h = find_header(&rows, &Mapping::default()).unwrap();
        assert_eq!(h.columns.value, Some(3));
    }

    #[test]
    fn mapping_pins_rows_and_columns() {
        let rows = vec![row(0, &["a", "b"]), row(1, &["Số", "Việc", "Con số"])];
        assert_eq!(find_header(&rows, &Mapping::default()), Err(LayoutError::NoHeader));
        let mapping = Mapping {
            header_row: Some(2),
            columns: ColumnMap { item: Some("A".into()), value: Some("Con số".into()), ..Default::default() },
            ..Default::default()
        };
        let h = find_header(&rows, &mapping).unwrap();
        assert_eq!((h.row, h.columns.item, h.columns.value), (1, Some(0), Some(2)));
        let bad = Mapping {
            header_row: Some(2),
            columns: ColumnMap { value: Some("Không có".into()), ..Default::default() },
            ..Default::default()
        };
        assert!(matches!(find_header(&rows, &bad), Err(LayoutError::BadColumn(..))));
    }

    #[test]
    fn periods_inside_titles() {
        let p = Period::new(2024, 2).unwrap();
        for text in [
            "BÁO CÁO KẾT QUẢ THỰC HIỆN QUÝ II NĂM 2024",
            "Kỳ báo cáo: Quý 2/2024",
            "(2024-Q2)",
            "Báo cáo quý II/2024 của Sở Y tế",
            "Q2/2024",
        ] {
            assert_eq!(find_period(text), Some(p), "{text}");
        }
        assert_eq!(find_period("Báo cáo 6 tháng đầu năm 2024"), None);
        assert_eq!(find_period("Sở Y tế"), None);
    }
}
