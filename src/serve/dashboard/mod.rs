//! The read-only dashboard `chiso serve` answers at `/`, in Vietnamese: the quarter's
//! overview (statuses by section, completeness and timeliness by agency, the trend over
//! quarters), the agencies (a table sorted on the server by `?sort=`, and each agency's
//! items, figures, refusals and reminders), the indicators (target, members, history), the
//! quarter's refused figures and the runs; and the quarter's `chiso report` workbook and
//! draft, generated on request from the stored evaluation (nothing is written).
//!
//! Pages are rendered on the server with minijinja (templates embedded from
//! `templates/`), charts are inline SVG (`svg`), no script and nothing fetched from
//! elsewhere: government networks are often offline. Access follows the API's rules
//! (`serve::access`); a caller without a role gets the sign-in form (401), which posts
//! the token in its body and sets the session cookie.
//!
//! Speed: the overview is counted by the warehouse (`report::overview`: a few `GROUP BY`
//! queries, not the quarter's 160,000 gap rows), and kept until a run starts or ends (the
//! runs table's highest id and number of finished runs, one cheap query per page). The
//! other pages and the downloads read the quarter's report (`report::quarterly::load`, the
//! same figures as `chiso report`), built once and kept the same way. The daemon counts
//! the latest quarter's overview and builds its report ahead of readers (`keep_warm`); a
//! reader who asks while one is being made waits for it rather than making a second (`Kept`).
//! The overview's queries run at the same time, each on its own connection of the pool.
//!
//! Owns: the dashboard's pages and downloads (`router`, `report_of`, `keep_warm`), the
//! `ReportCache` and `PageError`. Receives: the `serve::Daemon` (its `app::Context`), roles
//! from `serve::access`, `report::overview::Overview` and
//! `report::quarterly::QuarterReport` from `report`, `warehouse::StoredGap`s, runs, rejects
//! and outbox rows from `warehouse`. Hands on: HTML pages, and the `report::quarterly`
//! workbook and `report::docx` draft as downloads, to the browser.

pub mod svg;

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use axum::Router;
use axum::extract::{Form, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use minijinja::{Environment, context};
use serde::{Deserialize, Serialize};

use super::Daemon;
use super::access::{Role, set_cookie};
use crate::domain::gap::RowKind;
use crate::domain::number::format_vi;
use crate::domain::{Period, Section, Value};
use crate::evaluate::Status;
use crate::report::overview::{self, Overview};
use crate::report::quarterly::{self, AgencyLine, Figures, IndicatorLine, QuarterReport, ReportError, Scope};
use crate::report::{Bucket, is_judged};
use crate::warehouse::{RunFilter, RunStatus, StoredGap, WarehouseError};

/// The runs table's state a report was built at (`Warehouse::runs_version`).
type RunsVersion = (i64, i64);

/// The quarters' reports and overviews made so far.
#[derive(Default)]
pub struct ReportCache {
    reports: Kept<QuarterReport>,
    overviews: Kept<Overview>,
}

/// One value per quarter, kept while the runs table stays at the state it was made at, and
/// made once however many ask at the same moment: a reader who asks while `keep_warm` (or
/// another reader) is making it waits for that one instead of making a second, which on a
/// national warehouse would halve the speed of both.
struct Kept<T> {
    slots: Mutex<HashMap<Period, Slot<T>>>,
}

/// A quarter's value as of one state of the runs table; empty while it is being made, and
/// again if making it failed (the next reader tries again).
type Slot<T> = (RunsVersion, Arc<tokio::sync::OnceCell<Arc<T>>>);

impl<T> Default for Kept<T> {
    fn default() -> Self {
        Self { slots: Mutex::new(HashMap::new()) }
    }
}

impl<T> Kept<T> {
    async fn get_or_make<E, F>(&self, period: Period, version: RunsVersion, make: F) -> Result<Arc<T>, E>
    where
        F: Future<Output = Result<T, E>>,
    {
        let cell = {
            let mut slots = self.slots.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            match slots.get(&period) {
                Some((v, cell)) if *v == version => cell.clone(),
                _ => {
                    let cell = Arc::new(tokio::sync::OnceCell::new());
                    slots.insert(period, (version, cell.clone()));
                    cell
                }
            }
        };
        cell.get_or_try_init(|| async { make.await.map(Arc::new) }).await.cloned()
    }
}

/// Why a page cannot be shown.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error(transparent)]
    Report(#[from] ReportError),
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
    #[error("không có {0}")]
    NotFound(String),
    #[error("“{0}” không phải là một quý: viết 2024-Q2, Q2/2024 hoặc Quý II/2024")]
    BadPeriod(String),
    #[error("chưa có quý nào được đánh giá: chạy `chiso evaluate --period …`")]
    NothingEvaluated,
    #[error("không tạo được tệp: {0}")]
    Write(String),
    #[error("không hiển thị được trang: {0}")]
    Template(#[from] minijinja::Error),
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = match &self {
            PageError::NotFound(_) | PageError::NothingEvaluated | PageError::Report(ReportError::NotEvaluated(..)) => {
                StatusCode::NOT_FOUND
            }
            PageError::BadPeriod(_) | PageError::Report(ReportError::NotADistrict(_)) => StatusCode::BAD_REQUEST,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status.is_server_error() {
            tracing::error!("dashboard: {self}");
        }
        let message = capitalize(&self.to_string());
        match ENV
            .get_template("error.html")
            .and_then(|t| t.render(context! { message => message.clone(), title => "Không xem được" }))
        {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => (status, message).into_response(),
        }
    }
}

static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    for (name, text) in [
        ("base.html", include_str!("templates/base.html")),
        ("error.html", include_str!("templates/error.html")),
        ("login.html", include_str!("templates/login.html")),
        ("overview.html", include_str!("templates/overview.html")),
        ("agencies.html", include_str!("templates/agencies.html")),
        ("agency.html", include_str!("templates/agency.html")),
        ("indicators.html", include_str!("templates/indicators.html")),
        ("indicator.html", include_str!("templates/indicator.html")),
        ("refused.html", include_str!("templates/refused.html")),
        ("runs.html", include_str!("templates/runs.html")),
    ] {
        if let Err(e) = env.add_template(name, text) {
            tracing::error!("dashboard template {name}: {e}");
        }
    }
    env
});

