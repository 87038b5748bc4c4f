//! The quarterly report to the Provincial People's Committee (Section VI of the plan):
//! where the plan stands, who is behind on what, and what changed since last quarter,
//! built from the stored evaluation and written as a workbook (this module) or a draft
//! written report (`report::docx`). A district's report covers its communes.
//!
//! Reading only: the gap rows of the quarter and of the quarters before it, the quarter's
//! observations (when each agency first reported) and its refused figures.
//!
//! Owns: `ReportInput`, `QuarterReport` (with `Figures`, `AgencyLine`, `IndicatorLine`,
//! `Timeliness`, `Reported`, `Scope`), the headline rule `pick`, `load`, `write_xlsx` and
//! `ReportError`. Receives: a `ReportInput` (the `warehouse::Warehouse`,
//! `catalog::plan::Catalog`, `catalog::Directory`, `domain::ReportingCalendar`) from
//! `app::Context::report_input`, reading `warehouse::StoredGap`s and first reports. Hands
//! on: `QuarterReport` to `report::docx`, `serve::dashboard` and `cli::report`; xlsx bytes
//! to `cli::report` and `serve::dashboard`; `pick` and the line types to
//! `report::overview`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use rust_xlsxwriter::{
    Chart, ChartFormat, ChartLegendPosition, ChartLine, ChartSolidFill, ChartType, Format, FormatAlign, FormatBorder,
    Workbook, Worksheet, XlsxError,
};
use serde::Serialize;

use super::{Bucket, NumberFormats, is_judged, print_setup, status_format, wrapped_height};
use crate::catalog::Directory;
use crate::catalog::plan::Catalog;
use crate::domain::gap::{RowKind, RowOwner};
use crate::domain::{AgencyId, Period, ReportingCalendar, Section, Value};
use crate::evaluate::Status;
use crate::warehouse::{StoredGap, Warehouse, WarehouseError};

/// Quarters shown in the trend, the report's own included.
pub const TREND_QUARTERS: usize = 8;

/// Agencies shown in the ranking chart (all of them stay on the sheet).
pub const RANKED_IN_CHART: u32 = 40;

pub const SUMMARY_SHEET: &str = "Tổng hợp";
pub const AGENCY_SHEET: &str = "Theo đơn vị";
pub const INDICATOR_SHEET: &str = "Theo chỉ tiêu";
pub const CHART_SHEET: &str = "Biểu đồ";

/// Why a report cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
    #[error("chưa có kết quả đánh giá {0}: chạy `chiso evaluate --period {1}`")]
    NotEvaluated(String, Period),
    #[error("`{0}` không phải là huyện, thị xã, thành phố trong danh mục")]
    NotADistrict(String),
}

/// Whom the report covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Scope {
    Province,
    /// A district: its own rows and its communes'.
    District {
        id: AgencyId,
        name: String,
        communes: BTreeSet<String>,
    },
}

/// How the agencies expected to report did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Timeliness {
    pub on_time: usize,
    pub late: usize,
    pub none: usize,
}

/// An agency's report: first figure by the due date, after it, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Reported {
    OnTime,
    Late,
    None,
}

impl Reported {
    pub fn vi(self) -> &'static str {
        match self {
            Reported::OnTime => "Đúng hạn",
            Reported::Late => "Muộn",
            Reported::None => "Chưa báo cáo",
        }
    }
}

/// The figures of one quarter.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Figures {
    pub period: Option<Period>,
    /// Indicators (and measures of composite ones) by section and status.
    pub by_section: BTreeMap<Section, BTreeMap<Status, usize>>,
    pub timeliness: Option<Timeliness>,
}

impl Figures {
    pub fn total(&self) -> BTreeMap<Status, usize> {
        let mut out = BTreeMap::new();
        for per in self.by_section.values() {
            for (s, n) in per {
                *out.entry(*s).or_default() += n;
            }
        }
        out
    }

    fn sum(counts: &BTreeMap<Status, usize>, f: impl Fn(Status) -> bool) -> usize {
        counts.iter().filter(|(s, _)| f(**s)).map(|(_, n)| n).sum()
    }

    pub fn judged_in(counts: &BTreeMap<Status, usize>) -> usize {
        Self::sum(counts, is_judged)
    }

    pub fn bucket_in(counts: &BTreeMap<Status, usize>, b: Bucket) -> usize {
        Self::sum(counts, |s| Bucket::of(s) == b)
    }

    /// On track or done out of those judged (a fraction, 0 to 1).
    pub fn share_in(counts: &BTreeMap<Status, usize>) -> Option<f64> {
        let judged = Self::judged_in(counts);
        (judged > 0).then(|| Self::sum(counts, |s| s.is_good()) as f64 / judged as f64)
    }

    pub fn share(&self) -> Option<f64> {
        Self::share_in(&self.total())
    }
}

/// One lead agency's line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgencyLine {
    pub id: String,
    pub name: String,
    /// The items it leads, in plan order.
    pub items: Vec<String>,
    /// Rows judged on it (one per indicator and measure), not-applicable ones left out.
    pub rows: usize,
    pub reported: usize,
    pub on_track: usize,
    pub at_risk: usize,
    pub lagging: usize,
    pub missing: usize,
    pub refused: usize,
    pub share: Option<f64>,
    pub timeliness: Reported,
}

