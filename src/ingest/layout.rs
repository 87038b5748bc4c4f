//! Finding the table in a department's sheet: the header block (somewhere in the first 20
//! rows, recognised by the words of `config/vocabulary.toml`, compared NFC-, case- and
//! diacritic-insensitively, over one to three rows with merged cells), the columns with
//! their roles and units, the layout (wide: one row per plan item; long: one row per
//! unit × item), and the title block above the header (which agency reports, for which
//! quarter). It also recognises what is not data in a sheet: signature blocks, the
//! place-and-date line, section rows, a repeated header, a co-agency table's heading.
//!
//! A source's `mapping` can pin the sheet (by name or pattern), the header row and any
//! column (by letter or by header text) when detection is not enough.
//!
//! Owns: `Mapping` (a source's pins), `Header`, `Columns`, `Layout`, `Title`, the non-data
//! row rules (`non_data`, `NonData`) and `LayoutError`. Receives: `sheet::Row`s from
//! `ingest`, a `Mapping` from `sources` (in the `FileSpec`), the `catalog::Directory` for
//! the title's and signature's agency, `domain::vocabulary` words. Hands on: the `Header`
//! (columns, roles, units) and the `Title` to `ingest`'s row loop; `Mapping` to
//! `sources::Source`; `Layout` (in the `FileSummary`) to `cli::collect`.

use serde::{Deserialize, Serialize};

use super::sheet::{Cell, Row, column_index, column_letters};
use crate::catalog::{Directory, Level};
pub use crate::domain::vocabulary::{HeaderRole, UnitWord};
use crate::domain::{AgencyId, Period};
use crate::text::{ascii_fold, clean};

/// How rows relate to plan items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// One row per plan item; the agency comes from the source, the title block, the
    /// signature block, the file name or the operator.
    Wide,
    /// One row per reporting unit and item; the unit is in a column (code or name).
    Long,
}

/// Column choices: a letter (`E`) or the header's text (`Kết quả`). A text is looked for
/// in every row of the header block first; a choice that is no heading is read as letters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnMap {
    /// The row number (STT), or the plan's item number.
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
    /// Long layout: the unit's district (settles a commune name several districts share).
    pub district: Option<String>,
    /// A period per row (`Quý II/2024`, `2024-Q2`).
    pub period: Option<String>,
    /// The year per row, read with `quarter` or `month`.
    pub year: Option<String>,
    /// The quarter per row (`2`, `II`, `Quý II`).
    pub quarter: Option<String>,
    /// The month per row (`6`, `06/2024`); a month stands for its quarter.
    pub month: Option<String>,
}

/// How to read a source's workbooks when detection is not enough.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// The sheet to read: a name, or a pattern with `{quarter}` (`2`), `{quarter_roman}`
    /// (`II`) and `{year}` (`2024`) filled from the collected period (`Quý {quarter_roman}`),
    /// compared without diacritics and case. By default: the collected quarter's sheet
    /// when the workbook has one sheet per quarter, else the first visible sheet with a
    /// recognisable header.
    pub sheet: Option<String>,
    /// The header row, 1-based as Excel shows it (the top row of a header block).
    pub header_row: Option<u32>,
    pub layout: Option<Layout>,
    #[serde(default)]
    pub columns: ColumnMap,
    /// For a source whose files carry no number formats (an xlsb export, a system dump): the
    /// operator's word that numbers in percent indicators are fractions (0.855 = 85,5%).
    /// Default: no; the unit comes from the file, and a bare 0–1 number in a percent
    /// indicator with no unit anywhere is held.
    pub fraction_percent: Option<bool>,
}

impl Mapping {
    /// The sheet name the mapping asks for in `period`, its placeholders filled.
    pub fn sheet_for(&self, period: Period) -> Option<String> {
        self.sheet.as_ref().map(|s| {
            s.replace("{quarter_roman}", crate::domain::period::roman(period.quarter()))
                .replace("{quarter}", &period.quarter().to_string())
                .replace("{year}", &period.year().to_string())
        })
    }
}

/// Whether two sheet names are the same, diacritics, case and spacing aside.
pub fn same_sheet_name(a: &str, b: &str) -> bool {
    let key = |s: &str| ascii_fold(s).split_whitespace().collect::<Vec<_>>().join(" ");
    key(a) == key(b)
}

/// A role's name as `inspect` shows it.
pub fn role_name(role: HeaderRole) -> &'static str {
    role.name()
}

/// A unit's name as `inspect` shows it.
pub fn unit_name(unit: UnitWord) -> &'static str {
    match unit {
        UnitWord::Percent => "percent",
        UnitWord::Count => "count",
    }
}

/// Item headings that are only a running row number (`STT`, `TT`); the others
/// (`Chỉ tiêu số`, `Mã chỉ tiêu`, `STT theo KH`) name the plan's item number.
fn is_row_counter(heading: &str) -> bool {
    matches!(crate::domain::vocabulary::header_key(heading).as_str(), "stt" | "tt" | "so tt" | "so thu tu" | "muc")
}

/// Column indexes of a header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Columns {
    /// A row number column (`STT`, `TT`): may be the plan's item or a running counter.
    pub item: Option<usize>,
    /// A column that names itself the plan's item number (`Chỉ tiêu số`, `Mã chỉ tiêu`).
    pub plan_item: Option<usize>,
    pub task: Option<usize>,
    pub value: Option<usize>,
    pub note: Option<usize>,
    pub uom: Option<usize>,
    pub unit_code: Option<usize>,
    pub unit_name: Option<usize>,
    pub district: Option<usize>,
    pub period: Option<usize>,
    pub year: Option<usize>,
    pub quarter: Option<usize>,
    pub month: Option<usize>,
}

