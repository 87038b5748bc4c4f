//! The outbox: messages under a unique idempotency key, their recipients (each with its
//! own delivery state) and attachments. Claimed with a lease, so two processes never send
//! the same message at the same time (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite has
//! one writer), and a message left `sending` by a crash is reclaimed when its lease ends.
//!
//! Owns: the outbox tables: `NewMessage`, `NewRecipient`, `OutMessage`, `OutboxRow`,
//! `RecipientRow`, `LastMessage`, `RecipientState` and the claim. Receives: composed
//! messages with `domain::attachment::FileAttachment`s from `jobs::remind`; delivery
//! outcomes from `remind::deliver`. Hands on: claimed `OutMessage`s to `remind::deliver`;
//! `LastMessage`s to `jobs::remind`; `OutboxRow`s to `serve::api`, `serve::dashboard` and
//! `cli::remind`.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;

use super::{Backend, QueryContext, Warehouse, WarehouseError, with_pool};
use crate::domain::attachment::FileAttachment;
use crate::domain::{AgencyId, Period};

/// A recipient of a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewRecipient {
    pub address: String,
    pub name: String,
    /// to | cc
    pub kind: &'static str,
    pub agency: Option<String>,
}

/// A message to queue.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub key: String,
    pub plan_id: String,
    pub period: Period,
    pub agency: String,
    pub round: String,
    /// reminder | correction
    pub kind: &'static str,
    pub run_id: Option<i64>,
    pub evaluation_run: Option<i64>,
    /// JSON of the gap rows listed.
    pub items: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub message_id: String,
    /// The sender's display name on the day of composition.
    pub sender: Option<String>,
    pub not_before: DateTime<Utc>,
    pub recipients: Vec<NewRecipient>,
    pub attachments: Vec<FileAttachment>,
}

/// A message ready to send.
#[derive(Debug, Clone)]
pub struct OutMessage {
    pub id: i64,
    pub key: String,
    pub period: Period,
    pub agency: String,
    pub round: String,
    pub kind: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub message_id: String,
    pub attempts: i64,
    /// The sender's display name as composed (`None`: the configured one).
    pub sender: Option<String>,
    /// Every recipient with its state: pending | sent | failed.
    pub recipients: Vec<(String, String, String, String)>,
    pub attachments: Vec<FileAttachment>,
}

/// A line of `chiso outbox list`.
#[derive(Debug, Clone, Serialize)]
pub struct OutboxRow {
    pub id: i64,
    pub key: String,
    pub period: Period,
    pub agency: AgencyId,
    pub round: String,
    pub kind: String,
    pub status: String,
    pub attempts: i64,
    pub subject: String,
    pub not_before: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub recipients: Vec<RecipientRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RecipientRow {
    pub address: String,
    pub name: String,
    pub kind: String,
    pub agency: Option<String>,
    pub status: String,
    pub smtp_code: Option<i64>,
    pub error: Option<String>,
}

/// The last message to an agency for a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastMessage {
    pub kind: String,
    pub round: String,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// What became of one recipient of a message: `sent`, `failed` or still `pending`, with
/// the server's reply code and error when it gave one.
#[derive(Debug, Clone, Copy)]
pub struct RecipientState<'a> {
    pub status: &'a str,
    pub code: Option<u16>,
    pub error: Option<&'a str>,
}

impl<'a> RecipientState<'a> {
    pub fn sent(code: Option<u16>) -> Self {
        Self { status: "sent", code, error: None }
    }

    pub fn failed(code: Option<u16>, error: &'a str) -> Self {
        Self { status: "failed", code, error: Some(error) }
    }

    /// A transient refusal: the recipient waits for the retry.
    pub fn pending(code: Option<u16>, error: &'a str) -> Self {
        Self { status: "pending", code, error: Some(error) }
    }
}

