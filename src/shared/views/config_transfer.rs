//! Configuration as code: the preview of an import and what applying it did.

#[allow(unused_imports)]
use super::*;
use serde::{Deserialize, Serialize};

/// One thing an import creates, changes or leaves as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigPlanLine {
    /// "data group", "filter", "macro", "webhook", "listener" or "external source".
    pub kind: String,
    /// How the document names it: a name, or a key.
    pub name: String,
    /// "create", "update", "unchanged", or "left out" (a webhook whose address or body held a
    /// secret that stayed behind).
    pub action: String,
    /// For an update: which of its settings change.
    pub changes: Vec<String>,
}

/// What importing a document would do here: its lines, what the manager should know
/// (`warnings`), and what stops it (`errors`, each naming the place in the document).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigPlan {
    pub lines: Vec<ConfigPlanLine>,
    pub warnings: Vec<String>,
    pub errors: Vec<String>,
    /// New listeners or sources need the API key their callers will present.
    pub needs_api_key: bool,
    /// Stands for the document and this plan: confirming applies only what was previewed.
    pub fingerprint: String,
}

impl ConfigPlan {
    pub fn count(&self, action: &str) -> usize {
        self.lines.iter().filter(|l| l.action == action).count()
    }
}

/// What an applied import did (or how far it got before it stopped).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigOutcome {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Webhooks not written: their address or body held a secret that stayed behind.
    #[serde(default)]
    pub left_out: usize,
    /// What to do by hand now (a secret to type, a webhook left paused …).
    pub warnings: Vec<String>,
    /// Why it stopped, if it did.
    pub error: Option<String>,
}

/// An uploaded document waiting on the screen for the manager's confirmation, or imported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigImportView {
    pub id: i32,
    pub file_name: String,
    pub created_at: String,
    pub created_by: String,
    /// pending, applying, applied or failed.
    pub status: String,
    /// While pending: what confirming would do, computed afresh.
    pub plan: Option<ConfigPlan>,
    pub outcome: Option<ConfigOutcome>,
    /// (id, name) of the enabled API keys new listeners and sources can take.
    pub api_keys: Vec<(i32, String)>,
}

/// Confirm an import: the preview's fingerprint, and the API key for new listeners and
/// sources.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ApplyConfigForm {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub fingerprint: String,
    #[serde(default)]
    pub api_key_id: String,
}

/// One import of the configuration page's list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigImportRow {
    pub id: i32,
    pub file_name: String,
    pub created_at: String,
    pub created_by: String,
    pub status: String,
}

/// The configuration page: what an export holds now, and the latest imports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigOverview {
    /// (what, how many), the word in the number's form: data groups, filters, macros,
    /// webhooks, listeners, external sources.
    pub counts: Vec<(String, usize)>,
    pub imports: Vec<ConfigImportRow>,
}
