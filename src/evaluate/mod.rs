//! Gap evaluation: for one period, who is behind on what and by how much.
//!
//! Pure: the catalogue, the period's assignments, the calendar, the current observations
//! and last year's year-end observations go in; one [`GapRow`] per judged agency, measure
//! and indicator comes out, plus an aggregate row where several agencies answer for an
//! indicator and a row per district where a target sets per-district quotas. Storage and
//! scheduling are elsewhere (`warehouse::evaluation`, `jobs::evaluate`).
//!
//! The rules (DESIGN.md "Gaps"):
//! * expected value at the quarter follows the indicator's trajectory: `linear` from the
//!   baseline (last year's actual, else last year's target, else 0) to this year's target at
//!   Q4; `year_end` judged at Q4 only; `cumulative` a quarter of the year's target per
//!   quarter (counts that restart each year);
//! * comparators come from the target (`>80%` strict, `80%` at least);
//! * `at_risk` when the shortfall is within the tolerance, `lagging` beyond it;
//! * `missing` when there is no report once the due date has passed, `not_due` before;
//! * milestones are `done` when reported done, `overdue` once their deadline has passed
//!   without it; ongoing tasks need a status every quarter;
//! * `not_applicable` when the year has no target, and for the members of a lead group the
//!   year's target does not name.
//!
//! Owns: the gap rules: `evaluate`, `expected_at`, `count_by_status`, `EvalInput` and
//! `EvalSettings` (the tolerances, composed into `config::Settings`). Receives: an
//! `EvalInput` from `jobs::evaluate`: the `catalog::plan::Catalog`, `catalog::Directory`,
//! `catalog::assign::Assignments`, the `domain::ReportingCalendar`,
//! `domain::gap::Observations` read by `warehouse::evaluation`, and `EvalSettings`. Hands
//! on: `domain::gap::GapRow`s with their `Status` (re-exported here) to `jobs::evaluate`,
//! which stores them through `warehouse` and passes them to `jobs::preview` and
//! `jobs::remind`; `Status` and `GapRow` are also read by `remind` and `cli`.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::catalog::Directory;
use crate::catalog::assign::Assignments;
use crate::catalog::plan::{Aggregate, Catalog, Indicator, SharedTarget, Trajectory};
pub use crate::domain::gap::{GapRow, Observations, Observed, Refusal, RowKind, Status};
use crate::domain::number::format_vi;
use crate::domain::target::{Comparator, Threshold, UnitTarget};
use crate::domain::value::{MeasureKind, Progress};
use crate::domain::{AgencyId, Period, ReportingCalendar, TargetSpec, Value};

/// Tolerances, from `[evaluate]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvalSettings {
    /// Percentage points below the expected value still judged `at_risk`.
    pub tolerance_pp: f64,
    /// For counts: the share of the expected value (0.1 = 10%) still judged `at_risk`.
    pub tolerance_count_ratio: f64,
}

impl Default for EvalSettings {
    fn default() -> Self {
        Self { tolerance_pp: 5.0, tolerance_count_ratio: 0.1 }
    }
}

/// Everything an evaluation reads.
pub struct EvalInput<'a> {
    pub catalog: &'a Catalog,
    pub dir: &'a Directory,
    pub assignments: &'a Assignments,
    pub calendar: &'a ReportingCalendar,
    pub settings: EvalSettings,
    pub period: Period,
    /// The moment of judgement: decides `missing` vs `not_due`.
    pub now: DateTime<Utc>,
    pub current: &'a Observations,
    /// Last year's Q4 values: the baseline of linear trajectories.
    pub previous_year_end: &'a Observations,
}

/// Evaluates every indicator for the period.
pub fn evaluate(input: &EvalInput<'_>) -> Vec<GapRow> {
    let mut rows = Vec::new();
    for (index, ind) in input.catalog.indicators.iter().enumerate() {
        evaluate_indicator(input, index, ind, &mut rows);
    }
    rows
}

/// The context of one indicator's evaluation.
struct Ctx<'a, 'b> {
    input: &'b EvalInput<'a>,
    index: usize,
    ind: &'a Indicator,
    year: i32,
    past_due: bool,
    quarter: u8,
    co: Vec<AgencyId>,
}

