//! Where figures come from: `config/sources.toml`.
//!
//! Three kinds share one fetch core ([`http::Fetcher`]):
//! * `http` — a workbook at a URL (`{year}` / `{quarter}` placeholders), with an optional
//!   authorization header whose secret comes from an environment variable;
//! * `folder` — a drop folder and a glob, for departments that send files by mail or
//!   upload them (the operator saves them there);
//! * `json_api` — a JSON endpoint with the path to its records, a field mapping,
//!   pagination, and the portal's period and figure-type codes.
//!
//! Owns: `Source`, `SourceKind` and `Auth` (what `config/sources.toml` says), `load`,
//! `parse` and `SourcesError`, and the URL and folder helpers (`expand`, `list_folder`,
//! `file_name_of`, `shown_url`). Receives: the sources file from `app::load_sources`, the
//! `catalog::Directory` for agencies, an `ingest::layout::Mapping` per source. Hands on:
//! the `Source`s to `app::Context`, and from there to `jobs::collect` (which fetches and
//! lists them) and `sources::check`.

pub mod check;
pub mod http;
pub mod json_api;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::catalog::Directory;
use crate::domain::{AgencyId, Period};
use crate::ingest::layout::Mapping;

/// Credentials sent with every request of a source. The secret is read from `env` when the
/// request is made and never stored or logged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Auth {
    /// `Authorization` (default) or an API-key header such as `X-API-Key`.
    #[serde(default = "default_auth_header")]
    pub header: String,
    /// `Bearer` for `Authorization: Bearer …`; empty for a bare key.
    #[serde(default)]
    pub scheme: String,
    /// The environment variable holding the token.
    pub env: String,
}

fn default_auth_header() -> String {
    "Authorization".into()
}

/// How a source is reached.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SourceKind {
    Http {
        /// `{year}` and `{quarter}` are replaced by the period's.
        url: String,
    },
    Folder {
        path: PathBuf,
        /// A file-name pattern (`*.xlsx`, `bao-cao-{year}-q{quarter}*.xls*`).
        #[serde(default = "default_glob")]
        glob: String,
    },
    JsonApi {
        url: String,
        json: Box<json_api::JsonMapping>,
    },
}

fn default_glob() -> String {
    "*".into()
}

/// One source. (Unknown keys are refused by [`parse`], which serde cannot do for a
/// flattened kind.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Source {
    /// Stable id, lowercase ASCII.
    pub id: String,
    /// The agency whose figures these are; absent when the file says (title block, unit
    /// column, or a chiso workbook).
    #[serde(default)]
    pub agency: Option<AgencyId>,
    #[serde(flatten)]
    pub kind: SourceKind,
    #[serde(default)]
    pub auth: Option<Auth>,
    /// How to read its workbooks when detection is not enough.
    #[serde(default)]
    pub mapping: Mapping,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SourcesFile {
    #[serde(default)]
    source: Vec<Source>,
}

/// Why the sources file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SourcesError {
    #[error("không đọc được {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

/// Reads and checks `sources.toml`. A missing file means no sources.
pub fn load(path: &Path, dir: &Directory) -> Result<Vec<Source>, SourcesError> {
    let shown = path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(SourcesError::Io { path: shown, source }),
    };
    parse(&text, &shown, dir)
}

