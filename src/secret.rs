//! Secrets and the URLs that may carry them: a [`Secret`] prints as `[redacted]`, and
//! [`redact_url`] hides the password of a URL before it reaches a log or a message. Below
//! every stage: the settings, the warehouse and the sources all print URLs.
//!
//! Owns: `Secret` and `redact_url`. Receives: secret strings from `config` and
//! `remind::settings`, URLs from `warehouse` and the other modules that log them. Hands on:
//! a redacted value for `Debug`, logs and messages; `expose` only to the code that really
//! uses the secret.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A secret read from the environment. Prints as `[redacted]`.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(if self.0.is_empty() { "" } else { "[redacted]" })
    }
}

/// `scheme://user:password@host` → `scheme://user:***@host`, parsed with the `url` crate
/// (a password holding `@`, `:` or `/` is hidden whole). A text that is not a URL but has
/// user information before an `@` has everything up to its last `@` hidden.
pub fn redact_url(text: &str) -> String {
    match url::Url::parse(text) {
        Ok(mut u) if u.password().is_some() => {
            if u.set_password(Some("***")).is_err() {
                return hide_userinfo(text);
            }
            u.to_string().replace("%2A%2A%2A", "***")
        }
        Ok(_) => text.to_string(),
        Err(_) => hide_userinfo(text),
    }
}

fn hide_userinfo(text: &str) -> String {
    let Some((scheme, rest)) = text.split_once("://") else { return text.to_string() };
    match rest.rsplit_once('@') {
        Some((_, host)) => format!("{scheme}://***@{host}"),
        None => text.to_string(),
    }
}