fn evaluate_indicator(input: &EvalInput<'_>, index: usize, ind: &Indicator, rows: &mut Vec<GapRow>) {
    let year = input.period.year();
    let target = ind.target(year);
    let co: Vec<AgencyId> = input.assignments.co(index).iter().cloned().collect();
    let spec = target.map(|t| &t.spec);
    let raw = target.map(|t| t.raw.clone()).unwrap_or_default();
    let na = |reason: String, agency: String| GapRow {
        item: ind.key,
        measure: String::new(),
        kind: RowKind::Aggregate,
        agency,
        status: Status::NotApplicable,
        target: raw.clone(),
        expected: None,
        actual: None,
        gap: None,
        pace: None,
        reason,
        co: co.clone(),
        members: None,
        observation_id: None,
        refused: None,
    };
    match spec {
        None | Some(TargetSpec::None) => {
            rows.push(na(format!("Năm {year} không có chỉ tiêu"), "*".into()));
            return;
        }
        Some(TargetSpec::Unrecognized { .. }) => {
            rows.push(na("Chỉ tiêu chưa được xác định (xem chiso plan check)".into(), "*".into()));
            return;
        }
        _ => {}
    }
    let c = Ctx {
        input,
        index,
        ind,
        year,
        past_due: input.calendar.is_past_due(input.period, input.now),
        quarter: input.period.quarter(),
        co: co.clone(),
    };
    let judged: &BTreeSet<AgencyId> = input.assignments.leads(index);
    if judged.is_empty()
        && let Some(reason) = reorganised(input, &ind.lead)
    {
        rows.push(na(reason, "*".into()));
        return;
    }
    if judged.is_empty() {
        // Nobody in the directory answers for it: say so rather than drop the indicator.
        let names: Vec<String> =
            ind.lead.iter().map(|l| input.dir.get(l).map_or_else(|| l.to_string(), |a| a.name.clone())).collect();
        rows.push(GapRow {
            status: if c.past_due { Status::Missing } else { Status::NotDue },
            kind: RowKind::Aggregate,
            reason: format!(
                "Không có đơn vị nào để giao chủ trì: “{}” chưa có thành viên hoặc đơn vị đầu mối trong danh mục",
                names.join("; ")
            ),
            ..na(String::new(), "*".into())
        });
        return;
    }
    // Members of the lead groups a year's named target leaves out: not applicable.
    if let Some(TargetSpec::Units(u)) = spec
        && !u.named.is_empty()
    {
        for a in left_out(input, ind, judged) {
            rows.push(GapRow {
                kind: RowKind::Member,
                ..na(format!("Chỉ tiêu năm {year} không giao cho đơn vị này"), a.to_string())
            });
        }
    }
    let target = target.expect("checked above");
    for (m, measure) in ind.measures.iter().enumerate() {
        let threshold = measure_threshold(&target.spec, &measure.key);
        let mut member_rows: Vec<GapRow> =
            judged.iter().filter_map(|agency| judge_member(&c, (m, measure), target, threshold, agency)).collect();
        let several = judged.len() > 1
            || matches!(&target.spec, TargetSpec::Units(u) if u.share.is_some() || u.communes_per_district.is_some());
        if several && !judged.is_empty() {
            let joint = aggregate_row(&c, measure, m, target, threshold, &member_rows);
            if is_shared(&c, &measure.kind, &target.spec, judged.len()) {
                judge_shares(&measure.kind, &joint, &mut member_rows);
            }
            rows.push(joint);
        }
        rows.extend(member_rows);
        if let TargetSpec::Units(u) = &target.spec {
            rows.extend(district_rows(&c, u, m, &target.raw));
        }
    }
}

/// The members of the indicator's lead groups on the assignments' date that are not judged.
fn left_out(input: &EvalInput<'_>, ind: &Indicator, judged: &BTreeSet<AgencyId>) -> Vec<AgencyId> {
    let mut all = BTreeSet::new();
    for id in &ind.lead {
        all.extend(input.dir.members_at(id, input.assignments.date));
    }
    all.difference(judged).cloned().collect()
}

