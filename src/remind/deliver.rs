//! Sending what the outbox holds: claimed with a lease, recipient by recipient, at a
//! limited rate, through SMTP (within working hours) or as .eml files.
//!
//! Failure model, per recipient:
//! - accepted (2xx): marked `sent` at once, so a crash later repeats nobody else;
//! - permanent (5xx): marked `failed` with the server's code and words, never retried;
//! - transient (4xx) or no connection: the message goes back to the queue after a backoff
//!   (doubling from `retry_base_secs`, with jitter, up to `retry_max_secs`); past
//!   `max_attempts` it is logged and stays queued: an unreachable or busy server never fails
//!   a message for good;
//! - the login refused (530, 534, 535) or TLS failed: a fault of the connection, met by
//!   the first message of the pass alone; the pass stops, the message goes back as it was;
//! - a graceful stop gives back every message claimed and not started.
//!
//! A crash between the server's acceptance and the mark leaves the message `sending`; when
//! its lease ends it is reclaimed and that one recipient may get it twice (same
//! Message-ID). The log says so.
//!
//! Owns: `deliver_due`, `Transport`, `DeliverOptions`, `DeliveryReport`, `Fault`,
//! `Refused`, `backoff` and `DeliverError`. Receives: the `warehouse::Warehouse` (its
//! outbox: `OutMessage`s claimed under a lease), `RemindSettings`,
//! `remind::settings::MailSettings` and a `SendingCalendar` from `jobs::remind`. Hands on:
//! messages to the SMTP server or .eml files; each recipient's `warehouse::RecipientState`
//! back to the outbox; the `DeliveryReport` to `jobs::remind` (and its `Fault` to `serve`
//! and `cli::remind`).

use std::path::{Path, PathBuf};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use futures::{StreamExt, TryStreamExt};
use lettre::address::Envelope as SmtpEnvelope;
use lettre::message::Mailbox;
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde::Serialize;

use super::render::{Envelope, build, mailbox};
use super::settings::{MailSettings, MailTransport, SmtpSecurity};
use super::{RemindSettings, SendingCalendar};
use crate::events::Event;
use crate::warehouse::{OutMessage, RecipientState};
use crate::warehouse::{Warehouse, WarehouseError};

/// Why delivery could not run at all (a single message's failure is recorded, not raised).
#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
    #[error("mail.smtp: không thiết lập được kết nối tới máy chủ thư {host}:{port}: {message}")]
    Smtp { host: String, port: u16, message: String },
    #[error("mail.from: `{0}` không phải địa chỉ thư dạng `Sở KH&CN <chuyendoiso@vinhlong.gov.vn>`")]
    From(String),
    #[error("không ghi được {path}: {}", crate::messages::io_reason(.source))]
    File { path: String, source: std::io::Error },
    #[error("fault injected: stopped after sending message {key} to {address}, before marking it sent")]
    InjectedCrash { key: String, address: String },
}

/// Where messages go.
pub enum Transport {
    /// `.eml` files under a directory (the default: nothing leaves the machine).
    File {
        dir: PathBuf,
    },
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        server: String,
    },
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Transport::File { dir } => write!(f, "file transport to {}", dir.display()),
            Transport::Smtp { server, .. } => write!(f, "SMTP to {server}"),
        }
    }
}

impl Transport {
    /// From `[mail]`: STARTTLS, implicit TLS or plain, authenticated when a username is set,
    /// with a connection pool sized to the configured concurrency.
    pub fn from_settings(mail: &MailSettings, concurrency: usize) -> Result<Self, DeliverError> {
        match mail.transport {
            MailTransport::File => Ok(Transport::File { dir: mail.outbox_dir.clone() }),
            MailTransport::Smtp => {
                let s = &mail.smtp;
                let err = |message: String| DeliverError::Smtp { host: s.host.clone(), port: s.port, message };
                let builder = match s.security {
                    SmtpSecurity::Starttls => {
                        AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&s.host).map_err(|e| err(e.to_string()))?
                    }
                    SmtpSecurity::Tls => {
                        AsyncSmtpTransport::<Tokio1Executor>::relay(&s.host).map_err(|e| err(e.to_string()))?
                    }
                    SmtpSecurity::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host),
                };
                let mut builder = builder
                    .port(s.port)
                    .timeout(Some(StdDuration::from_secs(30)))
                    .pool_config(PoolConfig::new().max_size(u32::try_from(concurrency.max(1)).unwrap_or(u32::MAX)));
                if !s.username.is_empty() {
                    builder =
                        builder.credentials(Credentials::new(s.username.clone(), s.password.expose().to_string()));
                }
                Ok(Transport::Smtp { transport: builder.build(), server: format!("{}:{}", s.host, s.port) })
            }
        }
    }

    /// Whether sending waits for working hours (SMTP) or not (files: nothing reaches anyone).
    pub fn respects_working_hours(&self) -> bool {
        matches!(self, Transport::Smtp { .. })
    }
}

