//! JSON endpoints: a path to the records, a field mapping, pagination, and the portal's
//! own codes for periods and figure types.
//!
//! Vĩnh Long's provincial reporting system, for one, numbers periods 1–12 (months),
//! 13–16 (quarters), 17–18 (half-years), 20 (year), and marks each figure as 1 plan,
//! 2 estimate, 3 actual or 4 official. A mapping such as
//! `period_codes = { "13" = 1, "14" = 2, "15" = 3, "16" = 4 }` and
//! `keep_kinds = ["4", "3"]` keeps the official figure of a quarter, else the actual one,
//! and nothing else.
//!
//! All pages of one collection are kept together as one raw snapshot
//! (`{"pages": [...]}`), so a period can be re-read without fetching.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::domain::Period;
use crate::ingest::normalize::Record;
use crate::ingest::sheet::Cell;

/// How the endpoint pages its records.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Pagination {
    /// One response holds everything.
    #[default]
    None,
    /// `?page=1&pageSize=100`, until a page has fewer records than `size`.
    Page {
        #[serde(default = "page_param")]
        param: String,
        #[serde(default)]
        size_param: Option<String>,
        #[serde(default = "page_size")]
        size: usize,
        #[serde(default = "one")]
        start: usize,
    },
    /// `?offset=0&limit=100`, until a page has fewer records than `limit`.
    Offset {
        #[serde(default = "offset_param")]
        param: String,
        #[serde(default = "limit_param")]
        limit_param: String,
        #[serde(default = "page_size")]
        limit: usize,
    },
    /// Each response gives the next page's URL at `path` (JSONPath), until it is absent.
    NextLink { path: String },
}

fn page_param() -> String {
    "page".into()
}
fn offset_param() -> String {
    "offset".into()
}
fn limit_param() -> String {
    "limit".into()
}
fn page_size() -> usize {
    100
}
fn one() -> usize {
    1
}

/// Field mapping of a JSON source. Fields are names or dotted paths inside a record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonMapping {
    /// JSONPath to the records: `$.data[*]`, `$.result.items[*]`.
    pub records: String,
    /// The plan item number (or the portal's code, translated by `item_codes`).
    pub item: String,
    pub value: String,
    /// The reporting unit's code or name.
    #[serde(default)]
    pub unit: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
    /// Unit of measure, which picks the measure of a composite indicator.
    #[serde(default)]
    pub uom: Option<String>,
    /// The record's year.
    #[serde(default)]
    pub year: Option<String>,
    /// The record's period: a code translated by `period_codes`, or a period such as
    /// `2024-Q2`.
    #[serde(default)]
    pub period: Option<String>,
    #[serde(default)]
    pub period_codes: BTreeMap<String, u8>,
    /// The figure type (plan, estimate, actual, official …).
    #[serde(default)]
    pub kind: Option<String>,
    /// Types to keep, most preferred first; others are ignored.
    #[serde(default)]
    pub keep_kinds: Vec<String>,
    /// The portal's indicator codes → plan item numbers.
    #[serde(default)]
    pub item_codes: BTreeMap<String, String>,
    /// Query parameters added to every request (`{year}`, `{quarter}` expanded).
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    #[serde(default)]
    pub pagination: Pagination,
}

impl JsonMapping {
    pub fn validate(&self) -> Result<(), String> {
        serde_json_path::JsonPath::parse(&self.records)
            .map_err(|e| format!("json.records `{}` is not a JSONPath: {e}", self.records))?;
        if let Pagination::NextLink { path } = &self.pagination {
            serde_json_path::JsonPath::parse(path)
                .map_err(|e| format!("json.pagination.path `{path}` is not a JSONPath: {e}"))?;
        }
        for (code, q) in &self.period_codes {
            if !(1..=4).contains(q) {
                return Err(format!("json.period_codes: `{code}` maps to quarter {q}, not 1–4"));
            }
        }
        if !self.keep_kinds.is_empty() && self.kind.is_none() {
            return Err("json.keep_kinds needs json.kind, the field that holds the figure type".into());
        }
        Ok(())
    }

