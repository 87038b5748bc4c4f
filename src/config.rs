//! Layered settings: the embedded defaults (`config/chiso.toml`, compiled in), then the
//! file given with `--config` / `CHISO_CONFIG`, then `CHISO_SECTION__KEY` environment
//! variables, environment last.
//!
//! Secrets (SMTP password, admin token) come from the environment only: a secret found in
//! a file is refused, naming the file and the variable to use instead. [`Secret`] never
//! prints its value, so `Debug`, logs and `chiso config check` cannot leak it.
//!
//! Owns: `config::Settings` and its layering (`load`, `load_with_env`), with the settings
//! no stage owns (plan, cycle, database, log, admin, collect). Receives: the embedded
//! `config/chiso.toml`, a `--config` file and the `CHISO_*` environment; the stages' own
//! settings types (`evaluate::EvalSettings`, `remind::RemindSettings`,
//! `remind::settings::MailSettings`, `sources::http::HttpPolicy`,
//! `domain::ReportingCalendar`). Hands on: `Loaded` and `Settings` to `cli` and `app`, and
//! from there to `jobs` and `serve`; `ConfigError` naming where a bad value came from.

use std::fmt;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use figment::{Metadata, Profile, Provider, Source};
use serde::{Deserialize, Serialize};

use crate::domain::{AgencyId, Period, ReportingCalendar};

/// The compiled-in defaults.
pub mod schedule;

pub use crate::remind::settings::{MailSettings, MailTransport, SmtpSecurity, SmtpSettings};
pub use crate::secret::{Secret, redact_url};

pub const EMBEDDED_DEFAULTS: &str = include_str!("../config/chiso.toml");

/// `[plan]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanSettings {
    /// The generated plan catalogue.
    pub file: PathBuf,
    /// The operator's overrides of flagged items (optional file).
    pub overrides: PathBuf,
    /// The agency directory.
    pub agencies: PathBuf,
    /// The coordinating department.
    pub coordinator: AgencyId,
}

/// `[cycle]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CycleSettings {
    /// The quarter `chiso cycle` runs on when none is given; the current one when absent.
    #[serde(default)]
    pub default_period: Option<Period>,
}

/// `[database]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `sqlite://PATH` or `postgres://…`. A password inside the URL is accepted from the
    /// environment only.
    pub url: Secretish,
    pub max_connections: u32,
    pub acquire_timeout_secs: u64,
}

/// A URL that may carry a password: printed with the password hidden.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secretish(String);

impl Secretish {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL with any password replaced by `***`.
    pub fn redacted(&self) -> String {
        redact_url(&self.0)
    }

    fn has_password(&self) -> bool {
        redact_url(&self.0) != self.0
    }
}

impl fmt::Debug for Secretish {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.redacted())
    }
}

impl Serialize for Secretish {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.redacted())
    }
}

/// `[log]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub format: LogFormat,
    pub level: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Text,
    Json,
}

/// `[admin]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminSettings {
    pub bind: String,
    /// A request still unanswered after this many seconds gets a 408.
    #[serde(default = "request_timeout_default")]
    pub request_timeout_secs: u64,
    /// From `CHISO_ADMIN__TOKEN` only.
    #[serde(default)]
    pub token: Secret,
    /// From `CHISO_ADMIN__VIEWER_TOKEN` only: reads the dashboard and the API, starts nothing.
    #[serde(default)]
    pub viewer_token: Secret,
}

fn request_timeout_default() -> u64 {
    30
}

/// `[collect]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectSettings {
    /// The sources file.
    pub sources: PathBuf,
    /// Sources fetched at the same time.
    pub concurrency: usize,
    /// Timeouts, retries and limits of every HTTP request.
    pub http: crate::sources::http::HttpPolicy,
    /// An operator's vocabulary file, read in addition to the embedded
    /// `config/vocabulary.toml` (statuses, header words, units, "nothing to report" words).
    #[serde(default)]
    pub vocabulary: Option<PathBuf>,
}

