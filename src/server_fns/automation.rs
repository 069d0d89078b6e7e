//! The automation of a place: a project's or feedback type's *Feedback automation* and the
//! *User automation* page.

use leptos::prelude::*;

use crate::errors::AppError;
use crate::types::{FeedbackAutomationView, UserAutomationView};

/// What runs on the tickets of project `project_id`, or of its feedback type `type_id`.
#[server(endpoint = "load_feedback_automation")]
pub async fn load_feedback_automation(
    project_id: i32,
    type_id: Option<i32>,
) -> Result<FeedbackAutomationView, AppError> {
    use super::ctx;
    use crate::server::admin::places;
    ctx::run(ctx::MANAGERS, |c| async move {
        places::feedback_automation(&c.state.db, &c.state.settings, project_id, type_id).await
    })
    .await
}

/// User listeners and user macros.
#[server(endpoint = "load_user_automation")]
pub async fn load_user_automation() -> Result<UserAutomationView, AppError> {
    use super::ctx;
    use crate::server::admin::places;
    ctx::run(ctx::MANAGERS, |c| async move {
        places::user_automation(&c.state.db, &c.state.settings).await
    })
    .await
}
