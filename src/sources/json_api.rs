//! JSON endpoints: a path to the records, a field mapping, pagination, and the portal's
//! own codes for periods, figure types, indicators and units.
//!
//! Vĩnh Long's provincial reporting system, for one, numbers periods 1–12 (months),
//! 13–16 (quarters), 17–18 (half-years), 20 (year), and marks each figure as 1 plan,
//! 2 estimate, 3 actual or 4 official. A mapping such as
//! `period_codes = { "13" = 1, "14" = 2, "15" = 3, "16" = 4 }` and
//! `keep_kinds = ["4", "3"]` keeps the official figure of a quarter, else the actual one,
//! and nothing else.
//!
//! **Codes belong to the source.** `item_pattern = "CDS-{item}"` reads the plan's number
//! out of the portal's indicator code (`CDS-7` and `CDS-007` are both item 7), `item_codes`
//! lists the exceptions, and `unit_codes = { "VL.DV.013" = "cuc_thue" }` maps the portal's
//! unit codes to the directory's agencies. A unit field is a code: it is matched against
//! `unit_codes` when the source has them, else against the directory's official codes
//! (GSO), never against names. A record whose unit code is missing or unknown is refused
//! with the code it gave.
//!
//! **Records are checked like cells.** Two records for the same unit, item, period and
//! unit of measure with the same figure type are a duplicate: both are refused, unless the
//! source names a `version` field (`ngay_cap_nhat`), in which case the later version is
//! kept. A JSON `true`/`false` is refused: the portal has no such status.
//!
//! **Pagination never stops early without saying so** ([`fetch_pages`]). The portal's
//! `total_pages` / `total` (configured, or found under their usual names) are followed, else
//! a next link, else pages are read until an empty one. A page smaller than asked while more
//! are announced reveals the portal's page-size cap, which is then asked for. A page that
//! fails after its retries is skipped and recorded; the pages read are kept. All pages of
//! one collection are kept together as one raw snapshot (`{"pages": [...], "page_numbers":
//! [...], "missing": [...]}`), so a period can be re-read without fetching, and its missing
//! pages are refused again when it is.
//!
//! Owns: `JsonMapping` (with `Pagination`, `Totals`, `ItemPattern`), `fetch_pages` with its
//! `Paged`, `Page`, `MissingPage` and `PagedError`, and `parse_json`. Receives: a `JsonApi`
//! source's mapping from `sources` (`SourceKind::JsonApi`), a `Fetcher` and URL from
//! `jobs::collect`; for `parse_json`, the snapshot's bytes, a `FileSpec` and an
//! `ingest::Reference` (catalogue, directory, assignments). Hands on: `Paged` pages to
//! `jobs::collect` (which stores them as one raw snapshot); `ingest::normalize::Record`s to
//! `ingest::read_records`, and so `Normalized` items to the caller's sink and a
//! `FileSummary` back to `jobs::collect`.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::catalog::Directory;
use crate::domain::{AgencyId, Period};
use crate::ingest::normalize::{NewReject, Normalized, Record};
use crate::ingest::sheet::{Cell, FileFormat};
use crate::ingest::{FileSpec, FileSummary, Reference, read_records, whole_file_reject};
use crate::sources::http::{FetchError, Fetched, Fetcher};

/// How the endpoint pages its records. (`total`, `total_pages`, `max_size` and
/// `max_pages` are repeated in each kind rather than flattened: serde cannot refuse unknown
/// keys of a flattened table, and a typo in a portal's settings must be refused.)
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Pagination {
    /// One response holds everything.
    #[default]
    None,
    /// `?page=1&pageSize=100`.
    Page {
        #[serde(default = "page_param")]
        param: String,
        #[serde(default)]
        size_param: Option<String>,
        #[serde(default = "page_size")]
        size: usize,
        #[serde(default = "one")]
        start: usize,
        /// Path to the number of records in all pages (`$.meta.total`); the usual names
        /// (`total`, `totalCount`, `tong_so` … at the top or under `meta`, `pagination`,
        /// `paging`) otherwise.
        #[serde(default)]
        total: Option<String>,
        /// Path to the number of pages (`$.meta.total_pages`); the usual names otherwise.
        #[serde(default)]
        total_pages: Option<String>,
        /// The portal's page-size cap: never ask for more. Detected when absent (a page
        /// smaller than asked while more are announced).
        #[serde(default)]
        max_size: Option<usize>,
        /// Pages read at most (a safety net against a portal that never ends).
        #[serde(default = "max_pages")]
        max_pages: usize,
    },
    /// `?offset=0&limit=100`.
    Offset {
        #[serde(default = "offset_param")]
        param: String,
        #[serde(default = "limit_param")]
        limit_param: String,
        #[serde(default = "page_size")]
        limit: usize,
        /// Path to the number of records in all pages (`$.meta.total`); the usual names
        /// (`total`, `totalCount`, `tong_so` … at the top or under `meta`, `pagination`,
        /// `paging`) otherwise.
        #[serde(default)]
        total: Option<String>,
        /// Path to the number of pages (`$.meta.total_pages`); the usual names otherwise.
        #[serde(default)]
        total_pages: Option<String>,
        /// The portal's page-size cap: never ask for more. Detected when absent (a page
        /// smaller than asked while more are announced).
        #[serde(default)]
        max_size: Option<usize>,
        /// Pages read at most (a safety net against a portal that never ends).
        #[serde(default = "max_pages")]
        max_pages: usize,
    },
    /// Each response gives the next page's URL at `path` (JSONPath), until it is absent.
    NextLink {
        path: String,
        /// Path to the number of records in all pages (`$.meta.total`); the usual names
        /// (`total`, `totalCount`, `tong_so` … at the top or under `meta`, `pagination`,
        /// `paging`) otherwise.
        #[serde(default)]
        total: Option<String>,
        /// Path to the number of pages (`$.meta.total_pages`); the usual names otherwise.
        #[serde(default)]
        total_pages: Option<String>,
        /// The portal's page-size cap: never ask for more. Detected when absent (a page
        /// smaller than asked while more are announced).
        #[serde(default)]
        max_size: Option<usize>,
        /// Pages read at most (a safety net against a portal that never ends).
        #[serde(default = "max_pages")]
        max_pages: usize,
    },
}

/// What a page says of the whole, and the portal's limits: the part every kind of
/// pagination shares.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Totals {
    pub total: Option<String>,
    pub total_pages: Option<String>,
    pub max_size: Option<usize>,
    pub max_pages: usize,
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
fn max_pages() -> usize {
    1_000
}

