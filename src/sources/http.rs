//! The shared fetch core every HTTP source uses: connect, read and whole-request timeouts,
//! retries with exponential backoff and jitter that honour `Retry-After` on 429 and 503, a
//! maximum body size, conditional requests (ETag / Last-Modified), and detection of bodies
//! cut short.
//!
//! Memory stays bounded whatever the servers send: a body is streamed to an unnamed
//! temporary file while it arrives (so a 200 MiB chunked response costs one chunk of memory,
//! then is refused at the size limit), and a complete body is read into memory only while it
//! holds its share of a byte budget common to every fetch of the collection
//! ([`HttpPolicy::max_bytes_in_memory`]). The [`Budget`] travels with the bytes until the
//! caller has stored them. One [`Fetcher`] (one connection pool) serves a whole collection.
//!
//! Owns: `HttpPolicy` (its settings, composed into `config::Settings`), `Fetcher`,
//! `Fetched`, `Budget`, `Attempted`, `FetchError`, and `redact_query`. Receives: a URL,
//! headers (`Source::auth_headers`) and the last fetch (`warehouse::LastFetch`) from
//! `jobs::collect` and `sources::json_api`. Hands on: `Fetched` bytes (or not-modified),
//! with their `Budget`, to `jobs::collect` and `sources::json_api`; `FetchError` with its
//! code and Vietnamese text.

use std::io::{Read, Seek, Write};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use rand::Rng;
use reqwest::StatusCode;
use reqwest::header::{
    CONTENT_LENGTH, CONTENT_TYPE, ETAG, HeaderMap, HeaderName, HeaderValue, IF_MODIFIED_SINCE, IF_NONE_MATCH,
    LAST_MODIFIED, RETRY_AFTER,
};
use serde::{Deserialize, Serialize};

use crate::warehouse::LastFetch;

/// Timeouts, retries and limits, from `[collect]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpPolicy {
    pub connect_timeout_secs: f64,
    /// Longest silence while reading a response.
    pub read_timeout_secs: f64,
    /// Longest time for one request, body included: a server that trickles a byte per
    /// read cannot hold a fetch longer than this.
    #[serde(default = "default_request_timeout")]
    pub request_timeout_secs: f64,
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// First retry delay; doubles each attempt, with ±50% jitter.
    pub backoff_base_ms: u64,
    /// Longest delay between attempts, `Retry-After` included.
    pub backoff_max_ms: u64,
    /// Larger bodies are refused.
    pub max_body_bytes: u64,
    /// Bytes of fetched bodies held in memory at once, across the parallel fetches of a
    /// collection. A body larger than this is held alone.
    #[serde(default = "default_bytes_in_memory")]
    pub max_bytes_in_memory: u64,
}

fn default_request_timeout() -> f64 {
    600.0
}

fn default_bytes_in_memory() -> u64 {
    64 * 1024 * 1024
}

impl Default for HttpPolicy {
    fn default() -> Self {
        Self {
            connect_timeout_secs: 10.0,
            read_timeout_secs: 60.0,
            request_timeout_secs: default_request_timeout(),
            max_attempts: 4,
            backoff_base_ms: 1_000,
            backoff_max_ms: 120_000,
            max_body_bytes: 50 * 1024 * 1024,
            max_bytes_in_memory: default_bytes_in_memory(),
        }
    }
}

