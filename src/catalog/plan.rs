//! The plan catalogue: `config/plans/<id>.toml`, generated from the plan text by
//! `chiso plan import`, settled by an operator's overrides file, and resolved into
//! [`Indicator`]s that every later stage uses.
//!
//! The generated file keeps everything the text said (raw targets, raw agency cells, the
//! source line) beside what chiso understood of it, and flags what it could not settle
//! on its own. The overrides file (`<id>.overrides.toml`) is where an operator settles a
//! flagged item; every override carries its reason.
//!
//! Owns: `PlanFile`, `OverridesFile`, `Catalog` and `Indicator` (with its `Measure`s,
//! `Trajectory`, `Aggregate`, `SharedTarget`), the flags (`Flag`, `FlagCode`) and
//! `import_text`. Receives: rows from `catalog::appendix`, the plan and overrides files
//! (loaded by `app`), the `Directory` for agency cells, `domain::target::TargetSpec` for
//! targets. Hands on: `Catalog` to `app::Context` and from there to `ingest`, `evaluate`,
//! `report`, `remind`, `warehouse::catalog` and `catalog::check`; a `PlanFile` to
//! `cli::plan` for `chiso plan import`.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::appendix::{Appendix, parse_appendix};
use super::directory::Directory;
use crate::domain::target::{CommaSplitter, TargetSpec};
use crate::domain::value::MeasureKind;
use crate::domain::{AgencyId, ItemKey, Section, Target};
use crate::text::{ascii_fold, clean};

/// What a flag is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagCode {
    /// No year has a target.
    NoTargets,
    /// Only the first year has a number: a merged cell meant for every year?
    OneValueForAllYears,
    /// Some years have no target.
    PartialTargets,
    /// A target text that was not understood.
    UnrecognizedTarget,
    /// An agency name that matched nothing in the directory.
    UnresolvedAgency,
    /// A unit named inside a target that matched nothing in the directory.
    UnresolvedUnit,
    /// The years' targets ask for different measures (a percent one year, a count the next).
    MixedMeasures,
    /// A `trong đó` row under an item.
    SubIndicator,
}

/// Something about an item an operator should look at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flag {
    pub code: FlagCode,
    /// What is wrong, in Vietnamese.
    pub message: String,
}

/// Plan metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanMeta {
    /// Stable id (`kh-742-2023`).
    pub id: String,
    /// The document's symbol (`742/KH-UBND`).
    pub symbol: String,
    /// Issue date.
    pub issued_on: NaiveDate,
    pub title: String,
    pub years: Vec<i32>,
    /// The text it was imported from, and its sha256.
    pub source: String,
    pub source_sha256: String,
}

/// One item (or sub-indicator) as the plan text gives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanItem {
    pub key: ItemKey,
    pub section: Section,
    /// Line of the row in the source text.
    pub line: usize,
    pub task: String,
    #[serde(default)]
    pub legal_basis: String,
    pub lead_raw: String,
    pub lead: Vec<AgencyId>,
    #[serde(default)]
    pub co_raw: String,
    #[serde(default)]
    pub co: Vec<AgencyId>,
    /// Targets by year (`"2023"`), raw text and parsed meaning.
    pub targets: BTreeMap<String, Target>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<Flag>,
}

/// The generated plan file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanFile {
    pub plan: PlanMeta,
    #[serde(rename = "item")]
    pub items: Vec<PlanItem>,
}

/// How the expected value moves through the year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trajectory {
    /// From the baseline (last year's actual, else last year's target, else 0) to this
    /// year's target at Q4, in equal steps.
    Linear,
    /// Judged at Q4 only (milestones, statuses).
    YearEnd,
    /// Counts that restart each year: a quarter of the target per quarter.
    Cumulative,
}

/// How member values make the provincial value of a group-led indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregate {
    Mean,
    Sum,
    /// The share (percent) of members that meet the target.
    ShareMeeting,
}

/// How the lead agencies of an item share its one target (`shared` in the overrides file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SharedTarget {
    /// The leads reach the target together: each is judged on their combined figure.
    Joint,
    /// Each lead must reach the whole target on its own figure.
    Each,
}

