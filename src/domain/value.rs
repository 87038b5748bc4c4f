//! Reported values: what a department writes in its result cell.
//!
//! `85,5%`, `85.5%`, `0.855` in a percent-formatted cell, `85,5`, `1.000`, `1.000 lượt`,
//! `Hoàn thành` / `Đã hoàn thành` / `Đạt` / `X` (done), `Đang thực hiện` (in progress),
//! `Chưa thực hiện` (not done), `Thường xuyên` (ongoing). Text is compared after NFC,
//! case folding and whitespace collapse, so NFD input from other systems reads the same.
//! A percent outside 0–100, a negative count, or a value whose kind does not fit the
//! indicator is refused with a reason an officer can act on ([`ValueError::vi`]).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::number::{format_vi, parse_number};
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

    /// The spellings officers use, folded. Longest first is not needed: matching is exact.
    pub fn from_text(s: &str) -> Option<Self> {
        // Every status starts with a letter; numbers are the common case, skip them fast.
        if s.trim_start().starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+' || c == '>') || s.len() > 64
        {
            return None;
        }
        let f = fold(s);
        let f = f.trim_end_matches(['.', '!']);
        Some(match f {
            "hoàn thành" | "đã hoàn thành" | "ht" | "đạt" | "x" | "có" | "rồi" | "đã thực hiện" | "đã triển khai"
            | "hoàn thành 100%" | "xong" | "done" | "yes" => Progress::Done,
            "đang thực hiện" | "đang triển khai" | "đang làm" | "đang xây dựng" | "in progress" => {
                Progress::InProgress
            }
            "chưa thực hiện"
            | "chưa triển khai"
            | "chưa hoàn thành"
            | "chưa đạt"
            | "không đạt"
            | "không"
            | "chưa"
            | "not done"
            | "no" => Progress::NotDone,
            "thường xuyên" | "thực hiện thường xuyên" | "đang thực hiện thường xuyên" | "duy trì" => {
                Progress::Ongoing
            }
            _ => return None,
        })
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
        }
    }
}

/// `≥10%`, `trên 80%`, `khoảng 50%`: a bound or an estimate, not a figure.
fn is_comparison(text: &str) -> bool {
    let f = fold(text);
    f.starts_with(['≥', '>', '≤', '<', '=', '~', '≈'])
        || ["trên ", "dưới ", "từ ", "khoảng ", "gần ", "hơn ", "tối thiểu ", "tối đa ", "ít nhất ", "ước "]
            .iter()
            .any(|w| f.starts_with(w))
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

/// Reads a reported cell for an indicator measured in `expected`.
pub fn parse_value(cell: CellInput<'_>, expected: &MeasureKind) -> Result<Value, ValueError> {
    let value = match cell {
        CellInput::Empty => return Err(ValueError::Empty),
        CellInput::Bool(b) => match expected {
            MeasureKind::Status => Value::Status(if b { Progress::Done } else { Progress::NotDone }),
            _ => return Err(ValueError::KindMismatch { expected: expected.clone(), got: b.to_string() }),
        },
        CellInput::Number { value, percent_format } => match expected {
            MeasureKind::Percent => Value::Percent(if percent_format { value * 100.0 } else { value }),
            MeasureKind::Count { .. } if !percent_format => Value::Count(value),
            _ => {
                let shown =
                    if percent_format { format!("{}%", format_vi(value * 100.0, 2)) } else { format_vi(value, 4) };
                return Err(ValueError::KindMismatch { expected: expected.clone(), got: shown });
            }
        },
        CellInput::Text(text) => parse_text(text, expected)?,
    };
    check_range(value)
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

fn parse_text(text: &str, expected: &MeasureKind) -> Result<Value, ValueError> {
    let cleaned = clean(text);
    if cleaned.is_empty() {
        return Err(ValueError::Empty);
    }
    // `Đã hoàn thành (tháng 6/2024)`: a status with its explanation. (Not for figures:
    // `Đạt: 95,5%` is a percentage.)
    let explained = || match expected {
        MeasureKind::Status => Progress::from_text(leading_phrase(&cleaned)),
        _ => None,
    };
    if let Some(progress) = Progress::from_text(&cleaned).or_else(explained) {
        return match expected {
            MeasureKind::Status => Ok(Value::Status(progress)),
            _ => Err(ValueError::KindMismatch { expected: expected.clone(), got: cleaned }),
        };
    }
    let not_a_figure = |got: &str| ValueError::NotAFigure { got: got.to_string(), expected: expected.clone() };
    let Some(split) = split_number(without_reached(&cleaned)) else {
        return Err(match expected {
            MeasureKind::Status => ValueError::KindMismatch { expected: expected.clone(), got: cleaned },
            _ => not_a_figure(&cleaned),
        });
    };
    let number = parse_number(split.number).map_err(|_| not_a_figure(&cleaned))?;
    let mut unit = leading_phrase(split.unit);
    // `12/15 xã`: twelve of fifteen.
    let mut of_total = None;
    if let Some(rest) = split.unit.strip_prefix('/')
        && let Some(total) = split_number(rest)
    {
        let whole = parse_number(total.number).map_err(|_| not_a_figure(&cleaned))?;
        of_total = Some(whole);
        unit = leading_phrase(total.unit);
    }
    if fold(unit) == "phần trăm" {
        unit = "%";
    }
    match expected {
        MeasureKind::Percent if of_total.is_some() => match of_total {
            Some(whole) if whole > 0.0 && unit != "%" => Ok(Value::Percent(number / whole * 100.0)),
            _ => Err(not_a_figure(&cleaned)),
        },
        MeasureKind::Percent if unit.is_empty() || unit == "%" => Ok(Value::Percent(number)),
        MeasureKind::Count { unit: expected_unit } if unit != "%" => {
            if let Some(expected_unit) = expected_unit
                && !unit.is_empty()
                && !same_unit(unit, expected_unit)
            {
                return Err(ValueError::UnitMismatch { expected: expected_unit.clone(), got: split.unit.to_string() });
            }
            Ok(Value::Count(number))
        }
        _ => Err(ValueError::KindMismatch { expected: expected.clone(), got: cleaned }),
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

/// The same unit words, compared folded (`LƯỢT` is `lượt`).
fn same_unit(got: &str, expected: &str) -> bool {
    fold(got) == fold(expected)
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
        let err = parse_value(CellInput::Text("Hoàn thành"), &MeasureKind::Percent).unwrap_err();
        assert_eq!(err.vi(), "Chỉ tiêu này báo cáo bằng tỷ lệ (%), nhưng ô ghi “Hoàn thành”");
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