/// Test and operations hooks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Fault {
    #[default]
    None,
    /// Return an error right after the first accepted recipient, before marking it.
    StopAfterSend,
    /// Exit the process there (black-box crash tests: `CHISO_FAULT_CRASH_AFTER_SEND=1`).
    ExitAfterSend,
}

/// How a delivery pass runs.
#[derive(Debug, Clone)]
pub struct DeliverOptions {
    pub now: DateTime<Utc>,
    /// Who claims (host and process), for the lease.
    pub claimer: String,
    /// How long a claim holds before another process may take the message over.
    pub lease: Duration,
    pub fault: Fault,
    /// When the pass started on the monotonic clock: `now` plus the time elapsed since
    /// stamps every mark, so replays at a given moment keep consistent times.
    pub started: std::time::Instant,
    /// Stops the pass before the next batch (shutdown); messages in flight finish.
    pub stop: Option<tokio_util::sync::CancellationToken>,
}

impl DeliverOptions {
    pub fn at(now: DateTime<Utc>) -> Self {
        Self {
            now,
            claimer: claimer(),
            lease: Duration::minutes(10),
            fault: Fault::None,
            started: std::time::Instant::now(),
            stop: None,
        }
    }

    /// The current moment on the pass's clock.
    pub fn stamp(&self) -> DateTime<Utc> {
        self.now + Duration::from_std(self.started.elapsed()).unwrap_or_default()
    }
}

/// `host:pid`.
pub fn claimer() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".into());
    format!("{host}:{}", std::process::id())
}

/// A recipient the server refused for good.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refused {
    pub key: String,
    pub address: String,
    pub code: Option<u16>,
    pub error: String,
}

/// What a delivery pass did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DeliveryReport {
    /// Messages every recipient accepted.
    pub sent: usize,
    /// Messages some recipients refused for good.
    pub partial: usize,
    /// Messages nobody accepted (refused, or given up after the last attempt).
    pub failed: usize,
    /// Messages back in the queue after a transient failure.
    pub retrying: usize,
    /// Recipients accepted in this pass.
    pub recipients_sent: usize,
    pub refused: Vec<Refused>,
    /// Messages reclaimed from a crashed sender (one recipient may receive them twice).
    pub reclaimed: Vec<String>,
    /// Set when the working window is closed: nothing was sent before it.
    pub waiting_until: Option<DateTime<Utc>>,
    /// The next queued message not yet due.
    pub next_due: Option<DateTime<Utc>>,
    /// Where the file transport wrote.
    pub files: Vec<String>,
    /// Why the pass stopped before sending (a login refused, a TLS failure): a fault of
    /// the connection, not of any recipient. Nothing was sent or marked; the queue is as
    /// it was until the next pass.
    pub stopped: Option<String>,
    /// Claimed messages given back unsent (a graceful stop, a stopped pass).
    pub released: usize,
}

/// Spaces sends at most `rate` per second across concurrent tasks.
struct RateLimiter {
    interval: StdDuration,
    next: tokio::sync::Mutex<tokio::time::Instant>,
}

impl RateLimiter {
    fn new(rate: f64) -> Self {
        let interval =
            if rate.is_finite() && rate > 0.0 { StdDuration::from_secs_f64(1.0 / rate) } else { StdDuration::ZERO };
        Self { interval, next: tokio::sync::Mutex::new(tokio::time::Instant::now()) }
    }

    async fn wait(&self) {
        let at = {
            let mut next = self.next.lock().await;
            let at = (*next).max(tokio::time::Instant::now());
            *next = at + self.interval;
            at
        };
        tokio::time::sleep_until(at).await;
    }
}

