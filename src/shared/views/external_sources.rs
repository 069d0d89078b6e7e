//! External sources: ticket-creating inbound URLs and their mappings.

#[allow(unused_imports)]
use super::*;
use serde::{Deserialize, Serialize};

/// Create or edit an external source. `mapping` holds one `body parameter = field key` per
/// line (`title` and `description` name the ticket's own fields).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExternalSourceForm {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub project_id: String,
    #[serde(default)]
    pub feedback_type_id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub api_key_id: String,
    #[serde(default)]
    pub team_id: String,
    /// The starting status; empty for the workflow's first.
    #[serde(default)]
    pub status_id: String,
    /// A body parameter holding the status name instead (optional).
    #[serde(default)]
    pub status_param: String,
    /// The default submitter's email.
    #[serde(default)]
    pub submitter: String,
    /// A body parameter holding the submitter's email instead (optional).
    #[serde(default)]
    pub submitter_param: String,
    #[serde(default)]
    pub mapping: String,
    #[serde(default)]
    pub enabled: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExternalSourceView {
    pub id: i32,
    pub project_id: i32,
    pub feedback_type_id: i32,
    pub type_name: String,
    pub name: String,
    pub key: String,
    pub api_key_id: Option<i32>,
    pub team_id: Option<i32>,
    pub status_id: Option<i32>,
    pub status_param: String,
    pub submitter: String,
    pub submitter_param: String,
    pub mapping: String,
    pub enabled: bool,
    pub endpoint: String,
    /// Signed calls: the scheme's stored name (empty: none), its label, and while the secret
    /// it replaced still passes, until when.
    #[serde(default)]
    pub signature_scheme: String,
    #[serde(default)]
    pub signature_label: String,
    #[serde(default)]
    pub old_secret_until: Option<String>,
}

/// What the source editor needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExternalSourceEditor {
    pub source: Option<ExternalSourceView>,
    pub project: ProjectSummary,
    pub types: Vec<FeedbackTypeDefinition>,
    pub api_keys: Vec<(i32, String)>,
}
