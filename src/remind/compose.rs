//! From a planned digest to a queued message: the figures formatted for people, the
//! templates rendered, the agency's pre-filled workbook attached, the Message-ID derived
//! from the idempotency key. CPU-bound and independent per digest, so done on every core.
//!
//! Owns: `compose`, `compose_into`, `ComposeInput`, `Shared`, `Known`, `message_id`,
//! `workbook_name` and `ComposeError`. Receives: `plan::Digest`s and the composing context
//! (catalogue, directory, assignments, calendar, `render::Templates`, known values,
//! `report::template::WorkbookCache`) from `jobs::remind`. Hands on: a
//! `warehouse::NewMessage` per digest, with its `domain::attachment::FileAttachment`
//! workbooks built by `report::template`, to `jobs::remind`, which queues it in the outbox.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use lettre::message::Mailbox;
use sha2::Digest as _;

use super::GroupItems;
use super::plan::{Digest, MessageKind, OwnItems};
use super::render::{DigestContext, DigestItem, FileAttachment, Named, Templates, XLSX};
use super::settings::Round;
use crate::catalog::Directory;
use crate::catalog::assign::Assignments;
use crate::catalog::plan::{Catalog, Indicator};
use crate::domain::number::format_vi;
use crate::domain::value::MeasureKind;
use crate::domain::{AgencyId, ItemKey, Period, ReportingCalendar, Value};
use crate::evaluate::{GapRow, RowKind, Status};
use crate::report::template::{KnownValues, WorkbookCache, build_spec_with};
use crate::warehouse::NewMessage;

/// Why a digest could not become a message.
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error(transparent)]
    Template(#[from] super::render::TemplateError),
    #[error("không tạo được bảng tính đính kèm cho {agency}: {message}")]
    Workbook { agency: String, message: String },
}

/// Values already reported, by agency and period (pre-filling the attached workbooks).
#[derive(Debug, Default)]
pub struct Known(pub HashMap<(AgencyId, Period), HashMap<(String, String), Value>>);

struct KnownFor<'a>(&'a Known, &'a AgencyId);

impl KnownValues for KnownFor<'_> {
    fn value(&self, item: ItemKey, measure: &str, period: Period) -> Option<Value> {
        self.0.0.get(&(self.1.clone(), period))?.get(&(item.to_string(), measure.to_string())).copied()
    }
}

/// What every digest of a round shares.
pub struct ComposeInput<'a> {
    pub catalog: &'a Catalog,
    pub dir: &'a Directory,
    pub calendar: &'a ReportingCalendar,
    pub assignments: &'a Assignments,
    pub templates: &'a Templates,
    /// Workbooks shared by agencies answering for the same items.
    pub books: &'a WorkbookCache,
    pub known: &'a Known,
    pub period: Period,
    pub round: &'a Round,
    pub subject_prefix: &'a str,
    pub from: &'a Mailbox,
    pub coordinator: Named,
    pub now: DateTime<Utc>,
    pub run_id: Option<i64>,
    pub evaluation_run: Option<i64>,
    pub group_mode: super::GroupItems,
    /// Which items each agency leads by name: its workbook lists the others apart.
    pub own: &'a OwnItems,
}

/// `<3f2a…@vinhlong.example>`: the same key always gives the same Message-ID, so a message
/// sent twice after a crash is recognisable as one.
pub fn message_id(key: &str, from: &Mailbox) -> String {
    let hash = sha2::Sha256::digest(key.as_bytes());
    format!("<chiso.{}@{}>", &hex::encode(hash)[..32], from.email.domain())
}

/// `bao-cao-2024-Q2-so_yt.xlsx`: ASCII, so no mail client mangles it.
pub fn workbook_name(period: Period, agency: &AgencyId) -> String {
    format!("bao-cao-{period}-{agency}.xlsx")
}

fn unit_suffix(kind: &MeasureKind) -> String {
    match kind {
        MeasureKind::Percent => " điểm %".into(),
        MeasureKind::Count { unit: Some(u) } => format!(" {u}"),
        _ => String::new(),
    }
}