/// One lead's row for a measure: its figure judged against the target, or, sent but
/// refused, the refusal the officer must correct. `None` for an agency not in the directory.
fn judge_member(
    c: &Ctx<'_, '_>,
    (m, measure): (usize, &crate::catalog::plan::Measure),
    target: &crate::domain::Target,
    threshold: Option<Threshold>,
    agency: &AgencyId,
) -> Option<GapRow> {
    let input = c.input;
    let a = input.dir.index_of(agency)?;
    let observed = input.current.get(c.index, m, a).copied();
    let mut row = match (&measure.kind, &target.spec) {
        (MeasureKind::Status, spec) => judge_status(c, spec, observed),
        (_, _) => {
            let baseline = input.previous_year_end.get(c.index, m, a).and_then(|o| o.value.number());
            judge_number(c, &measure.kind, threshold, baseline, observed)
        }
    };
    // Sent but refused: the officer must correct the figure, not "report" it.
    if observed.is_none()
        && let Some(r) = input.current.refused(c.index, a)
    {
        let mut refusal = r.clone();
        refusal.hint = Refusal::hint_for(&refusal.code, &refusal.message, &measure.kind);
        row.status = Status::Refused;
        row.reason = refusal.vi();
        row.refused = Some(refusal);
    }
    Some(GapRow {
        measure: measure.key.clone(),
        agency: agency.to_string(),
        target: target.raw.clone(),
        co: c.co.clone(),
        observation_id: observed.map(|o| o.id),
        ..row
    })
}

/// A count several agencies reach together (item 105: Sở KH&CN and Sở NN&PTNT, 8 products
/// between them): the target is a sum, so each lead is judged on the joint figure. The plan's
/// unit decides (counts are summed); the overrides file settles the rest: `shared = "joint"`
/// or `"each"` (each lead against the whole target), else `aggregate`.
fn is_shared(c: &Ctx<'_, '_>, kind: &MeasureKind, spec: &TargetSpec, judged: usize) -> bool {
    let summable = judged > 1
        && matches!(kind, MeasureKind::Count { .. })
        && matches!(spec, TargetSpec::Count { .. } | TargetSpec::Composite { .. });
    match c.ind.shared {
        Some(SharedTarget::Joint) => summable,
        Some(SharedTarget::Each) => false,
        None => summable && c.ind.aggregate == Aggregate::Sum,
    }
}

/// Each lead of a shared target takes the joint row's standing, told its own share: no lead
/// is reminded while the joint figure keeps pace, and a lead that has not reported stays
/// `missing` only while the joint figure lags. Refused figures stay refused.
fn judge_shares(kind: &MeasureKind, joint: &GapRow, members: &mut [GapRow]) {
    let n = members.len();
    if joint.actual.and_then(|v| v.number()).is_none() {
        return;
    }
    for r in members.iter_mut() {
        if r.status == Status::Refused {
            continue;
        }
        let share = r.actual.and_then(|v| v.number());
        let own = match share {
            Some(v) => format!("Phần của đơn vị: {}", show(kind, v)),
            None => "Đơn vị chưa báo cáo phần của mình".to_string(),
        };
        let status = match (share, joint.status) {
            (None, s) if s.needs_action() => r.status,
            (_, s) => s,
        };
        *r = GapRow {
            status,
            expected: joint.expected,
            gap: joint.gap,
            pace: joint.pace,
            reason: format!("{own}; chỉ tiêu chung của {n} đơn vị chủ trì – {}", joint.reason),
            ..r.clone()
        };
    }
}

/// Why lead groups that had members no longer have any on the period's cut-off (the
/// districts after 1/7/2025): every former member was dissolved or merged. `None` when a
/// lead never had members (a directory gap, reported as such).
fn reorganised(input: &EvalInput<'_>, leads: &[AgencyId]) -> Option<String> {
    let date = input.assignments.date;
    let since = NaiveDate::from_ymd_opt(input.period.year() - 2, 1, 1)?;
    let mut ended: Option<NaiveDate> = None;
    let mut district = true;
    let mut names = Vec::new();
    for lead in leads {
        let group = input.dir.get(lead)?;
        let former = if group.is_group() { input.dir.members_at(lead, since) } else { vec![lead.clone()] };
        if former.is_empty() {
            return None;
        }
        for m in &former {
            let a = input.dir.get(m)?;
            let to = a.valid_to.filter(|to| *to < date)?;
            ended = Some(ended.map_or(to, |e| e.max(to)));
            district &= a.level == crate::catalog::Level::District;
        }
        names.push(format!("“{}”", group.name));
    }
    let from = ended?.succ_opt()?.format("%d/%m/%Y");
    let why = if district {
        format!("cấp huyện không còn từ {from} khi sắp xếp đơn vị hành chính (chính quyền địa phương hai cấp)")
    } else {
        format!("các đơn vị đã giải thể hoặc sáp nhập trước {from} khi sắp xếp lại tổ chức")
    };
    Some(format!("Không áp dụng: {} không còn đơn vị nào để giao chủ trì; {why}", names.join(", ")))
}

