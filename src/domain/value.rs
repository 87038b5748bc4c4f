//! Reported values: what a department writes in its result cell.
//!
//! `85,5%`, `85.5%`, `0.855` in a percent-formatted cell, `85,5`, `1.000`, `1.000 lượt`,
//! and the statuses of `config/vocabulary.toml` `[statuses]` (read through
//! [`crate::domain::vocabulary::get`]): `Hoàn thành` / `Đạt` / `X` (done), `Đang thực hiện` (in
//! progress), `Chưa thực hiện` (not done), `Đã triển khai thường xuyên` (ongoing), alone or
//! before an explanation. Text is compared after NFC, case folding and whitespace collapse,
//! so NFD input from other systems reads the same.
//!
//! * A status in a percent or count indicator is stored as a status ([`Parsed::status_in_numeric`]),
//!   unless the cell also holds one figure that fits (`Đã hoàn thành 100%`): the figure wins.
//! * `N/A`, `-`, `Không phát sinh` (`[no_figure]`) are [`ValueError::NoFigure`]: nothing to
//!   report, skipped and counted by the ingest, not refused.
//! * A sentence with one figure that fits (`Đã cấp 1.250 tài khoản`) reads as that figure
//!   ([`Parsed::from_sentence`]: keep the text as the note); dates, years and document
//!   numbers are not figures. Figures that disagree (`đạt 80%, trong đó 12/20 xã`) are
//!   [`ValueError::Conflicting`]: the row is held for the operator.
//! * A percent outside 0–100, a negative count, a bound or an estimate (`≥10%`,
//!   `khoảng 50%`), or a value whose kind does not fit the indicator is refused with a reason
//!   an officer can act on ([`ValueError::vi`]).
//!
//! Owns: `Value`, `Progress`, `MeasureKind`, `CellInput`, `Parsed` and `ValueError`: what a
//! result cell may say and why it is refused. Receives: cells as `CellInput` from
//! `ingest::normalize`, the expected `MeasureKind` from `catalog::plan`, status words from
//! `domain::vocabulary`. Hands on: `Value`s (in `domain::observation::NewObservation`) and
//! `ValueError`s to `ingest::normalize`; `MeasureKind` and `Progress` to `catalog`,
//! `evaluate`, `remind`, `report` and `warehouse`.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::number::{format_vi, parse_number};
use crate::domain::vocabulary;
use crate::text::{clean, fold};

/// The progress of a task, for indicators reported as a status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Progress {
    /// Chưa thực hiện
    NotDone,
    /// Đang thực hiện
    InProgress,
    /// Thường xuyên: carried out regularly (what an ongoing task must report)
    Ongoing,
    /// Hoàn thành
    Done,
}

impl Progress {
    pub fn vi(self) -> &'static str {
        match self {
            Progress::NotDone => "Chưa thực hiện",
            Progress::InProgress => "Đang thực hiện",
            Progress::Ongoing => "Thường xuyên",
            Progress::Done => "Hoàn thành",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Progress::NotDone => "not_done",
            Progress::InProgress => "in_progress",
            Progress::Ongoing => "ongoing",
            Progress::Done => "done",
        }
    }

    pub fn parse_code(s: &str) -> Option<Self> {
        [Progress::NotDone, Progress::InProgress, Progress::Ongoing, Progress::Done]
            .into_iter()
            .find(|p| p.as_str() == s)
    }

    /// A status as officers write it, from the process-wide vocabulary
    /// ([`crate::domain::vocabulary::get`], `config/vocabulary.toml` `[statuses]`): the whole cell,
    /// or a status followed by its explanation (`Đã hoàn thành (tháng 6/2024)`).
    pub fn from_text(s: &str) -> Option<Self> {
        let v = vocabulary::get();
        v.status(s).or_else(|| v.status_lead(s))
    }
}

/// What an indicator is measured in, for one judged agency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MeasureKind {
    /// Percent, 0–100.
    Percent,
    /// A count, optionally with its unit word (`lượt`, `sản phẩm`).
    Count {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        unit: Option<String>,
    },
    /// A progress status.
    Status,
}

impl MeasureKind {
    /// A well-formed figure of this kind, for messages to officers.
    pub fn example(&self) -> String {
        match self {
            MeasureKind::Percent => "85% hoặc 85,5%".into(),
            MeasureKind::Count { unit: Some(u) } => format!("1.000 {u}"),
            MeasureKind::Count { unit: None } => "1.000".into(),
            MeasureKind::Status => "Hoàn thành".into(),
        }
    }

    pub fn vi(&self) -> String {
        match self {
            MeasureKind::Percent => "tỷ lệ (%)".into(),
            MeasureKind::Count { unit: Some(u) } => format!("số lượng ({u})"),
            MeasureKind::Count { unit: None } => "số lượng".into(),
            MeasureKind::Status => "trạng thái (Hoàn thành / Đang thực hiện / Chưa thực hiện)".into(),
        }
    }
}

/// A value as reported, in its measure's unit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Value {
    Percent(f64),
    Count(f64),
    Status(Progress),
}

impl Value {
    /// The number behind the value, for arithmetic; statuses have none.
    pub fn number(&self) -> Option<f64> {
        match self {
            Value::Percent(v) | Value::Count(v) => Some(*v),
            Value::Status(_) => None,
        }
    }