pub fn parse(text: &str, path: &str, dir: &Directory) -> Result<Vec<Source>, SourcesError> {
    let invalid = |message: String| SourcesError::Invalid { path: path.to_string(), message };
    check_keys(text).map_err(&invalid)?;
    let file: SourcesFile = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
    let mut seen = std::collections::HashSet::new();
    for s in &file.source {
        if s.id.is_empty()
            || !s.id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        {
            return Err(invalid(format!("mã nguồn `{}`: chỉ dùng chữ thường không dấu, chữ số, `_` và `-`", s.id)));
        }
        if !seen.insert(s.id.clone()) {
            return Err(invalid(format!("nguồn `{}` được khai báo hai lần", s.id)));
        }
        if let Some(a) = &s.agency
            && dir.get(a).is_none()
        {
            return Err(invalid(format!("nguồn `{}`: đơn vị `{a}` không có trong danh mục cơ quan, đơn vị", s.id)));
        }
        if let Some(auth) = &s.auth
            && (auth.env.is_empty()
                || !auth.env.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
        {
            return Err(invalid(format!(
                "nguồn `{}`: auth.env phải là tên một biến môi trường (như CHISO_SRC_SO_YT_TOKEN)",
                s.id
            )));
        }
        match &s.kind {
            SourceKind::Http { url } | SourceKind::JsonApi { url, .. } => {
                let sample = expand(url, sample_period());
                let ok =
                    sample.starts_with("http://") || sample.starts_with("https://") || sample.starts_with("file://");
                if !ok || reqwest::Url::parse(&sample).is_err() {
                    return Err(invalid(format!(
                        "nguồn `{}`: `{url}` không phải địa chỉ http(s) hay file:// hợp lệ",
                        s.id
                    )));
                }
            }
            SourceKind::Folder { glob, .. } => {
                if glob::Pattern::new(&expand(glob, sample_period())).is_err() {
                    return Err(invalid(format!("nguồn `{}`: `{glob}` không phải mẫu tên tệp hợp lệ", s.id)));
                }
            }
        }
        if let SourceKind::JsonApi { json, .. } = &s.kind {
            json.validate().map_err(|m| invalid(format!("nguồn `{}`: {m}", s.id)))?;
        }
    }
    Ok(file.source)
}

/// Any period: placeholders are checked by expanding them with it.
fn sample_period() -> Period {
    Period::containing(chrono::Utc::now().date_naive())
}

/// Refuses keys a source of its kind does not have (a typo would otherwise be ignored).
fn check_keys(text: &str) -> Result<(), String> {
    let table: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
    if let Some((key, _)) = table.iter().find(|(k, _)| *k != "source") {
        return Err(format!("khóa `{key}` không hợp lệ ở cấp ngoài cùng (chỉ có các bảng [[source]])"));
    }
    let Some(sources) = table.get("source").and_then(|s| s.as_array()) else { return Ok(()) };
    for (i, s) in sources.iter().enumerate() {
        let Some(t) = s.as_table() else { continue };
        let id = t.get("id").and_then(|v| v.as_str()).map_or_else(|| format!("#{}", i + 1), str::to_string);
        let kind = t.get("kind").and_then(|v| v.as_str()).unwrap_or_default();
        let specific: &[&str] = match kind {
            "http" => &["url"],
            "folder" => &["path", "glob"],
            "json_api" => &["url", "json"],
            other => return Err(format!("nguồn `{id}`: loại (kind) `{other}` không phải http, folder hay json_api")),
        };
        let common = ["id", "agency", "kind", "auth", "mapping", "enabled"];
        for key in t.keys() {
            if !common.contains(&key.as_str()) && !specific.contains(&key.as_str()) {
                let mut allowed: Vec<&str> = common.to_vec();
                allowed.extend(specific);
                return Err(format!(
                    "nguồn `{id}`: khóa `{key}` không có ở nguồn loại {kind} (các khóa hợp lệ: {})",
                    allowed.join(", ")
                ));
            }
        }
    }
    Ok(())
}

/// Replaces `{year}`, `{quarter}` and `{period}` (2024-Q2).
pub fn expand(template: &str, period: Period) -> String {
    template
        .replace("{year}", &period.year().to_string())
        .replace("{quarter}", &period.quarter().to_string())
        .replace("{period}", &period.to_string())
}

impl Source {
    /// The request headers, with the secret read from the environment now.
    pub fn auth_headers(&self) -> Result<Vec<(String, String)>, String> {
        let Some(auth) = &self.auth else { return Ok(Vec::new()) };
        let raw = std::env::var(&auth.env).map_err(|_| {
            format!("the environment variable {} (credentials of source `{}`) is not set", auth.env, self.id)
        })?;
        // A newline left by `echo` or an editor would make the header invalid: the token is
        // trimmed, and the operator told.
        let token = raw.trim().to_string();
        if token != raw {
            tracing::warn!(variable = %auth.env, source = %self.id, "token trimmed of surrounding whitespace");
        }
        let value = if auth.scheme.is_empty() { token } else { format!("{} {token}", auth.scheme) };
        Ok(vec![(auth.header.clone(), value)])
    }

    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            SourceKind::Http { .. } => "http",
            SourceKind::Folder { .. } => "folder",
            SourceKind::JsonApi { .. } => "json_api",
        }
    }
}

/// The file name a URL names, as a person reads it: the last path segment,
/// percent-decoded (`S%E1%BB%9F%20Y%20t%E1%BA%BF.xlsx` → `Sở Y tế.xlsx`), in NFC.
pub fn file_name_of(url: &str) -> String {
    let segment = match reqwest::Url::parse(url) {
        Ok(u) if u.scheme() != "file" => {
            u.path_segments().and_then(|mut s| s.next_back().map(str::to_string)).unwrap_or_default()
        }
        _ => url.rsplit('/').next().unwrap_or(url).split('?').next().unwrap_or_default().to_string(),
    };
    let decoded = percent_encoding::percent_decode_str(&segment).decode_utf8_lossy();
    let name = crate::text::clean(&decoded);
    if name.is_empty() { shown_url(url) } else { name }
}

/// A URL as exports, rejects and logs show it: the path percent-decoded, the query and
/// any credentials hidden. Text that is not a URL is returned as it is.
pub fn shown_url(url: &str) -> String {
    let Ok(mut u) = reqwest::Url::parse(url) else { return url.to_string() };
    if !matches!(u.scheme(), "http" | "https") {
        return url.to_string();
    }
    let _ = u.set_password(None);
    let _ = u.set_username("");
    let hidden_query = u.query().is_some_and(|q| !q.is_empty());
    u.set_query(None);
    u.set_fragment(None);
    let decoded = percent_encoding::percent_decode_str(u.as_str()).decode_utf8_lossy().into_owned();
    let decoded = crate::text::clean(&decoded);
    if hidden_query { format!("{decoded}?…") } else { decoded }
}

/// The files of a folder source for a period, sorted by name.
pub fn list_folder(path: &Path, glob: &str, period: Period) -> std::io::Result<Vec<PathBuf>> {
    let path = PathBuf::from(expand(&path.display().to_string(), period));
    let pattern = glob::Pattern::new(&expand(glob, period))
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()))?;
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&path)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        // Office lock files and hidden files are not reports.
        if name.starts_with("~$") || name.starts_with('.') {
            continue;
        }
        if entry.file_type()?.is_file() && pattern.matches(&name) {
            out.push(entry.path());
        }
    }
    out.sort();
    Ok(out)
}
