//! External listeners: their settings, the test panel and the listener log.

#[allow(unused_imports)]
use super::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListenerView {
    pub id: i32,
    pub name: String,
    pub description: String,
    pub key: String,
    /// "user" or "feedback".
    pub scope: String,
    pub filter: Option<(i32, String)>,
    /// macro, comment or data.
    pub kind: ListenerKind,
    /// Feedback listeners: the external-data field `find` holds a value of (None: ticket id).
    pub find_field: Option<(i32, String)>,
    pub macro_: Option<(i32, String)>,
    pub author_field: String,
    pub comment_field: String,
    pub data_group: Option<(i32, String)>,
    pub api_key: Option<(i32, String)>,
    /// User Add Comment / External Data (project group): the project the call is about.
    pub project: Option<(i32, String)>,
    /// User Add Comment / External Data: the body key naming the project (key or id).
    pub project_param: String,
    /// Where the body names the target when the URL has no `find` (a key or a path).
    #[serde(default)]
    pub find_path: String,
    /// Also takes form-encoded bodies.
    #[serde(default)]
    pub accepts_form: bool,
    pub enabled: bool,
    /// The URL third parties call (public base URL + path).
    pub endpoint: String,
    /// Feedback listeners: the tickets it finds (every project, a project or a feedback type).
    pub place: PlaceView,
    /// Signed calls: the scheme's stored name (empty: none) and its label.
    #[serde(default)]
    pub signature_scheme: String,
    #[serde(default)]
    pub signature_label: String,
    /// While the secret it replaced still passes: until when.
    #[serde(default)]
    pub old_secret_until: Option<String>,
}

/// The listener page's *Signed calls* form: the scheme (empty: none) and, to set or rotate
/// it, the shared secret (empty: keep the one there is). The secret is never shown again.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ListenerSigningForm {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub scheme: String,
    #[serde(default)]
    pub secret: String,
}

/// The schemes a listener can verify, (stored name, label), in the select's order.
pub const SIGNATURE_SCHEMES: &[(&str, &str)] = &[
    ("standard_webhooks", "Standard Webhooks (webhook-signature)"),
    ("github", "GitHub (X-Hub-Signature-256)"),
    ("atlassian", "Atlassian / Jira Cloud (X-Hub-Signature)"),
    ("stripe", "Stripe (Stripe-Signature)"),
    ("slack", "Slack (X-Slack-Signature)"),
];

/// What the filter editor's conditions select right now (before saving).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FilterLivePreview {
    pub summary: String,
    pub matching: u64,
    /// Names of the first matching users, in list order.
    pub first: Vec<String>,
}

/// Whether one user passes a filter, and each condition's own verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FilterVerdict {
    pub name: String,
    pub summary: String,
    pub passes: bool,
    /// (condition in words, whether the user meets it)
    pub conditions: Vec<(String, bool)>,
}

/// What a call to a listener would do, worked out without doing it (the test-request panel).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListenerTestView {
    pub find: String,
    /// The status and code a real call (with the right API key) would get now.
    pub status: u16,
    pub code: String,
    pub message: String,
    /// The user `find` resolves to, as "First Last <email> (role; teams)".
    pub user: Option<String>,
    pub filter: Option<FilterVerdict>,
    /// The actions that would run, in order (empty when nothing would).
    pub actions: Vec<String>,
}