/// Field mapping of a JSON source. Fields are names or dotted paths inside a record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonMapping {
    /// JSONPath to the records: `$.data[*]`, `$.result.items[*]`.
    pub records: String,
    /// The plan item number, or the portal's code (read by `item_pattern`, `item_codes`).
    pub item: String,
    pub value: String,
    /// The reporting unit's code (`ma_don_vi`): matched against `unit_codes`, else the
    /// directory's official codes, never against names.
    #[serde(default)]
    pub unit: Option<String>,
    /// The reporting unit's name, when the record gives it beside the code: checked against
    /// the code, or used alone when the source has no unit code.
    #[serde(default)]
    pub unit_name: Option<String>,
    /// The portal's unit codes → the directory's agency ids.
    #[serde(default)]
    pub unit_codes: BTreeMap<String, AgencyId>,
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
    /// The field that versions a record (`ngay_cap_nhat`): of two records for the same
    /// figure, the later version is kept. Without it, both are refused.
    #[serde(default)]
    pub version: Option<String>,
    /// The portal's indicator code with `{item}` where the plan's number stands
    /// (`CDS-{item}`); leading zeros are ignored.
    #[serde(default)]
    pub item_pattern: Option<String>,
    /// The portal's indicator codes → plan item numbers (exceptions to `item_pattern`).
    #[serde(default)]
    pub item_codes: BTreeMap<String, String>,
    /// Query parameters added to every request (`{year}`, `{quarter}` expanded).
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    #[serde(default)]
    pub pagination: Pagination,
}

impl Pagination {
    /// The totals and limits of this kind (defaults for `None`).
    pub fn totals(&self) -> Totals {
        match self {
            Pagination::None => Totals { max_pages: 1, ..Default::default() },
            Pagination::Page { total, total_pages, max_size, max_pages, .. }
            | Pagination::Offset { total, total_pages, max_size, max_pages, .. }
            | Pagination::NextLink { total, total_pages, max_size, max_pages, .. } => Totals {
                total: total.clone(),
                total_pages: total_pages.clone(),
                max_size: *max_size,
                max_pages: (*max_pages).max(1),
            },
        }
    }

    /// The page size asked for: the configured size, never above the portal's cap.
    fn size(&self) -> Option<usize> {
        let t = self.totals();
        let asked = match self {
            Pagination::Page { size, .. } => *size,
            Pagination::Offset { limit, .. } => *limit,
            _ => return None,
        };
        Some(t.max_size.map_or(asked, |cap| asked.min(cap)).max(1))
    }
}

/// Where the usual names of a response's totals are looked for.
const TOTAL_PAGES_NAMES: &[&str] =
    &["total_pages", "totalPages", "page_count", "pageCount", "pages", "last_page", "lastPage", "tong_so_trang"];
const TOTAL_NAMES: &[&str] = &[
    "total",
    "totalCount",
    "total_count",
    "totalRecords",
    "total_records",
    "totalItems",
    "total_items",
    "totalElements",
    "tong_so",
    "tong_so_ban_ghi",
];
const TOTAL_PLACES: &[&str] = &["", "meta", "pagination", "paging", "page_info", "pageInfo", "metadata"];

impl JsonMapping {
    pub fn validate(&self) -> Result<(), String> {
        serde_json_path::JsonPath::parse(&self.records)
            .map_err(|e| format!("json.records `{}` không phải JSONPath hợp lệ: {e}", self.records))?;
        if let Pagination::NextLink { path, .. } = &self.pagination {
            serde_json_path::JsonPath::parse(path)
                .map_err(|e| format!("json.pagination.path `{path}` không phải JSONPath hợp lệ: {e}"))?;
        }
        let totals = self.pagination.totals();
        for (key, path) in [("total", &totals.total), ("total_pages", &totals.total_pages)] {
            if let Some(p) = path
                && serde_json_path::JsonPath::parse(&as_json_path(p)).is_err()
            {
                return Err(format!("json.pagination.{key} `{p}` không phải tên trường hay JSONPath hợp lệ"));
            }
        }
        if totals.max_size == Some(0) {
            return Err("json.pagination.max_size phải từ 1 trở lên".into());
        }
        for (code, q) in &self.period_codes {
            if !(1..=4).contains(q) {
                return Err(format!("json.period_codes: mã `{code}` ứng với quý {q}, quý phải từ 1 đến 4"));
            }
        }
        if !self.keep_kinds.is_empty() && self.kind.is_none() {
            return Err("json.keep_kinds cần json.kind, tên trường ghi loại số liệu".into());
        }
        if let Some(p) = &self.item_pattern {
            ItemPattern::parse(p)?;
        }
        if !self.unit_codes.is_empty() && self.unit.is_none() {
            return Err("json.unit_codes cần json.unit, tên trường ghi mã đơn vị".into());
        }
        Ok(())
    }

    /// The plan item a portal code names: `item_codes` first, then `item_pattern`, else the
    /// code itself (a plan number). `None` when a pattern is set and the code fits neither.
    pub fn item_of(&self, code: &str) -> Option<String> {
        if let Some(item) = self.item_codes.get(code) {
            return Some(item.clone());
        }
        match &self.item_pattern {
            Some(p) => ItemPattern::parse(p).ok()?.item(code),
            None => Some(code.to_string()),
        }
    }

    /// The URL of page `number` (1-based); `offset` is the records already passed (for
    /// offset pagination).
    pub fn page_url(&self, base: &reqwest::Url, number: usize, offset: usize, size: usize) -> reqwest::Url {
        let mut u = base.clone();
        match &self.pagination {
            Pagination::Page { param, size_param, start, .. } => {
                u.query_pairs_mut().append_pair(param, &(start + number - 1).to_string());
                if let Some(sp) = size_param {
                    u.query_pairs_mut().append_pair(sp, &size.to_string());
                }
            }
            Pagination::Offset { param, limit_param, .. } => {
                u.query_pairs_mut().append_pair(param, &offset.to_string()).append_pair(limit_param, &size.to_string());
            }
            Pagination::None | Pagination::NextLink { .. } => {}
        }
        u
    }

    /// The next link a response gives, for next-link pagination.
    fn next_link(&self, base: &reqwest::Url, body: &Json) -> Option<reqwest::Url> {
        let Pagination::NextLink { path, .. } = &self.pagination else { return None };
        let p = serde_json_path::JsonPath::parse(path).ok()?;
        let next = p.query(body).first()?.as_str()?.trim().to_string();
        if next.is_empty() { None } else { base.join(&next).ok() }
    }

