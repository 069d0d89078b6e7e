use leptos::prelude::*;

use crate::errors::AppError;
use crate::types::{DeleteForm, TeamForm, TeamView};

#[server(endpoint = "list_teams")]
pub async fn list_teams() -> Result<Vec<TeamView>, AppError> {
    use super::ctx;
    use crate::server::admin::teams;
    ctx::run(
        ctx::MANAGERS,
        |c| async move { teams::list(&c.state.db).await },
    )
    .await
}

/// Creates the team when `form.id` is empty, renames it otherwise.
#[server(endpoint = "save_team")]
pub async fn save_team(form: TeamForm) -> Result<(), AppError> {
    use super::ctx;
    use crate::server::admin::teams;
    ctx::run(ctx::COMMUNITY_MANAGERS, |c| async move {
        let notice = if form.id.trim().is_empty() {
            teams::create(&c.state.db, &c.actor, &form).await?;
            "team_created"
        } else {
            teams::update(&c.state.db, &c.actor, &form).await?;
            "team_updated"
        };
        leptos_axum::redirect(&format!("/teams?notice={notice}"));
        Ok(())
    })
    .await
}

#[server(endpoint = "delete_team")]
pub async fn delete_team(form: DeleteForm) -> Result<(), AppError> {
    use super::ctx;
    use crate::server::admin::teams;
    ctx::run(ctx::COMMUNITY_MANAGERS, |c| async move {
        teams::delete(&c.state.db, &c.actor, &form.id, form.confirm.is_some()).await?;
        leptos_axum::redirect("/teams?notice=team_deleted");
        Ok(())
    })
    .await
}