/// Every setting, after layering.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub plan: PlanSettings,
    pub cycle: CycleSettings,
    pub database: DatabaseSettings,
    pub log: LogSettings,
    pub calendar: ReportingCalendar,
    pub collect: CollectSettings,
    pub evaluate: crate::evaluate::EvalSettings,
    pub remind: crate::remind::RemindSettings,
    pub mail: MailSettings,
    pub admin: AdminSettings,
    pub serve: schedule::ServeSettings,
}

/// Why the settings cannot be used. Each names where the bad value came from.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}", crate::messages::config::cannot_read(.path, &crate::messages::io_reason(.source)))]
    Io { path: String, source: std::io::Error },
    #[error("{0}")]
    Figment(Box<figment::Error>),
    #[error("{}", crate::messages::config::invalid(.origin, .key, .reason))]
    Invalid { origin: String, key: String, reason: String },
    #[error("{}", crate::messages::config::not_unicode(.var))]
    NotUnicode { var: String },
}

impl From<figment::Error> for ConfigError {
    fn from(e: figment::Error) -> Self {
        ConfigError::Figment(Box::new(e))
    }
}

/// Keys that hold secrets, with the variable each must come from.
const SECRET_KEYS: &[(&str, &str)] = &[
    ("mail.smtp.password", "CHISO_MAIL__SMTP__PASSWORD"),
    ("admin.token", "CHISO_ADMIN__TOKEN"),
    ("admin.viewer_token", "CHISO_ADMIN__VIEWER_TOKEN"),
];

/// Keys whose environment value is a string whatever it looks like (a numeric token, a
/// user name `123456`), never read as a TOML number or boolean.
const STRING_KEYS: &[&str] = &[
    "mail.smtp.password",
    "admin.token",
    "admin.viewer_token",
    "mail.smtp.username",
    "mail.smtp.host",
    "mail.from",
    "database.url",
    "admin.bind",
    "log.level",
];

/// Tokens: whitespace around them (a newline left by `echo` or an editor) is trimmed,
/// with a warning.
const TOKEN_KEYS: &[&str] = &["admin.token", "admin.viewer_token"];

/// The layered settings and where they came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub settings: Settings,
    /// The layers, in order: `embedded defaults`, the file, `environment (VARS)`.
    pub layers: Vec<String>,
    /// Environment variables whose value was trimmed of surrounding whitespace.
    pub trimmed: Vec<String>,
    figment: Figment,
}

impl Loaded {
    /// Which layer gave a key its value (`config/chiso.toml`, `CHISO_DATABASE__URL` …).
    pub fn origin(&self, key: &str) -> String {
        origin_of(&self.figment, key)
    }
}

fn origin_of(figment: &Figment, key: &str) -> String {
    match figment.find_metadata(key) {
        Some(meta) => match &meta.source {
            Some(Source::File(path)) => path.display().to_string(),
            Some(Source::Custom(s)) => s.clone(),
            _ => meta.name.to_string(),
        },
        None => crate::messages::config::SETTINGS.to_string(),
    }
}

/// A provider under a name of our choosing, so errors say `embedded defaults` or
/// `CHISO_DATABASE__URL` rather than a source-code location.
struct Named<P> {
    inner: P,
    name: String,
}

impl<P> Named<P> {
    fn new(inner: P, name: &str) -> Self {
        Self { inner, name: name.to_string() }
    }
}

impl<P: Provider> Provider for Named<P> {
    fn metadata(&self) -> Metadata {
        Metadata::from(self.name.clone(), Source::Custom(self.name.clone()))
    }

    fn data(&self) -> Result<figment::value::Map<Profile, figment::value::Dict>, figment::Error> {
        self.inner.data()
    }
}

/// Loads settings from the embedded defaults, an optional file and the process
/// environment.
pub fn load(file: Option<&Path>) -> Result<Loaded, ConfigError> {
    load_with_env(file, process_env()?)
}

