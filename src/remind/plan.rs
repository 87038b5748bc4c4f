//! Who gets what in a round: the gap rows of a period grouped into one digest per agency
//! that must act, routed through successors and collecting units, with the copies the round
//! asks for; corrections for agencies whose gaps a late report cleared; the agencies that
//! cannot be reached, listed rather than dropped.
//!
//! Pure: the job feeds it the rows, the directory and what the outbox already holds.
//!
//! Owns: `plan_round`, `RoundPlan`, `Digest`, `MessageKind`, `Unreachable`, `OwnItems`,
//! `message_key`, `route` and the round timing (`due_round`, `round_opens`). Receives: a
//! `PlanInput` from `jobs::remind`: the `evaluate::GapRow`s, the `catalog::plan::Catalog`
//! and `catalog::Directory`, the `Round` and `RemindSettings`, and
//! `warehouse::LastMessage`s. Hands on: the `RoundPlan` (digests with their
//! `warehouse::NewRecipient`s, and the unreachable agencies) to `jobs::remind` and, digest
//! by digest, to `remind::compose`; `OwnItems` also to `cli::collect`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;

use super::settings::{Copy, GroupItems, Round};
use super::{RemindSettings, SendingCalendar};
use crate::catalog::Directory;
use crate::catalog::plan::Catalog;
use crate::domain::{AgencyId, Period};
use crate::evaluate::{GapRow, RowKind, Status};
use crate::warehouse::{LastMessage, NewRecipient};

/// What a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    Reminder,
    /// "Đã nhận báo cáo, không cần thực hiện": a late report cleared what an earlier
    /// reminder asked for.
    Correction,
}

impl MessageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Reminder => "reminder",
            MessageKind::Correction => "correction",
        }
    }
}

/// One message to one agency in one round.
#[derive(Debug, Clone, Serialize)]
pub struct Digest {
    /// `plan/period/agency/round`: unique in the outbox.
    pub key: String,
    pub kind: MessageKind,
    /// The agency written to (after successor and collecting-unit routing).
    pub agency: AgencyId,
    pub agency_name: String,
    /// The agencies whose items are listed (the recipient itself, dissolved predecessors,
    /// units it collects for): each gets its own workbook attached.
    pub origins: Vec<AgencyId>,
    /// Names of the origins other than the recipient.
    pub on_behalf: Vec<String>,
    /// The items the plan assigns to the agency (or its predecessors) by name.
    pub rows: Vec<GapRow>,
    /// Items it answers for as a member of a group lead, shown as `[remind] group_items`
    /// says (empty when they are left out).
    pub group_rows: Vec<GapRow>,
    /// `Nhiệm vụ chung của các sở, ban, ngành tỉnh`.
    pub group_title: String,
    /// Group items that need action and are counted, not listed (`group_items = "count"`).
    pub group_more: usize,
    pub to: Vec<NewRecipient>,
    pub cc: Vec<NewRecipient>,
    /// Earliest send: the round's opening, the interval since the last message.
    pub not_before: DateTime<Utc>,
    /// Set when the minimum interval pushed `not_before` later.
    pub held_by_interval: bool,
    /// Copies the round asked for that have no address.
    pub copies_missing: Vec<String>,
    /// For a correction: when the withdrawn reminder was written.
    pub reminded_at: Option<DateTime<Utc>>,
}

/// An agency that should be written to and cannot be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unreachable {
    pub agency: String,
    pub name: String,
    pub reason: String,
    /// Items it would have been reminded of.
    pub items: usize,
}

/// The plan of a round.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RoundPlan {
    pub digests: Vec<Digest>,
    pub unreachable: Vec<Unreachable>,
    /// Agencies whose reminder is still waiting to be sent and who have nothing left to
    /// do: the reminder is withdrawn (no correction is needed for a message never sent).
    pub withdraw: Vec<AgencyId>,
}

/// Everything the planner reads.
pub struct PlanInput<'a> {
    pub catalog: &'a Catalog,
    pub dir: &'a Directory,
    pub settings: &'a RemindSettings,
    pub sending: &'a SendingCalendar,
    pub coordinator: &'a AgencyId,
    pub plan_id: &'a str,
    pub period: Period,
    pub round: &'a Round,
    /// The round's opening (the due date plus its offset, at the next working window).
    pub opens_at: DateTime<Utc>,
    pub now: DateTime<Utc>,
    /// The local date recipients are resolved on (successors of merged agencies).
    pub today: NaiveDate,
    /// The period's cut-off: the agency responsible then names the message's key, so a
    /// round sent to a predecessor is never sent again to its successor.
    pub responsible_on: NaiveDate,
    pub rows: &'a [GapRow],
    /// The last message of this period to each agency.
    pub last: &'a HashMap<String, LastMessage>,
    /// Appended to keys when the operator forces a round already sent (`#r<run>`).
    pub key_suffix: Option<String>,
}

