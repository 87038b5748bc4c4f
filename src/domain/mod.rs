//! Domain types, parsed once at the boundary and trusted downstream.
//!
//! Owns: the types shared by every stage, one submodule each (ids, periods, the calendar,
//! values and targets, observations, gap rows, attachments, job kinds, the vocabulary).
//! Receives: text to parse from `catalog`, `ingest`, `config` and `cli`; it imports only
//! `text` and `messages`. Hands on: those types to every module above it; the common ones
//! are re-exported here (`AgencyId`, `Period`, `Value`, `TargetSpec`, `ReportingCalendar`,
//! …).

pub mod attachment;
pub mod calendar;
pub mod gap;
pub mod hash;
pub mod ids;
pub mod job;
pub mod number;
pub mod observation;
pub mod period;
pub mod target;
pub mod value;
pub mod vocabulary;

pub use calendar::ReportingCalendar;
pub use ids::{AgencyId, ItemKey, Section};
pub use period::Period;
pub use target::{Comparator, Target, TargetSpec, Threshold};
pub use value::{CellInput, MeasureKind, Progress, Value};
