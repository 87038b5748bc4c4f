//! The admin HTTP API. `/healthz` and `/readyz` are open; everything else wants the bearer
//! token when one is configured (compared in constant time; a refusal is logged with the
//! path and the caller's address, never the token). The OpenAPI document is at
//! `/api/openapi.json`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use sha2::Digest as _;
use subtle::ConstantTimeEq;

use super::Daemon;
use crate::domain::Period;
use crate::jobs::dispatch::{JobError, JobKind, JobSpec, Origin, execute, prepare};
use crate::warehouse::{RunFilter, Trigger};

/// The OpenAPI document of this API.
pub const OPENAPI: &str = include_str!("openapi.json");

pub(crate) fn digest(token: &str) -> [u8; 32] {
    sha2::Sha256::digest(token.as_bytes()).into()
}

/// A JSON error: `{"error": {"code": "…", "message": "…"}}`.
fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (status, Json(serde_json::json!({ "error": { "code": code, "message": message.into() } }))).into_response()
}

fn bad_request(message: impl Into<String>) -> Response {
    error(StatusCode::BAD_REQUEST, "bad_request", message)
}

fn internal(e: impl std::fmt::Display) -> Response {
    tracing::error!("admin API: {e}");
    error(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
}

/// A bad request, as a value small enough to return (the response is built when sent).
struct BadRequest(String);

impl IntoResponse for BadRequest {
    fn into_response(self) -> Response {
        bad_request(self.0)
    }
}

fn parse_period(s: Option<&str>) -> Result<Option<Period>, BadRequest> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(p) => p
            .parse()
            .map(Some)
            .map_err(|_| BadRequest(format!("`{p}` is not a period: write 2024-Q2, Q2/2024 or Quý II/2024"))),
    }
}

pub fn router(daemon: Arc<Daemon>) -> Router {
    let protected = Router::new()
        .route("/metrics", get(metrics))
        .route("/api/runs", get(list_runs).post(post_run))
        .route("/api/runs/{id}", get(get_run))
        .route("/api/gaps", get(gaps))
        .route("/api/rejects", get(rejects))
        .route("/api/outbox", get(outbox))
        .route("/api/openapi.json", get(openapi))
        .route_layer(axum::middleware::from_fn_with_state(daemon.clone(), auth));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .merge(protected)
        .fallback(|| async { error(StatusCode::NOT_FOUND, "not_found", "no such endpoint; see /api/openapi.json") })
        .with_state(daemon)
}

async fn auth(
    State(d): State<Arc<Daemon>>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    req: Request,
    next: Next,
) -> Response {
    let Some(expected) = d.token else { return next.run(req).await };
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| digest(t.trim()));
    if given.is_some_and(|g| bool::from(g.ct_eq(&expected))) {
        return next.run(req).await;
    }
    tracing::warn!(path = %req.uri().path(), remote = %remote, "admin API: refused a request with a missing or wrong bearer token");
    let mut r =
        error(StatusCode::UNAUTHORIZED, "unauthorized", "a valid bearer token is required (Authorization: Bearer …)");
    r.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
    r
}

async fn healthz(State(d): State<Arc<Daemon>>) -> Response {
    Json(serde_json::json!({ "status": "ok", "uptime_secs": d.started.elapsed().as_secs() })).into_response()
}

async fn readyz(State(d): State<Arc<Daemon>>) -> Response {
    match d.ctx.wh.pending_migrations().await {
        Ok(p) if p.is_empty() => Json(serde_json::json!({ "status": "ready" })).into_response(),
        Ok(p) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({ "status": "not_ready", "reason": format!("migrations not applied: {p:?}") })),
        )
            .into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({ "status": "not_ready", "reason": format!("warehouse unreachable: {e}") })),
        )
            .into_response(),
    }
}