/// One indicator's line (per measure for composite indicators).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndicatorLine {
    pub item: String,
    pub number: i64,
    pub sub: i64,
    pub measure: String,
    pub section: Option<Section>,
    pub task: String,
    pub target: String,
    pub expected: Option<f64>,
    /// The province's (or district's) figure.
    pub actual: Option<Value>,
    pub percent: bool,
    /// Members on track or done, members judged.
    pub members: Option<(i64, i64)>,
    pub status: Status,
    pub reason: String,
}

/// Everything the report shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuarterReport {
    pub plan_symbol: String,
    pub period: Period,
    pub scope: Scope,
    /// The evaluate run the figures stand at (latest row version).
    pub as_of_run: i64,
    pub current: Figures,
    pub previous: Option<Figures>,
    pub agencies: Vec<AgencyLine>,
    pub indicators: Vec<IndicatorLine>,
    /// Oldest first, the report's quarter last.
    pub trend: Vec<Figures>,
    pub generated_at: DateTime<Utc>,
}

impl QuarterReport {
    pub fn scope_name(&self) -> &str {
        match &self.scope {
            Scope::Province => "Toàn tỉnh",
            Scope::District { name, .. } => name,
        }
    }

    /// The report's file name stem: `bao-cao-2024-Q2` or `bao-cao-2024-Q2-h_long_ho`.
    pub fn file_stem(&self) -> String {
        match &self.scope {
            Scope::Province => format!("bao-cao-{}", self.period),
            Scope::District { id, .. } => format!("bao-cao-{}-{id}", self.period),
        }
    }

    /// Indicators that need action, most severe first.
    pub fn lagging_indicators(&self) -> Vec<&IndicatorLine> {
        let mut out: Vec<&IndicatorLine> = self.indicators.iter().filter(|l| l.status.needs_action()).collect();
        out.sort_by(|a, b| a.status.cmp(&b.status).then_with(|| (a.number, a.sub).cmp(&(b.number, b.sub))));
        out
    }

    /// Agencies with something behind or missing, the furthest behind first.
    pub fn lagging_agencies(&self) -> Vec<&AgencyLine> {
        let mut out: Vec<&AgencyLine> =
            self.agencies.iter().filter(|a| a.lagging + a.missing + a.at_risk > 0).collect();
        out.sort_by(|a, b| (b.lagging + b.missing).cmp(&(a.lagging + a.missing)).then_with(|| a.name.cmp(&b.name)));
        out
    }
}

impl Scope {
    fn covers_member(&self, agency: &RowOwner) -> bool {
        match self {
            Scope::Province => true,
            Scope::District { communes, .. } => agency.agency().is_some_and(|a| communes.contains(a.as_str())),
        }
    }

    /// The row is the district's own (its share of a per-district quota).
    fn is_own(&self, agency: &RowOwner) -> bool {
        match self {
            Scope::Province => false,
            Scope::District { id, .. } => agency.agency() == Some(id),
        }
    }

    /// The district for `id`, with its communes valid at the end of the quarter.
    pub fn district(dir: &Directory, id: &str, period: Period) -> Result<Self, ReportError> {
        let agency = dir
            .get_str(id)
            .filter(|a| a.level == crate::catalog::directory::Level::District)
            .ok_or_else(|| ReportError::NotADistrict(id.to_string()))?;
        let communes = dir.communes_of(&agency.id, period.last_day()).into_iter().map(|c| c.to_string()).collect();
        Ok(Scope::District { id: agency.id.clone(), name: agency.name.clone(), communes })
    }
}

/// The line standing for one indicator and measure: the aggregate row (province) or the
/// district's row (district) where there is one, else the one judged member, else the
/// members summarised (the most severe status, how many on track).
/// What picking an indicator's headline needs of a gap row: the full stored row for the
/// report, or its counting facts alone for the dashboard's overview (`report::overview`).
pub trait HeadlineRow {
    fn kind(&self) -> RowKind;
    fn agency(&self) -> &RowOwner;
    fn status(&self) -> Status;
}

/// Both row types name their facts alike.
macro_rules! headline_row {
    ($($t:ty),*) => {$(
        impl HeadlineRow for $t {
            fn kind(&self) -> RowKind {
                self.kind
            }
            fn agency(&self) -> &RowOwner {
                &self.agency
            }
            fn status(&self) -> Status {
                self.status
            }
        }
    )*};
}
headline_row!(StoredGap, crate::warehouse::GapStatus);