/// The threshold of a numeric target for one measure.
fn measure_threshold(spec: &TargetSpec, measure: &str) -> Option<Threshold> {
    match spec {
        TargetSpec::Percent { threshold, .. } | TargetSpec::Count { threshold, .. } => Some(*threshold),
        TargetSpec::Composite { measures } => measures.iter().find(|m| m.key == measure).map(|m| m.threshold),
        TargetSpec::Units(u) => u.share.or(u.communes_per_district),
        _ => None,
    }
}

fn blank(c: &Ctx<'_, '_>) -> GapRow {
    GapRow {
        item: c.ind.key,
        measure: String::new(),
        kind: RowKind::Member,
        agency: String::new(),
        status: Status::NotDue,
        target: String::new(),
        expected: None,
        actual: None,
        gap: None,
        pace: None,
        reason: String::new(),
        co: Vec::new(),
        members: None,
        observation_id: None,
        refused: None,
    }
}

/// No report: missing once the due date has passed, not due before.
fn unreported(c: &Ctx<'_, '_>) -> GapRow {
    let due = c.input.calendar.due_date(c.input.period);
    if c.past_due {
        GapRow {
            status: Status::Missing,
            reason: format!("Hạn báo cáo {} {} đã qua", c.input.period.vi(), due.format("%d/%m/%Y")),
            ..blank(c)
        }
    } else {
        GapRow {
            status: Status::NotDue,
            reason: format!("Hạn báo cáo {} {}", c.input.period.vi(), due.format("%d/%m/%Y")),
            ..blank(c)
        }
    }
}

fn unit(kind: &MeasureKind) -> &'static str {
    match kind {
        MeasureKind::Percent => " điểm %",
        _ => "",
    }
}

fn show(kind: &MeasureKind, v: f64) -> String {
    match kind {
        MeasureKind::Percent => format!("{}%", format_vi(v, 1)),
        _ => format_vi(v, 1),
    }
}

/// The value expected by this quarter for a numeric measure.
pub fn expected_at(trajectory: Trajectory, quarter: u8, target: f64, baseline: f64) -> Option<f64> {
    let q = f64::from(quarter);
    match trajectory {
        Trajectory::Linear => Some(baseline + (target - baseline) * q / 4.0),
        Trajectory::Cumulative => Some(target * q / 4.0),
        Trajectory::YearEnd => (quarter == 4).then_some(target),
    }
}

/// The numeric baseline: last year's actual, else last year's numeric target, else 0.
fn baseline_of(c: &Ctx<'_, '_>, actual_last_year: Option<f64>, measure: &str) -> f64 {
    actual_last_year
        .or_else(|| c.ind.target(c.year - 1).and_then(|t| measure_threshold(&t.spec, measure)).map(|t| t.value))
        .unwrap_or(0.0)
}

fn tolerance(c: &Ctx<'_, '_>, kind: &MeasureKind, expected: f64) -> f64 {
    c.ind.tolerance.unwrap_or(match kind {
        MeasureKind::Percent => c.input.settings.tolerance_pp,
        _ => expected.abs() * c.input.settings.tolerance_count_ratio,
    })
}

