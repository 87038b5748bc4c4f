//! From a row (or an API record) to an observation, or to a reject that says in
//! Vietnamese what is wrong and where.
//!
//! The item comes from the STT cell (`5.`, `05`, `5`) or, when that is empty, from the task
//! text matched against the catalogue. A task text that is the plan's wording of another
//! item wins over the STT (tables numbered their own way); one that clearly is not the STT's
//! task is refused. The value is read for the indicator's measure; the
//! agency comes from the row (long layout, API) or the file; a unit that no longer exists
//! is pointed to its successor; an agency not assigned to the item is refused.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use serde::Serialize;

use super::sheet::Cell;
use crate::catalog::Directory;
use crate::catalog::plan::{Catalog, Indicator};
use crate::domain::number::format_vi;
use crate::domain::target::TargetSpec;
use crate::domain::value::{CellInput, MeasureKind, ValueError, parse_value};
use crate::domain::{AgencyId, ItemKey, Period, Value};
use crate::text::{ascii_fold, clean, fold};

/// One row or record, as read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Record {
    /// `Báo cáo!E12`, or `bản ghi 17` for an API.
    pub location: String,
    pub item: Option<Cell>,
    pub task: Option<String>,
    pub value: Cell,
    pub note: Option<String>,
    /// Unit of measure (ĐVT); picks the measure of a composite indicator.
    pub uom: Option<String>,
    /// The reporting unit named in the row (code or name), for long layouts and APIs.
    pub unit: Option<String>,
    /// A measure key given explicitly (agency workbook templates).
    pub measure: Option<String>,
    /// The row's own period, when the sheet has a period column.
    pub period: Option<String>,
    /// A column that names itself the plan's item number (`Chỉ tiêu số`, `Mã chỉ tiêu`,
    /// `Số TT theo KH`): strong evidence of the item, unlike a plain STT.
    pub plan_item: Option<Cell>,
    /// The unit's name when the row also gives its code (`unit` holds the code then).
    pub unit_name: Option<String>,
    /// The unit's district, which settles a unit name several districts share.
    pub district: Option<String>,
    /// The period in separate columns (`Năm` + `Quý`, `Tháng`).
    pub year: Option<String>,
    pub quarter: Option<String>,
    pub month: Option<String>,
    /// The unit the value column's header path names (`Số lượng` → count, `Tỷ lệ (%)` →
    /// percent), or the row's ĐVT cell.
    pub column_unit: Option<crate::vocabulary::UnitWord>,
    /// The row is in a co-agency table (`Nhiệm vụ phối hợp`): the items are led by others
    /// and the reporting agency takes part.
    pub cooperation: bool,
    /// The value column's siblings under the same result heading that name another unit
    /// (`Kết quả thực hiện › Số lượng | Tỷ lệ (%)`): (their unit, their cell, its location).
    /// `value` is the first result column; the normalizer takes the alternative whose unit
    /// is the indicator's measure when `column_unit` is not.
    pub alternatives: Vec<(crate::vocabulary::UnitWord, Cell, String)>,
}

/// A value ready to store.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewObservation {
    pub item: ItemKey,
    /// `""` for single-measure indicators.
    pub measure: String,
    pub agency: AgencyId,
    pub value: Value,
    pub raw_text: String,
    pub note: Option<String>,
    pub location: String,
}

/// Something that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewReject {
    pub location: String,
    pub item_key: Option<String>,
    pub agency: Option<AgencyId>,
    pub raw_text: String,
    pub code: &'static str,
    /// In Vietnamese, for the officer.
    pub message: String,
}

/// What became of a record.
#[derive(Debug, Clone, PartialEq)]
pub enum Normalized {
    /// A heading, a blank or unreported row.
    Skip,
    Observations(Vec<NewObservation>),
    Reject(NewReject),
}

