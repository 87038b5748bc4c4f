//! The agency directory (`config/agencies.toml`): every agency and group the plan names,
//! with aliases, contact addresses, validity dates and successors.
//!
//! The plan spells one agency many ways (`Sở NN& PTNT`, `Sở Nông nghiệp và PTNT`,
//! `Sở NN&PNTN`), packs several into one cell with commas that also occur inside names
//! (`Sở Văn hóa, Thể thao và Du lịch, Sở NN& PTNT và UBND xã Thuận An`), and names
//! groups (`UBND cấp xã`) whose members change with the 2024–2025 mergers. This module
//! owns all of that: [`Directory::parse_list`] splits a cell by longest alias match,
//! [`Directory::members_at`] expands a group as it stood on a date, and
//! [`Directory::current`] follows successors from a dissolved agency to the one that
//! answers for it today.
//!
//! Alias matching is NFC-, case-, space- and punctuation-insensitive ([`compact_key`]).
//!
//! Owns: `Directory`, `Agency`, `Level`, `Members` and name resolution (`resolve`,
//! `parse_list`, `ParsedList`, `ResolveError`). Receives: `config/agencies.toml` (or the
//! embedded copy, through `app::load_directory`); names as written in the plan, workbooks
//! and source records. Hands on: `AgencyId`s and `Agency` records to every stage
//! (`catalog::plan`, `catalog::assign`, `ingest`, `evaluate`, `report`, `remind`,
//! `sources::check`, `warehouse::catalog`) and to `cli`; it is also the
//! `domain::target::UnitListParser` used for targets.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::domain::AgencyId;
use crate::domain::target::{UnitListParser, UnitRef};
use crate::text::{clean, compact_key, fold};

/// Where an agency sits. Groups have their own level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// The Provincial People's Committee itself.
    Committee,
    /// A provincial department or agency (sở, ban, ngành tỉnh).
    Province,
    /// A provincial unit of a central ministry (Công an tỉnh, Cục Thuế).
    Central,
    /// A district-level People's Committee (abolished 1/7/2025).
    District,
    /// A commune-level People's Committee (xã, phường, thị trấn).
    Commune,
    /// Press agencies.
    Press,
    /// Mass organizations and associations.
    Organization,
    /// Enterprises, schools, hospitals and other non-state or service units.
    External,
    /// A named set of agencies (`UBND cấp xã`).
    Group,
}

impl Level {
    pub fn vi(self) -> &'static str {
        match self {
            Level::Committee => "UBND tỉnh",
            Level::Province => "Sở, ban, ngành tỉnh",
            Level::Central => "Cơ quan Trung ương trên địa bàn",
            Level::District => "UBND cấp huyện",
            Level::Commune => "UBND cấp xã",
            Level::Press => "Cơ quan báo chí",
            Level::Organization => "Tổ chức chính trị - xã hội, hội",
            Level::External => "Doanh nghiệp, đơn vị khác",
            Level::Group => "Nhóm đơn vị",
        }
    }
}

/// Who belongs to a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Members {
    /// Named members; dissolved ones are replaced by their successors at the date asked.
    List(Vec<AgencyId>),
    /// Every agency of a level (optionally under one parent) valid at the date asked.
    Rule {
        level: Level,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        parent: Option<AgencyId>,
    },
}