/// The process's `CHISO_` variables; one that is not UTF-8 is an error naming it. Other
/// programs' variables are not read.
pub fn process_env() -> Result<Vec<(String, String)>, ConfigError> {
    let mut out = Vec::new();
    for (k, v) in std::env::vars_os() {
        let name = k.to_string_lossy();
        if !name.starts_with("CHISO_") {
            continue;
        }
        match (k.to_str(), v.into_string()) {
            (Some(k), Ok(v)) => out.push((k.to_string(), v)),
            _ => return Err(ConfigError::NotUnicode { var: name.into_owned() }),
        }
    }
    Ok(out)
}

/// Like [`load`], with the environment given (for tests).
pub fn load_with_env(
    file: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Loaded, ConfigError> {
    let mut figment =
        Figment::new().merge(Named::new(Toml::string(EMBEDDED_DEFAULTS), crate::messages::config::EMBEDDED_LAYER));
    let mut layers = vec![crate::messages::config::EMBEDDED_LAYER.to_string()];
    let mut trimmed = Vec::new();
    if let Some(path) = file {
        if !path.exists() {
            return Err(ConfigError::Io {
                path: path.display().to_string(),
                source: std::io::Error::from(std::io::ErrorKind::NotFound),
            });
        }
        // Read it ourselves so a syntax error names the file and line.
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Io { path: path.display().to_string(), source })?;
        if let Err(e) = toml::from_str::<toml::Table>(&text) {
            return Err(ConfigError::Invalid {
                origin: path.display().to_string(),
                key: crate::messages::config::SYNTAX_KEY.into(),
                reason: crate::messages::toml_error(&text, &e),
            });
        }
        for (key, var) in SECRET_KEYS {
            let file_only = Figment::from(Toml::file(path));
            if file_only.find_value(key).is_ok_and(|v| v.as_str().is_some_and(|s| !s.is_empty())) {
                return Err(ConfigError::Invalid {
                    origin: path.display().to_string(),
                    key: (*key).to_string(),
                    reason: crate::messages::config::secret_in_file(var),
                });
            }
        }
        if let Some(url) =
            Figment::from(Toml::file(path)).find_value("database.url").ok().and_then(|v| v.as_str().map(str::to_string))
            && Secretish::new(url).has_password()
        {
            return Err(ConfigError::Invalid {
                origin: path.display().to_string(),
                key: "database.url".into(),
                reason: crate::messages::config::PASSWORD_IN_URL.into(),
            });
        }
        figment = figment.merge(Toml::file(path));
        layers.push(path.display().to_string());
    }
    let env: Vec<(String, String)> =
        env.into_iter().filter(|(k, _)| k.starts_with("CHISO_") && k[6..].contains("__")).collect();
    if !env.is_empty() {
        let names: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
        layers.push(crate::messages::config::environment_layer(&names.join(", ")));
        let mut env_layer = String::new();
        for (k, v) in &env {
            // Build a TOML fragment so each value keeps its variable's name as its origin.
            let key = k[6..].split("__").map(str::to_lowercase).collect::<Vec<_>>().join(".");
            let value = if TOKEN_KEYS.contains(&key.as_str()) && v.trim() != v {
                trimmed.push(k.clone());
                v.trim()
            } else {
                v.as_str()
            };
            let value = if STRING_KEYS.contains(&key.as_str()) {
                toml::Value::String(value.to_string()).to_string()
            } else {
                toml_value(value)
            };
            env_layer.push_str(&format!("{key} = {value}\n"));
        }
        let parsed: toml::Table = toml::from_str(&env_layer).map_err(|e| ConfigError::Invalid {
            origin: crate::messages::config::ENVIRONMENT_LAYER.into(),
            key: names.join(", "),
            reason: e.to_string(),
        })?;
        for (k, _) in &env {
            let key = k[6..].split("__").map(str::to_lowercase).collect::<Vec<_>>().join(".");
            figment = figment.merge(Named::new(Serialized::global(&key, value_at(&parsed, &k[6..])), k));
        }
    }
    let settings: Settings = figment.extract().map_err(|e| describe_figment_error(e, &figment))?;
    validate(&settings, &figment)?;
    Ok(Loaded { settings, layers, trimmed, figment })
}

