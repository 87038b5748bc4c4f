//! Reporting periods: quarters of a year.
//!
//! Accepted on input: `2024-Q2`, `2024Q2`, `2024 Q2`, `Q2/2024`, `Q2-2024`, `QII/2024`,
//! `Quý II/2024`, `Quý 2/2024`, `quý 2 năm 2024`, `Quy II nam 2024` (no diacritics) and NFD
//! forms of all of these. Printed `2024-Q2` to machines ([`Display`]) and `Quý II/2024` to
//! people ([`Period::vi`]).
//!
//! Owns: `Period` (a quarter of a year), its parsing, its codes and its Vietnamese name.
//! Receives: period text from the command line, workbook titles and template markers
//! (`ingest`), source records (`sources::json_api`), and dates. Hands on: `Period` to every
//! module above `domain`; `Period::code` and `from_code` to `warehouse` for storage;
//! `PeriodError` to `cli`.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::text::ascii_fold;

/// A quarter of a year, the unit every figure is reported for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    year: i32,
    quarter: u8,
}

/// Why a period could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{input}` is not a reporting period ({reason}); write it like 2024-Q2 or Quý II/2024")]
pub struct PeriodError {
    pub input: String,
    pub reason: &'static str,
}

pub const MIN_YEAR: i32 = 2000;
pub const MAX_YEAR: i32 = 2100;

impl Period {
    /// A period from its parts; `None` outside quarters 1–4 or years 2000–2100.
    pub fn new(year: i32, quarter: u8) -> Option<Self> {
        ((1..=4).contains(&quarter) && (MIN_YEAR..=MAX_YEAR).contains(&year)).then_some(Self { year, quarter })
    }

    pub fn year(self) -> i32 {
        self.year
    }

    pub fn quarter(self) -> u8 {
        self.quarter
    }

    /// `Quý II/2024`.
    pub fn vi(self) -> String {
        format!("Quý {}/{}", roman(self.quarter), self.year)
    }

    /// The quarter containing a calendar date.
    pub fn containing(date: NaiveDate) -> Self {
        Self { year: date.year(), quarter: (date.month0() / 3 + 1) as u8 }
    }

    /// First day of the quarter's first month.
    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, u32::from(self.quarter) * 3 - 2, 1).unwrap_or(NaiveDate::MIN)
    }

    /// Last day of the quarter's last month.
    pub fn last_day(self) -> NaiveDate {
        self.next().first_day().pred_opt().unwrap_or(NaiveDate::MAX)
    }

    pub fn next(self) -> Self {
        if self.quarter == 4 {
            Self { year: self.year + 1, quarter: 1 }
        } else {
            Self { year: self.year, quarter: self.quarter + 1 }
        }
    }

    pub fn prev(self) -> Self {
        if self.quarter == 1 {
            Self { year: self.year - 1, quarter: 4 }
        } else {
            Self { year: self.year, quarter: self.quarter - 1 }
        }
    }

    /// Q4 of the previous year: where a yearly baseline comes from.
    pub fn previous_year_end(self) -> Self {
        Self { year: self.year - 1, quarter: 4 }
    }

    /// Quarters left in the year after this one (Q1 → 3, Q4 → 0).
    pub fn quarters_left(self) -> u8 {
        4 - self.quarter
    }

    /// A compact sortable code, `20242` for 2024-Q2, used as a database key.
    pub fn code(self) -> i64 {
        i64::from(self.year) * 10 + i64::from(self.quarter)
    }

    pub fn from_code(code: i64) -> Option<Self> {
        Self::new(i32::try_from(code / 10).ok()?, u8::try_from(code % 10).ok()?)
    }
}

/// A quarter in Roman numerals, as Vietnamese reports write it (`II`).
pub fn roman(q: u8) -> &'static str {
    match q {
        1 => "I",
        2 => "II",
        3 => "III",
        _ => "IV",
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-Q{}", self.year, self.quarter)
    }
}

#[derive(Debug, PartialEq)]
enum Token {
    Number(String),
    Word(String),
}

/// Splits `quy ii/2024` into words and numbers at every letter/digit boundary.
fn tokenize(s: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut current = String::new();
    let mut digits = false;
    for c in s.chars() {
        let kind_changes = !current.is_empty() && c.is_ascii_digit() != digits;
        if (!c.is_ascii_alphanumeric() || kind_changes) && !current.is_empty() {
            let word = std::mem::take(&mut current);
            tokens.push(if digits { Token::Number(word) } else { Token::Word(word) });
        }
        if c.is_ascii_alphanumeric() {
            digits = c.is_ascii_digit();
            current.push(c);
        }
    }
    if !current.is_empty() {
        tokens.push(if digits { Token::Number(current) } else { Token::Word(current) });
    }
    tokens
}

fn quarter_word(w: &str) -> Option<u8> {
    match w {
        "i" => Some(1),
        "ii" => Some(2),
        "iii" => Some(3),
        "iv" => Some(4),
        _ => None,
    }
}