    /// The next page's URL after `page` (0-based) returned `count` records, if any.
    pub fn next_page(&self, base: &reqwest::Url, page: usize, count: usize, body: &Json) -> Option<reqwest::Url> {
        match &self.pagination {
            Pagination::None => None,
            Pagination::Page { param, size_param, size, start } => (count >= *size && count > 0).then(|| {
                let mut u = base.clone();
                u.query_pairs_mut().append_pair(param, &(start + page + 1).to_string());
                if let Some(sp) = size_param {
                    u.query_pairs_mut().append_pair(sp, &size.to_string());
                }
                u
            }),
            Pagination::Offset { param, limit_param, limit } => (count >= *limit && count > 0).then(|| {
                let mut u = base.clone();
                u.query_pairs_mut()
                    .append_pair(param, &((page + 1) * limit).to_string())
                    .append_pair(limit_param, &limit.to_string());
                u
            }),
            Pagination::NextLink { path } => {
                let p = serde_json_path::JsonPath::parse(path).ok()?;
                let next = p.query(body).first()?.as_str()?.to_string();
                if next.is_empty() { None } else { base.join(&next).ok() }
            }
        }
    }

    /// The first page's URL.
    pub fn first_page(&self, base: &reqwest::Url) -> reqwest::Url {
        let mut u = base.clone();
        match &self.pagination {
            Pagination::Page { param, size_param, size, start } => {
                u.query_pairs_mut().append_pair(param, &start.to_string());
                if let Some(sp) = size_param {
                    u.query_pairs_mut().append_pair(sp, &size.to_string());
                }
            }
            Pagination::Offset { param, limit_param, limit } => {
                u.query_pairs_mut().append_pair(param, "0").append_pair(limit_param, &limit.to_string());
            }
            _ => {}
        }
        u
    }

    /// The records of a snapshot that belong to `period`, as rows for the normalizer.
    pub fn records(&self, snapshot: &Json, period: Period) -> Result<Vec<Record>, String> {
        let path = serde_json_path::JsonPath::parse(&self.records).map_err(|e| e.to_string())?;
        let pages: Vec<&Json> = match snapshot.get("pages").and_then(Json::as_array) {
            Some(p) => p.iter().collect(),
            None => vec![snapshot],
        };
        let mut kept: Vec<(usize, Record, String)> = Vec::new();
        let mut best: HashMap<(String, String, String), usize> = HashMap::new();
        for (page_no, page) in pages.iter().enumerate() {
            for (i, rec) in path.query(page).all().into_iter().enumerate() {
                let location = if pages.len() > 1 {
                    format!("trang {}, bản ghi {}", page_no + 1, i + 1)
                } else {
                    format!("bản ghi {}", i + 1)
                };
                if !self.in_period(rec, period) {
                    continue;
                }
                let kind = self.kind.as_deref().map(|k| scalar_text(field(rec, k))).unwrap_or_default();
                let rank = if self.keep_kinds.is_empty() {
                    0
                } else {
                    match self.keep_kinds.iter().position(|k| *k == kind) {
                        Some(r) => r,
                        None => continue,
                    }
                };
                let item_raw = scalar_text(field(rec, &self.item));
                let item = self.item_codes.get(&item_raw).cloned().unwrap_or(item_raw);
                let unit = self.unit.as_deref().map(|u| scalar_text(field(rec, u))).filter(|u| !u.is_empty());
                let uom = self.uom.as_deref().map(|u| scalar_text(field(rec, u))).filter(|u| !u.is_empty());
                let record = Record {
                    location,
                    // The portal's item code, mapped to the plan's key.
                    item: None,
                    plan_item: Some(Cell::Text(item.clone())),
                    value: json_cell(field(rec, &self.value)),
                    note: self.note.as_deref().map(|n| scalar_text(field(rec, n))).filter(|n| !n.is_empty()),
                    uom: uom.clone(),
                    unit: unit.clone(),
                    ..Default::default()
                };
                // Of several figure types for the same cell, the most preferred wins.
                let key = (item, unit.unwrap_or_default(), uom.unwrap_or_default());
                match best.get(&key) {
                    Some(&at) if kept[at].0 <= rank => {}
                    Some(&at) => kept[at] = (rank, record, kind),
                    None => {
                        best.insert(key, kept.len());
                        kept.push((rank, record, kind));
                    }
                }
            }
        }
        Ok(kept.into_iter().map(|(_, r, _)| r).collect())
    }

    fn in_period(&self, rec: &Json, period: Period) -> bool {
        if let Some(y) = &self.year {
            let year = scalar_text(field(rec, y));
            if !year.is_empty() && year != period.year().to_string() {
                return false;
            }
        }
        if let Some(p) = &self.period {
            let code = scalar_text(field(rec, p));
            if code.is_empty() {
                return true;
            }
            return match self.period_codes.get(&code) {
                Some(q) => *q == period.quarter(),
                None => code.parse::<Period>().is_ok_and(|p| p == period),
            };
        }
        true
    }
}