/// Reads an environment value as TOML when it is a number or a boolean, else as a string.
fn toml_value(v: &str) -> String {
    // Arrays (`["mon","tue"]`) and inline tables are read as TOML when they are valid TOML.
    if (v.starts_with('[') || v.starts_with('{')) && toml::from_str::<toml::Table>(&format!("x = {v}")).is_ok() {
        return v.to_string();
    }
    if v.parse::<i64>().is_ok() || v.parse::<f64>().is_ok() || v == "true" || v == "false" {
        v.to_string()
    } else {
        toml::Value::String(v.to_string()).to_string()
    }
}

fn value_at(table: &toml::Table, var_suffix: &str) -> toml::Value {
    let mut current = toml::Value::Table(table.clone());
    for part in var_suffix.split("__") {
        current = current.get(part.to_lowercase()).cloned().unwrap_or(toml::Value::String(String::new()));
    }
    current
}

fn describe_figment_error(e: figment::Error, figment: &Figment) -> ConfigError {
    let key = e.path.join(".");
    if key.is_empty() {
        return ConfigError::from(e);
    }
    let origin = e
        .metadata
        .as_ref()
        .map(|m| match &m.source {
            Some(Source::File(p)) => p.display().to_string(),
            Some(Source::Custom(s)) => s.clone(),
            _ => m.name.to_string(),
        })
        .unwrap_or_else(|| origin_of(figment, &key));
    ConfigError::Invalid { origin, key, reason: crate::messages::config::wrong_value(&e.kind) }
}

