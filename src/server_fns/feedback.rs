//! Projects, feedback types, tickets and notifications.

use leptos::prelude::*;

use crate::errors::AppError;
use crate::types::{
    FeedbackTypeDefinition, FeedbackTypeForm, NewFeedbackTypeForm, NotificationView, ProjectForm,
    ProjectSummary, ProjectView, TeamRef, TicketChangeForm, TicketCommentForm, TicketForm,
    TicketListPage, TicketQuery, TicketView,
};

#[server(endpoint = "list_projects")]
pub async fn list_projects() -> Result<Vec<ProjectSummary>, AppError> {
    use super::ctx;
    use crate::server::admin::projects;
    ctx::run(ctx::MANAGERS, |c| async move {
        projects::list(&c.state.db).await
    })
    .await
}

/// Creates the project when `form.id` is empty, saves it otherwise.
#[server(endpoint = "save_project")]
pub async fn save_project(form: ProjectForm) -> Result<(), AppError> {
    use super::ctx;
    use crate::server::admin::projects;
    ctx::run(ctx::COMMUNITY_MANAGERS, |c| async move {
        let id = projects::save(&c.state.db, &c.actor, &form).await?;
        leptos_axum::redirect(&format!("/projects/{id}?notice=project_saved"));
        Ok(())
    })
    .await
}

#[server(endpoint = "get_project")]
pub async fn get_project(id: i32) -> Result<ProjectView, AppError> {
    use super::ctx;
    use crate::server::admin::projects;
    ctx::run(ctx::MANAGERS, |c| async move {
        projects::view(&c.state.db, &c.state.settings, id).await
    })
    .await
}

#[server(endpoint = "create_feedback_type")]
pub async fn create_feedback_type(form: NewFeedbackTypeForm) -> Result<(), AppError> {
    use super::ctx;
    use crate::server::admin::projects;
    ctx::run(ctx::COMMUNITY_MANAGERS, |c| async move {
        let id = projects::create_type(&c.state.db, &c.actor, &form).await?;
        leptos_axum::redirect(&format!(
            "/feedback-types/{id}?notice=feedback_type_created"
        ));
        Ok(())
    })
    .await
}

/// A feedback type with every team of the community (the editor's choices).
#[server(endpoint = "get_feedback_type")]
pub async fn get_feedback_type(
    id: i32,
) -> Result<(FeedbackTypeDefinition, Vec<TeamRef>), AppError> {
    use super::ctx;
    ctx::run(ctx::MANAGERS, |c| async move {
        Ok((
            crate::server::store::lookups::type_definition(&c.state.db, id).await?,
            crate::server::store::lookups::team_refs(&c.state.db).await?,
        ))
    })
    .await
}

#[server(endpoint = "save_feedback_type")]
pub async fn save_feedback_type(form: FeedbackTypeForm) -> Result<(), AppError> {
    use super::ctx;
    use crate::server::admin::projects;
    ctx::run(ctx::COMMUNITY_MANAGERS, |c| async move {
        projects::save_type(&c.state.db, &c.actor, &form).await?;
        leptos_axum::redirect(&format!(
            "/feedback-types/{}?notice=feedback_type_saved",
            form.id.trim()
        ));
        Ok(())
    })
    .await
}

#[server(endpoint = "list_tickets")]
pub async fn list_tickets(query: TicketQuery) -> Result<TicketListPage, AppError> {
    use super::ctx;
    use crate::server::admin::feedback;
    ctx::run(ctx::MANAGERS, |c| async move {
        feedback::list(&c.state.db, &query).await
    })
    .await
}

#[server(endpoint = "create_ticket")]
pub async fn create_ticket(form: TicketForm) -> Result<(), AppError> {
    use super::ctx;
    use crate::server::admin::feedback;
    ctx::run(ctx::MANAGERS, |c| async move {
        let id = feedback::create(&c.state.db, &c.actor, &form).await?;
        leptos_axum::redirect(&format!("/feedback/{id}?notice=ticket_created"));
        Ok(())
    })
    .await
}

#[server(endpoint = "get_ticket")]
pub async fn get_ticket(id: i32) -> Result<TicketView, AppError> {
    use super::ctx;
    use crate::server::admin::feedback;
    ctx::run(ctx::MANAGERS, |c| async move {
        feedback::get(&c.state.db, id, c.actor.user_id).await
    })
    .await
}