/// The dashboard's routes, behind the access gate (the sign-in form excepted).
pub fn router(daemon: Arc<Daemon>) -> Router {
    let timeout = std::time::Duration::from_secs(daemon.ctx.settings.admin.request_timeout_secs.max(1));
    let pages = Router::new()
        .route("/", get(overview))
        .route("/agencies", get(agencies))
        .route("/agencies/{id}", get(agency))
        .route("/indicators", get(indicators))
        .route("/indicators/{item}", get(indicator))
        .route("/refused", get(refused))
        .route("/runs", get(runs))
        .route("/report.xlsx", get(download_xlsx))
        .route("/report.docx", get(download_docx))
        .route_layer(axum::middleware::from_fn_with_state(daemon.clone(), gate));
    Router::new()
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .merge(pages)
        .with_state(daemon)
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout))
        .layer(tower_http::trace::TraceLayer::new_for_http())
}

/// Pages need a role: without one, the sign-in form (401).
async fn gate(State(d): State<Arc<Daemon>>, mut req: Request, next: Next) -> Response {
    match d.access.role(req.headers()) {
        Some(role) => {
            req.extensions_mut().insert(role);
            next.run(req).await
        }
        None => {
            tracing::info!(path = %req.uri().path(), "dashboard: no valid session or token; showing the sign-in form");
            login_page(StatusCode::UNAUTHORIZED, None)
        }
    }
}

fn login_page(status: StatusCode, error: Option<&str>) -> Response {
    match ENV.get_template("login.html").and_then(|t| t.render(context! { error, title => "Đăng nhập" })) {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => PageError::Template(e).into_response(),
    }
}

async fn login_form(State(d): State<Arc<Daemon>>) -> Response {
    if d.access.is_open() {
        return redirect("/");
    }
    login_page(StatusCode::OK, None)
}

#[derive(Deserialize)]
struct LoginForm {
    token: String,
}

async fn login(State(d): State<Arc<Daemon>>, headers: HeaderMap, Form(f): Form<LoginForm>) -> Response {
    match d.access.role_of_token(&f.token) {
        Some(role) => {
            let id = d.access.open_session(role);
            tracing::info!(role = ?role, "dashboard: signed in");
            let mut r = redirect("/");
            if let Ok(v) = header::HeaderValue::from_str(&set_cookie(Some(&id), &headers)) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            r
        }
        None => {
            tracing::warn!("dashboard: refused a sign-in with a wrong token");
            login_page(StatusCode::UNAUTHORIZED, Some("Mã truy cập không đúng."))
        }
    }
}