impl SharedTarget {
    /// The value of item `key`'s `shared`, or why it is refused (in Vietnamese).
    pub fn read(key: ItemKey, value: &str) -> Result<Self, String> {
        match value.trim() {
            "joint" => Ok(Self::Joint),
            "each" => Ok(Self::Each),
            _ => Err(format!(
                "mục {key}: `shared = \"{value}\"` không hợp lệ; ghi \"joint\" (các đơn vị chủ trì cùng đạt một \
                 chỉ tiêu, xét theo số liệu cộng lại) hoặc \"each\" (mỗi đơn vị phải tự đạt cả chỉ tiêu)"
            )),
        }
    }
}

/// One measure of an indicator; single-measure indicators have one with an empty key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measure {
    pub key: String,
    #[serde(flatten)]
    pub kind: MeasureKind,
}

/// An operator's settlement of one item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Override {
    pub item: ItemKey,
    /// Why: required, shown by `chiso plan check`.
    pub reason: String,
    /// Replacement raw targets by year, read like plan text.
    #[serde(default)]
    pub targets: BTreeMap<String, String>,
    /// Replacement lead agencies (names or ids, read like a plan cell).
    #[serde(default)]
    pub lead: Option<String>,
    #[serde(default)]
    pub co: Option<String>,
    #[serde(default)]
    pub trajectory: Option<Trajectory>,
    #[serde(default)]
    pub aggregate: Option<Aggregate>,
    /// Percentage points (or count units) below the expected value still judged `at_risk`
    /// rather than `lagging`.
    #[serde(default)]
    pub tolerance: Option<f64>,
    /// `joint` or `each`: whether the leads of a count reach it together or each alone
    /// (read as text so a wrong value is refused in Vietnamese, naming the item).
    #[serde(default)]
    pub shared: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverridesFile {
    #[serde(default, rename = "override")]
    pub overrides: Vec<Override>,
}

/// An indicator as every later stage sees it: the plan item with overrides applied.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Indicator {
    pub key: ItemKey,
    pub section: Section,
    pub task: String,
    pub legal_basis: String,
    pub measures: Vec<Measure>,
    pub targets: BTreeMap<i32, Target>,
    pub lead: Vec<AgencyId>,
    pub co: Vec<AgencyId>,
    pub trajectory: Trajectory,
    pub aggregate: Aggregate,
    pub tolerance: Option<f64>,
    /// Set by the overrides file; `None` keeps the default rule (a summed count with
    /// several leads is joint).
    pub shared: Option<SharedTarget>,
    pub flags: Vec<Flag>,
    /// The override reason when an operator settled this item.
    pub settled: Option<String>,
}

impl Indicator {
    pub fn target(&self, year: i32) -> Option<&Target> {
        self.targets.get(&year)
    }

    /// The measure of a single-measure indicator.
    pub fn main_measure(&self) -> &MeasureKind {
        &self.measures[0].kind
    }

    pub fn is_composite(&self) -> bool {
        self.measures.len() > 1
    }
}

/// Errors of importing, loading or settling a plan. Each names its file.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Appendix(#[from] super::appendix::AppendixError),
    #[error("{}", crate::messages::catalog::cannot_read(.path, &crate::messages::io_reason(.source)))]
    Io { path: String, source: std::io::Error },
    #[error("{}", crate::messages::catalog::in_file(.path, .message))]
    Parse { path: String, message: String },
    #[error("{}", crate::messages::catalog::in_file(.path, .message))]
    Invalid { path: String, message: String },
}

/// Metadata read from the appendix caption `(kèm theo Kế hoạch số 742/KH-UBND ngày
/// 06/4/2023 của UBND tỉnh Vĩnh Long)`.
fn read_caption(text: &str, appendix_line: usize) -> Option<(String, NaiveDate, String)> {
    let caption = text.lines().skip(appendix_line).take(6).find(|l| ascii_fold(l).contains("ke hoach so"))?;
    let caption = clean(caption.trim().trim_start_matches('(').trim_end_matches(')'));
    let words: Vec<&str> = caption.split_whitespace().collect();
    let folded: Vec<String> = words.iter().map(|w| ascii_fold(w)).collect();
    let so = (2..folded.len()).find(|&i| folded[i - 2] == "ke" && folded[i - 1] == "hoach" && folded[i] == "so")?;
    let symbol = words.get(so + 1)?.trim_end_matches([',', ')']).to_string();
    let ngay = (so..folded.len()).find(|&i| folded[i] == "ngay")?;
    let date = NaiveDate::parse_from_str(words.get(ngay + 1)?.trim_end_matches([',', ')']), "%d/%m/%Y").ok()?;
    let title = format!("Kế hoạch {}", words[so..].join(" "));
    Some((symbol, date, title))
}