/// One agency or group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Agency {
    /// Stable ASCII identifier, never reused.
    pub id: AgencyId,
    /// Official Vietnamese name.
    pub name: String,
    /// The short form used in tables (`Sở TT&TT`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short_name: Option<String>,
    pub level: Level,
    /// The unit above: the district of a commune, the People's Committee of a department.
    /// Escalation rounds copy it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<AgencyId>,
    /// Official code (GSO code for administrative units).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Where reminders go. Demo addresses use the reserved `.example` domain.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub emails: Vec<String>,
    /// Other spellings, as seen in the plan and in department files.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// First day the agency exists (inclusive); open when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<NaiveDate>,
    /// Last day the agency exists (inclusive); open when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_to: Option<NaiveDate>,
    /// Who answers for the agency after `valid_to`; the first is reminded, the others
    /// took over parts of its area or duties.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub successors: Vec<AgencyId>,
    /// Members, for groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members: Option<Members>,
    /// For units that are not reminded directly (schools, enterprises): the agency that
    /// collects their figures and receives their reminders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_via: Option<AgencyId>,
    /// Where the facts come from, or what is unverified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Agency {
    pub fn is_group(&self) -> bool {
        self.members.is_some() || self.level == Level::Group
    }

    pub fn valid_at(&self, date: NaiveDate) -> bool {
        self.valid_from.is_none_or(|from| from <= date) && self.valid_to.is_none_or(|to| date <= to)
    }

    /// Short name if any, else the official name.
    pub fn label(&self) -> &str {
        self.short_name.as_deref().unwrap_or(&self.name)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DirectoryFile {
    #[serde(default)]
    agency: Vec<Agency>,
}

/// Why the directory file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error("{}", crate::messages::catalog::cannot_read(.path, &crate::messages::io_reason(.source)))]
    Io { path: String, source: std::io::Error },
    #[error("{}", crate::messages::catalog::in_file(.path, .message))]
    Parse { path: String, message: String },
    #[error("{}", crate::messages::catalog::agency(.path, .id, .reason))]
    Invalid { path: String, id: String, reason: String },
}

/// An agency name found in a list, with the agency it resolved to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resolved {
    /// The text as written.
    pub raw: String,
    pub agency: AgencyId,
}

/// A list cell split into agencies, with whatever could not be resolved.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ParsedList {
    pub resolved: Vec<Resolved>,
    /// Fragments that matched no alias, as written.
    pub unresolved: Vec<String>,
}

impl ParsedList {
    pub fn ids(&self) -> Vec<AgencyId> {
        let mut seen = BTreeSet::new();
        self.resolved.iter().filter(|r| seen.insert(r.agency.clone())).map(|r| r.agency.clone()).collect()
    }
}

/// Why a single name did not resolve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("{}", crate::messages::catalog::unknown_agency(.0))]
    Unknown(String),
    #[error("{}", crate::messages::catalog::ambiguous_agency(.name, &candidates.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")))]
    Ambiguous { name: String, candidates: Vec<AgencyId> },
}

/// Words that only separate names in a list.
const SEPARATOR_WORDS: &[&str] = &["và", "với", "cùng", "cung"];
/// Words that may precede a name without being part of its alias.
const OPTIONAL_PREFIXES: &[&str] = &["các", "những"];

/// The loaded directory with its alias index.
#[derive(Debug, Clone)]
pub struct Directory {
    agencies: Vec<Agency>,
    by_id: HashMap<AgencyId, usize>,
    /// compact alias key → agencies carrying it.
    aliases: HashMap<String, Vec<usize>>,
    /// The longest alias, in words, bounding the list scan.
    max_alias_words: usize,
}

