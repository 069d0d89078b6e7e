//! Projects, feedback types, tickets, comments and notifications.

#[allow(unused_imports)]
use super::*;
use serde::{Deserialize, Serialize};

/// The kinds of custom field a feedback form can have.
pub const FIELD_KINDS: [(&str, &str); 6] = [
    ("text", "Text"),
    ("long_text", "Long text"),
    ("choice", "Choice"),
    ("number", "Number"),
    ("date", "Date"),
    ("boolean", "Yes / no"),
];

/// Rows of the field editor beyond the existing fields (more after saving).
pub const NEW_FIELD_ROWS: usize = 2;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectSummary {
    pub id: i32,
    pub name: String,
    pub key: String,
    pub description: String,
    pub created_at: String,
    pub type_count: u64,
    pub ticket_count: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProjectForm {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub description: String,
}

/// A feedback type as its project's page lists it: its definition and how many tickets it has.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedbackTypeView {
    pub definition: FeedbackTypeDefinition,
    pub ticket_count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectView {
    pub project: ProjectSummary,
    pub types: Vec<FeedbackTypeView>,
    pub sources: Vec<ExternalSourceView>,
}

/// A new feedback type: its name (the workflow starts as New → Open → In Progress → Closed).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NewFeedbackTypeForm {
    #[serde(default)]
    pub project_id: String,
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FeedbackFieldForm {
    /// The row's place in the editor (rows may arrive in any order).
    #[serde(default)]
    pub slot: String,
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub required: Option<String>,
    /// One choice per line (choice fields only).
    #[serde(default)]
    pub choices: String,
}

/// The feedback type editor: name, workflow (one status per line, in order), teams, form.
/// Fields with an empty label are left out (the editor's blank rows).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FeedbackTypeForm {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub statuses: String,
    #[serde(default)]
    pub teams: Vec<String>,
    #[serde(default)]
    pub fields: Vec<FeedbackFieldForm>,
}

/// A new ticket from the admin screen. `fields` holds the custom fields by key, as typed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TicketForm {
    #[serde(default)]
    pub feedback_type_id: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// The submitter's email.
    #[serde(default)]
    pub author: String,
    #[serde(default)]
    pub team_id: String,
    #[serde(default)]
    pub fields: std::collections::BTreeMap<String, String>,
}

/// A change to a ticket from its page: `what` is status, team or visibility.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TicketChangeForm {
    #[serde(default)]
    pub ticket_id: String,
    #[serde(default)]
    pub what: String,
    #[serde(default)]
    pub value: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TicketCommentForm {
    #[serde(default)]
    pub ticket_id: String,
    #[serde(default)]
    pub body: String,
}

/// The feedback list's filters and page, as they appear in the URL.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TicketQuery {
    #[serde(default)]
    pub project_id: i32,
    #[serde(default)]
    pub feedback_type: Option<i32>,
    #[serde(default)]
    pub status: Option<i32>,
    #[serde(default)]
    pub team: Option<i32>,
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub page: u32,
    /// The external-data columns chosen (field ids, comma-separated); None: the favourites.
    #[serde(default)]
    pub cols: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketRow {
    pub id: i32,
    pub title: String,
    pub type_name: String,
    pub status: String,
    pub team: Option<String>,
    pub author: String,
    pub popularity: i32,
    pub updated_at: String,
    /// The values of the list's external-data columns, in their order ("" where none).
    #[serde(default)]
    pub extra: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketListPage {
    pub project: ProjectSummary,
    pub types: Vec<FeedbackTypeDefinition>,
    pub rows: Vec<TicketRow>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
    #[serde(default)]
    pub columns: ListColumns,
}

impl TicketListPage {
    pub fn page_count(&self) -> u32 {
        (self.total.div_ceil(self.per_page.max(1) as u64)).max(1) as u32
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketCommentView {
    pub id: i32,
    pub author: String,
    pub body: String,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketEventView {
    pub actor: String,
    pub change: String,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketView {
    pub id: i32,
    pub project_id: i32,
    pub project_name: String,
    pub feedback_type: FeedbackTypeDefinition,
    pub title: String,
    pub description: String,
    pub status_id: i32,
    pub status: String,
    pub team_id: Option<i32>,
    pub team: Option<String>,
    pub author: String,
    pub author_user_id: Option<i32>,
    /// The custom fields in the form's order: label and value as shown ("" when not set).
    pub fields: Vec<(String, String)>,
    pub visibility: String,
    pub popularity: i32,
    pub created_at: String,
    pub updated_at: String,
    pub followers: Vec<String>,
    /// Whether the signed-in manager follows the ticket.
    pub following: bool,
    pub comments: Vec<TicketCommentView>,
    pub history: Vec<TicketEventView>,
    /// External data stored against the ticket, favourites first.
    pub external_data: Vec<DataValueView>,
    /// Feedback macros offered on the ticket page: (id, name, needs a confirmation).
    pub macros: Vec<(i32, String, bool)>,
    /// Macro runs on this ticket, newest first.
    pub runs: Vec<MacroRunView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotificationView {
    pub id: i32,
    pub body: String,
    pub ticket_id: Option<i32>,
    pub created_at: String,
    pub read: bool,
}