fn judge_number(
    c: &Ctx<'_, '_>,
    kind: &MeasureKind,
    threshold: Option<Threshold>,
    last_year: Option<f64>,
    observed: Option<Observed>,
) -> GapRow {
    let Some(threshold) = threshold else {
        return GapRow {
            status: Status::NotApplicable,
            reason: "Chỉ tiêu năm không có giá trị số để so sánh".into(),
            ..blank(c)
        };
    };
    let baseline = baseline_of(c, last_year, "");
    // No report: still say what is expected by now.
    let Some(observed) = observed else {
        return GapRow {
            expected: expected_at(c.ind.trajectory, c.quarter, threshold.value, baseline),
            ..unreported(c)
        };
    };
    let Some(actual) = observed.value.number() else {
        let expected = expected_at(c.ind.trajectory, c.quarter, threshold.value, baseline);
        return judge_reported_status(c, kind, threshold, expected, observed.value);
    };
    let quarters_left = 4 - c.quarter;
    let pace = (quarters_left > 0).then(|| ((threshold.value - actual) / f64::from(quarters_left)).max(0.0));
    let Some(expected) = expected_at(c.ind.trajectory, c.quarter, threshold.value, baseline) else {
        return GapRow {
            status: Status::NotDue,
            actual: Some(observed.value),
            pace,
            reason: format!(
                "Chỉ tiêu đánh giá vào Quý IV/{}; đã đạt {} / {}",
                c.year,
                show(kind, actual),
                show(kind, threshold.value)
            ),
            ..blank(c)
        };
    };
    let gap = expected - actual;
    let meets = threshold.cmp.met(actual, expected);
    let strict = threshold.cmp == Comparator::Greater;
    let (status, reason) = if meets {
        (
            Status::OnTrack,
            format!(
                "Đạt {} so với mức cần có {}{}",
                show(kind, actual),
                if strict { ">" } else { "" },
                show(kind, expected)
            ),
        )
    } else if gap.abs() < 1e-9 && strict {
        // Exactly on a strict target: not over it.
        let tol = tolerance(c, kind, expected);
        let status = if tol > 0.0 { Status::AtRisk } else { Status::Lagging };
        (status, format!("Đạt đúng {} nhưng chỉ tiêu yêu cầu trên {}", show(kind, actual), show(kind, expected)))
    } else if gap <= tolerance(c, kind, expected) + 1e-9 {
        (
            Status::AtRisk,
            format!(
                "Thiếu {}{} so với mức cần có {} (trong ngưỡng cảnh báo)",
                format_vi(gap, 1),
                unit(kind),
                show(kind, expected)
            ),
        )
    } else {
        (
            Status::Lagging,
            format!("Thiếu {}{} so với mức cần có {}", format_vi(gap, 1), unit(kind), show(kind, expected)),
        )
    };
    GapRow { status, expected: Some(expected), actual: Some(observed.value), gap: Some(gap), pace, reason, ..blank(c) }
}

/// A status reported for a percent or count indicator (`Hoàn thành`, `X`): done meets the
/// target, and so does `Thường xuyên` for a target that keeps a level; in progress or not
/// done is behind. The reason says no figure was given.
fn judge_reported_status(
    c: &Ctx<'_, '_>,
    kind: &MeasureKind,
    threshold: Threshold,
    expected: Option<f64>,
    value: Value,
) -> GapRow {
    let Some(progress) = value.status() else {
        return GapRow {
            status: Status::Lagging,
            actual: Some(value),
            reason: "Báo cáo không có số liệu".into(),
            ..blank(c)
        };
    };
    let reported = format!("Báo cáo “{}”, không ghi số liệu", progress.vi());
    let (status, reason) = match (progress, expected) {
        (Progress::Done, _) => (Status::Done, reported),
        (Progress::Ongoing, _) if keeps_a_level(c, threshold) => {
            (Status::OnTrack, format!("{reported}; chỉ tiêu duy trì {}", show(kind, threshold.value)))
        }
        (_, None) => (
            Status::NotDue,
            format!("{reported}; chỉ tiêu đánh giá vào Quý IV/{} ({})", c.year, show(kind, threshold.value)),
        ),
        (_, Some(e)) => (Status::Lagging, format!("{reported} để so với mức cần có {}", show(kind, e))),
    };
    GapRow { status, expected, actual: Some(value), reason, ..blank(c) }
}

/// A target that keeps a level rather than raises it: the plan says `duy trì` or
/// `thường xuyên`, or last year's target was the same.
fn keeps_a_level(c: &Ctx<'_, '_>, threshold: Threshold) -> bool {
    let raw = c.ind.target(c.year).map(|t| crate::text::fold(&t.raw)).unwrap_or_default();
    raw.contains("duy trì")
        || raw.contains("thường xuyên")
        || c.ind
            .target(c.year - 1)
            .and_then(|t| measure_threshold(&t.spec, ""))
            .is_some_and(|t| (t.value - threshold.value).abs() < 1e-9)
}

/// The deadline of a status-measured target for the year.
fn deadline_of(c: &Ctx<'_, '_>, spec: &TargetSpec) -> NaiveDate {
    let year_end = NaiveDate::from_ymd_opt(c.year, 12, 31).unwrap_or(NaiveDate::MAX);
    match spec {
        TargetSpec::Milestone { deadline: Some(ym) } => NaiveDate::from_ymd_opt(ym.year, ym.month, 1)
            .and_then(|d| d.checked_add_months(chrono::Months::new(1)))
            .and_then(|d| d.pred_opt())
            .unwrap_or(year_end),
        _ => year_end,
    }
}