    pub fn status(&self) -> Option<Progress> {
        match self {
            Value::Status(p) => Some(*p),
            _ => None,
        }
    }

    /// `85,5%`, `1.000`, `Hoàn thành`.
    pub fn vi(&self) -> String {
        match self {
            Value::Percent(v) => format!("{}%", format_vi(*v, 2)),
            Value::Count(v) => format_vi(*v, 2),
            Value::Status(p) => p.vi().to_string(),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Percent(v) => write!(f, "{v}%"),
            Value::Count(v) => write!(f, "{v}"),
            Value::Status(p) => f.write_str(p.as_str()),
        }
    }
}

/// A cell as the spreadsheet reader hands it over.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CellInput<'a> {
    Empty,
    Text(&'a str),
    /// A numeric cell; `percent_format` when the cell is formatted as a percentage, so its
    /// stored value is a fraction (`0.855` shown as `85,5%`).
    Number {
        value: f64,
        percent_format: bool,
    },
    Bool(bool),
}

/// Why a reported value was refused. [`ValueError::vi`] is the sentence the officer reads.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ValueError {
    #[error("empty result")]
    Empty,
    #[error("percent {0} outside 0–100")]
    PercentOutOfRange(f64),
    #[error("negative count {0}")]
    NegativeCount(f64),
    #[error("expected {expected:?}, got `{got}`")]
    KindMismatch { expected: MeasureKind, got: String },
    #[error("unit `{got}` does not match `{expected}`")]
    UnitMismatch { expected: String, got: String },
    #[error("unreadable value `{0}`")]
    Unreadable(String),
    /// Text where a figure was expected: `≥10%` (the target copied), `khoảng 50%`, `abc`.
    #[error("`{got}` is not a figure ({expected:?} expected)")]
    NotAFigure { got: String, expected: MeasureKind },
    /// `N/A`, `-`, `Không phát sinh` (`[no_figure]`): nothing to report, and no mistake.
    /// Skipped and counted, not refused.
    #[error("no figure to report: `{0}`")]
    NoFigure(String),
    /// Several figures that disagree (`đạt 80%, trong đó 12/20 xã`): which one is meant is
    /// uncertain, so the row is held for the operator.
    #[error("conflicting figures {figures:?} in `{got}`")]
    Conflicting { got: String, figures: Vec<String>, expected: MeasureKind },
}

impl ValueError {
    /// A stable code for counting and filtering rejects.
    pub fn code(&self) -> &'static str {
        match self {
            ValueError::Empty => "empty_value",
            ValueError::PercentOutOfRange(_) => "percent_out_of_range",
            ValueError::NegativeCount(_) => "negative_count",
            ValueError::KindMismatch { .. } => "kind_mismatch",
            ValueError::UnitMismatch { .. } => "unit_mismatch",
            ValueError::Unreadable(_) | ValueError::NotAFigure { .. } => "unreadable_value",
            ValueError::NoFigure(_) => "no_figure",
            ValueError::Conflicting { .. } => "conflicting_figures",
        }
    }

    /// The reason in Vietnamese, as an officer reads it in a reject list or an email.
    pub fn vi(&self) -> String {
        match self {
            ValueError::Empty => "Ô kết quả để trống".into(),
            ValueError::PercentOutOfRange(v) if *v > 100.0 => format!("Kết quả {}% vượt quá 100%", format_vi(*v, 2)),
            ValueError::PercentOutOfRange(v) => format!("Kết quả {}% nhỏ hơn 0%", format_vi(*v, 2)),
            ValueError::NegativeCount(v) => format!("Số lượng {} không được âm", format_vi(*v, 2)),
            ValueError::KindMismatch { expected, got } => {
                format!("Chỉ tiêu này báo cáo bằng {}, nhưng ô ghi “{}”", expected.vi(), got)
            }
            ValueError::UnitMismatch { expected, got } => {
                format!("Đơn vị tính “{got}” không khớp với đơn vị của chỉ tiêu “{expected}”")
            }
            ValueError::Unreadable(got) => format!("Không đọc được kết quả “{got}”"),
            ValueError::NotAFigure { got, expected } if is_comparison(got) => format!(
                "Kết quả “{got}” không phải số liệu cụ thể: ghi số liệu thực tế đạt được, không ghi dấu so sánh hay ước chừng (ví dụ {})",
                expected.example()
            ),
            ValueError::NotAFigure { got, expected } => {
                format!("Không đọc được kết quả “{got}”: cần ghi {}, ví dụ {}", expected.vi(), expected.example())
            }
            ValueError::NoFigure(got) => format!(
                "Ô kết quả ghi “{got}”: không có số liệu để báo cáo trong kỳ; nếu nhiệm vụ có phát sinh, ghi kết quả thực tế"
            ),
            ValueError::Conflicting { got, figures, expected } => format!(
                "Kết quả “{got}” có nhiều số liệu khác nhau ({}): ghi một số liệu duy nhất là kết quả của chỉ tiêu (ví dụ {}), phần giải thích ghi vào cột Ghi chú",
                figures.join("; "),
                expected.example()
            ),
        }
    }
}

