//! Members, teams, sign-in, the audit log, imports, API keys and the dashboard.

#[allow(unused_imports)]
use super::*;
use serde::{Deserialize, Serialize};

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
pub struct UserRow {
    pub id: i32,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub role: Role,
    pub score: i32,
    pub teams: Vec<TeamRef>,
    pub created_at: String,
    /// The values of the list's external-data columns, in their order ("" where none).
    #[serde(default)]
    pub extra: Vec<String>,
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
    /// The external-data columns chosen (field ids, comma-separated); None: the favourites.
    #[serde(default)]
    pub cols: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserListPage {
    pub rows: Vec<UserRow>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
    pub teams: Vec<TeamRef>,
    #[serde(default)]
    pub columns: ListColumns,
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
    pub get_started: GetStarted,
    /// What needs looking at (a webhook failing or paused, a listener refusing its calls),
    /// newest first.
    #[serde(default)]
    pub alerts: Vec<AlertView>,
}

/// An open alert on the dashboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertView {
    pub id: i32,
    pub kind: String,
    pub message: String,
    pub created_at: String,
    /// Where to look: the webhook's or the listener's page.
    pub href: String,
}

/// A step of setting up a removal that another system asks for, in the order they are taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SetupStep {
    /// An enabled API key exists.
    ApiKey,
    /// A user macro removes users.
    RemovalMacro,
    /// A user filter exists.
    Filter,
    /// A user listener runs a macro.
    Listener,
    /// One of those listeners was called.
    TryListener,
}

impl SetupStep {
    pub const ALL: [SetupStep; 5] = [
        SetupStep::ApiKey,
        SetupStep::RemovalMacro,
        SetupStep::Filter,
        SetupStep::Listener,
        SetupStep::TryListener,
    ];
}

/// A step and where it stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepState {
    pub step: SetupStep,
    pub done: bool,
    /// (id, name) of what the step made; for a listener not tried yet, the listener to try.
    pub item: Option<(i32, String)>,
}

/// The dashboard's "Get started" checklist: the steps the viewer may take, in order; none when
/// they hid it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetStarted {
    pub hidden: bool,
    pub steps: Vec<StepState>,
}

impl GetStarted {
    pub fn all_done(&self) -> bool {
        self.steps.iter().all(|s| s.done)
    }
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