/// The delay before attempt `attempt + 1`: doubling, capped, with ±20 % jitter.
pub fn backoff(settings: &RemindSettings, attempt: i64, key: &str) -> Duration {
    let base = settings.retry_base_secs.max(1) as f64;
    let exp = base * 2f64.powi(i32::try_from(attempt.saturating_sub(1).clamp(0, 30)).unwrap_or(30));
    let capped = exp.min(settings.retry_max_secs.max(settings.retry_base_secs) as f64);
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes().chain(attempt.to_le_bytes()) {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let jitter = 0.8 + 0.4 * ((h % 10_000) as f64 / 10_000.0);
    Duration::milliseconds((capped * jitter * 1000.0) as i64)
}

/// Sends every message due at `opts.now`.
#[tracing::instrument(skip_all, fields(job = "deliver"))]
pub async fn deliver_due(
    wh: &Warehouse,
    transport: &Transport,
    settings: &RemindSettings,
    sending: &SendingCalendar,
    from: &str,
    opts: &DeliverOptions,
) -> Result<DeliveryReport, DeliverError> {
    let from: Mailbox = from.parse().map_err(|_| DeliverError::From(from.to_string()))?;
    let mut report = DeliveryReport::default();
    for key in wh.reclaim_expired(opts.now).await? {
        tracing::warn!(
            key = %key,
            "a previous sender stopped while sending this message (its lease ended): it is sent again to the recipients not marked sent; \
             the one being sent at the crash may receive it twice, with the same Message-ID"
        );
        report.reclaimed.push(key);
    }
    if transport.respects_working_hours() && !sending.is_open(opts.now) {
        report.waiting_until = Some(sending.next_open(opts.now));
        report.next_due = wh.next_due().await?;
        return Ok(report);
    }
    let limiter = RateLimiter::new(settings.rate_per_second);
    let pass = Pass { wh, settings, from: &from, opts, limiter: &limiter };
    let batch = i64::try_from(settings.concurrency.max(1) * 2).unwrap_or(8);
    let mut probed = false;
    loop {
        if opts.stop.as_ref().is_some_and(tokio_util::sync::CancellationToken::is_cancelled) {
            break;
        }
        let ids = wh.claim_due(opts.now, batch, &opts.claimer, opts.lease).await?;
        if ids.is_empty() {
            break;
        }
        // The first message of a pass goes alone: a refused login or a broken TLS
        // handshake is met once, by one connection, and stops the pass with the queue as it
        // was, instead of every message and every pooled connection trying again.
        let mut ids = ids;
        if !probed && !ids.is_empty() {
            probed = true;
            let first = ids.remove(0);
            let o = send_one(&pass, transport, first).await?;
            let halt = o.halt.clone();
            tally(&mut report, o);
            if let Some(why) = halt {
                report.released += usize::try_from(wh.release_claims(&ids, &opts.claimer).await?).unwrap_or(0);
                report.stopped = Some(why);
                break;
            }
        }
        // The first error that is not one message's (the warehouse, an injected crash)
        // stops the pass: what was claimed waits for its lease to end.
        let outcomes: Vec<Outcome> = futures::stream::iter(ids)
            .map(|id| send_one(&pass, transport, id))
            .buffer_unordered(settings.concurrency.max(1))
            .try_collect()
            .await?;
        let mut halted = None;
        for o in outcomes {
            halted = halted.or_else(|| o.halt.clone());
            tally(&mut report, o);
        }
        if let Some(why) = halted {
            report.stopped = Some(why);
            break;
        }
    }
    report.next_due = wh.next_due().await?;
    Ok(report)
}

struct Outcome {
    status: &'static str,
    recipients_sent: usize,
    refused: Vec<Refused>,
    file: Option<String>,
    /// The connection failed (login refused, TLS): the pass stops, for the operator.
    halt: Option<String>,
}

impl Outcome {
    fn of(status: &'static str) -> Self {
        Self { status, recipients_sent: 0, refused: Vec::new(), file: None, halt: None }
    }
}

fn tally(report: &mut DeliveryReport, o: Outcome) {
    report.recipients_sent += o.recipients_sent;
    report.refused.extend(o.refused);
    report.files.extend(o.file);
    match o.status {
        "released" => report.released += 1,
        "sent" => report.sent += 1,
        "partial" => report.partial += 1,
        "failed" => report.failed += 1,
        _ => report.retrying += 1,
    }
}

/// What every message of one delivery pass shares.
struct Pass<'a> {
    wh: &'a Warehouse,
    settings: &'a RemindSettings,
    from: &'a Mailbox,
    opts: &'a DeliverOptions,
    limiter: &'a RateLimiter,
}

