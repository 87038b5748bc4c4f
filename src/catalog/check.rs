//! `chiso plan check`: what the catalogue holds and what still needs a person.
//!
//! Owns: `CheckReport` (`FlaggedItem`, `UnresolvedName`) and its text. Receives: the built
//! `plan::Catalog` and its `Flag`s, the `Directory`. Hands on: the report to `cli::plan`
//! and `cli` for `chiso plan check`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::directory::Directory;
use super::plan::{Catalog, Flag, FlagCode};
use crate::domain::TargetSpec;

fn unanswered_is_empty(catalog: &Catalog, dir: &Directory) -> bool {
    catalog.plan.years.iter().all(|year| {
        let date = chrono::NaiveDate::from_ymd_opt(*year, 6, 14).unwrap_or(catalog.plan.issued_on);
        let a = super::assign::Assignments::new(catalog, dir, *year, date);
        catalog.indicators.iter().enumerate().all(|(i, ind)| {
            ind.target(*year).is_none_or(|t| matches!(t.spec, TargetSpec::None)) || !a.leads(i).is_empty()
        })
    })
}

/// An item with flags, and whether an operator settled it.
#[derive(Debug, Clone, Serialize)]
pub struct FlaggedItem {
    pub item: String,
    pub flags: Vec<Flag>,
    /// The override's reason, when settled.
    pub settled: Option<String>,
}

/// A name that matched no agency.
#[derive(Debug, Clone, Serialize)]
pub struct UnresolvedName {
    pub item: String,
    pub message: String,
}

/// The report.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub plan_id: String,
    pub title: String,
    /// Numbered items of the appendix.
    pub items: usize,
    /// Items plus sub-indicators.
    pub indicators: usize,
    pub sub_indicators: usize,
    /// Target kinds per year, after overrides.
    pub target_kinds: BTreeMap<i32, BTreeMap<String, usize>>,
    pub measures: BTreeMap<String, usize>,
    pub trajectories: BTreeMap<String, usize>,
    pub flagged: Vec<FlaggedItem>,
    pub unresolved_agencies: Vec<UnresolvedName>,
    /// Targets not understood and not settled by an override.
    pub unrecognized_targets: Vec<UnresolvedName>,
    /// Items without flags that an override changed anyway, with its reason.
    pub overridden: Vec<UnresolvedName>,
    /// Indicators whose lead agencies expand to nobody reachable (a group without members
    /// or contact agency), per year.
    pub unanswered: Vec<UnresolvedName>,
    /// Alias keys shared by agencies that exist at the same time.
    pub ambiguous_aliases: Vec<String>,
    pub agencies: usize,
    /// True when nothing needs a person: no unresolved names, no unsettled unrecognized
    /// targets.
    pub ok: bool,
}

impl CheckReport {
    pub fn build(catalog: &Catalog, dir: &Directory) -> Self {
        let mut target_kinds: BTreeMap<i32, BTreeMap<String, usize>> = BTreeMap::new();
        let mut measures = BTreeMap::new();
        let mut trajectories = BTreeMap::new();
        let mut flagged = Vec::new();
        let mut unresolved_agencies = Vec::new();
        let mut unrecognized_targets = Vec::new();
        for ind in &catalog.indicators {
            for (year, t) in &ind.targets {
                *target_kinds.entry(*year).or_default().entry(t.spec.kind().to_string()).or_default() += 1;
                if let TargetSpec::Unrecognized { reason } = &t.spec {
                    unrecognized_targets.push(UnresolvedName {
                        item: ind.key.to_string(),
                        message: format!("{year}: “{}” ({reason})", t.raw),
                    });
                }
            }
            let measure = if ind.is_composite() {
                "composite".to_string()
            } else {
                serde_json::to_value(ind.main_measure())
                    .ok()
                    .and_then(|v| v.get("kind").and_then(|k| k.as_str().map(str::to_string)))
                    .unwrap_or_default()
            };
            *measures.entry(measure).or_default() += 1;
            *trajectories
                .entry(
                    serde_json::to_value(ind.trajectory)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                )
                .or_default() += 1;
            for f in &ind.flags {
                if matches!(f.code, FlagCode::UnresolvedAgency | FlagCode::UnresolvedUnit) {
                    unresolved_agencies.push(UnresolvedName { item: ind.key.to_string(), message: f.message.clone() });
                }
            }
            if !ind.flags.is_empty() {
                flagged.push(FlaggedItem {
                    item: ind.key.to_string(),
                    flags: ind.flags.clone(),
                    settled: ind.settled.clone(),
                });
            }
        }
        let overridden = catalog
            .indicators
            .iter()
            .filter(|i| i.flags.is_empty())
            .filter_map(|i| i.settled.as_ref().map(|r| UnresolvedName { item: i.key.to_string(), message: r.clone() }))
            .collect();
        let mut unanswered = Vec::new();
        for year in &catalog.plan.years {
            let date = chrono::NaiveDate::from_ymd_opt(*year, 6, 14).unwrap_or(catalog.plan.issued_on);
            let assignments = super::assign::Assignments::new(catalog, dir, *year, date);
            for (i, ind) in catalog.indicators.iter().enumerate() {
                let has_target = ind.target(*year).is_some_and(|t| !matches!(t.spec, TargetSpec::None));
                if has_target && assignments.leads(i).is_empty() {
                    let leads: Vec<&str> = ind.lead.iter().map(|l| l.as_str()).collect();
                    unanswered.push(UnresolvedName {
                        item: ind.key.to_string(),
                        message: format!("{year}: không ai chủ trì ({})", leads.join(", ")),
                    });
                }
            }
        }
        let ambiguous_aliases = dir
            .ambiguous_aliases()
            .into_iter()
            .map(|(k, ids)| format!("{k}: {}", ids.iter().map(|i| i.as_str()).collect::<Vec<_>>().join(", ")))
            .collect();
        let ok = unresolved_agencies.is_empty() && unrecognized_targets.is_empty();
        let ok = ok && unanswered_is_empty(catalog, dir);
        CheckReport {
            plan_id: catalog.plan.id.clone(),
            title: catalog.plan.title.clone(),
            items: catalog.indicators.iter().filter(|i| !i.key.is_sub()).count(),
            indicators: catalog.indicators.len(),
            sub_indicators: catalog.indicators.iter().filter(|i| i.key.is_sub()).count(),
            target_kinds,
            measures,
            trajectories,
            flagged,
            unresolved_agencies,
            unrecognized_targets,
            overridden,
            unanswered,
            ambiguous_aliases,
            agencies: dir.len(),
            ok,
        }
    }