fn show(kind: &MeasureKind, v: f64) -> String {
    match kind {
        MeasureKind::Percent => format!("{}%", format_vi(v, 1)),
        MeasureKind::Count { unit: Some(u) } => format!("{} {u}", format_vi(v, 1)),
        _ => format_vi(v, 1),
    }
}

fn kind_of<'a>(ind: Option<&'a Indicator>, measure: &str) -> Option<&'a MeasureKind> {
    let ind = ind?;
    ind.measures.iter().find(|m| m.key == measure).or(ind.measures.first()).map(|m| &m.kind)
}

/// A gap row as a digest line.
pub fn digest_item(row: &GapRow, ind: Option<&Indicator>, dir: &Directory, recipient: &AgencyId) -> DigestItem {
    let kind = kind_of(ind, &row.measure);
    let num = |v: Option<f64>| match (v, kind) {
        (Some(v), Some(k)) => show(k, v),
        (Some(v), None) => format_vi(v, 1),
        (None, _) => String::new(),
    };
    let diff = |v: Option<f64>| match (v, kind) {
        (Some(v), Some(k)) if v > 0.0 => format!("{}{}", format_vi(v, 1), unit_suffix(k)),
        (Some(v), None) if v > 0.0 => format_vi(v, 1),
        _ => String::new(),
    };
    let for_agency = if row.agency != recipient.as_str() {
        let name = dir.get_str(&row.agency).map_or_else(|| row.agency.clone(), |a| a.name.clone());
        match row.kind {
            RowKind::Aggregate => format!("toàn tỉnh, {name} chủ trì"),
            _ => name,
        }
    } else if row.kind == RowKind::Aggregate {
        "số liệu toàn tỉnh".to_string()
    } else {
        String::new()
    };
    DigestItem {
        item: row.item.to_string(),
        // A composite measure by the words the plan counts it in, not its internal key.
        measure: match kind {
            Some(MeasureKind::Count { unit: Some(u) }) if !row.measure.is_empty() => u.clone(),
            _ => row.measure.clone(),
        },
        task: ind.map(|i| i.task.clone()).unwrap_or_default(),
        target: row.target.clone(),
        expected: num(row.expected),
        actual: match (&row.refused, row.actual) {
            (_, Some(v)) => v.vi(),
            (Some(r), None) => format!("“{}” (không được ghi nhận)", r.raw_text),
            (None, None) => String::new(),
        },
        gap: diff(row.gap),
        pace: diff(row.pace),
        status: row.status.vi().to_string(),
        reason: row.reason.clone(),
        for_agency,
    }
}

/// `5 chỉ tiêu chậm tiến độ`, `3 chỉ tiêu chưa báo cáo`, `4 chỉ tiêu cần xử lý`.
fn headline(rows: &[GapRow], counts: &BTreeMap<Status, usize>) -> String {
    let n = rows.len();
    match counts.keys().collect::<Vec<_>>().as_slice() {
        [] => "0 chỉ tiêu được giao chủ trì cần xử lý".to_string(),
        [Status::NotDue] | [Status::Missing] => format!("{n} chỉ tiêu chưa báo cáo"),
        [Status::Lagging] => format!("{n} chỉ tiêu chậm tiến độ"),
        [Status::Refused] => format!("{n} chỉ tiêu có số liệu không hợp lệ"),
        [Status::AtRisk] => format!("{n} chỉ tiêu có nguy cơ chậm"),
        [Status::Overdue] => format!("{n} nhiệm vụ quá hạn"),
        _ => format!("{n} chỉ tiêu cần xử lý"),
    }
}

fn summary(counts: &BTreeMap<Status, usize>) -> String {
    counts.iter().map(|(s, n)| format!("{n} {}", s.vi().to_lowercase())).collect::<Vec<_>>().join(", ")
}

fn date(d: chrono::NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

fn map(pairs: &[(&str, String)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_string(), v.clone())).collect()
}

