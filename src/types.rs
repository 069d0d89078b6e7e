//! Data shared by the server and the browser: views the screens show and forms they submit.
//!
//! Form structs keep every field as text, exactly as the browser sends it; the service layer
//! parses them into domain types and reports each bad field by name.

use serde::{Deserialize, Serialize};

pub use crate::shared::vocab::{DeliveryStatus, ListenerKind, Scope};

/// What a community member may do in the admin screens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Participant,
    ProjectManager,
    CommunityManager,
}

impl Role {
    pub const ALL: [Role; 3] = [
        Role::Participant,
        Role::ProjectManager,
        Role::CommunityManager,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Role::Participant => "participant",
            Role::ProjectManager => "project_manager",
            Role::CommunityManager => "community_manager",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Participant => "Participant",
            Role::ProjectManager => "Project manager",
            Role::CommunityManager => "Community manager",
        }
    }

    pub fn parse(value: &str) -> Result<Role, String> {
        let v = value.trim().to_ascii_lowercase().replace([' ', '-'], "_");
        Role::ALL.into_iter().find(|r| r.key() == v).ok_or_else(|| {
            format!(
                "unknown role \"{value}\"; use participant, project_manager or community_manager"
            )
        })
    }

    /// Managers sign in to the admin screens; participants never do.
    pub fn can_sign_in(self) -> bool {
        !matches!(self, Role::Participant)
    }
}

/// The signed-in manager, as the layout shows them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurrentUserView {
    pub id: i32,
    pub email: String,
    pub display_name: String,
    pub role: Role,
}

