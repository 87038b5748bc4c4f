//! Domain types, parsed once at the boundary and trusted downstream.

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