async fn send_one(pass: &Pass<'_>, transport: &Transport, id: i64) -> Result<Outcome, DeliverError> {
    let Pass { wh, from, opts, .. } = *pass;
    // A graceful stop: what was claimed and not started goes back to the queue now rather
    // than when its lease ends.
    if opts.stop.as_ref().is_some_and(tokio_util::sync::CancellationToken::is_cancelled) {
        wh.release_claims(&[id], &opts.claimer).await?;
        return Ok(Outcome::of("released"));
    }
    let Some(m) = wh.load_message(id).await? else {
        return Ok(Outcome::of("failed"));
    };
    let bytes = match formatted(&m, from) {
        Ok(b) => b,
        Err(e) => {
            let error = format!("cannot build the message: {e}");
            Event::Failed.emit_because(1, &m.key, &error);
            wh.finish_message(id, "failed", None, Some(&error), opts.stamp()).await?;
            return Ok(Outcome::of("failed"));
        }
    };
    match transport {
        Transport::File { dir } => {
            let path = eml_path(dir, &m);
            write_atomic(&path, &bytes)?;
            for (address, _, _, status) in &m.recipients {
                if status == "pending" {
                    wh.mark_recipient(id, address, RecipientState::sent(None), opts.stamp()).await?;
                }
            }
            wh.finish_message(id, "sent", None, None, opts.stamp()).await?;
            Event::Sent.emit(m.recipients.len() as u64, &m.key);
            Ok(Outcome {
                recipients_sent: m.recipients.len(),
                file: Some(path.display().to_string()),
                ..Outcome::of("sent")
            })
        }
        Transport::Smtp { transport, .. } => send_smtp(pass, transport, &m, &bytes).await,
    }
}

async fn send_smtp(
    pass: &Pass<'_>,
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    m: &OutMessage,
    bytes: &[u8],
) -> Result<Outcome, DeliverError> {
    let Pass { wh, settings, from, opts, limiter } = *pass;
    let mut sent_now = 0;
    let mut refused = Vec::new();
    let mut transient: Option<String> = None;
    for (address, _, _, status) in &m.recipients {
        if status != "pending" {
            continue;
        }
        let Ok(to) = address.parse::<lettre::Address>() else {
            let error = format!("`{address}` is not a mail address");
            wh.mark_recipient(m.id, address, RecipientState::failed(None, &error), opts.stamp()).await?;
            refused.push(Refused { key: m.key.clone(), address: address.clone(), code: None, error });
            continue;
        };
        let envelope = SmtpEnvelope::new(Some(from.email.clone()), vec![to]).map_err(|e| DeliverError::Smtp {
            host: String::new(),
            port: 0,
            message: e.to_string(),
        })?;
        limiter.wait().await;
        match transport.send_raw(&envelope, bytes).await {
            Ok(_) => {
                match opts.fault {
                    Fault::None => {}
                    Fault::StopAfterSend => {
                        return Err(DeliverError::InjectedCrash { key: m.key.clone(), address: address.clone() });
                    }
                    Fault::ExitAfterSend => {
                        eprintln!(
                            "fault injected: exiting after sending {} to {address}, before marking it sent",
                            m.key
                        );
                        std::process::exit(86);
                    }
                }
                wh.mark_recipient(m.id, address, RecipientState::sent(Some(250)), opts.stamp()).await?;
                Event::Sent.emit(1, &m.key);
                sent_now += 1;
            }
            Err(e) if connection_fault(&e) => {
                let error = one_line_error(&e);
                tracing::error!(key = %m.key, "delivery stopped: the mail server refused the login or TLS: {error}");
                // Nobody was at fault: the message goes back as it was.
                wh.release_claims(&[m.id], &opts.claimer).await?;
                return Ok(Outcome {
                    halt: Some(format!(
                        "Máy chủ thư từ chối đăng nhập hoặc kết nối bảo mật ({error}): dừng gửi, các thư vẫn chờ trong hàng đợi; kiểm tra [mail.smtp] và CHISO_MAIL__SMTP__PASSWORD"
                    )),
                    ..Outcome::of("released")
                });
            }
            Err(e) if e.is_permanent() => {
                let code = e.status().map(u16::from);
                let error = one_line_error(&e);
                Event::Failed.emit_because(1, &m.key, format_args!("recipient {address} refused ({code:?}): {error}"));
                wh.mark_recipient(m.id, address, RecipientState::failed(code, &error), opts.stamp()).await?;
                refused.push(Refused { key: m.key.clone(), address: address.clone(), code, error });
            }
            Err(e) => {
                let error = one_line_error(&e);
                tracing::warn!(key = %m.key, address = %address, attempt = m.attempts, "transient failure, will retry: {error}");
                if let Some(code) = e.status() {
                    wh.mark_recipient(
                        m.id,
                        address,
                        RecipientState::pending(Some(u16::from(code)), &error),
                        opts.stamp(),
                    )
                    .await?;
                }
                // A busy or unreachable server: the other recipients wait for the retry too.
                transient = Some(error);
                break;
            }
        }
    }
    let states = wh.load_message(m.id).await?.map(|x| x.recipients).unwrap_or_default();
    let any_sent = states.iter().any(|r| r.3 == "sent");
    let pending = states.iter().filter(|r| r.3 == "pending").count();
    let status: &'static str = if let Some(error) = transient.filter(|_| pending > 0) {
        // A busy or unreachable server is never a reason to give a message up: past
        // `max_attempts` it is retried every `retry_max_secs` until the server is back.
        if m.attempts >= i64::from(settings.max_attempts) {
            tracing::warn!(key = %m.key, attempts = m.attempts, "still undelivered after max_attempts; kept queued");
        }
        let retry_at = opts.now + backoff(settings, m.attempts, &m.key);
        wh.finish_message(m.id, "queued", Some(retry_at), Some(&error), opts.stamp()).await?;
        "queued"
    } else {
        let failed = states.iter().any(|r| r.3 == "failed");
        let status = match (any_sent, failed) {
            (true, false) => "sent",
            (true, true) => "partial",
            _ => "failed",
        };
        let error = refused.first().map(|r| format!("{}: {}", r.address, r.error));
        wh.finish_message(m.id, status, None, error.as_deref(), opts.stamp()).await?;
        status
    };
    Ok(Outcome { recipients_sent: sent_now, refused, ..Outcome::of(status) })
}