impl Columns {
    /// Every role's column, in the order of [`ColumnMap`]'s fields (`plan_item` last: a
    /// mapping's `item` pins the STT column).
    fn slots(&mut self) -> [&mut Option<usize>; 13] {
        [
            &mut self.item,
            &mut self.task,
            &mut self.value,
            &mut self.note,
            &mut self.uom,
            &mut self.unit_code,
            &mut self.unit_name,
            &mut self.district,
            &mut self.period,
            &mut self.year,
            &mut self.quarter,
            &mut self.month,
            &mut self.plan_item,
        ]
    }

    fn names_rows(&self) -> bool {
        self.item.is_some() || self.plan_item.is_some() || self.task.is_some()
    }
}

/// One column of a header, as `chiso inspect` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColumnInfo {
    /// `E`.
    pub letter: String,
    /// The headings over the column, top first (a merged heading counts for every column
    /// it spans).
    pub path: Vec<String>,
    /// `item`, `value`, … (`plan_item` for a plan item number column); `None` when no
    /// heading is known.
    pub role: Option<&'static str>,
    /// `percent` or `count` when a heading names the unit.
    pub unit: Option<&'static str>,
}

/// A result column: its unit, its quarter, the heading it sits under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultColumn {
    pub column: usize,
    pub unit: Option<UnitWord>,
    pub quarter: Option<(u8, Option<i32>)>,
    /// The headings above its own (`Kết quả thực hiện › Quý II/2024`): sub-columns of one
    /// heading are alternatives of each other.
    pub group: Vec<String>,
}

/// The table found in a sheet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// 0-based row index of the header block's top row.
    pub row: u32,
    /// 0-based index of the header block's last row: the header row itself, or the rows
    /// of sub-headings (`Số liệu | Đơn vị tính` under a merged `Kết quả thực hiện`, or
    /// `Quý II/2024` › `Số lượng | Tỷ lệ (%)`) or of column numbers (`(1) (2) (3)`, `A B 1 2
    /// 3`) under it. Data starts below.
    pub last_row: u32,
    pub columns: Columns,
    pub layout: Layout,
    /// Result columns per quarter (`Quý I | Quý II | Quý III`, on the header row or under a
    /// merged `Kết quả thực hiện`): the collection takes the one of its quarter, not the first.
    pub quarters: Vec<QuarterColumn>,
    /// Every result column, left to right.
    pub results: Vec<ResultColumn>,
    /// The unit the chosen result column's headings name.
    pub value_unit: Option<UnitWord>,
    /// The chosen result column's siblings under the same heading that name another unit
    /// (`Số lượng | Tỷ lệ (%)`): the normalizer picks by the indicator's measure.
    pub alternatives: Vec<(UnitWord, usize)>,
    /// Per column, for `inspect`.
    pub info: Vec<ColumnInfo>,
    /// The top header row's headings, folded, by column: a row that repeats them
    /// (a printed form's page break) is a header, not data.
    pub headings: Vec<(usize, String)>,
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
                let column = q.column;
                self.select_value(column);
                Ok(())
            }
            None => {
                let mut labels: Vec<String> = Vec::new();
                for q in &self.quarters {
                    if !labels.contains(&q.label) {
                        labels.push(q.label.clone());
                    }
                }
                Err(labels)
            }
        }
    }

    /// Makes `column` the result column, with its unit and its alternatives.
    fn select_value(&mut self, column: usize) {
        self.columns.value = Some(column);
        let chosen = self.results.iter().find(|r| r.column == column).cloned();
        self.value_unit = chosen.as_ref().and_then(|r| r.unit);
        self.alternatives = match &chosen {
            Some(c) => self
                .results
                .iter()
                // Under the same heading: the same group, or one nested in the other (a
                // sub-heading row missing over some columns, as a damaged file leaves it).
                .filter(|r| {
                    r.column != column
                        && r.quarter == c.quarter
                        && (r.group.starts_with(&c.group) || c.group.starts_with(&r.group))
                        && !c.group.is_empty()
                        && !r.group.is_empty()
                })
                .filter_map(|r| r.unit.filter(|u| Some(*u) != c.unit).map(|u| (u, r.column)))
                .collect(),
            None => Vec::new(),
        };
    }

    /// Whether a data row repeats the header's top row (page breaks in printed forms): at
    /// least two headings, and most of them, at their columns.
    pub fn is_repeated_header(&self, row: &Row) -> bool {
        if self.headings.len() < 2 {
            return false;
        }
        // Folding never lengthens a text, and grows it at most fourfold in bytes the other
        // way: a cell whose length cannot fold to the heading is not compared (most cells).
        let could_be = |t: &str, h: &str| t.len() >= h.len() && t.len() <= 4 * h.len() + 16;
        let same = self
            .headings
            .iter()
            .filter(|(c, h)| {
                matches!(row.get(*c), Cell::Text(t) if could_be(t, h) && crate::domain::vocabulary::header_key(t) == *h)
            })
            .count();
        same >= 2 && same * 2 > self.headings.len()
    }

    /// The headings of the top row, as written, for messages.
    pub fn column_list(&self) -> String {
        self.info.iter().filter_map(|c| c.path.first()).cloned().collect::<Vec<_>>().join(", ")
    }
}

/// `Quý III`, `Quý 3`, `Q3`, `Quý III/2024`, `Quý 3 năm 2024`, `Q2-2024`: a heading (or a
/// sheet name) naming a quarter.
pub fn quarter_heading(text: &str) -> Option<(u8, Option<i32>)> {
    let f = ascii_fold(text);
    let f = f.trim();
    let rest = f.strip_prefix("quy").or_else(|| f.strip_prefix('q'))?;
    if let Some(p) = find_period(text) {
        return Some((p.quarter(), Some(p.year())));
    }
    let rest = rest.trim_start();
    let quarter = quarter_word(rest.trim_end_matches(|c: char| !c.is_alphanumeric()))?;
    Some((quarter, None))
}

/// `1`, `01`, `i` … `iv` (folded) → the quarter.
pub fn quarter_word(w: &str) -> Option<u8> {
    match w {
        "1" | "01" | "i" => Some(1),
        "2" | "02" | "ii" => Some(2),
        "3" | "03" | "iii" => Some(3),
        "4" | "04" | "iv" => Some(4),
        _ => None,
    }
}