    /// What a response says of the whole: (total pages, total records).
    fn announced(&self, body: &Json) -> (Option<usize>, Option<usize>) {
        let totals = self.pagination.totals();
        let read = |configured: &Option<String>, names: &[&str]| match configured {
            Some(p) => serde_json_path::JsonPath::parse(&as_json_path(p))
                .ok()
                .and_then(|jp| jp.query(body).first().and_then(count_of)),
            None => TOTAL_PLACES.iter().find_map(|place| {
                let scope = if place.is_empty() { Some(body) } else { body.get(*place) };
                let scope = scope.filter(|s| s.is_object())?;
                names.iter().find_map(|n| scope.get(*n).and_then(count_of))
            }),
        };
        (read(&totals.total_pages, TOTAL_PAGES_NAMES), read(&totals.total, TOTAL_NAMES))
    }

    fn record_count(&self, body: &Json) -> usize {
        serde_json_path::JsonPath::parse(&self.records).map_or(0, |p| p.query(body).all().len())
    }
}

/// `meta.total` or `$.meta.total` as a JSONPath.
fn as_json_path(p: &str) -> String {
    if p.starts_with('$') { p.to_string() } else { format!("$.{p}") }
}

/// A non-negative whole number, or such a number written as text.
fn count_of(v: &Json) -> Option<usize> {
    match v {
        Json::Number(n) => n.as_u64().and_then(|n| usize::try_from(n).ok()),
        Json::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// `CDS-{item}`: a literal prefix and suffix around the plan's number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemPattern {
    prefix: String,
    suffix: String,
}

impl ItemPattern {
    pub fn parse(pattern: &str) -> Result<Self, String> {
        let Some((prefix, suffix)) = pattern.split_once("{item}") else {
            return Err(format!("json.item_pattern `{pattern}` thiếu `{{item}}` ở chỗ số chỉ tiêu của kế hoạch"));
        };
        if suffix.contains("{item}") || prefix.contains(['{', '}']) || suffix.contains(['{', '}']) {
            return Err(format!(
                "json.item_pattern `{pattern}`: chỉ ghi `{{item}}` một lần và không dùng chỗ trống nào khác"
            ));
        }
        Ok(Self { prefix: prefix.to_string(), suffix: suffix.to_string() })
    }

    /// The plan number a code holds (`CDS-007` → `7`, `CDS-118.1` → `118.1`).
    pub fn item(&self, code: &str) -> Option<String> {
        let middle = code.trim().strip_prefix(&self.prefix)?.strip_suffix(&self.suffix)?;
        let (whole, part) = match middle.split_once('.') {
            Some((w, p)) => (w, Some(p)),
            None => (middle, None),
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole) || part.is_some_and(|p| !digits(p)) {
            return None;
        }
        let whole = whole.trim_start_matches('0');
        let whole = if whole.is_empty() { "0" } else { whole };
        Some(match part {
            Some(p) => format!("{whole}.{p}"),
            None => whole.to_string(),
        })
    }

    /// The code the portal would write for an item (for the settings check).
    pub fn code_for(&self, item: &str) -> String {
        format!("{}{item}{}", self.prefix, self.suffix)
    }
}

/// One page read.
#[derive(Debug, Clone)]
pub struct Page {
    /// 1-based.
    pub number: usize,
    pub body: Json,
    pub records: usize,
}

/// A page that could not be read, or records the portal announced and did not send.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MissingPage {
    /// 1-based; `None` for records missing from the whole (fewer than `total`).
    pub page: Option<usize>,
    /// The page's URL, query redacted.
    pub url: String,
    pub code: String,
    /// In Vietnamese.
    pub reason: String,
}

/// The pages of one collection.
#[derive(Debug, Default)]
pub struct Paged {
    pub pages: Vec<Page>,
    pub missing: Vec<MissingPage>,
    /// Requests made, retries included.
    pub attempts: u32,
    /// The last HTTP status seen.
    pub status: Option<u16>,
    /// The page-size cap found (asked for more, got this many while more were announced).
    pub detected_cap: Option<usize>,
    /// Keeps the fetch budget of the bodies until they are stored.
    pub budgets: Vec<crate::sources::http::Budget>,
}

impl Paged {
    /// The raw snapshot kept for the collection: every page read, its number, and what is
    /// missing.
    pub fn snapshot(&self, source: &str, url: &str) -> Json {
        serde_json::json!({
            "source": source,
            "url": crate::sources::http::redact_query(url),
            "pages": self.pages.iter().map(|p| &p.body).collect::<Vec<_>>(),
            "page_numbers": self.pages.iter().map(|p| p.number).collect::<Vec<_>>(),
            "missing": self.missing,
        })
    }
}

/// Why a portal could not be read at all (its first page failed).
#[derive(Debug, Clone, thiserror::Error)]
pub enum PagedError {
    #[error("{0}")]
    Fetch(FetchError, u32, Option<u16>),
    #[error("{0}")]
    NotJson(String, u32, Option<u16>),
}

impl PagedError {
    pub fn code(&self) -> &'static str {
        match self {
            PagedError::Fetch(e, ..) => e.code(),
            PagedError::NotJson(..) => "json_invalid",
        }
    }
    /// In Vietnamese.
    pub fn vi(&self) -> String {
        match self {
            PagedError::Fetch(e, ..) => e.vi(),
            PagedError::NotJson(m, ..) => m.clone(),
        }
    }
    pub fn attempts(&self) -> u32 {
        match self {
            PagedError::Fetch(_, a, _) | PagedError::NotJson(_, a, _) => *a,
        }
    }
    pub fn status(&self) -> Option<u16> {
        match self {
            PagedError::Fetch(_, _, s) | PagedError::NotJson(_, _, s) => *s,
        }
    }
}

/// Why a body is not a JSON page, in Vietnamese.
fn not_json(bytes: &[u8], e: &serde_json::Error) -> String {
    if crate::ingest::sheet::FileFormat::detect(bytes) == crate::ingest::sheet::FileFormat::Html {
        "Cổng dữ liệu trả về trang web (HTML) thay vì dữ liệu JSON: đường dẫn có thể sai hoặc cần đăng nhập".to_string()
    } else {
        format!("Cổng dữ liệu trả về nội dung không phải JSON ({e})")
    }
}

