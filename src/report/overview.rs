//! The dashboard's overview of a quarter: the report's summary figures (status by section,
//! agencies' completeness and timeliness, the trend over quarters), counted by the
//! warehouse with `GROUP BY` instead of read from every gap row.
//!
//! Receives the same [`ReportInput`] as the report; hands an [`Overview`] to
//! `serve::dashboard`. The headline of each indicator is picked by the report's own rule
//! ([`quarterly::pick`]): the aggregate row's status where there is one (counted in SQL),
//! otherwise picked from the few rows of the indicators without one. A national quarter
//! (160,000 gap rows) is counted in a few queries instead of read and decoded whole.
//!
//! Owns: `Overview` and its `load`. Receives, besides the `ReportInput`: the warehouse's
//! counts (`warehouse::GapStatus`, member tallies, first reports) and `report::quarterly`'s
//! line types and ranking. Hands on: the `Overview` to `serve::dashboard` only.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::quarterly::{
    self, AgencyContext, AgencyCounts, AgencyLine, Figures, ReportError, ReportInput, Scope, rank_agencies,
    timeliness_of,
};
use crate::domain::{AgencyId, Period, Section};
use crate::evaluate::Status;
use crate::warehouse::{GapStatus, WarehouseError};

/// What the overview page shows of a quarter, for the whole province.
#[derive(Debug, Clone, PartialEq)]
pub struct Overview {
    pub period: Period,
    /// The latest run the figures come from.
    pub as_of_run: i64,
    /// Indicator lines (one per indicator and measure), as the report's indicator sheet.
    pub indicators: usize,
    pub current: Figures,
    pub previous: Option<Figures>,
    /// Up to [`quarterly::TREND_QUARTERS`] evaluated quarters, the oldest first, this one last.
    pub trend: Vec<Figures>,
    /// The lead agencies' lines, ranked as in the report. Their `items` are left empty:
    /// the overview does not list them.
    pub agencies: Vec<AgencyLine>,
    pub generated_at: DateTime<Utc>,
}

/// Counts a quarter's overview from the warehouse (reads only). The quarters of the trend,
/// and the queries of each, run at the same time on the pool's connections.
pub async fn load(app: &ReportInput<'_>, period: Period) -> Result<Overview, ReportError> {
    let plan = &app.catalog.plan.id;
    let ((as_of_run, agencies, (indicators, by_section)), earlier) = tokio::try_join!(
        async { tokio::try_join!(app.wh.gaps_as_of(plan, period), agencies_of(app, period), headlines(app, period)) },
        futures::future::try_join_all(quarterly::earlier_quarters(period).map(|p| quarter_figures(
            app,
            p,
            p == period.prev()
        ))),
    )?;
    let as_of_run = as_of_run.ok_or_else(|| ReportError::NotEvaluated(period.vi(), period))?;
    let current = Figures { period: Some(period), by_section, timeliness: Some(timeliness_of(&agencies)) };
    let (previous, trend) = quarterly::trend_of(period, &current, earlier);
    Ok(Overview { period, as_of_run, indicators, current, previous, trend, agencies, generated_at: Utc::now() })
}

/// An earlier quarter's figures for the trend, `None` if it was not evaluated; with the
/// agencies' timeliness where the overview compares it (the quarter before).
async fn quarter_figures(
    app: &ReportInput<'_>,
    p: Period,
    with_timeliness: bool,
) -> Result<Option<Figures>, WarehouseError> {
    if app.wh.gaps_as_of(&app.catalog.plan.id, p).await?.is_none() {
        return Ok(None);
    }
    let timeliness =
        async { if with_timeliness { agencies_of(app, p).await.map(|a| Some(timeliness_of(&a))) } else { Ok(None) } };
    let ((_, by_section), timeliness) = tokio::try_join!(headlines(app, p), timeliness)?;
    Ok(Some(Figures { period: Some(p), by_section, timeliness }))
}

/// Section × status counts of the quarter's indicator lines, and how many lines there are.
async fn headlines(
    app: &ReportInput<'_>,
    period: Period,
) -> Result<(usize, BTreeMap<Section, BTreeMap<Status, usize>>), WarehouseError> {
    let plan = &app.catalog.plan.id;
    let (aggregates, rows) =
        tokio::try_join!(app.wh.aggregate_status_counts(plan, period), app.wh.unaggregated_gap_statuses(plan, period))?;
    let mut lines = 0;
    let mut by_section: BTreeMap<Section, BTreeMap<Status, usize>> = BTreeMap::new();
    for (section, status, n) in aggregates {
        lines += n;
        if let Some(s) = Section::parse(&section) {
            *by_section.entry(s).or_default().entry(status).or_default() += n;
        }
    }
    let mut groups: BTreeMap<(i64, i64, &str), Vec<&GapStatus>> = BTreeMap::new();
    for g in &rows {
        groups.entry((g.number, g.sub, g.measure.as_str())).or_default().push(g);
    }
    for group in groups.values() {
        if let Some(pick) = quarterly::pick(&Scope::Province, group) {
            lines += 1;
            if let Some(s) = group.first().map(|g| g.section) {
                *by_section.entry(s).or_default().entry(pick.status()).or_default() += 1;
            }
        }
    }
    Ok((lines, by_section))
}

/// The lead agencies' lines of the quarter, counted by the warehouse.
async fn agencies_of(app: &ReportInput<'_>, period: Period) -> Result<Vec<AgencyLine>, WarehouseError> {
    let plan = &app.catalog.plan.id;
    let (first_reports, refused, tallies) = tokio::try_join!(
        app.wh.first_reports(plan, period),
        app.wh.rejects_by_agency(period),
        app.wh.member_tallies(plan, period)
    )?;
    let ctx = AgencyContext {
        dir: app.dir,
        first_reports: &first_reports,
        deadline: app.calendar.due_deadline(period),
        refused: &refused,
    };
    let mut counts: BTreeMap<AgencyId, AgencyCounts> = BTreeMap::new();
    for t in tallies {
        let c = counts.entry(t.agency).or_default();
        c.rows += t.rows;
        c.reported += t.reported;
        *c.by_status.entry(t.status).or_default() += t.rows;
    }
    let mut out: Vec<AgencyLine> = counts.iter().map(|(id, c)| ctx.line(id.as_str(), Vec::new(), c)).collect();
    rank_agencies(&mut out);
    Ok(out)
}