/// Why no table was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    #[error("no header row (STT, Nhiệm vụ/Chỉ tiêu, Kết quả) in the first 20 rows")]
    NoHeader,
    #[error("the mapping names column `{0}`, which is neither a letter nor a header of row {1}")]
    BadColumn(String, u32),
    /// The headings found, for the message.
    #[error("the header has no result column (columns: {0})")]
    NoValueColumn(String),
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
            LayoutError::NoValueColumn(found) => {
                format!("Trang “{sheet}” không có cột Kết quả thực hiện; các cột tìm thấy: {found}")
            }
        }
    }
}

/// Rows searched for a header.
pub const HEADER_SEARCH_ROWS: usize = 20;

/// Header rows over one another at most (`Kết quả thực hiện` › `Quý II/2024` › `Tỷ lệ (%)`).
const HEADER_DEPTH: usize = 3;

/// A mapping's column choice that is only letters (`E`, `AB`).
fn is_letters(choice: &str) -> bool {
    let t = choice.trim();
    (1..=3).contains(&t.len()) && t.chars().all(|c| c.is_ascii_uppercase())
}

/// Finds the header among the first rows of a sheet, applying the mapping.
pub fn find_header(rows: &[Row], mapping: &Mapping) -> Result<Header, LayoutError> {
    let m = &mapping.columns;
    let choices: [&Option<String>; 12] = [
        &m.item,
        &m.task,
        &m.value,
        &m.note,
        &m.uom,
        &m.unit_code,
        &m.unit_name,
        &m.district,
        &m.period,
        &m.year,
        &m.quarter,
        &m.month,
    ];
    let named: Vec<&String> = choices.iter().filter_map(|c| c.as_ref()).filter(|c| !is_letters(c)).collect();
    let mut near_miss: Option<String> = None;
    for (pos, row) in
        rows.iter().enumerate().take(if mapping.header_row.is_some() { rows.len() } else { HEADER_SEARCH_ROWS })
    {
        if mapping.header_row.is_some_and(|n| row.index + 1 != n) {
            continue;
        }
        if row.is_blank() {
            continue;
        }
        let block = header_block(&rows[pos..]);
        let mut h = header_of(&block, &rows[pos..]);
        let named_found = named.iter().all(|c| resolve_in_block(c, &block).is_some());
        let detected = h.columns.names_rows() && (h.columns.value.is_some() || !h.quarters.is_empty());
        let pinned = mapping.header_row.is_some();
        let by_mapping = !named.is_empty() && named_found;
        if !(pinned || by_mapping || detected && (named.is_empty() || named_found)) {
            if near_miss.is_none() && h.columns.names_rows() && named.is_empty() {
                near_miss = Some(h.column_list());
            }
            continue;
        }
        for (choice, slot) in choices.into_iter().zip(h.columns.slots()) {
            if let Some(c) = choice {
                *slot = Some(
                    resolve_in_block(c, &block)
                        .or_else(|| column_index(c))
                        .ok_or_else(|| LayoutError::BadColumn(c.clone(), row.index + 1))?,
                );
            }
        }
        if m.item.is_some() && h.columns.plan_item == h.columns.item {
            h.columns.plan_item = None;
        }
        // A result column the source pins is the one, whatever the headings say.
        if m.value.is_some() {
            h.quarters.clear();
        }
        if h.columns.value.is_none() {
            h.columns.value = h.quarters.first().map(|q| q.column);
        }
        let Some(value) = h.columns.value else {
            return Err(LayoutError::NoValueColumn(h.column_list()));
        };
        h.select_value(value);
        h.layout = mapping.layout.unwrap_or(if h.columns.unit_code.is_some() || h.columns.unit_name.is_some() {
            Layout::Long
        } else {
            Layout::Wide
        });
        return Ok(h);
    }
    Err(near_miss.map_or(LayoutError::NoHeader, LayoutError::NoValueColumn))
}

/// The rows of a header block starting at `rows[0]`: the header row and the sub-heading
/// rows right under it.
fn header_block(rows: &[Row]) -> Vec<&Row> {
    let mut block = vec![&rows[0]];
    // The header's STT and task columns: a row under it with both empty (merged from
    // above) and only short texts elsewhere continues the header, whatever its words say
    // (`Quý II/2024` misspelt, a unit word not in the vocabulary). Read as data, such a row
    // would leave its columns without their units.
    let v = crate::domain::vocabulary::get();
    let anchors: Vec<usize> = rows[0]
        .cells
        .iter()
        .enumerate()
        .filter(|(_, c)| matches!(c, Cell::Text(t) if matches!(v.header_role(t), Some(HeaderRole::Item | HeaderRole::Task))))
        .map(|(i, _)| i)
        .collect();
    let continues = |row: &Row| {
        !anchors.is_empty()
            && anchors.iter().all(|&a| row.get(a).is_empty())
            && row.cells.iter().any(|c| !c.is_empty())
            && row.cells.iter().all(|c| match c {
                Cell::Empty => true,
                Cell::Text(t) => t.chars().count() <= 40,
                _ => false,
            })
    };
    // One empty row inside the header block (a sub-heading left blank, or lost to a
    // damaged file) does not end it.
    let mut gap = 0;
    for next in rows.iter().skip(1).take(HEADER_DEPTH) {
        let expected = block[block.len() - 1].index + 1 + gap;
        if next.index == expected && next.is_blank() && gap == 0 && !anchors.is_empty() {
            gap = 1;
            continue;
        }
        let adjacent = next.index == expected || (gap == 0 && !anchors.is_empty() && next.index == expected + 1);
        if !adjacent || !(is_sub_heading_row(next) || continues(next)) || block.len() == HEADER_DEPTH {
            break;
        }
        gap = 0;
        block.push(next);
    }
    block
}