/// Which rows are an agency's own: items the plan gives it by name. An agency the plan
/// names for nothing (a commune, a district) answers its group's items as its own: they
/// are all it has.
pub struct OwnItems {
    named: std::collections::HashSet<(crate::domain::ItemKey, AgencyId)>,
    named_anywhere: BTreeSet<AgencyId>,
    /// Each item's group leads, with their names.
    groups: HashMap<crate::domain::ItemKey, Vec<(AgencyId, String)>>,
}

impl OwnItems {
    pub fn new(catalog: &Catalog, dir: &Directory) -> Self {
        let mut named = std::collections::HashSet::new();
        let mut named_anywhere = BTreeSet::new();
        let mut groups: HashMap<crate::domain::ItemKey, Vec<(AgencyId, String)>> = HashMap::new();
        for ind in &catalog.indicators {
            for l in &ind.lead {
                match dir.get(l) {
                    Some(a) if a.is_group() => groups.entry(ind.key).or_default().push((l.clone(), a.name.clone())),
                    _ => {
                        named.insert((ind.key, l.clone()));
                        named_anywhere.insert(l.clone());
                    }
                }
            }
        }
        Self { named, named_anywhere, groups }
    }

    /// The row is the agency's own (or a province-wide row of an item it leads alone).
    pub fn is_own(&self, row: &GapRow) -> bool {
        let Ok(agency) = AgencyId::parse(&row.agency) else { return true };
        self.is_own_item(row.item, &agency)
    }

    /// The plan gives `item` to `agency` by name (or the agency is named for nothing).
    pub fn is_own_item(&self, item: crate::domain::ItemKey, agency: &AgencyId) -> bool {
        self.named.contains(&(item, agency.clone())) || !self.named_anywhere.contains(agency)
    }

    /// `Nhiệm vụ chung của các sở, ban, ngành tỉnh`: the group the rows' agency answers
    /// them as a member of, or `… của các nhóm đơn vị` when it is several.
    pub fn title<'r>(&self, dir: &Directory, rows: impl IntoIterator<Item = &'r GapRow>) -> String {
        self.title_of(dir, rows.into_iter().map(|r| (r.item, AgencyId::parse(&r.agency).ok())))
    }

    /// [`OwnItems::title`] of items, each with the agency answering it.
    pub fn title_of(
        &self,
        dir: &Directory,
        items: impl IntoIterator<Item = (crate::domain::ItemKey, Option<AgencyId>)>,
    ) -> String {
        let mut names: BTreeSet<&str> = BTreeSet::new();
        for (item, agency) in items {
            let Some(leads) = self.groups.get(&item) else { continue };
            let mine = leads.iter().find(|(g, _)| agency.as_ref().is_some_and(|a| dir.belongs_to(g, a)));
            if let Some((_, name)) = mine.or(leads.first()) {
                names.insert(name);
            }
        }
        match names.into_iter().collect::<Vec<_>>().as_slice() {
            [one] => {
                let mut c = one.chars();
                let lowered: String = c.next().map(|f| f.to_lowercase().chain(c).collect()).unwrap_or_default();
                format!("Nhiệm vụ chung của {lowered}")
            }
            _ => "Nhiệm vụ chung của các nhóm đơn vị".into(),
        }
    }
}

/// The name an agency writes itself in a letter: a district or commune is its People's
/// Committee (`UBND huyện Long Hồ`, `UBND xã An Bình`); others by their name (`Sở Y tế`).
pub fn addressee(a: &crate::catalog::Agency) -> String {
    use crate::catalog::Level;
    let name = a.name.trim();
    if !matches!(a.level, Level::District | Level::Commune) || name.starts_with("UBND") {
        return name.to_string();
    }
    let mut c = name.chars();
    let lowered: String = c.next().map(|f| f.to_lowercase().chain(c).collect()).unwrap_or_default();
    format!("UBND {lowered}")
}

/// The idempotency key of a message.
pub fn message_key(plan: &str, period: Period, agency: &str, round: &str) -> String {
    format!("{plan}/{period}/{agency}/{round}")
}

