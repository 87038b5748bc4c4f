//! Command-line interface. Each command prints a short summary a person can read and
//! exits non-zero when something failed: 1 when the job found problems, 2 for bad
//! settings or input, 3 when the same job for the same period is running elsewhere,
//! 70 for internal errors.
//!
//! Owns: `Cli` and `Command` (the clap definitions, localized by `localized`), `Ctx`, the
//! commands without a file of their own (`config check`, `db migrate`, `cycle`), the error
//! text (`describe_error`, `command_line_error`) and the exit codes (`exit_code`,
//! `Failed`). Receives: the parsed `Cli` from `main.rs`; `config::Loaded` from
//! `config::load`; an `app::Context` (`open_app`). Hands on: each subcommand to
//! `cli::collect`, `cli::gaps`, `cli::inspect`, `cli::plan`, `cli::remind`, `cli::report`
//! or `cli::runs`, and the resulting `ExitCode` or error back to `main.rs`.

mod collect;
mod gaps;
mod inspect;
mod plan;
mod remind;
mod report;
mod runs;
pub mod texts;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

use chiso::config::{self, LogFormat, Settings};
use chiso::domain::Period;

/// chiso theo dõi Kế hoạch 742/KH-UBND (chuyển đổi số tỉnh Vĩnh Long): thu thập số liệu
/// hằng quý của các cơ quan, tính khoảng cách tới chỉ tiêu từng năm và nhắc các cơ quan chủ
/// trì còn chậm.
///
/// Mọi lệnh chạy được với cấu hình mặc định đóng gói sẵn (SQLite trong data/, thư ghi thành
/// tệp .eml trong data/outbox/, kế hoạch và danh mục cơ quan kèm theo). Cấu hình lấy từ
/// --config và các biến môi trường CHISO_MỤC__KHÓA; xem `chiso config check`.
#[derive(Debug, Parser)]
#[command(name = "chiso", version, about, long_about)]
pub struct Cli {
    /// Tệp cấu hình đặt chồng lên cấu hình mặc định.
    #[arg(long, global = true, env = "CHISO_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Định dạng nhật ký: text cho màn hình, json cho hệ thống thu nhật ký (thay [log] format).
    #[arg(long, global = true, value_enum)]
    pub log_format: Option<LogFormatArg>,
    /// Khi cùng công việc của cùng kỳ đang chạy ở nơi khác (dịch vụ, cán bộ khác), chờ tối đa
    /// bấy nhiêu giây thay vì dừng ngay (mã thoát 3).
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
    /// Cấu hình: in cấu hình đang dùng (ẩn bí mật) và kiểm tra cấu hình, danh mục cơ quan và
    /// kế hoạch dùng được.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Kho dữ liệu: áp dụng các bản nâng cấp cấu trúc (migration).
    #[command(subcommand)]
    Db(DbCommand),
    /// Danh mục kế hoạch: nhập từ văn bản kế hoạch, lưu vào kho, kiểm tra.
    #[command(subcommand)]
    Plan(plan::PlanCommand),
    /// Lấy số liệu một quý từ mọi nguồn, giữ mỗi tệp làm bản gốc và lưu những gì thay đổi; in
    /// tóm tắt theo nguồn. Mã thoát 1 khi có nguồn hoặc tệp lỗi.
    Collect(collect::CollectArgs),
    /// Nhận các tệp có sẵn trên máy (gửi qua thư, mang đến) qua cùng quy trình thu thập; không
    /// có --agency thì đơn vị được đọc từ phần tiêu đề của tệp.
    Ingest(collect::IngestArgs),
    /// Xem chiso đọc một tệp thế nào, không lưu gì: trang được chọn và lý do, các dòng tiêu
    /// đề và vai trò từng cột, đơn vị và kỳ tìm thấy ở đâu, rồi từng dòng: chỉ tiêu, căn
    /// cứ, kết quả (lưu, giữ lại, từ chối, bỏ qua) và lý do.
    Inspect(inspect::InspectArgs),
    /// Liệt kê các giá trị không dùng được của một quý: ở đâu và vì sao.
    Rejects {
        /// Quý: 2024-Q2, Q2/2024, Quý II/2024 …
        #[arg(long)]
        period: Period,
        /// table cho người đọc; csv, json, xlsx cho công cụ khác.
        #[arg(long, value_enum, default_value_t)]
        format: collect::TableFormat,
        /// Nơi ghi tệp xlsx (mặc định data/reports/rejects-KỲ.xlsx).
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Xuất dữ liệu cho kiểm tra, đối chiếu.
    #[command(subcommand)]
    Export(collect::ExportCommand),
    /// Tạo sổ tính một cơ quan điền cho một quý: chỉ tiêu, mục tiêu, số liệu kỳ trước, ô nhập
    /// có kiểm tra. Sổ đã điền được nhận lại không cần cấu hình đọc.
    Template {
        /// Cơ quan: mã, tên hoặc tên gọi khác (so_yt, "Sở Y tế").
        #[arg(long)]
        agency: String,
        /// Quý: 2024-Q2, Q2/2024, Quý II/2024 …
        #[arg(long)]
        period: Period,
        /// Mặc định: data/templates/CƠQUAN-KỲ.xlsx
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Đánh giá mọi chỉ tiêu của một quý từ số liệu đã lưu: ai đạt tiến độ, ai chậm, ai chưa báo
    /// cáo, chậm bao nhiêu; lưu thành phiên bản mới của bảng tiến độ quý.
    Evaluate {
        /// Quý: 2024-Q2, Q2/2024, Quý II/2024 …
        #[arg(long)]
        period: Period,
        /// Đánh giá như tại thời điểm này (RFC 3339): lưu thành một lần xem lại, xem bằng
        /// `gaps --as-of LẦN_CHẠY`; bảng tiến độ hiện hành giữ nguyên.
        #[arg(long)]
        at: Option<chrono::DateTime<chrono::Utc>>,
        /// Người yêu cầu (ghi cùng lần chạy).
        #[arg(long, env = "CHISO_OPERATOR")]
        operator: Option<String>,
    },
    /// Bảng tiến độ của một quý, nặng nhất trước; hoặc csv, json, xlsx.
    Gaps(gaps::GapsArgs),
    /// Báo cáo quý gửi UBND tỉnh từ kết quả đánh giá đã lưu: bảng tính (tổng hợp, theo đơn
    /// vị, theo chỉ tiêu, biểu đồ) và dự thảo văn bản; không ghi gì vào kho dữ liệu, in
    /// đường dẫn các tệp đã ghi. --agency HUYỆN: báo cáo của huyện về các xã.
    Report(report::ReportArgs),
    /// Nhắc các cơ quan chậm hoặc chưa báo cáo: mỗi cơ quan một thư tổng hợp cho đợt nhắc đến
    /// hạn, kèm sổ tính; xếp hàng một lần cho mỗi (kỳ, cơ quan, đợt) rồi gửi (SMTP trong giờ
    /// làm việc, hoặc tệp .eml trong data/outbox/).
    Remind(remind::RemindArgs),
    /// Các thư nhắc đã tạo: liệt kê, xem, gửi lại, gửi những thư đến hạn.
    #[command(subcommand)]
    Outbox(remind::OutboxCommand),
    /// Lịch sử chạy: mọi lần chạy của mọi công việc, dù ai khởi động.
    #[command(subcommand)]
    Runs(runs::RunsCommand),
    /// Chạy lại công việc của một lần chạy đã ghi với cùng tham số; --dry-run cho xem trước
    /// những gì sẽ thay đổi (giá trị bị thay, trạng thái đổi, thư nhắc hoặc đính chính) và chỉ
    /// ghi bản ghi lần chạy.
    Rerun {
        /// Số của lần chạy (chiso runs list).
        id: i64,
        /// Chỉ xem trước, không thay đổi gì.
        #[arg(long)]
        dry_run: bool,
        /// Người yêu cầu (ghi cùng lần chạy).
        #[arg(long, env = "CHISO_OPERATOR")]
        operator: Option<String>,
        /// text cho người đọc, json cho máy.
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// Dịch vụ chạy nền: chạy các lịch trong [serve], gửi thư đến hạn, trả lời API quản trị
    /// tại [admin] bind; dừng gọn khi nhận SIGTERM hoặc SIGINT.
    Serve,
    /// Công việc chính cho một quý: nâng cấp kho, nạp và kiểm tra kế hoạch, thu thập → đánh
    /// giá → nhắc việc. Không có --period thì dùng quý minh họa đã cấu hình ([cycle]
    /// default_period), nếu không thì quý hiện tại.
    Cycle {
        /// Quý: 2024-Q2, Q2/2024, Quý II/2024 …
        #[arg(long)]
        period: Option<Period>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// In cấu hình đang dùng (ẩn bí mật) và nguồn của từng lớp; giá trị sai thì báo tệp, khóa
    /// và lý do.
    Check {
        /// text cho người đọc, json cho máy.
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Áp dụng các bản nâng cấp còn thiếu (mọi lệnh dùng kho cũng tự làm việc này).
    Migrate,
}

/// The command line with its help in Vietnamese: clap's own headings and its help and
/// version flags replaced by [`texts`], in every command. Command names and flags stay.
pub fn localized(cmd: clap::Command) -> clap::Command {
    use clap::{Arg, ArgAction};
    let root = cmd.get_version().is_some();
    let mut cmd = cmd
        .help_template(texts::HELP_TEMPLATE)
        .subcommand_help_heading(texts::COMMANDS_HEADING)
        .subcommand_value_name(texts::COMMAND_PLACEHOLDER)
        .disable_help_subcommand(true)
        .disable_help_flag(true)
        .mut_args(|a| {
            let a = localized_markers(a);
            if a.get_help_heading().is_some() {
                a
            } else if a.is_positional() {
                a.help_heading(texts::ARGUMENTS_HEADING)
            } else {
                a.help_heading(texts::OPTIONS_HEADING)
            }
        })
        .arg(
            Arg::new("help")
                .short('h')
                .long("help")
                .action(ArgAction::Help)
                .help(texts::HELP_FLAG)
                .display_order(usize::MAX)
                .help_heading(texts::OPTIONS_HEADING),
        );
    if root {
        cmd = cmd.disable_version_flag(true).arg(
            Arg::new("version")
                .short('V')
                .long("version")
                .action(ArgAction::Version)
                .help(texts::VERSION_FLAG)
                .display_order(usize::MAX)
                .help_heading(texts::OPTIONS_HEADING),
        );
    }
    cmd.mut_subcommands(localized)
}

/// clap's `[env: …]`, `[default: …]` and `[possible values: …]` hidden and written again in
/// Vietnamese at the end of the argument's help (short and long); the value's placeholder
/// (`<PERIOD>`) named in Vietnamese where [`texts::placeholder`] knows the argument.
fn localized_markers(a: clap::Arg) -> clap::Arg {
    let takes_value = a.get_action().takes_values();
    if a.is_hide_env_set() {
        return a; // already done
    }
    let mut marks = Vec::new();
    if let Some(env) = a.get_env() {
        marks.push(texts::env_marker(&env.to_string_lossy()));
    }
    let values: Vec<clap::builder::PossibleValue> = match a.get_value_parser().possible_values() {
        Some(values) if takes_value => values.filter(|v| !v.is_hide_set()).collect(),
        _ => Vec::new(),
    };
    let defaults: Vec<String> = a.get_default_values().iter().map(|d| d.to_string_lossy().into_owned()).collect();
    if takes_value && !defaults.is_empty() {
        marks.push(texts::default_marker(&defaults.join(" ")));
    }
    let names: Vec<&str> = values.iter().map(|v| v.get_name()).collect();
    let short_marks = {
        let mut m = marks.clone();
        if !names.is_empty() {
            m.push(texts::values_marker(&names.join(", ")));
        }
        m.join(" ")
    };
    // The long help lists the values with their own help, as clap does.
    let long_marks = if values.iter().any(|v| v.get_help().is_some()) {
        let list: Vec<String> = values
            .iter()
            .map(|v| match v.get_help() {
                Some(h) => format!("- {}: {h}", v.get_name()),
                None => format!("- {}", v.get_name()),
            })
            .collect();
        format!("{}\n{}\n\n{}", texts::VALUES_HEADING, list.join("\n"), marks.join("\n"))
    } else {
        short_marks.clone()
    };
    let join = |help: Option<String>, marks: &str, sep: &str| match help {
        Some(h) if !marks.is_empty() => format!("{h}{sep}{marks}"),
        Some(h) => h,
        None => marks.to_string(),
    };
    let help = a.get_help().map(|h| h.to_string());
    let long = a.get_long_help().map(|h| h.to_string());
    let has_long_list = long_marks != short_marks;
    let mut a = a.hide_env(true);
    if takes_value {
        a = a.hide_default_value(true).hide_possible_values(true);
    }
    if !short_marks.is_empty() {
        a = a.help(join(help.clone(), &short_marks, " "));
    }
    if long.is_some() || has_long_list {
        a = a.long_help(join(long.or(help), &long_marks, "\n\n"));
    }
    let english = match a.get_value_names() {
        Some([name]) => name.to_string(),
        _ => a.get_id().as_str().to_uppercase(),
    };
    if takes_value && let Some(name) = texts::placeholder(&english) {
        a = a.value_name(name);
    }
    a
}

/// A command line clap did not accept, or a help or version it was asked for, shown in
/// Vietnamese. clap's own messages are English and not translatable, so the message is
/// written again here from the error's kind and context (the argument, the value, the valid
/// values, the suggestion); the exit codes stay clap's (0 for help and version, 2 otherwise).
pub fn command_line_error(e: &clap::Error) -> (String, ExitCode) {
    use clap::error::{ContextKind, ErrorKind};
    let get = |kind| e.get(kind).map(|v| v.to_string()).filter(|v| !v.is_empty());
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            return (localized_help(&e.render().to_string()), ExitCode::SUCCESS);
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            return (localized_help(&e.render().to_string()), ExitCode::from(2));
        }
        _ => {}
    }
    let arg = get(ContextKind::InvalidArg).unwrap_or_default();
    let value = get(ContextKind::InvalidValue).unwrap_or_default();
    let mut lines = Vec::new();
    let first = match e.kind() {
        ErrorKind::UnknownArgument => texts::parse::unknown_argument(&arg),
        ErrorKind::InvalidSubcommand => {
            texts::parse::unknown_command(&get(ContextKind::InvalidSubcommand).unwrap_or_default())
        }
        ErrorKind::InvalidValue if value.is_empty() => texts::parse::missing_value(&arg),
        ErrorKind::InvalidValue => texts::parse::bad_value(&arg, &value),
        ErrorKind::ValueValidation => {
            let source = std::error::Error::source(e);
            let hint = if source.is_some_and(|s| s.is::<chiso::domain::period::PeriodError>()) {
                Some(texts::parse::PERIOD_HINT)
            } else if source.is_some_and(|s| s.is::<chrono::ParseError>()) {
                Some(texts::parse::TIME_HINT)
            } else if source.is_some_and(|s| s.is::<std::num::ParseIntError>()) {
                Some(texts::parse::NUMBER_HINT)
            } else {
                None
            };
            let message = texts::parse::bad_value(&arg, &value);
            match hint {
                Some(hint) => format!("{message}: {hint}"),
                None => message,
            }
        }
        ErrorKind::MissingRequiredArgument => texts::parse::missing_required(&arg),
        ErrorKind::MissingSubcommand => {
            texts::parse::missing_command(&get(ContextKind::ValidSubcommand).unwrap_or_default())
        }
        ErrorKind::ArgumentConflict => texts::parse::conflict(&arg, &get(ContextKind::PriorArg).unwrap_or_default()),
        ErrorKind::TooManyValues | ErrorKind::TooFewValues | ErrorKind::WrongNumberOfValues => {
            texts::parse::value_count(&arg)
        }
        ErrorKind::NoEquals => texts::parse::no_equals(&arg),
        ErrorKind::InvalidUtf8 => texts::parse::NOT_UTF8.to_string(),
        _ => texts::parse::UNUSABLE.to_string(),
    };
    lines.push(format!("{}: {first}", texts::ERROR_PREFIX));
    if let Some(valid) = get(ContextKind::ValidValue) {
        lines.push(format!("  {}", texts::parse::valid_values(&valid)));
    }
    for kind in [ContextKind::SuggestedArg, ContextKind::SuggestedSubcommand, ContextKind::SuggestedValue] {
        if let Some(s) = get(kind) {
            lines.push(format!("  {}", texts::parse::did_you_mean(&s)));
        }
    }
    if let Some(usage) = get(ContextKind::Usage) {
        lines.push(String::new());
        lines.push(texts::usage(&usage));
    }
    lines.push(String::new());
    lines.push(texts::parse::MORE.to_string());
    (lines.join("\n"), ExitCode::from(2))
}

/// A help clap rendered, with the English left in its usage line.
fn localized_help(help: &str) -> String {
    help.lines()
        .map(|l| if l.starts_with(texts::USAGE_PREFIX) { l.replace("[OPTIONS]", "[TÙY_CHỌN]") } else { l.to_string() })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Reads a file the operator named. A missing file, or a folder given as a file, is
/// unusable input (exit 2); any other failure to read is exit 1.
pub fn read_input(path: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    let unusable = |message: String| Failed { code: 2, message };
    if path.is_dir() {
        return Err(unusable(texts::folder_not_file(path)).into());
    }
    match std::fs::read(path) {
        Ok(bytes) => Ok(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(unusable(texts::no_such_file(path)).into()),
        Err(e) => Err(anyhow::anyhow!("{}: {}", texts::cannot_read(path), chiso::messages::io_reason(&e))),
    }
}

/// An agency the operator named on the command line: by id, name or alias, resolved as
/// everywhere else (`Sở Y tế`, `so_yt`, `SYT`). An unknown or ambiguous name is exit 2.
pub fn resolve_agency(dir: &chiso::catalog::Directory, name: &str) -> Result<chiso::domain::AgencyId, Failed> {
    dir.resolve(name, None).map_err(|e| Failed { code: 2, message: texts::unknown_agency(name, &e.to_string()) })
}

/// Writes a file the operator asked for, creating its folder.
pub fn write_file(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| anyhow::anyhow!("{}: {}", texts::cannot_create(parent), chiso::messages::io_reason(&e)))?;
    }
    std::fs::write(path, bytes)
        .map_err(|e| anyhow::anyhow!("{}: {}", texts::cannot_write(path), chiso::messages::io_reason(&e)))
}

/// A failure that maps to a given exit code.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Failed {
    pub code: u8,
    pub message: String,
}

/// The error and its causes, each once: a cause whose text an outer message already
/// quotes (`cannot open the warehouse: pool timed out: pool timed out`) is not repeated.
pub fn describe_error(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        // The crates underneath speak English; the message above one of their errors
        // already says what it means (`chiso::messages`).
        let foreign = cause.is::<std::io::Error>()
            || cause.is::<sqlx::Error>()
            || cause.is::<figment::Error>()
            || cause.is::<toml::de::Error>();
        if text.is_empty() || out.contains(&text) || (foreign && !out.is_empty()) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
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
    let mut app = chiso::app::Context::open(ctx.settings.clone()).await.context(texts::WAREHOUSE_UNUSABLE)?;
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
    let loaded = config::load(cli.config.as_deref()).context(texts::SETTINGS_UNUSABLE)?;
    init_tracing(&loaded.settings, cli.log_format);
    for var in &loaded.trimmed {
        eprintln!("{}", texts::token_trimmed(var));
    }
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
        Command::Rejects { period, format, output } => collect::rejects(&ctx, period, format, output).await,
        Command::Export(cmd) => collect::export(&ctx, cmd).await,
        Command::Template { agency, period, output } => collect::template(&ctx, &agency, period, output).await,
        Command::Evaluate { period, at, operator } => gaps::evaluate(&ctx, period, at, operator).await,
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
    let (dir, catalog) = chiso::app::load_catalog(&ctx.settings).context(texts::CATALOG_UNUSABLE)?;
    chiso::remind::render::Templates::load(&ctx.settings.remind.templates)
        .map_err(|e| Failed { code: 2, message: format!("{}: {e}", texts::TEMPLATES_UNUSABLE) })?;
    chiso::report::docx::ReportTemplate::load(&ctx.settings.remind.templates)
        .map_err(|e| Failed { code: 2, message: format!("mẫu báo cáo không dùng được: {e}") })?;
    let sources = chiso::app::load_sources(&ctx.settings, &dir)
        .map_err(|e| Failed { code: 2, message: format!("{}: {e}", texts::SOURCES_UNUSABLE) })?;
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
            println!("# Cấu hình đang dùng (các lớp: {}; mật khẩu, mã truy cập được ẩn)", ctx.layers.join(" → "));
            println!("{}", ctx.settings.to_redacted_toml());
            println!("# Danh mục cơ quan, đơn vị: {} cơ quan và nhóm", dir.len());
            println!("# Kế hoạch: {} — {} chỉ tiêu", catalog.plan.id, catalog.indicators.len());
            println!("# Mẫu thư và mẫu báo cáo: {} (mẫu nào cũng dựng được)", ctx.settings.remind.templates.display());
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
    chiso::jobs::lease::mark_interrupted(&wh).await?;
    if report.applied.is_empty() {
        println!("{} {}: {}", wh.backend(), wh.url(), texts::migrations_up_to_date(report.already));
    } else {
        println!("{} {}: {}", wh.backend(), wh.url(), texts::migrations_applied(&report.applied.join(", ")));
    }
    wh.close().await;
    Ok(ExitCode::SUCCESS)
}

async fn cycle(ctx: &Ctx, period: Option<Period>) -> anyhow::Result<ExitCode> {
    let period = period
        .or(ctx.settings.cycle.default_period)
        .unwrap_or_else(|| ctx.settings.calendar.current_period(chrono::Utc::now()));
    println!("chiso cycle — {} ({period})", period.vi());
    let (dir, catalog) = chiso::app::load_catalog(&ctx.settings).context(texts::CATALOG_UNUSABLE)?;
    let report = chiso::catalog::check::CheckReport::build(&catalog, &dir);
    let app = open_app(ctx).await?;
    println!("  kho dữ liệu  {} {}", app.wh.backend(), app.wh.url());
    println!(
        "  kế hoạch     {}",
        texts::cycle_plan(
            &catalog.plan.id,
            report.indicators,
            report.flagged.len(),
            report.flagged.iter().filter(|f| f.settled.is_some()).count(),
            report.unresolved_agencies.len(),
            report.ok
        )
    );
    println!("  nguồn        {} ({})", app.sources.len(), app.settings.collect.sources.display());
    println!();
    let origin =
        chiso::jobs::dispatch::Origin::new(chiso::warehouse::Trigger::Cli, std::env::var("CHISO_OPERATOR").ok());
    let spec = chiso::jobs::dispatch::JobSpec::new(chiso::jobs::dispatch::JobKind::Cycle, Some(period));
    let cycle = chiso::jobs::dispatch::run_cycle(&app, &spec, &origin, collect::progress()).await?;
    let steps = &cycle.steps;
    collect::print_report(&steps.collected);
    let failed = steps.collected.sources.iter().any(|s| s.is_failed() || s.is_incomplete());
    let (Some(evaluated), Some(reminded)) = (&steps.evaluated, &steps.reminded) else {
        println!("Chu trình dừng sau bước thu thập: chiso nhận được lệnh dừng, chưa đánh giá và chưa nhắc việc.");
        app.wh.close().await;
        return Ok(ExitCode::from(1));
    };
    println!();
    gaps::print_summary(evaluated);
    let mut rows = app.wh.gaps(&app.catalog.plan.id, period, None).await?;
    rows.retain(|g| g.status.needs_action());
    gaps::sort_by_severity(&mut rows);
    println!();
    gaps::print_table(&app, period, &rows, 25);
    println!("Toàn bộ bảng: chiso gaps --period {period} [--format xlsx]");
    println!();
    remind::print_report(&app, reminded, Some(15));
    if reminded.delivery.as_ref().is_some_and(|d| !d.files.is_empty()) {
        println!("Mở tệp .eml bằng trình đọc thư (Thunderbird, Outlook) để xem thư nhắc như cơ quan nhận được.");
    }
    app.wh.close().await;
    Ok(if report.ok && !failed && !reminded.failed() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cause_is_printed_once() {
        #[derive(Debug, thiserror::Error)]
        #[error("pool timed out while waiting for an open connection")]
        struct Timeout;
        #[derive(Debug, thiserror::Error)]
        #[error("cannot connect to sqlite://x.db: {0}")]
        struct Connect(#[source] Timeout);
        let e = anyhow::Error::new(Connect(Timeout)).context("cannot open the warehouse");
        assert_eq!(
            describe_error(&e),
            "cannot open the warehouse: cannot connect to sqlite://x.db: pool timed out while waiting for an open connection"
        );
        let e = anyhow::Error::new(Timeout).context("cannot open the warehouse");
        assert_eq!(
            describe_error(&e),
            "cannot open the warehouse: pool timed out while waiting for an open connection"
        );
    }
}