/// The row an indicator's line stands on, and how its members were counted
/// (judged, on track).
pub enum Pick<'a, G> {
    /// The scope's own row: the province's aggregate, or the district's.
    Own { row: &'a G, counted: (i64, i64) },
    /// Nobody covered answers for it: the province still lists it.
    Lone(&'a G),
    /// One member judged (or only one member).
    One(&'a G),
    /// Several members judged, no own row: the worst status stands.
    Worst { first: &'a G, status: Status, counted: (i64, i64) },
}

impl<G: HeadlineRow> Pick<'_, G> {
    pub fn status(&self) -> Status {
        match self {
            Pick::Own { row, .. } | Pick::Lone(row) | Pick::One(row) => row.status(),
            Pick::Worst { status, .. } => *status,
        }
    }
}

/// Picks the headline of one indicator (and measure) from its rows, in the warehouse's order.
pub fn pick<'a, G: HeadlineRow>(scope: &Scope, group: &[&'a G]) -> Option<Pick<'a, G>> {
    let first = *group.first()?;
    let members: Vec<&G> =
        group.iter().copied().filter(|g| g.kind() == RowKind::Member && scope.covers_member(g.agency())).collect();
    let own = match scope {
        Scope::Province => group.iter().copied().find(|g| g.kind() == RowKind::Aggregate),
        Scope::District { .. } => {
            group.iter().copied().find(|g| g.kind() == RowKind::District && scope.is_own(g.agency()))
        }
    };
    let judged: Vec<&G> = members.iter().copied().filter(|g| is_judged(g.status())).collect();
    let counted = (judged.len() as i64, judged.iter().filter(|g| g.status().is_good()).count() as i64);
    if let Some(row) = own {
        return Some(Pick::Own { row, counted });
    }
    match scope {
        Scope::Province if group.iter().any(|g| g.kind() == RowKind::Aggregate) => None,
        _ if members.is_empty() => match scope {
            Scope::Province => Some(Pick::Lone(first)),
            Scope::District { .. } => None,
        },
        _ if members.len() == 1 || judged.len() == 1 => judged.first().or(members.first()).map(|one| Pick::One(*one)),
        _ => {
            let status = judged.iter().map(|g| g.status()).min().unwrap_or(first.status());
            Some(Pick::Worst { first, status, counted })
        }
    }
}

fn headline(scope: &Scope, group: &[&StoredGap]) -> Option<IndicatorLine> {
    let line = |g: &StoredGap, members: Option<(i64, i64)>| IndicatorLine {
        item: g.item.clone(),
        number: g.number,
        sub: g.sub,
        measure: g.measure.clone(),
        section: Some(g.section),
        task: g.task.clone(),
        target: g.target.clone(),
        expected: g.expected,
        actual: g.actual,
        percent: super::gap_table::is_percent(g),
        members,
        status: g.status,
        reason: g.reason.clone(),
    };
    Some(match pick(scope, group)? {
        Pick::Own { row, counted } => {
            let m = match scope {
                Scope::Province => row.members.map(|(judged, good)| (good, judged)),
                Scope::District { .. } => Some((counted.1, counted.0)),
            };
            line(row, m)
        }
        Pick::Lone(row) => line(row, None),
        Pick::One(one) => line(one, Some((i64::from(one.status.is_good()), i64::from(is_judged(one.status))))),
        Pick::Worst { first, status, counted } => {
            let mut l = line(first, Some((counted.1, counted.0)));
            l.status = status;
            l.actual = None;
            l.reason = format!("{} trên {} đơn vị đạt tiến độ", counted.1, counted.0);
            l
        }
    })
}

/// Indicator lines in plan order.
pub fn indicator_lines(scope: &Scope, rows: &[StoredGap]) -> Vec<IndicatorLine> {
    let mut groups: BTreeMap<(i64, i64, &str), Vec<&StoredGap>> = BTreeMap::new();
    for g in rows {
        groups.entry((g.number, g.sub, g.measure.as_str())).or_default().push(g);
    }
    groups.values().filter_map(|group| headline(scope, group)).collect()
}

/// Counts by section and status over the indicator lines.
pub fn figures(period: Period, lines: &[IndicatorLine], timeliness: Option<Timeliness>) -> Figures {
    let mut by_section: BTreeMap<Section, BTreeMap<Status, usize>> = BTreeMap::new();
    for l in lines {
        if let Some(s) = l.section {
            *by_section.entry(s).or_default().entry(l.status).or_default() += 1;
        }
    }
    Figures { period: Some(period), by_section, timeliness }
}

/// When each agency first reported for the quarter (superseded figures included).
pub type FirstReports = HashMap<String, DateTime<Utc>>;

/// How an agency's rows stand, counted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AgencyCounts {
    pub rows: usize,
    pub reported: usize,
    pub by_status: BTreeMap<Status, usize>,
}

/// What an agency's line is judged against beside its rows: its name, when it first
/// reported, the due date and its refused figures.
pub struct AgencyContext<'a> {
    pub dir: &'a Directory,
    pub first_reports: &'a FirstReports,
    pub deadline: DateTime<Utc>,
    pub refused: &'a HashMap<String, usize>,
}

impl AgencyContext<'_> {
    /// One agency's line from its counts.
    pub fn line(&self, id: &str, items: Vec<String>, c: &AgencyCounts) -> AgencyLine {
        let sum = |f: &dyn Fn(Status) -> bool| c.by_status.iter().filter(|(s, _)| f(**s)).map(|(_, n)| n).sum();
        let count = |b: Bucket| sum(&|s| Bucket::of(s) == b);
        let judged: usize = sum(&is_judged);
        let on_track = count(Bucket::Good);
        AgencyLine {
            id: id.to_string(),
            name: self.dir.get_str(id).map_or_else(|| id.to_string(), |a| a.name.clone()),
            items,
            rows: c.rows,
            reported: c.reported,
            on_track,
            at_risk: count(Bucket::AtRisk),
            lagging: count(Bucket::Lagging),
            missing: count(Bucket::Missing),
            refused: self.refused.get(id).copied().unwrap_or(0),
            share: (judged > 0).then(|| on_track as f64 / judged as f64),
            timeliness: match self.first_reports.get(id) {
                Some(at) if *at <= self.deadline => Reported::OnTime,
                Some(_) => Reported::Late,
                None => Reported::None,
            },
        }
    }
}