/// Create (empty `id`) or edit a user macro listener.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ListenerForm {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub filter_id: String,
    /// macro, comment or data (Macro Execution, Add Comment, External Data).
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub macro_id: String,
    /// Add Comment: the body keys of the author's email and of the comment.
    #[serde(default)]
    pub author_field: String,
    #[serde(default)]
    pub comment_field: String,
    /// External Data: the group whose parameters the body carries, or `NEW_DATA_GROUP` for a
    /// group created with the listener from `group_name` and `fields`.
    #[serde(default)]
    pub data_group_id: String,
    /// External Data, a new group: its name.
    #[serde(default)]
    pub group_name: String,
    /// External Data, a new group: "project" for a project group (stored on the listener's
    /// project), anything else for the listener's own scope (users or tickets).
    #[serde(default)]
    pub group_scope: String,
    /// External Data, a new group: its fields (rows without a label are left out).
    #[serde(default)]
    pub fields: Vec<DataFieldForm>,
    #[serde(default)]
    pub api_key_id: String,
    #[serde(default)]
    pub enabled: Option<String>,
    /// "user" (default) or "feedback"; fixed once the listener exists.
    #[serde(default)]
    pub scope: String,
    /// Feedback listeners: the external-data field whose value `find` is (empty: the ticket
    /// id).
    #[serde(default)]
    pub find_field_id: String,
    /// User Add Comment / External Data into a project group: the project (empty:
    /// community-level, or the one the body names).
    #[serde(default)]
    pub target_project_id: String,
    /// User Add Comment / External Data: the body key whose value names the project (its key
    /// or id); it wins over `target_project_id` when the body has it.
    #[serde(default)]
    pub project_param: String,
    /// Where the body names the target (the user's email, the ticket's id or external-data
    /// value) when the caller cannot put it in the URL's `find`: a key or a path such as
    /// `issue.fields.reporter.emailAddress`. Empty: only `find`.
    #[serde(default)]
    pub find_path: String,
    /// "on": also take `application/x-www-form-urlencoded` bodies.
    #[serde(default)]
    pub accepts_form: Option<String>,
    /// Feedback listeners: where it finds tickets ("Where": `place_value`; empty: every
    /// project).
    #[serde(default)]
    pub place: String,
}

/// What listeners act on: key and label.
pub const LISTENER_SCOPES: [(&str, &str); 2] = [("user", "Users"), ("feedback", "Feedback")];

/// The path of the listeners of `scope` and `kind` (user listeners for any other scope).
pub fn listener_path(scope: &str, kind: ListenerKind) -> &'static str {
    kind.path(Scope::parse(scope).unwrap_or(Scope::User))
}

/// The `data_group_id` that asks for a new data group, created with the listener.
pub const NEW_DATA_GROUP: &str = "new";

/// The URL third parties call for a listener of `scope` and `kind` with `key`, under the
/// installation's public base URL.
pub fn listener_endpoint(base_url: &str, scope: &str, kind: ListenerKind, key: &str) -> String {
    format!(
        "{}/api/v1/{}/{key}",
        base_url.trim_end_matches('/'),
        listener_path(scope, kind)
    )
}

/// "Users" or "Feedback".
pub fn scope_label(scope: &str) -> &'static str {
    if scope == "feedback" {
        "Feedback"
    } else {
        "Users"
    }
}

/// What the listener editor offers: (id, name) of the scope's filters, macros and data
/// groups, and the API keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListenerFormOptions {
    pub scope: String,
    /// The public base URL, for the endpoint the editor shows as the key is typed.
    pub base_url: String,
    pub listener: Option<ListenerView>,
    /// The listener runs a macro that removes users and the signed-in manager may not change
    /// such a listener: its page shows what it does, without the form or delete control.
    #[serde(default)]
    pub locked: bool,
    /// Feedback scope: the external-data fields a ticket can be found by, (id, "Group · Label").
    pub find_fields: Vec<(i32, String)>,
    pub filters: Vec<(i32, String)>,
    pub macros: Vec<(i32, String)>,
    /// Data groups stored against the scope's subjects.
    pub data_groups: Vec<(i32, String)>,
    pub api_keys: Vec<(i32, String)>,
    /// (id, name) of the projects a user listener's comments or data can be about.
    pub projects: Vec<(i32, String)>,
    /// Feedback scope: the places the "Where" select offers.
    pub places: Vec<PlaceChoice>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListenerCallView {
    pub id: i64,
    pub received_at: String,
    pub listener: String,
    pub caller_ip: String,
    pub target: String,
    pub status: u16,
    pub code: String,
    pub run_id: Option<i64>,
    pub duration_ms: i32,
    /// How many calls the row stands for: refused calls are counted per minute, not logged
    /// one by one.
    pub repeats: i32,
}

/// Filters and page of the listener log, as they appear in the URL (`listener`, `status`,
/// `user`, `page`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CallQuery {
    #[serde(default)]
    pub listener_id: Option<i32>,
    #[serde(default)]
    pub status: Option<u16>,
    /// Calls whose target is this user.
    #[serde(default)]
    pub user_id: Option<i32>,
    #[serde(default)]
    pub page: u32,
}