/// A unit that must have done something by a deadline.
fn judge_milestone(c: &Ctx<'_, '_>, deadline: NaiveDate, observed: Option<Observed>) -> GapRow {
    let period_end = c.input.period.last_day();
    let deadline_text = deadline.format("%d/%m/%Y");
    let Some(o) = observed else {
        let mut row = unreported(c);
        if row.status == Status::Missing && deadline <= period_end {
            row.status = Status::Overdue;
            row.reason = format!("Chưa báo cáo và đã quá hạn hoàn thành {deadline_text}");
        }
        return row;
    };
    let progress = o.value.status();
    let (status, reason) = match progress {
        Some(Progress::Done) => (Status::Done, "Đã hoàn thành".to_string()),
        _ if deadline <= period_end => (Status::Overdue, format!("Chưa hoàn thành, hạn {deadline_text} đã qua")),
        Some(Progress::InProgress | Progress::Ongoing) => {
            (Status::OnTrack, format!("Đang thực hiện, hạn hoàn thành {deadline_text}"))
        }
        _ => (Status::AtRisk, format!("Chưa thực hiện, hạn hoàn thành {deadline_text}")),
    };
    GapRow { status, actual: Some(o.value), reason, ..blank(c) }
}

fn judge_status(c: &Ctx<'_, '_>, spec: &TargetSpec, observed: Option<Observed>) -> GapRow {
    match spec {
        TargetSpec::Ongoing => {
            let Some(o) = observed else { return unreported(c) };
            match o.value.status() {
                Some(Progress::NotDone) => GapRow {
                    status: Status::Lagging,
                    actual: Some(o.value),
                    reason: "Nhiệm vụ thường xuyên nhưng báo cáo chưa thực hiện".into(),
                    ..blank(c)
                },
                _ => GapRow {
                    status: Status::OnTrack,
                    actual: Some(o.value),
                    reason: "Đã báo cáo thực hiện trong kỳ".into(),
                    ..blank(c)
                },
            }
        }
        TargetSpec::Milestone { .. } => judge_milestone(c, deadline_of(c, spec), observed),
        // Named units must do it by year end.
        TargetSpec::Units(u) if !u.named.is_empty() => judge_milestone(c, deadline_of(c, spec), observed),
        // Everyone must: the same.
        TargetSpec::Units(UnitTarget { share: Some(t), .. }) | TargetSpec::Percent { threshold: t, .. }
            if t.value >= 100.0 =>
        {
            judge_milestone(c, deadline_of(c, spec), observed)
        }
        // A share of units: each member's report feeds the province's share.
        _ => {
            let Some(o) = observed else { return unreported(c) };
            let done = o.value.status() == Some(Progress::Done);
            GapRow {
                status: if done { Status::Done } else { Status::OnTrack },
                actual: Some(o.value),
                reason: if done {
                    "Đã hoàn thành".into()
                } else {
                    "Đã báo cáo; được tính vào tỷ lệ đơn vị của tỉnh".into()
                },
                ..blank(c)
            }
        }
    }
}

/// Who answers for an aggregate row: the single lead agency (its successor once it has
/// merged: Sở KH&CN for Sở TT&TT's items from 2025-Q1), or the province (`*`).
fn aggregate_owner(c: &Ctx<'_, '_>) -> String {
    match c.ind.lead.as_slice() {
        [one] if c.input.dir.get(one).is_some_and(|a| !a.is_group()) => {
            c.input.dir.current(one, c.input.assignments.date).unwrap_or_else(|| one.clone()).to_string()
        }
        _ => "*".into(),
    }
}

