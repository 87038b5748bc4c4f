//! Domain types, parsed once at the boundary and trusted downstream.

pub mod calendar;
pub mod ids;
pub mod number;
pub mod period;
pub mod target;
pub mod value;

pub use calendar::ReportingCalendar;
pub use ids::{AgencyId, ItemKey, Section};
pub use period::Period;
pub use target::{Comparator, Target, TargetSpec, Threshold};
pub use value::{CellInput, MeasureKind, Progress, Value};