async fn logout(State(d): State<Arc<Daemon>>, headers: HeaderMap) -> Response {
    d.access.close_session(&headers);
    let mut r = redirect("/login");
    if let Ok(v) = header::HeaderValue::from_str(&set_cookie(None, &headers)) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

fn redirect(to: &'static str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response()
}

#[derive(Debug, Default, Deserialize)]
struct PageQuery {
    period: Option<String>,
    sort: Option<String>,
}

/// What every page starts from: the daemon, the caller's role (set by the gate), the
/// query, the quarter asked for (else the latest evaluated one) and every evaluated quarter.
struct Page {
    d: Arc<Daemon>,
    role: Role,
    q: PageQuery,
    period: Option<Period>,
    periods: Vec<Period>,
}

impl FromRequestParts<Arc<Daemon>> for Page {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, d: &Arc<Daemon>) -> Result<Self, Response> {
        let role = parts.extensions.get::<Role>().copied().unwrap_or(Role::Viewer);
        let Query(q) = Query::<PageQuery>::from_request_parts(parts, d).await.map_err(IntoResponse::into_response)?;
        let periods = d.ctx.wh.evaluated_periods().await.map_err(|e| PageError::from(e).into_response())?;
        let period = match q.period.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(p) => Some(p.parse().map_err(|_| PageError::BadPeriod(p.to_string()).into_response())?),
            None => periods.first().copied(),
        };
        Ok(Self { d: d.clone(), role, q, period, periods })
    }
}

impl Page {
    /// The quarter shown; none when nothing is evaluated and none was asked for.
    fn period(&self) -> Result<Period, PageError> {
        self.period.ok_or(PageError::NothingEvaluated)
    }

    fn frame(&self, title: String, nav: &'static str) -> Frame {
        let period = self.period.unwrap_or_else(|| Period::containing(Utc::now().date_naive()));
        let mut list: Vec<(String, String)> = self.periods.iter().map(|p| (p.to_string(), p.vi())).collect();
        if !self.periods.contains(&period) {
            list.insert(0, (period.to_string(), period.vi()));
        }
        Frame {
            title,
            nav,
            period: period.to_string(),
            period_vi: period.vi(),
            periods: list,
            role: self.role.vi(),
            signed_in: !self.d.access.is_open(),
            plan: self.d.ctx.catalog.plan.symbol.clone(),
        }
    }
}

/// The quarter's report, from the cache while no run has started or ended since.
pub async fn report_of(d: &Daemon, period: Period) -> Result<Arc<QuarterReport>, PageError> {
    let version = d.ctx.wh.runs_version().await?;
    let input = d.ctx.report_input();
    let make = quarterly::load(&input, period, Scope::Province);
    Ok(d.reports.reports.get_or_make(period, version, make).await?)
}

/// The quarter's overview, from the cache while no run has started or ended since; else
/// counted by the warehouse (`report::overview`), without building the whole report.
pub async fn overview_of(d: &Daemon, period: Period) -> Result<Arc<Overview>, PageError> {
    let version = d.ctx.wh.runs_version().await?;
    let input = d.ctx.report_input();
    let make = overview::load(&input, period);
    Ok(d.reports.overviews.get_or_make(period, version, make).await?)
}

/// How often the daemon looks whether a run started or ended.
const WARM_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// How long `keep_warm` waits after counting the overview before building the report.
const REPORT_AFTER: std::time::Duration = std::time::Duration::from_millis(500);

/// Keeps the latest evaluated quarter's report built: at start, and again whenever a run
/// started or ended, so that a reader's first view is served from memory too. Reads only.
pub async fn keep_warm(d: Arc<Daemon>) {
    let mut last = None;
    loop {
        match d.ctx.wh.runs_version().await {
            Ok(v) if Some(v) != last => {
                if let Ok(Some(period)) = d.ctx.wh.evaluated_periods().await.map(|p| p.first().copied()) {
                    if let Err(e) = overview_of(&d, period).await {
                        tracing::warn!(period = %period, "dashboard: cannot count the overview ahead: {e}");
                    }
                    // The overview is what a reader opens first, and may be waiting for this
                    // count: let its page render before the report's build (seconds on a
                    // national warehouse) takes the cores.
                    tokio::select! {
                        _ = tokio::time::sleep(REPORT_AFTER) => {}
                        _ = d.ctx.cancel.cancelled() => return,
                    }
                    match report_of(&d, period).await {
                        Ok(_) => tracing::debug!(period = %period, "dashboard: report built ahead of readers"),
                        Err(e) => tracing::warn!(period = %period, "dashboard: cannot build the report ahead: {e}"),
                    }
                }
                last = Some(v);
            }
            Ok(_) => {}
            Err(e) => tracing::warn!("dashboard: cannot read the runs table: {e}"),
        }
        tokio::select! {
            _ = tokio::time::sleep(WARM_EVERY) => {}
            _ = d.ctx.cancel.cancelled() => return,
        }
    }
}