/// A row the round asks an agency to act on.
fn in_round(row: &GapRow, round: &Round) -> bool {
    round.statuses.contains(&row.status) && (row.status != Status::NotDue || row.actual.is_none())
}

/// A row that still asks something of its agency, whatever the round.
fn still_open(row: &GapRow) -> bool {
    row.status.needs_action() || (row.status == Status::NotDue && row.actual.is_none())
}

/// Who answers for `agency`'s rows today: its collecting unit, then its successor.
pub fn route(dir: &Directory, agency: &AgencyId, today: NaiveDate) -> Result<AgencyId, String> {
    let Some(a) = dir.get(agency) else { return Err("không có trong danh mục cơ quan".into()) };
    let via = a.contact_via.clone().unwrap_or_else(|| agency.clone());
    match dir.current(&via, today) {
        Some(id) => Ok(id),
        None => {
            let v = dir.get(&via).map_or(via.as_str(), |x| x.name.as_str()).to_string();
            Err(format!("{v} đã giải thể hoặc sáp nhập và không có đơn vị kế thừa trong danh mục"))
        }
    }
}

fn recipients(dir: &Directory, id: &AgencyId, kind: &'static str) -> Vec<NewRecipient> {
    let Some(a) = dir.get(id) else { return Vec::new() };
    a.emails
        .iter()
        .filter(|e| !e.trim().is_empty())
        .map(|e| NewRecipient { address: e.trim().to_string(), name: addressee(a), kind, agency: Some(id.to_string()) })
        .collect()
}

/// Plans a round: routes the rows to the agencies answering them today, one reminder per
/// agency with what the round asks of it, and for agencies reminded earlier that have
/// nothing left to do, a withdrawal or a correction.
pub fn plan_round(input: &PlanInput<'_>) -> RoundPlan {
    let dir = input.dir;
    let own = OwnItems::new(input.catalog, dir);
    let routed = route_rows(input, &own);
    let mut plan = RoundPlan::default();
    for (agency, (reason, items)) in routed.unroutable {
        let name = dir.get_str(&agency).map_or_else(|| agency.clone(), |a| a.name.clone());
        plan.unreachable.push(Unreachable { agency, name, reason, items });
    }
    // Items one named agency leads: it depends on the co-agencies the plan names for
    // them. (On items a whole level leads — every commune — the co-agencies are the
    // province's departments, who follow the level, not each unit: not copied.)
    let named_co: HashMap<crate::domain::ItemKey, &[AgencyId]> = input
        .catalog
        .indicators
        .iter()
        .filter(|i| matches!(i.lead.as_slice(), [one] if dir.get(one).is_some_and(|a| !a.is_group())))
        .map(|i| (i.key, i.co.as_slice()))
        .collect();
    for ((responsible, agency), all) in routed.routed {
        match reminder(input, &own, &named_co, &responsible, &agency, all) {
            Some(Ok(d)) => plan.digests.push(d),
            Some(Err(u)) => plan.unreachable.push(u),
            None => {}
        }
    }
    clear_or_correct(input, &routed.open, &mut plan);
    plan
}

/// The round's rows, by the agency responsible in the period and the agency they are
/// delivered to today.
struct Routed<'r> {
    routed: BTreeMap<(AgencyId, AgencyId), Vec<&'r GapRow>>,
    /// The agencies (delivered to) that still have something to do, whatever the round.
    open: BTreeSet<String>,
    /// Agencies no one answers for today: why, and how many of the round's rows they hold.
    unroutable: BTreeMap<String, (String, usize)>,
}

fn route_rows<'r>(input: &PlanInput<'r>, own: &OwnItems) -> Routed<'r> {
    let (dir, round) = (input.dir, input.round);
    let mut out = Routed { routed: BTreeMap::new(), open: BTreeSet::new(), unroutable: BTreeMap::new() };
    let mode = input.settings.group_items;
    // A group item keeps a digest open only when group items are a section of their own.
    let counts = |row: &GapRow| mode == GroupItems::Section || row.status == Status::Refused || own.is_own(row);
    for row in input.rows {
        if row.kind == RowKind::Aggregate
            && (row.agency == "*" || dir.get_str(&row.agency).is_none_or(|a| a.is_group()))
        {
            continue;
        }
        let Ok(agency) = AgencyId::parse(&row.agency) else { continue };
        match route(dir, &agency, input.today) {
            Ok(to) => {
                if still_open(row) && counts(row) {
                    out.open.insert(to.to_string());
                }
                if in_round(row, round) {
                    let responsible = route(dir, &agency, input.responsible_on).unwrap_or_else(|_| to.clone());
                    out.routed.entry((responsible, to)).or_default().push(row);
                }
            }
            Err(reason) => {
                if in_round(row, round) {
                    let e = out.unroutable.entry(row.agency.clone()).or_insert((reason, 0));
                    e.1 += 1;
                }
            }
        }
    }
    out
}