/// Reads every page of a portal. The first page failing fails the whole; a later page
/// failing is recorded in [`Paged::missing`] and skipped when the portal's totals say what
/// follows it.
pub async fn fetch_pages(
    fetcher: &Fetcher,
    base: &reqwest::Url,
    mapping: &JsonMapping,
    headers: &[(String, String)],
) -> Result<Paged, PagedError> {
    let totals = mapping.pagination.totals();
    let mut size = mapping.pagination.size().unwrap_or(0);
    let mut out = Paged::default();
    let mut url = mapping.page_url(base, 1, 0, size);
    let (mut pages_known, mut total_known) = (None::<usize>, None::<usize>);
    let (mut received, mut offset) = (0usize, 0usize);
    let mut previous_body: Option<Json> = None;
    let mut number = 1;
    loop {
        let attempt = fetcher.get(url.as_str(), headers, None).await;
        out.attempts += attempt.attempts;
        out.status = attempt.status.or(out.status);
        let shown = crate::sources::http::redact_query(url.as_str());
        let body = decode_page(attempt.result, &mut out);
        let count = match body {
            Ok(body) => {
                let count = mapping.record_count(&body);
                let (tp, tot) = mapping.announced(&body);
                pages_known = tp.or(pages_known);
                total_known = tot.or(total_known);
                let more_announced =
                    pages_known.is_some_and(|p| p > number) || total_known.is_some_and(|t| t > received + count);
                let announced = pages_known.is_some() || total_known.is_some();
                if let Some(cap) = page_cap(&out, PageSeen { number, count, size, more_announced, announced }) {
                    tracing::warn!(url = %shown, asked = size, got = cap, "the portal caps its pages; asking for its size");
                    size = cap;
                    out.detected_cap = Some(cap);
                }
                if count > 0 && previous_body.as_ref() == Some(&body) {
                    out.missing.push(MissingPage {
                        page: Some(number),
                        url: shown,
                        code: "page_repeated".into(),
                        reason: format!(
                            "Trang {number} của cổng dữ liệu giống hệt trang {}: cổng không chuyển trang theo tham số đã cấu hình, các trang sau không đọc được",
                            number - 1
                        ),
                    });
                    break;
                }
                received += count;
                previous_body = Some(body.clone());
                let next = mapping.next_link(base, &body);
                out.pages.push(Page { number, body, records: count });
                if matches!(mapping.pagination, Pagination::NextLink { .. }) {
                    match next {
                        Some(n) => {
                            url = n;
                            number += 1;
                            if number > totals.max_pages {
                                out.missing.push(beyond_limit(&url, number, totals.max_pages));
                                break;
                            }
                            continue;
                        }
                        None => break,
                    }
                }
                count
            }
            Err(failure) => {
                if number == 1 && out.pages.is_empty() {
                    return Err(match failure {
                        PageFailure::Fetch(e) => PagedError::Fetch(e, out.attempts, out.status),
                        PageFailure::Invalid(m) => PagedError::NotJson(m, out.attempts, out.status),
                    });
                }
                let (code, reason) = match failure {
                    PageFailure::Fetch(e) => (e.code(), format!("{} (sau {} lần thử)", e.vi(), attempt.attempts)),
                    PageFailure::Invalid(m) => ("json_invalid", m),
                };
                out.missing.push(MissingPage {
                    page: Some(number),
                    url: shown,
                    code: code.to_string(),
                    reason: format!("Không đọc được trang {number} của cổng dữ liệu: {reason}"),
                });
                if matches!(mapping.pagination, Pagination::NextLink { .. }) {
                    // Its next link is lost with it.
                    break;
                }
                size
            }
        };
        if matches!(mapping.pagination, Pagination::None) {
            break;
        }
        offset += count;
        // The record count decides when the portal gives one: its page count may have been
        // computed for the size asked rather than the size it serves.
        let more = match (total_known, pages_known) {
            (Some(t), _) => offset < t && count > 0,
            (None, Some(p)) => number < p,
            // No totals: read until an empty page.
            (None, None) => count > 0 && !out.missing.iter().any(|m| m.page == Some(number)),
        };
        if !more {
            if pages_known.is_none()
                && total_known.is_none()
                && let Some(m) = out.missing.last_mut()
                && m.page == Some(number)
            {
                m.reason.push_str(": cổng không cho biết tổng số trang nên các trang sau (nếu có) chưa được đọc");
            }
            break;
        }
        number += 1;
        if number > totals.max_pages {
            out.missing.push(beyond_limit(&url, number, totals.max_pages));
            break;
        }
        url = mapping.page_url(base, number, offset, size);
    }
    if let Some(total) = total_known {
        records_missing(&mut out, base, total, received);
    }
    Ok(out)
}

/// A page's body as JSON, or why it is not.
fn decode_page(result: Result<Fetched, FetchError>, out: &mut Paged) -> Result<Json, PageFailure> {
    match result {
        Ok(Fetched::Body { bytes, budget, .. }) => match serde_json::from_slice::<Json>(&bytes) {
            Ok(v) => {
                out.budgets.push(budget);
                Ok(v)
            }
            Err(e) => Err(PageFailure::Invalid(not_json(&bytes, &e))),
        },
        // No validators are sent: a 304 is the portal's error.
        Ok(Fetched::NotModified) => Err(PageFailure::Fetch(FetchError::Status(304))),
        Err(e) => Err(PageFailure::Fetch(e)),
    }
}

/// What one page showed, for [`page_cap`].
struct PageSeen {
    number: usize,
    count: usize,
    /// The page size asked for.
    size: usize,
    /// The portal announces more records or pages than received so far.
    more_announced: bool,
    /// The portal announces a record or page count at all.
    announced: bool,
}

/// The portal's page-size cap, when this page reveals it. The cap shows on the first page:
/// smaller than asked while more are announced, or, when nothing is announced, followed by
/// a page that is not empty. (A short page later on is the last one, whatever a wrong total
/// says.)
fn page_cap(out: &Paged, p: PageSeen) -> Option<usize> {
    let first_short = p.number == 1 && p.count > 0 && p.count < p.size;
    if first_short && p.more_announced {
        Some(p.count)
    } else if p.number == 2 && p.count > 0 && !p.announced {
        out.pages.first().map(|first| first.records).filter(|&c| c > 0 && c < p.size)
    } else {
        None
    }
}

/// Fewer records than the portal announced, with no page lost to explain it.
fn records_missing(out: &mut Paged, base: &reqwest::Url, total: usize, received: usize) {
    let lost_pages = out.missing.iter().any(|m| m.page.is_some());
    if received < total && !lost_pages {
        out.missing.push(MissingPage {
            page: None,
            url: crate::sources::http::redact_query(base.as_str()),
            code: "records_missing".into(),
            reason: format!(
                "Cổng dữ liệu báo có {total} bản ghi nhưng chỉ gửi {received} bản ghi qua {} trang: thiếu {} bản ghi",
                out.pages.len(),
                total - received
            ),
        });
    }
}

/// Why one page could not be used.
enum PageFailure {
    Fetch(FetchError),
    Invalid(String),
}

fn beyond_limit(url: &reqwest::Url, number: usize, max: usize) -> MissingPage {
    MissingPage {
        page: Some(number),
        url: crate::sources::http::redact_query(url.as_str()),
        code: "page_limit".into(),
        reason: format!(
            "Đã đọc {max} trang (giới hạn max_pages của nguồn) mà cổng dữ liệu vẫn còn trang: trang {number} trở đi chưa được đọc"
        ),
    }
}

