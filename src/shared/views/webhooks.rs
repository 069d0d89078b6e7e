//! Outgoing webhooks and emails: editor, deliveries, attempts and the log.

#[allow(unused_imports)]
use super::*;
use serde::{Deserialize, Serialize};

/// The methods a webhook may use.
pub const WEBHOOK_METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// Ready-made webhooks the editor can start from, as (key, label).
pub const WEBHOOK_PRESETS: [(&str, &str); 3] = [
    ("slack", "Slack incoming webhook"),
    ("jira", "Jira issue update"),
    ("json", "Generic JSON POST"),
];

/// A webhook (kind "http") or email (kind "email") of a macro, as its editor sends it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WebhookForm {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub macro_id: String,
    /// "http" (default) or "email".
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub method: String,
    #[serde(default)]
    pub url: String,
    /// One `Name: value` per line.
    #[serde(default)]
    pub headers: String,
    /// "json" or "form".
    #[serde(default)]
    pub content_type: String,
    #[serde(default)]
    pub body: String,
    /// Emails: empty sends to the user (feedback: the submitter); otherwise this address.
    #[serde(default)]
    pub email_to: String,
    #[serde(default)]
    pub email_subject: String,
    /// Sign with Standard Webhooks headers.
    #[serde(default)]
    pub signing: Option<String>,
    /// *Capture return values*: the answer's values are stored into `capture_group_id`.
    #[serde(default)]
    pub capture: Option<String>,
    /// The data group captured into: an id, or `NEW_DATA_GROUP` for `new_group`.
    #[serde(default)]
    pub capture_group_id: String,
    /// A user macro capturing into a project group: the project stored on.
    #[serde(default)]
    pub capture_project_id: String,
    /// A data group created with the webhook to capture into.
    #[serde(default)]
    pub new_group: NewGroupForm,
    /// The webhook's own retry delays (`0s, 1m, 10m`); empty: the installation's schedule.
    #[serde(default)]
    pub retry_schedule: String,
}

/// A data group made in place (a name and its field rows; rows without a label are left out).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NewGroupForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub fields: Vec<DataFieldForm>,
}

impl WebhookForm {
    /// Nothing typed: no name, address, headers, subject, body or group to create.
    pub fn is_blank(&self) -> bool {
        [
            &self.name,
            &self.url,
            &self.headers,
            &self.email_subject,
            &self.body,
            &self.new_group.name,
        ]
        .iter()
        .all(|v| v.trim().is_empty())
    }
}

/// Per-webhook delivery counts over the last 7 days.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeliveryCounts {
    pub succeeded: u64,
    pub failed: u64,
    pub pending: u64,
}

impl DeliveryCounts {
    /// Succeeded among the finished ones, in whole percent (None when none finished).
    pub fn success_percent(&self) -> Option<u64> {
        let done = self.succeeded + self.failed;
        (done > 0).then(|| (self.succeeded * 100 + done / 2) / done)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookView {
    pub id: i32,
    pub macro_id: i32,
    pub kind: String,
    pub name: String,
    pub method: String,
    pub url: String,
    /// One `Name: value` per line, secret values shown as `MASK`.
    pub headers: String,
    pub content_type: String,
    pub body: String,
    pub email_to: String,
    pub email_subject: String,
    pub signing: bool,
    /// While a rotated-out secret still signs: until when.
    pub old_secret_until: Option<String>,
    pub capture_group: Option<(i32, String)>,
    /// A user macro's capture into a project group: the project.
    pub capture_project_id: Option<i32>,
    pub enabled: bool,
    pub disabled_reason: String,
    pub counts: DeliveryCounts,
    /// Its own retry delays; empty: the installation's schedule.
    #[serde(default)]
    pub retry_schedule: String,
    /// Paused: its deliveries wait until it is resumed.
    #[serde(default)]
    pub paused: bool,
    /// Why the product paused it (a long failure streak); empty when a manager did.
    #[serde(default)]
    pub paused_reason: String,
    /// Failed attempts in a row, and since when (formatted).
    #[serde(default)]
    pub failure_streak: i32,
    #[serde(default)]
    pub failing_since: Option<String>,
}

/// What the webhook editor offers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookFormOptions {
    pub macro_id: i32,
    pub macro_name: String,
    pub scope: String,
    pub tags: Vec<(String, String)>,
    /// (id, name) of the external data groups answers can be captured into.
    pub groups: Vec<(i32, String)>,
    /// (id, name) of the projects a user macro's capture into a project group can store on.
    pub projects: Vec<(i32, String)>,
}

/// The editor's starting point: a webhook to edit, or a new one (from a preset).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookEditorView {
    pub webhook: Option<WebhookView>,
    /// For a new webhook: the preset's (or an empty) form.
    pub draft: WebhookForm,
    pub options: WebhookFormOptions,
    /// The signing secret(s), when the page asked to reveal them: the current one first.
    pub secrets: Vec<String>,
    /// The webhook belongs to a macro that removes users and the signed-in manager may not
    /// change it: the page shows it without the form, test, signing or delete controls.
    #[serde(default)]
    pub locked: bool,
}

