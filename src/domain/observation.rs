//! What a reading hands to storage: a figure ready to store ([`NewObservation`]), something
//! that could not be used ([`NewReject`]), or a row with nothing in it ([`SkipReason`]).
//!
//! Owns: `NewObservation`, `NewReject`, `SkipReason`, `HELD` and `Normalized` (one of the
//! three, as a reading emits it). Receives: `AgencyId`, `ItemKey`, `Period` and `Value`
//! from the rest of `domain`. Hands on: `ingest::normalize` makes them (and re-exports
//! them); `sources::json_api` makes rejects of its own (a missing page, duplicate records)
//! and `jobs::collect` for a source that could not be fetched; `warehouse::collect` (with
//! `warehouse::sqlite_bulk`) stores them.

use serde::Serialize;

use crate::domain::{AgencyId, ItemKey, Period, Value};

/// A value ready to store.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewObservation {
    /// The quarter the figure is for: the collected one, or the row's own in a backfill.
    pub period: Period,
    pub item: ItemKey,
    /// `""` for single-measure indicators.
    pub measure: String,
    pub agency: AgencyId,
    pub value: Value,
    pub raw_text: String,
    pub note: Option<String>,
    pub location: String,
}

/// Something that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewReject {
    /// The quarter of the row, when known (a backfill stores each reject with its quarter).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<Period>,
    pub location: String,
    pub item_key: Option<String>,
    pub agency: Option<AgencyId>,
    pub raw_text: String,
    pub code: &'static str,
    /// In Vietnamese, for the officer.
    pub message: String,
}

/// Why a record holds nothing to store and nothing to refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// No result written.
    Blank,
    /// A section heading (`I.`, `II`, `A`).
    Heading,
    /// `N/A`, `-`, `Không áp dụng`, `Không phát sinh`: nothing to report, no mistake.
    NoFigure,
    /// The row is for another quarter than the one collected ("khác kỳ").
    OtherPeriod,
    /// A signature block, `Nơi nhận`, a total row.
    NonData,
}

impl SkipReason {
    pub fn vi(self) -> &'static str {
        match self {
            SkipReason::Blank => "không ghi kết quả",
            SkipReason::Heading => "dòng tiêu đề mục",
            SkipReason::NoFigure => "không phát sinh / không áp dụng",
            SkipReason::OtherPeriod => "khác kỳ",
            SkipReason::NonData => "không phải dòng số liệu",
        }
    }
}

/// The reject code of a row held for the operator: chiso is not sure what it says (which
/// item, which unit, which figure), so it stores nothing and says why, with the evidence.
/// It is not the officer's mistake; the operator settles it with a mapping and a rerun.
pub const HELD: &str = "uncertain";

/// What became of a record.
#[derive(Debug, Clone, PartialEq)]
pub enum Normalized {
    /// A heading, a blank or unreported row, another quarter's row.
    Skip(SkipReason),
    Observations(Vec<NewObservation>),
    Reject(NewReject),
}
