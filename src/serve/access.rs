//! Who may do what on the admin port: the API and the dashboard share these rules.
//!
//! * No operator token configured (only allowed on a loopback bind): everyone is an
//!   operator, as before.
//! * Otherwise a request carries `Authorization: Bearer <token>` (the operator's
//!   `CHISO_ADMIN__TOKEN`, or the read-only `CHISO_ADMIN__VIEWER_TOKEN`), or the session
//!   cookie the dashboard's sign-in form set. Tokens are compared as SHA-256 digests in
//!   constant time and never appear in URLs or logs.
//! * A viewer reads (GET, HEAD) and starts nothing: any other method is a 403.
//!
//! Sessions: the sign-in form posts the token in its body; a valid one creates a random
//! 256-bit session id kept server-side (its digest → role and expiry), sent as an
//! `HttpOnly; SameSite=Strict; Path=/` cookie. A server-side table rather than a signed
//! cookie, because signing out (or a restart) must end the session at once, and the
//! dashboard has few users: a map in memory is enough. `Secure` is added when the request
//! came through a TLS proxy (`X-Forwarded-Proto: https`): the daemon itself speaks plain
//! HTTP, and a `Secure` cookie would never come back over `http://127.0.0.1`.
//!
//! Owns: `Access` (the token digests and the sessions), `Role`, `COOKIE`, `SESSION_TTL` and
//! `set_cookie`. Receives: the operator and viewer tokens (`config::AdminSettings`) from
//! `serve`; each request's headers from `serve::api` and `serve::dashboard`. Hands on: the
//! caller's `Role` (or none) to `serve::api` and `serve::dashboard`; session cookies to
//! `serve::dashboard`'s sign-in.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, header};
use rand::RngCore as _;
use sha2::Digest as _;
use subtle::ConstantTimeEq;

/// The session cookie's name.
pub const COOKIE: &str = "chiso_session";

/// How long a session lasts without signing in again.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);

/// What a caller may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads and starts runs.
    Operator,
    /// Reads only.
    Viewer,
}

impl Role {
    pub fn vi(self) -> &'static str {
        match self {
            Role::Operator => "Quản trị",
            Role::Viewer => "Xem",
        }
    }
}

pub(crate) fn digest(token: &str) -> [u8; 32] {
    sha2::Sha256::digest(token.as_bytes()).into()
}

/// The configured tokens and the open sessions.
pub struct Access {
    operator: Option<[u8; 32]>,
    viewer: Option<[u8; 32]>,
    sessions: Mutex<HashMap<[u8; 32], (Role, Instant)>>,
}

impl Access {
    /// From the tokens as configured (empty = not set; surrounding whitespace ignored).
    pub fn new(operator: &str, viewer: &str) -> Self {
        let d = |t: &str| (!t.trim().is_empty()).then(|| digest(t.trim()));
        Self { operator: d(operator), viewer: d(viewer), sessions: Mutex::new(HashMap::new()) }
    }

    /// Whether anything is asked of callers.
    pub fn is_open(&self) -> bool {
        self.operator.is_none()
    }

    /// The role a token gives, if any.
    pub fn role_of_token(&self, token: &str) -> Option<Role> {
        let given = digest(token.trim());
        let is = |want: &Option<[u8; 32]>| want.is_some_and(|w| bool::from(given.ct_eq(&w)));
        if is(&self.operator) {
            Some(Role::Operator)
        } else if is(&self.viewer) {
            Some(Role::Viewer)
        } else {
            None
        }
    }

    /// The caller's role: open access, a bearer token, or a session cookie.
    pub fn role(&self, headers: &HeaderMap) -> Option<Role> {
        if self.is_open() {
            return Some(Role::Operator);
        }
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .and_then(|t| self.role_of_token(t));
        bearer.or_else(|| self.session_role(headers))
    }

    fn session_role(&self, headers: &HeaderMap) -> Option<Role> {
        let id = session_id(headers)?;
        let key = digest(id);
        let mut sessions = self.sessions.lock().ok()?;
        match sessions.get(&key) {
            Some((role, until)) if *until > Instant::now() => Some(*role),
            Some(_) => {
                sessions.remove(&key);
                None
            }
            None => None,
        }
    }

    /// Opens a session for `role`: the cookie value to send.
    pub fn open_session(&self, role: Role) -> String {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let id = hex::encode(bytes);
        if let Ok(mut sessions) = self.sessions.lock() {
            let now = Instant::now();
            sessions.retain(|_, (_, until)| *until > now);
            sessions.insert(digest(&id), (role, now + SESSION_TTL));
        }
        id
    }

    /// Ends the session the request carries, if any.
    pub fn close_session(&self, headers: &HeaderMap) {
        if let (Some(id), Ok(mut sessions)) = (session_id(headers), self.sessions.lock()) {
            sessions.remove(&digest(id));
        }
    }
}

/// The session id of the request's cookie.
fn session_id(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim())
        .filter(|v| !v.is_empty())
}

/// Whether the request reached us through a TLS-terminating proxy.
fn behind_tls(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

/// The `Set-Cookie` value of a new session (`id`) or of its end (`None`).
pub fn set_cookie(id: Option<&str>, headers: &HeaderMap) -> String {
    let secure = if behind_tls(headers) { "; Secure" } else { "" };
    match id {
        Some(id) => {
            format!("{COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{secure}", SESSION_TTL.as_secs())
        }
        None => format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{secure}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_cookie(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, value.parse().unwrap());
        h
    }

    #[test]
    fn tokens_sessions_and_their_end() {
        let a = Access::new("op-token", "viewer-token");
        assert!(!a.is_open());
        assert_eq!(a.role_of_token("op-token"), Some(Role::Operator));
        assert_eq!(a.role_of_token(" viewer-token\n"), Some(Role::Viewer));
        assert_eq!(a.role_of_token("viewer"), None);
        assert_eq!(a.role(&HeaderMap::new()), None);
        let id = a.open_session(Role::Viewer);
        assert_eq!(id.len(), 64);
        let h = with_cookie(&format!("theme=dark; {COOKIE}={id}"));
        assert_eq!(a.role(&h), Some(Role::Viewer));
        assert_eq!(a.role(&with_cookie(&format!("{COOKIE}={}", "0".repeat(64)))), None);
        a.close_session(&h);
        assert_eq!(a.role(&h), None, "a closed session still reads");
        // No viewer token configured: an empty token gives nothing.
        let b = Access::new("op-token", "");
        assert_eq!(b.role_of_token(""), None);
        assert!(Access::new("", "").is_open());
    }

    #[test]
    fn the_cookie_is_http_only_strict_and_secure_only_behind_tls() {
        let plain = set_cookie(Some("abc"), &HeaderMap::new());
        assert_eq!(plain, format!("{COOKIE}=abc; HttpOnly; SameSite=Strict; Path=/; Max-Age=43200"));
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-proto", "https".parse().unwrap());
        assert!(set_cookie(Some("abc"), &h).ends_with("; Secure"));
        assert!(set_cookie(None, &HeaderMap::new()).contains("Max-Age=0"));
    }
}
