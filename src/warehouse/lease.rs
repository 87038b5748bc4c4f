//! Single flight: a job for a period runs once at a time across processes — the daemon,
//! an operator's CLI, a second replica on the same PostgreSQL.
//!
//! PostgreSQL: a session advisory lock on a connection the lease keeps (it is released
//! if the process dies, with the connection), plus a row in `leases` saying who holds it.
//! SQLite: the row alone, with an expiry the holder pushes forward every third of its
//! time-to-live; a holder that died stops renewing and the lease is free when it expires.
//!
//! Owns: `Lease` (`acquire`, `set_run`, `release`, its heartbeat), `lease_name`, `is_free`,
//! `mark_interrupted` and `LeaseError`. Receives: a `Warehouse` and a lease name (job and
//! period) from `jobs` (which re-exports this module as `jobs::lease`), `serve`, `cli` and
//! `app::Context`; the lease rows and advisory locks of `warehouse::runs`. Hands on: a held
//! `Lease` to the job that runs under it (`jobs::dispatch` and the jobs), and to
//! `app::Context` for leases taken before a run starts; `LeaseError` naming the holder.

use std::time::Duration;

use chrono::Utc;
use serde::Serialize;

use super::{Backend, LeaseHolder, Warehouse, WarehouseError};

/// Why a lease was not obtained.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    #[error("{}", busy_message(.name, .holder.as_ref()))]
    Busy { name: String, holder: Option<LeaseHolder> },
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
}

fn busy_message(name: &str, holder: Option<&LeaseHolder>) -> String {
    let (job, period) = name.split_once(':').unwrap_or((name, ""));
    match holder {
        Some(h) => format!(
            "{job} {period} đang chạy{} (trên {}, từ {} UTC): chờ lần chạy đó xong, hoặc dùng --wait",
            h.run_id.map(|r| format!(", lần chạy #{r}")).unwrap_or_default(),
            h.holder,
            h.acquired_at.format("%Y-%m-%d %H:%M:%S")
        ),
        None => format!("{job} {period} đang chạy ở một tiến trình khác: chờ lần chạy đó xong, hoặc dùng --wait"),
    }
}

/// A held lease. Release it with [`Lease::release`]; dropped, it is released in the
/// background.
pub struct Lease {
    wh: Warehouse,
    pub name: String,
    pub holder: String,
    conn: Option<sqlx::pool::PoolConnection<sqlx::Postgres>>,
    renew: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Lease({} by {})", self.name, self.holder)
    }
}

/// `collect:2024-Q2`.
pub fn lease_name(job: &str, period: Option<crate::domain::Period>) -> String {
    match period {
        Some(p) => format!("{job}:{p}"),
        None => job.to_string(),
    }
}

fn host() -> String {
    std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_string()).unwrap_or_else(|_| "localhost".into())
}

fn holder_id() -> String {
    format!("{}:{}:{:08x}", host(), std::process::id(), rand::random::<u32>())
}

/// `host:pid:nonce` of a process on this machine that no longer runs.
fn holder_is_dead(holder: &str) -> bool {
    let mut parts = holder.rsplitn(3, ':');
    let (_nonce, pid, h) = (parts.next(), parts.next(), parts.next());
    match (h, pid.and_then(|p| p.parse::<u32>().ok())) {
        (Some(h), Some(pid)) if h == host() && pid != std::process::id() => {
            !std::path::Path::new(&format!("/proc/{pid}")).exists()
        }
        _ => false,
    }
}

/// How long a SQLite lease lives without renewal.
pub const TTL: Duration = Duration::from_secs(60);

impl Lease {
    /// Takes the lease, waiting up to `wait` for it to be free.
    pub async fn acquire(wh: &Warehouse, name: &str, wait: Duration) -> Result<Lease, LeaseError> {
        let deadline = tokio::time::Instant::now() + wait;
        let holder = holder_id();
        loop {
            if let Some(lease) = Self::try_once(wh, name, &holder).await? {
                return Ok(lease);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(LeaseError::Busy { name: name.to_string(), holder: wh.lease_holder(name).await? });
            }
            tokio::time::sleep(Duration::from_millis(200).min(deadline - tokio::time::Instant::now())).await;
        }
    }