    /// The report for a terminal.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!("{} ({})\n", self.title, self.plan_id));
        out.push_str(&format!(
            "  {} items, {} indicators ({} sub-indicator{}), {} agencies and groups in the directory\n\n",
            self.items,
            self.indicators,
            self.sub_indicators,
            if self.sub_indicators == 1 { "" } else { "s" },
            self.agencies
        ));
        let years: Vec<i32> = self.target_kinds.keys().copied().collect();
        let mut kinds: Vec<&String> = self.target_kinds.values().flat_map(|m| m.keys()).collect();
        kinds.sort();
        kinds.dedup();
        let mut table = comfy_table::Table::new();
        table.load_style(comfy_table::presets::UTF8_FULL_CONDENSED);
        let mut header = vec!["Target kinds".to_string()];
        header.extend(years.iter().map(|y| y.to_string()));
        table.set_header(header);
        for kind in kinds {
            let mut row = vec![kind.clone()];
            row.extend(years.iter().map(|y| self.target_kinds[y].get(kind).copied().unwrap_or(0).to_string()));
            table.add_row(row);
        }
        out.push_str(&table.to_string());
        out.push_str("\n\n");
        out.push_str(&format!(
            "  Measures: {}\n  Trajectories: {}\n\n",
            self.measures.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", "),
            self.trajectories.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ")
        ));
        let settled = self.flagged.iter().filter(|f| f.settled.is_some()).count();
        out.push_str(&format!("Flagged items: {} ({} settled by overrides)\n", self.flagged.len(), settled));
        for f in &self.flagged {
            for flag in &f.flags {
                out.push_str(&format!(
                    "  {:<6} {:<24} {}\n",
                    f.item,
                    serde_json::to_value(flag.code)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                    flag.message
                ));
            }
            match &f.settled {
                Some(reason) => out.push_str(&format!("  {:<6} {:<24} {}\n", "", "settled", reason)),
                None => out.push_str(&format!(
                    "  {:<6} {:<24} {}\n",
                    "", "NOT SETTLED", "add an [[override]] to the overrides file"
                )),
            }
        }
        let list = |title: &str, items: &[UnresolvedName]| {
            if items.is_empty() {
                format!("\n{title}: none\n")
            } else {
                let mut s = format!("\n{title}: {}\n", items.len());
                for i in items {
                    s.push_str(&format!("  {:<6} {}\n", i.item, i.message));
                }
                s
            }
        };
        if !self.overridden.is_empty() {
            out.push_str(&format!("\nOther items changed by overrides: {}\n", self.overridden.len()));
            for o in &self.overridden {
                out.push_str(&format!("  {:<6} {}\n", o.item, o.message));
            }
        }
        out.push_str(&list("Unresolved agency names", &self.unresolved_agencies));
        out.push_str(&list("Unrecognized targets without an override", &self.unrecognized_targets));
        out.push_str(&list(
            "Indicators nobody in the directory answers for (add members or contact_via)",
            &self.unanswered,
        ));
        if !self.ambiguous_aliases.is_empty() {
            out.push_str(&format!(
                "\nAmbiguous aliases (same spelling, same time): {}\n",
                self.ambiguous_aliases.len()
            ));
            for a in &self.ambiguous_aliases {
                out.push_str(&format!("  {a}\n"));
            }
        }
        out.push_str(if self.ok {
            "\nOK: every target is classified or settled, every agency resolved.\n"
        } else {
            "\nNOT OK: see above.\n"
        });
        out
    }
}
