//! The words officers write, in data: statuses, "nothing to report" words, non-data rows
//! (signature blocks, `Nơi nhận`), header words per column role, unit words, and the
//! headings of co-agency tables.
//!
//! The embedded `config/vocabulary.toml` is always read; an operator's file named by
//! `[collect] vocabulary` adds to it (never removes), so a new spelling is an edit, not a
//! release. Entries are folded once at load: statuses and no-figure words with [`fold`]
//! (NFC, lowercase, whitespace collapsed, modern tone placement), header and unit words with
//! [`ascii_fold`] (also without diacritics: workbooks typed without a Vietnamese keyboard).
//!
//! The readers reach the vocabulary through [`get`]: it is process-wide, installed once at
//! start-up by [`install`] (the embedded one when nothing was installed). It is read on
//! every row, so lookups are hash-set hits on folded text.
//!
//! Owns: `Vocabulary`, `HeaderRole`, `UnitWord` and the process-wide instance (`install`,
//! `get`). Receives: the embedded `config/vocabulary.toml` and the operator's file, loaded
//! by `app::load_vocabulary`. Hands on: lookups (statuses, no-figure words, header roles,
//! units) to `ingest::layout`, `ingest` and `domain::value`; `HeaderRole` and `UnitWord`
//! are re-exported by `ingest::layout`.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::OnceLock;

use serde::Deserialize;

use crate::domain::value::Progress;
use crate::text::{ascii_fold, fold};

/// The embedded vocabulary.
pub const EMBEDDED: &str = include_str!("../../config/vocabulary.toml");

/// Why a vocabulary file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum VocabularyError {
    #[error("cannot read vocabulary file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("vocabulary file {path}: {message}")]
    Parse { path: String, message: String },
}

/// What a column heading says its column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HeaderRole {
    Item,
    Task,
    Value,
    Note,
    Uom,
    UnitCode,
    UnitName,
    District,
    Period,
    Year,
    Quarter,
    Month,
    /// Targets, previous values, totals: recognised so they are not taken for results.
    Other,
}

impl HeaderRole {
    /// The order roles are tried in: the first that matches wins.
    pub const ORDER: [HeaderRole; 13] = [
        HeaderRole::Item,
        HeaderRole::Other,
        HeaderRole::Value,
        HeaderRole::Note,
        HeaderRole::Uom,
        HeaderRole::UnitCode,
        HeaderRole::UnitName,
        HeaderRole::District,
        HeaderRole::Period,
        HeaderRole::Year,
        HeaderRole::Quarter,
        HeaderRole::Month,
        HeaderRole::Task,
    ];

    /// The role's name: its section in the vocabulary file (`[headers.unit_code]`), and what
    /// `chiso inspect` shows.
    pub fn name(self) -> &'static str {
        match self {
            HeaderRole::Item => "item",
            HeaderRole::Task => "task",
            HeaderRole::Value => "value",
            HeaderRole::Note => "note",
            HeaderRole::Uom => "uom",
            HeaderRole::UnitCode => "unit_code",
            HeaderRole::UnitName => "unit_name",
            HeaderRole::District => "district",
            HeaderRole::Period => "period",
            HeaderRole::Year => "year",
            HeaderRole::Quarter => "quarter",
            HeaderRole::Month => "month",
            HeaderRole::Other => "other",
        }
    }
}