/// Ranks agency lines: the largest share on track first, then the fewest missing, then by name.
pub fn rank_agencies(lines: &mut [AgencyLine]) {
    lines.sort_by(|a, b| {
        b.share
            .unwrap_or(-1.0)
            .total_cmp(&a.share.unwrap_or(-1.0))
            .then_with(|| a.missing.cmp(&b.missing))
            .then_with(|| a.name.cmp(&b.name))
    });
}

/// The lead agencies' lines, ranked ([`rank_agencies`]).
pub fn agency_lines(
    dir: &Directory,
    scope: &Scope,
    rows: &[StoredGap],
    first_reports: &FirstReports,
    deadline: DateTime<Utc>,
    refused: &HashMap<String, usize>,
) -> Vec<AgencyLine> {
    let mut by_agency: BTreeMap<&str, Vec<&StoredGap>> = BTreeMap::new();
    for g in rows.iter().filter(|g| g.kind == RowKind::Member && g.status != Status::NotApplicable) {
        if scope.covers_member(&g.agency) {
            by_agency.entry(g.agency.as_str()).or_default().push(g);
        }
    }
    let ctx = AgencyContext { dir, first_reports, deadline, refused };
    let mut out: Vec<AgencyLine> = by_agency
        .into_iter()
        .map(|(id, rows)| {
            let mut items: Vec<(i64, i64, &str)> = rows.iter().map(|g| (g.number, g.sub, g.item.as_str())).collect();
            items.dedup();
            let mut counts = AgencyCounts {
                rows: rows.len(),
                reported: rows.iter().filter(|g| g.actual.is_some()).count(),
                ..AgencyCounts::default()
            };
            for g in &rows {
                *counts.by_status.entry(g.status).or_default() += 1;
            }
            ctx.line(id, items.into_iter().map(|(_, _, k)| k.to_string()).collect(), &counts)
        })
        .collect();
    rank_agencies(&mut out);
    out
}

pub fn timeliness_of(agencies: &[AgencyLine]) -> Timeliness {
    let mut t = Timeliness::default();
    for a in agencies {
        match a.timeliness {
            Reported::OnTime => t.on_time += 1,
            Reported::Late => t.late += 1,
            Reported::None => t.none += 1,
        }
    }
    t
}

async fn first_reports(app: &ReportInput<'_>, period: Period) -> Result<FirstReports, WarehouseError> {
    app.wh.first_reports(&app.catalog.plan.id, period).await
}

async fn refused(app: &ReportInput<'_>, period: Period) -> Result<HashMap<String, usize>, WarehouseError> {
    app.wh.rejects_by_agency(period).await
}

/// The agencies' lines and their timeliness for one quarter's rows.
async fn agencies_of(
    app: &ReportInput<'_>,
    scope: &Scope,
    period: Period,
    rows: &[StoredGap],
) -> Result<Vec<AgencyLine>, WarehouseError> {
    let firsts = first_reports(app, period).await?;
    let refused = refused(app, period).await?;
    let deadline = app.calendar.due_deadline(period);
    Ok(agency_lines(app.dir, scope, rows, &firsts, deadline, &refused))
}

/// What a report is built from: the warehouse (read only), the plan, the directory and the
/// reporting calendar (for timeliness).
#[derive(Clone, Copy)]
pub struct ReportInput<'a> {
    pub wh: &'a Warehouse,
    pub catalog: &'a Catalog,
    pub dir: &'a Directory,
    pub calendar: &'a ReportingCalendar,
}

/// The quarters before `period` a trend looks back on, the nearest first.
pub(super) fn earlier_quarters(period: Period) -> impl Iterator<Item = Period> {
    (1..TREND_QUARTERS).scan(period, |p, _| {
        *p = p.prev();
        Some(*p)
    })
}

/// The quarter before's figures, and the trend, the oldest first and `current` last, from
/// the figures of [`earlier_quarters`] in their order (`None` for a quarter not evaluated).
pub(super) fn trend_of(
    period: Period,
    current: &Figures,
    earlier: Vec<Option<Figures>>,
) -> (Option<Figures>, Vec<Figures>) {
    let previous = earlier.iter().flatten().find(|f| f.period == Some(period.prev())).cloned();
    let mut trend: Vec<Figures> = earlier.into_iter().flatten().collect();
    trend.reverse();
    trend.push(current.clone());
    (previous, trend)
}

