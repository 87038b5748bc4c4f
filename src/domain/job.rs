//! The jobs there are: what a run, a schedule and the API name.
//!
//! Owns: `JobKind` and its names (`as_str`, `parse`). Receives: a job's name from a
//! `[[serve.schedule]]` entry and from a stored run row (read back in `jobs::dispatch`).
//! Hands on: `JobKind` to `config::schedule`, `jobs::dispatch` (re-exported there, in
//! `JobSpec`) and `serve`; its name to the run rows.

use serde::{Deserialize, Serialize};

/// The jobs there are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    Collect,
    Evaluate,
    Remind,
    /// collect → evaluate → remind.
    Cycle,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Collect => "collect",
            JobKind::Evaluate => "evaluate",
            JobKind::Remind => "remind",
            JobKind::Cycle => "cycle",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [JobKind::Collect, JobKind::Evaluate, JobKind::Remind, JobKind::Cycle].into_iter().find(|k| k.as_str() == s)
    }
}