/// Reads records for one period, against the catalogue and the directory.
pub struct Normalizer<'a> {
    catalog: &'a Catalog,
    dir: &'a Directory,
    period: Period,
    /// The date agency names and group memberships are read at (the period's cut-off).
    date: NaiveDate,
    /// The agency of the whole file (wide layout), by directory index.
    file_agency: Option<usize>,
    by_key: HashMap<ItemKey, usize>,
    by_task: HashMap<String, Option<ItemKey>>,
    /// Per indicator: the words of its task, folded (to check a row's text against its STT).
    task_words: Vec<HashSet<String>>,
    /// Task texts as written → what they say about the row's item (files repeat them).
    task_checks: HashMap<String, TaskCheck>,
    /// Per indicator: a bitset over directory indexes of who may report it.
    eligible: Vec<Vec<u64>>,
    /// Unit text as written → directory index (or why it is refused).
    agency_cache: HashMap<String, Result<usize, Box<NewReject>>>,
    /// Numbers in percent indicators are fractions (0.855 = 85,5%).
    pub fraction_percent: bool,
    /// (indicator, measure, agency) already read in this file → where.
    seen: HashMap<u64, String, FastHash>,
    /// Period texts and value texts already read: files repeat them on every row.
    period_cache: HashMap<String, Option<Period>>,
    value_cache: [HashMap<String, Result<Value, ValueError>>; 3],
}

/// What a row's task text says about its item.
struct TaskCheck {
    /// The plan's own wording of this item.
    exact: Option<ItemKey>,
    words: HashSet<String>,
    /// STT item → whether the text could be that item's.
    fits: HashMap<ItemKey, bool>,
}

/// How a row's task text relates to the item its STT names.
enum TaskFit {
    /// The same item, or nothing to say against it.
    Same,
    /// The text is the plan's wording of another item: the table numbers its rows its own way.
    Other(ItemKey),
    /// The text shares too little with the STT's item to be about it.
    Mismatch,
}

/// Below this share of a row's words found in its STT item's task, the two disagree. Plan
/// tasks resemble each other (8 % of pairs share 40 % of their words), so this only
/// catches clear mismatches; an abbreviation of the right task always passes.
const TASK_FIT: f64 = 0.4;
/// Texts shorter than this many words are not judged.
const TASK_FIT_WORDS: usize = 4;

/// The words of a task, folded, without diacritics, of two letters or more.
fn words_of(task: &str) -> HashSet<String> {
    ascii_fold(task).split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| w.len() >= 2).map(str::to_string).collect()
}

/// Distinct task texts remembered per file (a plan has 174; files repeat them).
const TASK_CACHE_LIMIT: usize = 5_000;

/// Distinct value texts remembered per file.
const VALUE_CACHE_LIMIT: usize = 20_000;

fn kind_code(kind: &MeasureKind) -> u8 {
    match kind {
        MeasureKind::Percent => 0,
        MeasureKind::Count { .. } => 1,
        MeasureKind::Status => 2,
    }
}

/// A multiplicative hasher for integer keys (the duplicate check runs once per row).
#[derive(Default, Clone, Copy)]
pub struct FastHash;

impl std::hash::BuildHasher for FastHash {
    type Hasher = FastHasher;
    fn build_hasher(&self) -> FastHasher {
        FastHasher(0)
    }
}

pub struct FastHasher(u64);

impl std::hash::Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(*b)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

fn bit(set: &[u64], i: usize) -> bool {
    set.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
}

fn set_bit(set: &mut [u64], i: usize) {
    if let Some(w) = set.get_mut(i / 64) {
        *w |= 1 << (i % 64);
    }
}

impl<'a> Normalizer<'a> {
    pub fn new(
        catalog: &'a Catalog,
        dir: &'a Directory,
        period: Period,
        date: NaiveDate,
        file_agency: Option<AgencyId>,
    ) -> Self {
        let assignments = crate::catalog::assign::Assignments::new(catalog, dir, period.year(), date);
        Self::with_assignments(catalog, dir, period, date, file_agency, &assignments)
    }

