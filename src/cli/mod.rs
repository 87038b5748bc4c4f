//! Command-line interface. Each command prints a short summary a person can read and
//! exits non-zero when something failed: 1 when the job found problems, 2 for bad
//! settings or input, 3 when the same job for the same period is running elsewhere,
//! 70 for internal errors.

mod collect;
mod gaps;
mod inspect;
mod plan;
mod remind;
mod report;
mod runs;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

use chiso::config::{self, LogFormat, Settings};
use chiso::domain::Period;

/// chiso tracks Kế hoạch 742/KH-UBND (Vĩnh Long's digital-transformation plan): it collects
/// each department's quarterly figures, computes the gap to every yearly target and
/// reminds the lead agencies that lag.
///
/// Every command runs on the embedded defaults (SQLite under data/, mail written as .eml
/// files under data/outbox/, the bundled plan and agency directory). Settings come from
/// --config and CHISO_SECTION__KEY environment variables; see `chiso config check`.
#[derive(Debug, Parser)]
#[command(name = "chiso", version, about, long_about)]
pub struct Cli {
    /// A settings file laid over the embedded defaults.
    #[arg(long, global = true, env = "CHISO_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Log format: text for a terminal, json for a log collector (overrides [log] format).
    #[arg(long, global = true, value_enum)]
    pub log_format: Option<LogFormatArg>,
    /// When the same job for the same period is running elsewhere (the daemon, another
    /// operator), wait up to this many seconds for it instead of stopping at once (exit 3).
    #[arg(long, global = true, env = "CHISO_WAIT", value_name = "SECS", default_value_t = 0)]
    pub wait: u64,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormatArg {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, Default, ValueEnum)]
