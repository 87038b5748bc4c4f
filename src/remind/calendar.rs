//! When mail may go out: working days and hours in the province's time zone, minus public
//! holidays (Tết included). A round that falls outside waits for the next window.
//!
//! Owns: `WorkingTime` (the settings) and `SendingCalendar` (when a send is allowed, the
//! next opening), with `WorkingTimeError`. Receives: `WorkingTime` from `RemindSettings`
//! and the province's time zone from the `domain::ReportingCalendar`, in `jobs::remind`;
//! `config` checks the same settings. Hands on: a `SendingCalendar` to `remind::plan` (a
//! round's opening) and `remind::deliver` (working hours).

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// `[remind]` working-time settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkingTime {
    /// mon … sun
    pub working_days: Vec<String>,
    /// Local time the window opens, `07:30`.
    pub working_start: String,
    /// Local time it closes, `16:30`.
    pub working_end: String,
    /// Public holidays: dates (`2025-01-01`) or inclusive ranges (`2025-01-25..2025-02-02`).
    #[serde(default)]
    pub holidays: Vec<String>,
}

/// Why a working-time setting is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkingTimeError {
    #[error("`{0}` không phải là một ngày trong tuần: ghi mon, tue, wed, thu, fri, sat hoặc sun")]
    Day(String),
    #[error("`{0}` không phải là giờ: ghi dạng 07:30")]
    Time(String),
    #[error("giờ kết thúc ngày làm việc ({end}) sớm hơn giờ bắt đầu ({start})")]
    Order { start: String, end: String },
    #[error("`{0}` không phải là ngày (2025-01-01) hoặc khoảng ngày (2025-01-25..2025-02-02)")]
    Holiday(String),
    #[error("chưa có ngày làm việc nào: ghi ít nhất một ngày trong remind.working_days")]
    NoDays,
}

/// The parsed calendar.
#[derive(Debug, Clone, PartialEq)]
pub struct SendingCalendar {
    tz: Tz,
    days: Vec<Weekday>,
    start: NaiveTime,
    end: NaiveTime,
    holidays: Vec<(NaiveDate, NaiveDate)>,
}

fn weekday(s: &str) -> Option<Weekday> {
    Some(match s.trim().to_ascii_lowercase().as_str() {
        "mon" | "monday" | "t2" => Weekday::Mon,
        "tue" | "tuesday" | "t3" => Weekday::Tue,
        "wed" | "wednesday" | "t4" => Weekday::Wed,
        "thu" | "thursday" | "t5" => Weekday::Thu,
        "fri" | "friday" | "t6" => Weekday::Fri,
        "sat" | "saturday" | "t7" => Weekday::Sat,
        "sun" | "sunday" | "cn" => Weekday::Sun,
        _ => return None,
    })
}