/// A request as it would be (preview) or was (log) sent; secret header values masked.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RequestView {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// Preview or send-test: the webhook rendered against a user (email) or a ticket (id).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WebhookTryForm {
    #[serde(default)]
    pub id: String,
    /// A user's email (user macros) or a ticket id (feedback macros).
    #[serde(default)]
    pub target: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookTryView {
    pub target: String,
    pub request: RequestView,
    /// When sent: the delivery in the log.
    pub delivery_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryView {
    pub id: i64,
    pub webhook_id: Option<i32>,
    pub webhook_name: String,
    pub macro_id: Option<i32>,
    pub macro_name: String,
    pub run_id: Option<i64>,
    pub target: String,
    pub target_user_id: Option<i32>,
    pub target_ticket_id: Option<i32>,
    pub kind: String,
    pub method: String,
    pub url: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<String>,
    pub created_at: String,
    pub test: bool,
    pub resend_of: Option<i64>,
    /// It names a removed person: its request is kept encrypted until it is sent or given up.
    pub sealed: bool,
    /// When its sealed request was cut out.
    pub erased_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptView {
    pub attempt: i32,
    pub started_at: String,
    pub duration_ms: i32,
    pub request_headers: Vec<(String, String)>,
    pub response_status: Option<i32>,
    pub response_headers: Vec<(String, String)>,
    pub response_body: String,
    pub error: Option<String>,
    pub capture_note: String,
    pub next_retry_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryDetailView {
    pub delivery: DeliveryView,
    pub request: RequestView,
    pub attempts: Vec<AttemptView>,
    /// Sent for a macro that removes users, which the signed-in manager may not resend.
    #[serde(default)]
    pub locked: bool,
}

/// The webhook log's filters (query string `macro`, `webhook`, `user`, `ticket`, `status`,
/// `hours`, `page`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeliveryQuery {
    #[serde(default)]
    pub macro_id: Option<i32>,
    #[serde(default)]
    pub webhook_id: Option<i32>,
    #[serde(default)]
    pub user_id: Option<i32>,
    #[serde(default)]
    pub ticket_id: Option<i32>,
    #[serde(default)]
    pub status: Option<String>,
    /// Only deliveries made in the last this many hours.
    #[serde(default)]
    pub hours: Option<u32>,
    #[serde(default)]
    pub page: u32,
}

/// How a webhook fared: for the success-rate chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookRate {
    pub webhook_id: i32,
    pub name: String,
    pub counts: DeliveryCounts,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookLogView {
    pub deliveries: Vec<DeliveryView>,
    pub page: u32,
    pub per_page: u32,
    pub total: u64,
    /// (id, name) of every macro that has webhooks, and of every webhook.
    pub macros: Vec<(i32, String)>,
    pub webhooks: Vec<(i32, String)>,
    /// Success per webhook over the last 7 days (of the filtered macro, when one is chosen).
    pub rates: Vec<WebhookRate>,
    /// What the log is narrowed to, in words, with the link back to it.
    pub subject: Option<(String, String)>,
    /// How many of the matching deliveries *Resend all* would send again (finished ones whose
    /// webhook is on, that the viewer may resend).
    #[serde(default)]
    pub replayable: u64,
    /// The newest delivery the count covers, and a one-time token for *Resend all*'s form.
    #[serde(default)]
    pub replay_upto: i64,
    #[serde(default)]
    pub replay_token: String,
}

/// *Resend all*: the log's filters, the count the manager saw, and their confirmation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReplayForm {
    #[serde(default)]
    pub macro_id: String,
    #[serde(default)]
    pub webhook_id: String,
    #[serde(default)]
    pub user_id: String,
    #[serde(default)]
    pub ticket_id: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub hours: String,
    /// The count the manager was shown, of deliveries up to `upto`: a different count now is
    /// refused (the set changed).
    #[serde(default)]
    pub expected: String,
    #[serde(default)]
    pub upto: String,
    /// The form's one-time token: sent again, it answers with the replay it already made.
    #[serde(default)]
    pub token: String,
    #[serde(default)]
    pub confirm: Option<String>,
}

/// A bulk replay and how far its sending has got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplayView {
    pub id: i32,
    pub description: String,
    pub created_by: String,
    pub created_at: String,
    pub total: u64,
    pub succeeded: u64,
    pub failed: u64,
    /// Queued or being sent.
    pub waiting: u64,
    /// Waiting because their webhook is paused.
    pub paused: u64,
}

impl ReplayView {
    pub fn finished(&self) -> bool {
        self.waiting == 0
    }
    pub fn percent(&self) -> u64 {
        ((self.total - self.waiting.min(self.total)) * 100)
            .checked_div(self.total)
            .unwrap_or(100)
    }
}

impl WebhookLogView {
    pub fn page_count(&self) -> u32 {
        (self.total.div_ceil(self.per_page.max(1) as u64)).max(1) as u32
    }
}