impl Directory {
    /// Reads and validates `config/agencies.toml`.
    pub fn load(path: &Path) -> Result<Self, DirectoryError> {
        let shown = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|source| DirectoryError::Io { path: shown.clone(), source })?;
        Self::from_toml(&text, &shown)
    }

    pub fn from_toml(text: &str, path: &str) -> Result<Self, DirectoryError> {
        let file: DirectoryFile = toml::from_str(text).map_err(|e| DirectoryError::Parse {
            path: path.to_string(),
            message: crate::messages::toml_error(text, &e),
        })?;
        Self::new(file.agency, path)
    }

    /// Builds the index after checking ids, references and dates.
    pub fn new(agencies: Vec<Agency>, path: &str) -> Result<Self, DirectoryError> {
        let invalid = |id: &AgencyId, reason: String| DirectoryError::Invalid {
            path: path.to_string(),
            id: id.to_string(),
            reason,
        };
        let mut by_id = HashMap::new();
        for (i, a) in agencies.iter().enumerate() {
            if by_id.insert(a.id.clone(), i).is_some() {
                return Err(invalid(&a.id, crate::messages::catalog::ID_TWICE.into()));
            }
        }
        for a in &agencies {
            let refs = a
                .parent
                .iter()
                .chain(&a.successors)
                .chain(&a.contact_via)
                .chain(match &a.members {
                    Some(Members::List(m)) => m.as_slice(),
                    _ => &[],
                })
                .chain(match &a.members {
                    Some(Members::Rule { parent: Some(p), .. }) => std::slice::from_ref(p),
                    _ => &[],
                });
            for r in refs {
                if !by_id.contains_key(r) {
                    return Err(invalid(&a.id, crate::messages::catalog::unknown_reference(r.as_str())));
                }
            }
            if let (Some(from), Some(to)) = (a.valid_from, a.valid_to)
                && from > to
            {
                return Err(invalid(
                    &a.id,
                    crate::messages::catalog::dates_reversed(&from.to_string(), &to.to_string()),
                ));
            }
            if !a.successors.is_empty() && a.valid_to.is_none() {
                return Err(invalid(&a.id, crate::messages::catalog::SUCCESSORS_WITHOUT_END.into()));
            }
            for email in &a.emails {
                if !looks_like_email(email) {
                    return Err(invalid(&a.id, crate::messages::catalog::not_an_email(email)));
                }
            }
            if clean(&a.name).is_empty() {
                return Err(invalid(&a.id, crate::messages::catalog::EMPTY_NAME.into()));
            }
        }
        let mut dir = Directory { agencies, by_id, aliases: HashMap::new(), max_alias_words: 1 };
        dir.index_aliases();
        Ok(dir)
    }

    fn index_aliases(&mut self) {
        let mut aliases: HashMap<String, Vec<usize>> = HashMap::new();
        let mut max_words = 1;
        for (i, a) in self.agencies.iter().enumerate() {
            for alias in alias_variants(a, &self.agencies, &self.by_id) {
                let words = words(&alias).len();
                let key = compact_key(&alias);
                if key.is_empty() {
                    continue;
                }
                max_words = max_words.max(words);
                let entry = aliases.entry(key).or_default();
                if !entry.contains(&i) {
                    entry.push(i);
                }
            }
        }
        self.aliases = aliases;
        self.max_alias_words = max_words;
    }

    pub fn len(&self) -> usize {
        self.agencies.len()
    }

    pub fn is_empty(&self) -> bool {
        self.agencies.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Agency> {
        self.agencies.iter()
    }

    pub fn get(&self, id: &AgencyId) -> Option<&Agency> {
        self.by_id.get(id).map(|&i| &self.agencies[i])
    }

    /// The agency's position in the directory: a dense index for bitsets and tables.
    pub fn index_of(&self, id: &AgencyId) -> Option<usize> {
        self.by_id.get(id).copied()
    }

    /// The agency at a dense index.
    pub fn at_index(&self, index: usize) -> &Agency {
        &self.agencies[index]
    }

    pub fn get_str(&self, id: &str) -> Option<&Agency> {
        AgencyId::parse(id).ok().and_then(|id| self.get(&id))
    }

    /// Resolves one name (or code). With a date, agencies not valid then are passed over,
    /// unless none is, in which case the dissolved one is returned (its successor answers
    /// for it: see [`Directory::current`]).
    pub fn resolve(&self, name: &str, date: Option<NaiveDate>) -> Result<AgencyId, ResolveError> {
        let key = compact_key(name);
        if let Some(id) = AgencyId::parse(name.trim()).ok().filter(|id| self.by_id.contains_key(id)) {
            return Ok(id);
        }
        if let Some(candidates) = self.aliases.get(&key) {
            return self.pick(candidates, date).ok_or_else(|| ResolveError::Ambiguous {
                name: clean(name),
                candidates: candidates.iter().map(|&i| self.agencies[i].id.clone()).collect(),
            });
        }
        let list = self.parse_list(name, date);
        match (list.resolved.as_slice(), list.unresolved.is_empty()) {
            ([one], true) => Ok(one.agency.clone()),
            _ => Err(ResolveError::Unknown(clean(name))),
        }
    }

    /// Of several agencies sharing an alias, the one valid at `date`; without a date or when
    /// none is valid then, the only candidate.
    fn pick(&self, candidates: &[usize], date: Option<NaiveDate>) -> Option<AgencyId> {
        if let Some(date) = date {
            let valid: Vec<usize> = candidates.iter().copied().filter(|&i| self.agencies[i].valid_at(date)).collect();
            if valid.len() == 1 {
                return Some(self.agencies[valid[0]].id.clone());
            }
            if valid.len() > 1 {
                return None;
            }
            // None valid then: the most recently dissolved one answers through its successor.
            return candidates
                .iter()
                .filter(|&&i| self.agencies[i].valid_to.is_some_and(|to| to < date))
                .max_by_key(|&&i| self.agencies[i].valid_to)
                .map(|&i| self.agencies[i].id.clone());
        }
        match candidates {
            [one] => Some(self.agencies[*one].id.clone()),
            _ => None,
        }
    }

    /// Splits a cell such as `Sở Văn hóa, Thể thao và Du lịch, Sở NN& PTNT và UBND xã
    /// Thuận An` into agencies by longest alias match. Commas and `và` separate names
    /// but also occur inside them, which is why splitting comes after matching.
    pub fn parse_list(&self, text: &str, date: Option<NaiveDate>) -> ParsedList {
        let cleaned = clean(text);
        let toks = words(&cleaned);
        let mut out = ParsedList::default();
        let mut pending: Option<(usize, usize)> = None; // byte span of unresolved words
        let flush = |pending: &mut Option<(usize, usize)>, out: &mut ParsedList| {
            if let Some((s, e)) = pending.take() {
                out.unresolved.push(cleaned[s..e].to_string());
            }
        };
        let mut i = 0;
        while i < toks.len() {
            let starts = if OPTIONAL_PREFIXES.contains(&toks[i].folded.as_str()) { vec![i, i + 1] } else { vec![i] };
            let found = starts.iter().find_map(|&s| self.longest_match(&toks, s, date).map(|m| (s, m)));
            if let Some((start, (end, id))) = found {
                flush(&mut pending, &mut out);
                out.resolved
                    .push(Resolved { raw: cleaned[toks[start].start..toks[end - 1].end].to_string(), agency: id });
                i = end;
                continue;
            }
            if SEPARATOR_WORDS.contains(&toks[i].folded.as_str()) {
                flush(&mut pending, &mut out);
                i += 1;
                continue;
            }
            // A comma or semicolon before this word ends the pending fragment.
            if i > 0 && cleaned[toks[i - 1].end..toks[i].start].contains([',', ';', '\n', '+']) {
                flush(&mut pending, &mut out);
            }
            pending = Some(match pending {
                Some((s, _)) => (s, toks[i].end),
                None => (toks[i].start, toks[i].end),
            });
            i += 1;
        }
        flush(&mut pending, &mut out);
        out
    }

    fn longest_match(&self, toks: &[Word], start: usize, date: Option<NaiveDate>) -> Option<(usize, AgencyId)> {
        if start >= toks.len() {
            return None;
        }
        let mut key = String::new();
        let mut best = None;
        for (offset, tok) in toks[start..].iter().take(self.max_alias_words).enumerate() {
            key.push_str(&tok.compact);
            if let Some(candidates) = self.aliases.get(&key)
                && let Some(id) = self.pick(candidates, date)
            {
                best = Some((start + offset + 1, id));
            }
        }
        best
    }

    /// The agency that answers for `id` on `date`: itself while valid, else its first
    /// successor (followed transitively). `None` when the chain ends in nothing valid.
    pub fn current(&self, id: &AgencyId, date: NaiveDate) -> Option<AgencyId> {
        let mut at = self.get(id)?;
        for _ in 0..16 {
            if at.valid_at(date) {
                return Some(at.id.clone());
            }
            if at.valid_from.is_some_and(|from| date < from) {
                return None;
            }
            at = self.get(at.successors.first()?)?;
        }
        None
    }

    /// The members of a group as it stood on `date`; an agency is its own only member.
    /// Dissolved named members are replaced by their successors; duplicates are removed.
    pub fn members_at(&self, id: &AgencyId, date: NaiveDate) -> Vec<AgencyId> {
        let Some(agency) = self.get(id) else { return Vec::new() };
        let mut out: Vec<AgencyId> = match &agency.members {
            None => self.current(id, date).into_iter().collect(),
            Some(Members::List(list)) => list
                .iter()
                .flat_map(|m| {
                    if self.get(m).is_some_and(Agency::is_group) {
                        self.members_at(m, date)
                    } else {
                        self.current(m, date).into_iter().collect()
                    }
                })
                .collect(),
            Some(Members::Rule { level, parent }) => self
                .agencies
                .iter()
                .filter(|a| a.level == *level && !a.is_group() && a.valid_at(date))
                .filter(|a| parent.as_ref().is_none_or(|p| a.parent.as_ref() == Some(p)))
                .map(|a| a.id.clone())
                .collect(),
        };
        let mut seen = BTreeSet::new();
        out.retain(|m| seen.insert(m.clone()));
        out
    }

    /// Whether `agency` is, at some time, a member of `group` (by its list, a listed
    /// group, a listed member's successor, or the group's level rule), whatever the date.
    pub fn belongs_to(&self, group: &AgencyId, agency: &AgencyId) -> bool {
        let (Some(g), Some(a)) = (self.get(group), self.get(agency)) else { return false };
        match &g.members {
            None => group == agency,
            Some(Members::List(list)) => list.iter().any(|m| {
                m == agency
                    || self.get(m).is_some_and(|x| x.is_group() && x.id != g.id && self.belongs_to(m, agency))
                    || self.get(m).is_some_and(|x| x.successors.contains(agency))
            }),
            Some(Members::Rule { level, parent }) => {
                a.level == *level && !a.is_group() && parent.as_ref().is_none_or(|p| a.parent.as_ref() == Some(p))
            }
        }
    }

    /// Every agency of a level valid on `date` (groups excluded).
    pub fn of_level(&self, level: Level, date: NaiveDate) -> Vec<AgencyId> {
        self.agencies
            .iter()
            .filter(|a| a.level == level && !a.is_group() && a.valid_at(date))
            .map(|a| a.id.clone())
            .collect()
    }

    /// The communes under a district on `date`.
    pub fn communes_of(&self, district: &AgencyId, date: NaiveDate) -> Vec<AgencyId> {
        self.agencies
            .iter()
            .filter(|a| a.level == Level::Commune && a.parent.as_ref() == Some(district) && a.valid_at(date))
            .map(|a| a.id.clone())
            .collect()
    }

    /// Alias keys carried by more than one agency valid on the same day: each is a place
    /// where a name cannot be resolved without more context.
    pub fn ambiguous_aliases(&self) -> Vec<(String, Vec<AgencyId>)> {
        let mut out = Vec::new();
        for (key, idx) in &self.aliases {
            if idx.len() < 2 {
                continue;
            }
            let overlapping: Vec<AgencyId> = idx
                .iter()
                .filter(|&&i| idx.iter().any(|&j| j != i && overlaps(&self.agencies[i], &self.agencies[j])))
                .map(|&i| self.agencies[i].id.clone())
                .collect();
            if !overlapping.is_empty() {
                out.push((key.clone(), overlapping));
            }
        }
        out.sort();
        out
    }

    /// A view of the directory as it stood on a date, for reading unit lists in targets.
    pub fn at(&self, date: NaiveDate) -> DirectoryAt<'_> {
        DirectoryAt { dir: self, date }
    }
}