impl CurrentUserView {
    pub fn can_manage_users(&self) -> bool {
        self.role == Role::CommunityManager
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub password: String,
    /// Where to go after signing in (a local path).
    #[serde(default)]
    pub next: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamRef {
    pub id: i32,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserRow {
    pub id: i32,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub role: Role,
    pub score: i32,
    pub teams: Vec<TeamRef>,
    pub created_at: String,
}

/// Search, filter and paging of the users list, as it appears in the URL.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserQuery {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub team: Option<i32>,
    #[serde(default)]
    pub page: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserListPage {
    pub rows: Vec<UserRow>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
    pub teams: Vec<TeamRef>,
}

impl UserListPage {
    pub fn page_count(&self) -> u32 {
        (self.total.div_ceil(self.per_page as u64)).max(1) as u32
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub created_at: String,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub detail: String,
    pub ip: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommentView {
    pub author: String,
    pub body: String,
    pub created_at: String,
    /// The project a project-level comment belongs to (None: community-level).
    pub project: Option<String>,
}

/// A comment about a user, community-level or about their part in one project.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserCommentForm {
    #[serde(default)]
    pub user_id: String,
    /// Empty: a community-level comment.
    #[serde(default)]
    pub project_id: String,
    #[serde(default)]
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserDetail {
    pub user: UserRow,
    pub updated_at: String,
    pub can_sign_in: bool,
    /// The audit entries about the user; None for viewers who may not read the audit log.
    pub activity: Option<Vec<AuditEntry>>,
    pub comments: Vec<CommentView>,
    pub runs: Vec<MacroRunView>,
    /// Macros offered on the user page: (id, name, asks for confirmation).
    pub macros: Vec<(i32, String, bool)>,
    /// External data stored against the user, favourites first.
    pub external_data: Vec<DataValueView>,
    /// Projects a comment can belong to: (id, name).
    pub projects: Vec<(i32, String)>,
    /// The user's admin sessions, for community managers and on one's own page.
    pub sessions: Option<Vec<SessionView>>,
}

/// One admin session that is still valid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionView {
    pub created_at: String,
    pub last_seen_at: String,
    pub ip: String,
    pub user_agent: String,
    /// The session of whoever is looking.
    pub current: bool,
}

/// Create or edit a user. `id` is empty when creating.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserForm {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub score: String,
    #[serde(default)]
    pub team_ids: Vec<String>,
    /// Only for managers; empty keeps the current password.
    #[serde(default)]
    pub password: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    pub id: String,
    /// The confirmation checkbox: present ("on") when ticked.
    #[serde(default)]
    pub confirm: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamView {
    pub id: i32,
    pub name: String,
    pub description: String,
    pub member_count: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TeamForm {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportRowError {
    /// 1-based line number in the file, the header being line 1.
    pub line: u64,
    pub email: String,
    pub messages: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportReport {
    pub id: i32,
    pub file_name: String,
    pub created_at: String,
    pub total_rows: u64,
    pub imported: u64,
    pub failed: u64,
    pub errors: Vec<ImportRowError>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DashboardStats {
    pub community_name: String,
    pub users: u64,
    pub managers: u64,
    pub teams: u64,
    pub projects: u64,
    /// The newest audit entries; None for viewers who may not read the audit log.
    pub recent: Option<Vec<AuditEntry>>,
}

/// The teams and roles a user form offers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserFormOptions {
    pub teams: Vec<TeamRef>,
    pub user: Option<UserRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyView {
    pub id: i32,
    pub name: String,
    pub description: String,
    pub prefix: String,
    /// The first characters of the key followed by an ellipsis.
    pub hint: String,
    pub allowed_ips: String,
    pub enabled: bool,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub use_count: u64,
}

/// A key just created: the only moment its full value is known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatedKey {
    pub id: i32,
    pub name: String,
    pub key: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyList {
    pub keys: Vec<ApiKeyView>,
    pub just_created: Option<CreatedKey>,
}

/// Create (empty `id`) or edit an API key. The prefix is fixed once the key exists.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyForm {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub prefix: String,
    #[serde(default)]
    pub allowed_ips: String,
}

/// Enable or disable a key.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ToggleForm {
    #[serde(default)]
    pub id: String,
    /// "true" to enable, anything else disables.
    #[serde(default)]
    pub enabled: String,
}

/// How the conditions of a group (or the groups of a filter) combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Match {
    All,
    Any,
}

/// One test on a user: field, operator, value (keys as in `filter_fields`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Condition {
    pub field: String,
    pub op: String,
    #[serde(default)]
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConditionGroup {
    #[serde(rename = "match")]
    pub match_: Match,
    pub conditions: Vec<Condition>,
}

/// A saved filter's rule: groups combined by `match_`, each group's conditions by its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilterDefinition {
    #[serde(rename = "match")]
    pub match_: Match,
    pub groups: Vec<ConditionGroup>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FilterView {
    pub id: i32,
    /// "user" or "feedback": what the filter selects.
    pub scope: String,
    pub name: String,
    pub description: String,
    pub definition: FilterDefinition,
    /// The rule in words, e.g. "team is Customers and score ≥ 10".
    pub summary: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FilterListItem {
    pub filter: FilterView,
    pub matching: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FilterPreview {
    pub filter: FilterView,
    pub matching: u64,
    /// The first matching users, in list order (user filters).
    pub sample: Vec<UserRow>,
    /// The first matching tickets, newest first (feedback filters).
    pub tickets: Vec<TicketRow>,
    /// The macros of the filter's scope, (id, name), for the bulk action: only for community
    /// managers (None for others). Loaded with the page, not by a resource of its own, so the
    /// page hydrates from one answer.
    pub macros: Option<Vec<(i32, String)>>,
}

/// One condition row of the filter form. `slot` is the row's position on the form (slots
/// `0..ROWS_PER_GROUP` are group 1, and so on): the form sends it, so grouping never depends
/// on how the browser or the decoder orders the rows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FilterRowForm {
    #[serde(default)]
    pub slot: String,
    #[serde(default)]
    pub field: String,
    #[serde(default)]
    pub op: String,
    #[serde(default)]
    pub value: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FilterForm {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// "user" (default) or "feedback"; fixed once the filter exists.
    #[serde(default)]
    pub scope: String,
    /// "all" or "any": how the groups combine.
    #[serde(default)]
    pub combine: String,
    /// "all" or "any" per group.
    #[serde(default)]
    pub group_match: Vec<String>,
    #[serde(default)]
    pub rows: Vec<FilterRowForm>,
}

pub const FILTER_GROUPS: usize = 3;
pub const ROWS_PER_GROUP: usize = 4;

/// A field a filter can test. `kind` decides the operators (`filter_ops`): text, choice,
/// number, date or yesno. Keys of custom form fields are `field:<kind>:<key>`, of external data
/// fields `data:<kind>:<id>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FilterField {
    pub key: String,
    pub label: String,
    pub kind: String,
    /// Values a choice field takes: (value as stored, label).
    pub choices: Vec<(String, String)>,
}

/// The operators of a kind of filter field.
pub fn filter_ops(kind: &str) -> &'static [&'static str] {
    match kind {
        "text" => &[
            "equals",
            "not_equals",
            "contains",
            "not_contains",
            "starts_with",
            "ends_with",
            "is_empty",
            "is_not_empty",
        ],
        "number" => &["eq", "ne", "gt", "gte", "lt", "lte"],
        "date" => &["before", "after", "within_days"],
        _ => &["is", "is_not"],
    }
}

/// What the filter editor offers for a scope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FilterCatalogue {
    pub scope: String,
    pub fields: Vec<FilterField>,
}

/// Words for an operator key.
pub fn op_label(op: &str) -> &'static str {
    match op {
        "equals" | "is" | "eq" => "is",
        "not_equals" | "is_not" | "ne" => "is not",
        "contains" => "contains",
        "not_contains" => "does not contain",
        "starts_with" => "starts with",
        "ends_with" => "ends with",
        "is_empty" => "is empty",
        "is_not_empty" => "is not empty",
        "gt" => ">",
        "gte" => "≥",
        "lt" => "<",
        "lte" => "≤",
        "before" => "before",
        "after" => "after",
        "within_days" => "within the last … days",
        _ => "?",
    }
}

/// One step of a user macro.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MacroAction {
    /// Erases the person everywhere (must be the last action).
    RemoveUser,
    AdjustScore {
        delta: i32,
    },
    AddToTeam {
        team_id: i32,
    },
    RemoveFromTeam {
        team_id: i32,
    },
    AddComment {
        text: String,
    },
    // Feedback macros: on one ticket.
    /// Moves the ticket to the status of this name in its type's workflow (skipped when the
    /// workflow has none).
    SetStatus {
        status: String,
    },
    /// Gives the ticket to this team (it must be one of its type's teams), or to none.
    SetTeam {
        team_id: Option<i32>,
    },
    AddTicketComment {
        text: String,
    },
    AdjustSubmitterScore {
        delta: i32,
    },
    /// "public" or "private".
    SetVisibility {
        visibility: String,
    },
}

/// The kinds of action a user macro offers, as (key, label).
pub const MACRO_ACTION_KINDS: [(&str, &str); 5] = [
    ("remove_user", "Remove user completely"),
    ("adjust_score", "Adjust score by"),
    ("add_to_team", "Add to team"),
    ("remove_from_team", "Remove from team"),
    ("add_comment", "Add user comment"),
];

/// The kinds of action a feedback macro offers, as (key, label).
pub const FEEDBACK_ACTION_KINDS: [(&str, &str); 5] = [
    ("set_status", "Set status to"),
    ("set_team", "Set team to"),
    ("add_ticket_comment", "Add comment"),
    ("adjust_submitter_score", "Adjust submitter score by"),
    ("set_visibility", "Set visibility to"),
];

/// How often a scheduled macro runs, as (key, label).
pub const SCHEDULE_FREQUENCIES: [(&str, &str); 5] = [
    ("once", "Once"),
    ("hourly", "Every hour"),
    ("daily", "Every day"),
    ("weekly", "Every week"),
    ("monthly", "Every month"),
];

/// A macro's schedule: it runs on the users or tickets of a filter at these times.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleView {
    pub frequency: String,
    pub filter: Option<(i32, String)>,
    /// "YYYY-MM-DD HH:MM UTC".
    pub starts_at: String,
    pub ends_at: Option<String>,
    /// The same as a datetime-local input's value ("YYYY-MM-DDTHH:MM"; "" when none).
    pub starts_input: String,
    pub ends_input: String,
    pub enabled: bool,
    pub next_run: Option<String>,
    pub last_run: Option<String>,
}

/// When a feedback macro runs by itself: on submitted and/or modified tickets that pass the
/// filter (every ticket without one).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AutomationView {
    pub on_submit: bool,
    pub on_modify: bool,
    pub filter: Option<(i32, String)>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MacroOptions {
    pub include_on_dashboard: bool,
    pub show_in_user_actions: bool,
    pub run_once_per_user: bool,
    pub suppress_confirmation: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MacroView {
    pub id: i32,
    /// "user" or "feedback".
    pub scope: String,
    pub name: String,
    pub description: String,
    pub key: String,
    pub actions: Vec<MacroAction>,
    /// Each action in words, in order.
    pub steps: Vec<String>,
    pub options: MacroOptions,
    pub automation: AutomationView,
    pub schedule: Option<ScheduleView>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MacroActionForm {
    #[serde(default)]
    pub slot: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub value: String,
}

pub const MACRO_ACTION_ROWS: usize = 5;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MacroForm {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub actions: Vec<MacroActionForm>,
    #[serde(default)]
    pub include_on_dashboard: Option<String>,
    #[serde(default)]
    pub show_in_user_actions: Option<String>,
    #[serde(default)]
    pub run_once_per_user: Option<String>,
    #[serde(default)]
    pub suppress_confirmation: Option<String>,
    /// "user" (default) or "feedback"; fixed once the macro exists.
    #[serde(default)]
    pub scope: String,
    /// Feedback macros: run on submitted / modified tickets passing `automation_filter_id`.
    #[serde(default)]
    pub on_submit: Option<String>,
    #[serde(default)]
    pub on_modify: Option<String>,
    #[serde(default)]
    pub automation_filter_id: String,
    /// Empty: no schedule; otherwise a key of `SCHEDULE_FREQUENCIES`.
    #[serde(default)]
    pub schedule_frequency: String,
    #[serde(default)]
    pub schedule_filter_id: String,
    /// "YYYY-MM-DDTHH:MM" (a datetime-local input), UTC.
    #[serde(default)]
    pub schedule_starts_at: String,
    #[serde(default)]
    pub schedule_ends_at: String,
    #[serde(default)]
    pub schedule_enabled: Option<String>,
}

/// What the macro editor offers for a scope: teams, and the scope's filters (automation and
/// schedules).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MacroFormOptions {
    pub scope: String,
    pub teams: Vec<TeamRef>,
    pub filters: Vec<(i32, String)>,
    /// The dynamic tags comments may hold: (tag, what it stands for).
    pub tags: Vec<(String, String)>,
}

/// Run a feedback macro on one ticket from the ticket page.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunTicketMacroForm {
    #[serde(default)]
    pub macro_id: String,
    #[serde(default)]
    pub ticket_id: String,
    #[serde(default)]
    pub confirm: Option<String>,
}

/// Run a macro on one user from the user page.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunMacroForm {
    #[serde(default)]
    pub macro_id: String,
    #[serde(default)]
    pub user_id: String,
    #[serde(default)]
    pub confirm: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MacroRunView {
    pub id: i64,
    pub macro_name: String,
    pub trigger: String,
    pub status: String,
    pub outcome: String,
    pub created_at: String,
}

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
    pub enabled: bool,
    /// The URL third parties call (public base URL + path).
    pub endpoint: String,
}

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
    /// External Data: the group whose parameters the body carries.
    #[serde(default)]
    pub data_group_id: String,
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
}