/// A cell a record fills: the plan's item, the unit's id, the unit of measure.
type CellKey = (String, String, String);

/// A record refused before the normalizer.
fn reject(location: &str, item: Option<&str>, raw: String, code: &'static str, message: String) -> NewReject {
    NewReject {
        period: None,
        location: location.to_string(),
        item_key: item.map(str::to_string),
        agency: None,
        raw_text: raw,
        code,
        message,
    }
}

/// The pages of a snapshot with their numbers (a snapshot of one page is the page).
fn snapshot_pages(snapshot: &Json) -> (Vec<&Json>, Vec<usize>) {
    match snapshot.get("pages").and_then(Json::as_array) {
        Some(p) => {
            let numbers: Vec<usize> = snapshot
                .get("page_numbers")
                .and_then(Json::as_array)
                .map(|n| n.iter().filter_map(count_of).collect())
                .filter(|n: &Vec<usize>| n.len() == p.len())
                .unwrap_or_else(|| (1..=p.len()).collect());
            (p.iter().collect(), numbers)
        }
        None => (vec![snapshot], vec![1]),
    }
}

/// The pages the fetch recorded as missing: refused with every reading of the snapshot.
fn missing_page_rejects(snapshot: &Json) -> Vec<NewReject> {
    let Some(missing) = snapshot.get("missing").and_then(Json::as_array) else { return Vec::new() };
    missing
        .iter()
        .filter_map(|m| serde_json::from_value::<MissingPage>(m.clone()).ok())
        .map(|m| {
            let location = match m.page {
                Some(p) => format!("trang {p} ({})", m.url),
                None => m.url.clone(),
            };
            reject(&location, None, String::new(), "page_missing", m.reason)
        })
        .collect()
}

/// The records of a snapshot for one period: rows for the normalizer, and the records
/// refused before it (duplicates, unknown unit codes, booleans, missing pages).
#[derive(Debug, Default)]
pub struct JsonRows {
    pub records: Vec<Record>,
    pub rejects: Vec<NewReject>,
}

/// One record kept for the period, before the duplicate check.
struct Candidate {
    rank: usize,
    version: Option<Version>,
    record: Record,
    /// The record as the portal wrote it, to tell identical copies apart.
    raw: String,
}

/// A record's version, comparable: a date-time, a date, or a number.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
enum Version {
    At(chrono::NaiveDateTime),
    Number(f64),
}

impl Version {
    fn parse(v: &Json) -> Option<Self> {
        if let Some(n) = v.as_f64() {
            return Some(Version::Number(n));
        }
        let s = v.as_str()?.trim();
        if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
            return Some(Version::At(t.naive_utc()));
        }
        for f in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%Y-%m-%d %H:%M"] {
            if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, f) {
                return Some(Version::At(t));
            }
        }
        for f in ["%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y"] {
            if let Ok(d) = chrono::NaiveDate::parse_from_str(s, f) {
                return d.and_hms_opt(0, 0, 0).map(Version::At);
            }
        }
        None
    }
}

impl JsonMapping {
    /// The records of a snapshot that belong to `period`, as rows for the normalizer, and
    /// those refused here.
    pub fn records(&self, snapshot: &Json, period: Period, dir: &Directory) -> Result<JsonRows, String> {
        let path = serde_json_path::JsonPath::parse(&self.records).map_err(|e| e.to_string())?;
        let (pages, numbers) = snapshot_pages(snapshot);
        let paged = pages.len() > 1 || numbers.first().is_some_and(|&n| n != 1);
        let mut out = JsonRows { records: Vec::new(), rejects: missing_page_rejects(snapshot) };
        let by_code: HashMap<&str, &AgencyId> =
            dir.iter().filter_map(|a| a.code.as_deref().map(|c| (c, &a.id))).collect();
        let mut candidates: Vec<Candidate> = Vec::new();
        let mut by_key: HashMap<CellKey, Vec<usize>> = HashMap::new();
        let mut order: Vec<CellKey> = Vec::new();
        for (page, page_no) in pages.iter().zip(numbers) {
            for (i, rec) in path.query(page).all().into_iter().enumerate() {
                let location = if paged {
                    format!("trang {page_no}, bản ghi {}", i + 1)
                } else {
                    format!("bản ghi {}", i + 1)
                };
                if !self.in_period(rec, period) {
                    continue;
                }
                let (key, candidate) = match self.candidate(rec, location, &by_code) {
                    Some(Ok(c)) => c,
                    Some(Err(r)) => {
                        out.rejects.push(r);
                        continue;
                    }
                    None => continue,
                };
                let at = candidates.len();
                candidates.push(candidate);
                match by_key.get_mut(&key) {
                    Some(list) => list.push(at),
                    None => {
                        order.push(key.clone());
                        by_key.insert(key, vec![at]);
                    }
                }
            }
        }
        let mut taken: Vec<Option<Candidate>> = candidates.into_iter().map(Some).collect();
        for key in order {
            let Some(list) = by_key.get(&key) else { continue };
            self.keep_one(&key, list, &mut taken, &mut out);
        }
        Ok(out)
    }

    /// One record of the period as a candidate under its cell's key (item, unit, unit of
    /// measure); `None` for a figure type the source does not keep, a reject for a record
    /// that cannot be read.
    fn candidate(
        &self,
        rec: &Json,
        location: String,
        by_code: &HashMap<&str, &AgencyId>,
    ) -> Option<Result<(CellKey, Candidate), NewReject>> {
        let kind = self.kind.as_deref().map(|k| scalar_text(field(rec, k))).unwrap_or_default();
        let rank = if self.keep_kinds.is_empty() { 0 } else { self.keep_kinds.iter().position(|k| *k == kind)? };
        let code = scalar_text(field(rec, &self.item));
        let Some(item) = self.item_of(&code) else {
            return Some(Err(reject(
                &location,
                None,
                code.clone(),
                "unknown_item_code",
                format!(
                    "Mã chỉ tiêu “{code}” không theo mẫu {} và không có trong bảng item_codes của nguồn: bổ sung mã này vào item_codes",
                    self.item_pattern.as_deref().unwrap_or_default()
                ),
            )));
        };
        let value = field(rec, &self.value);
        if let Json::Bool(b) = value {
            return Some(Err(reject(
                &location,
                Some(&item),
                b.to_string(),
                "bool_value",
                format!(
                    "Chỉ tiêu số {item}: cổng dữ liệu ghi giá trị “{b}” (đúng/sai), nhưng cổng không có tình trạng nào như vậy; ghi số liệu, hoặc tình trạng bằng chữ (“Đã hoàn thành”, “Chưa hoàn thành”)"
                ),
            )));
        }
        let unit = match self.unit_of(rec, by_code) {
            Ok(u) => u,
            Err((raw, message)) => return Some(Err(reject(&location, Some(&item), raw, "unknown_unit_code", message))),
        };
        let unit_name = self.unit_name.as_deref().map(|u| scalar_text(field(rec, u))).filter(|u| !u.is_empty());
        let uom = self.uom.as_deref().map(|u| scalar_text(field(rec, u))).filter(|u| !u.is_empty());
        let version = self.version.as_deref().map(|v| field(rec, v));
        let record = Record {
            location,
            // The portal's item code, mapped to the plan's key.
            item: None,
            plan_item: Some(Cell::Text(item.clone())),
            value: json_cell(value),
            note: self.note.as_deref().map(|n| scalar_text(field(rec, n))).filter(|n| !n.is_empty()),
            uom: uom.clone(),
            // A unit given by name only is resolved by name, like a workbook's.
            unit: unit.clone().or_else(|| unit_name.clone()),
            unit_name: unit.as_ref().and(unit_name),
            ..Default::default()
        };
        let key = (item, unit.unwrap_or_default(), uom.unwrap_or_default());
        let candidate = Candidate {
            rank,
            version: version.and_then(Version::parse),
            raw: serde_json::to_string(rec).unwrap_or_default(),
            record,
        };
        Some(Ok((key, candidate)))
    }

