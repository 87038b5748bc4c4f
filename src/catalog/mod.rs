//! The plan catalogue and the agency directory: what must be done, by whom, by when.
//!
//! Owns: the reference data every stage reads: `plan::Catalog` (with its `Indicator`s),
//! `Directory` (with `Agency` and `Level`) and who answers for what
//! (`assign::Assignments`). Receives: `config/plans/*.toml`, the overrides file and
//! `config/agencies.toml`, loaded by `app`; `domain` types. Hands on: `Catalog`,
//! `Directory` and `Assignments` to `ingest`, `evaluate`, `report`, `remind`,
//! `sources::check`, `warehouse::catalog` and `cli`.

pub mod appendix;
pub mod assign;
pub mod check;
pub mod directory;
pub mod plan;

pub use directory::{Agency, Directory, Level};