/// What every page's frame shows.
#[derive(Serialize)]
struct Frame {
    title: String,
    nav: &'static str,
    period: String,
    period_vi: String,
    periods: Vec<(String, String)>,
    role: &'static str,
    signed_in: bool,
    plan: String,
}

fn render(name: &str, frame: Frame, page: impl Serialize) -> Result<Response, PageError> {
    #[derive(Serialize)]
    struct Page<P> {
        f: Frame,
        p: P,
    }
    let html = ENV.get_template(name)?.render(minijinja::value::Serde(Page { f: frame, p: page }))?;
    Ok(Html(html).into_response())
}

/// A share (0 to 1) as Vietnamese readers write a percent: `85,5%`; `—` when none.
pub fn pct(share: Option<f64>) -> String {
    match share {
        Some(x) => format!("{}%", format_vi(x * 100.0, 1)),
        None => "—".into(),
    }
}

fn value_vi(v: Option<Value>) -> String {
    v.map_or_else(String::new, |v| v.vi())
}

fn figure_vi(x: Option<f64>, percent: bool) -> String {
    match x {
        Some(x) if percent => format!("{}%", format_vi(x, 2)),
        Some(x) => format_vi(x, 2),
        None => String::new(),
    }
}

fn local(d: &Daemon, t: DateTime<Utc>) -> String {
    t.with_timezone(&d.ctx.settings.calendar.timezone).format("%d/%m/%Y %H:%M").to_string()
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

fn bucket_class(status: Status) -> &'static str {
    match Bucket::of(status) {
        Bucket::Good => "good",
        Bucket::AtRisk => "risk",
        Bucket::Lagging => "lag",
        Bucket::Missing => "miss",
        Bucket::Other => "other",
    }
}

#[derive(Serialize)]
struct StatusCell {
    status: &'static str,
    n: usize,
}

#[derive(Serialize)]
struct SectionRow {
    key: &'static str,
    name: String,
    cells: Vec<StatusCell>,
    share: String,
}

fn section_rows(f: &Figures) -> Vec<SectionRow> {
    let mut rows: Vec<SectionRow> = Section::ALL
        .iter()
        .map(|s| {
            let counts = f.by_section.get(s).cloned().unwrap_or_default();
            SectionRow {
                key: s.as_str(),
                name: format!("{}. {}", s.roman(), s.vi()),
                cells: Status::ALL
                    .iter()
                    .map(|st| StatusCell { status: st.as_str(), n: counts.get(st).copied().unwrap_or(0) })
                    .collect(),
                share: pct(Figures::share_in(&counts)),
            }
        })
        .collect();
    let total = f.total();
    rows.push(SectionRow {
        key: "total",
        name: "Cộng".into(),
        cells: Status::ALL
            .iter()
            .map(|st| StatusCell { status: st.as_str(), n: total.get(st).copied().unwrap_or(0) })
            .collect(),
        share: pct(Figures::share_in(&total)),
    });
    rows
}

const BUCKETS: [(Bucket, &str); 5] = [
    (Bucket::Good, "Đạt, hoàn thành"),
    (Bucket::AtRisk, "Có nguy cơ"),
    (Bucket::Lagging, "Chậm, quá hạn"),
    (Bucket::Missing, "Chưa báo cáo"),
    (Bucket::Other, "Khác"),
];