pub enum OutputFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Settings: print the effective settings (secrets hidden) and check that they,
    /// the agency directory and the plan can be used.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// The warehouse: apply migrations.
    #[command(subcommand)]
    Db(DbCommand),
    /// The plan catalogue: import it from the plan's text, store it, check it.
    #[command(subcommand)]
    Plan(plan::PlanCommand),
    /// Fetch every source's figures for a quarter, keep each file as a raw snapshot, and
    /// store what changed; prints a summary per source. Exits 1 when a source failed.
    Collect(collect::CollectArgs),
    /// Run the collection pipeline on local files (received by mail, carried in); the
    /// agency is read from the title block when --agency is absent.
    Ingest(collect::IngestArgs),
    /// Xem chiso đọc một tệp thế nào, không lưu gì: trang được chọn và lý do, các dòng tiêu
    /// đề và vai trò từng cột, đơn vị và kỳ tìm thấy ở đâu, rồi từng dòng: chỉ tiêu, căn
    /// cứ, kết quả (lưu, giữ lại, từ chối, bỏ qua) và lý do.
    Inspect(inspect::InspectArgs),
    /// List what could not be used for a quarter, where and why (in Vietnamese).
    Rejects {
        #[arg(long)]
        period: Period,
        #[arg(long, value_enum, default_value_t)]
        format: collect::TableFormat,
    },
    /// Export data for auditors.
    #[command(subcommand)]
    Export(collect::ExportCommand),
    /// Write the workbook an agency fills in for a quarter: its indicators, targets, last
    /// values, validated input cells. A filled workbook imports with no mapping.
    Template {
        #[arg(long)]
        agency: chiso::domain::AgencyId,
        #[arg(long)]
        period: Period,
        /// Default: data/templates/AGENCY-PERIOD.xlsx
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Judge every indicator of a quarter from the stored figures: who is on track,
    /// behind, silent, by how much; kept as a new version of the quarter's gap table.
    Evaluate {
        #[arg(long)]
        period: Period,
        #[arg(long, env = "CHISO_OPERATOR")]
        operator: Option<String>,
    },
    /// The gap table of a quarter, most severe first (Vietnamese headers), or csv, json,
    /// xlsx for others.
    Gaps(gaps::GapsArgs),
    /// Báo cáo quý gửi UBND tỉnh từ kết quả đánh giá đã lưu: bảng tính (tổng hợp, theo đơn
    /// vị, theo chỉ tiêu, biểu đồ) và dự thảo văn bản; không ghi gì vào kho dữ liệu, in
    /// đường dẫn các tệp đã ghi. --agency HUYỆN: báo cáo của huyện về các xã.
    Report(report::ReportArgs),
    /// Remind the agencies that lag or have not reported: one digest per agency for the
    /// round that is due, their workbook attached; queued once per (period, agency,
    /// round), then sent (SMTP in working hours, or .eml files under data/outbox/).
    Remind(remind::RemindArgs),
    /// The messages reminders produced: list, show, retry, send what is due.
    #[command(subcommand)]
    Outbox(remind::OutboxCommand),
    /// Run history: every execution of every job, whoever started it.
    #[command(subcommand)]
    Runs(runs::RunsCommand),
    /// Run a recorded run's job again with the same parameters; --dry-run shows first
    /// what it would change (values superseded, statuses flipped, reminders sent or
    /// corrected) and writes nothing but its run record.
    Rerun {
        id: i64,
        #[arg(long)]
        dry_run: bool,
        #[arg(long, env = "CHISO_OPERATOR")]
        operator: Option<String>,
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// The daemon: runs the schedules of [serve], sends the outbox when due, answers the
    /// admin API on [admin] bind; stops cleanly on SIGTERM or SIGINT.
    Serve,
    /// The main job on one quarter: migrate the warehouse, load and check the plan,
    /// collect → evaluate → remind. Without --period, the configured demo quarter
    /// ([cycle] default_period) or else the current one.
    Cycle {
        /// The quarter: 2024-Q2, Q2/2024, Quý II/2024 …
        #[arg(long)]
        period: Option<Period>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective settings with secrets redacted, and where each layer came from;
    /// fail with file, key and reason on a bad value.
    Check {
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Apply pending migrations (also done at the start of every command that needs the
    /// warehouse).
    Migrate,
}

/// A failure that maps to a given exit code.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Failed {
    pub code: u8,
    pub message: String,
}

pub fn exit_code(e: &anyhow::Error) -> u8 {
    if let Some(f) = e.downcast_ref::<Failed>() {
        return f.code;
    }
    if is_busy(e) {
        return 3;
    }
    for cause in e.chain() {
        if cause.is::<config::ConfigError>()
            || cause.is::<chiso::app::LoadError>()
            || cause.is::<chiso::catalog::plan::PlanError>()
            || cause.is::<chiso::catalog::appendix::AppendixError>()
        {
            return 2;
        }
    }
    1
}

/// The same job for the same period is running elsewhere.
fn is_busy(e: &anyhow::Error) -> bool {
    use chiso::jobs::{
        collect::CollectError, dispatch::JobError, evaluate::EvaluateError, lease::LeaseError, remind::RemindError,
    };
    e.chain().any(|c| {
        c.is::<LeaseError>()
            || matches!(c.downcast_ref::<CollectError>(), Some(CollectError::Busy(_)))
            || matches!(c.downcast_ref::<EvaluateError>(), Some(EvaluateError::Busy(_)))
            || matches!(c.downcast_ref::<RemindError>(), Some(RemindError::Busy(_)))
            || matches!(c.downcast_ref::<JobError>(), Some(JobError::Busy(_)))
    })
}

/// Settings plus what the command line changed.
pub struct Ctx {
    pub settings: Settings,
    pub layers: Vec<String>,
    /// `--wait`: how long a job waits for the same job running elsewhere.
    pub wait: std::time::Duration,
}

/// Opens the job context with the command line's `--wait`.
pub async fn open_app(ctx: &Ctx) -> anyhow::Result<chiso::app::Context> {
    let mut app = chiso::app::Context::open(ctx.settings.clone()).await.context("cannot open the warehouse")?;
    app.lease_wait = ctx.wait;
    Ok(app)
}

fn init_tracing(settings: &Settings, format: Option<LogFormatArg>) {
    // The scheduler library narrates its own start at info: keep it to warnings.
    let filter = tracing_subscriber::EnvFilter::try_from_env("CHISO_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!("{},tokio_cron_scheduler=warn", settings.log.level))
    });
    let json = match format {
        Some(LogFormatArg::Json) => true,
        Some(LogFormatArg::Text) => false,
        None => settings.log.format == LogFormat::Json,
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = if json { builder.json().flatten_event(true).try_init() } else { builder.compact().try_init() };
}

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let loaded = config::load(cli.config.as_deref()).context("the settings are not usable")?;
    init_tracing(&loaded.settings, cli.log_format);
    let ctx = Ctx {
        settings: loaded.settings.clone(),
        layers: loaded.layers.clone(),
        wait: std::time::Duration::from_secs(cli.wait),
    };
    match cli.command {
        Command::Config(ConfigCommand::Check { format }) => config_check(&ctx, format),
        Command::Db(DbCommand::Migrate) => db_migrate(&ctx).await,
        Command::Plan(cmd) => plan::run(&ctx, cmd).await,
        Command::Collect(args) => collect::collect(&ctx, args).await,
        Command::Ingest(args) => collect::ingest(&ctx, args).await,
        Command::Inspect(args) => inspect::inspect(&ctx, args),
        Command::Rejects { period, format } => collect::rejects(&ctx, period, format).await,
        Command::Export(cmd) => collect::export(&ctx, cmd).await,
        Command::Template { agency, period, output } => collect::template(&ctx, agency, period, output).await,
        Command::Evaluate { period, operator } => gaps::evaluate(&ctx, period, operator).await,
        Command::Gaps(args) => gaps::gaps(&ctx, args).await,
        Command::Report(args) => report::report(&ctx, args).await,
        Command::Remind(args) => remind::run_remind(&ctx, args).await,
        Command::Outbox(cmd) => remind::run_outbox(&ctx, cmd).await,
        Command::Cycle { period } => cycle(&ctx, period).await,
        Command::Runs(cmd) => runs::runs(&ctx, cmd).await,
        Command::Rerun { id, dry_run, operator, format } => runs::rerun(&ctx, id, dry_run, operator, format).await,
        Command::Serve => runs::serve(&ctx).await,
    }
}

fn config_check(ctx: &Ctx, format: OutputFormat) -> anyhow::Result<ExitCode> {
    let (dir, catalog) = chiso::app::load_catalog(&ctx.settings).context("the plan catalogue is not usable")?;
    chiso::remind::render::Templates::load(&ctx.settings.remind.templates)
        .map_err(|e| Failed { code: 2, message: format!("the message templates are not usable: {e}") })?;
    chiso::report::docx::ReportTemplate::load(&ctx.settings.remind.templates)
        .map_err(|e| Failed { code: 2, message: format!("mẫu báo cáo không dùng được: {e}") })?;
    let sources = chiso::app::load_sources(&ctx.settings, &dir)
        .map_err(|e| Failed { code: 2, message: format!("the sources are not usable: {e}") })?;
    let period = ctx.settings.calendar.reporting_period(chrono::Utc::now());
    let problems = chiso::sources::check::check_sources(&sources, &dir, &catalog, period);
    match format {
        OutputFormat::Json => {
            let value = serde_json::json!({
                "layers": ctx.layers,
                "settings": ctx.settings,
                "agencies": dir.len(),
                "plan": catalog.plan.id,
                "indicators": catalog.indicators.len(),
                "sources": sources.len(),
                "source_problems": problems,
                "ok": problems.is_empty(),
            });
            println!("{}", serde_json::to_string_pretty(&value)?);
        }
        OutputFormat::Text => {
            println!("# Effective settings (layers: {})", ctx.layers.join(" → "));
            println!("{}", ctx.settings.to_redacted_toml());
            println!("# Agency directory: {} agencies and groups", dir.len());
            println!("# Plan: {} — {} indicators", catalog.plan.id, catalog.indicators.len());
            println!("# Templates: {} (every one renders)", ctx.settings.remind.templates.display());
            println!("# Nguồn dữ liệu: {} nguồn ({})", sources.len(), ctx.settings.collect.sources.display());
            for p in &problems {
                println!("# LỖI nguồn `{}`: {}", p.source, p.problem);
            }
            if problems.is_empty() {
                println!("# OK");
            }
        }
    }
    if !problems.is_empty() {
        return Err(Failed {
            code: 2,
            message: format!(
                "{} lỗi trong cấu hình nguồn dữ liệu: {}",
                problems.len(),
                problems.iter().map(|p| format!("nguồn `{}`: {}", p.source, p.problem)).collect::<Vec<_>>().join("; ")
            ),
        }
        .into());
    }
    Ok(ExitCode::SUCCESS)
}

async fn db_migrate(ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let wh = chiso::warehouse::Warehouse::connect(
        ctx.settings.database.url.expose(),
        &chiso::warehouse::ConnectOptions {
            max_connections: ctx.settings.database.max_connections,
            acquire_timeout: std::time::Duration::from_secs(ctx.settings.database.acquire_timeout_secs),
        },
    )
    .await?;
    let report = wh.migrate().await?;
    if report.applied.is_empty() {
        println!("{} {}: up to date ({} migrations applied earlier)", wh.backend(), wh.url(), report.already);
    } else {
        println!("{} {}: applied {}", wh.backend(), wh.url(), report.applied.join(", "));
    }
    wh.close().await;
    Ok(ExitCode::SUCCESS)
}

async fn cycle(ctx: &Ctx, period: Option<Period>) -> anyhow::Result<ExitCode> {
    let period = period
        .or(ctx.settings.cycle.default_period)
        .unwrap_or_else(|| ctx.settings.calendar.current_period(chrono::Utc::now()));
    println!("chiso cycle — {} ({period})", period.vi());
    let (dir, catalog) = chiso::app::load_catalog(&ctx.settings).context("the plan catalogue is not usable")?;
    let report = chiso::catalog::check::CheckReport::build(&catalog, &dir);
    let app = open_app(ctx).await?;
    println!("  warehouse   {} {}", app.wh.backend(), app.wh.url());
    println!(
        "  plan        {}: {} indicators, {} flagged ({} settled), {} unresolved names: {}",
        catalog.plan.id,
        report.indicators,
        report.flagged.len(),
        report.flagged.iter().filter(|f| f.settled.is_some()).count(),
        report.unresolved_agencies.len(),
        if report.ok { "OK" } else { "NOT OK (run `chiso plan check`)" }
    );
    println!("  sources     {} ({})", app.sources.len(), app.settings.collect.sources.display());
    println!();
    let req = chiso::jobs::collect::CollectRequest::new(
        period,
        chiso::warehouse::Trigger::Cli,
        std::env::var("CHISO_OPERATOR").ok(),
    );
    let collected = chiso::jobs::collect::collect(&app, &req, collect::progress()).await?;
    collect::print_report(&collected);
    let failed = collected.sources.iter().any(chiso::jobs::collect::SourceReport::is_failed);
    println!();
    let evaluated = chiso::jobs::evaluate::evaluate(
        &app,
        &chiso::jobs::evaluate::EvaluateRequest::new(period, chiso::warehouse::Trigger::Cli, req.operator.clone()),
    )
    .await?;
    gaps::print_summary(&evaluated);
    let mut rows = app.wh.gaps(&app.catalog.plan.id, period, None).await?;
    rows.retain(|g| g.status.needs_action() && g.kind != "member" || g.status.needs_action() && g.agency != "*");
    gaps::sort_by_severity(&mut rows);
    println!();
    gaps::print_table(&app, period, &rows, 25);
    println!("Toàn bộ bảng: chiso gaps --period {period} [--format xlsx]");
    println!();
    let mut reminder = chiso::jobs::remind::RemindRequest::new(period);
    reminder.operator = req.operator.clone();
    let reminded = chiso::jobs::remind::remind(&app, &reminder, Some((evaluated.run_id, &evaluated.rows))).await?;
    remind::print_report(&app, &reminded, Some(15));
    if reminded.delivery.as_ref().is_some_and(|d| !d.files.is_empty()) {
        println!("Mở tệp .eml bằng trình đọc thư (Thunderbird, Outlook) để xem thư nhắc như cơ quan nhận được.");
    }
    app.wh.close().await;
    Ok(if report.ok && !failed && !reminded.failed() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