/// The joint row of a status measure, or of an indicator judged by the share of units on
/// track (`share_meeting`): the share of judged units done (or on track), or the single
/// lead's own figure for that share where it reports one.
fn share_of_units_row(
    c: &Ctx<'_, '_>,
    (m, kind): (usize, &MeasureKind),
    threshold: Option<Threshold>,
    members: &[GapRow],
    base: GapRow,
) -> GapRow {
    let judged = members.len() as u32;
    let good = members.iter().filter(|r| r.status.is_good()).count() as u32;
    let reported = members.iter().filter(|r| r.actual.is_some()).count();
    // The share of judged units done (status measures) or on track (share_meeting).
    let hits = if *kind == MeasureKind::Status {
        members.iter().filter(|r| r.actual.and_then(|v| v.status()) == Some(Progress::Done)).count()
    } else {
        good as usize
    };
    let share = if judged > 0 { 100.0 * hits as f64 / f64::from(judged) } else { 0.0 };
    // The single lead's own figure for the share of units (item 29: `25% đơn vị, trong
    // đó: …`, reported by the coordinating department) is the indicator's figure.
    let lead_share = match (kind, c.ind.lead.as_slice()) {
        (MeasureKind::Status, [one]) => {
            c.input.dir.index_of(one).and_then(|a| c.input.current.get(c.index, m, a)).and_then(|o| match o.value {
                Value::Percent(v) => Some(v),
                _ => None,
            })
        }
        _ => None,
    };
    if let (Some(v), Some(t)) = (lead_share, threshold) {
        let synthetic = Observed { value: Value::Percent(v), id: 0 };
        let row = judge_number(c, &MeasureKind::Percent, Some(t), None, Some(synthetic));
        return GapRow {
            status: row.status,
            expected: row.expected,
            actual: Some(Value::Percent(v)),
            gap: row.gap,
            pace: row.pace,
            reason: format!(
                "Theo số liệu của cơ quan chủ trì: {} đơn vị ({hits}/{judged} đơn vị báo cáo hoàn thành); {}",
                show(&MeasureKind::Percent, v),
                row.reason
            ),
            ..base
        };
    }
    let Some(t) = threshold else {
        // A milestone or ongoing task shared by several: summarise the members.
        // The most severe member status stands for the task.
        let worst = members.iter().map(|r| r.status).min().unwrap_or(Status::NotDue);
        return GapRow {
            status: worst,
            actual: Some(Value::Percent(share)),
            reason: format!("{good}/{judged} đơn vị đúng tiến độ; {reported} đơn vị đã báo cáo"),
            ..base
        };
    };
    let synthetic = Observed { value: Value::Percent(share), id: 0 };
    let row = judge_number(c, &MeasureKind::Percent, Some(t), None, Some(synthetic));
    let reason =
        format!("{hits}/{judged} đơn vị đã hoàn thành ({}); {}", show(&MeasureKind::Percent, share), row.reason);
    let status = if reported == 0 && c.past_due { Status::Missing } else { row.status };
    GapRow {
        status,
        expected: row.expected,
        actual: Some(Value::Percent(share)),
        gap: row.gap,
        pace: row.pace,
        reason,
        ..base
    }
}