fn section_chart(f: &Figures) -> String {
    let rows: Vec<(String, Vec<svg::Segment<'_>>)> = Section::ALL
        .iter()
        .map(|s| {
            let counts = f.by_section.get(s).cloned().unwrap_or_default();
            let judged: std::collections::BTreeMap<Status, usize> =
                counts.into_iter().filter(|(st, _)| is_judged(*st)).collect();
            let segs = BUCKETS
                .iter()
                .map(|(b, label)| svg::Segment { value: Figures::bucket_in(&judged, *b), color: b.color(), label })
                .collect();
            (format!("{}. {}", s.roman(), s.vi()), segs)
        })
        .collect();
    svg::stacked_bars("Tình trạng chỉ tiêu theo lĩnh vực", &rows)
}

/// An agency's line as the tables show it.
#[derive(Serialize)]
struct AgencyView {
    id: String,
    name: String,
    rows: usize,
    reported: usize,
    completeness: String,
    on_track: usize,
    at_risk: usize,
    lagging: usize,
    missing: usize,
    refused: usize,
    share: String,
    timeliness: &'static str,
    timeliness_key: &'static str,
}

fn completeness(a: &AgencyLine) -> Option<f64> {
    (a.rows > 0).then(|| a.reported as f64 / a.rows as f64)
}

fn agency_view(a: &AgencyLine) -> AgencyView {
    AgencyView {
        id: a.id.clone(),
        name: a.name.clone(),
        rows: a.rows,
        reported: a.reported,
        completeness: pct(completeness(a)),
        on_track: a.on_track,
        at_risk: a.at_risk,
        lagging: a.lagging,
        missing: a.missing,
        refused: a.refused,
        share: pct(a.share),
        timeliness: a.timeliness.vi(),
        timeliness_key: match a.timeliness {
            quarterly::Reported::OnTime => "on_time",
            quarterly::Reported::Late => "late",
            quarterly::Reported::None => "none",
        },
    }
}

/// Agencies shown on the overview, the least complete first.
const OVERVIEW_AGENCIES: usize = 15;

async fn overview(pg: Page) -> Result<Response, PageError> {
    let (d, period) = (&pg.d, pg.period()?);
    let r = overview_of(d, period).await?;
    let total = r.current.total();
    let t = r.current.timeliness.unwrap_or_default();
    let mut least: Vec<&AgencyLine> = r.agencies.iter().collect();
    least.sort_by(|a, b| {
        completeness(a).unwrap_or(1.0).total_cmp(&completeness(b).unwrap_or(1.0)).then_with(|| a.name.cmp(&b.name))
    });
    let timeliness_chart = svg::stacked_bars(
        "Đơn vị chủ trì theo thời hạn báo cáo",
        &[(
            "Đơn vị chủ trì".to_string(),
            vec![
                svg::Segment { value: t.on_time, color: Bucket::Good.color(), label: "Đúng hạn" },
                svg::Segment { value: t.late, color: Bucket::AtRisk.color(), label: "Muộn" },
                svg::Segment { value: t.none, color: Bucket::Missing.color(), label: "Chưa báo cáo" },
            ],
        )],
    );
    let trend: Vec<(String, Option<f64>)> =
        r.trend.iter().map(|f| (f.period.map(|p| p.vi()).unwrap_or_default(), f.share())).collect();
    let trend_rows: Vec<serde_json::Value> = r
        .trend
        .iter()
        .map(|f| {
            let total = f.total();
            serde_json::json!({
                "period": f.period.map(|p| p.vi()),
                "good": Figures::bucket_in(&total, Bucket::Good),
                "judged": Figures::judged_in(&total),
                "share": pct(f.share()),
            })
        })
        .collect();
    let page = serde_json::json!({
        "as_of_run": r.as_of_run,
        "indicators": r.indicators,
        "judged": Figures::judged_in(&total),
        "good": Figures::bucket_in(&total, Bucket::Good),
        "at_risk": Figures::bucket_in(&total, Bucket::AtRisk),
        "lagging": Figures::bucket_in(&total, Bucket::Lagging),
        "missing": Figures::bucket_in(&total, Bucket::Missing),
        "share": pct(r.current.share()),
        "previous_share": r.previous.as_ref().map(|p| pct(p.share())),
        "agencies": r.agencies.len(),
        "on_time": t.on_time,
        "late": t.late,
        "none": t.none,
        "statuses": Status::ALL.iter().map(|s| (s.as_str(), s.vi())).collect::<Vec<_>>(),
        "sections": section_rows(&r.current),
        "section_chart": section_chart(&r.current),
        "timeliness_chart": timeliness_chart,
        "least": least.iter().take(OVERVIEW_AGENCIES).map(|a| agency_view(a)).collect::<Vec<_>>(),
        "trend_chart": svg::columns("Tỷ lệ chỉ tiêu đạt tiến độ qua các quý", &trend),
        "trend": trend_rows,
        "generated_at": local(d, r.generated_at),
    });
    let title = format!("Tổng quan {}", period.vi());
    render("overview.html", pg.frame(title, "overview"), page)
}

/// The agencies table's sort keys: (key, heading).
const AGENCY_SORTS: [(&str, &str); 10] = [
    ("name", "Đơn vị"),
    ("rows", "Số dòng"),
    ("completeness", "Đầy đủ"),
    ("on_track", "Đạt"),
    ("at_risk", "Có nguy cơ"),
    ("lagging", "Chậm"),
    ("missing", "Chưa báo cáo"),
    ("refused", "Bị từ chối"),
    ("share", "Tỷ lệ đạt"),
    ("timeliness", "Thời hạn"),
];

/// Sorts the agencies: names A to Z, figures largest first (completeness and timeliness
/// the worst first: who to chase); ties by name.
fn sort_agencies(lines: &mut [&AgencyLine], key: &str) {
    let rank = |a: &AgencyLine| match a.timeliness {
        quarterly::Reported::None => 0,
        quarterly::Reported::Late => 1,
        quarterly::Reported::OnTime => 2,
    };
    let by = |a: &&AgencyLine, b: &&AgencyLine| -> std::cmp::Ordering {
        match key {
            "rows" => b.rows.cmp(&a.rows),
            "completeness" => completeness(a).unwrap_or(1.0).total_cmp(&completeness(b).unwrap_or(1.0)),
            "on_track" => b.on_track.cmp(&a.on_track),
            "at_risk" => b.at_risk.cmp(&a.at_risk),
            "lagging" => b.lagging.cmp(&a.lagging),
            "missing" => b.missing.cmp(&a.missing),
            "refused" => b.refused.cmp(&a.refused),
            "share" => b.share.unwrap_or(-1.0).total_cmp(&a.share.unwrap_or(-1.0)),
            "timeliness" => rank(a).cmp(&rank(b)),
            _ => std::cmp::Ordering::Equal,
        }
    };
    lines.sort_by(|a, b| by(a, b).then_with(|| a.name.cmp(&b.name)));
}

async fn agencies(pg: Page) -> Result<Response, PageError> {
    let (d, period) = (&pg.d, pg.period()?);
    let r = report_of(d, period).await?;
    let sort = pg.q.sort.as_deref().filter(|s| AGENCY_SORTS.iter().any(|(k, _)| k == s)).unwrap_or("share");
    let mut lines: Vec<&AgencyLine> = r.agencies.iter().collect();
    sort_agencies(&mut lines, sort);
    let page = serde_json::json!({
        "sort": sort,
        "columns": AGENCY_SORTS.iter().map(|(k, h)| serde_json::json!({ "key": k, "heading": h })).collect::<Vec<_>>(),
        "agencies": lines.iter().map(|a| agency_view(a)).collect::<Vec<_>>(),
    });
    render("agencies.html", pg.frame(format!("Đơn vị {}", period.vi()), "agencies"), page)
}

/// What a gap row and an indicator line show alike.
struct LineFields<'a> {
    item: &'a str,
    measure: &'a str,
    task: &'a str,
    target: &'a str,
    expected: String,
    actual: Option<Value>,
    status: Status,
    reason: &'a str,
}

