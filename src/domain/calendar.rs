//! The reporting calendar: when a quarter's figures are cut off and when they are due.
//!
//! Vietnamese periodic reporting closes a quarter's figures on a fixed cut-off: data runs
//! from the 15th of the month before the quarter to the 14th of the quarter's last month
//! (Decree 09/2019/NĐ-CP, repeated in provincial regulations). The report is due a
//! configurable number of days after the cut-off. All dates are local to the province's
//! time zone (`Asia/Ho_Chi_Minh`); a report is late only once the due date has ended there.
//!
//! Owns: `ReportingCalendar` (cut-off day, due days, time zone) and its answers: a period's
//! window, cut-off, due date, which period is being reported now. Receives: the
//! `[calendar]` settings through `config::Settings`, a `Period` or a UTC time from the
//! caller. Hands on: dates and `Period`s to `jobs`, `remind::calendar`, `report`, `serve`
//! and `cli`; `CalendarError` to `config`'s validation.

use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::Period;

/// Cut-off and due-date rules, from `[calendar]` in the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportingCalendar {
    /// Time zone every date is read in.
    pub timezone: Tz,
    /// Last day of the month that still belongs to the quarter's data (14 by Decree 09).
    pub cutoff_day: u32,
    /// Days after the cut-off by which the report must have arrived.
    pub due_days_after_cutoff: u32,
}

impl Default for ReportingCalendar {
    fn default() -> Self {
        Self { timezone: chrono_tz::Asia::Ho_Chi_Minh, cutoff_day: 14, due_days_after_cutoff: 5 }
    }
}

/// Why a calendar setting is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("{}", crate::messages::config::cutoff_day(.0))]
    CutoffDay(u32),
    #[error("{}", crate::messages::config::due_days(.0))]
    DueDays(u32),
}

impl ReportingCalendar {
    pub fn validate(&self) -> Result<(), CalendarError> {
        if !(1..=28).contains(&self.cutoff_day) {
            return Err(CalendarError::CutoffDay(self.cutoff_day));
        }
        if self.due_days_after_cutoff > 60 {
            return Err(CalendarError::DueDays(self.due_days_after_cutoff));
        }
        Ok(())
    }

    /// First and last day (inclusive) of the data that belongs to `period`.
    pub fn window(&self, period: Period) -> (NaiveDate, NaiveDate) {
        let end = self.cutoff(period);
        let start = self.cutoff(period.prev()).succ_opt().unwrap_or(end);
        (start, end)
    }

    /// The cut-off date: `cutoff_day` of the quarter's last month.
    pub fn cutoff(&self, period: Period) -> NaiveDate {
        let last_month = u32::from(period.quarter()) * 3;
        NaiveDate::from_ymd_opt(period.year(), last_month, self.cutoff_day.clamp(1, 28)).unwrap_or(period.last_day())
    }

    /// The last day on which the report is on time.
    pub fn due_date(&self, period: Period) -> NaiveDate {
        self.cutoff(period).checked_add_days(Days::new(u64::from(self.due_days_after_cutoff))).unwrap_or(NaiveDate::MAX)
    }

    /// The instant the due date ends in the calendar's time zone: from then on, a period
    /// with no report is `missing`.
    pub fn due_deadline(&self, period: Period) -> DateTime<Utc> {
        let next_day = self.due_date(period).succ_opt().unwrap_or(NaiveDate::MAX);
        self.local_midnight(next_day)
    }

    /// True once the due date has fully passed in local time.
    pub fn is_past_due(&self, period: Period, now: DateTime<Utc>) -> bool {
        now >= self.due_deadline(period)
    }

    /// The local calendar date of an instant.
    pub fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.timezone).date_naive()
    }

    /// The period whose data window contains `date` (the 20th of March belongs to Q2).
    pub fn period_for_data_date(&self, date: NaiveDate) -> Period {
        let p = Period::containing(date);
        if date > self.cutoff(p) { p.next() } else { p }
    }

    /// The period whose report is due or being chased: the latest period whose data
    /// window has closed (its cut-off has passed). On 17/06/2024 and on 01/07/2024 that is
    /// 2024-Q2.
    pub fn reporting_period(&self, now: DateTime<Utc>) -> Period {
        let today = self.local_date(now);
        let p = Period::containing(today);
        if today > self.cutoff(p) { p } else { p.prev() }
    }

    /// The period whose report is currently being collected: the latest period whose
    /// window has started. Used when an operator or the scheduler gives no period.
    pub fn current_period(&self, now: DateTime<Utc>) -> Period {
        self.period_for_data_date(self.local_date(now))
    }

    fn local_midnight(&self, date: NaiveDate) -> DateTime<Utc> {
        let naive = date.and_hms_opt(0, 0, 0).unwrap_or_default();
        match self.timezone.from_local_datetime(&naive) {
            chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
            // Vietnam has no DST gap; other zones fall back to UTC midnight.
            chrono::LocalResult::None => Utc.from_utc_datetime(&naive),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn p(y: i32, q: u8) -> Period {
        Period::new(y, q).unwrap()
    }

    #[test]
    fn decree_09_windows() {
        let cal = ReportingCalendar::default();
        assert_eq!(cal.window(p(2024, 2)), (d(2024, 3, 15), d(2024, 6, 14)));
        assert_eq!(cal.window(p(2024, 1)), (d(2023, 12, 15), d(2024, 3, 14)));
        assert_eq!(cal.window(p(2024, 4)), (d(2024, 9, 15), d(2024, 12, 14)));
        assert_eq!(cal.due_date(p(2024, 2)), d(2024, 6, 19));
    }

    #[test]
    fn configurable_rule() {
        let cal = ReportingCalendar { cutoff_day: 20, due_days_after_cutoff: 10, ..Default::default() };
        assert_eq!(cal.window(p(2024, 3)), (d(2024, 6, 21), d(2024, 9, 20)));
        assert_eq!(cal.due_date(p(2024, 3)), d(2024, 9, 30));
    }

    #[test]
    fn due_date_ends_at_local_midnight() {
        let cal = ReportingCalendar::default();
        let period = p(2024, 2);
        // 19 June 23:59 in Hà Nội is 16:59 UTC: still on time.
        let last_minute = Utc.with_ymd_and_hms(2024, 6, 19, 16, 59, 0).unwrap();
        assert!(!cal.is_past_due(period, last_minute));
        // 20 June 00:00 in Hà Nội is 19 June 17:00 UTC: late.
        let midnight = Utc.with_ymd_and_hms(2024, 6, 19, 17, 0, 0).unwrap();
        assert!(cal.is_past_due(period, midnight));
        assert_eq!(cal.local_date(midnight), d(2024, 6, 20));
    }

    #[test]
    fn data_dates_map_to_periods() {
        let cal = ReportingCalendar::default();
        assert_eq!(cal.period_for_data_date(d(2024, 3, 14)), p(2024, 1));
        assert_eq!(cal.period_for_data_date(d(2024, 3, 15)), p(2024, 2));
        assert_eq!(cal.period_for_data_date(d(2024, 12, 20)), p(2025, 1));
    }

    #[test]
    fn validation() {
        assert!(ReportingCalendar { cutoff_day: 31, ..Default::default() }.validate().is_err());
        assert!(ReportingCalendar::default().validate().is_ok());
    }
}
