//! `chiso plan …`
//!
//! Owns: `PlanCommand` (`import`, `load`, `check`), `run` and `describe_load`. Receives:
//! the arguments from `cli`; the plan text, directory and catalogue loaded through `app`.
//! Hands on: the text to `catalog::plan::import_text` (the `PlanFile` written as TOML), the
//! catalogue to `warehouse::Warehouse::load_catalog` (its `warehouse::CatalogLoad`
//! described), and `catalog::check::CheckReport` to the terminal.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;

use super::{Ctx, OutputFormat};
use chiso::catalog::check::CheckReport;
use chiso::warehouse::CatalogLoad;

#[derive(Debug, Subcommand)]
pub enum PlanCommand {
    /// Đọc văn bản kế hoạch (bảng phụ lục chép từ văn bản đã ký) và ghi tệp danh mục. Không
    /// ghi gì nếu không đọc được văn bản.
    Import {
        /// Văn bản kế hoạch, ví dụ config/plans/kh-742-2023.source.txt
        #[arg(long, value_name = "FILE")]
        from_text: PathBuf,
        /// Nơi ghi; mặc định: tệp [plan] file đã cấu hình.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Lưu kế hoạch, chỉ tiêu, phân công và danh mục cơ quan vào kho. Nạp lại không đổi gì;
    /// tệp thay đổi thì cập nhật tại chỗ.
    Load,
    /// In số nhiệm vụ, loại chỉ tiêu theo năm, các nhiệm vụ cần xem lại và lý do, tên cơ quan
    /// chưa xác định. Mã thoát 1 khi còn tên chưa xác định hoặc chỉ tiêu chưa đọc được.
    Check {
        /// text cho người đọc, json cho máy.
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
}

pub async fn run(ctx: &Ctx, cmd: PlanCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        PlanCommand::Import { from_text, output } => import(ctx, &from_text, output),
        PlanCommand::Load => load(ctx).await,
        PlanCommand::Check { format } => check(ctx, format),
    }
}

fn import(ctx: &Ctx, from: &std::path::Path, output: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let dir = chiso::app::load_directory(&ctx.settings)?;
    let text = String::from_utf8(super::read_input(from)?)
        .map_err(|_| super::Failed { code: 2, message: super::texts::not_utf8_text(from) })?;
    let plan = chiso::catalog::plan::import_text(&text, &from.display().to_string(), &dir)?;
    let out = output.unwrap_or_else(|| ctx.settings.plan.file.clone());
    let toml = plan.to_toml().context(super::texts::PLAN_NOT_WRITTEN)?;
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| super::texts::cannot_create(parent))?;
    }
    // Write beside and rename: a reader never sees half a file.
    let tmp = out.with_extension("toml.tmp");
    std::fs::write(&tmp, toml).with_context(|| super::texts::cannot_write(&tmp))?;
    std::fs::rename(&tmp, &out).with_context(|| super::texts::cannot_replace(&out))?;
    let flagged = plan.items.iter().filter(|i| !i.flags.is_empty()).count();
    println!(
        "{}: {} rows ({} items, {} sub-indicators), years {:?}, {flagged} flagged → {}",
        plan.plan.id,
        plan.items.len(),
        plan.items.iter().filter(|i| !i.key.is_sub()).count(),
        plan.items.iter().filter(|i| i.key.is_sub()).count(),
        plan.plan.years,
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

pub fn describe_load(load: &CatalogLoad) -> String {
    let c = |n: &str, c: &chiso::warehouse::Counts| {
        format!(
            "{n}: {} new, {} updated, {} unchanged{}",
            c.inserted,
            c.updated,
            c.unchanged,
            if c.retired > 0 { format!(", {} retired", c.retired) } else { String::new() }
        )
    };
    format!("{}; {}", c("indicators", &load.indicators), c("agencies", &load.agencies))
}

async fn load(ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let (dir, catalog) = chiso::app::load_catalog(&ctx.settings)?;
    let wh = chiso::app::open_warehouse(&ctx.settings).await?;
    let report = wh.load_catalog(&catalog, &dir).await?;
    println!("{} → {} {}", catalog.plan.id, wh.backend(), wh.url());
    println!("  {}", describe_load(&report));
    wh.close().await;
    Ok(ExitCode::SUCCESS)
}

fn check(ctx: &Ctx, format: OutputFormat) -> anyhow::Result<ExitCode> {
    let (dir, catalog) = chiso::app::load_catalog(&ctx.settings)?;
    let report = CheckReport::build(&catalog, &dir);
    match format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        OutputFormat::Text => print!("{}", report.to_text()),
    }
    Ok(if report.ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
