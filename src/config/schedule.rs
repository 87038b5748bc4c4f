//! `[serve]`: what the daemon runs on its own, and how it stops.
//!
//! Owns: `ServeSettings`, `Schedule` and `Window`, and the cron check (`parse_cron`,
//! `check_fires`). Receives: the `[serve]` table from `config`'s layering;
//! `domain::job::JobKind` for what a schedule runs. Hands on: `ServeSettings` inside
//! `config::Settings`, read by `serve` and `serve::schedule`.

use serde::{Deserialize, Serialize};

use crate::domain::job::JobKind;

/// When a scheduled job may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Window {
    /// From the day after a quarter's cut-off to `collect_days_after_due` days after its
    /// due date: while reports arrive and are chased.
    #[default]
    Reporting,
    Always,
}

/// One `[[serve.schedule]]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// Stable id: each of its ticks is claimed once, across replicas.
    pub id: String,
    pub job: JobKind,
    /// Six fields, seconds first, in the calendar's time zone: `0 0 7 * * *` is 07:00 daily.
    pub cron: String,
    #[serde(default)]
    pub window: Window,
    /// A fixed period (a campaign on a past quarter); by default the period being
    /// reported at the tick.
    #[serde(default)]
    pub period: Option<crate::domain::Period>,
    /// Run once at start when a tick was missed while the daemon was down.
    #[serde(default = "yes")]
    pub catch_up: bool,
}

fn yes() -> bool {
    true
}

/// `[serve]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeSettings {
    /// Seconds between looks at the outbox for messages due.
    pub delivery_interval_secs: u64,
    /// On SIGTERM or SIGINT, how long running jobs get to reach a safe point.
    pub shutdown_grace_secs: u64,
    /// The reporting window ends this many days after the due date.
    pub collect_days_after_due: u32,
    #[serde(default, rename = "schedule")]
    pub schedules: Vec<Schedule>,
}

/// Parses a schedule's cron expression with the parser and options tokio-cron-scheduler
/// runs it with (`Job::new_async_tz`: six fields, seconds first, day of month AND day of
/// week), so the settings check, the catch-up after downtime and the scheduler agree on
/// which ticks exist.
pub fn parse_cron(expr: &str) -> Result<croner::Cron, String> {
    croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Required)
        .dom_and_dow(true)
        .build()
        .parse(expr)
        .map_err(|_| crate::messages::config::bad_cron(expr))
}

/// A cron that can never fire (`0 0 7 31 2 *`, 31 February) is refused: croner finds no
/// tick before its search limit.
pub fn check_fires(expr: &str, cron: &croner::Cron, tz: chrono_tz::Tz) -> Result<(), String> {
    let now = chrono::Utc::now().with_timezone(&tz);
    cron.find_next_occurrence(&now, false).map(|_| ()).map_err(|_| crate::messages::config::never_fires(expr))
}