/// A share of the fetch budget: while it is alive, its body's bytes count against
/// [`HttpPolicy::max_bytes_in_memory`]. Keep it until the bytes are stored.
#[derive(Debug, Clone)]
pub struct Budget(#[allow(dead_code)] Arc<tokio::sync::OwnedSemaphorePermit>);

/// A response worth keeping.
#[derive(Debug, Clone)]
pub enum Fetched {
    Body {
        bytes: Vec<u8>,
        status: u16,
        etag: Option<String>,
        last_modified: Option<String>,
        content_type: Option<String>,
        /// Held until the caller has stored the bytes.
        budget: Budget,
    },
    /// 304: the file has not changed since the validators we sent.
    NotModified,
}

/// Why a fetch gave up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("the server refused our credentials (HTTP {0})")]
    Unauthorized(u16),
    #[error("the server answered HTTP {0}")]
    Status(u16),
    #[error("no answer within the timeout")]
    Timeout,
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("the body is larger than the {limit}-byte limit")]
    TooLarge { limit: u64 },
    #[error("the body was cut short ({0})")]
    Truncated(String),
    #[error("{0}")]
    Other(String),
    #[error("`{0}` is not a URL chiso can fetch")]
    BadUrl(String),
    #[error("cannot spool the body to a temporary file: {0}")]
    Spool(String),
}

impl FetchError {
    pub fn code(&self) -> &'static str {
        match self {
            FetchError::Unauthorized(_) => "fetch_unauthorized",
            FetchError::Status(_) => "fetch_http_status",
            FetchError::Timeout => "fetch_timeout",
            FetchError::Connect(_) => "fetch_connect",
            FetchError::TooLarge { .. } => "fetch_too_large",
            FetchError::Truncated(_) => "fetch_truncated",
            FetchError::Other(_) => "fetch_failed",
            FetchError::BadUrl(_) => "fetch_bad_url",
            FetchError::Spool(_) => "fetch_spool",
        }
    }

    /// For the officer and the operator, in Vietnamese.
    pub fn vi(&self) -> String {
        match self {
            FetchError::Unauthorized(s) => format!(
                "Máy chủ của đơn vị từ chối quyền truy cập (HTTP {s}): kiểm tra mã truy cập (token) đã cấp cho chiso"
            ),
            FetchError::Status(s) => format!("Máy chủ của đơn vị trả lỗi HTTP {s} khi tải tệp báo cáo"),
            FetchError::Timeout => "Máy chủ của đơn vị không phản hồi trong thời gian chờ".into(),
            FetchError::Connect(d) => format!("Không kết nối được máy chủ của đơn vị ({d})"),
            FetchError::TooLarge { limit } => {
                format!("Tệp lớn hơn giới hạn {} MB nên không được tải", limit / (1024 * 1024))
            }
            FetchError::Truncated(_) => "Tệp tải về bị cắt ngang (kết nối đứt giữa chừng)".into(),
            FetchError::Other(d) => format!("Không tải được tệp báo cáo ({d})"),
            FetchError::BadUrl(u) => format!("Địa chỉ nguồn “{u}” không hợp lệ"),
            FetchError::Spool(d) => format!("Không ghi được tệp tạm khi tải ({d}): kiểm tra dung lượng đĩa"),
        }
    }

    fn retryable(&self) -> bool {
        matches!(self, FetchError::Timeout | FetchError::Connect(_) | FetchError::Truncated(_))
            || matches!(self, FetchError::Status(s) if matches!(s, 429 | 500 | 502 | 503 | 504))
    }
}

/// A fetch's result with how many attempts it took and the last HTTP status seen.
#[derive(Debug)]
pub struct Attempted<T> {
    pub result: Result<T, FetchError>,
    pub attempts: u32,
    pub status: Option<u16>,
}

/// The HTTP client with its policy and the byte budget of its bodies. Cloning shares the
/// connection pool and the budget.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    policy: HttpPolicy,
    budget: Arc<tokio::sync::Semaphore>,
    /// The budget in permits (KiB).
    budget_kib: u32,
}

