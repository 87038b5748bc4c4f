//! `chiso remind` and `chiso outbox`.
//!
//! Owns: `RemindArgs`, `OutboxCommand` (`list`, `show`, `retry`, `send`), `run_remind`,
//! `run_outbox` and their printing (`print_report`, `print_delivery`). Receives: the
//! arguments from `cli`, the `app::Context`; outbox rows and bodies from `warehouse`. Hands
//! on: a `RemindRequest` to `jobs::remind::remind` and sending to `jobs::remind::send_due`;
//! retries to `warehouse`'s outbox (`retry_message`); the `RemindReport` and
//! `remind::deliver::DeliveryReport` as text to the terminal.

use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};

use chiso::app::Context;
use chiso::domain::Period;
use chiso::jobs::remind::{RemindReport, RemindRequest, remind, send_due};
use chiso::remind::deliver::{DeliveryReport, Fault};
use chiso::warehouse::{OutboxRow, Trigger};

use super::{Ctx, Failed, OutputFormat, texts};

#[derive(Debug, Args)]
pub struct RemindArgs {
    /// Quý: 2024-Q2, Q2/2024, Quý II/2024 …
    #[arg(long)]
    pub period: Period,
    /// Đợt nhắc theo mã (xem [[remind.round]]); mặc định là đợt mới nhất đã mở.
    #[arg(long)]
    pub round: Option<String>,
    /// Cho xem ai sẽ nhận gì (người nhận, đồng gửi, chỉ tiêu, tiêu đề); không xếp hàng, không
    /// gửi thư nào.
    #[arg(long)]
    pub dry_run: bool,
    /// Xếp hàng lại đợt nhắc cho cả các cơ quan đã nhận.
    #[arg(long)]
    pub force: bool,
    /// Chỉ xếp hàng; để `chiso serve` hoặc `chiso outbox send` gửi.
    #[arg(long)]
    pub no_send: bool,
    /// Đánh giá như tại thời điểm này (RFC 3339) thay vì bây giờ: một lần xem lại, lưu riêng
    /// (`gaps --as-of LẦN_CHẠY`); bảng tiến độ hiện hành giữ nguyên.
    #[arg(long)]
    pub at: Option<DateTime<Utc>>,
    /// Người yêu cầu (ghi cùng lần chạy).
    #[arg(long, env = "CHISO_OPERATOR")]
    pub operator: Option<String>,
    /// text cho người đọc, json cho máy.
    #[arg(long, value_enum, default_value_t)]
    pub format: OutputFormat,
}

#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// Mọi thư, mới nhất trước, kèm trạng thái và người nhận.
    List {
        /// Chỉ thư của quý này.
        #[arg(long)]
        period: Option<Period>,
        /// queued (chờ gửi) | sending (đang gửi) | sent (đã gửi) | partial (gửi được một phần) |
        /// failed (gửi không được) | cancelled (đã hủy)
        #[arg(long)]
        status: Option<String>,
        /// text cho người đọc, json cho máy.
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// Một thư: người nhận và trạng thái gửi của từng người, tiêu đề, nội dung, tệp đính kèm, vì
    /// sao có thư này.
    Show {
        /// Số của thư (chiso outbox list).
        id: i64,
    },
    /// Xếp lại vào hàng chờ một thư gửi không được hoặc mới gửi được một phần, cho những người
    /// nhận chưa nhận được; `--failed`: mọi thư như thế (của `--period`, hoặc tất cả).
    Retry {
        /// Số của thư (chiso outbox list).
        #[arg(required_unless_present = "failed", conflicts_with = "failed")]
        id: Option<i64>,
        /// Mọi thư gửi không được hoặc mới gửi được một phần, cùng lúc.
        #[arg(long)]
        failed: bool,
        /// Cùng `--failed`: chỉ thư của quý này.
        #[arg(long, requires = "failed")]
        period: Option<Period>,
    },
    /// Gửi những thư đã đến hạn (dịch vụ chạy nền tự làm việc này).
    Send,
}

/// The fault hook for black-box crash tests; never set in operation.
fn fault_from_env() -> Fault {
    match std::env::var("CHISO_FAULT_CRASH_AFTER_SEND").as_deref() {
        Ok("1") => Fault::ExitAfterSend,
        _ => Fault::None,
    }
}