    async fn try_once(wh: &Warehouse, name: &str, holder: &str) -> Result<Option<Lease>, LeaseError> {
        let now = Utc::now();
        let expires = now + chrono::Duration::from_std(TTL).unwrap_or_default();
        match wh.backend() {
            Backend::Postgres => {
                let Some(conn) = wh.try_advisory_lock(name).await? else { return Ok(None) };
                wh.take_lease_row(name, holder, now, expires, true).await?;
                Ok(Some(Lease {
                    wh: wh.clone(),
                    name: name.into(),
                    holder: holder.into(),
                    conn: Some(conn),
                    renew: None,
                }))
            }
            Backend::Sqlite => {
                if !wh.take_lease_row(name, holder, now, expires, false).await? {
                    // A holder on this machine whose process is gone holds nothing.
                    let stale = wh.lease_holder(name).await?.is_some_and(|h| holder_is_dead(&h.holder));
                    if !stale || !wh.take_lease_row(name, holder, now, expires, true).await? {
                        return Ok(None);
                    }
                    tracing::warn!(lease = %name, "took over a lease left by a process that stopped");
                }
                let (w, n, h) = (wh.clone(), name.to_string(), holder.to_string());
                let renew = tokio::spawn(async move {
                    loop {
                        tokio::time::sleep(TTL / 3).await;
                        let expires = Utc::now() + chrono::Duration::from_std(TTL).unwrap_or_default();
                        match w.renew_lease_row(&n, &h, expires).await {
                            Ok(true) => {}
                            Ok(false) => {
                                tracing::error!(lease = %n, "lease lost: another process took it after it expired");
                                return;
                            }
                            Err(e) => tracing::warn!(lease = %n, "cannot renew the lease: {e}"),
                        }
                    }
                });
                Ok(Some(Lease {
                    wh: wh.clone(),
                    name: name.into(),
                    holder: holder.into(),
                    conn: None,
                    renew: Some(renew),
                }))
            }
        }
    }

    /// Records the run the lease is held for (shown to whoever finds it busy).
    pub async fn set_run(&self, run_id: i64) {
        if let Err(e) = self.wh.set_lease_run(&self.name, &self.holder, run_id).await {
            tracing::warn!(lease = %self.name, "cannot record the run on the lease: {e}");
        }
    }

    pub async fn release(mut self) {
        if let Some(r) = self.renew.take() {
            r.abort();
        }
        let _ = self.wh.drop_lease_row(&self.name, &self.holder).await;
        if let Some(mut conn) = self.conn.take() {
            let unlocked = Warehouse::advisory_unlock(&mut conn, &self.name).await;
            if !matches!(unlocked, Ok(true)) {
                // Never return a connection that may still hold the lock to the pool.
                drop(conn.detach());
            }
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(r) = self.renew.take() {
            r.abort();
        }
        if let Some(conn) = self.conn.take() {
            // Closing the session releases the advisory lock.
            drop(conn.detach());
        }
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            let (wh, name, holder) =
                (self.wh.clone(), std::mem::take(&mut self.name), std::mem::take(&mut self.holder));
            if !name.is_empty() {
                handle.spawn(async move {
                    let _ = wh.drop_lease_row(&name, &holder).await;
                });
            }
        }
    }
}

/// Whether nobody holds a lease (used at start to tell interrupted runs from running ones).
pub async fn is_free(wh: &Warehouse, name: &str) -> Result<bool, WarehouseError> {
    match wh.backend() {
        Backend::Postgres => match wh.try_advisory_lock(name).await? {
            Some(mut conn) => {
                let _ = Warehouse::advisory_unlock(&mut conn, name).await;
                Ok(true)
            }
            None => Ok(false),
        },
        Backend::Sqlite => {
            Ok(wh.lease_holder(name).await?.is_none_or(|h| h.expires_at < Utc::now() || holder_is_dead(&h.holder)))
        }
    }
}

/// What [`mark_interrupted`] did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Interrupted {
    pub runs: Vec<i64>,
}

/// Marks runs left `running` by a process that stopped (their lease is free) as
/// `failed (interrupted)`.
pub async fn mark_interrupted(wh: &Warehouse) -> Result<Interrupted, WarehouseError> {
    let mut out = Interrupted::default();
    for run in wh.running_runs().await? {
        let period = run.period;
        if is_free(wh, &lease_name(&run.job, period)).await?
            && wh.mark_interrupted(run.id, "the process stopped before the run ended").await?
        {
            tracing::warn!(run = run.id, job = %run.job, "run left running by a stopped process marked failed (interrupted)");
            out.runs.push(run.id);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_holder_is_dead_only_when_its_process_on_this_machine_is_gone() {
        assert!(holder_is_dead(&format!("{}:4000000000:abcd", host())), "no such pid");
        assert!(!holder_is_dead(&format!("{}:{}:abcd", host(), std::process::id())), "this process");
        assert!(!holder_is_dead("another-host:1:abcd"), "another machine: only its expiry tells");
        assert!(!holder_is_dead("garbage"));
    }
}
