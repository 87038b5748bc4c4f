//! `GET /metrics`: Prometheus text. Counts that live in the warehouse (runs by job and
//! status, mail by delivery state, observations and rejects, lagging agencies per period)
//! are read at each scrape, so every replica reports the same and a restart loses
//! nothing; fetch durations and failures per source are recorded as they happen.
//!
//! Owns: the Prometheus recorder (`handle`) and the `/metrics` text (`render`). Receives:
//! the warehouse's counts (`warehouse::Warehouse`: runs, mail, data, lagging agencies) at
//! each scrape; fetch timings recorded by `jobs::collect` through the `metrics` macros.
//! Hands on: the text to `serve::api`'s `/metrics` route.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::domain::Period;
use crate::warehouse::{Warehouse, WarehouseError};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process's recorder (once; later calls share it).
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&[0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0])
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            metrics::describe_histogram!(
                "chiso_fetch_duration_seconds",
                "Time to fetch one file or API response, per source"
            );
            metrics::describe_counter!(
                "chiso_fetch_failures_total",
                "Fetches that failed after their retries, per source"
            );
            metrics::describe_counter!(
                "chiso_events_total",
                "The pipeline's outcomes (fetched, unchanged, stored, held, rejected, reminded, sent, failed)"
            );
            Some(handle)
        })
        .as_ref()
}

fn period_label(code: i64) -> String {
    Period::from_code(code).map_or_else(|| code.to_string(), |p| p.to_string())
}

/// Reads the warehouse's counts into gauges, then renders everything.
pub async fn render(wh: &Warehouse) -> Result<String, WarehouseError> {
    let Some(handle) = handle() else { return Ok(String::new()) };
    for (job, status, n) in wh.run_counts().await? {
        metrics::gauge!("chiso_runs", "job" => job, "status" => status).set(n as f64);
    }
    for (status, n) in wh.mail_counts().await? {
        metrics::gauge!("chiso_emails", "status" => status).set(n as f64);
    }
    for (period, observations, rejects) in wh.data_counts().await? {
        metrics::gauge!("chiso_observations", "period" => period_label(period)).set(observations as f64);
        metrics::gauge!("chiso_rejects", "period" => period_label(period)).set(rejects as f64);
    }
    for (period, n) in wh.lagging_agencies().await? {
        metrics::gauge!("chiso_lagging_agencies", "period" => period_label(period)).set(n as f64);
    }
    Ok(handle.render())
}
