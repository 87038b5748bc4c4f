//! The whole shipped plan evaluated on a synthetic quarter: the status counts per section
//! are pinned (a change to the rules shows up here), and every lead agency of every
//! indicator with a target has its row.

mod common;

use std::collections::BTreeMap;

use chiso::catalog::assign::Assignments;
use chiso::domain::{MeasureKind, Period, Progress, ReportingCalendar, Value};
use chiso::evaluate::{EvalInput, EvalSettings, Observations, Observed, RowKind, Status, evaluate};
use chrono::{TimeZone, Utc};

/// A deterministic pseudo-random number in 0..n for a seed.
fn pick(seed: u64, n: u64) -> u64 {
    (seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407) >> 33) % n
}

#[test]
fn the_whole_plan_on_a_synthetic_quarter() {
    let (dir, catalog) = common::catalog();
    let period: Period = "2024-Q3".parse().unwrap();
    let cal = ReportingCalendar::default();
    let assignments = Assignments::new(&catalog, &dir, 2024, cal.cutoff(period));
    // One agency in seven stays silent; the others report values around the target.
    let mut current = Observations::default();
    let mut id = 0;
    for (i, ind) in catalog.indicators.iter().enumerate() {
        for agency in assignments.leads(i) {
            let a = dir.index_of(agency).unwrap();
            for (m, measure) in ind.measures.iter().enumerate() {
                id += 1;
                let seed = (i as u64) << 20 | (a as u64) << 4 | m as u64;
                if pick(seed, 7) == 0 {
                    continue;
                }
                let value = match &measure.kind {
                    MeasureKind::Percent => Value::Percent(40.0 + pick(seed + 1, 61) as f64),
                    MeasureKind::Count { .. } => Value::Count(pick(seed + 2, 1200) as f64),
                    MeasureKind::Status => Value::Status(
                        [Progress::Done, Progress::InProgress, Progress::NotDone, Progress::Ongoing]
                            [pick(seed + 3, 4) as usize],
                    ),
                };
                current.insert(i, m, a, Observed { value, id });
            }
        }
    }
    let previous = Observations::default();
    let input = EvalInput {
        catalog: &catalog,
        dir: &dir,
        assignments: &assignments,
        calendar: &cal,
        settings: EvalSettings::default(),
        period,
        now: Utc.with_ymd_and_hms(2024, 10, 1, 0, 0, 0).unwrap(),
        current: &current,
        previous_year_end: &previous,
    };
    let rows = evaluate(&input);

    // Every lead agency of every indicator with a target that year has a member row.
    for (i, ind) in catalog.indicators.iter().enumerate() {
        for agency in assignments.leads(i) {
            for measure in &ind.measures {
                assert!(
                    rows.iter().any(|r| r.item == ind.key
                        && r.measure == measure.key
                        && r.agency == agency.as_str()
                        && r.kind == RowKind::Member),
                    "item {} has no row for {agency}",
                    ind.key
                );
            }
        }
    }
    // Rows point at the observation they were judged on.
    for r in rows.iter().filter(|r| r.kind == RowKind::Member && r.actual.is_some()) {
        assert!(r.observation_id.is_some(), "{r:?}");
    }
    // Every indicator appears.
    for ind in &catalog.indicators {
        assert!(rows.iter().any(|r| r.item == ind.key), "item {} has no row", ind.key);
    }

    let mut counts: BTreeMap<String, BTreeMap<&str, usize>> = BTreeMap::new();
    for r in &rows {
        let section = catalog.indicator(r.item).unwrap().section;
        *counts
            .entry(format!("{}. {}", section.roman(), section.vi()))
            .or_default()
            .entry(r.status.as_str())
            .or_default() += 1;
    }
    let by_status: BTreeMap<&str, usize> =
        Status::ALL.iter().map(|s| (s.as_str(), rows.iter().filter(|r| r.status == *s).count())).collect();
    insta::assert_yaml_snapshot!("whole_plan_2024_q3", (rows.len(), by_status, counts));
}
