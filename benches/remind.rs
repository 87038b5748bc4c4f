//! Reminders at national scale: 5,000 communes that have not reported, each a digest of
//! every item it leads, with its own pre-filled workbook attached.
//!
//! ```sh
//! cargo bench --bench remind                        # 5,000 communes
//! CHISO_BENCH_COMMUNES=1000 cargo bench --bench remind
//! ```
//!
//! Measured in one run, on a fresh SQLite warehouse under `target/bench/`:
//! * render + queue: planning the round, rendering every digest, writing every workbook
//!   (on all cores) and queueing them in the outbox — what `chiso remind` does before it
//!   sends; baseline: the same composition on one core, without queueing;
//! * send: delivering the queued messages to mailcrab (an SMTP server, in this process)
//!   over pooled connections, 8 in flight; baseline: one at a time over the same pool.

use std::path::Path;
use std::time::{Duration, Instant};

use chiso::app::Context;
use chiso::catalog::plan::{Catalog, OverridesFile, PlanFile};
use chiso::config::{MailTransport, SmtpSecurity};
use chiso::demo::national_directory;
use chiso::domain::Period;
use chiso::jobs::evaluate::compute;
use chiso::jobs::remind::{RemindRequest, remind};
use chiso::remind::compose::{ComposeInput, Known, context as digest_context};
use chiso::remind::deliver::{DeliverOptions, Transport, deliver_due};
use chiso::remind::plan::{PlanInput, plan_round, round_opens};
use chiso::remind::render::{Named, Templates};
use chiso::remind::{RemindSettings, SendingCalendar};
use chiso::report::template::{build_spec_with, write};
use chiso::warehouse::{ConnectOptions, Warehouse};
use chrono::{DateTime, Utc};

fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port()
}

async fn context(communes: usize, port: u16) -> Context {
    let base = chiso::catalog::Directory::load(Path::new("config/agencies.toml")).expect("directory");
    let dir = national_directory(&base, communes).expect("national directory");
    let plan = PlanFile::load(Path::new("config/plans/kh-742-2023.toml")).expect("plan");
    let overrides = OverridesFile::load(Path::new("config/plans/kh-742-2023.overrides.toml")).expect("overrides");
    let catalog = Catalog::build(&plan, &overrides, "overrides", &dir).expect("catalog");
    std::fs::create_dir_all("target/bench").expect("target/bench");
    let path = format!("target/bench/remind-{communes}.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{path}{suffix}"));
    }
    let wh =
        Warehouse::connect(&format!("sqlite://{path}"), &ConnectOptions { max_connections: 4, ..Default::default() })
            .await
            .expect("warehouse");
    wh.migrate().await.expect("migrate");
    let mut settings = chiso::config::Settings::defaults().expect("defaults");
    settings.mail.transport = MailTransport::Smtp;
    settings.mail.smtp.host = "127.0.0.1".into();
    settings.mail.smtp.port = port;
    settings.mail.smtp.security = SmtpSecurity::None;
    settings.remind.rate_per_second = 100_000.0;
    settings.remind.concurrency = 8;
    Context::with_warehouse(settings, dir, catalog, Vec::new(), wh).await.expect("context")
}

fn main() {
    let communes: usize = std::env::var("CHISO_BENCH_COMMUNES").ok().and_then(|s| s.parse().ok()).unwrap_or(5_000);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(run(communes));
}