/// A row of sub-headings: only short header, unit or quarter words, at least one.
pub fn is_sub_heading_row(row: &Row) -> bool {
    let v = crate::domain::vocabulary::get();
    let mut words = 0;
    for cell in &row.cells {
        match cell {
            Cell::Empty => {}
            Cell::Text(t) if t.trim().is_empty() => {}
            Cell::Text(t)
                if t.chars().count() <= 40
                    && (v.header_role(t).is_some() || quarter_heading(t).is_some() || v.unit_of(t).is_some()) =>
            {
                words += 1
            }
            _ => return false,
        }
    }
    words > 0
}

fn text_at(row: &Row, c: usize) -> Option<String> {
    match row.get(c) {
        Cell::Text(t) if !t.trim().is_empty() => Some(clean(t)),
        _ => None,
    }
}

/// Each column's heading path over the block: a merged heading (text only in its first
/// cell) is carried right over the empty cells under which lower rows have headings, as
/// long as those cells sit under the same heading above.
fn paths_of(block: &[&Row]) -> Vec<Vec<String>> {
    let width = block.iter().map(|r| r.cells.len()).max().unwrap_or(0);
    let grid: Vec<Vec<Option<String>>> = block.iter().map(|r| (0..width).map(|c| text_at(r, c)).collect()).collect();
    let mut filled = grid.clone();
    for k in 0..block.len() {
        let mut carry: Option<(String, Vec<Option<String>>)> = None;
        for c in 0..width {
            let parent: Vec<Option<String>> = (0..k).map(|j| filled[j][c].clone()).collect();
            match &grid[k][c] {
                Some(t) => carry = Some((t.clone(), parent)),
                None => {
                    let below = (k + 1..block.len()).any(|j| grid[j][c].is_some());
                    match &carry {
                        Some((t, p)) if below && *p == parent => filled[k][c] = Some(t.clone()),
                        _ => carry = None,
                    }
                }
            }
        }
    }
    (0..width).map(|c| filled.iter().filter_map(|r| r[c].clone()).collect()).collect()
}

/// A column's role from its heading path: the lowest heading with a known role; a column
/// under a quarter heading and nothing else is a result.
fn path_role(path: &[String]) -> Option<HeaderRole> {
    let v = crate::domain::vocabulary::get();
    path.iter()
        .rev()
        .find_map(|t| v.header_role(t))
        .or_else(|| path.iter().any(|t| quarter_heading(t).is_some()).then_some(HeaderRole::Value))
}

fn path_unit(path: &[String]) -> Option<UnitWord> {
    let v = crate::domain::vocabulary::get();
    path.iter().rev().find_map(|t| v.unit_of(t))
}

/// The header a block gives, before the mapping; the numbering row under it is taken in.
fn header_of(block: &[&Row], rest: &[Row]) -> Header {
    let paths = paths_of(block);
    let mut cols = Columns::default();
    let mut results = Vec::new();
    let mut quarters = Vec::new();
    let mut info = Vec::new();
    for (c, path) in paths.iter().enumerate() {
        let role = if path.is_empty() { None } else { path_role(path) };
        let unit = path_unit(path);
        let plan_item = role == Some(HeaderRole::Item) && path.last().is_some_and(|h| !is_row_counter(h));
        if !path.is_empty() {
            info.push(ColumnInfo {
                letter: column_letters(c),
                path: path.clone(),
                role: if plan_item { Some("plan_item") } else { role.map(role_name) },
                unit: unit.map(unit_name),
            });
        }
        let slot = match role {
            Some(HeaderRole::Item) if plan_item => &mut cols.plan_item,
            Some(HeaderRole::Item) => &mut cols.item,
            Some(HeaderRole::Task) => &mut cols.task,
            Some(HeaderRole::Value) => {
                let quarter = path.iter().find_map(|t| quarter_heading(t).map(|q| (q, t.clone())));
                if let Some(((q, y), label)) = &quarter {
                    quarters.push(QuarterColumn { quarter: *q, year: *y, column: c, label: label.clone() });
                }
                results.push(ResultColumn {
                    column: c,
                    unit,
                    quarter: quarter.map(|(q, _)| q),
                    group: path[..path.len() - 1].to_vec(),
                });
                &mut cols.value
            }
            Some(HeaderRole::Note) => &mut cols.note,
            Some(HeaderRole::Uom) => &mut cols.uom,
            Some(HeaderRole::UnitCode) => &mut cols.unit_code,
            Some(HeaderRole::UnitName) => &mut cols.unit_name,
            Some(HeaderRole::District) => &mut cols.district,
            Some(HeaderRole::Period) => &mut cols.period,
            Some(HeaderRole::Year) => &mut cols.year,
            Some(HeaderRole::Quarter) => &mut cols.quarter,
            Some(HeaderRole::Month) => &mut cols.month,
            Some(HeaderRole::Other) | None => continue,
        };
        // The first column of a role wins: `Kết quả thực hiện` before `Kết quả (lũy kế)`.
        if slot.is_none() {
            *slot = Some(c);
        }
    }
    let top = block[0];
    let mut last_row = block[block.len() - 1].index;
    if let Some(next) = rest.iter().find(|r| r.index == last_row + 1)
        && is_numbering_row(next)
    {
        last_row = next.index;
    }
    let headings = top
        .cells
        .iter()
        .enumerate()
        .filter_map(|(c, cell)| match cell {
            Cell::Text(t) if !t.trim().is_empty() => Some((c, crate::domain::vocabulary::header_key(t))),
            _ => None,
        })
        .collect();
    Header {
        row: top.index,
        last_row,
        columns: cols,
        layout: Layout::Wide,
        quarters,
        results,
        value_unit: None,
        alternatives: Vec::new(),
        info,
        headings,
    }
}

/// A mapping's column choice in the block: a heading's text in any of its rows (folded).
fn resolve_in_block(choice: &str, block: &[&Row]) -> Option<usize> {
    let want = ascii_fold(choice.trim());
    block.iter().find_map(|r| r.cells.iter().position(|c| matches!(c, Cell::Text(t) if ascii_fold(t.trim()) == want)))
}