impl Fetcher {
    pub fn new(policy: HttpPolicy) -> Result<Self, FetchError> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs_f64(policy.connect_timeout_secs))
            .read_timeout(Duration::from_secs_f64(policy.read_timeout_secs))
            .timeout(Duration::from_secs_f64(policy.request_timeout_secs.max(policy.read_timeout_secs)))
            .user_agent(concat!("chiso/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| FetchError::Other(e.to_string()))?;
        let budget_kib = u32::try_from(policy.max_bytes_in_memory.div_ceil(1024)).unwrap_or(u32::MAX).max(1);
        Ok(Self { client, policy, budget: Arc::new(tokio::sync::Semaphore::new(budget_kib as usize)), budget_kib })
    }

    /// Waits for `len` bytes of the budget (all of it for a body larger than the budget).
    async fn reserve(&self, len: u64) -> Result<Budget, FetchError> {
        let kib = u32::try_from(len.div_ceil(1024)).unwrap_or(u32::MAX).clamp(1, self.budget_kib);
        self.budget
            .clone()
            .acquire_many_owned(kib)
            .await
            .map(|p| Budget(Arc::new(p)))
            .map_err(|e| FetchError::Other(e.to_string()))
    }

    pub fn policy(&self) -> &HttpPolicy {
        &self.policy
    }

    /// GET with retries; `last` adds If-None-Match / If-Modified-Since.
    pub async fn get(&self, url: &str, headers: &[(String, String)], last: Option<&LastFetch>) -> Attempted<Fetched> {
        let parsed = match reqwest::Url::parse(url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => u,
            _ => return Attempted { result: Err(FetchError::BadUrl(url.to_string())), attempts: 0, status: None },
        };
        let mut header_map = HeaderMap::new();
        for (k, v) in headers {
            if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(k.as_bytes()), HeaderValue::from_str(v)) {
                let mut value = value;
                value.set_sensitive(true);
                header_map.insert(name, value);
            }
        }
        if let Some(last) = last {
            if let Some(etag) = last.etag.as_deref().and_then(|e| HeaderValue::from_str(e).ok()) {
                header_map.insert(IF_NONE_MATCH, etag);
            }
            if let Some(lm) = last.last_modified.as_deref().and_then(|e| HeaderValue::from_str(e).ok()) {
                header_map.insert(IF_MODIFIED_SINCE, lm);
            }
        }
        let mut attempts = 0;
        let mut last_status = None;
        loop {
            attempts += 1;
            let (result, retry_after) = self.once(parsed.clone(), header_map.clone(), &mut last_status).await;
            match result {
                Ok(f) => return Attempted { result: Ok(f), attempts, status: last_status },
                Err(e) if e.retryable() && attempts < self.policy.max_attempts => {
                    let delay = self.delay(attempts, retry_after);
                    tracing::warn!(url = %redact_query(url), attempt = attempts, error = %e, delay_ms = delay.as_millis() as u64, "fetch failed, retrying");
                    tokio::time::sleep(delay).await;
                }
                Err(e) => return Attempted { result: Err(e), attempts, status: last_status },
            }
        }
    }

    /// Exponential backoff with ±50% jitter; `Retry-After` when the server gave one.
    fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let max = Duration::from_millis(self.policy.backoff_max_ms);
        if let Some(d) = retry_after {
            return d.min(max);
        }
        let base = self.policy.backoff_base_ms as f64 * 2f64.powi(attempt.saturating_sub(1) as i32);
        let jitter = rand::rng().random_range(0.5..1.5);
        Duration::from_millis((base * jitter) as u64).min(max)
    }

    async fn once(
        &self,
        url: reqwest::Url,
        headers: HeaderMap,
        status_out: &mut Option<u16>,
    ) -> (Result<Fetched, FetchError>, Option<Duration>) {
        let response = match self.client.get(url).headers(headers).send().await {
            Ok(r) => r,
            Err(e) => return (Err(classify(&e)), None),
        };
        let status = response.status();
        *status_out = Some(status.as_u16());
        let retry_after = response.headers().get(RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(parse_retry_after);
        if status == StatusCode::NOT_MODIFIED {
            return (Ok(Fetched::NotModified), None);
        }
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return (Err(FetchError::Unauthorized(status.as_u16())), None);
        }
        if !status.is_success() {
            return (Err(FetchError::Status(status.as_u16())), retry_after);
        }
        let header =
            |name| response.headers().get(name).and_then(|v: &HeaderValue| v.to_str().ok()).map(str::to_string);
        let etag = header(ETAG);
        let last_modified = header(LAST_MODIFIED);
        let content_type = header(CONTENT_TYPE);
        let declared: Option<u64> = header(CONTENT_LENGTH).and_then(|v| v.parse().ok());
        if declared.is_some_and(|n| n > self.policy.max_body_bytes) {
            return (Err(FetchError::TooLarge { limit: self.policy.max_body_bytes }), None);
        }
        let limit = self.policy.max_body_bytes;
        let mut spool = match tempfile::tempfile() {
            Ok(f) => f,
            Err(e) => return (Err(FetchError::Spool(e.to_string())), None),
        };
        let mut received: u64 = 0;
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(c) => {
                    received += c.len() as u64;
                    if received > limit {
                        return (Err(FetchError::TooLarge { limit }), None);
                    }
                    // A local file write of one chunk: short enough to do in place.
                    if let Err(e) = spool.write_all(&c) {
                        return (Err(FetchError::Spool(e.to_string())), None);
                    }
                }
                Err(e) if e.is_timeout() => return (Err(FetchError::Timeout), None),
                Err(e) => return (Err(FetchError::Truncated(root_cause(&e))), None),
            }
        }
        if let Some(n) = declared
            && received != n
        {
            return (Err(FetchError::Truncated(format!("{received} of {n} bytes"))), None);
        }
        let budget = match self.reserve(received).await {
            Ok(b) => b,
            Err(e) => return (Err(e), None),
        };
        let mut bytes = Vec::with_capacity(received as usize);
        if let Err(e) = spool.rewind().and_then(|()| spool.read_to_end(&mut bytes)) {
            return (Err(FetchError::Spool(e.to_string())), None);
        }
        (Ok(Fetched::Body { bytes, status: status.as_u16(), etag, last_modified, content_type, budget }), None)
    }
}