pub async fn run_remind(ctx: &Ctx, args: RemindArgs) -> anyhow::Result<ExitCode> {
    let app = super::open_app(ctx).await?;
    let req = RemindRequest {
        period: args.period,
        round: args.round,
        now: args.at,
        replay: args.at.is_some(),
        dry_run: args.dry_run,
        force: args.force,
        deliver: !args.no_send,
        trigger: Trigger::Cli,
        operator: args.operator,
        fault: fault_from_env(),
        run_id: None,
        rerun_of: None,
    };
    let stop = (req.deliver && !req.dry_run).then(|| StopOnSignal::listen(&app));
    let report = match remind(&app, &req, None).await {
        Ok(r) => r,
        Err(e @ chiso::jobs::remind::RemindError::UnknownRound { .. }) => {
            anyhow::bail!(Failed { code: 2, message: e.to_string() })
        }
        Err(e) => return Err(e.into()),
    };
    match args.format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        OutputFormat::Text => print_report(&app, &report, None),
    }
    app.wh.close().await;
    let code = if report.failed() { ExitCode::from(1) } else { ExitCode::SUCCESS };
    Ok(stop.map_or(code, |s| s.exit_code(code)))
}

/// A sending command stopped gracefully by SIGTERM or SIGINT: the pass finishes the
/// messages it is sending (each recipient marked), gives back at once every message it
/// claimed and had not started, and the command ends with 128 + the signal (143, 130) as
/// a shell reports a stopped command. Without it the signal would kill the process and
/// leave those messages claimed until their lease ends.
struct StopOnSignal {
    caught: std::sync::Arc<std::sync::atomic::AtomicI32>,
    task: tokio::task::JoinHandle<()>,
}

impl StopOnSignal {
    fn listen(app: &Context) -> Self {
        use tokio::signal::unix::{SignalKind, signal};
        let caught = std::sync::Arc::new(std::sync::atomic::AtomicI32::new(0));
        let (c, cancel) = (caught.clone(), app.cancel.clone());
        let (term, int) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt()));
        let task = tokio::spawn(async move {
            let (Ok(mut term), Ok(mut int)) = (term, int) else {
                tracing::error!("cannot listen for SIGTERM or SIGINT: a signal ends the command at once");
                return;
            };
            let n = tokio::select! {
                _ = term.recv() => libc::SIGTERM,
                _ = int.recv() => libc::SIGINT,
            };
            tracing::info!(signal = n, "stopping: messages being sent finish, the others claimed go back to the queue");
            c.store(n, std::sync::atomic::Ordering::SeqCst);
            cancel.cancel();
        });
        Self { caught, task }
    }

    /// `code`, or 128 + the signal that stopped the pass.
    fn exit_code(&self, code: ExitCode) -> ExitCode {
        match self.caught.load(std::sync::atomic::Ordering::SeqCst) {
            0 => code,
            n => {
                let name = if n == libc::SIGINT { "SIGINT" } else { "SIGTERM" };
                eprintln!(
                    "đã dừng khi nhận {name}: thư đang gửi đã gửi xong, các thư còn lại vẫn chờ trong hàng đợi \
                     (gửi tiếp: chiso outbox send)"
                );
                ExitCode::from(u8::try_from(128 + n).unwrap_or(1))
            }
        }
    }
}