/// `742/KH-UBND` issued in 2023 → `kh-742-2023`.
pub fn plan_id(symbol: &str, issued: NaiveDate) -> String {
    use chrono::Datelike;
    let (number, kind) = symbol.split_once('/').unwrap_or((symbol, ""));
    let kind = ascii_fold(kind.split('-').next().unwrap_or(""));
    format!("{}-{}-{}", if kind.is_empty() { "plan".into() } else { kind }, number, issued.year())
}

/// Reads a plan's text (`file` names it in errors) into a plan file, resolving agency
/// names against the directory as it stood on the plan's issue date.
pub fn import_text(text: &str, file: &str, dir: &Directory) -> Result<PlanFile, PlanError> {
    let appendix: Appendix = parse_appendix(text, file)?;
    let (symbol, issued_on, title) = read_caption(text, appendix.line).ok_or_else(|| PlanError::Invalid {
        path: file.to_string(),
        message: crate::messages::catalog::caption(appendix.line + 1),
    })?;
    let at = dir.at(issued_on);
    let mut items: Vec<PlanItem> = Vec::with_capacity(appendix.rows.len());
    for row in &appendix.rows {
        let parent = if row.key.is_sub() { items.iter().find(|i| i.key == row.key.parent()) } else { None };
        // A `trong đó` row has no agencies or legal basis of its own: it shares its item's.
        let inherit = |own: &str, from: Option<&str>| {
            if own.is_empty() { from.unwrap_or_default().to_string() } else { own.to_string() }
        };
        let lead_raw = inherit(&row.lead, parent.map(|p| p.lead_raw.as_str()));
        let co_raw = inherit(&row.co, parent.map(|p| p.co_raw.as_str()));
        let legal_basis = inherit(&row.legal_basis, parent.map(|p| p.legal_basis.as_str()));
        let lead_list = dir.parse_list(&lead_raw, Some(issued_on));
        let co_list = dir.parse_list(&co_raw, Some(issued_on));
        let mut flags = Vec::new();
        for name in lead_list.unresolved.iter().chain(&co_list.unresolved) {
            flags.push(Flag {
                code: FlagCode::UnresolvedAgency, message: format!("Không nhận ra cơ quan “{name}”")
            });
        }
        let targets: BTreeMap<String, Target> =
            row.targets.iter().map(|(year, raw)| (year.to_string(), Target::parse(raw, &at))).collect();
        if row.key.is_sub() {
            flags.push(Flag {
                code: FlagCode::SubIndicator,
                message: format!("Chỉ tiêu con (dòng “trong đó”) của mục {}", row.key.parent()),
            });
        }
        flags.extend(target_flags(&targets));
        items.push(PlanItem {
            key: row.key,
            section: row.section,
            line: row.line,
            task: row.task.clone(),
            legal_basis,
            lead_raw,
            lead: lead_list.ids(),
            co_raw,
            co: co_list.ids(),
            targets,
            flags,
        });
    }
    let id = plan_id(&symbol, issued_on);
    Ok(PlanFile {
        plan: PlanMeta {
            id,
            symbol,
            issued_on,
            title,
            years: appendix.years,
            source: file.to_string(),
            source_sha256: crate::sha256_hex(text.as_bytes()),
        },
        items,
    })
}

