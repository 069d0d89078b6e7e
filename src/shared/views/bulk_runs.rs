//! Bulk runs: a macro on every user or ticket a filter matches.

#[allow(unused_imports)]
use super::*;
use serde::{Deserialize, Serialize};

/// Run a macro on every user of a filter (the bulk action).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BulkRunForm {
    #[serde(default)]
    pub filter_id: String,
    #[serde(default)]
    pub macro_id: String,
    #[serde(default)]
    pub confirm: Option<String>,
}

/// A bulk run's progress and result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BulkRunView {
    pub id: i32,
    /// "user" or "feedback": what the runs act on.
    pub scope: String,
    pub macro_name: String,
    pub filter_name: String,
    pub started_at: String,
    pub total: u64,
    pub completed: u64,
    pub skipped: u64,
    pub failed: u64,
    /// Queued or running.
    pub waiting: u64,
    /// Why runs failed, with how many each.
    pub failures: Vec<(String, u64)>,
}

impl BulkRunView {
    pub fn done(&self) -> u64 {
        self.completed + self.skipped + self.failed
    }

    pub fn finished(&self) -> bool {
        self.waiting == 0
    }

    /// 0 to 100.
    pub fn percent(&self) -> u64 {
        (self.done() * 100).checked_div(self.total).unwrap_or(100)
    }
}