    /// [`Normalizer::new`] with the period's assignments computed once for many files.
    pub fn with_assignments(
        catalog: &'a Catalog,
        dir: &'a Directory,
        period: Period,
        date: NaiveDate,
        file_agency: Option<AgencyId>,
        assignments: &crate::catalog::assign::Assignments,
    ) -> Self {
        let by_key = catalog.indicators.iter().enumerate().map(|(i, ind)| (ind.key, i)).collect();
        let mut by_task: HashMap<String, Option<ItemKey>> = HashMap::new();
        for ind in &catalog.indicators {
            by_task.entry(task_key(&ind.task)).and_modify(|k| *k = None).or_insert(Some(ind.key));
        }
        // Who may report an item: its leads and co-agencies (groups expanded, contacts of
        // member-less groups, units the target names), and the groups themselves.
        let words = dir.len().div_ceil(64);
        let eligible = catalog
            .indicators
            .iter()
            .enumerate()
            .map(|(i, ind)| {
                let mut set = vec![0u64; words];
                let mut add = |id: &AgencyId| {
                    if let Some(x) = dir.index_of(id) {
                        set_bit(&mut set, x);
                    }
                };
                assignments
                    .leads(i)
                    .iter()
                    .chain(assignments.co(i))
                    .chain(ind.lead.iter())
                    .chain(ind.co.iter())
                    .for_each(&mut add);
                for id in ind.lead.iter().chain(&ind.co) {
                    if let Some(via) =
                        dir.get(id).and_then(|a| a.contact_via.as_ref()).and_then(|v| dir.current(v, date))
                    {
                        add(&via);
                    }
                }
                set
            })
            .collect();
        let file_agency = file_agency.and_then(|a| dir.index_of(&a));
        let task_words = catalog.indicators.iter().map(|ind| words_of(&ind.task)).collect();
        Self {
            catalog,
            dir,
            period,
            date,
            file_agency,
            by_key,
            by_task,
            task_words,
            task_checks: HashMap::new(),
            eligible,
            agency_cache: HashMap::new(),
            fraction_percent: false,
            seen: HashMap::with_hasher(FastHash),
            period_cache: HashMap::new(),
            value_cache: Default::default(),
        }
    }

    pub fn period(&self) -> Period {
        self.period
    }