impl FromStr for Period {
    type Err = PeriodError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let err = |reason| PeriodError { input: input.trim().to_string(), reason };
        let folded = ascii_fold(input);
        let mut year = None;
        let mut quarter = None;
        let mut expect_quarter = false;
        for token in tokenize(&folded) {
            match token {
                Token::Word(w) if w == "q" || w == "quy" => {
                    if quarter.is_some() || expect_quarter {
                        return Err(err("the quarter is given twice"));
                    }
                    expect_quarter = true;
                }
                // `qii` arrives as one word.
                Token::Word(w) if w.starts_with('q') && quarter_word(&w[1..]).is_some() => {
                    if quarter.is_some() || expect_quarter {
                        return Err(err("the quarter is given twice"));
                    }
                    quarter = quarter_word(&w[1..]);
                }
                Token::Word(w) if expect_quarter => {
                    quarter = Some(quarter_word(&w).ok_or_else(|| err("the quarter must be 1–4 or I–IV"))?);
                    expect_quarter = false;
                }
                Token::Number(n) if expect_quarter => {
                    let q: u8 = n.parse().map_err(|_| err("the quarter must be 1–4 or I–IV"))?;
                    if !(1..=4).contains(&q) {
                        return Err(err("the quarter must be 1–4 or I–IV"));
                    }
                    quarter = Some(q);
                    expect_quarter = false;
                }
                Token::Word(w) if w == "nam" => {}
                Token::Number(n) if n.len() == 4 => {
                    if year.is_some() {
                        return Err(err("the year is given twice"));
                    }
                    year = n.parse::<i32>().ok();
                }
                _ => return Err(err("unexpected text")),
            }
        }
        let (Some(year), Some(quarter)) = (year, quarter) else {
            return Err(err(if year.is_none() { "no four-digit year" } else { "no quarter" }));
        };
        Period::new(year, quarter).ok_or_else(|| err("the year must be between 2000 and 2100"))
    }
}

impl Serialize for Period {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Period {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use unicode_normalization::UnicodeNormalization;

    #[test]
    fn accepts_every_documented_spelling() {
        let expected = Period::new(2024, 2).unwrap();
        for input in [
            "2024-Q2",
            "2024Q2",
            "2024 Q2",
            "2024-q2",
            "Q2/2024",
            "Q2-2024",
            "QII/2024",
            "Quý II/2024",
            "Quý 2/2024",
            "quý 2 năm 2024",
            "Quý II năm 2024",
            "Quy II nam 2024",
            "QUÝ II/2024",
            " Quý  II / 2024 ",
        ] {
            assert_eq!(input.parse::<Period>(), Ok(expected), "input {input:?}");
        }
        let nfd: String = "Quý II/2024".nfd().collect();
        assert_eq!(nfd.parse::<Period>(), Ok(expected));
    }

    #[test]
    fn refuses_what_is_not_a_quarter() {
        for input in [
            "",
            "2024",
            "Q2",
            "2024-Q5",
            "2024-Q0",
            "Quý V/2024",
            "tháng 2/2024",
            "2024-Q2-Q3",
            "1999-Q1",
            "24-Q2",
            "2024/2025 Q1",
        ] {
            assert!(input.parse::<Period>().is_err(), "{input:?} should be refused");
        }
    }

    #[test]
    fn prints_for_machines_and_people() {
        let p = Period::new(2024, 2).unwrap();
        assert_eq!(p.to_string(), "2024-Q2");
        assert_eq!(p.vi(), "Quý II/2024");
        assert_eq!(Period::new(2025, 4).unwrap().vi(), "Quý IV/2025");
    }

    #[test]
    fn calendar_arithmetic() {
        let q4 = Period::new(2023, 4).unwrap();
        assert_eq!(q4.next(), Period::new(2024, 1).unwrap());
        assert_eq!(q4.next().prev(), q4);
        assert_eq!(q4.first_day(), NaiveDate::from_ymd_opt(2023, 10, 1).unwrap());
        assert_eq!(q4.last_day(), NaiveDate::from_ymd_opt(2023, 12, 31).unwrap());
        assert_eq!(Period::new(2024, 1).unwrap().last_day(), NaiveDate::from_ymd_opt(2024, 3, 31).unwrap());
        assert_eq!(Period::containing(NaiveDate::from_ymd_opt(2024, 6, 30).unwrap()), Period::new(2024, 2).unwrap());
        assert_eq!(Period::new(2024, 3).unwrap().previous_year_end(), q4);
    }

    proptest! {
        #[test]
        fn machine_and_human_forms_round_trip(year in 2000i32..=2100, q in 1u8..=4) {
            let p = Period::new(year, q).unwrap();
            prop_assert_eq!(p.to_string().parse::<Period>(), Ok(p));
            prop_assert_eq!(p.vi().parse::<Period>(), Ok(p));
            prop_assert_eq!(Period::from_code(p.code()), Some(p));
            prop_assert_eq!(format!("quý {} năm {}", q, year).parse::<Period>(), Ok(p));
        }

        #[test]
        fn never_panics(s in "\\PC{0,24}") {
            let _ = s.parse::<Period>();
        }
    }
}
