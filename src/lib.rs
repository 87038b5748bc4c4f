//! chiso: tracks Kế hoạch 742/KH-UBND, the Vĩnh Long digital-transformation plan.
//!
//! Collects each department's quarterly figures, normalizes them into a warehouse, computes
//! the gap to each yearly target and reminds the lead agencies that lag. The binary is a
//! thin shell over this library; the CLI, the daemon and the tests call the same functions.
//!
//! Owns: the crate's module tree (the layers in `docs/architecture.md`) and `sha256_hex`,
//! the one content hash. Receives: nothing of its own; callers come in through the modules.
//! Hands on: every `pub mod` to the binary (`src/main.rs`, `src/cli/`), the tests and the
//! benches.

// `unsafe` only where allowed by name: the SQLite bulk insert (`warehouse::sqlite_bulk`).
#![deny(unsafe_code)]
// Functions stay readable in one sitting: no function past 120 lines (clippy.toml), and
// none with more than six arguments (clippy's default, a request struct instead).
#![warn(clippy::too_many_lines)]

pub mod app;
pub mod catalog;
pub mod config;
pub mod demo;
pub mod domain;
pub mod evaluate;
pub mod events;
pub mod ingest;
pub mod jobs;
pub mod messages;
pub mod remind;
pub mod report;
pub mod secret;
pub mod serve;
pub mod sources;
pub mod text;
pub mod warehouse;

/// Hex sha256 of bytes: how raw files and plan sources are addressed.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}