fn validate(s: &Settings, figment: &Figment) -> Result<(), ConfigError> {
    let invalid = |key: &str, reason: String| ConfigError::Invalid {
        origin: origin_of(figment, key),
        key: key.to_string(),
        reason,
    };
    if let Err(e) = s.calendar.validate() {
        let key = if matches!(e, crate::domain::calendar::CalendarError::CutoffDay(_)) {
            "calendar.cutoff_day"
        } else {
            "calendar.due_days_after_cutoff"
        };
        return Err(invalid(key, e.to_string()));
    }
    let url = s.database.url.expose();
    if !(url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(invalid("database.url", crate::messages::config::bad_database_url(&s.database.url.redacted())));
    }
    if s.collect.concurrency == 0 || s.collect.concurrency > 64 {
        return Err(invalid("collect.concurrency", crate::messages::config::between(1, 64)));
    }
    if s.collect.http.max_attempts == 0 {
        return Err(invalid("collect.http.max_attempts", crate::messages::config::AT_LEAST_ONE.into()));
    }
    if !(s.collect.http.connect_timeout_secs > 0.0 && s.collect.http.read_timeout_secs > 0.0) {
        return Err(invalid("collect.http", crate::messages::config::TIMEOUTS_POSITIVE.into()));
    }
    if !(0.0..=100.0).contains(&s.evaluate.tolerance_pp) {
        return Err(invalid("evaluate.tolerance_pp", crate::messages::config::TOLERANCE_PP.into()));
    }
    if !(0.0..=1.0).contains(&s.evaluate.tolerance_count_ratio) {
        return Err(invalid("evaluate.tolerance_count_ratio", crate::messages::config::TOLERANCE_RATIO.into()));
    }
    if let Err(e) = crate::remind::SendingCalendar::new(&s.remind.working, s.calendar.timezone) {
        let key = match e {
            crate::remind::calendar::WorkingTimeError::Day(_) | crate::remind::calendar::WorkingTimeError::NoDays => {
                "remind.working_days"
            }
            crate::remind::calendar::WorkingTimeError::Holiday(_) => "remind.holidays",
            _ => "remind.working_start",
        };
        return Err(invalid(key, e.to_string()));
    }
    if !s.remind.rate_per_second.is_finite() || s.remind.rate_per_second <= 0.0 {
        return Err(invalid("remind.rate_per_second", crate::messages::config::POSITIVE.into()));
    }
    if s.remind.max_attempts == 0 || s.remind.concurrency == 0 {
        return Err(invalid("remind.max_attempts", crate::messages::config::ATTEMPTS_AND_CONCURRENCY.into()));
    }
    let mut ids = std::collections::HashSet::new();
    let mut schedule_ids = std::collections::BTreeSet::new();
    for sch in &s.serve.schedules {
        if !schedule_ids.insert(sch.id.as_str()) || sch.id.is_empty() {
            return Err(invalid("serve.schedule", crate::messages::config::schedule_id(&sch.id)));
        }
        if let Err(e) =
            schedule::parse_cron(&sch.cron).and_then(|c| schedule::check_fires(&sch.cron, &c, s.calendar.timezone))
        {
            return Err(invalid("serve.schedule", crate::messages::config::schedule(&sch.id, &e)));
        }
    }
    if s.serve.delivery_interval_secs == 0 {
        return Err(invalid("serve.delivery_interval_secs", crate::messages::config::AT_LEAST_ONE.into()));
    }
    for r in &s.remind.rounds {
        if r.id.is_empty()
            || !r.id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            || !ids.insert(r.id.clone())
        {
            return Err(invalid("remind.round", crate::messages::config::round_id(&r.id)));
        }
        if r.statuses.is_empty() {
            return Err(invalid("remind.round", crate::messages::config::round_without_statuses(&r.id)));
        }
    }
    if s.database.max_connections == 0 {
        return Err(invalid("database.max_connections", crate::messages::config::AT_LEAST_ONE.into()));
    }
    if s.log.level.parse::<tracing_subscriber::EnvFilter>().is_err() {
        return Err(invalid("log.level", crate::messages::config::log_filter(&s.log.level)));
    }
    if s.mail.from.parse::<lettre::message::Mailbox>().is_err() {
        return Err(invalid("mail.from", crate::messages::config::mailbox(&s.mail.from)));
    }
    if s.mail.transport == MailTransport::Smtp && s.mail.smtp.host.trim().is_empty() {
        return Err(invalid("mail.smtp.host", crate::messages::config::SMTP_HOST.into()));
    }
    if !s.mail.smtp.username.is_empty() && s.mail.smtp.password.is_empty() && s.mail.transport == MailTransport::Smtp {
        return Err(invalid("mail.smtp.password", crate::messages::config::SMTP_PASSWORD.into()));
    }
    let bind: std::net::SocketAddr = s
        .admin
        .bind
        .parse()
        .map_err(|_| invalid("admin.bind", crate::messages::config::not_an_address(&s.admin.bind)))?;
    if !bind.ip().is_loopback() && s.admin.token.is_empty() {
        return Err(invalid("admin.token", crate::messages::config::not_loopback(bind)));
    }
    Ok(())
}

impl Settings {
    /// The effective settings as TOML, secrets redacted.
    pub fn to_redacted_toml(&self) -> String {
        toml::to_string(self).unwrap_or_else(crate::messages::config::cannot_print)
    }