    /// Keeps one of the candidates of a cell: the most preferred figure type, and of several
    /// of those the latest version; refuses them all when no one is later than the others.
    fn keep_one(&self, key: &CellKey, list: &[usize], taken: &mut [Option<Candidate>], out: &mut JsonRows) {
        // Of several figure types for the same cell, the most preferred wins.
        let best = list.iter().filter_map(|&i| taken[i].as_ref().map(|c| c.rank)).min().unwrap_or(0);
        let same: Vec<usize> =
            list.iter().copied().filter(|&i| taken[i].as_ref().is_some_and(|c| c.rank == best)).collect();
        if let [one] = same.as_slice() {
            if let Some(c) = taken[*one].take() {
                out.records.push(c.record);
            }
            return;
        }
        let group: Vec<Candidate> = same.iter().filter_map(|&i| taken[i].take()).collect();
        match self.latest(&group) {
            Some(i) => {
                if let Some(c) = group.into_iter().nth(i) {
                    out.records.push(c.record);
                }
            }
            None => out.rejects.extend(self.duplicate_rejects(key, &group)),
        }
    }

    /// Of duplicate records, the one with the latest version, when the source versions its
    /// records and one version is later than all others.
    fn latest(&self, group: &[Candidate]) -> Option<usize> {
        self.version.as_ref()?;
        let versions: Vec<&Version> = group.iter().map(|c| c.version.as_ref()).collect::<Option<_>>()?;
        let (best, top) =
            versions.iter().enumerate().max_by(|a, b| a.1.partial_cmp(b.1).unwrap_or(std::cmp::Ordering::Equal))?;
        let ties = versions.iter().filter(|v| (**v).partial_cmp(*top) != Some(std::cmp::Ordering::Less)).count();
        (ties == 1).then_some(best)
    }

    fn duplicate_rejects(&self, key: &(String, String, String), group: &[Candidate]) -> Vec<NewReject> {
        let places: Vec<&str> = group.iter().map(|c| c.record.location.as_str()).collect();
        let identical = group.windows(2).all(|w| w[0].raw == w[1].raw);
        let (item, unit, uom) = key;
        let whose = if unit.is_empty() { String::new() } else { format!(" của đơn vị {unit}") };
        let uom = if uom.is_empty() { String::new() } else { format!(" ({uom})") };
        let why = match (&self.version, identical) {
            (_, true) => "hai bản ghi giống hệt nhau".to_string(),
            (Some(v), false) => format!("trường phiên bản “{v}” không cho biết bản ghi nào mới hơn"),
            (None, false) => "nguồn không khai báo trường phiên bản (version) để chọn bản ghi mới hơn".to_string(),
        };
        group
            .iter()
            .map(|c| NewReject {
                period: None,
                location: c.record.location.clone(),
                item_key: Some(item.clone()),
                agency: None,
                raw_text: c.record.value.text(),
                code: "duplicate",
                message: format!(
                    "Chỉ tiêu số {item}{whose}{uom} có {} bản ghi trong cùng một lần lấy dữ liệu ({}); {why}, nên chưa lưu bản ghi nào: cổng dữ liệu cần giữ lại một bản ghi",
                    group.len(),
                    places.join(", ")
                ),
            })
            .collect()
    }

