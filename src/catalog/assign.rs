//! Who answers for each indicator in a given year: the lead agencies (a group lead expands
//! to its members as they stood on the date), narrowed to the units the year's target
//! names when it names them (items 29, 41–43, 45 …), and the co-agencies. Computed once
//! per period and shared by templates, ingestion and evaluation.
//!
//! Owns: `Assignments` and `Part` (lead or co-agency), and the rules `leads` and
//! `co_agencies`. Receives: `plan::Catalog` and its `Indicator`s, the `Directory`, a year
//! and a date (the period's cut-off, from `app::Context::assignments`). Hands on:
//! `Assignments` to `ingest`, `evaluate`, `remind::compose`, `report::template` and
//! `cli::inspect`.

use std::collections::{BTreeSet, HashMap};

use chrono::NaiveDate;

use super::Directory;
use super::plan::{Catalog, Indicator};
use crate::domain::AgencyId;
use crate::domain::target::TargetSpec;

/// An agency's part in an indicator for one year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Part {
    /// Answers for the result: a lead, a member of a lead group, or a unit the target names.
    Lead,
    /// Co-operates; not judged.
    Co,
}

/// The agencies that answer for `ind` in `year`, as of `date`.
pub fn leads(ind: &Indicator, year: i32, dir: &Directory, date: NaiveDate) -> BTreeSet<AgencyId> {
    let mut out = BTreeSet::new();
    let target = ind.target(year).map(|t| &t.spec);
    if matches!(target, None | Some(TargetSpec::None)) {
        return out;
    }
    // A target that names its units: only those units answer that year.
    if let Some(TargetSpec::Units(u)) = target
        && !u.named.is_empty()
    {
        for n in &u.named {
            if let Some(a) = &n.agency {
                out.extend(dir.current(a, date));
            }
        }
        return out;
    }
    for id in &ind.lead {
        let members = dir.members_at(id, date);
        if members.is_empty() {
            // A group with no listed members reports through its contact agency.
            if let Some(via) = dir.get(id).and_then(|a| a.contact_via.as_ref()) {
                out.extend(dir.current(via, date));
            }
        }
        out.extend(members);
    }
    out
}

/// The co-agencies of `ind`, expanded, without the leads.
pub fn co_agencies(
    ind: &Indicator,
    leads: &BTreeSet<AgencyId>,
    dir: &Directory,
    date: NaiveDate,
) -> BTreeSet<AgencyId> {
    let mut out = BTreeSet::new();
    for id in &ind.co {
        out.extend(dir.members_at(id, date));
    }
    out.retain(|a| !leads.contains(a));
    out
}

/// Leads and co-agencies of every indicator for one year, with an index by agency.
#[derive(Debug, Clone)]
pub struct Assignments {
    pub year: i32,
    pub date: NaiveDate,
    per_indicator: Vec<(BTreeSet<AgencyId>, BTreeSet<AgencyId>)>,
    by_agency: HashMap<AgencyId, Vec<(usize, Part)>>,
}

impl Assignments {
    /// `date` is the date group memberships are read at (a period's cut-off).
    pub fn new(catalog: &Catalog, dir: &Directory, year: i32, date: NaiveDate) -> Self {
        let mut per_indicator = Vec::with_capacity(catalog.indicators.len());
        let mut by_agency: HashMap<AgencyId, Vec<(usize, Part)>> = HashMap::new();
        for (i, ind) in catalog.indicators.iter().enumerate() {
            let lead = leads(ind, year, dir, date);
            let co = co_agencies(ind, &lead, dir, date);
            for a in &lead {
                by_agency.entry(a.clone()).or_default().push((i, Part::Lead));
            }
            for a in &co {
                by_agency.entry(a.clone()).or_default().push((i, Part::Co));
            }
            per_indicator.push((lead, co));
        }
        Self { year, date, per_indicator, by_agency }
    }

    /// Leads of the indicator at `index` in the catalogue.
    pub fn leads(&self, index: usize) -> &BTreeSet<AgencyId> {
        &self.per_indicator[index].0
    }

    pub fn co(&self, index: usize) -> &BTreeSet<AgencyId> {
        &self.per_indicator[index].1
    }

    /// `(indicator index, part)` of everything an agency takes part in, in catalogue order.
    pub fn parts_of(&self, agency: &AgencyId) -> &[(usize, Part)] {
        self.by_agency.get(agency).map_or(&[], Vec::as_slice)
    }

    pub fn part(&self, index: usize, agency: &AgencyId) -> Option<Part> {
        let (lead, co) = &self.per_indicator[index];
        if lead.contains(agency) {
            Some(Part::Lead)
        } else if co.contains(agency) {
            Some(Part::Co)
        } else {
            None
        }
    }
}
