//! What is stored as a definition and edited on a screen: a macro's actions and options (the
//! `macros.actions` JSON and its option columns), a filter's rule (`filters.definition`), a
//! feedback type's form and workflow, the references by id and name that both name teams and
//! statuses with, a member's role, and what a masked secret shows.
//! The engine runs and compiles these; the screens' views (`views`) carry them, and
//! re-export them under their old paths.

use serde::{Deserialize, Serialize};

use crate::shared::vocab::ActionKind;

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

impl MacroAction {
    /// Its kind (the `type` it is stored under).
    pub fn kind(&self) -> ActionKind {
        match self {
            MacroAction::RemoveUser => ActionKind::RemoveUser,
            MacroAction::AdjustScore { .. } => ActionKind::AdjustScore,
            MacroAction::AddToTeam { .. } => ActionKind::AddToTeam,
            MacroAction::RemoveFromTeam { .. } => ActionKind::RemoveFromTeam,
            MacroAction::AddComment { .. } => ActionKind::AddComment,
            MacroAction::SetStatus { .. } => ActionKind::SetStatus,
            MacroAction::SetTeam { .. } => ActionKind::SetTeam,
            MacroAction::AddTicketComment { .. } => ActionKind::AddTicketComment,
            MacroAction::AdjustSubmitterScore { .. } => ActionKind::AdjustSubmitterScore,
            MacroAction::SetVisibility { .. } => ActionKind::SetVisibility,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MacroOptions {
    pub include_on_dashboard: bool,
    pub show_in_user_actions: bool,
    pub run_once_per_user: bool,
    pub suppress_confirmation: bool,
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

/// One custom field of a feedback type's form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedbackField {
    pub id: i32,
    pub label: String,
    pub key: String,
    pub kind: String,
    pub required: bool,
    pub choices: Vec<String>,
}

/// A feedback type as tickets are written against it: its project, form, workflow and teams.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedbackTypeDefinition {
    pub id: i32,
    pub project_id: i32,
    pub project_name: String,
    pub name: String,
    pub fields: Vec<FeedbackField>,
    /// The workflow, in order; new tickets start in the first status unless told otherwise.
    pub statuses: Vec<StatusRef>,
    pub teams: Vec<TeamRef>,
}

/// A team by id and name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamRef {
    pub id: i32,
    pub name: String,
}

/// A workflow status by id and name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusRef {
    pub id: i32,
    pub name: String,
}

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

/// What a masked header value shows in place of the secret (sending it back keeps the
/// stored value).
pub const MASK: &str = "••••••";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_action_is_stored_under_its_kind() {
        let actions = [
            MacroAction::RemoveUser,
            MacroAction::AdjustScore { delta: 1 },
            MacroAction::AddToTeam { team_id: 1 },
            MacroAction::RemoveFromTeam { team_id: 1 },
            MacroAction::AddComment { text: "a".into() },
            MacroAction::SetStatus {
                status: "Closed".into(),
            },
            MacroAction::SetTeam { team_id: None },
            MacroAction::AddTicketComment { text: "a".into() },
            MacroAction::AdjustSubmitterScore { delta: 1 },
            MacroAction::SetVisibility {
                visibility: "public".into(),
            },
        ];
        assert_eq!(actions.len(), ActionKind::ALL.len());
        for a in actions {
            assert_eq!(serde_json::to_value(&a).unwrap()["type"], a.kind().as_str());
        }
    }
}