/// `≥10%`, `trên 80%`, `khoảng 50%`, `đạt trên 80%`: a bound or an estimate, not a figure.
fn is_comparison(text: &str) -> bool {
    let f = fold(text);
    f.starts_with(['≥', '>', '≤', '<', '=', '~', '≈'])
        || HEDGES.iter().any(|w| f.strip_prefix(w).is_some_and(|rest| rest.starts_with(' ')))
        || figures(&f).iter().any(|x| x.hedged)
}

/// Words before a figure that make it a bound or an estimate.
const HEDGES: &[&str] =
    &["trên", "dưới", "từ", "khoảng", "gần", "hơn", "tối thiểu", "tối đa", "ít nhất", "ước", "ước đạt"];

/// Words before a number that make it a date or a period: `tháng 6/2024`, `năm 2024`.
const PERIOD_WORDS: &[&str] = &["tháng", "ngày", "năm", "quý", "đợt", "kỳ", "giai đoạn"];

/// Words before a number that make it a document's or an item's number (`Quyết định 123`,
/// `Kế hoạch số 742`, `chỉ tiêu số 29`), optionally followed by `số`.
const DOCUMENT_WORDS: &[&str] = &[
    "quyết định",
    "kế hoạch",
    "công văn",
    "nghị định",
    "nghị quyết",
    "thông tư",
    "chỉ thị",
    "văn bản",
    "báo cáo",
    "tờ trình",
    "thông báo",
    "hướng dẫn",
    "qđ",
    "kh",
    "cv",
    "nq",
    "nđ",
    "chỉ tiêu",
    "nhiệm vụ",
    "mục",
    "điều",
    "phụ lục",
    "stt",
];

/// Words before a figure that make it a change, not the result: `tăng 20%`.
const RELATIVE_WORDS: &[&str] = &["tăng", "giảm", "thêm", "vượt"];

/// Words after which figures are parts of the one before (`1.250 tài khoản, trong đó 300 …`).
const BREAKDOWN_WORDS: &[&str] = &["trong đó", "bao gồm", "gồm"];