/// Flags that depend only on the targets of an item.
fn target_flags(targets: &BTreeMap<String, Target>) -> Vec<Flag> {
    let mut flags = Vec::new();
    let specs: Vec<(&String, &Target)> = targets.iter().collect();
    let empty: Vec<&String> = specs.iter().filter(|(_, t)| t.spec == TargetSpec::None).map(|(y, _)| *y).collect();
    let first_numeric =
        specs.first().is_some_and(|(_, t)| matches!(t.spec, TargetSpec::Percent { .. } | TargetSpec::Count { .. }));
    if empty.len() == specs.len() {
        flags.push(Flag { code: FlagCode::NoTargets, message: "Không có chỉ tiêu cho năm nào".into() });
    } else if !empty.is_empty()
        && first_numeric
        && empty.len() == specs.len() - 1
        && specs[0].1.spec != TargetSpec::None
    {
        flags.push(Flag {
            code: FlagCode::OneValueForAllYears,
            message: format!(
                "Chỉ ghi “{}” cho năm {} (ô gộp?): chưa rõ giá trị này áp dụng cho cả các năm {}",
                specs[0].1.raw,
                specs[0].0,
                empty.iter().map(|y| y.as_str()).collect::<Vec<_>>().join(", ")
            ),
        });
    } else if !empty.is_empty() {
        flags.push(Flag {
            code: FlagCode::PartialTargets,
            message: format!(
                "Không có chỉ tiêu cho năm {}",
                empty.iter().map(|y| y.as_str()).collect::<Vec<_>>().join(", ")
            ),
        });
    }
    for (year, target) in &specs {
        if let TargetSpec::Unrecognized { reason } = &target.spec {
            flags.push(Flag {
                code: FlagCode::UnrecognizedTarget,
                message: format!("Năm {year}: không hiểu chỉ tiêu “{}” ({reason})", target.raw),
            });
        }
        for unit in target.spec.unit_refs() {
            if unit.agency.is_none() {
                flags.push(Flag {
                    code: FlagCode::UnresolvedUnit,
                    message: format!("Năm {year}: không nhận ra đơn vị “{}”", unit.name),
                });
            }
        }
    }
    let kinds: std::collections::BTreeSet<&str> = specs
        .iter()
        .filter_map(|(_, t)| match t.spec {
            TargetSpec::Percent { .. } => Some("percent"),
            TargetSpec::Count { .. } | TargetSpec::Composite { .. } => Some("count"),
            _ => None,
        })
        .collect();
    let has_units = specs.iter().any(|(_, t)| matches!(t.spec, TargetSpec::Units(_)));
    if kinds.len() > 1 || (has_units && kinds.contains("count")) {
        flags.push(Flag { code: FlagCode::MixedMeasures, message: "Các năm dùng đơn vị đo khác nhau".into() });
    }
    flags
}

impl PlanFile {
    pub fn load(path: &Path) -> Result<Self, PlanError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| PlanError::Io { path: shown.clone(), source })?;
        Self::from_toml(&text, &shown)
    }

    pub fn from_toml(text: &str, path: &str) -> Result<Self, PlanError> {
        let file: PlanFile = toml::from_str(text)
            .map_err(|e| PlanError::Parse { path: path.to_string(), message: crate::messages::toml_error(text, &e) })?;
        file.validate(path)?;
        Ok(file)
    }

    fn validate(&self, path: &str) -> Result<(), PlanError> {
        let invalid = |message: String| PlanError::Invalid { path: path.to_string(), message };
        let mut seen = std::collections::HashSet::new();
        for item in &self.items {
            if !seen.insert(item.key) {
                return Err(invalid(crate::messages::catalog::item_twice(&item.key.to_string())));
            }
            for year in item.targets.keys() {
                let y: i32 = year
                    .parse()
                    .map_err(|_| invalid(crate::messages::catalog::not_a_year(&item.key.to_string(), year)))?;
                if !self.plan.years.contains(&y) {
                    return Err(invalid(crate::messages::catalog::year_outside_plan(
                        &item.key.to_string(),
                        y,
                        &self.plan.years.iter().map(|y| y.to_string()).collect::<Vec<_>>().join(", "),
                    )));
                }
            }
        }
        if self.items.is_empty() {
            return Err(invalid(crate::messages::catalog::NO_ITEMS.into()));
        }
        Ok(())
    }

    /// The TOML text, with a header saying where it came from.
    pub fn to_toml(&self) -> Result<String, toml::ser::Error> {
        let body = toml::to_string(self)?;
        Ok(format!(
            "# Generated by `chiso plan import --from-text {}` — do not edit by hand:\n# settle flagged items in the overrides file beside this one.\n\n{body}",
            self.plan.source
        ))
    }
}

