use leptos::prelude::*;

use crate::errors::AppError;
use crate::types::{DeleteForm, ListenerCallPage, ListenerForm, ListenerFormOptions, ListenerView};

/// The listeners and the newest calls (the whole log is `load_listener_log`).
#[server(endpoint = "load_listeners")]
pub async fn load_listeners() -> Result<(Vec<ListenerView>, ListenerCallPage), AppError> {
    use super::ctx;
    use crate::server::admin::{listener_log, listeners};
    use crate::types::CallQuery;
    ctx::run(ctx::MANAGERS, |c| async move {
        c.state.refusals.flush_for_reading(&c.state.db).await;
        Ok((
            listeners::list(&c.state.db, &c.state.settings).await?,
            listener_log::recent(&c.state.db, &CallQuery::default(), 10).await?,
        ))
    })
    .await
}

#[server(endpoint = "load_listener_form")]
pub async fn load_listener_form(
    id: Option<i32>,
    scope: String,
) -> Result<ListenerFormOptions, AppError> {
    use super::ctx;
    use crate::server::admin::listeners;
    ctx::run(ctx::MANAGERS, |c| async move {
        listeners::form_options(&c.state.db, &c.state.settings, &c.actor, id, &scope).await
    })
    .await
}

#[server(endpoint = "save_listener")]
pub async fn save_listener(form: ListenerForm) -> Result<(), AppError> {
    use super::ctx;
    use crate::server::admin::listeners;
    ctx::run(ctx::MANAGERS, |c| async move {
        let id = listeners::save(&c.state.db, &c.actor, &form).await?;
        leptos_axum::redirect(&format!("/listeners/{id}?notice=listener_saved"));
        Ok(())
    })
    .await
}

/// The listener page's *Signed calls*: the scheme and (to set or rotate it) the secret.
#[server(endpoint = "save_listener_signing")]
pub async fn save_listener_signing(
    form: crate::types::ListenerSigningForm,
) -> Result<(), AppError> {
    use super::ctx;
    use crate::server::admin::listeners;
    ctx::run(ctx::MANAGERS, |c| async move {
        listeners::save_signing(&c.state.db, &c.state.sealer, &c.actor, &form).await?;
        leptos_axum::redirect(&format!(
            "/listeners/{}?notice=listener_signing_saved#signed-calls",
            form.id.trim()
        ));
        Ok(())
    })
    .await
}

#[server(endpoint = "delete_listener")]
pub async fn delete_listener(form: DeleteForm) -> Result<(), AppError> {
    use super::ctx;
    use crate::server::admin::listeners;
    ctx::run(ctx::MANAGERS, |c| async move {
        listeners::delete(&c.state.db, &c.actor, &form.id, form.confirm.is_some()).await?;
        leptos_axum::redirect("/listeners?notice=listener_deleted");
        Ok(())
    })
    .await
}

/// The test-request panel: what a call with `find` would do, without doing it.
#[server(endpoint = "test_listener")]
pub async fn test_listener(
    id: i32,
    find: String,
) -> Result<crate::types::ListenerTestView, AppError> {
    use super::ctx;
    use crate::server::admin::listeners;
    ctx::run(ctx::MANAGERS, |c| async move {
        listeners::test_request(&c.state.db, &c.state.sealer, &c.actor, id, &find).await
    })
    .await
}