/// A field by name or dotted path (`a.b`, `$.a.b`).
fn field<'a>(rec: &'a Json, path: &str) -> &'a Json {
    let path = path.trim_start_matches('$').trim_start_matches('.');
    let mut cur = rec;
    for part in path.split('.') {
        cur = match cur.get(part) {
            Some(v) => v,
            None => return &Json::Null,
        };
    }
    cur
}

fn scalar_text(v: &Json) -> String {
    match v {
        Json::String(s) => s.trim().to_string(),
        Json::Number(n) => n.to_string(),
        Json::Bool(b) => b.to_string(),
        _ => String::new(),
    }
}

fn json_cell(v: &Json) -> Cell {
    match v {
        Json::Null => Cell::Empty,
        Json::Number(n) => n.as_f64().map_or(Cell::Empty, |value| Cell::Number { value, percent: false }),
        Json::String(s) => Cell::Text(s.clone()),
        Json::Bool(b) => Cell::Bool(*b),
        other => Cell::Text(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping() -> JsonMapping {
        toml::from_str(
            r#"
records = "$.data[*]"
item = "indicatorCode"
value = "value"
unit = "areaCode"
year = "dataYear"
period = "periodId"
period_codes = { "13" = 1, "14" = 2, "15" = 3, "16" = 4 }
kind = "dataTypeId"
keep_kinds = ["4", "3"]
item_codes = { "CDS-101" = "101" }
"#,
        )
        .unwrap()
    }

    #[test]
    fn keeps_the_quarter_and_the_preferred_figure_type() {
        let body = serde_json::json!({"data": [
            {"indicatorCode": "CDS-101", "areaCode": "86", "dataYear": 2024, "periodId": 14, "dataTypeId": 3, "value": 6.1},
            {"indicatorCode": "CDS-101", "areaCode": "86", "dataYear": 2024, "periodId": 14, "dataTypeId": 4, "value": 6.4},
            {"indicatorCode": "CDS-101", "areaCode": "86", "dataYear": 2024, "periodId": 14, "dataTypeId": 1, "value": 7.0},
            {"indicatorCode": "CDS-101", "areaCode": "86", "dataYear": 2024, "periodId": 13, "dataTypeId": 4, "value": 5.0},
            {"indicatorCode": "CDS-101", "areaCode": "86", "dataYear": 2023, "periodId": 14, "dataTypeId": 4, "value": 4.0},
            {"indicatorCode": "117", "areaCode": "855", "dataYear": 2024, "periodId": 14, "dataTypeId": 3, "value": "25,5"}
        ]});
        let recs = mapping().records(&body, Period::new(2024, 2).unwrap()).unwrap();
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0].plan_item, Some(Cell::Text("101".into())));
        assert_eq!(recs[0].value, Cell::Number { value: 6.4, percent: false });
        assert_eq!(recs[0].location, "bản ghi 2");
        assert_eq!(recs[1].unit.as_deref(), Some("855"));
        assert_eq!(recs[1].value, Cell::Text("25,5".into()));
    }

    #[test]
    fn pages_follow_their_scheme() {
        let base = reqwest::Url::parse("https://portal.example/api").unwrap();
        let mut m = mapping();
        m.pagination =
            Pagination::Page { param: "page".into(), size_param: Some("pageSize".into()), size: 2, start: 1 };
        assert_eq!(m.first_page(&base).as_str(), "https://portal.example/api?page=1&pageSize=2");
        assert_eq!(
            m.next_page(&base, 0, 2, &Json::Null).unwrap().as_str(),
            "https://portal.example/api?page=2&pageSize=2"
        );
        assert!(m.next_page(&base, 1, 1, &Json::Null).is_none());
        m.pagination = Pagination::NextLink { path: "$.links.next".into() };
        let body = serde_json::json!({"links": {"next": "/api?cursor=abc"}});
        assert_eq!(m.next_page(&base, 0, 5, &body).unwrap().as_str(), "https://portal.example/api?cursor=abc");
        assert!(m.next_page(&base, 0, 5, &serde_json::json!({"links": {}})).is_none());
        m.pagination = Pagination::Offset { param: "offset".into(), limit_param: "limit".into(), limit: 2 };
        assert_eq!(
            m.next_page(&base, 0, 2, &Json::Null).unwrap().as_str(),
            "https://portal.example/api?offset=2&limit=2"
        );
    }

    #[test]
    fn validation() {
        let mut m = mapping();
        m.records = "data[".into();
        assert!(m.validate().is_err());
        let mut m = mapping();
        m.period_codes.insert("99".into(), 7);
        assert!(m.validate().unwrap_err().contains("99"));
    }
}