/// Builds the report of a quarter from the warehouse (reads only).
pub async fn load(app: &ReportInput<'_>, period: Period, scope: Scope) -> Result<QuarterReport, ReportError> {
    let plan = &app.catalog.plan.id;
    let rows = app.wh.gaps(plan, period, None).await?;
    let rows: Vec<StoredGap> = match &scope {
        Scope::Province => rows,
        Scope::District { .. } => {
            rows.into_iter().filter(|g| scope.covers_member(&g.agency) || scope.is_own(&g.agency)).collect()
        }
    };
    if rows.is_empty() {
        return Err(ReportError::NotEvaluated(period.vi(), period));
    }
    let as_of_run = rows.iter().map(|g| g.valid_from_run).max().unwrap_or_default();
    let agencies = agencies_of(app, &scope, period, &rows).await?;
    let indicators = indicator_lines(&scope, &rows);
    let current = figures(period, &indicators, Some(timeliness_of(&agencies)));
    // One quarter at a time: each holds its gap rows (160,000 on a national warehouse).
    let mut earlier = Vec::new();
    for p in earlier_quarters(period) {
        let rows = app.wh.gaps(plan, p, None).await?;
        if rows.is_empty() {
            earlier.push(None);
            continue;
        }
        let lines = indicator_lines(&scope, &rows);
        let timeliness =
            if p == period.prev() { Some(timeliness_of(&agencies_of(app, &scope, p, &rows).await?)) } else { None };
        earlier.push(Some(figures(p, &lines, timeliness)));
    }
    let (previous, trend) = trend_of(period, &current, earlier);
    Ok(QuarterReport {
        plan_symbol: app.catalog.plan.symbol.clone(),
        period,
        scope,
        as_of_run,
        current,
        previous,
        agencies,
        indicators,
        trend,
        generated_at: Utc::now(),
    })
}

/// Formats the workbook uses.
struct Styles {
    title: Format,
    subtitle: Format,
    head: Format,
    bold: Format,
    n: NumberFormats,
}

impl Styles {
    fn new() -> Self {
        let n = NumberFormats::new();
        Self {
            title: Format::new().set_bold().set_font_size(14),
            subtitle: Format::new().set_italic(),
            head: Format::new()
                .set_bold()
                .set_text_wrap()
                .set_align(FormatAlign::Center)
                .set_align(FormatAlign::VerticalCenter)
                .set_border(FormatBorder::Thin)
                .set_background_color("#D9E1F2"),
            bold: n.text.clone().set_bold(),
            n,
        }
    }
}

fn write_opt_share(ws: &mut Worksheet, r: u32, c: u16, share: Option<f64>, st: &Styles) -> Result<(), XlsxError> {
    st.n.write_share(ws, r, c, share)
}

fn write_count(ws: &mut Worksheet, r: u32, c: u16, n: usize, st: &Styles) -> Result<(), XlsxError> {
    st.n.write_count(ws, r, c, n)
}

fn write_headers(ws: &mut Worksheet, row: u32, heads: &[&str], widths: &[f64], st: &Styles) -> Result<(), XlsxError> {
    for (c, (h, w)) in heads.iter().zip(widths).enumerate() {
        ws.write_with_format(row, c as u16, *h, &st.head)?;
        ws.set_column_width(c as u16, *w)?;
    }
    let cells: Vec<(&str, f64)> = heads.iter().copied().zip(widths.iter().copied()).collect();
    ws.set_row_height(row, wrapped_height(&cells))?;
    Ok(())
}

fn title_block(ws: &mut Worksheet, report: &QuarterReport, what: &str, st: &Styles) -> Result<(), XlsxError> {
    ws.write_with_format(
        0,
        0,
        format!(
            "BÁO CÁO KẾT QUẢ THỰC HIỆN KẾ HOẠCH {} — {} — {}",
            report.plan_symbol,
            report.period.vi().to_uppercase(),
            what.to_uppercase()
        ),
        &st.title,
    )?;
    ws.write_with_format(
        1,
        0,
        format!(
            "Phạm vi: {}. Số liệu theo kết quả đánh giá đến lần chạy #{}; lập lúc {}.",
            report.scope_name(),
            report.as_of_run,
            report.generated_at.format("%d/%m/%Y %H:%M UTC")
        ),
        &st.subtitle,
    )?;
    Ok(())
}

fn footer(report: &QuarterReport) -> String {
    format!("Kế hoạch {} — {} — {}", report.plan_symbol, report.period.vi(), report.scope_name())
}

/// Where the summary's tables sit (0-based rows), for the charts.
struct SummaryLayout {
    section_head: u32,
    trend_head: u32,
}

