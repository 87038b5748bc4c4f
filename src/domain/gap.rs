//! The gap table's rows and what they are judged on: how a row stands ([`Status`]), what it is
//! about ([`RowKind`]) and whom ([`RowOwner`]), the row itself ([`GapRow`]), a refused figure
//! ([`Refusal`]) and the observations of a period ([`Observations`]). Below the stages: `evaluate` makes these,
//! `warehouse` stores and reads them, `remind` and `report` show them.
//!
//! Owns: `Status`, `RowKind`, `RowOwner`, `GapRow`, `Refusal`, `Observed` and `Observations`, and the
//! Vietnamese words of a status (`Status::vi`). Receives: `AgencyId`, `Value` and
//! `MeasureKind` from the rest of `domain`; nothing from the stages. Hands on:
//! `Observations` filled by `warehouse::evaluation` (and `jobs::evaluate`) to `evaluate`;
//! `GapRow`s made by `evaluate` (re-exported as `evaluate::GapRow`) to
//! `warehouse::evaluation`, then to `remind` and `report`; `RowOwner` in the stored rows
//! `warehouse::evaluation` reads back.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::domain::hash::FastHash;
use crate::domain::value::MeasureKind;
use crate::domain::{AgencyId, Value};

/// How a row stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Overdue,
    Lagging,
    Missing,
    /// A figure was sent and refused: the officer must correct it, not "report" it.
    Refused,
    AtRisk,
    NotDue,
    OnTrack,
    Done,
    NotApplicable,
}

impl Status {
    pub const ALL: [Status; 9] = [
        Status::Overdue,
        Status::Lagging,
        Status::Missing,
        Status::Refused,
        Status::AtRisk,
        Status::NotDue,
        Status::OnTrack,
        Status::Done,
        Status::NotApplicable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Overdue => "overdue",
            Status::Lagging => "lagging",
            Status::Missing => "missing",
            Status::Refused => "refused",
            Status::AtRisk => "at_risk",
            Status::NotDue => "not_due",
            Status::OnTrack => "on_track",
            Status::Done => "done",
            Status::NotApplicable => "not_applicable",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Status::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// As officers and leaders read it.
    pub fn vi(self) -> &'static str {
        match self {
            Status::Overdue => "Quá hạn",
            Status::Lagging => "Chậm tiến độ",
            Status::Missing => "Chưa báo cáo",
            Status::Refused => "Số liệu không hợp lệ",
            Status::AtRisk => "Có nguy cơ chậm",
            Status::NotDue => "Chưa đến hạn",
            Status::OnTrack => "Đúng tiến độ",
            Status::Done => "Đã hoàn thành",
            Status::NotApplicable => "Không áp dụng",
        }
    }

    /// Needs a reminder: behind, late or silent.
    pub fn needs_action(self) -> bool {
        matches!(self, Status::Overdue | Status::Lagging | Status::Missing | Status::Refused | Status::AtRisk)
    }

    /// Counts as keeping pace.
    pub fn is_good(self) -> bool {
        matches!(self, Status::OnTrack | Status::Done)
    }
}

/// What a row is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowKind {
    /// One judged agency.
    Member,
    /// The province's figure for an indicator several agencies answer for.
    Aggregate,
    /// A district's share of a per-district quota.
    District,
}

impl RowKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RowKind::Member => "member",
            RowKind::Aggregate => "aggregate",
            RowKind::District => "district",
        }
    }
}

/// Whom a stored gap row is about: one agency (or a group of agencies), or the whole
/// province, written `*` in the warehouse and the gap table: the row of an indicator nobody
/// answers for by name (no target this year, no lead in the directory).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RowOwner {
    Province,
    Agency(AgencyId),
}

impl RowOwner {
    /// How the warehouse writes [`RowOwner::Province`].
    pub const PROVINCE: &'static str = "*";

    pub fn parse(s: &str) -> Result<Self, crate::domain::ids::AgencyIdError> {
        if s == Self::PROVINCE { Ok(RowOwner::Province) } else { AgencyId::parse(s).map(RowOwner::Agency) }
    }

    pub fn as_str(&self) -> &str {
        match self {
            RowOwner::Province => Self::PROVINCE,
            RowOwner::Agency(a) => a.as_str(),
        }
    }

    /// The agency, unless the row is the province's.
    pub fn agency(&self) -> Option<&AgencyId> {
        match self {
            RowOwner::Province => None,
            RowOwner::Agency(a) => Some(a),
        }
    }
}