impl SendingCalendar {
    pub fn new(w: &WorkingTime, tz: Tz) -> Result<Self, WorkingTimeError> {
        let days: Vec<Weekday> = w
            .working_days
            .iter()
            .map(|d| weekday(d).ok_or_else(|| WorkingTimeError::Day(d.clone())))
            .collect::<Result<_, _>>()?;
        if days.is_empty() {
            return Err(WorkingTimeError::NoDays);
        }
        let time =
            |s: &str| NaiveTime::parse_from_str(s.trim(), "%H:%M").map_err(|_| WorkingTimeError::Time(s.to_string()));
        let (start, end) = (time(&w.working_start)?, time(&w.working_end)?);
        if end <= start {
            return Err(WorkingTimeError::Order { start: w.working_start.clone(), end: w.working_end.clone() });
        }
        let date = |s: &str| NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok();
        let mut holidays = Vec::new();
        for h in &w.holidays {
            let range = match h.split_once("..") {
                Some((a, b)) => date(a).zip(date(b)),
                None => date(h).map(|d| (d, d)),
            };
            let (a, b) = range.filter(|(a, b)| a <= b).ok_or_else(|| WorkingTimeError::Holiday(h.clone()))?;
            holidays.push((a, b));
        }
        Ok(Self { tz, days, start, end, holidays })
    }

    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        self.days.contains(&d.weekday()) && !self.holidays.iter().any(|(a, b)| *a <= d && d <= *b)
    }

    fn local(&self, d: NaiveDate, t: NaiveTime) -> DateTime<Utc> {
        match self.tz.from_local_datetime(&d.and_time(t)) {
            chrono::LocalResult::Single(x) | chrono::LocalResult::Ambiguous(x, _) => x.with_timezone(&Utc),
            chrono::LocalResult::None => Utc.from_utc_datetime(&d.and_time(t)),
        }
    }

    /// True when mail may go out at `at`.
    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        let local = at.with_timezone(&self.tz);
        self.is_working_day(local.date_naive()) && local.time() >= self.start && local.time() < self.end
    }

    /// `at` if the window is open then, else the start of the next window.
    pub fn next_open(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        if self.is_open(at) {
            return at;
        }
        let local = at.with_timezone(&self.tz);
        let mut day = local.date_naive();
        if !(self.is_working_day(day) && local.time() < self.start) {
            day = day.checked_add_days(Days::new(1)).unwrap_or(day);
        }
        for _ in 0..400 {
            if self.is_working_day(day) {
                return self.local(day, self.start);
            }
            day = day.checked_add_days(Days::new(1)).unwrap_or(day);
        }
        at
    }

    /// The opening of the window on `day`, or of the next working day after it.
    pub fn opening_on_or_after(&self, day: NaiveDate) -> DateTime<Utc> {
        self.next_open(self.local(day, self.start))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cal() -> SendingCalendar {
        let w = WorkingTime {
            working_days: ["mon", "tue", "wed", "thu", "fri"].map(String::from).to_vec(),
            working_start: "07:30".into(),
            working_end: "16:30".into(),
            holidays: vec!["2025-01-01".into(), "2025-01-25..2025-02-02".into()],
        };
        SendingCalendar::new(&w, chrono_tz::Asia::Ho_Chi_Minh).unwrap()
    }

    /// Local Hà Nội time → UTC.
    fn hn(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        chrono_tz::Asia::Ho_Chi_Minh.with_ymd_and_hms(y, m, d, h, min, 0).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn inside_and_outside_the_window() {
        let c = cal();
        assert!(c.is_open(hn(2025, 3, 5, 7, 30)));
        assert!(c.is_open(hn(2025, 3, 5, 16, 29)));
        assert!(!c.is_open(hn(2025, 3, 5, 16, 30)));
        assert!(!c.is_open(hn(2025, 3, 5, 7, 29)));
    }

    #[test]
    fn saturday_tet_and_evenings_wait_for_the_next_window() {
        let c = cal();
        // Saturday 8 March 2025 → Monday 10 March 07:30.
        assert_eq!(c.next_open(hn(2025, 3, 8, 9, 0)), hn(2025, 3, 10, 7, 30));
        // Wednesday 17:00 → Thursday 07:30.
        assert_eq!(c.next_open(hn(2025, 3, 5, 17, 0)), hn(2025, 3, 6, 7, 30));
        // Before opening on a working day → the same morning.
        assert_eq!(c.next_open(hn(2025, 3, 5, 6, 0)), hn(2025, 3, 5, 7, 30));
        // During Tết (25/1–2/2/2025) → Monday 3 February 07:30.
        assert_eq!(c.next_open(hn(2025, 1, 28, 10, 0)), hn(2025, 2, 3, 7, 30));
        // New Year's Day (a Wednesday) → Thursday.
        assert_eq!(c.next_open(hn(2025, 1, 1, 8, 0)), hn(2025, 1, 2, 7, 30));
        // Open: unchanged.
        assert_eq!(c.next_open(hn(2025, 3, 5, 10, 0)), hn(2025, 3, 5, 10, 0));
    }

    #[test]
    fn bad_settings_are_refused() {
        let mut w = WorkingTime {
            working_days: vec!["mon".into()],
            working_start: "08:00".into(),
            working_end: "17:00".into(),
            holidays: vec![],
        };
        assert!(SendingCalendar::new(&w, chrono_tz::UTC).is_ok());
        w.working_days = vec!["funday".into()];
        assert_eq!(SendingCalendar::new(&w, chrono_tz::UTC), Err(WorkingTimeError::Day("funday".into())));
        w.working_days = vec!["mon".into()];
        w.working_end = "07:00".into();
        assert!(matches!(SendingCalendar::new(&w, chrono_tz::UTC), Err(WorkingTimeError::Order { .. })));
        w.working_end = "17:00".into();
        w.holidays = vec!["2025-02-30".into()];
        assert!(matches!(SendingCalendar::new(&w, chrono_tz::UTC), Err(WorkingTimeError::Holiday(_))));
    }
}