    /// The record's unit as a directory id, from its code; `Ok(None)` when the source has no
    /// unit field. A code is never matched against names.
    fn unit_of(&self, rec: &Json, by_code: &HashMap<&str, &AgencyId>) -> Result<Option<String>, (String, String)> {
        let Some(field_name) = &self.unit else { return Ok(None) };
        let code = scalar_text(field(rec, field_name));
        if code.is_empty() {
            return Err((
                String::new(),
                format!("Bản ghi không có mã đơn vị (trường “{field_name}” trống): không biết số liệu của đơn vị nào"),
            ));
        }
        if !self.unit_codes.is_empty() {
            return match self.unit_codes.get(&code) {
                Some(id) => Ok(Some(id.to_string())),
                None => Err((
                    code.clone(),
                    format!(
                        "Mã đơn vị “{code}” không có trong bảng mã đơn vị (unit_codes) của nguồn: bổ sung mã này vào unit_codes"
                    ),
                )),
            };
        }
        match by_code.get(code.as_str()) {
            Some(id) => Ok(Some(id.to_string())),
            None => Err((
                code.clone(),
                format!(
                    "Mã đơn vị “{code}” không phải mã của đơn vị nào trong danh mục: khai báo mã của cổng trong unit_codes của nguồn"
                ),
            )),
        }
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

/// Reads a JSON snapshot (one or several pages) for one period: decodes it, extracts the
/// records by `mapping`, and hands them to `ingest` to normalise.
pub fn parse_json(
    bytes: &[u8],
    mapping: &JsonMapping,
    spec: &FileSpec,
    against: Reference<'_>,
    sink: &mut dyn FnMut(Normalized),
) -> FileSummary {
    let dir = against.dir;
    let file_reject = |code: &'static str, message: String| FileSummary {
        format: Some(FileFormat::Json),
        kind: Some("json"),
        agency: spec.agency.clone(),
        file_reject: Some(whole_file_reject(spec, code, message)),
        ..Default::default()
    };
    let doc: serde_json::Value = match serde_json::from_slice(bytes) {
        Ok(d) => d,
        Err(e) => return file_reject("json_invalid", format!("Dữ liệu nhận được không phải JSON hợp lệ ({e})")),
    };
    let rows = match mapping.records(&doc, spec.period, dir) {
        Ok(r) => r,
        Err(e) => {
            return file_reject("json_mapping", format!("Không đọc được bản ghi theo cấu hình nguồn ({e})"));
        }
    };
    let mut summary = read_records(rows.records, rows.rejects, spec, against, sink);
    summary.format = Some(FileFormat::Json);
    summary.kind = Some("json");
    summary
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> Directory {
        Directory::load(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config/agencies.toml")))
            .expect("the bundled directory")
    }

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
        .expect("mapping")
    }

    fn q2() -> Period {
        Period::new(2024, 2).expect("period")
    }

    #[test]
    fn keeps_the_quarter_and_the_preferred_figure_type() {
        let body = serde_json::json!({"data": [
            {"indicatorCode": "CDS-101", "areaCode": "855", "dataYear": 2024, "periodId": 14, "dataTypeId": 3, "value": 6.1},
            {"indicatorCode": "CDS-101", "areaCode": "855", "dataYear": 2024, "periodId": 14, "dataTypeId": 4, "value": 6.4},
            {"indicatorCode": "CDS-101", "areaCode": "855", "dataYear": 2024, "periodId": 14, "dataTypeId": 1, "value": 7.0},
            {"indicatorCode": "CDS-101", "areaCode": "855", "dataYear": 2024, "periodId": 13, "dataTypeId": 4, "value": 5.0},
            {"indicatorCode": "CDS-101", "areaCode": "855", "dataYear": 2023, "periodId": 14, "dataTypeId": 4, "value": 4.0},
            {"indicatorCode": "117", "areaCode": "857", "dataYear": 2024, "periodId": 14, "dataTypeId": 3, "value": "25,5"}
        ]});
        let rows = mapping().records(&body, q2(), &dir()).expect("records");
        assert!(rows.rejects.is_empty(), "{:?}", rows.rejects);
        let recs = rows.records;
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0].plan_item, Some(Cell::Text("101".into())));
        assert_eq!(recs[0].value, Cell::Number { value: 6.4, percent: false });
        assert_eq!(recs[0].location, "bản ghi 2");
        let d = dir();
        let by_code = |c: &str| d.iter().find(|a| a.code.as_deref() == Some(c)).map(|a| a.id.to_string());
        assert_eq!(recs[0].unit, by_code("855"));
        assert_eq!(recs[1].unit, by_code("857"));
        assert_eq!(recs[1].value, Cell::Text("25,5".into()));
    }

    #[test]
    fn item_patterns_read_the_plan_number() {
        let p = ItemPattern::parse("CDS-{item}").expect("pattern");
        for (code, item) in [
            ("CDS-7", Some("7")),
            ("CDS-007", Some("7")),
            ("CDS-118.1", Some("118.1")),
            ("CDS-0118.1", Some("118.1")),
            (" CDS-23 ", Some("23")),
            ("CDS-", None),
            ("CDS-7a", None),
            ("XYZ-7", None),
            ("CDS-1.2.3", None),
        ] {
            assert_eq!(p.item(code).as_deref(), item, "{code}");
        }
        let p = ItemPattern::parse("VL.{item}.CT").expect("pattern");
        assert_eq!(p.item("VL.042.CT").as_deref(), Some("42"));
        assert_eq!(p.code_for("42"), "VL.42.CT");
        for bad in ["CDS-", "CDS-{item}-{item}", "CDS-{year}-{item}", "{itm}"] {
            assert!(ItemPattern::parse(bad).is_err(), "{bad}");
        }
        let mut m = mapping();
        m.item_pattern = Some("CDS-{item}".into());
        m.item_codes = [("CDS-9000".to_string(), "118.1".to_string())].into();
        assert_eq!(m.item_of("CDS-9000").as_deref(), Some("118.1"));
        assert_eq!(m.item_of("CDS-012").as_deref(), Some("12"));
        assert_eq!(m.item_of("ABC"), None);
    }

    #[test]
    fn page_urls_follow_their_scheme() {
        let base = reqwest::Url::parse("https://portal.example/api").expect("url");
        let mut m = mapping();
        m.pagination = toml::from_str("kind = \"page\"\nsize_param = \"pageSize\"\nsize = 200\nmax_size = 100\n")
            .expect("pagination");
        assert_eq!(m.pagination.size(), Some(100));
        assert_eq!(m.page_url(&base, 1, 0, 100).as_str(), "https://portal.example/api?page=1&pageSize=100");
        assert_eq!(m.page_url(&base, 3, 0, 100).as_str(), "https://portal.example/api?page=3&pageSize=100");
        m.pagination = toml::from_str("kind = \"offset\"\nlimit = 50\n").expect("pagination");
        assert_eq!(m.page_url(&base, 2, 50, 50).as_str(), "https://portal.example/api?offset=50&limit=50");
        m.pagination = toml::from_str("kind = \"next_link\"\npath = \"$.links.next\"\n").expect("pagination");
        let body = serde_json::json!({"links": {"next": "/api?cursor=abc"}});
        assert_eq!(m.next_link(&base, &body).expect("next").as_str(), "https://portal.example/api?cursor=abc");
        assert!(m.next_link(&base, &serde_json::json!({"links": {"next": ""}})).is_none());
        assert!(toml::from_str::<Pagination>("kind = \"page\"\nsise = 3\n").is_err(), "a typo is refused");
    }

    #[test]
    fn totals_are_found_under_their_usual_names_or_where_configured() {
        let m = mapping();
        for (body, want) in [
            (serde_json::json!({"total_pages": 11, "total": 1050}), (Some(11), Some(1050))),
            (serde_json::json!({"meta": {"totalPages": "3", "totalCount": 250}}), (Some(3), Some(250))),
            (serde_json::json!({"pagination": {"tong_so_ban_ghi": 7}}), (None, Some(7))),
            (serde_json::json!({"data": [], "count": 5}), (None, None)),
            (serde_json::json!({"total": -1}), (None, None)),
        ] {
            assert_eq!(m.announced(&body), want, "{body}");
        }
        let mut m = mapping();
        m.pagination =
            toml::from_str("kind = \"page\"\ntotal = \"ket_qua.so_luong\"\ntotal_pages = \"$.ket_qua.so_trang\"\n")
                .expect("pagination");
        let body = serde_json::json!({"ket_qua": {"so_luong": 42, "so_trang": 5}, "total": 1});
        assert_eq!(m.announced(&body), (Some(5), Some(42)));
    }

    fn portal(records: serde_json::Value) -> Json {
        serde_json::json!({ "data": records })
    }

    fn unit_mapping(extra: &str) -> JsonMapping {
        toml::from_str(&format!(
            "records = \"$.data[*]\"\nitem = \"ma_chi_tieu\"\nvalue = \"gia_tri\"\nunit = \"ma_don_vi\"\nitem_pattern = \"CDS-{{item}}\"\nunit_codes = {{ \"VL.DV.013\" = \"so_yt\", \"VL.DV.014\" = \"so_gddt\" }}\n{extra}"
        ))
        .expect("mapping")
    }

    #[test]
    fn duplicates_are_refused_both_unless_a_version_settles_them() {
        let body = portal(serde_json::json!([
            {"ma_chi_tieu": "CDS-023", "ma_don_vi": "VL.DV.013", "gia_tri": 80, "ngay_cap_nhat": "2024-07-01"},
            {"ma_chi_tieu": "CDS-23", "ma_don_vi": "VL.DV.013", "gia_tri": 85, "ngay_cap_nhat": "05/07/2024"},
            {"ma_chi_tieu": "CDS-24", "ma_don_vi": "VL.DV.013", "gia_tri": 10},
        ]));
        let rows = unit_mapping("").records(&body, q2(), &dir()).expect("records");
        assert_eq!(rows.records.len(), 1, "only item 24 is kept");
        assert_eq!(rows.records[0].plan_item, Some(Cell::Text("24".into())));
        assert_eq!(rows.rejects.len(), 2);
        assert!(rows.rejects.iter().all(|r| r.code == "duplicate" && r.item_key.as_deref() == Some("23")));
        assert!(rows.rejects[0].message.contains("bản ghi 1, bản ghi 2"), "{}", rows.rejects[0].message);
        let rows = unit_mapping("version = \"ngay_cap_nhat\"").records(&body, q2(), &dir()).expect("records");
        assert!(rows.rejects.is_empty(), "{:?}", rows.rejects);
        assert_eq!(rows.records.len(), 2);
        assert_eq!(rows.records[0].value, Cell::Number { value: 85.0, percent: false }, "the later version");
        // Equal versions settle nothing.
        let tie = portal(serde_json::json!([
            {"ma_chi_tieu": "CDS-23", "ma_don_vi": "VL.DV.013", "gia_tri": 80, "ngay_cap_nhat": "2024-07-01"},
            {"ma_chi_tieu": "CDS-23", "ma_don_vi": "VL.DV.013", "gia_tri": 85, "ngay_cap_nhat": "2024-07-01"},
        ]));
        let rows = unit_mapping("version = \"ngay_cap_nhat\"").records(&tie, q2(), &dir()).expect("records");
        assert!(rows.records.is_empty());
        assert_eq!(rows.rejects.len(), 2);
        // Two units' records for one item are not duplicates.
        let two = portal(serde_json::json!([
            {"ma_chi_tieu": "CDS-23", "ma_don_vi": "VL.DV.013", "gia_tri": 80},
            {"ma_chi_tieu": "CDS-23", "ma_don_vi": "VL.DV.014", "gia_tri": 85},
        ]));
        assert_eq!(unit_mapping("").records(&two, q2(), &dir()).expect("records").records.len(), 2);
    }

    #[test]
    fn unit_codes_are_codes_never_names() {
        let body = portal(serde_json::json!([
            {"ma_chi_tieu": "CDS-23", "ma_don_vi": "VL.DV.013", "gia_tri": 80},
            {"ma_chi_tieu": "CDS-24", "ma_don_vi": "VL.DV.099", "gia_tri": 1},
            {"ma_chi_tieu": "CDS-25", "ma_don_vi": null, "gia_tri": 1},
            {"ma_chi_tieu": "CDS-26", "gia_tri": 1},
            {"ma_chi_tieu": "CDS-27", "ma_don_vi": "Sở Y tế", "gia_tri": 1},
            {"ma_chi_tieu": "CDS-28", "ma_don_vi": "VL.DV.013", "gia_tri": true},
            {"ma_chi_tieu": "ABC-29", "ma_don_vi": "VL.DV.013", "gia_tri": 3},
        ]));
        let rows = unit_mapping("").records(&body, q2(), &dir()).expect("records");
        assert_eq!(rows.records.len(), 1);
        assert_eq!(rows.records[0].unit.as_deref(), Some("so_yt"));
        let codes: Vec<(&str, &str)> = rows.rejects.iter().map(|r| (r.code, r.raw_text.as_str())).collect();
        assert_eq!(
            codes,
            [
                ("unknown_unit_code", "VL.DV.099"),
                ("unknown_unit_code", ""),
                ("unknown_unit_code", ""),
                ("unknown_unit_code", "Sở Y tế"),
                ("bool_value", "true"),
                ("unknown_item_code", "ABC-29"),
            ]
        );
        assert!(rows.rejects[0].message.contains("VL.DV.099"));
        // Without unit_codes, a code is matched against the directory's official codes only.
        let mut m = unit_mapping("");
        m.unit_codes.clear();
        let body = portal(serde_json::json!([
            {"ma_chi_tieu": "CDS-23", "ma_don_vi": "855", "gia_tri": 80},
            {"ma_chi_tieu": "CDS-23", "ma_don_vi": "Sở Y tế", "gia_tri": 80},
        ]));
        let rows = m.records(&body, q2(), &dir()).expect("records");
        assert_eq!(rows.records.len(), 1);
        assert_eq!(rows.rejects.len(), 1);
        assert_eq!(rows.rejects[0].raw_text, "Sở Y tế");
    }

    #[test]
    fn missing_pages_are_refused_with_the_snapshot() {
        let snapshot = serde_json::json!({
            "pages": [portal(serde_json::json!([{"ma_chi_tieu": "CDS-23", "ma_don_vi": "VL.DV.013", "gia_tri": 80}]))],
            "page_numbers": [3],
            "missing": [{"page": 2, "url": "https://portal.example/api?…", "code": "fetch_truncated", "reason": "Không đọc được trang 2"}],
        });
        let rows = unit_mapping("").records(&snapshot, q2(), &dir()).expect("records");
        assert_eq!(rows.records[0].location, "trang 3, bản ghi 1");
        assert_eq!(rows.rejects.len(), 1);
        assert_eq!(rows.rejects[0].code, "page_missing");
        assert_eq!(rows.rejects[0].location, "trang 2 (https://portal.example/api?…)");
    }

    #[test]
    fn validation() {
        let mut m = mapping();
        m.records = "data[".into();
        assert!(m.validate().is_err());
        let mut m = mapping();
        m.period_codes.insert("99".into(), 7);
        assert!(m.validate().unwrap_err().contains("99"));
        let mut m = mapping();
        m.item_pattern = Some("CDS-".into());
        assert!(m.validate().unwrap_err().contains("{item}"));
        let mut m = unit_mapping("");
        m.unit = None;
        assert!(m.validate().unwrap_err().contains("unit_codes"));
    }
}
