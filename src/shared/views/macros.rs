//! Macros: actions, options, schedules, forms and runs.

#[allow(unused_imports)]
use super::*;
use serde::{Deserialize, Serialize};

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

/// When a macro runs by itself: a feedback macro on submitted and/or modified tickets, a user
/// macro when a user is created, joins or leaves a team (`team`: only that team; none: any),
/// in both cases on those that pass the filter (everyone without one).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AutomationView {
    pub on_submit: bool,
    pub on_modify: bool,
    pub filter: Option<(i32, String)>,
    pub on_user_created: bool,
    pub on_team_join: bool,
    pub on_team_leave: bool,
    pub team: Option<(i32, String)>,
}

impl AutomationView {
    /// The user events a user macro runs on, in words ("a user is created", "joins Testers"
    /// …), or empty.
    pub fn user_events(&self) -> Vec<String> {
        let team = self
            .team
            .as_ref()
            .map(|(_, n)| n.clone())
            .unwrap_or_else(|| "a team".into());
        let mut events = Vec::new();
        if self.on_user_created {
            events.push("a user is created".to_string());
        }
        if self.on_team_join {
            events.push(format!("a user joins {team}"));
        }
        if self.on_team_leave {
            events.push(format!("a user leaves {team}"));
        }
        events
    }
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
    /// Runs send the macro's webhooks (the *Trigger webhooks* box).
    pub trigger_webhooks: bool,
    /// How many webhooks (and emails) the macro has.
    pub webhook_count: usize,
    /// Feedback macros: the tickets it runs on (every project, a project or a feedback type).
    pub place: PlaceView,
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
    /// User macros: "Remove user completely", run after the actions above (the last action).
    #[serde(default)]
    pub remove_user: Option<String>,
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
    /// User macros: run when a user is created, joins a team, leaves a team (passing
    /// `automation_filter_id`); `event_team_id` (empty: any team) narrows joining and leaving.
    #[serde(default)]
    pub on_user_created: Option<String>,
    #[serde(default)]
    pub on_team_join: Option<String>,
    #[serde(default)]
    pub on_team_leave: Option<String>,
    #[serde(default)]
    pub event_team_id: String,
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
    /// *Trigger webhooks*: runs send the macro's webhooks; unticked, they are kept and not sent.
    #[serde(default)]
    pub trigger_webhooks: Option<String>,
    /// A webhook saved with the macro while *Trigger webhooks* is ticked. On a macro that
    /// already has webhooks it may be left empty (no name, URL or body): nothing is added.
    #[serde(default)]
    pub webhook: WebhookForm,
    /// Feedback macros: where it runs ("Where": `place_value`; empty: every project).
    #[serde(default)]
    pub place: String,
}

/// What the macro editor offers for a scope: teams, and the scope's filters (automation and
/// schedules).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MacroFormOptions {
    pub scope: String,
    pub teams: Vec<TeamRef>,
    pub filters: Vec<(i32, String)>,
    /// The dynamic tags comments and webhooks may hold: (tag, what it stands for).
    pub tags: Vec<(String, String)>,
    /// The external data groups a webhook's answer can be captured into: (id, name).
    pub groups: Vec<(i32, String)>,
    /// (id, name) of the projects a user macro's webhook can capture into (project groups).
    pub projects: Vec<(i32, String)>,
    /// The webhook fields' starting values: a preset's (`?preset=`), or empty.
    pub webhook_draft: WebhookForm,
    /// Feedback scope: the places the "Where" select offers.
    pub places: Vec<PlaceChoice>,
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

/// An action as the macro form writes it: its kind, and its value as typed (a team by name).
pub fn action_row(action: &MacroAction, teams: &[TeamRef]) -> (&'static str, String) {
    let team = |id: &i32| {
        teams
            .iter()
            .find(|t| t.id == *id)
            .map(|t| t.name.clone())
            .unwrap_or_default()
    };
    let value = match action {
        MacroAction::RemoveUser => String::new(),
        MacroAction::AdjustScore { delta } | MacroAction::AdjustSubmitterScore { delta } => {
            delta.to_string()
        }
        MacroAction::AddToTeam { team_id } | MacroAction::RemoveFromTeam { team_id } => {
            team(team_id)
        }
        MacroAction::AddComment { text } | MacroAction::AddTicketComment { text } => text.clone(),
        MacroAction::SetStatus { status } => status.clone(),
        MacroAction::SetTeam { team_id } => team_id
            .as_ref()
            .map(team)
            .unwrap_or_else(|| "no team".into()),
        MacroAction::SetVisibility { visibility } => visibility.clone(),
    };
    (action.kind().as_str(), value)
}