/// The template context of a digest.
pub fn context(input: &ComposeInput<'_>, d: &Digest, attachment_names: Vec<String>) -> DigestContext {
    let line = |r: &GapRow| digest_item(r, input.catalog.indicator(r.item), input.dir, &d.agency);
    let items: Vec<DigestItem> = d.rows.iter().map(line).collect();
    let group_items: Vec<DigestItem> = d.group_rows.iter().map(line).collect();
    let mut counts: BTreeMap<Status, usize> = BTreeMap::new();
    for r in &d.rows {
        *counts.entry(r.status).or_default() += 1;
    }
    let mut count_map: BTreeMap<String, usize> = Status::ALL.iter().map(|s| (s.as_str().to_string(), 0)).collect();
    for (s, n) in &counts {
        count_map.insert(s.as_str().to_string(), *n);
    }
    count_map.insert("total".into(), d.rows.len());
    count_map.insert("group".into(), d.group_rows.len());
    count_map.insert("group_more".into(), d.group_more);
    let (start, end) = input.calendar.window(input.period);
    let due = input.calendar.due_date(input.period);
    let today = input.calendar.local_date(input.now);
    DigestContext {
        prefix: input.subject_prefix.to_string(),
        key: d.key.clone(),
        subject: String::new(),
        agency: Named {
            name: d.agency_name.clone(),
            email: d.to.first().map(|r| r.address.clone()).unwrap_or_default(),
        },
        on_behalf: d.on_behalf.clone(),
        plan: map(&[("id", input.catalog.plan.id.clone()), ("symbol", input.catalog.plan.symbol.clone())]),
        period: map(&[("code", input.period.to_string()), ("vi", input.period.vi())]),
        year: input.period.year(),
        window: map(&[("start", date(start)), ("end", date(end))]),
        due_date: date(due),
        evaluated_on: date(today),
        round: map(&[("id", input.round.id.clone()), ("name", input.round.name.clone())]),
        before_due: today <= due,
        headline: headline(&d.rows, &counts),
        summary: summary(&counts),
        items,
        group_items,
        group_title: d.group_title.clone(),
        group_mode: input.group_mode.as_str().to_string(),
        counts: count_map,
        attachment_names,
        coordinator: input.coordinator.clone(),
        reminded_on: d.reminded_at.map(|t| date(input.calendar.local_date(t))).unwrap_or_default(),
    }
}

/// The workbooks of a digest's agencies, pre-filled with what they reported: the items
/// the plan gives each by name first, then its group items in a section of their own, as
/// the digest shows them (`group_items = "omit"` leaves out all but the refused ones,
/// which the agency must correct).
pub fn attachments(input: &ComposeInput<'_>, d: &Digest) -> Result<Vec<FileAttachment>, ComposeError> {
    d.origins
        .iter()
        .filter(|o| !input.assignments.parts_of(o).is_empty())
        .map(|o| {
            let known = KnownFor(input.known, o);
            let listed = |item| d.group_rows.iter().any(|r| r.item == item && r.agency == o.as_str());
            let spec = build_spec_with(
                &crate::report::template::TemplateBasis {
                    catalog: input.catalog,
                    dir: input.dir,
                    calendar: input.calendar,
                    assignments: input.assignments,
                },
                o,
                input.period,
                &known,
            )
            .split_group(
                |item| !input.own.is_own_item(item, o),
                |item| input.group_mode != GroupItems::Omit || listed(item),
                |items| input.own.title_of(input.dir, items.iter().map(|i| (*i, Some(o.clone())))),
            );
            let bytes = input
                .books
                .write(&spec)
                .map_err(|e| ComposeError::Workbook { agency: o.to_string(), message: e.to_string() })?;
            Ok(FileAttachment { name: workbook_name(input.period, o), content_type: XLSX.to_string(), bytes })
        })
        .collect()
}