fn summary_sheet(wb: &mut Workbook, report: &QuarterReport, st: &Styles) -> Result<SummaryLayout, XlsxError> {
    let ws = wb.add_worksheet();
    ws.set_name(SUMMARY_SHEET)?;
    title_block(ws, report, "Tổng hợp", st)?;
    // Key figures beside the previous quarter's.
    let prev_label = report.period.prev().vi();
    write_headers(ws, 3, &["Chỉ số", &report.period.vi(), &prev_label, "Thay đổi"], &[44.0, 14.0, 14.0, 12.0], st)?;
    let cur_total = report.current.total();
    let prev_total = report.previous.as_ref().map(Figures::total);
    type Metric = fn(&BTreeMap<Status, usize>) -> usize;
    let metrics: [(&str, Metric); 5] = [
        ("Số chỉ tiêu được đánh giá", Figures::judged_in),
        ("Đúng tiến độ, đã hoàn thành", |c| Figures::bucket_in(c, Bucket::Good)),
        ("Có nguy cơ chậm", |c| Figures::bucket_in(c, Bucket::AtRisk)),
        ("Chậm tiến độ, quá hạn", |c| Figures::bucket_in(c, Bucket::Lagging)),
        ("Chưa báo cáo", |c| Figures::bucket_in(c, Bucket::Missing)),
    ];
    let mut r = 4;
    for (label, f) in metrics {
        ws.write_with_format(r, 0, label, &st.n.text)?;
        let now = f(&cur_total);
        write_count(ws, r, 1, now, st)?;
        match prev_total.as_ref().map(f) {
            Some(before) => {
                write_count(ws, r, 2, before, st)?;
                ws.write_number_with_format(r, 3, now as f64 - before as f64, &st.n.int)?;
            }
            None => {
                ws.write_blank(r, 2, &st.n.text)?;
                ws.write_blank(r, 3, &st.n.text)?;
            }
        }
        r += 1;
    }
    ws.write_with_format(r, 0, "Tỷ lệ chỉ tiêu đúng tiến độ", &st.bold)?;
    let share_now = report.current.share();
    let share_before = report.previous.as_ref().and_then(Figures::share);
    write_opt_share(ws, r, 1, share_now, st)?;
    write_opt_share(ws, r, 2, share_before, st)?;
    write_opt_share(ws, r, 3, share_now.zip(share_before).map(|(a, b)| a - b), st)?;
    r += 1;
    type Count = fn(&Timeliness) -> usize;
    let timeliness: [(&str, Count); 3] = [
        ("Đơn vị báo cáo đúng hạn", |t| t.on_time),
        ("Đơn vị báo cáo muộn", |t| t.late),
        ("Đơn vị chưa báo cáo", |t| t.none),
    ];
    for (label, f) in timeliness {
        ws.write_with_format(r, 0, label, &st.n.text)?;
        let now = report.current.timeliness.as_ref().map(f);
        let before = report.previous.as_ref().and_then(|p| p.timeliness.as_ref()).map(f);
        for (c, v) in [(1, now), (2, before)] {
            match v {
                Some(n) => write_count(ws, r, c, n, st)?,
                None => ws.write_blank(r, c, &st.n.text).map(|_| ())?,
            }
        }
        match now.zip(before) {
            Some((a, b)) => ws.write_number_with_format(r, 3, a as f64 - b as f64, &st.n.int).map(|_| ())?,
            None => ws.write_blank(r, 3, &st.n.text).map(|_| ())?,
        }
        r += 1;
    }

    // Counts by section and status.
    let section_head = r + 1;
    let mut heads: Vec<String> = vec!["Lĩnh vực".into()];
    heads.extend(Status::ALL.iter().map(|s| s.vi().to_string()));
    heads.extend(["Cộng".to_string(), "Tỷ lệ đúng tiến độ".into(), format!("Tỷ lệ {prev_label}")]);
    let mut widths = vec![44.0];
    widths.extend(std::iter::repeat_n(11.0, heads.len() - 1));
    let heads_ref: Vec<&str> = heads.iter().map(String::as_str).collect();
    // Widths of the first columns are the key figures' above: keep the wider.
    for (c, h) in heads_ref.iter().enumerate() {
        ws.write_with_format(section_head, c as u16, *h, &st.head)?;
        if c >= 4 {
            ws.set_column_width(c as u16, widths[c])?;
        }
    }
    ws.set_row_height(section_head, 45)?;
    let mut r = section_head + 1;
    let empty = BTreeMap::new();
    type Counts = BTreeMap<Status, usize>;
    let mut rows: Vec<(String, &Counts, Option<&Counts>)> = Vec::new();
    for s in Section::ALL {
        rows.push((
            format!("{}. {}", s.roman(), s.vi()),
            report.current.by_section.get(&s).unwrap_or(&empty),
            report.previous.as_ref().map(|p| p.by_section.get(&s).unwrap_or(&empty)),
        ));
    }
    rows.push(("Cộng".into(), &cur_total, prev_total.as_ref()));
    for (label, counts, before) in rows {
        let fmt = if label == "Cộng" { &st.bold } else { &st.n.text };
        ws.write_with_format(r, 0, label.as_str(), fmt)?;
        for (i, s) in Status::ALL.iter().enumerate() {
            let n = counts.get(s).copied().unwrap_or(0);
            ws.write_number_with_format(r, 1 + i as u16, n as f64, &status_format(&st.n.int, *s))?;
        }
        let c = 1 + Status::ALL.len() as u16;
        write_count(ws, r, c, counts.values().sum(), st)?;
        write_opt_share(ws, r, c + 1, Figures::share_in(counts), st)?;
        write_opt_share(ws, r, c + 2, before.and_then(Figures::share_in), st)?;
        r += 1;
    }

    // The trend over the stored quarters.
    let trend_head = r + 1;
    for (c, h) in ["Quý", "Được đánh giá", "Đúng tiến độ", "Tỷ lệ đúng tiến độ"].iter().enumerate()
    {
        ws.write_with_format(trend_head, c as u16, *h, &st.head)?;
    }
    ws.set_row_height(trend_head, 30)?;
    for (r, f) in (trend_head + 1..).zip(&report.trend) {
        let total = f.total();
        ws.write_with_format(r, 0, f.period.map(Period::vi).unwrap_or_default(), &st.n.text)?;
        write_count(ws, r, 1, Figures::judged_in(&total), st)?;
        write_count(ws, r, 2, Figures::bucket_in(&total, Bucket::Good), st)?;
        write_opt_share(ws, r, 3, Figures::share_in(&total), st)?;
    }
    print_setup(ws, (3, 3), &footer(report))?;
    // The summary is one page.
    ws.set_print_fit_to_pages(1, 1);
    ws.set_freeze_panes(4, 0)?;
    Ok(SummaryLayout { section_head, trend_head })
}