impl std::fmt::Display for RowOwner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for RowOwner {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One line of the gap table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GapRow {
    pub item: crate::domain::ItemKey,
    /// `""`, or the measure of a composite indicator.
    pub measure: String,
    pub kind: RowKind,
    /// The judged agency (`*` for an aggregate row answered by nobody in particular).
    pub agency: String,
    pub status: Status,
    /// This year's target, as the plan writes it.
    pub target: String,
    /// The number expected by this quarter (percent points or count), if any.
    pub expected: Option<f64>,
    pub actual: Option<Value>,
    /// How far behind, in the measure's own unit (positive = short).
    pub gap: Option<f64>,
    /// Needed per remaining quarter to reach the year's target.
    pub pace: Option<f64>,
    /// One line in Vietnamese.
    pub reason: String,
    /// Co-agencies, for reminders to copy.
    pub co: Vec<AgencyId>,
    /// For aggregates: members judged and members on track or done.
    pub members: Option<(u32, u32)>,
    /// The observation the row was judged on.
    pub observation_id: Option<i64>,
    /// The figure the agency sent and chiso refused, when it sent no usable one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<Refusal>,
}

/// A figure an agency sent that could not be used: where, what, why, and what to write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    /// `Sheet!E27`, or the API record.
    pub location: String,
    /// What the cell said.
    pub raw_text: String,
    /// The reject's code (`percent_out_of_range`).
    pub code: String,
    /// Why, in Vietnamese.
    pub message: String,
    /// What to write instead (empty when the message already says it).
    #[serde(default)]
    pub hint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
}

impl Refusal {
    /// `E27` from `Báo cáo!E27`; the location itself when it names no cell.
    pub fn cell(&self) -> &str {
        self.location.rsplit_once('!').map_or(self.location.as_str(), |(_, c)| c)
    }

    /// `Ô E27 ghi “135%”: kết quả 135% vượt quá 100%; ghi tỷ lệ từ 0 đến 100`.
    pub fn vi(&self) -> String {
        let place = if self.location.contains('!') {
            format!("Ô {}", self.cell())
        } else {
            format!("Bản ghi {}", self.location)
        };
        let mut message = self.message.trim_end_matches('.').to_string();
        // One sentence after the colon: its first letter is lower case.
        if let Some(first) = message.chars().next()
            && first.is_uppercase()
            && !message.chars().nth(1).is_some_and(char::is_uppercase)
        {
            message = first.to_lowercase().chain(message.chars().skip(1)).collect();
        }
        let mut out = format!("{place} ghi “{}”: {message}", self.raw_text);
        if !self.hint.is_empty() {
            out.push_str("; ");
            out.push_str(&self.hint);
        }
        out
    }

    /// What to write instead, for a measure of this kind, unless `message` says it already.
    pub fn hint_for(code: &str, message: &str, kind: &MeasureKind) -> String {
        if crate::text::fold(message).contains(" ghi ") {
            return String::new();
        }
        match (code, kind) {
            ("percent_out_of_range", _) => "ghi tỷ lệ từ 0 đến 100".into(),
            ("negative_count", _) => "ghi số lượng từ 0 trở lên".into(),
            (_, MeasureKind::Status) => "ghi “Hoàn thành”, “Đang thực hiện” hoặc “Chưa thực hiện”".into(),
            (_, kind) => format!("ghi {}, ví dụ {}", kind.vi(), kind.example()),
        }
    }
}

/// A reported value and where it is stored.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observed {
    pub value: Value,
    pub id: i64,
}

/// Values of one period keyed by (indicator index, measure index, directory index).
#[derive(Debug, Default, Clone)]
pub struct Observations {
    map: HashMap<u64, Observed, FastHash>,
    /// Figures sent and refused, by (indicator index, directory index): the latest one.
    refused: HashMap<(usize, usize), Refusal>,
}

fn key(indicator: usize, measure: usize, agency: usize) -> u64 {
    ((indicator as u64) << 44) | ((measure as u64) << 36) | agency as u64
}

impl Observations {
    pub fn with_capacity(n: usize) -> Self {
        Self { map: HashMap::with_capacity_and_hasher(n, FastHash), refused: HashMap::new() }
    }

    /// A refused figure of an agency for an indicator (any measure: a reject names no measure).
    pub fn insert_refused(&mut self, indicator: usize, agency: usize, refusal: Refusal) {
        self.refused.insert((indicator, agency), refusal);
    }

    pub fn refused(&self, indicator: usize, agency: usize) -> Option<&Refusal> {
        self.refused.get(&(indicator, agency))
    }

    pub fn insert(&mut self, indicator: usize, measure: usize, agency: usize, value: Observed) {
        self.map.insert(key(indicator, measure, agency), value);
    }

    pub fn get(&self, indicator: usize, measure: usize, agency: usize) -> Option<&Observed> {
        self.map.get(&key(indicator, measure, agency))
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}
