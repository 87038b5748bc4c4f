//! Loading what every command needs: settings, directory, plan catalogue, warehouse.
//!
//! The bundled directory and plan are compiled in: when the configured path is the
//! default and the file is absent (the binary runs outside a checkout), the embedded copy
//! is used, so `chiso` works with no files at all.
//!
//! Owns: `app::Context` (settings, directory, catalogue, sources, warehouse, cached
//! assignments, loaded once) and the embedded directory and plan. Receives:
//! `config::Settings`; with it loads `catalog::Directory`, `catalog::plan::Catalog` and the
//! `sources::Source`s (`sources::load`) and opens `warehouse::Warehouse`. Hands on: the
//! `Context` (and a `report::quarterly::ReportInput` from it) to `jobs`, `serve` and `cli`;
//! `LoadError` and `ContextError` when something cannot be used.

use std::path::Path;

use crate::catalog::Directory;
use crate::catalog::directory::DirectoryError;
use crate::catalog::plan::{Catalog, OverridesFile, PlanError, PlanFile};
use crate::config::Settings;
use crate::warehouse::{ConnectOptions, Warehouse, WarehouseError};

pub const EMBEDDED_AGENCIES: &str = include_str!("../config/agencies.toml");
pub const EMBEDDED_PLAN: &str = include_str!("../config/plans/kh-742-2023.toml");
pub const EMBEDDED_OVERRIDES: &str = include_str!("../config/plans/kh-742-2023.overrides.toml");

const DEFAULT_AGENCIES: &str = "config/agencies.toml";
const DEFAULT_PLAN: &str = "config/plans/kh-742-2023.toml";
const DEFAULT_OVERRIDES: &str = "config/plans/kh-742-2023.overrides.toml";

/// Why the catalogue could not be assembled.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("{}", crate::messages::catalog::coordinator(.path, .id))]
    Coordinator { path: String, id: String },
    #[error(transparent)]
    Vocabulary(#[from] crate::domain::vocabulary::VocabularyError),
    #[error("{}", crate::messages::catalog::cannot_read(.path, &crate::messages::io_reason(.source)))]
    Read { path: String, source: std::io::Error },
}

/// Installs the process-wide vocabulary: the embedded one, extended by the operator's file
/// when `[collect] vocabulary` names one. Installed once per process; later calls only check.
pub fn load_vocabulary(settings: &Settings) -> Result<(), LoadError> {
    let v = match &settings.collect.vocabulary {
        Some(path) => crate::domain::vocabulary::Vocabulary::with_file(path)?,
        None => crate::domain::vocabulary::Vocabulary::embedded(),
    };
    crate::domain::vocabulary::install(v);
    Ok(())
}

/// Reads `path`, or the embedded copy when `path` is the default and absent. A file that is
/// there but cannot be read (no permission, not UTF-8: a UTF-16 file saved by Notepad) is an
/// error naming it, never replaced by the embedded copy.
fn read_or_embedded(path: &Path, default: &str, embedded: &'static str) -> Result<Option<(String, String)>, LoadError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some((text, path.display().to_string()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && path == Path::new(default) => {
            Ok(Some((embedded.to_string(), format!("{default} (embedded)"))))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(LoadError::Read { path: path.display().to_string(), source }),
    }
}

pub fn load_directory(settings: &Settings) -> Result<Directory, LoadError> {
    let path = &settings.plan.agencies;
    let dir = match read_or_embedded(path, DEFAULT_AGENCIES, EMBEDDED_AGENCIES)? {
        Some((text, shown)) => Directory::from_toml(&text, &shown)?,
        None => Directory::load(path)?,
    };
    if dir.get(&settings.plan.coordinator).is_none() {
        return Err(LoadError::Coordinator {
            path: path.display().to_string(),
            id: settings.plan.coordinator.to_string(),
        });
    }
    Ok(dir)
}

pub fn load_plan_file(settings: &Settings) -> Result<PlanFile, LoadError> {
    let path = &settings.plan.file;
    Ok(match read_or_embedded(path, DEFAULT_PLAN, EMBEDDED_PLAN)? {
        Some((text, shown)) => PlanFile::from_toml(&text, &shown)?,
        None => PlanFile::load(path)?,
    })
}

pub fn load_overrides(settings: &Settings) -> Result<(OverridesFile, String), LoadError> {
    let path = &settings.plan.overrides;
    Ok(match read_or_embedded(path, DEFAULT_OVERRIDES, EMBEDDED_OVERRIDES)? {
        Some((text, shown)) => (OverridesFile::from_toml(&text, &shown)?, shown),
        None => (OverridesFile::default(), path.display().to_string()),
    })
}

/// Directory and resolved catalogue.
pub fn load_catalog(settings: &Settings) -> Result<(Directory, Catalog), LoadError> {
    load_vocabulary(settings)?;
    let dir = load_directory(settings)?;
    let plan = load_plan_file(settings)?;
    let (overrides, overrides_path) = load_overrides(settings)?;
    let catalog = Catalog::build(&plan, &overrides, &overrides_path, &dir)?;
    Ok((dir, catalog))
}