/// When an agency's message may go: when sending opens, or later if the round's minimum
/// interval since its last message is not over (then `true`).
fn schedule(input: &PlanInput<'_>, agency: &AgencyId) -> (DateTime<Utc>, bool) {
    let interval = Duration::hours(i64::try_from(input.round.min_interval_hours).unwrap_or(i64::MAX / 7200));
    let base = input.opens_at.max(input.now);
    match input.last.get(agency.as_str()).filter(|m| m.status != "cancelled") {
        Some(m) => {
            let after = m.sent_at.unwrap_or(m.created_at) + interval;
            if after > base { (after, true) } else { (base, false) }
        }
        None => (base, false),
    }
}

/// The idempotency key of an agency's message in this round (with the forced rerun's suffix).
fn round_key(input: &PlanInput<'_>, agency: &AgencyId) -> String {
    let k = message_key(input.plan_id, input.period, agency.as_str(), &input.round.id);
    match &input.key_suffix {
        Some(s) => format!("{k}{s}"),
        None => k,
    }
}

/// The reminder of one agency, with the rows it is asked about: `None` if the round asks
/// nothing of it after all, an [`Unreachable`] if the directory has no address for it.
fn reminder(
    input: &PlanInput<'_>,
    own: &OwnItems,
    named_co: &HashMap<crate::domain::ItemKey, &[AgencyId]>,
    responsible: &AgencyId,
    agency: &AgencyId,
    all: Vec<&GapRow>,
) -> Option<Result<Digest, Unreachable>> {
    let dir = input.dir;
    let mode = input.settings.group_items;
    let a = dir.get(agency)?;
    let (rows, group): (Vec<&GapRow>, Vec<&GapRow>) = all.into_iter().partition(|r| own.is_own(r));
    // A figure the agency sent and chiso refused is listed whatever the mode: the
    // agency answered the item and must correct it.
    let (group, rest): (Vec<&GapRow>, Vec<&GapRow>) =
        group.into_iter().partition(|r| mode == GroupItems::Section || r.status == Status::Refused);
    let group_more = if mode == GroupItems::Count { rest.len() } else { 0 };
    if rows.is_empty() && group.is_empty() {
        return None;
    }
    let to = recipients(dir, agency, "to");
    if to.is_empty() {
        return Some(Err(Unreachable {
            agency: agency.to_string(),
            name: a.name.clone(),
            reason: "không có địa chỉ thư điện tử trong danh mục".into(),
            items: rows.len(),
        }));
    }
    let mut origins: Vec<AgencyId> = Vec::new();
    for r in rows.iter().chain(&group) {
        if let Ok(o) = AgencyId::parse(&r.agency)
            && !origins.contains(&o)
            && dir.get(&o).is_some_and(|x| !x.is_group())
        {
            origins.push(o);
        }
    }
    origins.sort_by_key(|o| o != agency);
    let on_behalf =
        origins.iter().filter(|o| *o != agency).filter_map(|o| dir.get(o)).map(|x| x.name.clone()).collect();
    let (cc, copies_missing) = copies(input, named_co, a, agency, &to, &rows);
    let (not_before, held) = schedule(input, agency);
    Some(Ok(Digest {
        key: round_key(input, responsible),
        kind: MessageKind::Reminder,
        agency_name: addressee(a),
        agency: agency.clone(),
        origins,
        on_behalf,
        rows: rows.into_iter().cloned().collect(),
        group_title: own.title(dir, group.iter().chain(&rest).copied()),
        group_rows: group.into_iter().cloned().collect(),
        group_more,
        to,
        cc,
        not_before,
        held_by_interval: held,
        copies_missing,
        reminded_at: None,
    }))
}

