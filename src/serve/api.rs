//! The admin HTTP API. `/healthz` and `/readyz` are open; everything else wants the bearer
//! token when one is configured (compared in constant time; a refusal is logged with the
//! path and the caller's address, never the token). The viewer token (or a viewer's
//! dashboard session) reads and is refused anything else with a 403 (`serve::access`).
//! The OpenAPI document is at `/api/openapi.json`.
//!
//! Owns: the admin routes (`router`, `ROUTES`) and the OpenAPI document (`OPENAPI`).
//! Receives: HTTP requests; the `serve::Daemon`, with roles from `serve::access`. Hands on:
//! jobs to start as `jobs::dispatch::JobSpec`s (`prepare`, `execute`, `finish`); JSON
//! answers read from `warehouse` (runs, gaps, rejects, outbox) and the `serve::metrics`
//! text to the caller.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use super::Daemon;
use super::access::Role;
use crate::domain::Period;
use crate::jobs::dispatch::{JobError, JobSpec, Origin, execute, finish, prepare};
use crate::jobs::lease::LeaseError;
use crate::warehouse::{RunFilter, Trigger};

/// The OpenAPI document of this API.
pub const OPENAPI: &str = include_str!("openapi.json");

/// A JSON error: `{"error": {"code": "…", "message": "…"}}`.
fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (status, Json(serde_json::json!({ "error": { "code": code, "message": message.into() } }))).into_response()
}

/// The error code of a status, for errors the handlers do not build themselves.
fn code_of(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::REQUEST_TIMEOUT => "timeout",
        StatusCode::CONFLICT => "conflict",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        s if s.is_server_error() => "internal",
        _ => "error",
    }
}

/// `dry_run: invalid type: string "true", expected a boolean`.
fn describe_body_error(e: &serde_path_to_error::Error<serde_json::Error>) -> String {
    let inner = e.inner();
    if inner.is_syntax() || inner.is_eof() {
        return format!("the body is not JSON: {inner}");
    }
    let path = e.path().to_string();
    let message = inner.to_string();
    // serde_json appends "at line 1 column 20"; the field's name says more.
    let message = message.split(" at line ").next().unwrap_or(&message);
    if path == "." || path.is_empty() {
        format!("the body must be an object like {{\"job\": \"collect\", \"period\": \"2024-Q2\"}}: {message}")
    } else {
        format!("`{path}`: {message}")
    }
}

/// A 409 naming the run that holds the lease. A holder that has just taken the lease
/// records its run a moment later: its row is read again for up to a second.
async fn conflict(d: &Daemon, e: LeaseError) -> Response {
    let e = match e {
        LeaseError::Busy { name, mut holder } => {
            for _ in 0..50 {
                if holder.as_ref().is_some_and(|h| h.run_id.is_some()) {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                match d.ctx.wh.lease_holder(&name).await {
                    Ok(Some(h)) => holder = Some(h),
                    Ok(None) | Err(_) => break,
                }
            }
            LeaseError::Busy { name, holder }
        }
        other => other,
    };
    let holder = match &e {
        LeaseError::Busy { holder, .. } => holder.as_ref().and_then(|h| h.run_id),
        LeaseError::Warehouse(_) => None,
    };
    let body =
        serde_json::json!({ "error": { "code": "conflict", "message": e.to_string(), "holder_run_id": holder } });
    (StatusCode::CONFLICT, Json(body)).into_response()
}

/// Every error leaves in the one JSON shape, whoever produced it: a rejected body (413),
/// an unknown method (405), the timeout layer (408), a query that does not parse.
async fn json_errors(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/html"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024).await.unwrap_or_default();
    let mut message = String::from_utf8_lossy(&text).trim().to_string();
    if message.is_empty() {
        message = status.canonical_reason().unwrap_or("error").to_string();
    }
    let mut out = error(status, code_of(status), message);
    for name in [header::WWW_AUTHENTICATE, header::ALLOW] {
        if let Some(v) = parts.headers.get(&name) {
            out.headers_mut().insert(name, v.clone());
        }
    }
    out
}

/// A handler that panicked: a 500 in the JSON shape, the panic logged.
fn panicked(err: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let what = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied())
        .unwrap_or("a panic");
    tracing::error!("admin API: a handler panicked: {what}");
    error(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the request failed inside chiso; see the daemon's log")
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
    let timeout = std::time::Duration::from_secs(daemon.ctx.settings.admin.request_timeout_secs.max(1));
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
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(panicked))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .layer(axum::middleware::from_fn(json_errors))
}

async fn auth(
    State(d): State<Arc<Daemon>>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    req: Request,
    next: Next,
) -> Response {
    match d.access.role(req.headers()) {
        Some(Role::Operator) => next.run(req).await,
        Some(Role::Viewer) if req.method() == Method::GET || req.method() == Method::HEAD => next.run(req).await,
        Some(Role::Viewer) => {
            tracing::warn!(path = %req.uri().path(), method = %req.method(), remote = %remote, "admin API: refused a viewer's request that changes something");
            error(
                StatusCode::FORBIDDEN,
                "forbidden",
                "the viewer token reads only; starting runs needs the operator token",
            )
        }
        None => {
            tracing::warn!(path = %req.uri().path(), remote = %remote, "admin API: refused a request with a missing or wrong bearer token");
            let mut r = error(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "a valid bearer token is required (Authorization: Bearer …)",
            );
            r.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
            r
        }
    }
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

/// `POST /api/runs`: takes the job's lease, creates its run, answers `202` with the run's
/// id and runs the job in the background. The body is a [`JobSpec`] (unknown fields and
/// wrong types are a 400 naming the field and the type expected); a job whose lease is held
/// is a 409 with the holder's run, never a 202 followed by a failure.
async fn post_run(
    State(d): State<Arc<Daemon>>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(r) => return error(r.status(), code_of(r.status()), r.body_text()),
    };
    let mut de = serde_json::Deserializer::from_slice(&body);
    let spec: JobSpec = match serde_path_to_error::deserialize(&mut de) {
        Ok(s) => s,
        Err(e) => return bad_request(describe_body_error(&e)),
    };
    if let Err(e) = de.end() {
        return bad_request(format!("the body is not JSON: {e}"));
    }
    // Officers' names are Vietnamese: the header is read as UTF-8.
    let operator = headers
        .get("x-chiso-operator")
        .and_then(|v| std::str::from_utf8(v.as_bytes()).ok())
        .map(crate::text::clean)
        .filter(|s| !s.is_empty());
    let mut origin = Origin::new(Trigger::Api, operator);
    let prepared = match prepare(&d.ctx, &spec, &origin).await {
        Ok(p) => p,
        Err(JobError::Invalid(m)) => return bad_request(m),
        Err(JobError::Busy(e)) => return conflict(&d, e).await,
        Err(e) => return internal(e),
    };
    let run_id = prepared.run_id;
    origin.run_id = Some(run_id);
    let task = d.clone();
    d.tracker.spawn(async move {
        let result = execute(&task.ctx, &spec, &origin).await;
        finish(&task.ctx, &prepared).await;
        match result {
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
                rows.retain(|g| g.agency.as_str() == a);
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