fn agency_sheet(wb: &mut Workbook, report: &QuarterReport, st: &Styles) -> Result<(), XlsxError> {
    let ws = wb.add_worksheet();
    ws.set_name(AGENCY_SHEET)?;
    title_block(ws, report, "Theo đơn vị chủ trì", st)?;
    let heads = [
        "Hạng",
        "Đơn vị",
        "Nhiệm vụ, chỉ tiêu chủ trì (mục)",
        "Số chỉ tiêu",
        "Đã báo cáo",
        "Đúng tiến độ",
        "Có nguy cơ chậm",
        "Chậm, quá hạn",
        "Chưa báo cáo",
        "Số liệu bị từ chối",
        "Tỷ lệ đúng tiến độ",
        "Báo cáo",
    ];
    let widths = [7.0, 34.0, 40.0, 9.0, 9.0, 9.0, 9.0, 9.0, 9.0, 10.0, 10.0, 13.0];
    write_headers(ws, 3, &heads, &widths, st)?;
    for (i, a) in report.agencies.iter().enumerate() {
        let r = 4 + i as u32;
        let items = a.items.join(", ");
        write_count(ws, r, 0, i + 1, st)?;
        ws.write_with_format(r, 1, a.name.as_str(), &st.n.text)?;
        ws.write_with_format(r, 2, items.as_str(), &st.n.text)?;
        for (c, n) in
            [a.rows, a.reported, a.on_track, a.at_risk, a.lagging, a.missing, a.refused].into_iter().enumerate()
        {
            write_count(ws, r, 3 + c as u16, n, st)?;
        }
        write_opt_share(ws, r, 10, a.share, st)?;
        let fill = match a.timeliness {
            Reported::OnTime => Bucket::Good,
            Reported::Late => Bucket::AtRisk,
            Reported::None => Bucket::Missing,
        };
        ws.write_with_format(r, 11, a.timeliness.vi(), &st.n.text.clone().set_background_color(fill.color()))?;
        // Item numbers and commas are narrower than running text: a fifth more per line.
        ws.set_row_height(r, wrapped_height(&[(a.name.as_str(), widths[1]), (items.as_str(), widths[2] * 1.2)]))?;
    }
    let last = 3 + report.agencies.len() as u32;
    ws.autofilter(3, 0, last, (heads.len() - 1) as u16)?;
    ws.set_freeze_panes(4, 2)?;
    print_setup(ws, (3, 3), &footer(report))?;
    Ok(())
}

fn indicator_sheet(wb: &mut Workbook, report: &QuarterReport, st: &Styles) -> Result<(), XlsxError> {
    let ws = wb.add_worksheet();
    ws.set_name(INDICATOR_SHEET)?;
    title_block(ws, report, "Theo chỉ tiêu", st)?;
    let figure = match report.scope {
        Scope::Province => "Kết quả toàn tỉnh",
        Scope::District { .. } => "Kết quả của huyện",
    };
    let heads = [
        "Mục",
        "Lĩnh vực",
        "Nhiệm vụ / Chỉ tiêu",
        "Chỉ tiêu năm",
        "Cần đạt đến quý",
        figure,
        "Đơn vị đạt",
        "Đơn vị được đánh giá",
        "Trạng thái",
        "Lý do",
    ];
    let widths = [7.0, 14.0, 50.0, 22.0, 11.0, 12.0, 9.0, 10.0, 14.0, 40.0];
    write_headers(ws, 3, &heads, &widths, st)?;
    for (i, l) in report.indicators.iter().enumerate() {
        let r = 4 + i as u32;
        let item = if l.measure.is_empty() { l.item.clone() } else { format!("{} ({})", l.item, l.measure) };
        let section = l.section.map(|s| format!("{}. {}", s.roman(), s.vi())).unwrap_or_default();
        ws.write_with_format(r, 0, item.as_str(), &st.n.text)?;
        ws.write_with_format(r, 1, section.as_str(), &st.n.text)?;
        ws.write_with_format(r, 2, l.task.as_str(), &st.n.text)?;
        ws.write_with_format(r, 3, l.target.as_str(), &st.n.text)?;
        st.n.write_figure(ws, r, 4, l.expected, l.percent)?;
        st.n.write_value(ws, r, 5, l.actual)?;
        match l.members {
            Some((good, judged)) => {
                ws.write_number_with_format(r, 6, good as f64, &st.n.int)?;
                ws.write_number_with_format(r, 7, judged as f64, &st.n.int)?;
            }
            None => {
                ws.write_blank(r, 6, &st.n.text)?;
                ws.write_blank(r, 7, &st.n.text)?;
            }
        }
        ws.write_with_format(r, 8, l.status.vi(), &status_format(&st.n.text, l.status))?;
        ws.write_with_format(r, 9, l.reason.as_str(), &st.n.text)?;
        ws.set_row_height(
            r,
            wrapped_height(&[
                (l.task.as_str(), widths[2]),
                (l.target.as_str(), widths[3]),
                (l.reason.as_str(), widths[9]),
                (section.as_str(), widths[1]),
            ]),
        )?;
    }
    let last = 3 + report.indicators.len() as u32;
    ws.autofilter(3, 0, last, (heads.len() - 1) as u16)?;
    ws.set_freeze_panes(4, 3)?;
    print_setup(ws, (3, 3), &footer(report))?;
    Ok(())
}