/// A row that numbers the columns: three or more cells, each a small number or a single
/// letter, bare or in parentheses (`(1)`, `1`, `A`), the numbers rising by one from left to
/// right. A data row has text (a task) or numbers that do not run like that.
pub fn is_numbering_row(row: &Row) -> bool {
    let mut labels = 0;
    let mut last: Option<f64> = None;
    for cell in &row.cells {
        let n = match cell {
            Cell::Empty => continue,
            Cell::Text(t) if t.trim().is_empty() => continue,
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

/// What kind of row, outside the table, a sheet holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonData {
    /// A total line (`Tổng cộng`).
    Total,
    /// The end matter: `Nơi nhận`, the signature block, the place-and-date line. What
    /// follows is end matter too.
    Footer,
}

/// Whether a row is not data, by its first written cell (`config/vocabulary.toml`
/// `[non_data_rows]`, and the place-and-date line `Vĩnh Long, ngày 10 tháng 7 năm 2024`).
pub fn non_data(row: &Row) -> Option<NonData> {
    let first = row.cells.iter().find_map(|c| match c {
        Cell::Text(t) if !t.trim().is_empty() => Some(t.as_str()),
        _ => None,
    })?;
    if first.chars().count() <= 60
        && crate::domain::vocabulary::get().is_non_data_row(first)
        && !collides_without_diacritics(first)
    {
        let key = crate::domain::vocabulary::header_key(first);
        return Some(if key.starts_with("tong") || key == "cong" || key.starts_with("cong ") {
            NonData::Total
        } else {
            NonData::Footer
        });
    }
    if row.cells.iter().any(|c| matches!(c, Cell::Text(t) if is_place_date_line(t))) {
        return Some(NonData::Footer);
    }
    None
}

/// Non-data words are compared without diacritics, and a few of them are then the first
/// word of many tasks: `Cộng` / `Công khai`, `(Ký` / `Kỹ năng số`, `Lưu:` / `Lưu trữ`,
/// `Tổng cộng` / `Tổng hợp`. A text whose first word is one of those is a non-data line
/// only with its own diacritics.
fn collides_without_diacritics(text: &str) -> bool {
    let first = |s: &str| -> String {
        s.split_whitespace().next().unwrap_or("").trim_matches(|c: char| !c.is_alphanumeric()).to_string()
    };
    let word = first(&crate::text::fold(text));
    let bare = ascii_fold(&word);
    match bare.as_str() {
        "cong" => word != "cộng",
        "ky" => word != "ký",
        "luu" => {
            let f = crate::text::fold(text);
            let f = f.trim_start_matches(|c: char| !c.is_alphanumeric());
            !(f.starts_with("lưu:") || f.starts_with("lưu vt") || f.starts_with("lưu văn thư"))
        }
        "tong" => {
            let f = crate::text::fold(text);
            !(f.starts_with("tổng cộng") || f.starts_with("tổng số"))
        }
        _ => false,
    }
}

/// `Vĩnh Long, ngày 10 tháng 7 năm 2024`, `Ngày 10 tháng 7 năm 2024`: a short line that
/// ends with the date.
pub fn is_place_date_line(text: &str) -> bool {
    // Cheap tests on the raw text first (this runs on every cell of every row): folding
    // never lengthens a text, and `ngày` keeps its `ng` and the year its digits.
    let raw = text.as_bytes();
    if raw.len() > 400
        || !raw.iter().any(u8::is_ascii_digit)
        || !raw.windows(2).any(|w| w[0].eq_ignore_ascii_case(&b'n') && w[1].eq_ignore_ascii_case(&b'g'))
    {
        return false;
    }
    let f = ascii_fold(text);
    let f = f.trim().trim_end_matches(['.', ';']);
    let Some(at) = f.find(", ngay ").map(|i| i + 2).or_else(|| f.starts_with("ngay ").then_some(0)) else {
        return false;
    };
    let date = &f[at + 5..];
    let Some(year_at) = date.rfind(" nam ") else { return false };
    let year = date[year_at + 5..].trim();
    f.len() < 80
        && date.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && date.contains(" thang ")
        && year.len() == 4
        && year.chars().all(|c| c.is_ascii_digit())
}

/// A section row: a heading label (`I.`, `II`, `A`, `B.`) in the number column.
pub fn is_section_label(text: &str) -> bool {
    let t = ascii_fold(text);
    let t = t.trim().trim_end_matches(['.', ')']).trim();
    !t.is_empty()
        && t.len() <= 5
        && (t.chars().all(|c| matches!(c, 'i' | 'v' | 'x'))
            || (t.len() == 1 && t.chars().all(|c| c.is_ascii_alphabetic())))
}

/// The agency a signature block line names: `GIÁM ĐỐC SỞ NỘI VỤ`, `TM. ỦY BAN NHÂN DÂN XÃ
/// AN BÌNH`, `SỞ Y TẾ`. Only written in capitals (a signer's name is not), the longest
/// tail of two words or more that the directory resolves to one agency.
pub fn signature_agency(text: &str, dir: &Directory, date: chrono::NaiveDate) -> Option<AgencyId> {
    let text = clean(text);
    if text.chars().any(char::is_lowercase) {
        return None;
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    for skip in 0..words.len().saturating_sub(1) {
        let tail = words[skip..].join(" ");
        if let Ok(id) = dir.resolve(&tail, Some(date))
            && dir.get(&id).is_some_and(|a| !a.is_group())
        {
            return Some(id);
        }
    }
    None
}

/// The agency a file name names (`BaoCao_SoNoiVu_Q2-2024.xlsx`, `Sở Nội vụ - báo cáo quý
/// 2.xlsx`): word runs of the name resolved by the directory, or equal to an agency's name,
/// short name or alias without diacritics. Only a single agency counts.
pub fn file_name_agency(file_name: &str, dir: &Directory, date: chrono::NaiveDate) -> Option<AgencyId> {
    let stem = std::path::Path::new(file_name).file_stem().and_then(|s| s.to_str()).unwrap_or(file_name);
    // Word boundaries: separators and camel case (`SoNoiVu`).
    let mut spaced = String::with_capacity(stem.len() + 8);
    let mut prev_lower = false;
    for ch in stem.chars() {
        if matches!(ch, '_' | '-' | '.' | '(' | ')' | '[' | ']' | ',' | '+') {
            spaced.push(' ');
            prev_lower = false;
            continue;
        }
        if ch.is_uppercase() && prev_lower {
            spaced.push(' ');
        }
        prev_lower = ch.is_lowercase();
        spaced.push(ch);
    }
    let words: Vec<&str> = spaced.split_whitespace().collect();
    let compact = |s: &str| ascii_fold(s).chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>();
    let mut names: Vec<(String, &AgencyId)> = Vec::new();
    for a in dir.iter().filter(|a| !a.is_group() && a.valid_at(date)) {
        for n in std::iter::once(&a.name).chain(a.short_name.iter()).chain(a.aliases.iter()) {
            let k = compact(n);
            if k.len() >= 4 {
                names.push((k, &a.id));
            }
        }
    }
    let mut found: Vec<AgencyId> = Vec::new();
    for len in 2..=8.min(words.len()) {
        for start in 0..=words.len() - len {
            let window = words[start..start + len].join(" ");
            let by_dir = dir.resolve(&window, Some(date)).ok().filter(|id| dir.get(id).is_some_and(|a| !a.is_group()));
            let key = compact(&window);
            let by_name = names.iter().filter(|(k, _)| *k == key).map(|(_, id)| (*id).clone());
            for id in by_dir.into_iter().chain(by_name) {
                if !found.contains(&id) {
                    found.push(id);
                }
            }
        }
    }
    // `Sở Nội vụ` also resolves inside `Sở Nội vụ tỉnh`: keep runs that name one agency.
    match found.as_slice() {
        [one] => Some(one.clone()),
        _ => None,
    }
}

/// What the title block above the header says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Title {
    /// The reporting agency, and the text it was read from.
    pub agency: Option<(AgencyId, String)>,
    pub period: Option<(Period, String)>,
    /// Where (`A2`).
    pub agency_cell: Option<String>,
    pub period_cell: Option<String>,
}

/// Reads the agency and the period from the rows above the header. Of several agencies
/// named (`UBND TỈNH VĨNH LONG` over `SỞ Y TẾ`), the lowest level is the one reporting.
pub fn read_title(rows: &[Row], header_row: u32, dir: &Directory, date: chrono::NaiveDate) -> Title {
    let mut title = Title::default();
    let mut best_rank = i32::MIN;
    for row in rows.iter().filter(|r| r.index < header_row) {
        for (c, cell) in row.cells.iter().enumerate() {
            let Cell::Text(text) = cell else { continue };
            let text = clean(text);
            if text.is_empty() {
                continue;
            }
            if title.period.is_none()
                && let Some(p) = find_period(&text)
            {
                title.period = Some((p, text.clone()));
                title.period_cell = Some(super::sheet::cell_ref(row.index, c));
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
                    title.agency_cell = Some(super::sheet::cell_ref(row.index, c));
                }
            }
        }
    }
    title
}

/// The period a row's separate columns give, as a text the normalizer parses
/// (`Quý 2/2024`): `Năm` + `Quý` (`2`, `II`, `Quý II`), or `Tháng` (`6` with the year,
/// `06/2024`, a date) standing for its quarter. `None` when they do not make a quarter.
pub fn period_text(year: Option<&str>, quarter: Option<&str>, month: Option<&str>) -> Option<String> {
    let year_of = |s: &str| s.trim().parse::<i32>().ok().filter(|y| (2000..=2100).contains(y));
    if let Some(q) = quarter.map(str::trim).filter(|q| !q.is_empty()) {
        if let Some(p) = q.parse::<Period>().ok().or_else(|| find_period(q)) {
            return Some(format!("Quý {}/{}", p.quarter(), p.year()));
        }
        let f = ascii_fold(q);
        let bare = f.trim_start_matches("quy").trim_start_matches('q').trim().trim_end_matches('.');
        let n = quarter_word(bare)?;
        let y = year.and_then(year_of)?;
        return Some(format!("Quý {n}/{y}"));
    }
    let m = month.map(str::trim).filter(|m| !m.is_empty())?;
    let f = ascii_fold(m);
    let f = f.trim_start_matches("thang").trim();
    let parts: Vec<&str> = f.split(|c: char| !c.is_ascii_digit()).filter(|p| !p.is_empty()).collect();
    let (month, y) = match parts.as_slice() {
        [m] => (m.parse::<u8>().ok()?, year.and_then(year_of)?),
        [m, y] if y.len() == 4 => (m.parse::<u8>().ok()?, year_of(y)?),
        // A date cell reads `dd/mm/yyyy`.
        [_, m, y] if y.len() == 4 => (m.parse::<u8>().ok()?, year_of(y)?),
        _ => return None,
    };
    if !(1..=12).contains(&month) {
        return None;
    }
    Some(format!("Quý {}/{y}", (month - 1) / 3 + 1))
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

    #[test]
    fn a_three_row_header_gives_each_column_its_path_unit_and_alternatives() {
        let rows = vec![
            row(0, &["STT", "Nhiệm vụ", "Kết quả thực hiện", "", "", "", "Ghi chú"]),
            row(1, &["", "", "Quý I/2024", "", "Quý II/2024", "", ""]),
            row(2, &["", "", "Số lượng", "Tỷ lệ (%)", "Số lượng", "Tỷ lệ (%)", ""]),
            row(3, &["(1)", "(2)", "(3)", "(4)", "(5)", "(6)", "(7)"]),
            row(4, &["5", "Duy trì", "12", "", "", "", ""]),
        ];
        let mut h = find_header(&rows, &Mapping::default()).unwrap();
        assert_eq!((h.row, h.last_row, h.columns.note), (0, 3, Some(6)));
        h.choose_quarter(Period::new(2024, 2).unwrap()).unwrap();
        assert_eq!(h.columns.value, Some(4));
        assert_eq!(h.value_unit, Some(UnitWord::Count));
        assert_eq!(h.alternatives, vec![(UnitWord::Percent, 5)]);
        let f = &h.info[5];
        assert_eq!(f.path, ["Kết quả thực hiện", "Quý II/2024", "Tỷ lệ (%)"]);
        assert_eq!((f.letter.as_str(), f.role, f.unit), ("F", Some("value"), Some("percent")));
        // The quarters are listed once each when one is missing.
        assert_eq!(
            h.choose_quarter(Period::new(2024, 4).unwrap()),
            Err(vec!["Quý I/2024".into(), "Quý II/2024".into()])
        );
    }

    #[test]
    fn value_headings_from_the_vocabulary() {
        for heading in ["Tình hình thực hiện", "Kết quả đạt được", "Số liệu", "KET QUA THUC HIEN QUY II"]
        {
            let h = find_header(&[row(0, &["STT", "Nội dung", heading])], &Mapping::default()).unwrap();
            assert_eq!(h.columns.value, Some(2), "{heading}");
        }
    }

    /// Under a merged header, a sub-heading row that is blank, or whose words the vocabulary
    /// does not know (misspelt, or damaged), still belongs to the header: read as data, it
    /// would leave `Số lượng | Tỷ lệ (%)` without their units.
    #[test]
    fn odd_or_blank_sub_heading_rows_stay_in_the_header() {
        let top = row(6, &["STT", "Nhiệm vụ, chỉ tiêu", "Kết quả thực hiện", "", "Ghi chú"]);
        let units = |i| row(i, &["", "", "Số lượng", "Tỷ lệ (%)", ""]);
        let data = |i| row(i, &["5", "Tỷ lệ hồ sơ", "12", "85%", ""]);
        for (rows, last) in [
            (vec![top.clone(), row(7, &["", "", "Puý II/2024", "", ""]), units(8), data(9)], 8),
            (vec![top.clone(), row(7, &[]), units(8), data(9)], 8),
            (vec![top.clone(), units(7), data(8)], 7),
        ] {
            let h = find_header(&rows, &Mapping::default()).unwrap();
            assert_eq!((h.row, h.last_row), (6, last), "{rows:?}");
            assert_eq!(h.columns.value, Some(2), "{rows:?}");
            assert_eq!(h.value_unit, Some(UnitWord::Count), "{rows:?}");
            assert_eq!(h.alternatives, vec![(UnitWord::Percent, 3)], "{rows:?}");
        }
        // A title row above a blank row is no header: the blank does not join them.
        let rows = vec![row(4, &["(Kèm theo Công văn số /BC-)"]), row(5, &[]), top.clone(), units(7)];
        assert_eq!(find_header(&rows, &Mapping::default()).unwrap().row, 6);
        // A data row right under the header is data.
        let h = find_header(&[top.clone(), data(7)], &Mapping::default()).unwrap();
        assert_eq!(h.last_row, 6);
    }

    #[test]
    fn a_plan_item_column_beside_a_row_counter() {
        for (headers, item, plan_item) in [
            (vec!["STT", "Chỉ tiêu số", "Nội dung", "Kết quả"], Some(0), Some(1)),
            (vec!["TT", "Mã chỉ tiêu", "Nội dung", "Kết quả"], Some(0), Some(1)),
            (vec!["Số TT theo KH", "Nội dung", "Kết quả", ""], None, Some(0)),
            (vec!["STT theo kế hoạch", "Nội dung", "Kết quả", ""], None, Some(0)),
            (vec!["STT", "Nội dung", "Kết quả", ""], Some(0), None),
        ] {
            let h = find_header(&[row(0, &headers)], &Mapping::default()).unwrap();
            assert_eq!((h.columns.item, h.columns.plan_item), (item, plan_item), "{headers:?}");
        }
    }

    #[test]
    fn period_columns() {
        let rows = vec![row(0, &["Năm", "Quý", "Tháng", "Kỳ báo cáo", "Huyện", "STT", "Nội dung", "Kết quả"])];
        let c = find_header(&rows, &Mapping::default()).unwrap().columns;
        assert_eq!((c.year, c.quarter, c.month, c.period, c.district), (Some(0), Some(1), Some(2), Some(3), Some(4)));
        for (y, q, m, want) in [
            (Some("2024"), Some("2"), None, Some("Quý 2/2024")),
            (Some("2024"), Some("II"), None, Some("Quý 2/2024")),
            (Some("2024"), Some("Quý II"), None, Some("Quý 2/2024")),
            (None, Some("Quý III/2024"), None, Some("Quý 3/2024")),
            (None, Some("2024-Q2"), None, Some("Quý 2/2024")),
            (Some("2024"), None, Some("6"), Some("Quý 2/2024")),
            (None, None, Some("06/2024"), Some("Quý 2/2024")),
            (None, None, Some("10/11/2024"), Some("Quý 4/2024")),
            (Some("2024"), Some("Cả năm"), None, None),
            (Some("2024"), None, Some("13"), None),
        ] {
            assert_eq!(period_text(y, q, m).as_deref(), want, "{y:?} {q:?} {m:?}");
        }
    }

    #[test]
    fn sheet_names_and_patterns() {
        for (name, q) in [("Quý I", 1), ("QUY 2", 2), ("Quy 2", 2), ("Q2-2024", 2), ("Quý IV/2024", 4), ("q3", 3)] {
            assert_eq!(quarter_heading(name).map(|(q, _)| q), Some(q), "{name}");
        }
        for name in ["Báo cáo", "Quyết định", "Sheet1", "Q"] {
            assert_eq!(quarter_heading(name), None, "{name}");
        }
        let m = Mapping { sheet: Some("Quý {quarter_roman} năm {year} ({quarter})".into()), ..Default::default() };
        assert_eq!(m.sheet_for(Period::new(2024, 3).unwrap()).as_deref(), Some("Quý III năm 2024 (3)"));
        assert!(same_sheet_name("QUY III  NAM 2024", "Quý III năm 2024"));
        assert!(!same_sheet_name("Quý II", "Quý III"));
    }

    #[test]
    fn rows_that_are_not_data() {
        for (cells, want) in [
            (vec!["Nơi nhận:", "", "GIÁM ĐỐC"], Some(NonData::Footer)),
            (vec!["", "KT. GIÁM ĐỐC"], Some(NonData::Footer)),
            (vec!["- Lưu: VT."], Some(NonData::Footer)),
            (vec!["Lưu VT, P.KH."], Some(NonData::Footer)),
            (vec!["", "", "Vĩnh Long, ngày 10 tháng 7 năm 2024"], Some(NonData::Footer)),
            (vec!["TM. ỦY BAN NHÂN DÂN XÃ AN BÌNH"], Some(NonData::Footer)),
            (vec!["Tổng cộng", "", "12"], Some(NonData::Total)),
            (vec!["5", "Tổ chức hội nghị ngày 10 tháng 7 năm 2024 tại tỉnh", "Hoàn thành"], None),
            (vec!["12", "Duy trì", "85%"], None),
            // Tasks whose first word is a non-data word without its diacritics.
            (vec!["", "Công khai thủ tục hành chính", "Hoàn thành"], None),
            (vec!["", "Kỹ năng số cho người dân", "Hoàn thành"], None),
            (vec!["", "Lưu trữ hồ sơ điện tử", "Hoàn thành"], None),
            (vec!["", "Tổng hợp báo cáo", "Hoàn thành"], None),
            (vec!["Cộng", "", "12"], Some(NonData::Total)),
            (vec!["", "(Ký, ghi rõ họ tên)"], Some(NonData::Footer)),
        ] {
            assert_eq!(non_data(&row(9, &cells)), want, "{cells:?}");
        }
        for label in ["I.", "II", "iv.", "A", "B."] {
            assert!(is_section_label(label), "{label}");
        }
        for label in ["1", "1.1", "Nội dung", "12."] {
            assert!(!is_section_label(label), "{label}");
        }
    }

    #[test]
    fn a_mapping_finds_a_header_of_unknown_words() {
        let rows = vec![row(0, &["Số liệu tổng hợp"]), row(2, &["Số hiệu", "Diễn giải", "Con số"])];
        let mapping = Mapping {
            columns: ColumnMap { value: Some("Con số".into()), item: Some("A".into()), ..Default::default() },
            ..Default::default()
        };
        let h = find_header(&rows, &mapping).unwrap();
        assert_eq!((h.row, h.columns.item, h.columns.value), (2, Some(0), Some(2)));
    }

    #[test]
    fn a_header_without_a_result_column_lists_its_columns() {
        let rows = vec![row(0, &["STT", "Nội dung", "Chỉ tiêu năm 2024", "Ghi chú"])];
        let e = find_header(&rows, &Mapping::default()).unwrap_err();
        assert_eq!(
            e.vi("BC"),
            "Trang “BC” không có cột Kết quả thực hiện; các cột tìm thấy: STT, Nội dung, Chỉ tiêu năm 2024, Ghi chú"
        );
    }

    #[test]
    fn a_repeated_header_is_recognised() {
        let rows = vec![row(0, &["STT", "Nhiệm vụ", "Kết quả thực hiện", "Ghi chú"])];
        let h = find_header(&rows, &Mapping::default()).unwrap();
        assert!(h.is_repeated_header(&row(30, &["STT", "NHIỆM VỤ", "Kết quả thực hiện", ""])));
        assert!(!h.is_repeated_header(&row(30, &["5", "Nhiệm vụ", "Hoàn thành", ""])));
    }

    #[test]
    fn a_record_carries_what_its_columns_say() {
        let rows = vec![
            row(0, &["STT", "Chỉ tiêu số", "Nội dung", "Năm", "Quý", "Kết quả thực hiện", "", "ĐVT"]),
            row(1, &["", "", "", "", "", "Số lượng", "Tỷ lệ (%)", ""]),
        ];
        let h = find_header(&rows, &Mapping::default()).unwrap();
        let data = row(2, &["1", "118.1", "Duy trì", "2024", "II", "12", "85%", "lượt"]);
        let rec = crate::ingest::record_of(data, &h, "BC", true, 2024);
        assert_eq!(rec.item, Some(Cell::Text("1".into())));
        assert_eq!(rec.plan_item, Some(Cell::Text("118.1".into())));
        assert_eq!((rec.year.as_deref(), rec.quarter.as_deref()), (Some("2024"), Some("II")));
        assert_eq!(rec.period.as_deref(), Some("Quý 2/2024"));
        assert_eq!((rec.value.clone(), rec.location.as_str()), (Cell::Text("12".into()), "BC!F3"));
        assert_eq!(rec.column_unit, Some(UnitWord::Count));
        assert_eq!(rec.alternatives, vec![(UnitWord::Percent, Cell::Text("85%".into()), "BC!G3".to_string())]);
        assert_eq!(rec.uom.as_deref(), Some("lượt"));
        assert!(rec.cooperation);
        // Without a unit in the headings, the row's ĐVT gives it; a quarter without a year
        // takes the collected one.
        let rows = vec![row(0, &["STT", "Nội dung", "Quý", "Kết quả", "ĐVT"])];
        let h = find_header(&rows, &Mapping::default()).unwrap();
        let rec = crate::ingest::record_of(row(1, &["5", "Duy trì", "3", "85", "%"]), &h, "BC", false, 2024);
        assert_eq!((rec.column_unit, rec.period.as_deref()), (Some(UnitWord::Percent), Some("Quý 3/2024")));
        assert!(rec.alternatives.is_empty() && !rec.cooperation);
    }
}