/// One page of listener calls, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListenerCallPage {
    pub calls: Vec<ListenerCallView>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

impl ListenerCallPage {
    pub fn page_count(&self) -> u32 {
        (self.total.div_ceil(self.per_page.max(1) as u64)).max(1) as u32
    }
}

/// The listener log screen: a page of calls and what its filters offer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListenerLogView {
    pub calls: ListenerCallPage,
    /// (id, name) of every listener.
    pub listeners: Vec<(i32, String)>,
    /// The status codes of `docs/listener-api.md` ("Status codes") and any other status found
    /// in the log, ascending.
    pub statuses: Vec<u16>,
    /// The user the log is narrowed to: (id, name).
    pub user: Option<(i32, String)>,
}

/// The listener status codes of `docs/listener-api.md` ("Status codes"), always offered by
/// the log's status filter.
pub const LISTENER_STATUSES: [u16; 10] = [200, 202, 400, 401, 403, 404, 405, 413, 415, 429];

/// What a listener status code means, for the status filter.
pub fn listener_status_label(status: u16) -> &'static str {
    match status {
        200 => "done",
        202 => "accepted",
        400 => "bad input",
        401 => "no or unknown key",
        403 => "refused",
        404 => "not found",
        405 => "wrong method",
        409 => "not configured",
        413 => "body too large",
        415 => "not JSON",
        429 => "rate limited",
        500..=599 => "server error",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_urls_use_the_public_base() {
        let base = "https://beta.example.com/";
        assert_eq!(
            listener_endpoint(base, "user", ListenerKind::Macro, "deleteuser"),
            "https://beta.example.com/api/v1/userMacroListeners/deleteuser"
        );
        assert_eq!(
            listener_endpoint(base, "user", ListenerKind::Data, "jira"),
            "https://beta.example.com/api/v1/userDataListeners/jira"
        );
        assert_eq!(
            listener_endpoint(
                "http://127.0.0.1:3000",
                "feedback",
                ListenerKind::Comment,
                "jira-comment"
            ),
            "http://127.0.0.1:3000/api/v1/feedbackCommentListeners/jira-comment"
        );
    }
}

/// What a listener call brought, as the listener page (*Listen for a test call*) and the call
/// log show it: headers (secret values masked) and the body, as a tree of paths where it is
/// JSON or form-encoded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallRequestView {
    pub call_id: i64,
    pub received_at: String,
    pub caller_ip: String,
    pub listener: String,
    pub status: u16,
    pub code: String,
    pub headers: Vec<(String, String)>,
    /// The body as kept (at most 64 KiB).
    pub body: String,
    /// The body's whole size in bytes.
    pub bytes: i32,
    /// The body was longer than what is kept.
    pub cut: bool,
    /// The body's values in document order, as rows of a tree.
    pub tree: Vec<BodyRow>,
    /// Why there is no tree (the body is empty, not JSON, or cut short).
    pub tree_note: Option<String>,
}

/// One row of a body tree: an object or list (no value) or a value with its path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BodyRow {
    pub depth: u16,
    /// The key, or `[0]` for a list item.
    pub label: String,
    /// A value as JSON writes it (texts quoted); None for an object or a list.
    pub value: Option<String>,
    /// The path that reads this value (`issue.fields.labels[0]`).
    pub path: Option<String>,
}

/// *Listen for a test call* on a listener page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestCallView {
    /// The listener's or source's id.
    pub listener_id: i32,
    /// "listener" or "source".
    #[serde(default)]
    pub target: String,
    /// While listening: until when (formatted).
    pub listening_until: Option<String>,
    /// The last call kept as a test call.
    pub call: Option<CallRequestView>,
    /// The settings a value's path can fill: (field name, label, current path).
    pub targets: Vec<(String, String, String)>,
}

/// Fill one of the listener's settings (`field`, a `TestCallView` target) with `path`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TestCallMapForm {
    /// "source" for an external source; anything else a listener.
    #[serde(default)]
    pub target: String,
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub field: String,
    #[serde(default)]
    pub path: String,
}