/// Whom the round copies on an agency's reminder (the coordinator, its supervisor, the
/// co-agencies of its items), and the names of those the directory has no address for.
fn copies(
    input: &PlanInput<'_>,
    named_co: &HashMap<crate::domain::ItemKey, &[AgencyId]>,
    a: &crate::catalog::Agency,
    agency: &AgencyId,
    to: &[NewRecipient],
    rows: &[&GapRow],
) -> (Vec<NewRecipient>, Vec<String>) {
    let dir = input.dir;
    let mut cc: Vec<NewRecipient> = Vec::new();
    let mut missing = Vec::new();
    let mut add_cc = |id: &AgencyId| {
        if id == agency {
            return;
        }
        let found = recipients(dir, id, "cc");
        if found.is_empty() {
            let n = dir.get(id).map_or_else(|| id.to_string(), |x| x.name.clone());
            if !missing.contains(&n) {
                missing.push(n);
            }
        }
        for r in found {
            if !to.iter().any(|t| t.address.eq_ignore_ascii_case(&r.address))
                && !cc.iter().any(|t| t.address.eq_ignore_ascii_case(&r.address))
            {
                cc.push(r);
            }
        }
    };
    for c in &input.round.copy {
        let id = match c {
            Copy::Coordinator => dir.current(input.coordinator, input.today),
            Copy::Supervisor => a.parent.as_ref().and_then(|p| dir.current(p, input.today)),
        };
        if let Some(id) = id {
            add_cc(&id);
        }
    }
    if input.round.copy_co_agencies {
        let mut co: Vec<AgencyId> = Vec::new();
        for r in rows {
            for c in named_co.get(&r.item).copied().unwrap_or_default() {
                if dir.get(c).is_some_and(|x| !x.is_group())
                    && let Some(cur) = dir.current(c, input.today)
                    && !co.contains(&cur)
                {
                    co.push(cur);
                }
            }
        }
        for c in &co {
            add_cc(c);
        }
    }
    (cc, missing)
}

/// Agencies reminded earlier in the period, now with nothing left to do: a reminder still
/// queued is withdrawn; one sent is followed by a correction with the next round, under
/// that round's key.
fn clear_or_correct(input: &PlanInput<'_>, open: &BTreeSet<String>, plan: &mut RoundPlan) {
    let dir = input.dir;
    let mut cleared: Vec<(&String, &LastMessage)> = input
        .last
        .iter()
        .filter(|(agency, m)| m.kind == "reminder" && m.status != "cancelled" && !open.contains(agency.as_str()))
        .collect();
    cleared.sort_by(|a, b| a.0.cmp(b.0));
    for (agency, m) in cleared {
        let Ok(id) = AgencyId::parse(agency) else { continue };
        if m.status == "queued" {
            plan.withdraw.push(id);
            continue;
        }
        if !input.settings.corrections || m.round == input.round.id {
            continue;
        }
        let Some(a) = dir.get(&id) else { continue };
        let to = recipients(dir, &id, "to");
        if to.is_empty() {
            continue;
        }
        let (not_before, held) = schedule(input, &id);
        plan.digests.push(Digest {
            key: round_key(input, &id),
            kind: MessageKind::Correction,
            agency_name: addressee(a),
            agency: id.clone(),
            origins: Vec::new(),
            on_behalf: Vec::new(),
            rows: Vec::new(),
            group_rows: Vec::new(),
            group_title: String::new(),
            group_more: 0,
            to,
            cc: Vec::new(),
            not_before,
            held_by_interval: held,
            copies_missing: Vec::new(),
            reminded_at: Some(m.sent_at.unwrap_or(m.created_at)),
        });
    }
}

/// Which round a run sends when the operator names none: the latest whose opening has
/// passed. Earlier open rounds that never went out are superseded (a daemon that was down
/// sends the latest round late, once, rather than every missed one).
pub fn due_round<'a>(
    rounds: &'a [Round],
    sending: &SendingCalendar,
    due_date: NaiveDate,
    now: DateTime<Utc>,
) -> Option<(&'a Round, DateTime<Utc>)> {
    rounds
        .iter()
        .filter_map(|r| {
            let day = due_date.checked_add_signed(Duration::days(r.offset_days))?;
            let opens = sending.opening_on_or_after(day);
            (opens <= now).then_some((r, opens))
        })
        .max_by_key(|(r, opens)| (*opens, r.offset_days))
}

/// When a round opens for a period.
pub fn round_opens(round: &Round, sending: &SendingCalendar, due_date: NaiveDate) -> DateTime<Utc> {
    let day = due_date.checked_add_signed(Duration::days(round.offset_days)).unwrap_or(due_date);
    sending.opening_on_or_after(day)
}