async fn run(communes: usize) {
    let period = Period::new(2024, 3).expect("period");
    // Friday 20/09/2024 10:00 in Vĩnh Long: the day after the due date.
    let now: DateTime<Utc> =
        DateTime::parse_from_rfc3339("2024-09-20T10:00:00+07:00").expect("time").with_timezone(&Utc);
    let port = free_port();
    let server = mailcrab::development_mail_server([127, 0, 0, 1], port).await;
    let mut rx = server.rx.resubscribe();
    let drained = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let d = drained.clone();
    tokio::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(_) => {
                    d.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    d.fetch_add(n as usize, std::sync::atomic::Ordering::Relaxed);
                }
                Err(_) => return,
            }
        }
    });
    let ctx = context(communes, port).await;
    let rows = compute(&ctx, period, now).await.expect("evaluate");
    eprintln!("{communes} communes: {} gap rows; peak RSS so far {} MB", rows.len(), peak_rss_kb() / 1024);

    // Baseline: composing every digest on one core, nothing queued.
    let sending = SendingCalendar::new(&ctx.settings.remind.working, ctx.settings.calendar.timezone).expect("calendar");
    let settings: &RemindSettings = &ctx.settings.remind;
    let round = settings.rounds.iter().find(|r| r.id == "sau_han").expect("round");
    let due = ctx.settings.calendar.due_date(period);
    let last = std::collections::HashMap::new();
    let started = Instant::now();
    let plan = plan_round(&PlanInput {
        catalog: &ctx.catalog,
        dir: &ctx.dir,
        settings,
        sending: &sending,
        coordinator: &ctx.settings.plan.coordinator,
        plan_id: &ctx.catalog.plan.id,
        period,
        round,
        opens_at: round_opens(round, &sending, due),
        now,
        today: ctx.settings.calendar.local_date(now),
        responsible_on: ctx.settings.calendar.cutoff(period),
        rows: &rows,
        last: &last,
        key_suffix: None,
    });
    let templates = Templates::load(Path::new("config/templates")).expect("templates");
    let assignments = ctx.assignments(period);
    let from: lettre::message::Mailbox = ctx.settings.mail.from.parse().expect("from");
    let known = Known::default();
    let books = chiso::report::template::WorkbookCache::default();
    let own = chiso::remind::plan::OwnItems::new(&ctx.catalog, &ctx.dir);
    let input = ComposeInput {
        catalog: &ctx.catalog,
        dir: &ctx.dir,
        calendar: &ctx.settings.calendar,
        assignments: &assignments,
        templates: &templates,
        books: &books,
        known: &known,
        period,
        round,
        subject_prefix: &settings.subject_prefix,
        from: &from,
        coordinator: Named::default(),
        now,
        run_id: None,
        evaluation_run: None,
        group_mode: settings.group_items,
        own: &own,
    };
    let planned = started.elapsed();
    let mut bytes = 0usize;
    let (mut t_books, mut t_render) = (Duration::ZERO, Duration::ZERO);
    for d in &plan.digests {
        // Every workbook written in full (no sharing between agencies of the same shape).
        let t = Instant::now();
        let files: Vec<Vec<u8>> = d
            .origins
            .iter()
            .map(|o| {
                let spec = build_spec_with(
                    &chiso::report::template::TemplateBasis {
                        catalog: &ctx.catalog,
                        dir: &ctx.dir,
                        calendar: &ctx.settings.calendar,
                        assignments: &assignments,
                    },
                    o,
                    period,
                    &(),
                );
                write(&spec).expect("workbook")
            })
            .collect();
        t_books += t.elapsed();
        let names: Vec<String> = d.origins.iter().map(|o| chiso::remind::compose::workbook_name(period, o)).collect();
        let t = Instant::now();
        let ctx = digest_context(&input, d, names);
        let r = templates.render("reminder", &ctx).expect("render");
        t_render += t.elapsed();
        bytes += files.iter().map(Vec::len).sum::<usize>() + r.html.len() + r.text.len();
    }
    let one_core = started.elapsed();
    eprintln!("  peak RSS so far {} MB", peak_rss_kb() / 1024);
    eprintln!(
        "  of which: planning {:.2} s, workbooks {:.2} s, templates {:.2} s",
        planned.as_secs_f64(),
        t_books.as_secs_f64(),
        t_render.as_secs_f64()
    );
    let digests = plan.digests.len();
    eprintln!(
        "baseline, one core, every workbook written in full, not queued: {digests} digests in {:.2} s ({:.0} MB of bodies and workbooks)",
        one_core.as_secs_f64(),
        bytes as f64 / 1e6
    );

    // The job: plan, compose on every core, queue.
    let mut req = RemindRequest::new(period);
    req.now = Some(now);
    req.deliver = false;
    let started = Instant::now();
    let report = remind(&ctx, &req, Some((0, &rows))).await.expect("remind");
    let render_queue = started.elapsed();
    assert_eq!(report.queued, digests, "every digest queued");
    eprintln!("  phases (ms): {:?}; peak RSS so far {} MB", report.phases_ms, peak_rss_kb() / 1024);
    eprintln!(
        "render + queue: {} digests in {:.2} s ({:.0} digests/s) — goal < 5 s for 5,000",
        report.queued,
        render_queue.as_secs_f64(),
        report.queued as f64 / render_queue.as_secs_f64()
    );

    // Sending, one at a time then 8 in flight, over pooled connections.
    let mut send_rates = Vec::new();
    for concurrency in [1usize, 8] {
        let mut settings = ctx.settings.remind.clone();
        settings.concurrency = concurrency;
        let transport = Transport::from_settings(&ctx.settings.mail, concurrency).expect("transport");
        ctx.wh.reset_outbox_for_benchmark().await.expect("reset outbox");
        let before = drained.load(std::sync::atomic::Ordering::Relaxed);
        let started = Instant::now();
        let d =
            deliver_due(&ctx.wh, &transport, &settings, &sending, &ctx.settings.mail.from, &DeliverOptions::at(now))
                .await
                .expect("send");
        let elapsed = started.elapsed();
        assert_eq!(d.sent, digests, "{d:?}");
        for _ in 0..500 {
            if drained.load(std::sync::atomic::Ordering::Relaxed) - before >= digests {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let rate = d.sent as f64 / elapsed.as_secs_f64();
        eprintln!(
            "send, {concurrency} in flight: {} messages in {:.2} s = {rate:.0} messages/s{}",
            d.sent,
            elapsed.as_secs_f64(),
            if concurrency == 1 { " (baseline)" } else { " — goal ≥ 100/s" }
        );
        send_rates.push(rate);
    }
    println!(
        "remind bench: communes={communes} digests={digests} one_core_s={:.2} render_queue_s={:.2} send_1_per_s={:.0} send_8_per_s={:.0} peak_rss_mb={:.0}",
        one_core.as_secs_f64(),
        render_queue.as_secs_f64(),
        send_rates[0],
        send_rates[1],
        peak_rss_kb() as f64 / 1024.0
    );
    server.token.cancel();
}
