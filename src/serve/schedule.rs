//! Schedules: when a tick is due, who runs it (the one replica that claims it), and which
//! tick a restart catches up (the latest missed one, once).
//!
//! Owns: the tick arithmetic: `tick_at`, `missed_tick`, `period_for`. Receives: a
//! `config::schedule::Schedule` (with `ServeSettings` and its `Window`), its parsed cron
//! and the `domain::ReportingCalendar`, from `serve`. Hands on: tick times and the `Period`
//! a tick runs for to `serve`.

use chrono::{DateTime, Timelike, Utc};
use chrono_tz::Tz;

use crate::config::schedule::{Schedule, ServeSettings, Window};
use crate::domain::{Period, ReportingCalendar};

/// The latest tick at or before `now` that is later than the last one claimed — what a
/// daemon that was down should run once at start. None when nothing was missed, or when
/// the schedule never ran (a first start catches up nothing).
pub fn missed_tick(
    cron: &croner::Cron,
    last: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    tz: Tz,
) -> Option<DateTime<Utc>> {
    let last = last?;
    let now = now.with_nanosecond(0).unwrap_or(now);
    let previous = cron.find_previous_occurrence(&now.with_timezone(&tz), true).ok()?.with_timezone(&Utc);
    (previous > last).then_some(previous)
}

/// The tick a firing at `now` answers (the scheduler fires at or just after it).
pub fn tick_at(cron: &croner::Cron, now: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
    let now = now.with_nanosecond(0).unwrap_or(now);
    cron.find_previous_occurrence(&now.with_timezone(&tz), true).map_or(now, |t| t.with_timezone(&Utc))
}

/// The period a scheduled job runs for at `now`, or None outside its window.
pub fn period_for(
    schedule: &Schedule,
    serve: &ServeSettings,
    calendar: &ReportingCalendar,
    now: DateTime<Utc>,
) -> Option<Period> {
    let period = schedule.period.unwrap_or_else(|| calendar.reporting_period(now));
    match schedule.window {
        Window::Always => Some(period),
        Window::Reporting => {
            let today = calendar.local_date(now);
            let last = calendar
                .due_date(period)
                .checked_add_days(chrono::Days::new(u64::from(serve.collect_days_after_due)))?;
            (today <= last).then_some(period)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::schedule::parse_cron;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn two_missed_ticks_give_one_catch_up_the_latest() {
        let cron = parse_cron("0 0 7 * * *").unwrap();
        let tz = chrono_tz::Asia::Ho_Chi_Minh;
        let last = at("2024-06-17T07:00:00+07:00");
        // Down from the 17th after 07:00 to the 19th at 09:00: ticks of the 18th and 19th missed.
        let now = at("2024-06-19T09:00:00+07:00");
        assert_eq!(missed_tick(&cron, Some(last), now, tz), Some(at("2024-06-19T07:00:00+07:00")));
        // Nothing missed.
        assert_eq!(missed_tick(&cron, Some(at("2024-06-19T07:00:00+07:00")), now, tz), None);
        // Never ran: nothing to catch up.
        assert_eq!(missed_tick(&cron, None, now, tz), None);
        assert_eq!(tick_at(&cron, at("2024-06-19T07:00:00.350+07:00"), tz), at("2024-06-19T07:00:00+07:00"));
    }

    #[test]
    fn the_reporting_window_runs_from_the_cutoff_to_days_after_due() {
        let calendar = ReportingCalendar::default();
        let serve = ServeSettings {
            delivery_interval_secs: 60,
            shutdown_grace_secs: 30,
            collect_days_after_due: 15,
            schedules: vec![],
        };
        let s = Schedule {
            id: "c".into(),
            job: crate::jobs::dispatch::JobKind::Collect,
            cron: "0 0 7 * * *".into(),
            window: Window::Reporting,
            catch_up: true,
            period: None,
        };
        // Cut-off 14/06, due 19/06, window to 04/07.
        assert_eq!(
            period_for(&s, &serve, &calendar, at("2024-06-15T08:00:00+07:00")),
            Some("2024-Q2".parse().unwrap())
        );
        assert_eq!(
            period_for(&s, &serve, &calendar, at("2024-07-04T08:00:00+07:00")),
            Some("2024-Q2".parse().unwrap())
        );
        assert_eq!(period_for(&s, &serve, &calendar, at("2024-07-05T08:00:00+07:00")), None);
        assert_eq!(
            period_for(&s, &serve, &calendar, at("2024-06-14T08:00:00+07:00")),
            None,
            "Q1's window ended long ago"
        );
        let always = Schedule { window: Window::Always, ..s };
        assert_eq!(
            period_for(&always, &serve, &calendar, at("2024-08-01T08:00:00+07:00")),
            Some("2024-Q2".parse().unwrap())
        );
    }
}