    /// Reads one record.
    pub fn normalize(&mut self, rec: Record) -> Normalized {
        if rec.value.is_empty() {
            return Normalized::Skip;
        }
        if let Some(p) = rec.period.as_deref().filter(|p| !p.trim().is_empty()) {
            let parsed = match self.period_cache.get(p) {
                Some(hit) => *hit,
                None => {
                    let v = p.parse::<Period>().ok().or_else(|| super::layout::find_period(p));
                    self.period_cache.insert(p.to_string(), v);
                    v
                }
            };
            let p = clean(p);
            match parsed {
                // A sheet that holds several quarters: this row is for another one.
                Some(other) if other != self.period => return Normalized::Skip,
                Some(_) => {}
                None => {
                    return Normalized::Reject(NewReject {
                        location: rec.location.clone(),
                        item_key: None,
                        agency: self.file_agency.map(|i| self.dir.at_index(i).id.clone()),
                        raw_text: p.clone(),
                        code: "bad_period",
                        message: format!("Không đọc được kỳ báo cáo “{p}” (ghi như Quý II/2024)"),
                    });
                }
            }
        }
        let raw_value = rec.value.text();
        let file_agency =
            if rec.unit.is_none() { self.file_agency.map(|i| self.dir.at_index(i).id.clone()) } else { None };
        let reject = |code: &'static str, message: String, item: Option<String>, agency: Option<AgencyId>| {
            Normalized::Reject(NewReject {
                location: rec.location.clone(),
                item_key: item,
                agency: agency.or_else(|| file_agency.clone()),
                raw_text: clean(&raw_value),
                code,
                message,
            })
        };
        // The item.
        let item_cell = rec.item.as_ref().filter(|c| !c.is_empty()).or(rec.plan_item.as_ref());
        let key = match item_cell {
            Some(cell) if !cell.is_empty() => {
                let text = cell.text();
                match text.parse::<ItemKey>() {
                    Ok(k) => match rec.task.as_deref().map(|t| (t, self.check_task(k, t))) {
                        None | Some((_, TaskFit::Same)) => k,
                        Some((_, TaskFit::Other(other))) => other,
                        Some((task, TaskFit::Mismatch)) => {
                            let planned = self.by_key.get(&k).map(|&i| self.catalog.indicators[i].task.as_str());
                            return reject(
                                "item_task_mismatch",
                                format!(
                                    "STT {k} nhưng nội dung “{}” không phải nhiệm vụ số {k} của kế hoạch (“{}”): ghi đúng số chỉ tiêu của kế hoạch ở cột STT",
                                    shorten(&clean(task), 60),
                                    shorten(planned.unwrap_or(""), 60)
                                ),
                                Some(k.to_string()),
                                None,
                            );
                        }
                    },
                    // `I.`, `II`, `A`: section headings carry no figure of their own.
                    Err(_) if is_heading_label(&text) => return Normalized::Skip,
                    Err(_) => match rec.task.as_deref().and_then(|t| self.match_task(t)) {
                        Some(k) => k,
                        None => {
                            return reject(
                                "bad_item_number",
                                format!(
                                    "Không đọc được số thứ tự “{}”: cần số chỉ tiêu của kế hoạch như 5 hoặc 118.1",
                                    clean(&text)
                                ),
                                None,
                                None,
                            );
                        }
                    },
                }
            }
            _ => match rec.task.as_deref().map(clean).filter(|t| !t.is_empty()) {
                Some(task) => match self.match_task(&task) {
                    Some(k) => k,
                    None => {
                        return reject(
                            "unknown_task",
                            format!(
                                "Không xác định được chỉ tiêu: ô STT trống và nội dung “{}” không khớp nhiệm vụ nào của kế hoạch",
                                shorten(&task, 80)
                            ),
                            None,
                            None,
                        );
                    }
                },
                None => {
                    return reject(
                        "no_item",
                        "Không xác định được chỉ tiêu: dòng không có STT và nội dung nhiệm vụ".into(),
                        None,
                        None,
                    );
                }
            },
        };
        let Some(&index) = self.by_key.get(&key) else {
            return reject(
                "unknown_item",
                format!("Không tìm thấy chỉ tiêu số {key} trong kế hoạch"),
                Some(key.to_string()),
                None,
            );
        };
        let indicator = &self.catalog.indicators[index];
        // The agency.
        let agency_index = match rec.unit.as_deref() {
            Some(unit) if !unit.trim().is_empty() => match self.resolve_unit(unit, &rec.location) {
                Ok(a) => a,
                Err(mut r) => {
                    r.location = rec.location.clone();
                    r.item_key = Some(key.to_string());
                    r.raw_text = clean(unit);
                    return Normalized::Reject(*r);
                }
            },
            _ => match self.file_agency {
                Some(a) => a,
                None => {
                    return reject(
                        "no_agency",
                        "Không xác định được đơn vị báo cáo: ghi tên đơn vị ở phần tiêu đề hoặc dùng mẫu báo cáo của chiso".into(),
                        Some(key.to_string()),
                        None,
                    );
                }
            },
        };
        let agency = self.dir.at_index(agency_index).id.clone();
        if !bit(&self.eligible[index], agency_index) {
            let leads: Vec<String> = indicator
                .lead
                .iter()
                .map(|l| self.dir.get(l).map_or(l.to_string(), |a| a.label().to_string()))
                .collect();
            return reject(
                "not_assigned",
                format!(
                    "{} không được giao chỉ tiêu số {key} (cơ quan chủ trì: {}); kiểm tra lại số thứ tự",
                    self.agency_name(&agency),
                    leads.join(", ")
                ),
                Some(key.to_string()),
                Some(agency),
            );
        }
        // The value, per measure.
        let observations = match self.read_values(indicator, &rec) {
            Ok(v) => v,
            Err((code, message)) => return reject(code, message, Some(key.to_string()), Some(agency)),
        };
        let mut out = Vec::with_capacity(observations.len());
        for (measure, _) in &observations {
            let m = indicator.measures.iter().position(|x| x.key == *measure).unwrap_or(0) as u64;
            let dup = ((index as u64) << 40) | (m << 32) | agency_index as u64;
            if let Some(first) = self.seen.get(&dup) {
                return reject(
                    "duplicate",
                    format!("Chỉ tiêu số {key} của {} đã có ở {first}; dòng này bị bỏ qua", self.agency_name(&agency)),
                    Some(key.to_string()),
                    Some(agency),
                );
            }
            self.seen.insert(dup, rec.location.clone());
        }
        let raw_text = match rec.value {
            Cell::Text(t) => crate::text::clean_owned(t),
            other => other.text(),
        };
        let note = rec.note.map(crate::text::clean_owned).filter(|n| !n.is_empty());
        for (measure, value) in observations {
            out.push(NewObservation {
                item: key,
                measure,
                agency: agency.clone(),
                value,
                raw_text: raw_text.clone(),
                note: note.clone(),
                location: rec.location.clone(),
            });
        }
        Normalized::Observations(out)
    }

    fn agency_name(&self, id: &AgencyId) -> String {
        self.dir.get(id).map_or_else(|| id.to_string(), |a| a.name.clone())
    }

    /// Values for each measure the record carries.
    fn read_values(&mut self, ind: &Indicator, rec: &Record) -> Result<Vec<(String, Value)>, (&'static str, String)> {
        let mismatch = |e: ValueError| (e.code(), e.vi());
        if !ind.is_composite() {
            let kind = ind.main_measure();
            return Ok(vec![(String::new(), self.read_one(&rec.value, kind).map_err(mismatch)?)]);
        }
        // A composite indicator: one measure named by the record (template or ĐVT), or all
        // measures written in one cell (`350 cá nhân, cơ sở, doanh nghiệp 700 sản phẩm …`).
        let pick = rec.measure.as_deref().or(rec.uom.as_deref()).map(|m| {
            let folded = fold(m);
            ind.measures
                .iter()
                .find(|x| x.key == m || matches!(&x.kind, MeasureKind::Count { unit: Some(u) } if fold(u) == folded))
        });
        match pick {
            Some(Some(measure)) => {
                Ok(vec![(measure.key.clone(), self.read_one(&rec.value, &measure.kind).map_err(mismatch)?)])
            }
            Some(None) => Err((
                "unknown_measure",
                format!(
                    "Đơn vị tính “{}” không thuộc chỉ tiêu này (cần một trong: {})",
                    clean(rec.measure.as_deref().or(rec.uom.as_deref()).unwrap_or_default()),
                    ind.measures
                        .iter()
                        .filter_map(|m| match &m.kind {
                            MeasureKind::Count { unit: Some(u) } => Some(u.clone()),
                            _ => None,
                        })
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
            )),
            None => {
                let text = rec.value.text();
                let parsed = crate::catalog::plan::parse_target_plain(&text);
                let TargetSpec::Composite { measures } = parsed.spec else {
                    return Err((
                        "composite_value",
                        format!(
                            "Chỉ tiêu này gồm nhiều số liệu ({}); ghi đủ từng số kèm đơn vị tính, nhưng ô ghi “{}”",
                            ind.measures
                                .iter()
                                .filter_map(|m| match &m.kind {
                                    MeasureKind::Count { unit: Some(u) } => Some(u.clone()),
                                    _ => None,
                                })
                                .collect::<Vec<_>>()
                                .join("; "),
                            clean(&text)
                        ),
                    ));
                };
                let mut out = Vec::new();
                for m in measures {
                    let Some(target) = ind.measures.iter().find(|x| x.key == m.key) else {
                        return Err((
                            "unknown_measure",
                            format!(
                                "Số liệu “{} {}” không thuộc chỉ tiêu này",
                                format_vi(m.threshold.value, 2),
                                m.unit
                            ),
                        ));
                    };
                    out.push((target.key.clone(), Value::Count(m.threshold.value)));
                }
                Ok(out)
            }
        }
    }

    fn read_one(&mut self, cell: &Cell, kind: &MeasureKind) -> Result<Value, ValueError> {
        if let Cell::Text(t) = cell {
            let cache = &mut self.value_cache[usize::from(kind_code(kind))];
            if let Some(hit) = cache.get(t.as_str()) {
                return hit.clone();
            }
            let result = parse_value(CellInput::Text(t), kind);
            if cache.len() < VALUE_CACHE_LIMIT {
                cache.insert(t.clone(), result.clone());
            }
            return result;
        }
        let input = match cell {
            Cell::Empty => CellInput::Empty,
            Cell::Text(t) => CellInput::Text(t),
            Cell::Number { value, percent } => CellInput::Number {
                value: *value,
                percent_format: *percent || (self.fraction_percent && *kind == MeasureKind::Percent),
            },
            Cell::Bool(b) => CellInput::Bool(*b),
            // A date in a status cell is when the task was completed.
            Cell::Date(_) if *kind == MeasureKind::Status => CellInput::Text("Hoàn thành"),
            Cell::Date(d) => {
                return Err(ValueError::KindMismatch { expected: kind.clone(), got: d.format("%d/%m/%Y").to_string() });
            }
            Cell::Error(e) => return Err(ValueError::Unreadable(format!("lỗi công thức {e}"))),
        };
        parse_value(input, kind)
    }

    /// Whether a row's task text agrees with the item its STT names.
    fn check_task(&mut self, k: ItemKey, text: &str) -> TaskFit {
        let Some(&index) = self.by_key.get(&k) else {
            // An unknown item is refused as such further on.
            return TaskFit::Same;
        };
        let own = &self.task_words[index];
        let fresh = |by_task: &HashMap<String, Option<ItemKey>>| TaskCheck {
            exact: by_task.get(&task_key(text)).copied().flatten(),
            words: words_of(text),
            fits: HashMap::new(),
        };
        let mut uncached;
        let check = if let Some(c) = self.task_checks.get_mut(text) {
            c
        } else if self.task_checks.len() < TASK_CACHE_LIMIT {
            self.task_checks.entry(text.to_string()).or_insert(fresh(&self.by_task))
        } else {
            uncached = fresh(&self.by_task);
            &mut uncached
        };
        match check.exact {
            Some(j) if j == k => return TaskFit::Same,
            Some(j) => return TaskFit::Other(j),
            None => {}
        }
        let words = &check.words;
        let fits = *check.fits.entry(k).or_insert_with(|| {
            let n = words.len();
            n < TASK_FIT_WORDS || words.iter().filter(|w| own.contains(*w)).count() as f64 >= TASK_FIT * n as f64
        });
        if fits { TaskFit::Same } else { TaskFit::Mismatch }
    }

    fn match_task(&self, task: &str) -> Option<ItemKey> {
        self.by_task.get(&task_key(task)).copied().flatten()
    }

    /// A unit named in a row, cached: resolved at the period's date; a dissolved one is
    /// refused with its successor named.
    fn resolve_unit(&mut self, unit: &str, location: &str) -> Result<usize, Box<NewReject>> {
        if let Some(hit) = self.agency_cache.get(unit) {
            return hit.clone();
        }
        let unit_clean = clean(unit);
        let result = self.resolve_unit_uncached(&unit_clean, location).and_then(|id| {
            self.dir.index_of(&id).ok_or_else(|| {
                Box::new(NewReject {
                    location: location.to_string(),
                    item_key: None,
                    agency: None,
                    raw_text: unit_clean.clone(),
                    code: "unknown_unit",
                    message: format!("Không tìm thấy đơn vị “{unit_clean}”"),
                })
            })
        });
        self.agency_cache.insert(unit.to_string(), result.clone());
        result
    }

    fn resolve_unit_uncached(&self, unit: &str, location: &str) -> Result<AgencyId, Box<NewReject>> {
        let reject = |code, message| {
            Box::new(NewReject {
                location: location.to_string(),
                item_key: None,
                agency: None,
                raw_text: unit.to_string(),
                code,
                message,
            })
        };
        let id = self.dir.resolve(unit, Some(self.date)).map_err(|e| match e {
            crate::catalog::directory::ResolveError::Ambiguous { candidates, .. } => reject(
                "ambiguous_unit",
                format!(
                    "Tên đơn vị “{unit}” trùng với nhiều đơn vị ({}); ghi mã đơn vị",
                    candidates.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")
                ),
            ),
            _ => reject("unknown_unit", format!("Không tìm thấy đơn vị “{unit}” trong danh mục cơ quan, đơn vị")),
        })?;
        let agency =
            self.dir.get(&id).ok_or_else(|| reject("unknown_unit", format!("Không tìm thấy đơn vị “{unit}”")))?;
        if agency.valid_at(self.date) {
            return Ok(id);
        }
        match self.dir.current(&id, self.date) {
            Some(successor) => Err(reject(
                "dissolved_unit",
                format!(
                    "{} đã sáp nhập/giải thể từ ngày {}; {} báo cáo theo đơn vị mới: {}",
                    agency.name,
                    agency
                        .valid_to
                        .and_then(|d| d.succ_opt())
                        .map_or_else(String::new, |d| d.format("%d/%m/%Y").to_string()),
                    self.period.vi(),
                    self.agency_name(&successor)
                ),
            )),
            None => {
                Err(reject("unit_not_in_period", format!("{} không tồn tại trong {}", agency.name, self.period.vi())))
            }
        }
    }
}

/// The key tasks are matched on: folded, without diacritics and punctuation.
fn task_key(task: &str) -> String {
    ascii_fold(task).chars().filter(|c| c.is_ascii_alphanumeric()).collect()
}

fn is_heading_label(s: &str) -> bool {
    let t = ascii_fold(s);
    let t = t.trim_end_matches(['.', ')', ' ']);
    matches!(t, "i" | "ii" | "iii" | "iv" | "v" | "vi" | "a" | "b" | "c" | "d" | "-" | "+" | "*") || t.is_empty()
}

fn shorten(s: &str, n: usize) -> String {
    if s.chars().count() <= n { s.to_string() } else { format!("{}…", s.chars().take(n).collect::<String>()) }
}