impl LineFields<'_> {
    fn json(self) -> serde_json::Value {
        serde_json::json!({
            "item": self.item,
            "measure": self.measure,
            "task": self.task,
            "target": self.target,
            "expected": self.expected,
            "actual": value_vi(self.actual),
            "status": self.status.vi(),
            "class": bucket_class(self.status),
            "reason": self.reason,
        })
    }
}

/// A gap row as the agency and indicator pages show it.
fn gap_view(d: &Daemon, g: &StoredGap) -> serde_json::Value {
    let mut v = LineFields {
        item: &g.item,
        measure: &g.measure,
        task: &g.task,
        target: &g.target,
        expected: figure_vi(g.expected, crate::report::gap_table::is_percent(g)),
        actual: g.actual,
        status: g.status,
        reason: &g.reason,
    }
    .json();
    v["agency"] = g.agency.as_str().into();
    v["agency_name"] = g
        .agency
        .agency()
        .and_then(|a| d.ctx.dir.get(a))
        .map_or_else(|| g.agency.to_string(), |a| a.name.clone())
        .into();
    v
}

async fn agency(Path(id): Path<String>, pg: Page) -> Result<Response, PageError> {
    let (d, period) = (&pg.d, pg.period()?);
    let Some(a) = d.ctx.dir.get_str(&id) else { return Err(PageError::NotFound(format!("đơn vị “{id}”"))) };
    let r = report_of(d, period).await?;
    let plan = &d.ctx.catalog.plan.id;
    let gaps = d.ctx.wh.gaps(plan, period, None).await?;
    let items: Vec<serde_json::Value> = gaps
        .iter()
        .filter(|g| g.agency.agency() == Some(&a.id) && g.status != Status::NotApplicable)
        .map(|g| gap_view(d, g))
        .collect();
    let figures: Vec<serde_json::Value> = d
        .ctx
        .wh
        .observations(plan, period, false)
        .await?
        .into_iter()
        .filter(|o| o.agency_id == a.id)
        .map(|o| {
            serde_json::json!({
                "item": o.item, "measure": o.measure, "value": o.value.vi(), "raw": o.raw_text,
                "file": o.file_name, "location": o.location, "loaded_at": local(d, o.loaded_at),
            })
        })
        .collect();
    let refusals: Vec<serde_json::Value> = d
        .ctx
        .wh
        .rejects(period)
        .await?
        .into_iter()
        .filter(|x| x.agency_id.as_deref() == Some(a.id.as_str()))
        .map(|x| reject_view(d, &x))
        .collect();
    let reminders: Vec<serde_json::Value> = d
        .ctx
        .wh
        .outbox(Some(period), None, None)
        .await?
        .into_iter()
        .filter(|m| m.agency == a.id)
        .map(|m| {
            serde_json::json!({
                "round": m.round, "kind": m.kind, "status": outbox_status_vi(&m.status), "subject": m.subject,
                "sent_at": m.sent_at.map(|t| local(d, t)), "recipients": m.recipients.len(),
            })
        })
        .collect();
    let page = serde_json::json!({
        "id": a.id.as_str(),
        "name": a.name,
        "level": a.level.vi(),
        "line": r.agencies.iter().find(|l| l.id == a.id.as_str()).map(agency_view),
        "items": items,
        "figures": figures,
        "refusals": refusals,
        "reminders": reminders,
    });
    render("agency.html", pg.frame(a.name.clone(), "agencies"), page)
}