fn classify(e: &reqwest::Error) -> FetchError {
    if e.is_timeout() {
        FetchError::Timeout
    } else if e.is_connect() {
        FetchError::Connect(root_cause(e))
    } else if e.is_body() || e.is_decode() {
        FetchError::Truncated(root_cause(e))
    } else {
        FetchError::Other(root_cause(e))
    }
}

fn root_cause(e: &dyn std::error::Error) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// `Retry-After: 120` or an HTTP date.
pub fn parse_retry_after(v: &str) -> Option<Duration> {
    if let Ok(secs) = v.trim().parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = DateTime::parse_from_rfc2822(v.trim()).ok()?;
    let wait = at.with_timezone(&Utc) - Utc::now();
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

/// A URL for logs: query strings may carry tokens.
pub fn redact_query(url: &str) -> String {
    match url.split_once('?') {
        Some((base, _)) => format!("{base}?…"),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_in_seconds_and_dates() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        let f = Fetcher::new(HttpPolicy { backoff_base_ms: 100, backoff_max_ms: 1_000, ..Default::default() }).unwrap();
        for _ in 0..50 {
            let d1 = f.delay(1, None).as_millis();
            let d3 = f.delay(3, None).as_millis();
            assert!((50..=150).contains(&d1), "{d1}");
            assert!((200..=600).contains(&d3), "{d3}");
            assert_eq!(f.delay(10, None).as_millis(), 1_000);
        }
        assert_eq!(f.delay(1, Some(Duration::from_millis(300))), Duration::from_millis(300));
        assert_eq!(f.delay(1, Some(Duration::from_secs(60))), Duration::from_millis(1_000));
    }

    #[test]
    fn query_strings_are_redacted() {
        assert_eq!(redact_query("https://x/a.xlsx?token=abc"), "https://x/a.xlsx?…");
    }
}