fn overlaps(a: &Agency, b: &Agency) -> bool {
    let a_from = a.valid_from.unwrap_or(NaiveDate::MIN);
    let a_to = a.valid_to.unwrap_or(NaiveDate::MAX);
    let b_from = b.valid_from.unwrap_or(NaiveDate::MIN);
    let b_to = b.valid_to.unwrap_or(NaiveDate::MAX);
    a_from <= b_to && b_from <= a_to
}

/// The directory on a given date.
#[derive(Clone, Copy)]
pub struct DirectoryAt<'a> {
    pub dir: &'a Directory,
    pub date: NaiveDate,
}

impl UnitListParser for DirectoryAt<'_> {
    fn parse_units(&self, text: &str) -> Option<Vec<UnitRef>> {
        let list = self.dir.parse_list(text, Some(self.date));
        if list.resolved.is_empty() {
            return None;
        }
        let mut refs: Vec<UnitRef> =
            list.resolved.into_iter().map(|r| UnitRef { name: r.raw, agency: Some(r.agency) }).collect();
        refs.extend(list.unresolved.into_iter().map(|name| UnitRef { name, agency: None }));
        Some(refs)
    }
}

fn looks_like_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else { return false };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(|c| c.is_whitespace() || c == '<' || c == '>' || c == ',' || c == ';' || c == '"')
}