/// A figure found in a cell's folded text.
#[derive(Debug, Clone, PartialEq)]
struct Figure {
    kind: FigureKind,
    /// What follows the figure, up to an explanation: its unit word for counts.
    unit: String,
    /// As written: `80%`, `12/15`, `1.250`.
    raw: String,
    /// After `trên`, `khoảng`, `≥`: a bound or an estimate.
    hedged: bool,
    /// After `tăng`, `giảm`: a change.
    relative: bool,
    /// After `trong đó`: a part of an earlier figure.
    breakdown: bool,
    /// Four digits between 1900 and 2100 without a unit sign: most likely a year.
    year_like: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum FigureKind {
    Percent(f64),
    /// `12/15`: twelve of fifteen.
    Share {
        part: f64,
        whole: f64,
    },
    Number(f64),
}

/// The words just before `at` in `s`, trimmed of spaces and `:`.
fn before_words(s: &str, at: usize) -> &str {
    s[..at].trim_end_matches([' ', ':', '('])
}

/// Whether `before` ends with one of `words` as whole words.
fn ends_with_word(before: &str, words: &[&str]) -> bool {
    words.iter().any(|w| {
        before.strip_suffix(w).is_some_and(|head| head.is_empty() || head.ends_with([' ', '(', ',', ';', ':', '-']))
    })
}

/// The end of the token starting at `at` (up to the next space).
fn token_end(s: &str, at: usize) -> usize {
    s[at..].find(' ').map_or(s.len(), |i| at + i)
}

/// Every figure in a folded text, leaving out dates (`tháng 6/2024`, `15/3/2024`), years,
/// document numbers (`Quyết định 123/QĐ-UBND`, `Kế hoạch số 742`) and codes (`5G`, `QĐ123`).
fn figures(f: &str) -> Vec<Figure> {
    let mut out = Vec::new();
    let mut breakdown = false;
    let mut i = 0;
    while i < f.len() {
        let Some(c) = f[i..].chars().next() else { break };
        if !c.is_ascii_digit() {
            if BREAKDOWN_WORDS
                .iter()
                .any(|w| f[i..].starts_with(w) && (i == 0 || f[..i].ends_with([' ', ',', '(', ';'])))
            {
                breakdown = true;
            }
            i += c.len_utf8();
            continue;
        }
        let Some(split) = split_number(&f[i..]) else {
            i += 1;
            continue;
        };
        let number = split.number;
        let mut next = i + number.len();
        let prev = f[..i].chars().next_back();
        let prev2 = f[..i].chars().rev().nth(1);
        // Glued to a word: `qđ123`, `covid-19`, `5g`, `4.0`-like codes.
        let glued_before = prev.is_some_and(char::is_alphanumeric)
            || (prev.is_some_and(|p| matches!(p, '-' | '/' | '.' | '_')) && prev2.is_some_and(char::is_alphanumeric));
        let glued_after = f[next..].chars().next().is_some_and(char::is_alphabetic);
        if glued_before || glued_after {
            i = token_end(f, i);
            continue;
        }
        let Ok(value) = parse_number(number) else {
            i = next;
            continue;
        };
        let before = before_words(f, i);
        let hedged = before.ends_with(['≥', '>', '≤', '<', '~', '≈', '=']) || ends_with_word(before, HEDGES);
        let relative = ends_with_word(before, RELATIVE_WORDS);
        let document = {
            let head = before.strip_suffix(" số").unwrap_or(before);
            ends_with_word(head, DOCUMENT_WORDS)
        };
        let period = ends_with_word(before, PERIOD_WORDS);
        let rest = &f[next..];
        let kind;
        let unit;
        if let Some(after) = rest.strip_prefix('/') {
            let Some(total) = split_number(after).filter(|_| after.starts_with(|c: char| c.is_ascii_digit())) else {
                // `123/QĐ-UBND`: a document number.
                i = token_end(f, i);
                continue;
            };
            next += 1 + total.number.len();
            let after_total = &f[next..];
            let whole = parse_number(total.number).ok();
            let month_year =
                value <= 12.0 && total.number.len() == 4 && whole.is_some_and(|w| (1900.0..=2100.0).contains(&w));
            if after_total.starts_with(['/', '-']) && after_total[1..].starts_with(|c: char| c.is_alphanumeric())
                || period
                || document
                || month_year
            {
                // `15/3/2024`, `12/2024/NĐ-CP`, `tháng 6/2024`, `(6/2024)`.
                i = token_end(f, next);
                continue;
            }
            let Some(whole) = whole else {
                i = next;
                continue;
            };
            kind = FigureKind::Share { part: value, whole };
            unit = leading_phrase(after_total).to_string();
        } else if let Some(after) = rest.trim_start().strip_prefix('%') {
            next = f.len() - after.len();
            kind = FigureKind::Percent(value);
            unit = String::new();
        } else if let Some(after) = rest.trim_start().strip_prefix("phần trăm") {
            next = f.len() - after.len();
            kind = FigureKind::Percent(value);
            unit = String::new();
        } else {
            if period || document {
                i = next;
                continue;
            }
            kind = FigureKind::Number(value);
            unit = leading_phrase(rest).to_string();
        }
        let year_like = matches!(kind, FigureKind::Number(_))
            && number.len() == 4
            && number.bytes().all(|b| b.is_ascii_digit())
            && (1900.0..=2100.0).contains(&value);
        out.push(Figure { kind, unit, raw: f[i..next].trim().to_string(), hedged, relative, breakdown, year_like });
        i = next;
    }
    out
}

/// How the figures of a cell read for an indicator.
#[derive(Debug, Clone, PartialEq)]
enum Reading {
    /// One figure, or several that agree.
    One(Value),
    /// Figures that disagree, as written.
    Conflict(Vec<String>),
    /// Only bounds or estimates fit.
    Hedged,
    /// No figure fits the indicator.
    Nothing,
}

/// `lượt truy cập` is in `lượt`.
fn unit_fits(unit: &str, expected: &str) -> bool {
    let e = fold(expected);
    !e.is_empty() && (unit == e || unit.strip_prefix(e.as_str()).is_some_and(|r| r.starts_with(' ')))
}

/// Reads the figures of a cell for an indicator measured in `expected`.
fn resolve(figs: &[Figure], expected: &MeasureKind) -> Reading {
    let raws = |c: &[(f64, &Figure)]| c.iter().map(|(_, f)| f.raw.clone()).collect::<Vec<_>>();
    match expected {
        MeasureKind::Status => Reading::Nothing,
        MeasureKind::Percent => {
            let fitting: Vec<(f64, &Figure)> = figs
                .iter()
                .filter(|f| !f.relative)
                .filter_map(|f| match f.kind {
                    FigureKind::Percent(v) => Some((v, f)),
                    FigureKind::Share { part, whole } if whole > 0.0 => Some((part / whole * 100.0, f)),
                    _ => None,
                })
                .collect();
            let (hedged, plain): (Vec<_>, Vec<_>) = fitting.into_iter().partition(|(_, f)| f.hedged);
            // A stated percentage is the figure; a share written beside it must agree with it.
            let Some(&(first, _)) =
                plain.iter().find(|(_, f)| matches!(f.kind, FigureKind::Percent(_))).or(plain.first())
            else {
                return if hedged.is_empty() { Reading::Nothing } else { Reading::Hedged };
            };
            if plain.iter().all(|(v, _)| (v - first).abs() <= 0.5) {
                Reading::One(Value::Percent(first))
            } else {
                Reading::Conflict(raws(&plain))
            }
        }
        MeasureKind::Count { unit } => {
            let counts: Vec<(f64, &Figure)> = figs
                .iter()
                .filter(|f| !f.relative)
                .filter_map(|f| match f.kind {
                    FigureKind::Number(v) => Some((v, f)),
                    FigureKind::Share { part, .. } => Some((part, f)),
                    FigureKind::Percent(_) => None,
                })
                .filter(|(_, f)| !f.year_like || unit.as_deref().is_some_and(|u| unit_fits(&f.unit, u)))
                .collect();
            let (hedged, plain): (Vec<_>, Vec<_>) = counts.into_iter().partition(|(_, f)| f.hedged);
            if plain.is_empty() {
                return if hedged.is_empty() { Reading::Nothing } else { Reading::Hedged };
            }
            // A part after `trong đó` does not compete with the whole before it.
            let whole: Vec<(f64, &Figure)> = plain.iter().filter(|(_, f)| !f.breakdown).copied().collect();
            let plain = if whole.is_empty() { plain } else { whole };
            // The figure carrying the indicator's unit word is the one meant.
            let with_unit: Vec<(f64, &Figure)> = match unit {
                Some(u) => plain.iter().filter(|(_, f)| unit_fits(&f.unit, u)).copied().collect(),
                None => Vec::new(),
            };
            let candidates = if with_unit.is_empty() { plain } else { with_unit };
            let first = candidates[0].0;
            if candidates.iter().all(|(v, _)| (v - first).abs() < 1e-9) {
                Reading::One(Value::Count(first))
            } else {
                Reading::Conflict(raws(&candidates))
            }
        }
    }
}

/// `đạt 12%`, `Đạt: 95,5%`: the verb officers write before the figure ("reached").
fn without_reached(text: &str) -> &str {
    let Some(rest) = ["đạt", "Đạt", "ĐẠT"].iter().find_map(|p| text.strip_prefix(p)) else {
        return text;
    };
    if !rest.starts_with([' ', ':']) {
        return text;
    }
    let rest = rest.trim_start_matches([' ', ':']);
    if rest.starts_with(|c: char| c.is_ascii_digit()) { rest } else { text }
}

/// A reported cell read for an indicator, with how it was read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Parsed {
    pub value: Value,
    /// The figure was read out of a sentence (`Đã cấp 1.250 tài khoản`): keep the cell's
    /// text as the observation's note.
    pub from_sentence: bool,
    /// A status (`Hoàn thành`, `X`) in a percent or count indicator, stored as a status and
    /// judged as such; keep the text as the note too.
    pub status_in_numeric: bool,
}