impl OverridesFile {
    pub fn load(path: &Path) -> Result<Self, PlanError> {
        let shown = path.display().to_string();
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(source) => return Err(PlanError::Io { path: shown, source }),
        };
        Self::from_toml(&text, &shown)
    }

    pub fn from_toml(text: &str, path: &str) -> Result<Self, PlanError> {
        let file: OverridesFile = toml::from_str(text)
            .map_err(|e| PlanError::Parse { path: path.to_string(), message: crate::messages::toml_error(text, &e) })?;
        for o in &file.overrides {
            if clean(&o.reason).is_empty() {
                return Err(PlanError::Invalid {
                    path: path.to_string(),
                    message: crate::messages::catalog::override_reason(&o.item.to_string()),
                });
            }
            if let Some(t) = o.tolerance
                && !(0.0..=100.0).contains(&t)
            {
                return Err(PlanError::Invalid {
                    path: path.to_string(),
                    message: crate::messages::catalog::override_tolerance(&o.item.to_string(), t),
                });
            }
            if let Some(v) = &o.shared {
                SharedTarget::read(o.item, v)
                    .map_err(|message| PlanError::Invalid { path: path.to_string(), message })?;
            }
        }
        Ok(file)
    }
}

/// The resolved catalogue: plan metadata and indicators, ready to store and evaluate.
#[derive(Debug, Clone, Serialize)]
pub struct Catalog {
    pub plan: PlanMeta,
    pub indicators: Vec<Indicator>,
    /// The plan file's sha256 and the overrides file's, so a reload can tell what changed.
    pub fingerprint: String,
}

impl Catalog {
    /// Applies overrides to a plan file; `overrides_path` names the file in errors.
    pub fn build(
        plan: &PlanFile,
        overrides: &OverridesFile,
        overrides_path: &str,
        dir: &Directory,
    ) -> Result<Self, PlanError> {
        let by_key: BTreeMap<ItemKey, &Override> = overrides.overrides.iter().map(|o| (o.item, o)).collect();
        for key in by_key.keys() {
            if !plan.items.iter().any(|i| i.key == *key) {
                return Err(PlanError::Invalid {
                    path: overrides_path.to_string(),
                    message: crate::messages::catalog::override_unknown_item(&key.to_string()),
                });
            }
        }
        let at = dir.at(plan.plan.issued_on);
        let mut indicators = Vec::with_capacity(plan.items.len());
        for item in &plan.items {
            let o = by_key.get(&item.key).copied();
            let mut targets: BTreeMap<i32, Target> = BTreeMap::new();
            for (year, t) in &item.targets {
                targets.insert(year.parse().unwrap_or_default(), t.clone());
            }
            let mut lead = item.lead.clone();
            let mut co = item.co.clone();
            let mut flags = item.flags.clone();
            if let Some(o) = o {
                for (year, raw) in &o.targets {
                    let y: i32 = year.parse().ok().filter(|y| plan.plan.years.contains(y)).ok_or_else(|| {
                        PlanError::Invalid {
                            path: overrides_path.to_string(),
                            message: crate::messages::catalog::override_year(
                                &item.key.to_string(),
                                year,
                                &plan.plan.years.iter().map(|y| y.to_string()).collect::<Vec<_>>().join(", "),
                            ),
                        }
                    })?;
                    let parsed = Target::parse(raw, &at);
                    if let TargetSpec::Unrecognized { reason } = &parsed.spec {
                        return Err(PlanError::Invalid {
                            path: overrides_path.to_string(),
                            message: crate::messages::catalog::override_target(&item.key.to_string(), y, raw, reason),
                        });
                    }
                    targets.insert(y, parsed);
                }
                for (field, text, slot) in [("lead", &o.lead, &mut lead), ("co", &o.co, &mut co)] {
                    if let Some(text) = text {
                        let list = dir.parse_list(text, Some(plan.plan.issued_on));
                        if !list.unresolved.is_empty() {
                            return Err(PlanError::Invalid {
                                path: overrides_path.to_string(),
                                message: crate::messages::catalog::override_agencies(
                                    &item.key.to_string(),
                                    field,
                                    &list.unresolved.join(", "),
                                ),
                            });
                        }
                        *slot = list.ids();
                    }
                }
                // Flags about what the override replaced no longer apply.
                let replaced_targets = !o.targets.is_empty();
                flags.retain(|f| {
                    !(replaced_targets && matches!(f.code, FlagCode::UnrecognizedTarget | FlagCode::UnresolvedUnit))
                });
                if o.lead.is_some() || o.co.is_some() {
                    flags.retain(|f| f.code != FlagCode::UnresolvedAgency);
                }
            }
            let measures = derive_measures(&targets);
            let main = &measures[0].kind;
            let trajectory = o.and_then(|o| o.trajectory).unwrap_or(match main {
                MeasureKind::Status => Trajectory::YearEnd,
                MeasureKind::Count { unit: Some(u) } if ascii_fold(u) == "luot" => Trajectory::Cumulative,
                _ => Trajectory::Linear,
            });
            let aggregate = o.and_then(|o| o.aggregate).unwrap_or(match main {
                MeasureKind::Percent => Aggregate::Mean,
                MeasureKind::Count { .. } => Aggregate::Sum,
                MeasureKind::Status => Aggregate::ShareMeeting,
            });
            let shared = match o.and_then(|o| o.shared.as_deref()) {
                Some(v) => {
                    Some(shared_of(Sharing { key: item.key, lead: &lead, main, aggregate }, v, dir, overrides_path)?)
                }
                None => None,
            };
            indicators.push(Indicator {
                key: item.key,
                section: item.section,
                task: item.task.clone(),
                legal_basis: item.legal_basis.clone(),
                measures,
                targets,
                lead,
                co,
                trajectory,
                aggregate,
                tolerance: o.and_then(|o| o.tolerance),
                shared,
                flags,
                settled: o.map(|o| o.reason.clone()),
            });
        }
        let fingerprint = crate::sha256_hex(format!("{}{:?}", plan.plan.source_sha256, overrides).as_bytes());
        Ok(Catalog { plan: plan.plan.clone(), indicators, fingerprint })
    }