/// A word of a cell with its byte span and folded forms.
#[derive(Debug)]
struct Word {
    start: usize,
    end: usize,
    folded: String,
    compact: String,
}

fn words(s: &str) -> Vec<Word> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices().chain(std::iter::once((s.len(), ' '))) {
        let inside = i < s.len() && (c.is_alphanumeric() || is_combining(c));
        match (inside, start) {
            (true, None) => start = Some(i),
            (false, Some(st)) => {
                let w = &s[st..i];
                out.push(Word { start: st, end: i, folded: fold(w), compact: compact_key(w) });
                start = None;
            }
            _ => {}
        }
    }
    out
}

fn is_combining(c: char) -> bool {
    unicode_normalization::char::is_combining_mark(c)
}

/// Every spelling under which an agency is found: its names, its declared aliases, its
/// code, and the administrative forms officers use (`UBND xã Thuận An`, `tp Vĩnh Long`,
/// `Cục Thuế tỉnh`).
fn alias_variants(a: &Agency, all: &[Agency], by_id: &HashMap<AgencyId, usize>) -> Vec<String> {
    let mut out: Vec<String> = vec![a.name.clone()];
    out.extend(a.short_name.clone());
    out.extend(a.aliases.iter().cloned());
    match a.level {
        Level::District | Level::Commune => {
            if let Some(code) = &a.code {
                out.push(code.clone());
            }
            let (kind, base) = split_admin_name(&a.name);
            let kinds: Vec<&str> = match kind {
                "thành phố" => vec!["thành phố", "tp", "tp."],
                "thị xã" => vec!["thị xã", "tx", "tx."],
                "huyện" => vec!["huyện", "h", "h."],
                "thị trấn" => vec!["thị trấn", "tt", "tt."],
                "phường" => vec!["phường", "p", "p."],
                "xã" => vec!["xã", "x", "x."],
                _ => vec![],
            };
            let mut names: Vec<String> = kinds.iter().map(|k| format!("{k} {base}")).collect();
            if a.level == Level::District && fold(base) != "vĩnh long" {
                names.push(base.to_string());
            }
            // Qualified by district: `Phường 1, TP Vĩnh Long`, `Phường 1 (Vĩnh Long)`.
            if a.level == Level::Commune
                && let Some(district) = a.parent.as_ref().and_then(|p| by_id.get(p)).map(|&i| &all[i])
            {
                let (_, district_base) = split_admin_name(&district.name);
                for n in names.clone() {
                    names.push(format!("{n} {}", district.name));
                    names.push(format!("{n} {district_base}"));
                }
            }
            for n in names {
                out.push(format!("UBND {n}"));
                out.push(format!("Ủy ban nhân dân {n}"));
                out.push(n);
            }
        }
        Level::Group => {}
        _ => {
            for base in [a.name.clone()].into_iter().chain(a.short_name.clone()).chain(a.aliases.iter().cloned()) {
                let f = fold(&base);
                if !f.ends_with("tỉnh") && !f.ends_with("vĩnh long") {
                    out.push(format!("{base} tỉnh"));
                    out.push(format!("{base} tỉnh Vĩnh Long"));
                    out.push(format!("{base} Vĩnh Long"));
                }
            }
        }
    }
    out
}