/// Connects to the configured warehouse, applies pending migrations, and marks the runs
/// whose process is gone as interrupted (their lease is free: the holder's process on this
/// host has exited, its heartbeat has stopped, or its PostgreSQL session has ended). A live
/// run holds its lease and is never marked.
pub async fn open_warehouse(settings: &Settings) -> Result<Warehouse, WarehouseError> {
    let opts = ConnectOptions {
        max_connections: settings.database.max_connections,
        acquire_timeout: std::time::Duration::from_secs(settings.database.acquire_timeout_secs),
    };
    let wh = Warehouse::connect(settings.database.url.expose(), &opts).await?;
    wh.migrate().await?;
    crate::warehouse::lease::mark_interrupted(&wh).await?;
    Ok(wh)
}

/// Everything a job needs, loaded once.
pub struct Context {
    pub settings: Settings,
    pub dir: std::sync::Arc<Directory>,
    pub catalog: std::sync::Arc<Catalog>,
    pub sources: Vec<crate::sources::Source>,
    pub wh: Warehouse,
    /// Cancelled on shutdown: jobs stop at their next safe point.
    pub cancel: tokio_util::sync::CancellationToken,
    /// How long a job waits for another process running the same job for the same
    /// period (0: fail at once, saying who holds it).
    pub lease_wait: std::time::Duration,
    /// Leases taken before a job's run was announced (the admin API answers 202 only once
    /// the lease is held), handed to the job when it starts: by lease name.
    pub(crate) prepared: std::sync::Mutex<std::collections::HashMap<String, crate::warehouse::lease::Lease>>,
    assignments: std::sync::Mutex<
        std::collections::HashMap<crate::domain::Period, std::sync::Arc<crate::catalog::assign::Assignments>>,
    >,
}

impl Context {
    /// What the quarterly report reads: this context's warehouse, plan, directory and calendar.
    pub fn report_input(&self) -> crate::report::quarterly::ReportInput<'_> {
        crate::report::quarterly::ReportInput {
            wh: &self.wh,
            catalog: &self.catalog,
            dir: &self.dir,
            calendar: &self.settings.calendar,
        }
    }

    /// Who answers for what in a period (computed once, then shared).
    pub fn assignments(&self, period: crate::domain::Period) -> std::sync::Arc<crate::catalog::assign::Assignments> {
        let mut cache = self.assignments.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        cache
            .entry(period)
            .or_insert_with(|| {
                std::sync::Arc::new(crate::catalog::assign::Assignments::new(
                    &self.catalog,
                    &self.dir,
                    period.year(),
                    self.settings.calendar.cutoff(period),
                ))
            })
            .clone()
    }
}

/// Why a job context could not be assembled.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Sources(#[from] crate::sources::SourcesError),
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
}

const DEFAULT_SOURCES: &str = "config/sources.toml";

impl Context {
    /// Loads settings' files, opens and migrates the warehouse, and stores the catalogue
    /// (idempotent: nothing is written when nothing changed).
    pub async fn open(settings: Settings) -> Result<Self, ContextError> {
        let (dir, catalog) = load_catalog(&settings)?;
        let sources = load_sources(&settings, &dir)?;
        let wh = open_warehouse(&settings).await?;
        wh.load_catalog(&catalog, &dir).await?;
        Ok(Self {
            settings,
            dir: std::sync::Arc::new(dir),
            catalog: std::sync::Arc::new(catalog),
            sources,
            wh,
            cancel: Default::default(),
            lease_wait: std::time::Duration::ZERO,
            prepared: Default::default(),
            assignments: Default::default(),
        })
    }

    /// A context over an existing warehouse (tests, benchmarks).
    pub async fn with_warehouse(
        settings: Settings,
        dir: Directory,
        catalog: Catalog,
        sources: Vec<crate::sources::Source>,
        wh: Warehouse,
    ) -> Result<Self, ContextError> {
        wh.load_catalog(&catalog, &dir).await?;
        Ok(Self {
            settings,
            dir: std::sync::Arc::new(dir),
            catalog: std::sync::Arc::new(catalog),
            sources,
            wh,
            cancel: Default::default(),
            lease_wait: std::time::Duration::ZERO,
            prepared: Default::default(),
            assignments: Default::default(),
        })
    }
}

/// The configured sources; a missing file (outside a checkout) means none.
pub fn load_sources(
    settings: &Settings,
    dir: &Directory,
) -> Result<Vec<crate::sources::Source>, crate::sources::SourcesError> {
    let path = &settings.collect.sources;
    if !path.exists() && path == Path::new(DEFAULT_SOURCES) {
        return Ok(Vec::new());
    }
    crate::sources::load(path, dir)
}