impl Drop for StopOnSignal {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Sends what is due, stopping gracefully on SIGTERM or SIGINT.
async fn send_now(app: &Context, now: DateTime<Utc>) -> anyhow::Result<(DeliveryReport, StopOnSignal)> {
    let stop = StopOnSignal::listen(app);
    let d = send_due(app, now, fault_from_env()).await?;
    print_delivery(app, &d);
    Ok((d, stop))
}

fn local(app: &Context, t: DateTime<Utc>) -> String {
    t.with_timezone(&app.settings.calendar.timezone).format("%d/%m/%Y %H:%M").to_string()
}

pub fn print_report(app: &Context, r: &RemindReport, limit: Option<usize>) {
    if let Some(idle) = &r.idle {
        println!("Nhắc báo cáo: {idle}");
        return;
    }
    let round = r.round.as_deref().unwrap_or("");
    println!(
        "Nhắc báo cáo {} — đợt {round} ({}){}, mở từ {}",
        r.period.map(|p| p.to_string()).unwrap_or_default(),
        r.round_name.as_deref().unwrap_or(""),
        if r.dry_run { ", CHẠY THỬ: không xếp hàng, không gửi thư nào" } else { "" },
        r.opens_at.map(|t| local(app, t)).unwrap_or_default()
    );
    if !r.superseded.is_empty() {
        println!(
            "  các đợt trước chưa gửi (chiso không chạy khi đến lịch), được thay bằng đợt này: {}",
            r.superseded.join(", ")
        );
    }
    if !r.planned.is_empty() {
        let mut table = comfy_table::Table::new();
        table.load_style(comfy_table::presets::UTF8_FULL_CONDENSED);
        table.set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
        table.set_header(["Cơ quan", "Gửi đến", "Đồng gửi", "Chỉ tiêu", "Tiêu đề", "Gửi từ", "Trạng thái"]);
        for p in r.planned.iter().take(limit.unwrap_or(usize::MAX)) {
            let mut agency = p.agency_name.clone();
            if !p.on_behalf.is_empty() {
                agency.push_str(&format!("\n(thay cho {})", p.on_behalf.join(", ")));
            }
            let mut cc = p.cc.join("\n");
            if !p.copies_missing.is_empty() {
                cc.push_str(&format!("\n(không có địa chỉ: {})", p.copies_missing.join(", ")));
            }
            let state = match (p.state.as_str(), p.kind) {
                ("already", _) => "đã xếp hàng trước đó".to_string(),
                ("error", _) => format!("lỗi: {}", p.error.as_deref().unwrap_or("")),
                (_, chiso::remind::plan::MessageKind::Correction) => "đính chính".to_string(),
                _ if p.held_by_interval => "mới (chờ đủ khoảng cách)".to_string(),
                _ => "mới".to_string(),
            };
            table.add_row([
                agency,
                p.to.join("\n"),
                cc,
                p.items.to_string(),
                p.subject.clone(),
                local(app, p.not_before),
                state,
            ]);
        }
        println!("{table}");
        if let Some(more) = limit.and_then(|l| r.planned.len().checked_sub(l)).filter(|n| *n > 0) {
            println!("  … và {more} thư nữa: chiso outbox list");
        }
    }
    println!(
        "  {} thư {} ({} thư đính chính), {} thư đã xếp hàng từ lần chạy trước{}",
        r.queued,
        if r.dry_run { "sẽ được xếp hàng" } else { "được xếp hàng" },
        r.corrections,
        r.already,
        if r.errors > 0 { format!(", {} thư không soạn được", r.errors) } else { String::new() }
    );
    if !r.cancelled.is_empty() {
        println!("  rút lại trước khi gửi: {}", r.cancelled.join(", "));
    }
    if !r.unreachable.is_empty() {
        println!("  KHÔNG NHẮC ĐƯỢC — không có cách liên hệ (bổ sung trong config/agencies.toml):");
        for u in &r.unreachable {
            println!("    {} ({}): {} — {} chỉ tiêu", u.name, u.agency, u.reason, u.items);
        }
    }
    if let Some(d) = &r.delivery {
        print_delivery(app, d);
    }
}

pub fn print_delivery(app: &Context, d: &DeliveryReport) {
    if let Some(at) = d.waiting_until {
        println!("  thư chờ giờ làm việc kế tiếp để gửi: {}", local(app, at));
        return;
    }
    println!(
        "  đã gửi {} thư ({} người nhận), {} thư bị từ chối một phần, {} thư không gửi được, {} thư chờ gửi lại",
        d.sent, d.recipients_sent, d.partial, d.failed, d.retrying
    );
    if let Some(why) = &d.stopped {
        println!("  {why}");
    }
    if d.released > 0 {
        println!("  {} thư đã nhận gửi nhưng chưa gửi được trả lại hàng đợi", d.released);
    }
    for f in &d.refused {
        println!("    bị từ chối: {} — {} {}", f.address, f.code.map(|c| c.to_string()).unwrap_or_default(), f.error);
    }
    for k in &d.reclaimed {
        println!("    gửi tiếp sau sự cố (một người nhận có thể nhận hai lần): {k}");
    }
    if let Some(first) = d.files.first() {
        let dir = std::path::Path::new(first).parent().map(|p| p.display().to_string()).unwrap_or_default();
        println!("  tệp .eml được ghi trong {dir}/ (chế độ ghi tệp: không thư nào rời khỏi máy này)");
    }
    if let Some(next) = d.next_due {
        println!("  thư kế tiếp đến hạn gửi: {}", local(app, next));
    }
}

pub async fn run_outbox(ctx: &Ctx, cmd: OutboxCommand) -> anyhow::Result<ExitCode> {
    let app = super::open_app(ctx).await?;
    let code = match cmd {
        OutboxCommand::List { period, status, format } => {
            let rows = app.wh.outbox(period, status.as_deref(), None).await?;
            match format {
                OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
                OutputFormat::Text => print_outbox_table(&app, &rows),
            }
            ExitCode::SUCCESS
        }
        OutboxCommand::Show { id } => {
            show_message(&app, id).await?;
            ExitCode::SUCCESS
        }
        OutboxCommand::Retry { id: None, period, .. } => {
            let ids = app.wh.failed_messages(period).await?;
            let now = Utc::now();
            for id in &ids {
                app.wh.retry_message(*id, now).await?;
            }
            println!("đã đưa lại {} thư không gửi được vào hàng đợi", ids.len());
            let (_, stop) = send_now(&app, now).await?;
            stop.exit_code(ExitCode::SUCCESS)
        }
        OutboxCommand::Retry { id: Some(id), .. } => {
            if app.wh.retry_message(id, Utc::now()).await? {
                println!("{}", texts::requeued(id));
                let (_, stop) = send_now(&app, Utc::now()).await?;
                stop.exit_code(ExitCode::SUCCESS)
            } else {
                anyhow::bail!(Failed { code: 2, message: super::texts::nothing_to_retry(id) });
            }
        }
        OutboxCommand::Send => {
            let (d, stop) = send_now(&app, Utc::now()).await?;
            stop.exit_code(if d.failed > 0 || d.partial > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
        }
    };
    app.wh.close().await;
    Ok(code)
}

/// `chiso outbox list` as a table.
fn print_outbox_table(app: &Context, rows: &[OutboxRow]) {
    let mut table = comfy_table::Table::new();
    table.load_style(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
    table.set_header(["ID", "Khóa", "Loại", "Trạng thái", "Lần gửi", "Người nhận", "Gửi lúc / chờ đến"]);
    for r in rows {
        let recipients = r
            .recipients
            .iter()
            .map(|x| format!("{} {} {}", texts::message_kind(&x.kind), x.address, texts::message_status(&x.status)))
            .collect::<Vec<_>>()
            .join("\n");
        let when = r.sent_at.map_or_else(|| format!("chờ {}", local(app, r.not_before)), |t| local(app, t));
        table.add_row([
            r.id.to_string(),
            r.key.clone(),
            texts::message_kind(&r.kind).to_string(),
            texts::message_status(&r.status).to_string(),
            r.attempts.to_string(),
            recipients,
            when,
        ]);
    }
    println!("{table}");
    println!("{}", texts::message_count(rows.len()));
}

/// `chiso outbox show`: the message's state, its recipients, why it exists, and its text.
async fn show_message(app: &Context, id: i64) -> anyhow::Result<()> {
    let Some(row) = app.wh.outbox(None, None, Some(id)).await?.into_iter().next() else {
        anyhow::bail!(Failed { code: 2, message: super::texts::no_message(id) });
    };
    let Some((text, _html, attachments)) = app.wh.message_bodies(id).await? else {
        anyhow::bail!(Failed { code: 2, message: super::texts::no_message(id) });
    };
    let [kind, status, attempts, subject, not_before, sent] = texts::MESSAGE_LABELS;
    println!("Thư số {id}: {}", row.key);
    println!(
        "  {kind:<11}{}  {status} {}  {attempts} {}",
        texts::message_kind(&row.kind),
        texts::message_status(&row.status),
        row.attempts
    );
    println!("  {subject:<11}{}", row.subject);
    println!("  {not_before:<11}{}", local(app, row.not_before));
    if let Some(t) = row.sent_at {
        println!("  {sent:<11}{}", local(app, t));
    }
    if let Some(e) = &row.last_error {
        println!("  lỗi gần nhất {e}");
    }
    for r in &row.recipients {
        println!(
            "  {:<8} {} <{}> — {}{}{}",
            texts::message_kind(&r.kind),
            r.name,
            r.address,
            texts::message_status(&r.status),
            r.smtp_code.map(|c| format!(" {c}")).unwrap_or_default(),
            r.error.as_deref().map(|e| format!(" {e}")).unwrap_or_default()
        );
    }
    for a in attachments {
        println!("  đính kèm   {a}");
    }
    print_why(app, id, &row.round).await?;
    println!();
    println!("{text}");
    Ok(())
}

/// Why a message exists: the round, the run that queued it, the evaluation it was based on,
/// and every item it listed with its status, figure and refused cell.
async fn print_why(app: &Context, id: i64, round: &str) -> anyhow::Result<()> {
    let (run, evaluation) = app.wh.outbox_runs(id).await?.unwrap_or_default();
    let show = |r: Option<i64>| r.map_or_else(|| "—".to_string(), |r| format!("#{r}"));
    println!("  vòng nhắc  {round}, lần chạy nhắc {}, dựa trên lần đánh giá {}", show(run), show(evaluation));
    let items: Vec<serde_json::Value> =
        app.wh.outbox_items(id).await?.and_then(|j| serde_json::from_str(&j).ok()).unwrap_or_default();
    for i in &items {
        let text = |k: &str| i[k].as_str().unwrap_or_default().to_string();
        let status = chiso::evaluate::Status::parse(&text("status")).map_or_else(|| text("status"), |s| s.vi().into());
        let figure = serde_json::from_value::<chiso::domain::Value>(i["actual"].clone())
            .map(|v| v.vi())
            .or_else(|_| i["refused"]["raw_text"].as_str().map(|t| format!("“{t}” (không được ghi nhận)")).ok_or(()))
            .unwrap_or_else(|_| "chưa có".into());
        let measure = if text("measure").is_empty() { String::new() } else { format!(" – {}", text("measure")) };
        println!(
            "  chỉ tiêu {}{measure} ({}): {status}; số liệu: {figure}; {}",
            text("item"),
            text("agency"),
            text("reason")
        );
    }
    Ok(())
}
