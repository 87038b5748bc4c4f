//! From a row (or an API record) to an observation, or to a reject that says in
//! Vietnamese what is wrong and where, or to a held row when chiso is not sure.
//!
//! Nothing is stored on a guess:
//! * **The item comes from scored evidence** ([`Normalizer::item_evidence`]): a column that
//!   names itself the plan's item number (strong), the task text compared with the plan's
//!   wording (strong when it is the wording, or nearly: cosine of the word sets ≥ 0.8, well
//!   above every other task), and the STT (weak alone: a table may number its rows 1, 2, 3).
//!   Agreeing evidence, or one strong signal alone, gives the item; a contradiction holds
//!   the row ([`HELD`]) with the evidence, for the operator.
//! * **The unit comes from the file**: the cell's number format, the column's header path
//!   (`Tỷ lệ (%)`, `Số lượng`) or the row's ĐVT. A count under `Số lượng` is never a
//!   percent; a bare 0,823 in a percent indicator with no unit anywhere is held.
//! * **The agency** comes from the row (long layouts, APIs: code, name, district) or the
//!   file; a code and a name that disagree hold the row; a unit that no longer exists is
//!   pointed to its successor. An agency with no part in a well-evidenced item is kept with
//!   a note (judged not applicable); on a bare STT the row is held.
//! * Rows of another quarter, `N/A`/`-`/`Không phát sinh` and headings are skipped and
//!   counted ([`SkipReason`]), never refused one by one.
//!
//! Owns: `Record`, `Normalizer`, `Router` (a file's rows routed by period), `RowPeriod`,
//! `RowTrace`, and the decision observation / reject / held / skip. Receives: `Record`s
//! from `ingest`, `ingest::template` and `sources::json_api`; the `catalog::plan::Catalog`
//! and its `Indicator`s, the `catalog::Directory`, `catalog::assign::Assignments`; values
//! parsed by `domain::value`. Hands on: `domain::observation::Normalized` items
//! (re-exported here, with `NewObservation`, `NewReject`, `SkipReason`) to `ingest`'s sink,
//! and so to `jobs::collect` and `warehouse::collect`.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use serde::Serialize;

use super::sheet::Cell;
use crate::catalog::Directory;
use crate::catalog::plan::{Catalog, Indicator};
use crate::domain::number::format_vi;
use crate::domain::target::TargetSpec;
use crate::domain::value::{CellInput, MeasureKind, Parsed, ValueError, parse_value_noted};
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
    pub column_unit: Option<crate::domain::vocabulary::UnitWord>,
    /// The row is in a co-agency table (`Nhiệm vụ phối hợp`): the items are led by others
    /// and the reporting agency takes part.
    pub cooperation: bool,
    /// The file itself declares percentages as points, 0–100 (chiso's own template, whose
    /// input cells are validated that way): 0,5 there is 0,5%.
    pub percent_points: bool,
    /// The value column's siblings under the same result heading that name another unit
    /// (`Kết quả thực hiện › Số lượng | Tỷ lệ (%)`): (their unit, their cell, its location).
    /// `value` is the first result column; the normalizer takes the alternative whose unit
    /// is the indicator's measure when `column_unit` is not.
    pub alternatives: Vec<(crate::domain::vocabulary::UnitWord, Cell, String)>,
}

pub use crate::domain::observation::{HELD, NewObservation, NewReject, Normalized, SkipReason};

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
    /// Task texts as written → what they say about items (files repeat them).
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
    value_cache: [HashMap<String, Result<Parsed, ValueError>>; 3],
    /// What gave the last record's item (for `chiso inspect`).
    last_evidence: Option<(ItemKey, &'static str)>,
    /// Rows of this file whose STT agreed with their task text, and rows whose STT named
    /// another item than their text (the plan's wording): which the file's STT column is, the
    /// plan's numbers or a row counter.
    stt_agreed: usize,
    stt_disagreed: usize,
}

/// What a row's task text says about items.
#[derive(Debug, Clone)]
struct TaskCheck {
    /// The plan's own wording of this item.
    exact: Option<ItemKey>,
    words: HashSet<String>,
    /// Long enough to judge.
    judged: bool,
    /// The most similar task and its similarity (cosine of the word sets).
    best: Option<(ItemKey, f64)>,
    /// `best`, when it stands clearly above every other task.
    near: Option<(ItemKey, f64)>,
}

impl TaskCheck {
    /// Whether the text could be item `k`'s: enough of its words are in `k`'s task (an
    /// abbreviation of the right task passes).
    fn fits(&self, k: ItemKey, by_key: &HashMap<ItemKey, usize>, task_words: &[HashSet<String>]) -> bool {
        let Some(own) = by_key.get(&k).and_then(|&i| task_words.get(i)) else { return false };
        let n = self.words.len();
        n < TASK_FIT_WORDS || self.words.iter().filter(|w| own.contains(*w)).count() as f64 >= TASK_FIT * n as f64
    }
}

/// The item a row's evidence gives, and whether that evidence is strong (a plan item
/// column, the plan's wording, or an STT its text agrees with) or an STT alone.
#[derive(Debug, Clone, Copy)]
struct ItemEvidence {
    key: ItemKey,
    strong: bool,
    /// What gave it, for `chiso inspect`.
    how: &'static str,
}

