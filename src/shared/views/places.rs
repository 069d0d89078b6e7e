//! Where feedback macros and feedback listeners belong (every project, a project, or one of
//! its feedback types), and the automation of a place as the project, feedback-type and user
//! automation pages show it.

#[allow(unused_imports)]
use super::*;
use serde::{Deserialize, Serialize};

/// A feedback macro's or listener's place. User macros and listeners have none (the default,
/// "Every project", is not shown for them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlaceView {
    pub project: Option<(i32, String)>,
    pub feedback_type: Option<(i32, String)>,
    /// "Every project", "Beta App" or "Beta App › Bug Report".
    pub label: String,
    /// The value of the editor's "Where" select (`place_value`).
    pub value: String,
}

impl Default for PlaceView {
    fn default() -> Self {
        PlaceView {
            project: None,
            feedback_type: None,
            label: "Every project".into(),
            value: String::new(),
        }
    }
}

/// The "Where" select's value for a place: "" (every project), "3" (project 3) or "3/7"
/// (feedback type 7 of project 3).
pub fn place_value(project: Option<i32>, feedback_type: Option<i32>) -> String {
    match (project, feedback_type) {
        (Some(p), Some(t)) => format!("{p}/{t}"),
        (Some(p), None) => p.to_string(),
        _ => String::new(),
    }
}

/// One choice of the "Where" select.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlaceChoice {
    pub value: String,
    pub label: String,
    pub project_id: Option<i32>,
    pub type_id: Option<i32>,
}

/// What runs on the tickets of a project, or of one of its feedback types: the feedback
/// listeners, feedback macros and external sources placed there (for a type, also those of
/// the whole project).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedbackAutomationView {
    pub project: (i32, String),
    pub feedback_type: Option<(i32, String)>,
    pub listeners: Vec<ListenerView>,
    pub macros: Vec<MacroView>,
    pub sources: Vec<ExternalSourceView>,
    /// Listeners and macros of every project, which run here too.
    pub everywhere: usize,
}

/// User automation: user listeners and user macros (those on a schedule among them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserAutomationView {
    pub listeners: Vec<ListenerView>,
    pub macros: Vec<MacroView>,
}