fn aggregate_row(
    c: &Ctx<'_, '_>,
    measure: &crate::catalog::plan::Measure,
    m: usize,
    target: &crate::domain::Target,
    threshold: Option<Threshold>,
    members: &[GapRow],
) -> GapRow {
    let (kind, spec, raw) = (&measure.kind, &target.spec, target.raw.as_str());
    let measure = measure.key.as_str();
    let judged = members.len() as u32;
    let good = members.iter().filter(|r| r.status.is_good()).count() as u32;
    let reported: Vec<&GapRow> = members.iter().filter(|r| r.actual.is_some()).collect();
    let base = GapRow {
        measure: measure.to_string(),
        kind: RowKind::Aggregate,
        agency: aggregate_owner(c),
        target: raw.to_string(),
        co: c.co.clone(),
        members: Some((judged, good)),
        ..blank(c)
    };
    if *kind == MeasureKind::Status || c.ind.aggregate == Aggregate::ShareMeeting {
        return share_of_units_row(c, (m, kind), threshold, members, base);
    }
    let values: Vec<f64> = reported.iter().filter_map(|r| r.actual.and_then(|v| v.number())).collect();
    // Members that reported a status (`Hoàn thành`) have no figure to add up: they are judged
    // on their own rows and left out of the province's figure.
    let statuses = reported.len() - values.len();
    if values.is_empty() && statuses > 0 {
        let worst = members.iter().map(|r| r.status).min().unwrap_or(Status::NotDue);
        return GapRow {
            status: worst,
            reason: format!(
                "{statuses}/{judged} đơn vị báo cáo trạng thái, không ghi số liệu; {good}/{judged} đơn vị đạt"
            ),
            ..base
        };
    }
    if values.is_empty() {
        let row = unreported(c);
        return GapRow {
            status: row.status, reason: format!("Chưa đơn vị nào báo cáo ({judged} đơn vị)"), ..base
        };
    }
    let value = match c.ind.aggregate {
        Aggregate::Sum => values.iter().sum::<f64>(),
        _ => values.iter().sum::<f64>() / values.len() as f64,
    };
    let last_year: Vec<f64> = c
        .input
        .assignments
        .leads(c.index)
        .iter()
        .filter_map(|a| c.input.dir.index_of(a))
        .filter_map(|a| c.input.previous_year_end.get(c.index, m, a).and_then(|o| o.value.number()))
        .collect();
    let baseline = (!last_year.is_empty()).then(|| match c.ind.aggregate {
        Aggregate::Sum => last_year.iter().sum::<f64>(),
        _ => last_year.iter().sum::<f64>() / last_year.len() as f64,
    });
    let synthetic = Observed {
        value: if *kind == MeasureKind::Percent { Value::Percent(value) } else { Value::Count(value) },
        id: 0,
    };
    let row = judge_number(c, kind, threshold, baseline, Some(synthetic));
    let how = if c.ind.aggregate == Aggregate::Sum { "Tổng" } else { "Bình quân" };
    let _ = spec;
    GapRow {
        status: row.status,
        expected: row.expected,
        actual: row.actual,
        gap: row.gap,
        pace: row.pace,
        reason: if statuses > 0 {
            format!(
                "{how} {}/{judged} đơn vị đã báo cáo số liệu ({statuses} đơn vị báo cáo trạng thái, không tính): {}",
                values.len(),
                row.reason
            )
        } else {
            format!("{how} {}/{judged} đơn vị đã báo cáo: {}", values.len(), row.reason)
        },
        ..base
    }
}

/// Per-district quotas (`tp Vĩnh Long: 4 phường`) and shares (`mỗi huyện chọn 30% đơn vị
/// cấp xã`): each district is judged on its communes' reports.
fn district_rows(c: &Ctx<'_, '_>, u: &UnitTarget, m: usize, raw: &str) -> Vec<GapRow> {
    let date = c.input.assignments.date;
    let mut out = Vec::new();
    let done_in = |district: &AgencyId| -> (usize, usize) {
        let communes = c.input.dir.communes_of(district, date);
        let done = communes
            .iter()
            .filter_map(|x| c.input.dir.index_of(x))
            .filter(|&x| c.input.current.get(c.index, m, x).and_then(|o| o.value.status()) == Some(Progress::Done))
            .count();
        (done, communes.len())
    };
    let row = |district: &AgencyId, actual: f64, threshold: Threshold, kind: MeasureKind, text: String| {
        let observed = Observed {
            value: if kind == MeasureKind::Percent { Value::Percent(actual) } else { Value::Count(actual) },
            id: 0,
        };
        let judged = judge_number(c, &kind, Some(threshold), None, Some(observed));
        GapRow {
            kind: RowKind::District,
            agency: district.to_string(),
            target: raw.to_string(),
            co: c.co.clone(),
            reason: format!("{text}; {}", judged.reason),
            ..judged
        }
    };
    for q in &u.per_district {
        let Some(d) = q.district.agency.as_ref().and_then(|d| c.input.dir.current(d, date)) else { continue };
        let (done, total) = done_in(&d);
        out.push(row(
            &d,
            done as f64,
            Threshold::at_least(f64::from(q.count)),
            MeasureKind::Count { unit: None },
            format!("{done}/{} {} (trên {total}) đã hoàn thành", q.count, q.unit_word),
        ));
    }
    if let Some(share) = u.communes_per_district {
        for d in c.input.dir.of_level(crate::catalog::Level::District, date) {
            let (done, total) = done_in(&d);
            if total == 0 {
                continue;
            }
            let pct = 100.0 * done as f64 / total as f64;
            out.push(row(&d, pct, share, MeasureKind::Percent, format!("{done}/{total} đơn vị cấp xã đã hoàn thành")));
        }
    }
    out
}

/// Counts of rows by status.
pub fn count_by_status(rows: &[GapRow]) -> std::collections::BTreeMap<Status, usize> {
    let mut out = std::collections::BTreeMap::new();
    for r in rows {
        *out.entry(r.status).or_default() += 1;
    }
    out
}