/// A unit a heading or an ĐVT cell names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitWord {
    Percent,
    Count,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStatuses {
    #[serde(default)]
    done: Vec<String>,
    #[serde(default)]
    in_progress: Vec<String>,
    #[serde(default)]
    not_done: Vec<String>,
    #[serde(default)]
    ongoing: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWords {
    #[serde(default)]
    words: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRows {
    #[serde(default)]
    starts_with: Vec<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMatch {
    #[serde(default)]
    exact: Vec<String>,
    #[serde(default)]
    starts: Vec<String>,
    #[serde(default)]
    contains: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUnits {
    #[serde(default)]
    percent: Vec<String>,
    #[serde(default)]
    count: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTables {
    #[serde(default)]
    cooperation: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVocabulary {
    #[serde(default)]
    statuses: RawStatuses,
    #[serde(default)]
    no_figure: RawWords,
    #[serde(default)]
    non_data_rows: RawRows,
    #[serde(default)]
    headers: HashMap<String, RawMatch>,
    #[serde(default)]
    units: RawUnits,
    #[serde(default)]
    tables: RawTables,
}

/// Folded matchers for one header role.
#[derive(Debug, Default, Clone)]
struct Matcher {
    exact: HashSet<String>,
    starts: Vec<String>,
    contains: Vec<String>,
}

impl Matcher {
    fn matches(&self, folded: &str) -> bool {
        self.exact.contains(folded)
            || self.starts.iter().any(|p| folded.starts_with(p.as_str()))
            || self.contains.iter().any(|p| folded.contains(p.as_str()))
    }
}

/// The vocabulary, folded for lookups.
#[derive(Debug, Default, Clone)]
pub struct Vocabulary {
    statuses: HashMap<String, Progress>,
    no_figure: HashSet<String>,
    non_data: Vec<String>,
    headers: HashMap<HeaderRole, Matcher>,
    percent_units: HashSet<String>,
    count_units: HashSet<String>,
    cooperation: Vec<String>,
}

/// A header heading folded the way header words are: without diacritics, lowercase, and
/// trimmed of punctuation at both ends (`STT.`, `(1)`, `Kết quả:`).
pub fn header_key(text: &str) -> String {
    let f = ascii_fold(text);
    f.trim_matches(|c: char| !c.is_alphanumeric() && c != '%').to_string()
}

impl Vocabulary {
    /// The embedded vocabulary.
    pub fn embedded() -> Self {
        let mut v = Vocabulary::default();
        // The embedded file is part of the build and covered by tests: it always parses.
        if let Err(e) = v.add_str(EMBEDDED, "config/vocabulary.toml (embedded)") {
            tracing::error!(error = %e, "embedded vocabulary unusable");
        }
        v
    }

    /// The embedded vocabulary extended by an operator's file.
    pub fn with_file(path: &Path) -> Result<Self, VocabularyError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| VocabularyError::Read { path: path.display().to_string(), source })?;
        let mut v = Self::embedded();
        v.add_str(&text, &path.display().to_string())?;
        Ok(v)
    }

    /// Adds the entries of a vocabulary file's text.
    pub fn add_str(&mut self, text: &str, path: &str) -> Result<(), VocabularyError> {
        let raw: RawVocabulary =
            toml::from_str(text).map_err(|e| VocabularyError::Parse { path: path.into(), message: e.to_string() })?;
        let s = raw.statuses;
        for (words, p) in [
            (s.done, Progress::Done),
            (s.in_progress, Progress::InProgress),
            (s.not_done, Progress::NotDone),
            (s.ongoing, Progress::Ongoing),
        ] {
            for w in words {
                let key = status_key(&w);
                if let Some(old) = self.statuses.get(&key)
                    && *old != p
                {
                    return Err(VocabularyError::Parse {
                        path: path.into(),
                        message: format!("status `{w}` is listed as both {} and {}", old.as_str(), p.as_str()),
                    });
                }
                self.statuses.insert(key, p);
            }
        }
        for w in raw.no_figure.words {
            self.no_figure.insert(status_key(&w));
        }
        for w in raw.non_data_rows.starts_with {
            self.non_data.push(header_key(&w));
        }
        for (name, m) in raw.headers {
            let Some(role) = HeaderRole::ORDER.into_iter().find(|r| r.name() == name) else {
                return Err(VocabularyError::Parse {
                    path: path.into(),
                    message: format!(
                        "unknown header role `{name}` (known: {})",
                        HeaderRole::ORDER.map(HeaderRole::name).join(", ")
                    ),
                });
            };
            let entry = self.headers.entry(role).or_default();
            entry.exact.extend(m.exact.iter().map(|w| header_key(w)));
            entry.starts.extend(m.starts.iter().map(|w| header_key(w)));
            entry.contains.extend(m.contains.iter().map(|w| header_key(w)));
        }
        self.percent_units.extend(raw.units.percent.iter().map(|w| header_key(w)));
        self.count_units.extend(raw.units.count.iter().map(|w| header_key(w)));
        self.cooperation.extend(raw.tables.cooperation.iter().map(|w| header_key(w)));
        Ok(())
    }

    /// A whole cell as a status (`Đã triển khai thường xuyên` → ongoing).
    pub fn status(&self, text: &str) -> Option<Progress> {
        if text.len() > 120 {
            return None;
        }
        self.statuses.get(&status_key(text)).copied()
    }

    /// Every status entry, folded, with its progress (for tests and `inspect`).
    pub fn statuses(&self) -> impl Iterator<Item = (&str, Progress)> {
        self.statuses.iter().map(|(k, v)| (k.as_str(), *v))
    }

    /// A result that holds no figure and is no mistake (`N/A`, `-`, `Không phát sinh`).
    pub fn is_no_figure(&self, text: &str) -> bool {
        text.len() <= 120 && self.no_figure.contains(&status_key(text))
    }

    /// The status a cell opens with: the whole cell (`Đã triển khai thường xuyên`), the cell
    /// before an explanation (`Đã hoàn thành (tháng 6/2024)`, `Hoàn thành: đã ban hành …`,
    /// `Đang triển khai, dự kiến …`), or an entry of two words or more opening a sentence
    /// (`Đã triển khai tại 12/15 xã`); the longest entry wins (`Không đạt` over `Không`).
    /// A one-word entry (`Đạt`, `X`, `Có`) must stand alone or before an explanation: `Có 12
    /// xã` is a sentence, not a status.
    pub fn status_lead(&self, text: &str) -> Option<Progress> {
        lead(&status_key(text), |k| self.statuses.get(k).copied())
    }

    /// Whether a cell opens with a "nothing to report" entry, read as [`Self::status_lead`]
    /// reads statuses: `Không áp dụng (đơn vị không có …)`, `N/A - chưa phát sinh`.
    pub fn no_figure_lead(&self, text: &str) -> bool {
        lead(&status_key(text), |k| self.no_figure.contains(k).then_some(())).is_some()
    }

    /// Every no-figure entry, folded (for tests and `inspect`).
    pub fn no_figure_words(&self) -> impl Iterator<Item = &str> {
        self.no_figure.iter().map(String::as_str)
    }

    /// A row's first written cell that marks a signature block, `Nơi nhận` or a total.
    pub fn is_non_data_row(&self, first_text: &str) -> bool {
        let key = header_key(first_text);
        !key.is_empty() && self.non_data.iter().any(|p| key.starts_with(p.as_str()))
    }

    /// The role a column heading names, trying roles in [`HeaderRole::ORDER`].
    pub fn header_role(&self, heading: &str) -> Option<HeaderRole> {
        let key = header_key(heading);
        if key.is_empty() {
            return None;
        }
        HeaderRole::ORDER.into_iter().find(|r| self.headers.get(r).is_some_and(|m| m.matches(&key)))
    }

    /// Whether a heading matches one role (regardless of order).
    pub fn heading_is(&self, heading: &str, role: HeaderRole) -> bool {
        let key = header_key(heading);
        !key.is_empty() && self.headers.get(&role).is_some_and(|m| m.matches(&key))
    }

    /// The unit a heading or an ĐVT cell names: `Tỷ lệ (%)` → percent, `Số lượng` → count.
    /// A heading that ends in `(%)` or is `%` is a percent whatever precedes it.
    pub fn unit_of(&self, text: &str) -> Option<UnitWord> {
        let key = header_key(text);
        if key.is_empty() {
            return None;
        }
        if self.percent_units.contains(&key) || key.ends_with("(%)") || key.ends_with('%') {
            return Some(UnitWord::Percent);
        }
        if self.count_units.contains(&key) {
            return Some(UnitWord::Count);
        }
        None
    }

    /// Whether a heading opens a co-agency table (`Nhiệm vụ phối hợp`).
    pub fn is_cooperation_heading(&self, text: &str) -> bool {
        let key = header_key(text);
        // Without a section label in front: `II. Nhiệm vụ phối hợp`, `B) …`, `Phần 2 - …`.
        let bare = match key.split_once(['.', ')', '-', ':']) {
            Some((label, rest)) if label.trim().len() <= 7 => rest.trim(),
            _ => key.as_str(),
        };
        !key.is_empty() && self.cooperation.iter().any(|p| key.starts_with(p.as_str()) || bare.starts_with(p.as_str()))
    }
}

/// The fold statuses and no-figure words are compared on: [`fold`] with a trailing `.`/`!`
/// removed.
pub fn status_key(text: &str) -> String {
    let f = fold(text);
    f.trim_end_matches(['.', '!', ';']).trim_end().to_string()
}

/// The longest entry words can open a cell with (see [`Vocabulary::status_lead`]).
const LEAD_MAX_WORDS: usize = 8;

/// Looks up the entries a folded cell opens with: the whole cell, the part before an
/// explanation, then phrases of two words or more, longest first.
fn lead<T>(key: &str, look: impl Fn(&str) -> Option<T>) -> Option<T> {
    if key.is_empty() {
        return None;
    }
    if let Some(v) = look(key) {
        return Some(v);
    }
    let end = key.find(['(', ',', ';', ':']).unwrap_or(key.len());
    let end = key[..end].find(" - ").unwrap_or(end);
    let head = key[..end].trim().trim_end_matches(['.', '!']).trim_end();
    if !head.is_empty()
        && head.len() < key.len()
        && let Some(v) = look(head)
    {
        return Some(v);
    }
    let ends: Vec<usize> = key.match_indices(' ').map(|(i, _)| i).take(LEAD_MAX_WORDS).collect();
    for (words, &end) in ends.iter().enumerate().rev() {
        // `ends[0]` closes the first word: a phrase of `words + 1` words.
        if words == 0 {
            break;
        }
        let phrase = key[..end].trim_end_matches(['.', '!', ',', ';', ':']).trim_end();
        if let Some(v) = look(phrase) {
            return Some(v);
        }
    }
    None
}

static INSTALLED: OnceLock<Vocabulary> = OnceLock::new();

/// Installs the process-wide vocabulary (at start-up, once). A second call is ignored and
/// returns `false`.
pub fn install(v: Vocabulary) -> bool {
    INSTALLED.set(v).is_ok()
}

/// The process-wide vocabulary: the installed one, else the embedded one.
pub fn get() -> &'static Vocabulary {
    INSTALLED.get_or_init(Vocabulary::embedded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_file_parses() {
        let mut v = Vocabulary::default();
        v.add_str(EMBEDDED, "embedded").unwrap();
        assert!(v.statuses.len() > 40);
    }

    #[test]
    fn an_unknown_role_or_a_contradiction_is_refused() {
        let mut v = Vocabulary::embedded();
        assert!(v.add_str("[headers.valu]\nexact = [\"x\"]", "op.toml").is_err());
        let err = v.add_str("[statuses]\nnot_done = [\"Hoàn thành\"]", "op.toml").unwrap_err();
        assert!(err.to_string().contains("Hoàn thành"), "{err}");
    }

    #[test]
    fn co_agency_headings_with_their_section_labels() {
        let v = Vocabulary::embedded();
        for t in
            ["Nhiệm vụ phối hợp", "II. NHIỆM VỤ PHỐI HỢP", "B) Các nhiệm vụ phối hợp", "Phần 2 - Nhiệm vụ phối hợp"]
        {
            assert!(v.is_cooperation_heading(t), "{t}");
        }
        for t in ["I. NHIỆM VỤ CHỦ TRÌ", "Phối hợp với Sở Y tế triển khai nền tảng", ""] {
            assert!(!v.is_cooperation_heading(t), "{t}");
        }
    }

    #[test]
    fn an_operator_file_adds_words() {
        let mut v = Vocabulary::embedded();
        assert_eq!(v.status("Đã vận hành ổn định"), None);
        v.add_str("[statuses]\ndone = [\"Đã vận hành ổn định\"]", "op.toml").unwrap();
        assert_eq!(v.status("ĐÃ VẬN HÀNH ỔN ĐỊNH."), Some(Progress::Done));
    }
}