impl Warehouse {
    /// Queues messages in one transaction; `None` where the key was already there (a rerun).
    pub async fn queue_messages(
        &self,
        messages: &[NewMessage],
        now: DateTime<Utc>,
    ) -> Result<Vec<Option<i64>>, WarehouseError> {
        with_pool!(self, |pool| {
            let mut tx = pool.begin().await.op("outbox write")?;
            let mut out = Vec::with_capacity(messages.len());
            for m in messages {
                let id: Option<i64> = sqlx::query_scalar(
                    "INSERT INTO outbox (idempotency_key, plan_id, period, agency_id, round, kind, run_id, evaluation_run, items, subject, \
                     text_body, html_body, message_id, status, attempts, not_before, created_at, sender) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'queued', 0, $14, $15, $16) \
                     ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
                )
                .bind(&m.key)
                .bind(&m.plan_id)
                .bind(m.period.code())
                .bind(&m.agency)
                .bind(&m.round)
                .bind(m.kind)
                .bind(m.run_id)
                .bind(m.evaluation_run)
                .bind(&m.items)
                .bind(&m.subject)
                .bind(&m.text)
                .bind(&m.html)
                .bind(&m.message_id)
                .bind(m.not_before)
                .bind(now)
                .bind(&m.sender)
                .fetch_optional(&mut *tx)
                .await
                .op("outbox write")?;
                if let Some(id) = id {
                    for r in &m.recipients {
                        sqlx::query(
                            "INSERT INTO outbox_recipients (outbox_id, address, name, kind, agency_id, status) VALUES ($1, $2, $3, $4, $5, 'pending') \
                             ON CONFLICT (outbox_id, address) DO NOTHING",
                        )
                        .bind(id)
                        .bind(&r.address)
                        .bind(&r.name)
                        .bind(r.kind)
                        .bind(&r.agency)
                        .execute(&mut *tx)
                        .await
                        .op("outbox write")?;
                    }
                    for (i, a) in m.attachments.iter().enumerate() {
                        sqlx::query("INSERT INTO outbox_attachments (outbox_id, position, file_name, content_type, content) VALUES ($1, $2, $3, $4, $5)")
                            .bind(id)
                            .bind(i as i64)
                            .bind(&a.name)
                            .bind(&a.content_type)
                            .bind(&a.bytes)
                            .execute(&mut *tx)
                            .await
                            .op("outbox write")?;
                    }
                }
                out.push(id);
            }
            tx.commit().await.op("outbox write")?;
            Ok(out)
        })
    }

    /// Which of `keys` are already in the outbox.
    pub async fn existing_keys(&self, keys: &[String]) -> Result<std::collections::HashSet<String>, WarehouseError> {
        let mut out = std::collections::HashSet::new();
        for chunk in keys.chunks(500) {
            with_pool!(self, |pool| {
                let mut q = sqlx::QueryBuilder::new("SELECT idempotency_key FROM outbox WHERE idempotency_key IN (");
                let mut sep = q.separated(", ");
                for k in chunk {
                    sep.push_bind(k.as_str());
                }
                q.push(")");
                for r in q.build().fetch_all(pool).await.op("outbox read")? {
                    out.insert(r.get::<String, _>(0));
                }
                Ok::<_, WarehouseError>(())
            })?;
        }
        Ok(out)
    }