/// `Thị trấn Long Hồ` → (`thị trấn`, `Long Hồ`).
fn split_admin_name(name: &str) -> (&'static str, &str) {
    let name = name.trim();
    for kind in ["thành phố", "thị xã", "huyện", "thị trấn", "phường", "xã"] {
        let folded = fold(name);
        if folded.starts_with(kind) && folded[kind.len()..].starts_with(' ') {
            // Same byte length: fold only lowercases (and moves tones, which these words lack).
            return (kind, name[kind.len()..].trim());
        }
    }
    ("", name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    const SAMPLE: &str = r#"
[[agency]]
id = "so_vhttdl"
name = "Sở Văn hóa, Thể thao và Du lịch"
short_name = "Sở VHTT&DL"
level = "province"
aliases = ["Sở Văn hóa, TT&DL", "Sở Văn hóa Thể thao"]

[[agency]]
id = "so_nnptnt"
name = "Sở Nông nghiệp và Phát triển nông thôn"
short_name = "Sở NN&PTNT"
level = "province"
aliases = ["Sở Nông nghiệp và PTNT", "Sở NN&PNTN"]
valid_to = "2025-02-28"
successors = ["so_nnmt"]

[[agency]]
id = "so_nnmt"
name = "Sở Nông nghiệp và Môi trường"
level = "province"
valid_from = "2025-03-01"

[[agency]]
id = "so_ct"
name = "Sở Công Thương"
level = "province"

[[agency]]
id = "tx_binh_minh"
name = "Thị xã Bình Minh"
level = "district"
code = "861"

[[agency]]
id = "xa_29806"
name = "Xã Thuận An"
level = "commune"
parent = "tx_binh_minh"
code = "29806"
valid_to = "2025-06-30"
successors = ["xa_29771_2025"]

[[agency]]
id = "xa_29771_2025"
name = "Phường Bình Minh"
level = "commune"
code = "29771"
valid_from = "2025-07-01"

[[agency]]
id = "cac_so_ban_nganh"
name = "Các sở, ban, ngành tỉnh"
level = "group"
aliases = ["Sở, ban, ngành"]
members = { level = "province" }

[[agency]]
id = "ubnd_cap_xa"
name = "UBND cấp xã"
level = "group"
members = { level = "commune" }
"#;

    fn dir() -> Directory {
        Directory::from_toml(SAMPLE, "sample.toml").unwrap()
    }

    #[test]
    fn aliases_ignore_case_space_and_punctuation() {
        let dir = dir();
        for name in [
            "Sở NN& PTNT",
            "Sở NN&PTNT",
            "Sở Nông nghiệp và PTNT",
            "Sở NN&PNTN",
            "sở nông nghiệp và phát triển nông thôn",
        ] {
            assert_eq!(dir.resolve(name, None).unwrap().as_str(), "so_nnptnt", "{name}");
        }
        assert_eq!(dir.resolve("Sở        Công Thương", None).unwrap().as_str(), "so_ct");
        assert_eq!(dir.resolve("Sở Công Thương tỉnh", None).unwrap().as_str(), "so_ct");
        assert_eq!(dir.resolve("UBND xã Thuận An", None).unwrap().as_str(), "xa_29806");
        assert_eq!(dir.resolve("29806", None).unwrap().as_str(), "xa_29806");
        assert_eq!(dir.resolve("UBND tx Bình Minh", None).unwrap().as_str(), "tx_binh_minh");
        assert!(matches!(dir.resolve("Sở Ngoại vụ", None), Err(ResolveError::Unknown(_))));
    }

    #[test]
    fn splits_lists_with_commas_inside_names() {
        let dir = dir();
        let list =
            dir.parse_list("Sở Văn hóa, Thể thao và Du lịch, Sở NN& PTNT và UBND xã Thuận An", Some(d(2023, 4, 6)));
        assert_eq!(list.unresolved, Vec::<String>::new());
        assert_eq!(list.ids().iter().map(AgencyId::as_str).collect::<Vec<_>>(), ["so_vhttdl", "so_nnptnt", "xa_29806"]);
        let list = dir.parse_list("Sở Văn hóa, TT&DL, Sở Công Thương, Sở Ngoại vụ, Các sở, ban, ngành tỉnh", None);
        assert_eq!(
            list.ids().iter().map(AgencyId::as_str).collect::<Vec<_>>(),
            ["so_vhttdl", "so_ct", "cac_so_ban_nganh"]
        );
        assert_eq!(list.unresolved, ["Sở Ngoại vụ"]);
    }

    #[test]
    fn groups_expand_as_they_stood() {
        let dir = dir();
        let before = dir.members_at(&AgencyId::parse("cac_so_ban_nganh").unwrap(), d(2024, 6, 14));
        assert!(before.iter().any(|m| m.as_str() == "so_nnptnt"));
        assert!(!before.iter().any(|m| m.as_str() == "so_nnmt"));
        let after = dir.members_at(&AgencyId::parse("cac_so_ban_nganh").unwrap(), d(2025, 6, 14));
        assert!(after.iter().any(|m| m.as_str() == "so_nnmt"));
        assert!(!after.iter().any(|m| m.as_str() == "so_nnptnt"));
        let communes = dir.members_at(&AgencyId::parse("ubnd_cap_xa").unwrap(), d(2025, 9, 14));
        assert_eq!(communes.iter().map(AgencyId::as_str).collect::<Vec<_>>(), ["xa_29771_2025"]);
    }

    #[test]
    fn successors_answer_for_dissolved_agencies() {
        let dir = dir();
        let id = AgencyId::parse("xa_29806").unwrap();
        assert_eq!(dir.current(&id, d(2025, 6, 30)).unwrap().as_str(), "xa_29806");
        assert_eq!(dir.current(&id, d(2025, 7, 1)).unwrap().as_str(), "xa_29771_2025");
        // A name that only a dissolved agency carries still resolves, to that agency.
        assert_eq!(dir.resolve("Xã Thuận An", Some(d(2025, 9, 1))).unwrap().as_str(), "xa_29806");
    }

    #[test]
    fn refuses_broken_files() {
        let bad_ref = SAMPLE.replace("successors = [\"so_nnmt\"]", "successors = [\"so_khong_co\"]");
        let err = Directory::from_toml(&bad_ref, "agencies.toml").unwrap_err().to_string();
        assert!(err.contains("so_nnptnt") && err.contains("so_khong_co"), "{err}");
        let dup = format!("{SAMPLE}\n[[agency]]\nid = \"so_ct\"\nname = \"X\"\nlevel = \"province\"\n");
        assert!(Directory::from_toml(&dup, "a.toml").unwrap_err().to_string().contains("được dùng hai lần"));
        let bad_mail = SAMPLE.replace("code = \"861\"", "code = \"861\"\nemails = [\"not an address\"]");
        assert!(
            Directory::from_toml(&bad_mail, "a.toml")
                .unwrap_err()
                .to_string()
                .contains("không phải địa chỉ thư điện tử")
        );
        let unknown_key = SAMPLE.replace("code = \"861\"", "code = \"861\"\nemail = \"x@y.example\"");
        let err = Directory::from_toml(&unknown_key, "a.toml").unwrap_err().to_string();
        assert!(err.contains("a.toml") && err.contains("email"), "{err}");
    }
}