impl Parsed {
    fn plain(value: Value) -> Self {
        Self { value, from_sentence: false, status_in_numeric: false }
    }
}

/// Reads a reported cell for an indicator measured in `expected`.
pub fn parse_value(cell: CellInput<'_>, expected: &MeasureKind) -> Result<Value, ValueError> {
    parse_value_noted(cell, expected).map(|p| p.value)
}

/// Reads a reported cell for an indicator measured in `expected`, saying whether the value
/// came out of a sentence or is a status in a numeric indicator (the caller keeps the text
/// as the note then).
///
/// * `N/A`, `-`, `Không phát sinh` (`[no_figure]`) → [`ValueError::NoFigure`];
/// * a status (`[statuses]`, alone or before an explanation) → [`Value::Status`], in any
///   indicator, unless the text also holds one figure that fits a numeric indicator
///   (`Đã hoàn thành 100%`, `Đạt 95%`): the figure wins;
/// * a sentence with one fitting figure (`Đã cấp 1.250 tài khoản`) → that figure; figures
///   that disagree (`đạt 80%, trong đó 12/20 xã`) → [`ValueError::Conflicting`]. Dates,
///   years and document numbers are not figures.
pub fn parse_value_noted(cell: CellInput<'_>, expected: &MeasureKind) -> Result<Parsed, ValueError> {
    let parsed = match cell {
        CellInput::Empty => return Err(ValueError::Empty),
        CellInput::Bool(b) => match expected {
            MeasureKind::Status => Parsed::plain(Value::Status(if b { Progress::Done } else { Progress::NotDone })),
            _ => return Err(ValueError::KindMismatch { expected: expected.clone(), got: b.to_string() }),
        },
        CellInput::Number { value, percent_format } => Parsed::plain(match expected {
            MeasureKind::Percent => Value::Percent(if percent_format { value * 100.0 } else { value }),
            MeasureKind::Count { .. } if !percent_format => Value::Count(value),
            _ => {
                let shown =
                    if percent_format { format!("{}%", format_vi(value * 100.0, 2)) } else { format_vi(value, 4) };
                return Err(ValueError::KindMismatch { expected: expected.clone(), got: shown });
            }
        }),
        CellInput::Text(text) => parse_text(text, expected)?,
    };
    Ok(Parsed { value: check_range(parsed.value)?, ..parsed })
}

fn check_range(value: Value) -> Result<Value, ValueError> {
    match value {
        // Rounding noise from `0.855 * 100` must not turn 100% into a reject.
        Value::Percent(v) if !(-1e-9..=100.0 + 1e-9).contains(&v) || v.is_nan() => {
            Err(ValueError::PercentOutOfRange(v))
        }
        Value::Percent(v) => Ok(Value::Percent(round_noise(v.clamp(0.0, 100.0)))),
        Value::Count(v) if v < 0.0 || v.is_nan() => Err(ValueError::NegativeCount(v)),
        Value::Count(v) => Ok(Value::Count(round_noise(v))),
        other => Ok(other),
    }
}

/// `85.50000000000001` → `85.5`: removes binary noise below 1e-9.
fn round_noise(v: f64) -> f64 {
    (v * 1e9).round() / 1e9
}