    /// Whether any message of a round is in the outbox for a period.
    pub async fn round_queued(&self, plan_id: &str, period: Period, round: &str) -> Result<bool, WarehouseError> {
        with_pool!(self, |pool| sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM outbox WHERE plan_id = $1 AND period = $2 AND round = $3)"
        )
        .bind(plan_id)
        .bind(period.code())
        .bind(round)
        .fetch_one(pool)
        .await
        .op("outbox read"))
    }

    /// The last message (any round) to each agency for a period.
    pub async fn last_messages(
        &self,
        plan_id: &str,
        period: Period,
    ) -> Result<std::collections::HashMap<String, LastMessage>, WarehouseError> {
        with_pool!(self, |pool| {
            let rows = sqlx::query(
                "SELECT agency_id, kind, round, status, created_at, sent_at FROM outbox WHERE plan_id = $1 AND period = $2 ORDER BY id",
            )
            .bind(plan_id)
            .bind(period.code())
            .fetch_all(pool)
            .await
            .op("outbox read")?;
            Ok(rows
                .into_iter()
                .map(|r| {
                    (
                        r.get::<String, _>(0),
                        LastMessage {
                            kind: r.get(1),
                            round: r.get(2),
                            status: r.get(3),
                            created_at: r.get(4),
                            sent_at: r.get(5),
                        },
                    )
                })
                .collect())
        })
    }

    /// Messages left `sending` whose lease has ended (a crash between sending and marking):
    /// put back in the queue. Returns their keys.
    pub async fn reclaim_expired(&self, now: DateTime<Utc>) -> Result<Vec<String>, WarehouseError> {
        with_pool!(self, |pool| {
            sqlx::query_scalar(
            "UPDATE outbox SET status = 'queued', claimed_by = NULL, claimed_until = NULL WHERE status = 'sending' AND claimed_until < $1 \
             RETURNING idempotency_key",
        )
        .bind(now)
        .fetch_all(pool)
        .await
        .op("outbox reclaim")
        })
    }

    /// Claims up to `limit` messages due at `now` for `lease`.
    pub async fn claim_due(
        &self,
        now: DateTime<Utc>,
        limit: i64,
        claimer: &str,
        lease: chrono::Duration,
    ) -> Result<Vec<i64>, WarehouseError> {
        let sql = match self.backend() {
            Backend::Sqlite => {
                "UPDATE outbox SET status = 'sending', claimed_by = $1, claimed_until = $2, attempts = attempts + 1 WHERE id IN \
                 (SELECT id FROM outbox WHERE status = 'queued' AND not_before <= $3 ORDER BY not_before, id LIMIT $4) RETURNING id"
            }
            Backend::Postgres => {
                "UPDATE outbox SET status = 'sending', claimed_by = $1, claimed_until = $2, attempts = attempts + 1 WHERE id IN \
                 (SELECT id FROM outbox WHERE status = 'queued' AND not_before <= $3 ORDER BY not_before, id LIMIT $4 FOR UPDATE SKIP LOCKED) RETURNING id"
            }
        };
        with_pool!(self, |pool| sqlx::query_scalar(sql)
            .bind(claimer)
            .bind(now + lease)
            .bind(now)
            .bind(limit)
            .fetch_all(pool)
            .await
            .op("outbox claim"))
    }

    /// The earliest time a queued message is due, if any.
    pub async fn next_due(&self) -> Result<Option<DateTime<Utc>>, WarehouseError> {
        with_pool!(self, |pool| sqlx::query_scalar("SELECT MIN(not_before) FROM outbox WHERE status = 'queued'")
            .fetch_one(pool)
            .await
            .op("outbox read"))
    }

    pub async fn load_message(&self, id: i64) -> Result<Option<OutMessage>, WarehouseError> {
        with_pool!(self, |pool| {
            let Some(r) = sqlx::query(
                "SELECT id, idempotency_key, period, agency_id, round, kind, subject, text_body, html_body, message_id, attempts, sender FROM outbox WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await
            .op("outbox read")?
            else {
                return Ok(None);
            };
            let recipients = sqlx::query("SELECT address, name, kind, status FROM outbox_recipients WHERE outbox_id = $1 ORDER BY kind DESC, address")
                .bind(id)
                .fetch_all(pool)
                .await
                .op("outbox read")?
                .into_iter()
                .map(|x| (x.get(0), x.get(1), x.get(2), x.get(3)))
                .collect();
            let attachments = sqlx::query("SELECT file_name, content_type, content FROM outbox_attachments WHERE outbox_id = $1 ORDER BY position")
                .bind(id)
                .fetch_all(pool)
                .await
                .op("outbox read")?
                .into_iter()
                .map(|x| FileAttachment { name: x.get(0), content_type: x.get(1), bytes: x.get(2) })
                .collect();
            let code: i64 = r.get(2);
            Ok(Some(OutMessage {
                id: r.get(0),
                key: r.get(1),
                period: Period::from_code(code).ok_or_else(|| WarehouseError::Corrupt {
                    what: "outbox period".into(),
                    detail: code.to_string(),
                })?,
                agency: r.get(3),
                round: r.get(4),
                kind: r.get(5),
                subject: r.get(6),
                text: r.get(7),
                html: r.get(8),
                message_id: r.get(9),
                attempts: r.get(10),
                sender: r.get(11),
                recipients,
                attachments,
            }))
        })
    }

    pub async fn mark_recipient(
        &self,
        id: i64,
        address: &str,
        state: RecipientState<'_>,
        at: DateTime<Utc>,
    ) -> Result<(), WarehouseError> {
        let RecipientState { status, code, error } = state;
        with_pool!(self, |pool| {
            sqlx::query(
            "UPDATE outbox_recipients SET status = $1, smtp_code = $2, error = $3, sent_at = CASE WHEN $1 = 'sent' THEN $4 ELSE sent_at END \
             WHERE outbox_id = $5 AND address = $6",
        )
        .bind(status)
        .bind(code.map(i64::from))
        .bind(error)
        .bind(at)
        .bind(id)
        .bind(address)
        .execute(pool)
        .await
        .op("outbox mark")
        .map(|_| ())
        })
    }

    /// Ends a delivery attempt: sent, partial, failed, or queued again for `not_before`.
    pub async fn finish_message(
        &self,
        id: i64,
        status: &str,
        not_before: Option<DateTime<Utc>>,
        error: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), WarehouseError> {
        with_pool!(self, |pool| {
            sqlx::query(
            "UPDATE outbox SET status = $1, not_before = COALESCE($2, not_before), last_error = $3, claimed_by = NULL, claimed_until = NULL, \
             sent_at = CASE WHEN $1 IN ('sent', 'partial') THEN $4 ELSE sent_at END WHERE id = $5",
        )
        .bind(status)
        .bind(not_before)
        .bind(error)
        .bind(now)
        .bind(id)
        .execute(pool)
        .await
        .op("outbox mark")
        .map(|_| ())
        })
    }

    /// Gives back messages this sender claimed and never started (a graceful stop, a
    /// connection that refused the login): queued again as they were, the claim's attempt
    /// not counted. Returns how many.
    pub async fn release_claims(&self, ids: &[i64], claimer: &str) -> Result<u64, WarehouseError> {
        let mut released = 0;
        with_pool!(self, |pool| {
            for id in ids {
                released += sqlx::query(
                    "UPDATE outbox SET status = 'queued', claimed_by = NULL, claimed_until = NULL, attempts = attempts - 1 \
                     WHERE id = $1 AND status = 'sending' AND claimed_by = $2",
                )
                .bind(id)
                .bind(claimer)
                .execute(pool)
                .await
                .op("outbox release")?
                .rows_affected();
            }
            Ok::<_, WarehouseError>(())
        })?;
        Ok(released)
    }

    /// Ids of the failed and partial messages, of one period or all.
    pub async fn failed_messages(&self, period: Option<Period>) -> Result<Vec<i64>, WarehouseError> {
        with_pool!(self, |pool| sqlx::query_scalar(
            "SELECT id FROM outbox WHERE status IN ('failed', 'partial') AND ($1 < 0 OR period = $1) ORDER BY id"
        )
        .bind(period.map_or(-1, |p| p.code()))
        .fetch_all(pool)
        .await
        .op("outbox read"))
    }

    /// Puts a failed or partial message back in the queue for its failed recipients.
    pub async fn retry_message(&self, id: i64, now: DateTime<Utc>) -> Result<bool, WarehouseError> {
        with_pool!(self, |pool| {
            let mut tx = pool.begin().await.op("outbox retry")?;
            let n = sqlx::query("UPDATE outbox SET status = 'queued', not_before = $1, attempts = 0, last_error = NULL WHERE id = $2 AND status IN ('failed', 'partial', 'queued')")
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await
                .op("outbox retry")?
                .rows_affected();
            sqlx::query("UPDATE outbox_recipients SET status = 'pending', smtp_code = NULL, error = NULL WHERE outbox_id = $1 AND status = 'failed'")
                .bind(id)
                .execute(&mut *tx)
                .await
                .op("outbox retry")?;
            tx.commit().await.op("outbox retry")?;
            Ok(n > 0)
        })
    }

    /// The outbox, newest first, optionally for one period or status.
    pub async fn outbox(
        &self,
        period: Option<Period>,
        status: Option<&str>,
        id: Option<i64>,
    ) -> Result<Vec<OutboxRow>, WarehouseError> {
        with_pool!(self, |pool| {
            let rows = sqlx::query(
                "SELECT id, idempotency_key, period, agency_id, round, kind, status, attempts, subject, not_before, sent_at, last_error FROM outbox \
                 WHERE ($1 < 0 OR period = $1) AND ($2 = '' OR status = $2) AND ($3 < 0 OR id = $3) ORDER BY id DESC",
            )
            .bind(period.map_or(-1, Period::code))
            .bind(status.unwrap_or(""))
            .bind(id.unwrap_or(-1))
            .fetch_all(pool)
            .await
            .op("outbox read")?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                let id: i64 = r.get(0);
                let recipients = sqlx::query("SELECT address, name, kind, agency_id, status, smtp_code, error FROM outbox_recipients WHERE outbox_id = $1 ORDER BY kind DESC, address")
                    .bind(id)
                    .fetch_all(pool)
                    .await
                    .op("outbox read")?
                    .into_iter()
                    .map(|x| RecipientRow { address: x.get(0), name: x.get(1), kind: x.get(2), agency: x.get(3), status: x.get(4), smtp_code: x.get(5), error: x.get(6) })
                    .collect();
                let code: i64 = r.get(2);
                out.push(OutboxRow {
                    id,
                    key: r.get(1),
                    period: Period::from_code(code).ok_or_else(|| WarehouseError::Corrupt {
                        what: format!("message {id}"),
                        detail: format!("period {code}"),
                    })?,
                    agency: super::evaluation::parse_agency(r.get(3))?,
                    round: r.get(4),
                    kind: r.get(5),
                    status: r.get(6),
                    attempts: r.get(7),
                    subject: r.get(8),
                    not_before: r.get(9),
                    sent_at: r.get(10),
                    last_error: r.get(11),
                    recipients,
                });
            }
            Ok(out)
        })
    }

    /// The text and HTML bodies and attachments of a message (for `outbox show`).
    pub async fn message_bodies(&self, id: i64) -> Result<Option<(String, String, Vec<String>)>, WarehouseError> {
        Ok(self.load_message(id).await?.map(|m| {
            (
                m.text,
                m.html,
                m.attachments.into_iter().map(|a| format!("{} ({} bytes)", a.name, a.bytes.len())).collect(),
            )
        }))
    }
}