/// A fault of the connection rather than of a recipient: the login refused (530
/// authentication required, 534 mechanism too weak, 535 credentials invalid) or TLS failed.
fn connection_fault(e: &lettre::transport::smtp::Error) -> bool {
    e.is_tls() || e.status().is_some_and(|c| matches!(u16::from(c), 530 | 534 | 535))
}

fn one_line_error(e: &lettre::transport::smtp::Error) -> String {
    let mut s = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    crate::text::clean(&s.replace(['\r', '\n'], " "))
}

/// The message as it goes on the wire, To and Cc as planned.
pub fn formatted(m: &OutMessage, from: &Mailbox) -> Result<Vec<u8>, lettre::error::Error> {
    let to: Vec<Mailbox> = m.recipients.iter().filter(|r| r.2 == "to").filter_map(|r| mailbox(&r.1, &r.0)).collect();
    let cc: Vec<Mailbox> = m.recipients.iter().filter(|r| r.2 == "cc").filter_map(|r| mailbox(&r.1, &r.0)).collect();
    let named = m.sender.as_ref().map(|n| Mailbox::new(Some(n.clone()), from.email.clone()));
    let message = build(&Envelope {
        from: named.as_ref().unwrap_or(from),
        to: &to,
        cc: &cc,
        message_id: &m.message_id,
        key: &m.key,
        subject: &m.subject,
        text: &m.text,
        html: &m.html,
        attachments: &m.attachments,
        date: std::time::SystemTime::now(),
    })?;
    Ok(message.formatted())
}

/// `data/outbox/2024-Q2/so_yt__sau_han.eml`.
pub fn eml_path(dir: &Path, m: &OutMessage) -> PathBuf {
    let tail: String = m
        .key
        .rsplitn(3, '/')
        .take(2)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<Vec<_>>()
        .join("__")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' })
        .collect();
    dir.join(m.period.to_string()).join(format!("{tail}.eml"))
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), DeliverError> {
    let err = |source| DeliverError::File { path: path.display().to_string(), source };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(err)?;
    }
    let tmp = path.with_extension("eml.tmp");
    std::fs::write(&tmp, bytes).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}