fn parse_text(text: &str, expected: &MeasureKind) -> Result<Parsed, ValueError> {
    let cleaned = clean(text);
    if cleaned.is_empty() {
        return Err(ValueError::Empty);
    }
    let words = vocabulary::get();
    if words.no_figure_lead(&cleaned) {
        return Err(ValueError::NoFigure(cleaned));
    }
    let status = || words.status(&cleaned).or_else(|| words.status_lead(&cleaned));
    if *expected == MeasureKind::Status {
        return match status() {
            Some(p) => Ok(Parsed::plain(Value::Status(p))),
            None => Err(ValueError::KindMismatch { expected: expected.clone(), got: cleaned }),
        };
    }
    let as_status = |p: Progress| Parsed { value: Value::Status(p), from_sentence: false, status_in_numeric: true };
    let not_a_figure = || ValueError::NotAFigure { got: cleaned.clone(), expected: expected.clone() };
    let conflicting =
        |figures: Vec<String>| ValueError::Conflicting { got: cleaned.clone(), figures, expected: expected.clone() };
    if is_comparison(&cleaned) && words.status(&cleaned).is_none() {
        return Err(not_a_figure());
    }
    let reading = resolve(&figures(&fold(&cleaned)), expected);
    // A figure first (`100% (15/15 đơn vị)`, `1.000 lượt (tăng 20%)`, `-3`): read as
    // written; for a percent, a share beside it must agree.
    let mut first_error = None;
    if without_reached(&cleaned).starts_with(|c: char| c.is_ascii_digit() || matches!(c, '-' | '\u{2212}' | '+')) {
        match parse_figure(&cleaned, expected) {
            Ok(value) => {
                return match reading {
                    Reading::Conflict(figures) if *expected == MeasureKind::Percent => Err(conflicting(figures)),
                    _ => Ok(Parsed::plain(value)),
                };
            }
            Err(e @ (ValueError::KindMismatch { .. } | ValueError::NotAFigure { .. })) => first_error = Some(e),
            Err(e) => return Err(e),
        }
    }
    // A sentence, a status, or a status with its figure (`Đã hoàn thành 100%`).
    match reading {
        Reading::One(value) => Ok(Parsed { value, from_sentence: true, status_in_numeric: false }),
        Reading::Conflict(figures) => Err(conflicting(figures)),
        Reading::Hedged => Err(not_a_figure()),
        Reading::Nothing => match status() {
            Some(p) => Ok(as_status(p)),
            None => Err(first_error.unwrap_or_else(not_a_figure)),
        },
    }
}

/// A cell that opens with its figure, read as written: `85,5%`, `12/15 xã`, `1.000 lượt
/// (tăng 20%)`, `5 giao dịch` (a unit that does not fit is refused).
fn parse_figure(cleaned: &str, expected: &MeasureKind) -> Result<Value, ValueError> {
    let not_a_figure = |got: &str| ValueError::NotAFigure { got: got.to_string(), expected: expected.clone() };
    let Some(split) = split_number(without_reached(cleaned)) else {
        return Err(not_a_figure(cleaned));
    };
    let number = parse_number(split.number).map_err(|_| not_a_figure(cleaned))?;
    let mut unit = leading_phrase(split.unit);
    // `12/15 xã`: twelve of fifteen.
    let mut of_total = None;
    if let Some(rest) = split.unit.strip_prefix('/')
        && let Some(total) = split_number(rest)
    {
        let whole = parse_number(total.number).map_err(|_| not_a_figure(cleaned))?;
        of_total = Some(whole);
        unit = leading_phrase(total.unit);
    }
    if fold(unit) == "phần trăm" {
        unit = "%";
    }
    match expected {
        MeasureKind::Percent if of_total.is_some() => match of_total {
            Some(whole) if whole > 0.0 && unit != "%" => Ok(Value::Percent(number / whole * 100.0)),
            _ => Err(not_a_figure(cleaned)),
        },
        MeasureKind::Percent if unit.is_empty() || unit == "%" => Ok(Value::Percent(number)),
        MeasureKind::Count { unit: expected_unit } if unit != "%" => {
            if let Some(expected_unit) = expected_unit
                && !unit.is_empty()
                && !unit_fits(&fold(unit), expected_unit)
            {
                return Err(ValueError::UnitMismatch { expected: expected_unit.clone(), got: split.unit.to_string() });
            }
            Ok(Value::Count(number))
        }
        _ => Err(ValueError::KindMismatch { expected: expected.clone(), got: cleaned.to_string() }),
    }
}

/// What comes before an explanation: `% (15/15 đơn vị)` → `%`, `Đã hoàn thành (tháng 6)` →
/// `Đã hoàn thành`, `xã, phường` → `xã`, `xã.` → `xã`. Only for units and statuses: a
/// number's own comma is a decimal comma.
fn leading_phrase(s: &str) -> &str {
    let end = s.find(['(', ',', ';', ':']).unwrap_or(s.len());
    let end = s[..end].find(" - ").unwrap_or(end);
    s[..end].trim().trim_end_matches(['.', '!']).trim_end()
}

/// A number followed by a unit: `85,5 %` → (`85,5`, `%`), `1.000 lượt` → (`1.000`, `lượt`).
pub(crate) struct NumberWithUnit<'a> {
    pub number: &'a str,
    pub unit: &'a str,
}

