use leptos::prelude::*;

use crate::errors::AppError;
use crate::types::{DeleteForm, MacroForm, MacroView, RunMacroForm, TeamRef};

#[server(endpoint = "load_macros")]
pub async fn load_macros() -> Result<Vec<MacroView>, AppError> {
    use super::ctx;
    use crate::server::services::macros;
    ctx::run(ctx::COMMUNITY_MANAGERS, |c| async move {
        macros::list(&c.state.db).await
    })
    .await
}

/// What the macro editor needs: the macro when editing, and the team names.
#[server(endpoint = "load_macro_form")]
pub async fn load_macro_form(
    id: Option<i32>,
) -> Result<(Option<MacroView>, Vec<TeamRef>), AppError> {
    use super::ctx;
    use crate::server::services::{macros, teams};
    ctx::run(ctx::COMMUNITY_MANAGERS, |c| async move {
        let m = match id {
            Some(id) => Some(macros::get(&c.state.db, id).await?),
            None => None,
        };
        Ok((m, teams::refs(&c.state.db).await?))
    })
    .await
}

#[server(endpoint = "save_macro")]
pub async fn save_macro(form: MacroForm) -> Result<(), AppError> {
    use super::ctx;
    use crate::server::services::macros;
    ctx::run(ctx::COMMUNITY_MANAGERS, |c| async move {
        macros::save(&c.state.db, &c.actor, &form).await?;
        leptos_axum::redirect("/macros?notice=macro_saved");
        Ok(())
    })
    .await
}

#[server(endpoint = "delete_macro")]
pub async fn delete_macro(form: DeleteForm) -> Result<(), AppError> {
    use super::ctx;
    use crate::server::services::macros;
    ctx::run(ctx::COMMUNITY_MANAGERS, |c| async move {
        macros::delete(&c.state.db, &c.actor, &form.id, form.confirm.is_some()).await?;
        leptos_axum::redirect("/macros?notice=macro_deleted");
        Ok(())
    })
    .await
}

/// Runs a macro on one user from the user page.
#[server(endpoint = "run_macro")]
pub async fn run_macro(form: RunMacroForm) -> Result<(), AppError> {
    use super::ctx;
    use crate::server::services::macros;
    ctx::run(ctx::COMMUNITY_MANAGERS, |c| async move {
        let outcome = macros::run_manually(
            &c.state.db,
            &c.actor,
            &form.macro_id,
            &form.user_id,
            form.confirm.is_some(),
        )
        .await?;
        let target = if outcome.removed_as.is_some() {
            "/users?notice=user_removed".to_string()
        } else {
            format!(
                "/users/{}?notice=macro_{}",
                form.user_id.trim(),
                outcome.status
            )
        };
        leptos_axum::redirect(&target);
        Ok(())
    })
    .await
}
