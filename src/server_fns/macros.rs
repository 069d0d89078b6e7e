use leptos::prelude::*;

use crate::errors::AppError;
use crate::types::{
    DeleteForm, MacroForm, MacroFormOptions, MacroView, RunMacroForm, RunTicketMacroForm,
    ToggleForm,
};

/// The macros of `scope` ("user" or "feedback"; empty: all, user macros first).
#[server(endpoint = "load_macros")]
pub async fn load_macros(scope: String) -> Result<Vec<MacroView>, AppError> {
    use super::ctx;
    use crate::server::admin::macros;
    use crate::server::engine::matching::{SCOPE_FEEDBACK, SCOPE_USER};
    ctx::run(ctx::MANAGERS, |c| async move {
        let mut all = Vec::new();
        for s in [SCOPE_USER, SCOPE_FEEDBACK] {
            if scope.is_empty() || scope == s {
                all.extend(macros::list(&c.state.db, s).await?);
            }
        }
        Ok(all)
    })
    .await
}

/// What the macro editor needs: the macro when editing, and what its scope offers.
#[server(endpoint = "load_macro_form")]
pub async fn load_macro_form(
    id: Option<i32>,
    scope: String,
    preset: String,
) -> Result<(Option<MacroView>, MacroFormOptions), AppError> {
    use super::ctx;
    use crate::server::admin::macros;
    use crate::server::engine::matching;
    ctx::run(ctx::MANAGERS, |c| async move {
        let m = match id {
            Some(id) => Some(macros::get(&c.state.db, id).await?),
            None => None,
        };
        let scope = matching::parse_scope(m.as_ref().map(|m| m.scope.as_str()).unwrap_or(&scope));
        let options = macros::form_options(&c.state.db, scope, &preset).await?;
        Ok((m, options))
    })
    .await
}

/// Switches a macro's schedule on or off (from the macro list).
#[server(endpoint = "toggle_schedule")]
pub async fn toggle_schedule(form: ToggleForm) -> Result<(), AppError> {
    use super::ctx;
    use crate::server::admin::macros;
    use crate::server::domain::parse_id;
    ctx::run(ctx::MANAGERS, |c| async move {
        let id = parse_id(&form.id).map_err(|m| AppError::field("id", m))?;
        let on = form.enabled == "true";
        macros::set_schedule_enabled(&c.state.db, &c.actor, id, on).await?;
        c.state.signals.work_arrived();
        leptos_axum::redirect(&format!(
            "/macros?notice={}",
            if on { "schedule_on" } else { "schedule_off" }
        ));
        Ok(())
    })
    .await
}

/// Runs a feedback macro on one ticket from the ticket page.
#[server(endpoint = "run_ticket_macro")]
pub async fn run_ticket_macro(form: RunTicketMacroForm) -> Result<(), AppError> {
    use super::ctx;
    use crate::server::admin::macros;
    ctx::run(ctx::MANAGERS, |c| async move {
        let outcome = macros::run_on_ticket_manually(
            &c.state.db,
            &c.actor,
            &form.macro_id,
            &form.ticket_id,
            form.confirm.is_some(),
        )
        .await?;
        c.state.signals.deliveries.notify_one();
        leptos_axum::redirect(&format!(
            "/feedback/{}?notice=macro_{}",
            form.ticket_id.trim(),
            outcome.status
        ));
        Ok(())
    })
    .await
}

#[server(endpoint = "save_macro")]
pub async fn save_macro(form: MacroForm) -> Result<(), AppError> {
    use super::ctx;
    use crate::server::admin::macros;
    ctx::run(ctx::MANAGERS, |c| async move {
        macros::save(&c.state.db, &c.state.sealer, &c.actor, &form).await?;
        leptos_axum::redirect("/macros?notice=macro_saved");
        Ok(())
    })
    .await
}

#[server(endpoint = "delete_macro")]
pub async fn delete_macro(form: DeleteForm) -> Result<(), AppError> {
    use super::ctx;
    use crate::server::admin::macros;
    ctx::run(ctx::MANAGERS, |c| async move {
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
    use crate::server::admin::macros;
    ctx::run(ctx::MANAGERS, |c| async move {
        let outcome = macros::run_manually(
            &c.state.db,
            &c.state.sealer,
            &c.actor,
            &form.macro_id,
            &form.user_id,
            form.confirm.is_some(),
        )
        .await?;
        c.state.signals.deliveries.notify_one();
        let target = if outcome.erased.is_some() {
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