impl Warehouse {
    /// Withdraws an agency's messages of a period still waiting to be sent, except `keep`
    /// (a newer round supersedes them, or a late report made them pointless). Returns the
    /// withdrawn keys.
    pub async fn cancel_queued(
        &self,
        plan_id: &str,
        period: Period,
        agency: &str,
        keep: Option<&str>,
        reason: &str,
    ) -> Result<Vec<String>, WarehouseError> {
        with_pool!(self, |pool| {
            sqlx::query_scalar(
            "UPDATE outbox SET status = 'cancelled', last_error = $1 WHERE plan_id = $2 AND period = $3 AND agency_id = $4 \
             AND status = 'queued' AND idempotency_key <> $5 RETURNING idempotency_key",
        )
        .bind(reason)
        .bind(plan_id)
        .bind(period.code())
        .bind(agency)
        .bind(keep.unwrap_or(""))
        .fetch_all(pool)
        .await
        .op("outbox cancel")
        })
    }
}

impl Warehouse {
    /// The remind run that queued a message and the evaluation run it was based on.
    pub async fn outbox_runs(&self, id: i64) -> Result<Option<(Option<i64>, Option<i64>)>, WarehouseError> {
        with_pool!(self, |pool| sqlx::query_as("SELECT run_id, evaluation_run FROM outbox WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await
            .op("outbox read"))
    }

    /// The gap rows a message listed, as JSON: why this agency got this message.
    pub async fn outbox_items(&self, id: i64) -> Result<Option<String>, WarehouseError> {
        with_pool!(self, |pool| sqlx::query_scalar("SELECT items FROM outbox WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await
            .op("outbox read"))
    }
}

impl Warehouse {
    /// Puts every message back in the queue, every recipient pending (benchmarks send the
    /// same messages twice). Never used by the jobs.
    pub async fn reset_outbox_for_benchmark(&self) -> Result<(), WarehouseError> {
        with_pool!(self, |pool| {
            sqlx::query("UPDATE outbox SET status = 'queued', attempts = 0, claimed_by = NULL, claimed_until = NULL, sent_at = NULL")
                .execute(pool)
                .await
                .op("outbox reset")?;
            sqlx::query(
                "UPDATE outbox_recipients SET status = 'pending', smtp_code = NULL, error = NULL, sent_at = NULL",
            )
            .execute(pool)
            .await
            .op("outbox reset")?;
            Ok(())
        })
    }
}

impl Warehouse {
    /// Withdraws the messages still waiting for agencies that run `run_id` has just
    /// written to: one message at a time per agency, the newest. Returns the keys.
    pub async fn cancel_superseded(
        &self,
        plan_id: &str,
        period: Period,
        run_id: i64,
    ) -> Result<Vec<String>, WarehouseError> {
        with_pool!(self, |pool| {
            sqlx::query_scalar(
            "UPDATE outbox SET status = 'cancelled', last_error = $1 WHERE plan_id = $2 AND period = $3 AND status = 'queued' \
             AND (run_id IS NULL OR run_id <> $4) AND agency_id IN (SELECT agency_id FROM outbox WHERE run_id = $4 AND plan_id = $2 AND period = $3) \
             RETURNING idempotency_key",
        )
        .bind(format!("superseded by the message of run {run_id}"))
        .bind(plan_id)
        .bind(period.code())
        .bind(run_id)
        .fetch_all(pool)
        .await
        .op("outbox cancel")
        })
    }
}
