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

/// *Listen for a test call* on a listener's (or, `target` "source", an external source's)
/// page: whether it listens, and the last test call.
#[server(endpoint = "load_test_call")]
pub async fn load_test_call(
    target: String,
    id: i32,
) -> Result<crate::types::TestCallView, AppError> {
    use super::ctx;
    use crate::server::admin::test_calls;
    ctx::run(ctx::MANAGERS, |c| async move {
        test_calls::view(&c.state.db, &c.actor, test_calls::Target::of(&target, id)).await
    })
    .await
}

/// Starts listening for a test call (`listen` "on") or stops.
#[server(endpoint = "listen_for_test_call")]
pub async fn listen_for_test_call(
    id: i32,
    listen: String,
    target: Option<String>,
) -> Result<(), AppError> {
    use super::ctx;
    use crate::server::admin::test_calls;
    ctx::run(ctx::MANAGERS, |c| async move {
        let on = listen == "on";
        let target = test_calls::Target::of(target.as_deref().unwrap_or_default(), id);
        test_calls::listen(&c.state.db, &c.actor, target, on).await?;
        leptos_axum::redirect(&format!(
            "{}?notice={}#test-call",
            page_of(target),
            if on { "listening" } else { "listening_stopped" }
        ));
        Ok(())
    })
    .await
}

/// The page of a listener or source.
#[cfg(feature = "ssr")]
fn page_of(target: crate::server::admin::test_calls::Target) -> String {
    use crate::server::admin::test_calls::Target;
    match target {
        Target::Listener(id) => format!("/listeners/{id}"),
        Target::Source(id) => format!("/external-sources/{id}"),
    }
}

/// Fills one of the listener's settings with the path of a value the test call brought.
#[server(endpoint = "map_test_call_value")]
pub async fn map_test_call_value(form: crate::types::TestCallMapForm) -> Result<(), AppError> {
    use super::ctx;
    use crate::server::admin::test_calls;
    ctx::run(ctx::MANAGERS, |c| async move {
        let id = test_calls::map(&c.state.db, &c.actor, &form).await?;
        leptos_axum::redirect(&format!(
            "{}?notice=test_call_mapped#test-call",
            page_of(test_calls::Target::of(&form.target, id))
        ));
        Ok(())
    })
    .await
}

/// One call of the listener log with the headers and body it brought.
#[server(endpoint = "load_call_request")]
pub async fn load_call_request(id: i64) -> Result<crate::types::CallRequestView, AppError> {
    use super::ctx;
    use crate::server::admin::test_calls;
    ctx::run(ctx::MANAGERS, |c| async move {
        test_calls::request_of(&c.state.db, &c.actor, id).await
    })
    .await
}