fn outbox_status_vi(s: &str) -> String {
    match s {
        "queued" => "Đang chờ gửi".into(),
        "sending" => "Đang gửi".into(),
        "sent" => "Đã gửi".into(),
        "partial" => "Gửi được một phần".into(),
        "failed" => "Không gửi được".into(),
        "cancelled" => "Đã huỷ".into(),
        other => other.to_string(),
    }
}

fn reject_view(d: &Daemon, x: &crate::warehouse::RejectRow) -> serde_json::Value {
    let name =
        x.agency_id.as_deref().map(|id| d.ctx.dir.get_str(id).map_or_else(|| id.to_string(), |a| a.name.clone()));
    serde_json::json!({
        "agency": x.agency_id, "agency_name": name, "source": x.source_id, "file": x.file_name,
        "location": x.location, "item": x.item_key, "raw": x.raw_text, "message": x.message,
        "at": local(d, x.created_at),
    })
}

fn indicator_view(l: &IndicatorLine) -> serde_json::Value {
    let mut v = LineFields {
        item: &l.item,
        measure: &l.measure,
        task: &l.task,
        target: &l.target,
        expected: figure_vi(l.expected, l.percent),
        actual: l.actual,
        status: l.status,
        reason: &l.reason,
    }
    .json();
    v["section"] = l.section.map(|s| s.roman()).into();
    v["members"] = l.members.map(|(good, judged)| format!("{good}/{judged}")).into();
    v
}

async fn indicators(pg: Page) -> Result<Response, PageError> {
    let (d, period) = (&pg.d, pg.period()?);
    let r = report_of(d, period).await?;
    let page = serde_json::json!({ "indicators": r.indicators.iter().map(indicator_view).collect::<Vec<_>>() });
    render("indicators.html", pg.frame(format!("Chỉ tiêu {}", period.vi()), "indicators"), page)
}

/// Quarters shown in an indicator's history.
const HISTORY_QUARTERS: usize = quarterly::TREND_QUARTERS;