/// A digest as a message ready to queue.
pub fn compose(input: &ComposeInput<'_>, d: &Digest) -> Result<NewMessage, ComposeError> {
    let files = match d.kind {
        MessageKind::Reminder => attachments(input, d)?,
        MessageKind::Correction => Vec::new(),
    };
    let ctx = context(input, d, files.iter().map(|f| f.name.clone()).collect());
    let rendered = input.templates.render(d.kind.as_str(), &ctx)?;
    let mut recipients = d.to.clone();
    recipients.extend(d.cc.iter().cloned());
    Ok(NewMessage {
        key: d.key.clone(),
        plan_id: input.catalog.plan.id.clone(),
        period: input.period,
        agency: d.agency.to_string(),
        round: input.round.id.clone(),
        kind: d.kind.as_str(),
        run_id: input.run_id,
        evaluation_run: input.evaluation_run,
        items: serde_json::to_string(&d.rows.iter().chain(&d.group_rows).collect::<Vec<_>>())
            .unwrap_or_else(|_| "[]".into()),
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
        message_id: message_id(&d.key, input.from),
        sender: input.from.name.clone(),
        not_before: d.not_before,
        recipients,
        attachments: files,
    })
}

/// What the composing threads share, owned (they outlive no borrow).
pub struct Shared {
    pub catalog: Arc<Catalog>,
    pub dir: Arc<Directory>,
    pub calendar: ReportingCalendar,
    pub assignments: Arc<Assignments>,
    pub templates: Arc<Templates>,
    pub books: WorkbookCache,
    pub known: Arc<Known>,
    pub period: Period,
    pub round: Round,
    pub subject_prefix: String,
    pub from: Mailbox,
    pub coordinator: Named,
    pub now: DateTime<Utc>,
    pub run_id: Option<i64>,
    pub evaluation_run: Option<i64>,
    pub group_mode: super::GroupItems,
    pub own: Arc<OwnItems>,
}

impl Shared {
    pub fn input(&self) -> ComposeInput<'_> {
        ComposeInput {
            catalog: &self.catalog,
            dir: &self.dir,
            calendar: &self.calendar,
            assignments: &self.assignments,
            templates: &self.templates,
            books: &self.books,
            known: &self.known,
            period: self.period,
            round: &self.round,
            subject_prefix: &self.subject_prefix,
            from: &self.from,
            coordinator: self.coordinator.clone(),
            now: self.now,
            run_id: self.run_id,
            evaluation_run: self.evaluation_run,
            group_mode: self.group_mode,
            own: &self.own,
        }
    }
}

/// A composed digest (by its index) or why it could not be.
pub type Composed = (usize, Result<NewMessage, ComposeError>);

/// Composes the digests on every core, sending each message as soon as it is ready, so
/// the caller queues while the rest is still being written. Returns when all threads are
/// started; the channel closes when they are done.
pub fn compose_into(shared: Arc<Shared>, digests: Arc<Vec<Digest>>, tx: tokio::sync::mpsc::Sender<Composed>) {
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get).min(digests.len().max(1));
    for t in 0..threads {
        let (s, d, sender) = (shared.clone(), digests.clone(), tx.clone());
        let spawned = std::thread::Builder::new().name(format!("compose-{t}")).spawn(move || {
            let input = s.input();
            for i in (t..d.len()).step_by(threads) {
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| compose(&input, &d[i])))
                    .unwrap_or_else(|_| {
                        Err(ComposeError::Workbook {
                            agency: d[i].agency.to_string(),
                            message: "composition panicked".into(),
                        })
                    });
                if sender.blocking_send((i, result)).is_err() {
                    return;
                }
            }
        });
        if let Err(e) = spawned {
            // No thread: compose here, in order, rather than lose the digests.
            tracing::warn!("cannot start a composing thread ({e}); composing on the caller's thread");
            let input = shared.input();
            for i in (t..digests.len()).step_by(threads) {
                if tx.blocking_send((i, compose(&input, &digests[i]))).is_err() {
                    return;
                }
            }
        }
    }
}