/// What listeners act on: key and label.
pub const LISTENER_SCOPES: [(&str, &str); 2] = [("user", "Users"), ("feedback", "Feedback")];

/// The path of the listeners of `scope` and `kind` (user listeners for any other scope).
pub fn listener_path(scope: &str, kind: ListenerKind) -> &'static str {
    kind.path(Scope::parse(scope).unwrap_or(Scope::User))
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
    pub listener: Option<ListenerView>,
    /// Feedback scope: the external-data fields a ticket can be found by, (id, "Group · Label").
    pub find_fields: Vec<(i32, String)>,
    pub filters: Vec<(i32, String)>,
    pub macros: Vec<(i32, String)>,
    /// Data groups stored against the scope's subjects.
    pub data_groups: Vec<(i32, String)>,
    pub api_keys: Vec<(i32, String)>,
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

/// Removals on one day (UTC) of the opt-out dashboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptOutDay {
    /// `YYYY-MM-DD`.
    pub date: String,
    pub removals: u64,
}

/// Removals attributed to one listener or one macro.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptOutTotal {
    pub name: String,
    pub removals: u64,
}

/// A downstream notification a removal sent (a delivery of its run) and how it went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReceiptDelivery {
    pub delivery_id: i64,
    pub webhook: String,
    /// "http" or "email".
    pub kind: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    /// The person's identifier was cut out of it after it was sent or given up.
    pub erased: bool,
}

