//! The jobs there are: what a run, a schedule and the API name.

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
