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

/// Run a macro from the users or feedback list's *Actions*: on the ticked rows, or on every
/// user or ticket matching the list's search (`all`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SelectionRunForm {
    /// "user" or "feedback".
    #[serde(default)]
    pub scope: String,
    #[serde(default)]
    pub macro_id: String,
    /// The ticked rows' ids.
    #[serde(default)]
    pub ids: Vec<String>,
    /// "all": every match of the search below, not only the ticked rows.
    #[serde(default)]
    pub all: Option<String>,
    /// The users list's search (users).
    #[serde(default)]
    pub users: UserQuery,
    /// The feedback list's filters (tickets).
    #[serde(default)]
    pub tickets: TicketQuery,
    #[serde(default)]
    pub confirm: Option<String>,
}

/// A macro the list's *Actions* offer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionChoice {
    pub id: i32,
    pub name: String,
    /// Runs without the confirmation box.
    pub suppress_confirmation: bool,
}

/// A bulk run's progress and result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BulkRunView {
    pub id: i32,
    /// "user" or "feedback": what the runs act on.
    pub scope: String,
    pub macro_name: String,
    /// The filter's name; for a run from a list's Actions (`from_list`), what was chosen.
    pub filter_name: String,
    pub from_list: bool,
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