async fn indicator(Path(item): Path<String>, pg: Page) -> Result<Response, PageError> {
    let (d, period) = (&pg.d, pg.period()?);
    let plan = &d.ctx.catalog.plan.id;
    let rows: Vec<StoredGap> =
        d.ctx.wh.gaps(plan, period, None).await?.into_iter().filter(|g| g.item == item).collect();
    if rows.is_empty() {
        return Err(PageError::NotFound(format!("chỉ tiêu “{item}” trong kết quả đánh giá {}", period.vi())));
    }
    let lines = quarterly::indicator_lines(&Scope::Province, &rows);
    let members: Vec<serde_json::Value> = rows
        .iter()
        .filter(|g| g.kind == RowKind::Member && g.status != Status::NotApplicable)
        .map(|g| gap_view(d, g))
        .collect();
    let mut history = Vec::new();
    for p in pg.periods.iter().filter(|p| **p <= period).take(HISTORY_QUARTERS) {
        let rows: Vec<StoredGap> = if *p == period {
            rows.clone()
        } else {
            d.ctx.wh.gaps(plan, *p, None).await?.into_iter().filter(|g| g.item == item).collect()
        };
        for l in quarterly::indicator_lines(&Scope::Province, &rows) {
            let mut v = indicator_view(&l);
            v["period"] = serde_json::Value::String(p.vi());
            history.push(v);
        }
    }
    let page = serde_json::json!({
        "item": item,
        "task": rows[0].task,
        "lines": lines.iter().map(indicator_view).collect::<Vec<_>>(),
        "members": members,
        "history": history,
    });
    render("indicator.html", pg.frame(format!("Chỉ tiêu {item}"), "indicators"), page)
}

async fn refused(pg: Page) -> Result<Response, PageError> {
    let (d, period) = (&pg.d, pg.period()?);
    let rows: Vec<serde_json::Value> = d.ctx.wh.rejects(period).await?.iter().map(|x| reject_view(d, x)).collect();
    let page = serde_json::json!({ "rejects": rows });
    render("refused.html", pg.frame(format!("Số liệu bị từ chối {}", period.vi()), "refused"), page)
}

/// Runs listed.
const RUNS_SHOWN: i64 = 100;

async fn runs(pg: Page) -> Result<Response, PageError> {
    let d = &pg.d;
    let rows = d.ctx.wh.runs(&RunFilter { limit: Some(RUNS_SHOWN), ..Default::default() }).await?;
    let rows: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            serde_json::json!({
                "id": r.id, "job": r.job,
                "period": r.period.map(|p| p.vi()),
                "trigger": match r.trigger.as_str() { "cli" => "Dòng lệnh", "schedule" => "Theo lịch", "api" => "API", t => t },
                "operator": r.operator, "started_at": local(d, r.started_at),
                "finished_at": r.finished_at.map(|t| local(d, t)),
                "status": r.status, "status_vi": run_status_vi(r.status), "error": r.error,
            })
        })
        .collect();
    let page = serde_json::json!({ "runs": rows });
    render("runs.html", pg.frame("Các lần chạy".into(), "runs"), page)
}

fn run_status_vi(s: RunStatus) -> &'static str {
    match s {
        RunStatus::Running => "Đang chạy",
        RunStatus::Succeeded => "Thành công",
        RunStatus::Partial => "Một phần",
        RunStatus::Failed => "Lỗi",
        RunStatus::Cancelled => "Đã dừng",
    }
}

fn attachment(bytes: Vec<u8>, name: String, mime: &'static str) -> Response {
    let disposition = format!("attachment; filename=\"{name}\"");
    ([(header::CONTENT_TYPE, mime.to_string()), (header::CONTENT_DISPOSITION, disposition)], bytes).into_response()
}

async fn download_xlsx(pg: Page) -> Result<Response, PageError> {
    let (d, period) = (&pg.d, pg.period()?);
    let r = report_of(d, period).await?;
    let bytes = quarterly::write_xlsx(&r).map_err(|e| PageError::Write(e.to_string()))?;
    Ok(attachment(
        bytes,
        format!("{}.xlsx", r.file_stem()),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ))
}

async fn download_docx(pg: Page) -> Result<Response, PageError> {
    let (d, period) = (&pg.d, pg.period()?);
    let template = crate::report::docx::ReportTemplate::load(&d.ctx.settings.remind.templates)
        .map_err(|e| PageError::Write(format!("mẫu báo cáo không dùng được: {e}")))?;
    let r = report_of(d, period).await?;
    // Dated in the year the report is due, as `chiso report` does.
    let issue_year = chrono::Datelike::year(&d.ctx.settings.calendar.due_date(period));
    let bytes =
        crate::report::docx::write_docx(&r, &template, issue_year).map_err(|e| PageError::Write(e.to_string()))?;
    Ok(attachment(
        bytes,
        format!("{}.docx", r.file_stem()),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ))
}