    pub fn indicator(&self, key: ItemKey) -> Option<&Indicator> {
        self.indicators.iter().find(|i| i.key == key)
    }
}

/// What decides whether an item's target can be shared: its leads, its main measure and
/// how its figures add up.
#[derive(Clone, Copy)]
struct Sharing<'a> {
    key: ItemKey,
    lead: &'a [AgencyId],
    main: &'a MeasureKind,
    aggregate: Aggregate,
}

/// An override's `shared`, checked against the item it settles: only an item with several
/// leads (or a group lead) has a target to share, and only a summed count can be reached
/// jointly.
fn shared_of(item: Sharing<'_>, value: &str, dir: &Directory, path: &str) -> Result<SharedTarget, PlanError> {
    let Sharing { key, lead, main, aggregate } = item;
    let invalid = |message: String| PlanError::Invalid { path: path.to_string(), message };
    let shared = SharedTarget::read(key, value).map_err(invalid)?;
    let several = lead.len() > 1 || lead.iter().any(|l| dir.get(l).is_some_and(super::Agency::is_group));
    if !several {
        return Err(invalid(format!(
            "mục {key}: `shared` chỉ dùng cho chỉ tiêu có nhiều đơn vị chủ trì, mục {key} chỉ có một đơn vị chủ trì"
        )));
    }
    if shared == SharedTarget::Joint && !(matches!(main, MeasureKind::Count { .. }) && aggregate == Aggregate::Sum) {
        return Err(invalid(format!(
            "mục {key}: `shared = \"joint\"` chỉ dùng cho chỉ tiêu số lượng được cộng dồn giữa các đơn vị \
             (`aggregate = \"sum\"`); chỉ tiêu tỷ lệ hoặc trạng thái không cộng lại được"
        )));
    }
    Ok(shared)
}

/// The measures a judged agency reports, from the targets of all years: any unit-list
/// target makes it a status (the province's figure is then the share of units done);
/// otherwise the first percent, count or composite target decides; statuses otherwise.
pub fn derive_measures(targets: &BTreeMap<i32, Target>) -> Vec<Measure> {
    let single = |kind| vec![Measure { key: String::new(), kind }];
    if targets.values().any(|t| matches!(t.spec, TargetSpec::Units(_))) {
        return single(MeasureKind::Status);
    }
    for t in targets.values() {
        match &t.spec {
            TargetSpec::Composite { measures } => {
                return measures
                    .iter()
                    .map(|m| Measure { key: m.key.clone(), kind: MeasureKind::Count { unit: Some(m.unit.clone()) } })
                    .collect();
            }
            TargetSpec::Percent { .. } | TargetSpec::Count { .. } => {
                return single(t.spec.measure().unwrap_or(MeasureKind::Status));
            }
            _ => {}
        }
    }
    single(MeasureKind::Status)
}

/// Reads a target the way the catalogue does, without a directory (for tools and tests).
pub fn parse_target_plain(raw: &str) -> Target {
    Target::parse(raw, &CommaSplitter)
}