fn solid(fill: &str, line: &str) -> ChartFormat {
    let mut f = ChartFormat::new();
    f.set_solid_fill(ChartSolidFill::new().set_color(fill)).set_border(ChartLine::new().set_color(line));
    f
}

fn charts(wb: &mut Workbook, report: &QuarterReport, layout: &SummaryLayout) -> Result<(), XlsxError> {
    // Status by section, stacked.
    let mut by_section = Chart::new(ChartType::BarStacked);
    by_section.title().set_name(&format!("Trạng thái chỉ tiêu theo lĩnh vực — {}", report.period.vi()));
    let (first, last) = (layout.section_head + 1, layout.section_head + Section::ALL.len() as u32);
    for (i, s) in Status::ALL.iter().enumerate() {
        let c = 1 + i as u16;
        by_section
            .add_series()
            .set_name((SUMMARY_SHEET, layout.section_head, c))
            .set_categories((SUMMARY_SHEET, first, 0, last, 0))
            .set_values((SUMMARY_SHEET, first, c, last, c))
            .set_format(&mut solid(Bucket::of(*s).color(), "#7F7F7F"));
    }
    by_section.y_axis().set_reverse();
    by_section.legend().set_position(ChartLegendPosition::Bottom);
    by_section.set_width(900).set_height(320);

    // Agencies ranked by share on track (the agency sheet is sorted so); of many, the
    // furthest behind (the sheet's last rows).
    let total = report.agencies.len().max(1) as u32;
    let n = total.min(RANKED_IN_CHART);
    let first = 4 + total - n;
    let mut ranked = Chart::new(ChartType::Bar);
    ranked.title().set_name(&if n < total {
        format!("Tỷ lệ chỉ tiêu đúng tiến độ — {n} đơn vị chủ trì có tỷ lệ thấp nhất")
    } else {
        "Tỷ lệ chỉ tiêu đúng tiến độ theo đơn vị chủ trì".to_string()
    });
    ranked
        .add_series()
        .set_name("Tỷ lệ đúng tiến độ")
        .set_categories((AGENCY_SHEET, first, 1, first + n - 1, 1))
        .set_values((AGENCY_SHEET, first, 10, first + n - 1, 10))
        .set_format(&mut solid(Bucket::Good.color(), "#548235"));
    ranked.x_axis().set_num_format("0%").set_max(1.0);
    ranked.y_axis().set_reverse();
    ranked.legend().set_hidden();
    ranked.set_width(900).set_height((120 + 18 * n).min(1400));

    // The trend over the stored quarters.
    let quarters = report.trend.len().max(1) as u32;
    let mut trend = Chart::new(ChartType::Line);
    trend.title().set_name("Tỷ lệ chỉ tiêu đúng tiến độ qua các quý");
    trend
        .add_series()
        .set_name("Tỷ lệ đúng tiến độ")
        .set_categories((SUMMARY_SHEET, layout.trend_head + 1, 0, layout.trend_head + quarters, 0))
        .set_values((SUMMARY_SHEET, layout.trend_head + 1, 3, layout.trend_head + quarters, 3))
        .set_marker(rust_xlsxwriter::ChartMarker::new().set_type(rust_xlsxwriter::ChartMarkerType::Circle));
    trend.y_axis().set_num_format("0%").set_min(0.0).set_max(1.0);
    trend.legend().set_hidden();
    trend.set_width(900).set_height(300);

    let summary = wb.worksheet_from_name(SUMMARY_SHEET)?;
    summary.insert_chart(layout.trend_head + quarters + 2, 0, &by_section)?;
    let ws = wb.add_worksheet();
    ws.set_name(CHART_SHEET)?;
    ws.insert_chart(1, 1, &trend)?;
    ws.insert_chart(18, 1, &ranked)?;
    print_setup(ws, (0, 0), &format!("Kế hoạch {} — {}", report.plan_symbol, report.period.vi()))?;
    Ok(())
}

/// Writes the report's workbook.
pub fn write_xlsx(report: &QuarterReport) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let st = Styles::new();
    let layout = summary_sheet(&mut wb, report, &st)?;
    agency_sheet(&mut wb, report, &st)?;
    indicator_sheet(&mut wb, report, &st)?;
    charts(&mut wb, report, &layout)?;
    wb.worksheet_from_index(0)?.set_active(true);
    wb.save_to_buffer()
}