/// Why a row's item is not known.
enum ItemProblem {
    /// A section heading: nothing to store.
    Heading,
    /// The officer's mistake: what to write instead.
    Refused { code: &'static str, message: String, item: Option<String> },
    /// Doubtful or contradicting evidence: held for the operator.
    Held { message: String, item: Option<String> },
}

/// What a value cell gave.
/// Which item a record is for and who reported it, once both are known.
struct Resolved {
    key: ItemKey,
    /// The indicator's index in the catalogue.
    index: usize,
    /// The reporting agency's index in the directory.
    agency_index: usize,
}

struct ReadValues {
    values: Vec<(String, Value)>,
    /// Said about the value (a status where a figure was expected, a sentence read).
    note: Option<String>,
}

/// Why a value cell gave nothing to store.
enum ValueProblem {
    /// `N/A`, `-`, `Không phát sinh`: skipped and counted.
    NoFigure,
    Held(String),
    Refused(&'static str, String),
}

impl ValueProblem {
    fn from_error(e: ValueError) -> Self {
        match e {
            ValueError::NoFigure(_) => ValueProblem::NoFigure,
            // Several figures that disagree: which one the officer meant is not known.
            ValueError::Conflicting { .. } => ValueProblem::Held(format!("Chưa chắc chắn: {}", e.vi())),
            e => ValueProblem::Refused(e.code(), e.vi()),
        }
    }
}

/// A row's own period, from its period columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowPeriod {
    /// The row names none: it is the file's.
    Unstated,
    Is(Period),
    Unreadable(String),
}

/// Similarity (cosine of word sets) at which a text is nearly the plan's wording of a task.
const NEAR_WORDING: f64 = 0.8;
/// Similarity at which a text looks like a task of the plan without being sure.
const LIKE_WORDING: f64 = 0.5;
/// How far the best task must stand above the second to be the one.
const NEAR_MARGIN: f64 = 0.15;

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

pub use crate::domain::hash::{FastHash, FastHasher};

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
            last_evidence: None,
            stt_agreed: 0,
            stt_disagreed: 0,
        }
    }

    pub fn period(&self) -> Period {
        self.period
    }

    /// Reads one record.
    pub fn normalize(&mut self, rec: Record) -> Normalized {
        match self.normalize_row(rec) {
            Normalized::Reject(mut r) => {
                r.period.get_or_insert(self.period);
                Normalized::Reject(r)
            }
            other => other,
        }
    }

    /// A row of another quarter than the one read (skipped), or whose quarter cannot be
    /// read (refused); `None` for a row of this quarter or one that names none.
    fn other_period(&mut self, rec: &Record) -> Option<Normalized> {
        match self.row_period(rec) {
            RowPeriod::Unstated => None,
            RowPeriod::Is(p) if p == self.period => None,
            // A sheet that holds several quarters: this row is for another one.
            RowPeriod::Is(_) => Some(Normalized::Skip(SkipReason::OtherPeriod)),
            RowPeriod::Unreadable(text) => Some(Normalized::Reject(NewReject {
                period: None,
                location: rec.location.clone(),
                item_key: None,
                agency: self.file_agency.map(|i| self.dir.at_index(i).id.clone()),
                raw_text: text.clone(),
                code: "bad_period",
                message: format!("Không đọc được kỳ báo cáo “{text}”: ghi năm và quý như 2024 và II, hoặc Quý II/2024"),
            })),
        }
    }

    /// An agency with no part in item `index` this year. With the item well evidenced
    /// (`strong`), its figure is kept with a note (and judged not applicable); on a bare STT
    /// the row number may not be the plan's, so the row is held: `Err` says why.
    fn not_assigned(&self, index: usize, agency: &AgencyId, strong: bool) -> Result<String, String> {
        let indicator = &self.catalog.indicators[index];
        let key = indicator.key;
        let leads: Vec<String> =
            indicator.lead.iter().map(|l| self.dir.get(l).map_or(l.to_string(), |a| a.label().to_string())).collect();
        if strong {
            Ok(format!(
                "{} không được giao chỉ tiêu số {key} năm {} (cơ quan chủ trì: {}): không xét",
                self.agency_name(agency),
                self.period.year(),
                leads.join(", ")
            ))
        } else {
            Err(format!(
                "Chưa chắc chắn: dòng chỉ có STT {key}, mà {} không được giao chỉ tiêu số {key} (cơ quan chủ trì: {}); STT có thể là số thứ tự riêng của bảng. Cần cột số chỉ tiêu theo kế hoạch hoặc nội dung nhiệm vụ",
                self.agency_name(agency),
                leads.join(", ")
            ))
        }
    }

    fn normalize_row(&mut self, mut rec: Record) -> Normalized {
        self.last_evidence = None;
        if rec.value.is_empty() && rec.alternatives.iter().all(|a| a.1.is_empty()) {
            return Normalized::Skip(SkipReason::Blank);
        }
        if let Some(other) = self.other_period(&rec) {
            return other;
        }
        // The item, from the evidence the row gives.
        let evidence = self.item_evidence(&rec);
        self.last_evidence = evidence.as_ref().ok().map(|e| (e.key, e.how));
        if let Ok(e) = &evidence
            && let Some(&index) = self.by_key.get(&e.key)
        {
            self.pick_alternative(index, &mut rec);
        }
        if rec.value.is_empty() {
            return Normalized::Skip(SkipReason::Blank);
        }
        let raw_value = rec.value.text();
        let file_agency =
            if rec.unit.is_none() { self.file_agency.map(|i| self.dir.at_index(i).id.clone()) } else { None };
        let reject = |code: &'static str, message: String, item: Option<String>, agency: Option<AgencyId>| {
            Normalized::Reject(NewReject {
                period: None,
                location: rec.location.clone(),
                item_key: item,
                agency: agency.or_else(|| file_agency.clone()),
                raw_text: clean(&raw_value),
                code,
                message,
            })
        };
        let evidence = match evidence {
            Ok(e) => e,
            Err(ItemProblem::Heading) => return Normalized::Skip(SkipReason::Heading),
            Err(ItemProblem::Refused { code, message, item }) => return reject(code, message, item, None),
            Err(ItemProblem::Held { message, item }) => return reject(HELD, message, item, None),
        };
        let key = evidence.key;
        let Some(&index) = self.by_key.get(&key) else {
            return reject(
                "unknown_item",
                format!(
                    "Không tìm thấy chỉ tiêu số {key} trong kế hoạch: ghi số chỉ tiêu của kế hoạch như 5 hoặc 118.1"
                ),
                Some(key.to_string()),
                None,
            );
        };
        let indicator = &self.catalog.indicators[index];
        // The agency.
        let mut notes: Vec<String> = Vec::new();
        let agency_index = match rec.unit.as_deref() {
            Some(unit) if !unit.trim().is_empty() => match self.resolve_row_unit(&rec, unit) {
                Ok((a, note)) => {
                    notes.extend(note);
                    a
                }
                Err(mut r) => {
                    r.location = rec.location.clone();
                    r.item_key = Some(key.to_string());
                    if r.raw_text.is_empty() {
                        r.raw_text = clean(unit);
                    }
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
            match self.not_assigned(index, &agency, evidence.strong) {
                Ok(note) => notes.push(note),
                Err(held) => return reject(HELD, held, Some(key.to_string()), Some(agency)),
            }
        }
        // The lead's own figure for a share of units (`25% đơn vị, trong đó: …`): the
        // indicator's figure, while its members report their status.
        if let Some(v) = self.lead_share(index, agency_index, &rec.value) {
            notes.push("tỷ lệ đơn vị của cả chỉ tiêu, do cơ quan chủ trì báo cáo".into());
            return self.finish(
                rec,
                Resolved { key, index, agency_index },
                vec![(String::new(), Value::Percent(v))],
                notes,
            );
        }
        // The value, per measure.
        let read = match self.read_values(indicator, &rec) {
            Ok(v) => v,
            Err(ValueProblem::NoFigure) => return Normalized::Skip(SkipReason::NoFigure),
            Err(ValueProblem::Held(message)) => return reject(HELD, message, Some(key.to_string()), Some(agency)),
            Err(ValueProblem::Refused(code, message)) => {
                return reject(code, message, Some(key.to_string()), Some(agency));
            }
        };
        notes.extend(read.note);
        self.finish(rec, Resolved { key, index, agency_index }, read.values, notes)
    }

    /// The observations of a record whose item, agency and values are known: the duplicate
    /// check, the raw text and the note.
    fn finish(
        &mut self,
        rec: Record,
        at: Resolved,
        observations: Vec<(String, Value)>,
        notes: Vec<String>,
    ) -> Normalized {
        let Resolved { key, index, agency_index } = at;
        let indicator = &self.catalog.indicators[index];
        let agency = self.dir.at_index(agency_index).id.clone();
        let raw_value = rec.value.text();
        let reject = |code: &'static str, message: String| {
            Normalized::Reject(NewReject {
                period: None,
                location: rec.location.clone(),
                item_key: Some(key.to_string()),
                agency: Some(agency.clone()),
                raw_text: clean(&raw_value),
                code,
                message,
            })
        };
        let mut out = Vec::with_capacity(observations.len());
        for (measure, _) in &observations {
            let m = indicator.measures.iter().position(|x| x.key == *measure).unwrap_or(0) as u64;
            let dup = ((index as u64) << 40) | (m << 32) | agency_index as u64;
            if let Some(first) = self.seen.get(&dup) {
                return reject(
                    "duplicate",
                    format!(
                        "Chỉ tiêu số {key} của {} đã có ở {first}; dòng này bị bỏ qua: mỗi chỉ tiêu chỉ ghi một dòng",
                        self.agency_name(&agency)
                    ),
                );
            }
            self.seen.insert(dup, rec.location.clone());
        }
        let raw_text = match rec.value {
            Cell::Text(t) => crate::text::clean_owned(t),
            other => other.text(),
        };
        let mut note = rec.note.map(crate::text::clean_owned).filter(|n| !n.is_empty());
        if !notes.is_empty() {
            let extra = notes.join("; ");
            note = Some(match note {
                Some(n) => format!("{n} ({extra})"),
                None => extra,
            });
        }
        for (measure, value) in observations {
            out.push(NewObservation {
                period: self.period,
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
    fn read_values(&mut self, ind: &Indicator, rec: &Record) -> Result<ReadValues, ValueProblem> {
        if !ind.is_composite() {
            let kind = ind.main_measure().clone();
            return self.read_single(&rec.value, &kind, rec);
        }
        let refused = |e: ValueError| ValueProblem::from_error(e);
        // A composite indicator: one measure named by the record (template or ĐVT), or all
        // measures written in one cell (`350 cá nhân, cơ sở, doanh nghiệp 700 sản phẩm …`).
        let pick = rec.measure.as_deref().or(rec.uom.as_deref()).map(|m| {
            let folded = fold(m);
            ind.measures
                .iter()
                .find(|x| x.key == m || matches!(&x.kind, MeasureKind::Count { unit: Some(u) } if fold(u) == folded))
        });
        let units = || {
            ind.measures
                .iter()
                .filter_map(|m| match &m.kind {
                    MeasureKind::Count { unit: Some(u) } => Some(u.clone()),
                    _ => None,
                })
                .collect::<Vec<_>>()
                .join("; ")
        };
        match pick {
            Some(Some(measure)) => {
                let value = self.read_one(&rec.value, &measure.kind).map_err(refused)?.value;
                Ok(ReadValues { values: vec![(measure.key.clone(), value)], note: None })
            }
            Some(None) => Err(ValueProblem::Refused(
                "unknown_measure",
                format!(
                    "Đơn vị tính “{}” không thuộc chỉ tiêu này (cần một trong: {})",
                    clean(rec.measure.as_deref().or(rec.uom.as_deref()).unwrap_or_default()),
                    units()
                ),
            )),
            None => {
                let text = rec.value.text();
                if crate::domain::vocabulary::get().is_no_figure(&text) {
                    return Err(ValueProblem::NoFigure);
                }
                let parsed = crate::catalog::plan::parse_target_plain(&text);
                let TargetSpec::Composite { measures } = parsed.spec else {
                    return Err(ValueProblem::Refused(
                        "composite_value",
                        format!(
                            "Chỉ tiêu này gồm nhiều số liệu ({}); ghi đủ từng số kèm đơn vị tính, nhưng ô ghi “{}”",
                            units(),
                            clean(&text)
                        ),
                    ));
                };
                let mut out = Vec::new();
                for m in measures {
                    let Some(target) = ind.measures.iter().find(|x| x.key == m.key) else {
                        return Err(ValueProblem::Refused(
                            "unknown_measure",
                            format!(
                                "Số liệu “{} {}” không thuộc chỉ tiêu này (cần: {})",
                                format_vi(m.threshold.value, 2),
                                m.unit,
                                units()
                            ),
                        ));
                    };
                    out.push((target.key.clone(), Value::Count(m.threshold.value)));
                }
                Ok(ReadValues { values: out, note: None })
            }
        }
    }

    /// One value for a single-measure indicator, with the unit the file gives (the cell's
    /// number format, the column's header path, the row's ĐVT): a number whose unit the file
    /// leaves open is held, never guessed.
    fn read_single(&mut self, cell: &Cell, kind: &MeasureKind, rec: &Record) -> Result<ReadValues, ValueProblem> {
        use crate::domain::vocabulary::UnitWord;
        let column_unit =
            rec.column_unit.or_else(|| rec.uom.as_deref().and_then(|u| crate::domain::vocabulary::get().unit_of(u)));
        if let Cell::Number { value, percent } = cell {
            let percent = *percent || (self.fraction_percent && *kind == MeasureKind::Percent);
            match kind {
                MeasureKind::Percent if !percent && column_unit == Some(UnitWord::Count) => {
                    return Err(ValueProblem::Refused(
                        "unit_mismatch",
                        format!(
                            "Chỉ tiêu này tính bằng tỷ lệ (%), nhưng số {} nằm ở cột số lượng: ghi tỷ lệ, ví dụ 85%",
                            format_vi(*value, 4)
                        ),
                    ));
                }
                // Not formatted as a percentage: 0,823 may be 0,823% or 82,3%, even under a
                // `%` heading or ĐVT (a fraction computed by a formula and left unformatted).
                // A whole 1 under a `%` unit is 1%; without any unit it too is open.
                MeasureKind::Percent
                    if !percent
                        && !rec.percent_points
                        && *value > 0.0
                        && *value <= 1.0
                        && (value.fract() != 0.0 || column_unit != Some(UnitWord::Percent)) =>
                {
                    return Err(ValueProblem::Held(format!(
                        "Chưa chắc chắn: số {} trong chỉ tiêu tỷ lệ, ô không định dạng %, nên có thể là {}% hoặc {}%; cần ghi rõ như 85% (hoặc định dạng ô là %)",
                        format_vi(*value, 4),
                        format_vi(*value, 4),
                        format_vi(value * 100.0, 2)
                    )));
                }
                MeasureKind::Count { .. } if percent || column_unit == Some(UnitWord::Percent) => {
                    return Err(ValueProblem::Refused(
                        "unit_mismatch",
                        format!(
                            "Chỉ tiêu này tính bằng số lượng ({}), nhưng ô ghi tỷ lệ {}: ghi số lượng, ví dụ {}",
                            kind.vi(),
                            if percent { format!("{}%", format_vi(value * 100.0, 2)) } else { format_vi(*value, 4) },
                            kind.example()
                        ),
                    ));
                }
                _ => {}
            }
        }
        if let Cell::Text(t) = cell {
            if crate::domain::vocabulary::get().is_no_figure(t) {
                return Err(ValueProblem::NoFigure);
            }
            // `1,250` in a count: 1,25 by the Vietnamese comma, or 1250 written the English
            // way; a count is whole, so the comma is likely a thousands mark, but not surely.
            if matches!(kind, MeasureKind::Count { .. }) && english_thousands(t) {
                return Err(ValueProblem::Held(format!(
                    "Chưa chắc chắn: “{}” có thể là {} hoặc {}; số lượng ghi dấu chấm phân cách hàng nghìn, ví dụ 1.250",
                    clean(t),
                    clean(t).replace(',', "."),
                    clean(t).replace(',', "")
                )));
            }
            // A bare fraction typed as text in a percent indicator is as open as a number.
            if *kind == MeasureKind::Percent
                && let Some(v) = bare_number(t)
                && v > 0.0
                && v <= 1.0
                && !rec.percent_points
                && (v.fract() != 0.0 || column_unit != Some(UnitWord::Percent))
            {
                return Err(ValueProblem::Held(format!(
                    "Chưa chắc chắn: “{}” trong chỉ tiêu tỷ lệ không có dấu %, nên có thể là {}% hoặc {}%; cần ghi rõ như 85%",
                    clean(t),
                    format_vi(v, 4),
                    format_vi(v * 100.0, 2)
                )));
            }
        }
        let parsed = self.read_one(cell, kind).map_err(ValueProblem::from_error)?;
        let note = match (&parsed.value, kind) {
            (Value::Status(p), MeasureKind::Percent | MeasureKind::Count { .. }) => {
                Some(format!("báo cáo “{}”, không ghi số liệu", p.vi()))
            }
            // The sentence the figure was read from stays with it.
            _ if parsed.from_sentence => Some(format!("đọc từ câu “{}”", shorten(&clean(&cell.text()), 120))),
            _ => None,
        };
        Ok(ReadValues { values: vec![(String::new(), parsed.value)], note })
    }

    fn read_one(&mut self, cell: &Cell, kind: &MeasureKind) -> Result<Parsed, ValueError> {
        if let Cell::Text(t) = cell {
            let cache = &mut self.value_cache[usize::from(kind_code(kind))];
            if let Some(hit) = cache.get(t.as_str()) {
                return hit.clone();
            }
            let result = parse_value_noted(CellInput::Text(t), kind);
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
        parse_value_noted(input, kind)
    }

    /// A percent written by the item's single lead where the members report statuses and the
    /// year's target is a share of units (item 29): the lead's figure for the whole item.
    fn lead_share(&self, index: usize, agency_index: usize, cell: &Cell) -> Option<f64> {
        let ind = &self.catalog.indicators[index];
        if ind.is_composite() || *ind.main_measure() != MeasureKind::Status {
            return None;
        }
        let share_target = matches!(
            ind.target(self.period.year()).map(|t| &t.spec),
            Some(TargetSpec::Units(u)) if u.share.is_some()
        );
        let is_lead = matches!(ind.lead.as_slice(), [one] if self.dir.index_of(one) == Some(agency_index));
        if !share_target || !is_lead {
            return None;
        }
        let value = match cell {
            Cell::Number { value, percent: true } => value * 100.0,
            Cell::Text(t) if t.contains('%') => match parse_value_noted(CellInput::Text(t), &MeasureKind::Percent) {
                Ok(Parsed { value: Value::Percent(v), from_sentence: false, .. }) => v,
                _ => return None,
            },
            _ => return None,
        };
        (0.0..=100.0).contains(&value).then_some(value)
    }

    /// Under one result heading a count and a percent sub-column (`Số lượng | Tỷ lệ (%)`):
    /// the indicator's measure says which one is its figure.
    fn pick_alternative(&self, index: usize, rec: &mut Record) {
        use crate::domain::vocabulary::UnitWord;
        let indicator = &self.catalog.indicators[index];
        if indicator.is_composite() {
            return;
        }
        let want = match indicator.main_measure() {
            MeasureKind::Percent => UnitWord::Percent,
            MeasureKind::Count { .. } => UnitWord::Count,
            MeasureKind::Status => return,
        };
        if (rec.column_unit != Some(want) || rec.value.is_empty())
            && let Some(at) = rec.alternatives.iter().position(|a| a.0 == want && !a.1.is_empty())
        {
            let (unit, cell, location) = rec.alternatives.swap_remove(at);
            rec.value = cell;
            rec.location = location;
            rec.column_unit = Some(unit);
        }
    }

    /// The item a row is about, from the evidence it gives: a column that names itself the
    /// plan's item number (strong), the task text compared with the plan's wording (strong
    /// when it is the plan's wording, or nearly), and the STT (weak alone: tables number
    /// their rows their own way). Agreeing evidence, or one strong signal standing alone,
    /// gives the item; contradicting or weak-and-doubtful evidence holds the row.
    fn item_evidence(&mut self, rec: &Record) -> Result<ItemEvidence, ItemProblem> {
        let text_of = |c: &Option<Cell>| c.as_ref().filter(|c| !c.is_empty()).map(|c| clean(&c.text()));
        let plan_text = text_of(&rec.plan_item);
        let stt_text = text_of(&rec.item);
        let task = rec.task.as_deref().map(clean).filter(|t| !t.is_empty());
        let check = task.as_deref().map(|t| self.task_check(t));
        let exact = check.as_ref().and_then(|c| c.exact);
        let near = check.as_ref().and_then(|c| c.near);
        // 1. A column that names the plan's item number.
        if let Some(pt) = &plan_text {
            return self.by_plan_column(pt, task.as_deref(), check.as_ref(), exact, near);
        }
        let stt = stt_text.as_deref().and_then(|t| t.parse::<ItemKey>().ok()).filter(|k| self.by_key.contains_key(k));
        // 2. The plan's own wording of a task. Beside an STT naming another item, the STT is
        // the table's own numbering (a row counter), unless this file's other STTs have been
        // the plan's numbers: then the two contradict each other.
        if let Some(e) = exact {
            match stt {
                Some(s) if s != e && self.stt_agreed > self.stt_disagreed => {
                    return Err(ItemProblem::Held {
                        message: format!(
                            "Chưa chắc chắn: STT {s} nhưng nội dung là nguyên văn nhiệm vụ số {e} của kế hoạch, trong khi các dòng khác của tệp ghi STT đúng số chỉ tiêu; kiểm tra lại STT hoặc nội dung"
                        ),
                        item: Some(s.to_string()),
                    });
                }
                Some(s) if s != e => self.stt_disagreed += 1,
                Some(_) => self.stt_agreed += 1,
                None => {}
            }
            return Ok(ItemEvidence { key: e, strong: true, how: "nội dung trùng nguyên văn kế hoạch" });
        }
        match (stt, &check, &task) {
            // 3. STT and a task text: they must agree.
            (Some(s), Some(c), Some(t)) if c.judged => self.by_stt_and_text(s, c, t, near),
            // 4. An STT alone (no text, or too short a text to judge).
            (Some(s), _, _) => Ok(ItemEvidence { key: s, strong: false, how: "chỉ có STT" }),
            // 5. A text alone (no usable STT).
            (None, Some(c), Some(t)) => self.by_text_alone(rec, c, t, near, stt_text.as_deref()),
            (None, _, _) => by_label_alone(stt_text),
        }
    }

    /// The plan's wording of item `k`, shortened for a message.
    fn planned(&self, k: ItemKey) -> String {
        self.by_key.get(&k).map_or_else(String::new, |&i| shorten(&self.catalog.indicators[i].task, 70))
    }

    /// Step 1 of [`Self::item_evidence`]: a column names the plan's item number. The task
    /// text beside it may contradict it, and then the row is held.
    fn by_plan_column(
        &self,
        pt: &str,
        task: Option<&str>,
        check: Option<&TaskCheck>,
        exact: Option<ItemKey>,
        near: Option<(ItemKey, f64)>,
    ) -> Result<ItemEvidence, ItemProblem> {
        let short = |t: &str| shorten(t, 70);
        let Ok(p) = pt.parse::<ItemKey>() else {
            return Err(ItemProblem::Refused {
                code: "bad_item_number",
                message: format!("Không đọc được số chỉ tiêu “{pt}”: cần số chỉ tiêu của kế hoạch như 5 hoặc 118.1"),
                item: None,
            });
        };
        if let Some(e) = exact.filter(|e| *e != p) {
            return Err(ItemProblem::Held {
                message: format!(
                    "Chưa chắc chắn: cột số chỉ tiêu ghi {p} nhưng nội dung là nhiệm vụ số {e} của kế hoạch (“{}”)",
                    short(task.unwrap_or_default())
                ),
                item: Some(p.to_string()),
            });
        }
        if let (Some(c), Some(t)) = (check, task)
            && c.judged
            && !c.fits(p, &self.by_key, &self.task_words)
            && let Some((b, _)) = near.filter(|(b, _)| *b != p)
        {
            return Err(ItemProblem::Held {
                message: format!(
                    "Chưa chắc chắn: cột số chỉ tiêu ghi {p} (“{}”) nhưng nội dung “{}” giống nhiệm vụ số {b}",
                    self.planned(p),
                    short(t)
                ),
                item: Some(p.to_string()),
            });
        }
        Ok(ItemEvidence { key: p, strong: true, how: "cột số chỉ tiêu" })
    }

    /// Step 3: an STT and a task text long enough to judge, which must agree.
    fn by_stt_and_text(
        &mut self,
        s: ItemKey,
        c: &TaskCheck,
        t: &str,
        near: Option<(ItemKey, f64)>,
    ) -> Result<ItemEvidence, ItemProblem> {
        let short = |t: &str| shorten(t, 70);
        let fits = c.fits(s, &self.by_key, &self.task_words);
        if fits || near.is_some_and(|(b, _)| b == s) {
            self.stt_agreed += 1;
        }
        match near {
            Some((b, _)) if b == s => Ok(ItemEvidence { key: s, strong: true, how: "STT và nội dung khớp" }),
            // Nearly the plan's wording of another item: the table numbers its rows
            // its own way.
            Some((b, score)) if score >= NEAR_WORDING => {
                Ok(ItemEvidence {
                    key: b, strong: true, how: "nội dung gần trùng kế hoạch (STT là số riêng của bảng)"
                })
            }
            _ if fits => Ok(ItemEvidence { key: s, strong: true, how: "STT, nội dung phù hợp" }),
            best => Err(ItemProblem::Held {
                message: format!(
                    "Chưa chắc chắn: STT {s} nhưng nội dung “{}” không phải nhiệm vụ số {s} của kế hoạch (“{}”){}; STT có thể là số thứ tự riêng của bảng. Ghi số chỉ tiêu theo kế hoạch hoặc giữ nguyên nội dung nhiệm vụ",
                    short(t),
                    self.planned(s),
                    best.map_or_else(String::new, |(b, _)| format!(", giống nhiệm vụ số {b} hơn"))
                ),
                item: Some(s.to_string()),
            }),
        }
    }

    /// Step 5: a task text with no usable STT.
    fn by_text_alone(
        &self,
        rec: &Record,
        c: &TaskCheck,
        t: &str,
        near: Option<(ItemKey, f64)>,
        stt_text: Option<&str>,
    ) -> Result<ItemEvidence, ItemProblem> {
        let short = |t: &str| shorten(t, 70);
        if let Some((b, score)) = near
            && score >= NEAR_WORDING
        {
            return Ok(ItemEvidence { key: b, strong: true, how: "nội dung gần trùng kế hoạch" });
        }
        let stt_label = stt_text.unwrap_or_default();
        if stt_text.is_some() && is_heading_label(stt_label) || stt_text.is_none() && rec.value.is_empty() {
            return Err(ItemProblem::Heading);
        }
        // A number the plan does not have, beside a text that is not the plan's: the
        // officer's number is wrong.
        if let Ok(k) = stt_label.parse::<ItemKey>() {
            return Err(ItemProblem::Refused {
                code: "unknown_item",
                message: format!(
                    "Không tìm thấy chỉ tiêu số {k} trong kế hoạch (nội dung “{}”): ghi số chỉ tiêu của kế hoạch như 5 hoặc 118.1",
                    short(t)
                ),
                item: Some(k.to_string()),
            });
        }
        match c.best {
            Some((b, score)) if score >= LIKE_WORDING => Err(ItemProblem::Held {
                message: format!(
                    "Chưa chắc chắn: nội dung “{}” gần giống nhiệm vụ số {b} (“{}”) nhưng không trùng{}; ghi số chỉ tiêu theo kế hoạch",
                    short(t),
                    self.planned(b),
                    if stt_label.is_empty() {
                        String::new()
                    } else {
                        format!(", STT “{stt_label}” không phải số chỉ tiêu")
                    }
                ),
                item: None,
            }),
            _ if stt_text.is_some() && !is_heading_label(stt_label) => Err(ItemProblem::Refused {
                code: "bad_item_number",
                message: format!(
                    "Không đọc được số thứ tự “{stt_label}” và nội dung “{}” không khớp nhiệm vụ nào của kế hoạch: cần số chỉ tiêu của kế hoạch như 5 hoặc 118.1",
                    short(t)
                ),
                item: None,
            }),
            _ => Err(ItemProblem::Refused {
                code: "unknown_task",
                message: format!(
                    "Không xác định được chỉ tiêu: ô STT trống và nội dung “{}” không khớp nhiệm vụ nào của kế hoạch; ghi số chỉ tiêu như 5 hoặc 118.1",
                    short(t)
                ),
                item: None,
            }),
        }
    }

    /// What a task text says about items, cached per text (files repeat them).
    fn task_check(&mut self, text: &str) -> TaskCheck {
        if let Some(c) = self.task_checks.get(text) {
            return c.clone();
        }
        let words = words_of(text);
        let exact = self.by_task.get(&task_key(text)).copied().flatten();
        let judged = words.len() >= TASK_FIT_WORDS;
        // Cosine similarity of the word sets against every task of the plan.
        let mut scored: Vec<(ItemKey, f64)> = if judged {
            self.catalog
                .indicators
                .iter()
                .zip(&self.task_words)
                .map(|(ind, own)| {
                    let common = words.iter().filter(|w| own.contains(*w)).count() as f64;
                    (ind.key, common / ((words.len() * own.len().max(1)) as f64).sqrt())
                })
                .collect()
        } else {
            Vec::new()
        };
        scored.sort_by(|a, b| b.1.total_cmp(&a.1));
        let best = scored.first().copied();
        let second = scored.get(1).map_or(0.0, |s| s.1);
        // A clear winner: well above the rest (plan tasks resemble each other).
        let near = best.filter(|(_, s)| *s >= LIKE_WORDING && *s - second >= NEAR_MARGIN);
        let check = TaskCheck { exact, words, judged, best, near };
        if self.task_checks.len() < TASK_CACHE_LIMIT {
            self.task_checks.insert(text.to_string(), check.clone());
        }
        check
    }

    /// The row's own period, from its period columns (`Kỳ báo cáo`, `Năm` + `Quý`,
    /// `Tháng`), cached by the texts (files repeat them on every row).
    pub fn row_period(&mut self, rec: &Record) -> RowPeriod {
        row_period_of(rec, self.period.year(), &mut self.period_cache)
    }

    /// A row's unit: its code (or name) and, when the row gives them, its name and
    /// district. A code and a name that name two different units hold the row; an unknown
    /// code with a name (and district) that resolve to one unit is read by the name, with a
    /// note.
    fn resolve_row_unit(&mut self, rec: &Record, unit: &str) -> Result<(usize, Option<String>), Box<NewReject>> {
        let by_code = self.resolve_unit(unit, &rec.location);
        let name = rec.unit_name.as_deref().map(clean).filter(|n| !n.is_empty() && *n != clean(unit));
        let district = rec.district.as_deref().map(clean).filter(|d| !d.is_empty());
        match (by_code, name) {
            (Ok(a), None) => Ok((a, None)),
            (Ok(a), Some(name)) => match self.resolve_name(&name, district.as_deref()) {
                Some(b) if b != a => Err(Box::new(NewReject {
                    period: None,
                    location: rec.location.clone(),
                    item_key: None,
                    agency: None,
                    raw_text: format!("{} / {name}", clean(unit)),
                    code: HELD,
                    message: format!(
                        "Chưa chắc chắn: mã đơn vị “{}” là {} nhưng tên ghi “{name}” là {}; kiểm tra lại mã hoặc tên đơn vị",
                        clean(unit),
                        self.dir.at_index(a).name,
                        self.dir.at_index(b).name
                    ),
                })),
                _ => Ok((a, None)),
            },
            (Err(e), Some(name)) if e.code == "unknown_unit" => match self.resolve_name(&name, district.as_deref()) {
                Some(b) => Ok((
                    b,
                    Some(format!(
                        "mã đơn vị “{}” không có trong danh mục, nhận theo tên “{name}”{}",
                        clean(unit),
                        district.as_deref().map_or_else(String::new, |d| format!(", {d}"))
                    )),
                )),
                None => Err(e),
            },
            (Err(e), None) if e.code == "ambiguous_unit" && district.is_some() => {
                match self.resolve_name(unit, district.as_deref()) {
                    Some(b) => Ok((b, None)),
                    None => Err(e),
                }
            }
            (Err(e), _) => Err(e),
        }
    }

    /// A unit name, settled by its district when several units share it; `None` unless
    /// exactly one unit fits.
    fn resolve_name(&self, name: &str, district: Option<&str>) -> Option<usize> {
        use crate::catalog::directory::ResolveError;
        let valid = |id: &AgencyId| self.dir.get(id).is_some_and(|a| a.valid_at(self.date));
        match self.dir.resolve(name, Some(self.date)) {
            Ok(id) => {
                // The district, when given, must be the unit's own.
                if let Some(d) = district
                    && let Ok(did) = self.dir.resolve(d, Some(self.date))
                    && self.dir.get(&id).and_then(|a| a.parent.as_ref()).is_some_and(|p| *p != did)
                {
                    return None;
                }
                valid(&id).then(|| self.dir.index_of(&id)).flatten()
            }
            Err(ResolveError::Ambiguous { candidates, .. }) => {
                let did = self.dir.resolve(district?, Some(self.date)).ok()?;
                let fitting: Vec<&AgencyId> = candidates
                    .iter()
                    .filter(|c| self.dir.get(c).and_then(|a| a.parent.as_ref()) == Some(&did))
                    .collect();
                match fitting.as_slice() {
                    [one] => self.dir.index_of(one),
                    _ => None,
                }
            }
            Err(_) => None,
        }
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
                    period: None,
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
                period: None,
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

/// Step 6 of `item_evidence`: neither a plan column nor a task text, only what the STT
/// cell says (a heading label, an unknown number, something unreadable, or nothing).
fn by_label_alone(stt_text: Option<String>) -> Result<ItemEvidence, ItemProblem> {
    match stt_text {
        Some(label) if is_heading_label(&label) => Err(ItemProblem::Heading),
        Some(label) => match label.parse::<ItemKey>() {
            Ok(k) => Err(ItemProblem::Refused {
                code: "unknown_item",
                message: format!(
                    "Không tìm thấy chỉ tiêu số {k} trong kế hoạch: ghi số chỉ tiêu của kế hoạch như 5 hoặc 118.1"
                ),
                item: Some(k.to_string()),
            }),
            Err(_) => Err(ItemProblem::Refused {
                code: "bad_item_number",
                message: format!("Không đọc được số thứ tự “{label}”: cần số chỉ tiêu của kế hoạch như 5 hoặc 118.1"),
                item: None,
            }),
        },
        None => Err(ItemProblem::Refused {
            code: "no_item",
            message:
                "Không xác định được chỉ tiêu: dòng không có STT và nội dung nhiệm vụ; ghi số chỉ tiêu như 5 hoặc 118.1"
                    .into(),
            item: None,
        }),
    }
}

/// A text that is nothing but a number (`0,85`, `0.85`), without `%` or a unit word.
fn bare_number(text: &str) -> Option<f64> {
    let t = clean(text);
    if t.is_empty() || !t.chars().all(|c| c.is_ascii_digit() || c == ',' || c == '.') {
        return None;
    }
    crate::domain::number::parse_number(&t).ok()
}

/// `1,250`, `12,500,000`: digits in groups of three after commas, nothing else.
fn english_thousands(text: &str) -> bool {
    let t = clean(text);
    let mut groups = t.split(',');
    let first = groups.next().unwrap_or_default();
    let rest: Vec<&str> = groups.collect();
    !rest.is_empty()
        && (1..=3).contains(&first.len())
        && first.chars().all(|c| c.is_ascii_digit())
        && rest.iter().all(|g| g.len() == 3 && g.chars().all(|c| c.is_ascii_digit()))
}

/// `II`, `2`, `Quý II`, `Q2`, `quý 2` → 2.
fn quarter_number(text: &str) -> Option<u8> {
    let f = ascii_fold(text);
    let f = f.trim();
    let rest = f.strip_prefix("quy").or_else(|| f.strip_prefix('q')).unwrap_or(f).trim();
    super::layout::quarter_word(rest.trim_end_matches('.'))
}

/// `2024`, `Năm 2024`, `2024.0` → 2024.
fn year_number(text: &str) -> Option<i32> {
    let f = ascii_fold(text);
    let digits: String = f.trim().trim_start_matches("nam").trim().trim_end_matches(".0").to_string();
    let y: i32 = digits.parse().ok()?;
    (2000..=2100).contains(&y).then_some(y)
}

/// `6`, `06`, `Tháng 6`, `06/2024`, `6-2024` → (month, year when written).
fn month_number(text: &str) -> Option<(u32, Option<i32>)> {
    let f = ascii_fold(text);
    let f = f.trim().trim_start_matches("thang").trim();
    let (m, y) = match f.split_once(['/', '-', ' ']) {
        Some((m, y)) => (m.trim(), Some(year_number(y)?)),
        None => (f, None),
    };
    let m: u32 = m.trim_end_matches(".0").parse().ok()?;
    (1..=12).contains(&m).then_some((m, y))
}

/// A row's period from its period columns; `default_year` completes a quarter or a month
/// written without its year (the file's year).
pub fn row_period_of(rec: &Record, default_year: i32, cache: &mut HashMap<String, Option<Period>>) -> RowPeriod {
    fn present(t: &Option<String>) -> Option<&str> {
        t.as_deref().map(str::trim).filter(|t| !t.is_empty())
    }
    let (period, year, quarter, month) =
        (present(&rec.period), present(&rec.year), present(&rec.quarter), present(&rec.month));
    if period.is_none() && year.is_none() && quarter.is_none() && month.is_none() {
        return RowPeriod::Unstated;
    }
    let key =
        format!("{}|{}|{}|{}", period.unwrap_or(""), year.unwrap_or(""), quarter.unwrap_or(""), month.unwrap_or(""));
    let parsed = match cache.get(&key) {
        Some(hit) => *hit,
        None => {
            let from_year = |y: Option<i32>| y.or(year.and_then(year_number)).unwrap_or(default_year);
            let v = if let Some(p) = period {
                p.parse::<Period>().ok().or_else(|| super::layout::find_period(p)).or_else(|| {
                    // `Kỳ báo cáo` holding only a quarter (`Quý II`) beside a `Năm` column.
                    quarter_number(p).and_then(|q| Period::new(from_year(None), q))
                })
            } else if let Some(q) = quarter {
                match (quarter_number(q), year.map(year_number)) {
                    (Some(q), None | Some(Some(_))) => Period::new(from_year(None), q),
                    _ => q.parse::<Period>().ok(),
                }
            } else if let Some(m) = month {
                month_number(m).and_then(|(m, y)| Period::new(from_year(y), ((m - 1) / 3 + 1) as u8))
            } else {
                // A year alone says no quarter.
                None
            };
            if cache.len() < 10_000 {
                cache.insert(key.clone(), v);
            }
            v
        }
    };
    match parsed {
        Some(p) => RowPeriod::Is(p),
        None => RowPeriod::Unreadable(clean(&key.split('|').filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" "))),
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

/// Which periods a file's rows are read for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PeriodScope {
    /// The collected quarter only; rows of other quarters are skipped as "khác kỳ".
    One(Period),
    /// A backfill: every quarter the rows name, each read against its own year's
    /// assignments. `default` is the file's quarter (its title) for rows that name none.
    All { default: Option<Period>, calendar: crate::domain::ReportingCalendar },
}

/// Routes each record to the [`Normalizer`] of its period: one for a collected quarter,
/// one per quarter named by the rows in a backfill.
pub struct Router<'a> {
    catalog: &'a Catalog,
    dir: &'a Directory,
    scope: PeriodScope,
    file_agency: Option<AgencyId>,
    /// The collected quarter's normalizer (built from the caller's assignments).
    first: Normalizer<'a>,
    /// Backfill: the other quarters' normalizers.
    others: HashMap<Period, Normalizer<'a>>,
    period_cache: HashMap<String, Option<Period>>,
    /// Numbers in percent indicators are fractions (an operator's mapping says so).
    pub fraction_percent: bool,
    /// Keep what became of every record (`chiso inspect`); `None`: not traced.
    pub trace: Option<Vec<RowTrace>>,
    last_evidence: Option<(ItemKey, &'static str)>,
}

/// What became of one record, as `chiso inspect` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowTrace {
    pub location: String,
    /// The STT and plan item cells as written.
    pub numbers: String,
    /// The task text as written (shortened).
    pub task: String,
    pub value: String,
    /// `stored`, `held`, `refused` or `skipped`.
    pub outcome: &'static str,
    pub item: Option<String>,
    /// What gave the item (`cột số chỉ tiêu`, `STT và nội dung khớp`, `chỉ có STT` …).
    pub evidence: Option<&'static str>,
    pub period: Option<Period>,
    /// The figure stored, the reason held or refused, or why skipped.
    pub detail: String,
}

impl<'a> Router<'a> {
    /// `assignments` are those of `first`: the collected quarter, or in a backfill the
    /// file's quarter (the first normalizer built).
    pub fn new(
        catalog: &'a Catalog,
        dir: &'a Directory,
        first: Period,
        scope: PeriodScope,
        file_agency: Option<AgencyId>,
        assignments: &crate::catalog::assign::Assignments,
    ) -> Self {
        let normalizer =
            Normalizer::with_assignments(catalog, dir, first, assignments.date, file_agency.clone(), assignments);
        Self {
            catalog,
            dir,
            scope,
            file_agency,
            first: normalizer,
            others: HashMap::new(),
            period_cache: HashMap::new(),
            fraction_percent: false,
            trace: None,
            last_evidence: None,
        }
    }

    /// Reads one record for its period, and traces it when asked to.
    pub fn normalize(&mut self, rec: Record) -> Normalized {
        if self.trace.is_none() {
            return self.route(rec);
        }
        let cell = |c: &Option<Cell>| c.as_ref().map(|c| clean(&c.text())).filter(|t| !t.is_empty());
        let numbers = [cell(&rec.item), cell(&rec.plan_item)].into_iter().flatten().collect::<Vec<_>>().join(" / ");
        let task = rec.task.as_deref().map(|t| shorten(&clean(t), 60)).unwrap_or_default();
        let value = clean(&rec.value.text());
        let location = rec.location.clone();
        let out = self.route(rec);
        let evidence = self.last_evidence.take();
        let (outcome, item, period, detail) = match &out {
            Normalized::Observations(obs) => (
                "stored",
                obs.first().map(|o| o.item.to_string()),
                obs.first().map(|o| o.period),
                obs.iter()
                    .map(|o| {
                        let m = if o.measure.is_empty() { String::new() } else { format!("{}: ", o.measure) };
                        let n = o.note.as_deref().map_or_else(String::new, |n| format!(" ({n})"));
                        format!(
                            "{m}{} — {}{n}",
                            o.value.vi(),
                            self.dir.get(&o.agency).map_or(o.agency.as_str(), |a| a.label())
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            Normalized::Reject(r) => (
                if r.code == HELD { "held" } else { "refused" },
                r.item_key.clone(),
                r.period,
                format!("[{}] {}", r.code, r.message),
            ),
            Normalized::Skip(reason) => ("skipped", None, None, reason.vi().to_string()),
        };
        let (location, value) = match &out {
            // The cell actually read (a sub-column of the indicator's unit may be another).
            Normalized::Observations(obs) => {
                obs.first().map_or((location, value), |o| (o.location.clone(), o.raw_text.clone()))
            }
            _ => (location, value),
        };
        if let Some(t) = self.trace.as_mut() {
            t.push(RowTrace {
                location,
                numbers,
                task,
                value,
                outcome,
                item,
                evidence: evidence.filter(|_| outcome == "stored").map(|(_, how)| how),
                period,
                detail,
            });
        }
        out
    }

    fn route(&mut self, rec: Record) -> Normalized {
        let PeriodScope::All { default, calendar } = self.scope else {
            self.first.fraction_percent = self.fraction_percent;
            let out = self.first.normalize(rec);
            self.last_evidence = self.first.last_evidence;
            return out;
        };
        if rec.value.is_empty() {
            return Normalized::Skip(SkipReason::Blank);
        }
        let year = default.unwrap_or(self.first.period).year();
        let period = match row_period_of(&rec, year, &mut self.period_cache) {
            RowPeriod::Is(p) => p,
            RowPeriod::Unstated => match default {
                Some(p) => p,
                None => {
                    return Normalized::Reject(NewReject {
                        period: None,
                        location: rec.location.clone(),
                        item_key: None,
                        agency: self.file_agency.clone(),
                        raw_text: String::new(),
                        code: "no_period",
                        message: "Không biết dòng này thuộc kỳ báo cáo nào: tệp không ghi kỳ ở tiêu đề và dòng không có cột Năm/Quý; nhận tệp với --period".into(),
                    });
                }
            },
            // The normalizer words the refusal.
            RowPeriod::Unreadable(_) => self.first.period,
        };
        let fraction = self.fraction_percent;
        let normalizer = if period == self.first.period {
            &mut self.first
        } else {
            let (catalog, dir, agency) = (self.catalog, self.dir, self.file_agency.clone());
            self.others.entry(period).or_insert_with(|| {
                let date = calendar.cutoff(period);
                let assignments = crate::catalog::assign::Assignments::new(catalog, dir, period.year(), date);
                Normalizer::with_assignments(catalog, dir, period, date, agency, &assignments)
            })
        };
        normalizer.fraction_percent = fraction;
        let out = normalizer.normalize(rec);
        self.last_evidence = normalizer.last_evidence;
        out
    }

    /// The records traced so far.
    pub fn take_trace(&mut self) -> Vec<RowTrace> {
        self.trace.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// The quarters read so far.
    pub fn periods(&self) -> Vec<Period> {
        let mut p: Vec<Period> = std::iter::once(self.first.period).chain(self.others.keys().copied()).collect();
        p.sort();
        p
    }
}