#[server(endpoint = "change_ticket")]
pub async fn change_ticket(form: TicketChangeForm) -> Result<(), AppError> {
    use super::ctx;
    use crate::server::admin::feedback;
    ctx::run(ctx::MANAGERS, |c| async move {
        feedback::change(&c.state.db, &c.actor, &form).await?;
        leptos_axum::redirect(&format!(
            "/feedback/{}?notice=ticket_updated",
            form.ticket_id.trim()
        ));
        Ok(())
    })
    .await
}

#[server(endpoint = "comment_on_ticket")]
pub async fn comment_on_ticket(form: TicketCommentForm) -> Result<(), AppError> {
    use super::ctx;
    use crate::server::admin::feedback;
    ctx::run(ctx::MANAGERS, |c| async move {
        feedback::add_comment(&c.state.db, &c.actor, &form).await?;
        leptos_axum::redirect(&format!(
            "/feedback/{}?notice=comment_added",
            form.ticket_id.trim()
        ));
        Ok(())
    })
    .await
}

/// `follow` is "1" to follow the ticket, anything else to stop.
#[server(endpoint = "follow_ticket")]
pub async fn follow_ticket(ticket_id: String, follow: String) -> Result<(), AppError> {
    use super::ctx;
    use crate::server::admin::feedback;
    ctx::run(ctx::MANAGERS, |c| async move {
        feedback::set_following(&c.state.db, &c.actor, &ticket_id, follow == "1").await?;
        leptos_axum::redirect(&format!("/feedback/{}", ticket_id.trim()));
        Ok(())
    })
    .await
}

#[server(endpoint = "list_notifications")]
pub async fn list_notifications() -> Result<Vec<NotificationView>, AppError> {
    use super::ctx;
    use crate::server::admin::feedback;
    ctx::run(ctx::MANAGERS, |c| async move {
        let me = c.actor.user_id.ok_or(AppError::Unauthorized)?;
        feedback::notifications(&c.state.db, me).await
    })
    .await
}

#[server(endpoint = "mark_notifications_read")]
pub async fn mark_notifications_read() -> Result<(), AppError> {
    use super::ctx;
    use crate::server::admin::feedback;
    ctx::run(ctx::MANAGERS, |c| async move {
        let me = c.actor.user_id.ok_or(AppError::Unauthorized)?;
        feedback::mark_all_read(&c.state.db, me).await?;
        leptos_axum::redirect("/notifications");
        Ok(())
    })
    .await
}

/// The external source editor: the source when `id` is given, else a new one in `project_id`.
#[server(endpoint = "load_external_source")]
pub async fn load_external_source(
    project_id: Option<i32>,
    id: Option<i32>,
) -> Result<crate::types::ExternalSourceEditor, AppError> {
    use super::ctx;
    use crate::server::admin::external_sources;
    ctx::run(ctx::MANAGERS, |c| async move {
        external_sources::editor(&c.state.db, &c.state.settings, project_id, id).await
    })
    .await
}

/// The source page's *Signed calls*: the scheme and (to set or rotate it) the secret.
#[server(endpoint = "save_source_signing")]
pub async fn save_source_signing(form: crate::types::ListenerSigningForm) -> Result<(), AppError> {
    use super::ctx;
    use crate::server::admin::external_sources;
    ctx::run(ctx::MANAGERS, |c| async move {
        external_sources::save_signing(&c.state.db, &c.state.sealer, &c.actor, &form).await?;
        leptos_axum::redirect(&format!(
            "/external-sources/{}?notice=source_signing_saved#signed-calls",
            form.id.trim()
        ));
        Ok(())
    })
    .await
}

#[server(endpoint = "save_external_source")]
pub async fn save_external_source(form: crate::types::ExternalSourceForm) -> Result<(), AppError> {
    use super::ctx;
    use crate::server::admin::external_sources;
    ctx::run(ctx::MANAGERS, |c| async move {
        let id = external_sources::save(&c.state.db, &c.actor, &form).await?;
        leptos_axum::redirect(&format!(
            "/external-sources/{id}?notice=external_source_saved"
        ));
        Ok(())
    })
    .await
}
