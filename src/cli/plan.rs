//! `chiso plan …`

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;

use super::{Ctx, OutputFormat};
use chiso::catalog::check::CheckReport;
use chiso::warehouse::CatalogLoad;

#[derive(Debug, Subcommand)]
pub enum PlanCommand {
    /// Read the plan's text (the appendix table copied from the signed document) and write
    /// the catalogue file. Nothing is written if the text cannot be read.
    Import {
        /// The plan text, e.g. ../shared/seeds/000_a6a36165291b907c.txt
        #[arg(long, value_name = "FILE")]
        from_text: PathBuf,
        /// Where to write; default: the configured [plan] file.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Store the plan, its targets and assignments, and the agency directory in the
    /// warehouse. Loading twice changes nothing; a changed file updates in place.
    Load,
    /// Print item counts, target kinds per year, flagged items with their reasons, and
    /// unresolved agency names. Exits 1 when a name is unresolved or a target unread.
    Check {
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
        .map_err(|_| super::Failed { code: 2, message: format!("cannot read {}: not UTF-8 text", from.display()) })?;
    let plan = chiso::catalog::plan::import_text(&text, &from.display().to_string(), &dir)?;
    let out = output.unwrap_or_else(|| ctx.settings.plan.file.clone());
    let toml = plan.to_toml().context("cannot write the plan as TOML")?;
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    }
    // Write beside and rename: a reader never sees half a file.
    let tmp = out.with_extension("toml.tmp");
    std::fs::write(&tmp, toml).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, &out).with_context(|| format!("cannot replace {}", out.display()))?;
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
