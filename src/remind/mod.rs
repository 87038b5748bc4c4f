//! Reminders: one digest per agency per round, by mail, never twice.
//!
//! `plan` decides who gets what for a period and round from the gap rows; `compose` turns
//! each digest into a message (HTML and plain text from editable templates in `render`,
//! the agency's pre-filled workbook attached); the outbox in the warehouse holds every
//! message under an idempotency key (plan, period, agency, round); `deliver` sends what is
//! due through a transport (SMTP or .eml files), recipient by recipient, within working
//! hours, at a limited rate, retrying transient failures.
//!
//! Owns: the reminder pipeline plan → compose → outbox → deliver, and its settings
//! (`RemindSettings`, `Round`, re-exported from `remind::settings`). Receives: stored gap
//! rows (`evaluate::GapRow`), the `catalog::plan::Catalog` and `catalog::Directory`,
//! `RemindSettings` and `remind::settings::MailSettings`, all from `jobs::remind`. Hands
//! on: `warehouse::NewMessage`s for the outbox (queued by `jobs::remind`), then messages on
//! the wire (SMTP or .eml files), with a `deliver::DeliveryReport` to `jobs::remind` and
//! `cli::remind`.

pub mod calendar;
pub mod compose;
pub mod deliver;
pub mod plan;
pub mod render;
pub mod settings;

pub use calendar::SendingCalendar;
pub use settings::{Copy, GroupItems, RemindSettings, Round};