async fn metrics(State(d): State<Arc<Daemon>>) -> Response {
    match super::metrics::render(&d.ctx.wh).await {
        Ok(text) => ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response(),
        Err(e) => internal(e),
    }
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

const RUN_FIELDS: [&str; 7] = ["job", "period", "source", "round", "dry_run", "force", "from_raw"];

/// `POST /api/runs`: starts a job in the background; `202` with its run id.
async fn post_run(State(d): State<Arc<Daemon>>, headers: HeaderMap, body: Bytes) -> Response {
    let v: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return bad_request(format!("the body is not JSON: {e}")),
    };
    let Some(obj) = v.as_object() else {
        return bad_request("the body must be a JSON object like {\"job\": \"collect\", \"period\": \"2024-Q2\"}");
    };
    if let Some(k) = obj.keys().find(|k| !RUN_FIELDS.contains(&k.as_str())) {
        return bad_request(format!("unknown field `{k}`; fields: {}", RUN_FIELDS.join(", ")));
    }
    let Some(job) = obj.get("job").and_then(|j| j.as_str()).and_then(JobKind::parse) else {
        return bad_request("`job` must be one of collect, evaluate, remind, cycle");
    };
    let period = match parse_period(obj.get("period").and_then(|p| p.as_str())) {
        Ok(p) => p,
        Err(r) => return r.into_response(),
    };
    if obj.get("period").is_some_and(|p| !p.is_string() && !p.is_null()) {
        return bad_request("`period` must be a string such as \"2024-Q2\"");
    }
    let text = |k: &str| obj.get(k).and_then(|x| x.as_str()).map(str::to_string);
    let flag = |k: &str| obj.get(k).and_then(serde_json::Value::as_bool).unwrap_or(false);
    let spec = JobSpec {
        job,
        period,
        source: text("source"),
        round: text("round"),
        dry_run: flag("dry_run"),
        from_raw: flag("from_raw"),
        force: flag("force"),
    };
    // Officers' names are Vietnamese: the header is read as UTF-8.
    let operator = headers
        .get("x-chiso-operator")
        .and_then(|v| std::str::from_utf8(v.as_bytes()).ok())
        .map(crate::text::clean)
        .filter(|s| !s.is_empty());
    let mut origin = Origin::new(Trigger::Api, operator);
    let run_id = match prepare(&d.ctx, &spec, &origin).await {
        Ok(id) => id,
        Err(JobError::Invalid(m)) => return bad_request(m),
        Err(JobError::Busy(e)) => return error(StatusCode::CONFLICT, "conflict", e.to_string()),
        Err(e) => return internal(e),
    };
    origin.run_id = Some(run_id);
    let task = d.clone();
    d.tracker.spawn(async move {
        match execute(&task.ctx, &spec, &origin).await {
            Ok(o) => tracing::info!(run = run_id, job = spec.job.as_str(), status = %o.status, "API run done"),
            Err(e) => {
                tracing::warn!(run = run_id, job = spec.job.as_str(), "API run ended in error: {e}");
                let _ = task
                    .ctx
                    .wh
                    .finish_run(
                        run_id,
                        crate::warehouse::RunStatus::Failed,
                        &serde_json::json!({}),
                        Some(&e.to_string()),
                    )
                    .await;
            }
        }
        task.deliver_now.notify_one();
    });
    (
        StatusCode::ACCEPTED,
        [(header::LOCATION, format!("/api/runs/{run_id}"))],
        Json(serde_json::json!({ "run_id": run_id, "status": "running", "href": format!("/api/runs/{run_id}") })),
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
struct RunsQuery {
    job: Option<String>,
    period: Option<String>,
    status: Option<String>,
    limit: Option<i64>,
}

async fn list_runs(State(d): State<Arc<Daemon>>, Query(q): Query<RunsQuery>) -> Response {
    let period = match parse_period(q.period.as_deref()) {
        Ok(p) => p,
        Err(r) => return r.into_response(),
    };
    let filter = RunFilter { job: q.job, period, status: q.status, limit: Some(q.limit.unwrap_or(50).clamp(1, 1000)) };
    match d.ctx.wh.runs(&filter).await {
        Ok(runs) => Json(serde_json::json!({ "runs": runs })).into_response(),
        Err(e) => internal(e),
    }
}

async fn get_run(State(d): State<Arc<Daemon>>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<i64>() else { return bad_request(format!("`{id}` is not a run id")) };
    match d.ctx.wh.run(id).await {
        Ok(Some(run)) => Json(run).into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, "not_found", format!("no run {id}")),
        Err(e) => internal(e),
    }
}

#[derive(Debug, Deserialize)]
struct PeriodQuery {
    period: Option<String>,
    agency: Option<String>,
    status: Option<String>,
}

fn required_period(q: &PeriodQuery) -> Result<Period, BadRequest> {
    match parse_period(q.period.as_deref())? {
        Some(p) => Ok(p),
        None => Err(BadRequest("`period` is required, e.g. ?period=2024-Q2".into())),
    }
}

async fn gaps(State(d): State<Arc<Daemon>>, Query(q): Query<PeriodQuery>) -> Response {
    let period = match required_period(&q) {
        Ok(p) => p,
        Err(r) => return r.into_response(),
    };
    match d.ctx.wh.gaps(&d.ctx.catalog.plan.id, period, None).await {
        Ok(mut rows) => {
            if let Some(a) = &q.agency {
                rows.retain(|g| g.agency == *a);
            }
            if let Some(s) = &q.status {
                let wanted: Vec<&str> = s.split(',').map(str::trim).collect();
                rows.retain(|g| wanted.contains(&g.status.as_str()));
            }
            Json(serde_json::json!({ "period": period.to_string(), "rows": rows })).into_response()
        }
        Err(e) => internal(e),
    }
}

async fn rejects(State(d): State<Arc<Daemon>>, Query(q): Query<PeriodQuery>) -> Response {
    let period = match required_period(&q) {
        Ok(p) => p,
        Err(r) => return r.into_response(),
    };
    match d.ctx.wh.rejects(period).await {
        Ok(rows) => Json(serde_json::json!({ "period": period.to_string(), "rejects": rows })).into_response(),
        Err(e) => internal(e),
    }
}

async fn outbox(State(d): State<Arc<Daemon>>, Query(q): Query<PeriodQuery>) -> Response {
    let period = match parse_period(q.period.as_deref()) {
        Ok(p) => p,
        Err(r) => return r.into_response(),
    };
    match d.ctx.wh.outbox(period, q.status.as_deref(), None).await {
        Ok(rows) => Json(serde_json::json!({ "messages": rows })).into_response(),
        Err(e) => internal(e),
    }
}

/// Every route, for the OpenAPI test.
pub const ROUTES: [&str; 10] = [
    "/healthz",
    "/readyz",
    "/metrics",
    "/api/runs",
    "/api/runs/{id}",
    "/api/gaps",
    "/api/rejects",
    "/api/outbox",
    "/api/openapi.json",
    "/api/runs#post",
];