pub(crate) fn split_number(s: &str) -> Option<NumberWithUnit<'_>> {
    let s = s.trim();
    let start = usize::from(s.starts_with(['-', '\u{2212}', '+']));
    let signed_len = if start == 1 { s.chars().next().map_or(1, char::len_utf8) } else { 0 };
    let body = &s[signed_len..];
    let end = body
        .char_indices()
        .find(|(i, c)| {
            !(c.is_ascii_digit()
                || ((*c == '.' || *c == ',') && body[i + 1..].starts_with(|d: char| d.is_ascii_digit()))
                || (*c == ' '
                    && body[i + 1..].chars().take(3).filter(char::is_ascii_digit).count() == 3
                    && body[i + 1..].chars().nth(3).is_none_or(|d| !d.is_ascii_digit())))
        })
        .map_or(body.len(), |(i, _)| i);
    if end == 0 {
        return None;
    }
    Some(NumberWithUnit { number: s[..signed_len + end].trim(), unit: body[end..].trim() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use unicode_normalization::UnicodeNormalization;

    fn count() -> MeasureKind {
        MeasureKind::Count { unit: Some("lượt".into()) }
    }

    #[test]
    fn spellings_from_design_md() {
        let cases: Vec<(CellInput<'_>, MeasureKind, Value)> = vec![
            (CellInput::Text("85,5%"), MeasureKind::Percent, Value::Percent(85.5)),
            (CellInput::Text("85.5%"), MeasureKind::Percent, Value::Percent(85.5)),
            (CellInput::Text("85,5 %"), MeasureKind::Percent, Value::Percent(85.5)),
            (CellInput::Number { value: 0.855, percent_format: true }, MeasureKind::Percent, Value::Percent(85.5)),
            (CellInput::Number { value: 1.0, percent_format: true }, MeasureKind::Percent, Value::Percent(100.0)),
            (CellInput::Number { value: 85.5, percent_format: false }, MeasureKind::Percent, Value::Percent(85.5)),
            (CellInput::Text("85,5"), MeasureKind::Percent, Value::Percent(85.5)),
            (CellInput::Text("100%"), MeasureKind::Percent, Value::Percent(100.0)),
            (CellInput::Text("đạt 12%"), MeasureKind::Percent, Value::Percent(12.0)),
            (CellInput::Text("100% (15/15 đơn vị)"), MeasureKind::Percent, Value::Percent(100.0)),
            (CellInput::Text("85%."), MeasureKind::Percent, Value::Percent(85.0)),
            (CellInput::Text("85 phần trăm"), MeasureKind::Percent, Value::Percent(85.0)),
            (CellInput::Text("12/15"), MeasureKind::Percent, Value::Percent(80.0)),
            (CellInput::Text("25/100 xã"), MeasureKind::Percent, Value::Percent(25.0)),
            (CellInput::Text("1.000 lượt (tăng 20%)"), count(), Value::Count(1000.0)),
            (CellInput::Text("1.000 lượt."), count(), Value::Count(1000.0)),
            (CellInput::Text("12/15 lượt"), count(), Value::Count(12.0)),
            (CellInput::Text("1,5"), count(), Value::Count(1.5)),
            (CellInput::Text("Đã hoàn thành (tháng 6/2024)"), MeasureKind::Status, Value::Status(Progress::Done)),
            (
                CellInput::Text("Đang triển khai, dự kiến xong quý IV"),
                MeasureKind::Status,
                Value::Status(Progress::InProgress),
            ),
            (CellInput::Text("Đạt: 95,5%"), MeasureKind::Percent, Value::Percent(95.5)),
            (CellInput::Text("ĐẠT 1.000 lượt"), count(), Value::Count(1000.0)),
            (CellInput::Text("1.000"), count(), Value::Count(1000.0)),
            (CellInput::Text("1.000 lượt"), count(), Value::Count(1000.0)),
            (CellInput::Text("600 LƯỢT"), count(), Value::Count(600.0)),
            (CellInput::Number { value: 150.0, percent_format: false }, count(), Value::Count(150.0)),
            (
                CellInput::Text("01 chuyên gia"),
                MeasureKind::Count { unit: Some("chuyên gia".into()) },
                Value::Count(1.0),
            ),
            (CellInput::Text("Hoàn thành"), MeasureKind::Status, Value::Status(Progress::Done)),
            (CellInput::Text("Đã hoàn thành"), MeasureKind::Status, Value::Status(Progress::Done)),
            (CellInput::Text("Đạt"), MeasureKind::Status, Value::Status(Progress::Done)),
            (CellInput::Text("X"), MeasureKind::Status, Value::Status(Progress::Done)),
            (CellInput::Text("x"), MeasureKind::Status, Value::Status(Progress::Done)),
            (CellInput::Text("Đang thực hiện"), MeasureKind::Status, Value::Status(Progress::InProgress)),
            (CellInput::Text("Đang triển khai"), MeasureKind::Status, Value::Status(Progress::InProgress)),
            (CellInput::Text("Chưa thực hiện"), MeasureKind::Status, Value::Status(Progress::NotDone)),
            (CellInput::Text("Thường xuyên"), MeasureKind::Status, Value::Status(Progress::Ongoing)),
            (CellInput::Text("  HOÀN   THÀNH. "), MeasureKind::Status, Value::Status(Progress::Done)),
            (CellInput::Bool(true), MeasureKind::Status, Value::Status(Progress::Done)),
        ];
        for (input, kind, expected) in cases {
            assert_eq!(parse_value(input, &kind), Ok(expected), "{input:?} as {kind:?}");
        }
    }

    #[test]
    fn nfd_input_reads_like_nfc() {
        let nfd: String = "Đang thực hiện".nfd().collect();
        assert_eq!(parse_value(CellInput::Text(&nfd), &MeasureKind::Status), Ok(Value::Status(Progress::InProgress)));
        let nfd_count: String = "1.000 lượt".nfd().collect();
        assert_eq!(parse_value(CellInput::Text(&nfd_count), &count()), Ok(Value::Count(1000.0)));
    }

    #[test]
    fn refusals_with_vietnamese_reasons() {
        let err = parse_value(CellInput::Text("135%"), &MeasureKind::Percent).unwrap_err();
        assert_eq!(err.vi(), "Kết quả 135% vượt quá 100%");
        let err =
            parse_value(CellInput::Number { value: 1.35, percent_format: true }, &MeasureKind::Percent).unwrap_err();
        assert_eq!(err.vi(), "Kết quả 135% vượt quá 100%");
        let err = parse_value(CellInput::Text("-3"), &count()).unwrap_err();
        assert_eq!(err.code(), "negative_count");
        let err = parse_value(CellInput::Text("chưa rõ"), &MeasureKind::Percent).unwrap_err();
        assert_eq!(err.vi(), "Không đọc được kết quả “chưa rõ”: cần ghi tỷ lệ (%), ví dụ 85% hoặc 85,5%");
        let err = parse_value(CellInput::Text("50%"), &count()).unwrap_err();
        assert_eq!(err.code(), "kind_mismatch");
        let err = parse_value(CellInput::Text("5 giao dịch"), &count()).unwrap_err();
        assert_eq!(err.vi(), "Đơn vị tính “giao dịch” không khớp với đơn vị của chỉ tiêu “lượt”");
        let err = parse_value(CellInput::Text("một nửa"), &MeasureKind::Percent).unwrap_err();
        assert_eq!(err.code(), "unreadable_value");
        assert_eq!(err.vi(), "Không đọc được kết quả “một nửa”: cần ghi tỷ lệ (%), ví dụ 85% hoặc 85,5%");
        let err = parse_value(CellInput::Text("3/0"), &MeasureKind::Percent).unwrap_err();
        assert_eq!(err.code(), "unreadable_value");
        let err = parse_value(CellInput::Text("16/15"), &MeasureKind::Percent).unwrap_err();
        assert_eq!(err.code(), "percent_out_of_range");
        let err = parse_value(CellInput::Text("nhiều"), &count()).unwrap_err();
        assert_eq!(err.vi(), "Không đọc được kết quả “nhiều”: cần ghi số lượng (lượt), ví dụ 1.000 lượt");
        // A bound or an estimate: the target copied, or a guess.
        for text in ["≥10%", ">80%", "Trên 80%", "khoảng 50%", "~ 50%"] {
            let err = parse_value(CellInput::Text(text), &MeasureKind::Percent).unwrap_err();
            assert_eq!(err.code(), "unreadable_value", "{text}");
            assert!(
                err.vi().contains("không phải số liệu cụ thể") && err.vi().contains("ví dụ 85%"),
                "{text}: {}",
                err.vi()
            );
        }
        assert_eq!(parse_value(CellInput::Text("  "), &MeasureKind::Percent), Err(ValueError::Empty));
        assert_eq!(parse_value(CellInput::Empty, &MeasureKind::Status), Err(ValueError::Empty));
        let err = parse_value(CellInput::Text("85%"), &MeasureKind::Status).unwrap_err();
        assert_eq!(err.code(), "kind_mismatch");
    }

    #[test]
    fn rounding_noise_is_not_a_reject() {
        assert_eq!(
            parse_value(CellInput::Number { value: 1.0000000000000002, percent_format: true }, &MeasureKind::Percent),
            Ok(Value::Percent(100.0))
        );
    }

    #[test]
    fn printing() {
        assert_eq!(Value::Percent(85.5).vi(), "85,5%");
        assert_eq!(Value::Count(1000.0).vi(), "1.000");
        assert_eq!(Value::Status(Progress::Done).vi(), "Hoàn thành");
    }

    proptest::proptest! {
        #[test]
        fn percent_text_round_trips(v in 0.0f64..=100.0) {
            let written = format!("{}%", format_vi(v, 2));
            let parsed = parse_value(CellInput::Text(&written), &MeasureKind::Percent).unwrap();
            proptest::prop_assert!((parsed.number().unwrap() - v).abs() <= 0.005 + 1e-9);
        }

        #[test]
        fn never_panics(s in "\\PC{0,30}") {
            let _ = parse_value(CellInput::Text(&s), &MeasureKind::Percent);
            let _ = parse_value(CellInput::Text(&s), &MeasureKind::Status);
            let _ = parse_value(CellInput::Text(&s), &MeasureKind::Count { unit: None });
        }
    }
}