/// What one removal did, without saying who was removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReceiptView {
    pub id: i64,
    pub occurred_at: String,
    pub run_id: Option<i64>,
    pub macro_name: String,
    /// manual, listener, bulk, automation, schedule, or delete (a plain "Delete user").
    pub trigger: String,
    pub listener_name: Option<String>,
    /// The manager, listener or API key that asked.
    pub actor: String,
    /// The label that stands for the removed person in every log.
    pub subject: String,
    /// Rows removed or scrubbed, per kind.
    pub counts: Vec<(String, u64)>,
    pub downstream: Vec<ReceiptDelivery>,
}

/// The opt-out dashboard for the last `days` days (today included).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptOutDashboard {
    pub days: u32,
    /// One entry per day, oldest first, days without removals included.
    pub per_day: Vec<OptOutDay>,
    /// Most removals first; removals no listener asked for count as "(manual run)".
    pub by_listener: Vec<OptOutTotal>,
    pub by_macro: Vec<OptOutTotal>,
    pub total: u64,
    /// The latest removals' receipts, newest first (whatever their macro's dashboard option).
    pub receipts: Vec<ReceiptView>,
}

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

// ---- Projects and feedback -------------------------------------------------------------

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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedbackFieldView {
    pub id: i32,
    pub label: String,
    pub key: String,
    pub kind: String,
    pub required: bool,
    pub choices: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusRef {
    pub id: i32,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedbackTypeView {
    pub id: i32,
    pub project_id: i32,
    pub project_name: String,
    pub name: String,
    pub fields: Vec<FeedbackFieldView>,
    /// The workflow, in order; new tickets start in the first status unless told otherwise.
    pub statuses: Vec<StatusRef>,
    pub teams: Vec<TeamRef>,
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
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketListPage {
    pub project: ProjectSummary,
    pub types: Vec<FeedbackTypeView>,
    pub rows: Vec<TicketRow>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
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
    pub feedback_type: FeedbackTypeView,
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

// ---- External data ---------------------------------------------------------------------

/// What a data group is stored against.
pub const DATA_SCOPES: [(&str, &str); 3] = [
    ("user", "Users"),
    ("feedback", "Feedback tickets"),
    ("project", "Projects"),
];

/// The types an external data field can have.
pub const DATA_KINDS: [(&str, &str); 4] = [
    ("boolean", "Boolean"),
    ("datetime", "Date and time"),
    ("integer", "Integer"),
    ("string", "String"),
];

/// Blank rows of the field editor below the existing fields.
pub const NEW_DATA_FIELD_ROWS: usize = 3;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataFieldView {
    pub id: i32,
    pub label: String,
    pub parameter: String,
    pub kind: String,
    pub favorite: bool,
    /// How many users, tickets or projects hold a value of it.
    pub value_count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataGroupView {
    pub id: i32,
    pub scope: String,
    pub name: String,
    pub fields: Vec<DataFieldView>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NewDataGroupForm {
    #[serde(default)]
    pub scope: String,
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DataFieldForm {
    #[serde(default)]
    pub slot: String,
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub parameter: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub favorite: Option<String>,
}

/// The data group editor: its name and fields (rows without a label are left out).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DataGroupForm {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub fields: Vec<DataFieldForm>,
}

/// One stored value, as the user summary and the ticket page show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataValueView {
    pub group: String,
    pub label: String,
    pub value: String,
    pub favorite: bool,
    pub updated_at: String,
}

// ---- External sources ------------------------------------------------------------------

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
}

/// What the source editor needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExternalSourceEditor {
    pub source: Option<ExternalSourceView>,
    pub project: ProjectSummary,
    pub types: Vec<FeedbackTypeView>,
    pub api_keys: Vec<(i32, String)>,
}

// ---- Outgoing webhooks and emails -------------------------------------------------------

/// The methods a webhook may use.
pub const WEBHOOK_METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// Ready-made webhooks the editor can start from, as (key, label).
pub const WEBHOOK_PRESETS: [(&str, &str); 3] = [
    ("slack", "Slack incoming webhook"),
    ("jira", "Jira issue update"),
    ("json", "Generic JSON POST"),
];

/// What a masked header value shows in place of the secret (sending it back keeps the
/// stored value).
pub const MASK: &str = "••••••";

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
    /// Capture return values into this external data group ("" for none).
    #[serde(default)]
    pub capture_group_id: String,
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
    pub enabled: bool,
    pub disabled_reason: String,
    pub counts: DeliveryCounts,
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
}

impl WebhookLogView {
    pub fn page_count(&self) -> u32 {
        (self.total.div_ceil(self.per_page.max(1) as u64)).max(1) as u32
    }
}
