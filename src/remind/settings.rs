//! `[remind]` and its `[[remind.round]]`s, and `[mail]`: how the reminders leave.
//!
//! Owns: `RemindSettings`, `Round`, `Copy`, `GroupItems`, and `MailSettings` with
//! `MailTransport`, `SmtpSettings` and `SmtpSecurity`. Receives: the `[remind]` and
//! `[mail]` tables through `config`'s layering; `secret::Secret` for the SMTP password.
//! Hands on: these types to `config::Settings` (which re-exports the mail ones), read back
//! by `remind::plan`, `remind::deliver` and `jobs::remind`.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::calendar::WorkingTime;
use crate::evaluate::Status;
use crate::secret::Secret;

/// Who else a round copies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Copy {
    /// The coordinating department (its successor after a merger).
    Coordinator,
    /// The agency's supervising unit (a commune's district, a department's People's
    /// Committee).
    Supervisor,
}

/// How a digest shows the items an agency answers for as a member of a group lead
/// (`Các sở, ban, ngành tỉnh`, `UBND cấp huyện`) rather than by name.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupItems {
    /// A section of their own after the named items; a digest goes out for them alone.
    Section,
    /// One line counting them; a digest goes out only for named items.
    #[default]
    Count,
    /// Left out of digests.
    Omit,
}

impl GroupItems {
    pub fn as_str(self) -> &'static str {
        match self {
            GroupItems::Section => "section",
            GroupItems::Count => "count",
            GroupItems::Omit => "omit",
        }
    }
}

/// One reminder round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Round {
    /// Stable id, part of every message's idempotency key.
    pub id: String,
    /// Shown to officers.
    pub name: String,
    /// Days from the report's due date (negative: before it). The round opens at the start
    /// of the first working window on or after that day.
    pub offset_days: i64,
    /// Statuses that put an item in the digest. `not_due` means "no report yet".
    pub statuses: Vec<Status>,
    /// Hours that must separate this round from the previous message to the same agency.
    #[serde(default = "default_interval")]
    pub min_interval_hours: u64,
    #[serde(default)]
    pub copy: Vec<Copy>,
    /// Copy the co-agencies the plan names one by one (not groups) on the digest's items
    /// that a single named agency leads: the units that lead depends on for them. Items a
    /// whole level leads (every commune) copy nobody: a department is not copied on a
    /// hundred communes' reminders.
    #[serde(default)]
    pub copy_co_agencies: bool,
}

fn default_prefix() -> String {
    "[Chuyển đổi số]".into()
}

fn default_lease() -> u64 {
    600
}

fn default_interval() -> u64 {
    24
}

/// `[remind]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemindSettings {
    /// Editable templates: reminder.{subject.txt,txt,html}, correction.{subject.txt,txt,html}.
    pub templates: PathBuf,
    /// Starts every subject: `[Chuyển đổi số]`.
    #[serde(default = "default_prefix")]
    pub subject_prefix: String,
    #[serde(flatten)]
    pub working: WorkingTime,
    /// Messages per second at most, across recipients.
    pub rate_per_second: f64,
    /// Attempts per message before it is given up (transient failures only).
    pub max_attempts: u32,
    /// First retry delay after a transient failure; doubles, with jitter, up to the max.
    pub retry_base_secs: u64,
    pub retry_max_secs: u64,
    /// Messages sent at the same time over the pooled SMTP connections.
    pub concurrency: usize,
    /// How long a sender holds a message it is sending. After a crash, another process
    /// (or the restarted one) takes the message over when this has passed.
    #[serde(default = "default_lease")]
    pub lease_secs: u64,
    /// Send a short correction when a late report clears an agency's gaps after a
    /// reminder went out.
    pub corrections: bool,
    /// Items answered as a member of a group: `section`, `count` (the default) or `omit`.
    #[serde(default)]
    pub group_items: GroupItems,
    #[serde(rename = "round")]
    pub rounds: Vec<Round>,
}

/// `[mail]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailSettings {
    pub transport: MailTransport,
    /// `Name <address>` the reminders come from.
    pub from: String,
    /// Where the file transport writes .eml files.
    pub outbox_dir: PathBuf,
    pub smtp: SmtpSettings,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailTransport {
    File,
    Smtp,
}

/// `[mail.smtp]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    #[serde(default)]
    pub username: String,
    /// From `CHISO_MAIL__SMTP__PASSWORD` only.
    #[serde(default)]
    pub password: Secret,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurity {
    Starttls,
    Tls,
    None,
}