    /// The embedded defaults alone (what a fresh checkout runs with).
    pub fn defaults() -> Result<Self, ConfigError> {
        Ok(load_with_env(None, std::iter::empty())?.settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    #[test]
    fn embedded_defaults_work() {
        let s = Settings::defaults().unwrap();
        assert_eq!(s.database.url.expose(), "sqlite://data/chiso.db");
        assert_eq!(s.mail.transport, MailTransport::File);
        assert_eq!(s.calendar.cutoff_day, 14);
        assert_eq!(s.plan.coordinator.as_str(), "so_tttt");
    }

    #[test]
    fn environment_overrides_the_file() {
        let f = file("[database]\nurl = \"sqlite://from-file.db\"\nmax_connections = 3\n");
        let loaded = load_with_env(
            Some(f.path()),
            env(&[
                ("CHISO_DATABASE__URL", "sqlite://from-env.db"),
                ("CHISO_CALENDAR__CUTOFF_DAY", "20"),
                ("CHISO_TEST_DATABASE_URL", "ignored"),
            ]),
        )
        .unwrap();
        assert_eq!(loaded.settings.database.url.expose(), "sqlite://from-env.db");
        assert_eq!(loaded.settings.database.max_connections, 3, "the file still applies where env is silent");
        assert_eq!(loaded.settings.calendar.cutoff_day, 20);
        assert_eq!(loaded.origin("database.url"), "CHISO_DATABASE__URL");
        assert!(loaded.origin("database.max_connections").ends_with(".toml"));
    }

    #[test]
    fn secrets_come_from_the_environment_and_are_never_printed() {
        let loaded = load_with_env(
            None,
            env(&[("CHISO_MAIL__SMTP__PASSWORD", "hunter2-pass"), ("CHISO_ADMIN__TOKEN", "tok-123456")]),
        )
        .unwrap();
        assert_eq!(loaded.settings.mail.smtp.password.expose(), "hunter2-pass");
        let printed = loaded.settings.to_redacted_toml();
        let debugged = format!("{:?}", loaded.settings);
        for shown in [printed, debugged] {
            assert!(!shown.contains("hunter2-pass") && !shown.contains("tok-123456"), "{shown}");
        }
        let f = file("[mail.smtp]\npassword = \"in-a-file\"\n");
        let err = load_with_env(Some(f.path()), []).unwrap_err().to_string();
        assert!(
            err.contains("mail.smtp.password") && err.contains("CHISO_MAIL__SMTP__PASSWORD") && err.contains(".toml"),
            "{err}"
        );
        assert!(!err.contains("in-a-file"));
    }

    #[test]
    fn numeric_secrets_and_user_names_are_strings() {
        let loaded = load_with_env(
            None,
            env(&[
                ("CHISO_ADMIN__TOKEN", "123456"),
                ("CHISO_MAIL__SMTP__USERNAME", "100200"),
                ("CHISO_MAIL__SMTP__PASSWORD", "0042"),
            ]),
        )
        .unwrap();
        assert_eq!(loaded.settings.admin.token.expose(), "123456");
        assert_eq!(loaded.settings.mail.smtp.username, "100200");
        assert_eq!(loaded.settings.mail.smtp.password.expose(), "0042", "leading zeros kept");
        // Numbers elsewhere are still numbers.
        let loaded = load_with_env(None, env(&[("CHISO_CALENDAR__CUTOFF_DAY", "20")])).unwrap();
        assert_eq!(loaded.settings.calendar.cutoff_day, 20);
    }

    #[test]
    fn a_token_s_surrounding_whitespace_is_trimmed_and_said() {
        let loaded = load_with_env(None, env(&[("CHISO_ADMIN__TOKEN", "s3cret-token\n")])).unwrap();
        assert_eq!(loaded.settings.admin.token.expose(), "s3cret-token");
        assert_eq!(loaded.trimmed, vec!["CHISO_ADMIN__TOKEN".to_string()]);
        let loaded = load_with_env(None, env(&[("CHISO_ADMIN__TOKEN", "s3cret-token")])).unwrap();
        assert!(loaded.trimmed.is_empty());
        // A password is a password: kept as given.
        let loaded = load_with_env(None, env(&[("CHISO_MAIL__SMTP__PASSWORD", " pass ")])).unwrap();
        assert_eq!(loaded.settings.mail.smtp.password.expose(), " pass ");
    }

    #[test]
    fn an_at_sign_in_a_password_is_hidden_whole() {
        for (url, want) in [
            ("postgres://chiso:p@ss@db:5432/chiso", "postgres://chiso:***@db:5432/chiso"),
            ("postgres://chiso:a:b/c@db/chiso", "postgres://***@db/chiso"),
            ("postgres://chiso:s3cret@db/chiso", "postgres://chiso:***@db/chiso"),
            ("postgres://chiso@db/chiso", "postgres://chiso@db/chiso"),
            ("sqlite://data/chiso.db", "sqlite://data/chiso.db"),
            ("postgres://chiso:p@ss@[bad/chiso", "postgres://***@[bad/chiso"),
        ] {
            let got = redact_url(url);
            assert_eq!(got, want, "{url}");
            assert!(!got.contains("ss@") && !got.contains("s3cret") && !got.contains("a:b"), "{got}");
        }
    }

    #[test]
    fn a_cron_that_never_fires_is_refused_and_fields_combine_like_the_scheduler() {
        let sched = |cron: &str| {
            env(&[("CHISO_SERVE__SCHEDULE", &format!("[{{ id = \"x\", job = \"collect\", cron = \"{cron}\" }}]"))])
        };
        let err = load_with_env(None, sched("0 0 7 31 2 *")).unwrap_err().to_string();
        assert!(err.contains("0 0 7 31 2 *") && err.contains("không bao giờ chạy"), "{err}");
        assert!(load_with_env(None, sched("0 0 7 29 2 *")).is_ok(), "29 February comes every four years");
        // Day of month AND day of week, as tokio-cron-scheduler runs it: the 13th that is
        // a Friday, not every 13th and every Friday.
        let cron = schedule::parse_cron("0 0 7 13 * FRI").unwrap();
        let tz = chrono_tz::Asia::Ho_Chi_Minh;
        let from = chrono::TimeZone::with_ymd_and_hms(&tz, 2024, 1, 1, 0, 0, 0).unwrap();
        let next = cron.find_next_occurrence(&from, false).unwrap();
        assert_eq!(next.date_naive(), chrono::NaiveDate::from_ymd_opt(2024, 9, 13).unwrap());
    }

    #[test]
    fn database_passwords_are_redacted() {
        let loaded =
            load_with_env(None, env(&[("CHISO_DATABASE__URL", "postgres://chiso:s3cret@db:5432/chiso")])).unwrap();
        assert_eq!(loaded.settings.database.url.redacted(), "postgres://chiso:***@db:5432/chiso");
        assert!(!loaded.settings.to_redacted_toml().contains("s3cret"));
        let f = file("[database]\nurl = \"postgres://chiso:s3cret@db/chiso\"\n");
        let err = load_with_env(Some(f.path()), []).unwrap_err().to_string();
        assert!(err.contains("CHISO_DATABASE__URL") && !err.contains("s3cret"), "{err}");
    }

    #[test]
    fn bad_values_name_file_key_and_reason() {
        let f = file("[calendar]\ncutoff_day = 31\n");
        let err = load_with_env(Some(f.path()), []).unwrap_err().to_string();
        assert!(
            err.contains(&f.path().display().to_string())
                && err.contains("calendar.cutoff_day")
                && err.contains("từ 1 đến 28"),
            "{err}"
        );

        let f = file("[calendar]\ncutoff_day = \"fourteen\"\n");
        let err = load_with_env(Some(f.path()), []).unwrap_err().to_string();
        assert!(err.contains("calendar.cutoff_day"), "{err}");

        let f = file("[databse]\nurl = \"x\"\n");
        let err = load_with_env(Some(f.path()), []).unwrap_err().to_string();
        assert!(err.contains("databse"), "{err}");

        let f = file("[database\nurl = ");
        let err = load_with_env(Some(f.path()), []).unwrap_err().to_string();
        assert!(err.contains(&f.path().display().to_string()) && err.contains("dòng 1"), "{err}");

        let err = load_with_env(None, env(&[("CHISO_DATABASE__URL", "mysql://x")])).unwrap_err().to_string();
        assert!(err.contains("CHISO_DATABASE__URL") && err.contains("database.url"), "{err}");

        let err = load_with_env(None, env(&[("CHISO_ADMIN__BIND", "0.0.0.0:8080")])).unwrap_err().to_string();
        assert!(err.contains("CHISO_ADMIN__TOKEN"), "{err}");
        assert!(
            load_with_env(None, env(&[("CHISO_ADMIN__BIND", "0.0.0.0:8080"), ("CHISO_ADMIN__TOKEN", "t")])).is_ok()
        );

        let err = load_with_env(None, env(&[("CHISO_PLAN__COORDINATOR", "Sở TT&TT")])).unwrap_err().to_string();
        assert!(err.contains("plan.coordinator"), "{err}");
    }
}
