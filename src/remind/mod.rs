//! Reminders: one digest per agency per round, by mail, never twice.
//!
//! `plan` decides who gets what for a period and round from the gap rows; `compose` turns
//! each digest into a message (HTML and plain text from editable templates in `render`,
//! the agency's pre-filled workbook attached); the outbox in the warehouse holds every
//! message under an idempotency key (plan, period, agency, round); `deliver` sends what is
//! due through a transport (SMTP or .eml files), recipient by recipient, within working
//! hours, at a limited rate, retrying transient failures.

pub mod calendar;
pub mod compose;
pub mod deliver;
pub mod plan;
pub mod render;
pub mod settings;

pub use calendar::SendingCalendar;
pub use settings::{Copy, GroupItems, RemindSettings, Round};
