use leptos::prelude::*;

use crate::errors::AppError;
use crate::types::{
    DeleteForm, DeliveryDetailView, DeliveryQuery, WebhookEditorView, WebhookForm, WebhookLogView,
    WebhookTryForm, WebhookTryView, WebhookView,
};

/// The webhooks of one macro (for the macro's page).
#[server(endpoint = "load_webhooks")]
pub async fn load_webhooks(macro_id: i32) -> Result<Vec<WebhookView>, AppError> {
    use super::ctx;
    use crate::server::admin::webhooks;
    ctx::run(ctx::MANAGERS, |c| async move {
        webhooks::list_for_macro(&c.state.db, macro_id).await
    })
    .await
}

/// The webhook editor: an existing webhook (`id`) or a new one of `macro_id` from `preset`;
/// `reveal` shows the signing secrets (and is audited).
#[server(endpoint = "load_webhook_editor")]
pub async fn load_webhook_editor(
    id: Option<i32>,
    macro_id: Option<i32>,
    preset: String,
    reveal: bool,
) -> Result<WebhookEditorView, AppError> {
    use super::ctx;
    use crate::server::admin::webhooks;
    ctx::run(ctx::MANAGERS, |c| async move {
        let sealer = c.state.sealer.clone();
        webhooks::editor(
            &c.state.db,
            &c.actor,
            id,
            macro_id,
            &preset,
            reveal.then_some(sealer.as_ref()),
        )
        .await
    })
    .await
}

#[server(endpoint = "save_webhook")]
pub async fn save_webhook(form: WebhookForm) -> Result<(), AppError> {
    use super::ctx;
    use crate::server::admin::webhooks;
    ctx::run(ctx::MANAGERS, |c| async move {
        let id = webhooks::save(&c.state.db, &c.state.sealer, &c.actor, &form).await?;
        leptos_axum::redirect(&format!("/webhooks/{id}?notice=webhook_saved"));
        Ok(())
    })
    .await
}

#[server(endpoint = "delete_webhook")]
pub async fn delete_webhook(form: DeleteForm) -> Result<(), AppError> {
    use super::ctx;
    use crate::server::admin::webhooks;
    ctx::run(ctx::MANAGERS, |c| async move {
        let macro_id =
            webhooks::delete(&c.state.db, &c.actor, &form.id, form.confirm.is_some()).await?;
        leptos_axum::redirect(&format!("/macros/{macro_id}?notice=webhook_deleted"));
        Ok(())
    })
    .await
}

/// Pauses the webhook: its deliveries wait, queued, until it is resumed.
#[server(endpoint = "pause_webhook")]
pub async fn pause_webhook(form: DeleteForm) -> Result<(), AppError> {
    set_paused(form, true).await
}

/// Resumes the webhook: what waited goes out, oldest first.
#[server(endpoint = "resume_webhook")]
pub async fn resume_webhook(form: DeleteForm) -> Result<(), AppError> {
    set_paused(form, false).await
}

#[cfg(feature = "ssr")]
async fn set_paused(form: DeleteForm, paused: bool) -> Result<(), AppError> {
    use super::ctx;
    use crate::server::admin::webhooks;
    use crate::server::domain::parse_id;
    ctx::run(ctx::MANAGERS, |c| async move {
        let id = parse_id(&form.id).map_err(|m| AppError::field("id", m))?;
        webhooks::set_paused(&c.state.db, &c.actor, id, paused).await?;
        let notice = if paused {
            "webhook_paused"
        } else {
            "webhook_resumed"
        };
        leptos_axum::redirect(&format!("/webhooks/{id}?notice={notice}"));
        Ok(())
    })
    .await
}

/// A new signing secret; the old one keeps signing for 24 hours.
#[server(endpoint = "rotate_webhook_secret")]
pub async fn rotate_webhook_secret(form: DeleteForm) -> Result<(), AppError> {
    use super::ctx;
    use crate::server::admin::webhooks;
    use crate::server::domain::parse_id;
    ctx::run(ctx::MANAGERS, |c| async move {
        let id = parse_id(&form.id).map_err(|m| AppError::field("id", m))?;
        webhooks::rotate_secret(&c.state.db, &c.state.sealer, &c.actor, id).await?;
        leptos_axum::redirect(&format!("/webhooks/{id}?reveal=1&notice=secret_rotated"));
        Ok(())
    })
    .await
}

/// The webhook rendered against a user or ticket; nothing is sent or stored.
#[server(endpoint = "preview_webhook")]
pub async fn preview_webhook(id: i32, target: String) -> Result<WebhookTryView, AppError> {
    use super::ctx;
    use crate::server::admin::webhooks;
    ctx::run(ctx::MANAGERS, |c| async move {
        webhooks::try_out(&c.state.db, &c.actor, id, &target, false).await
    })
    .await
}

/// Sends the webhook now, rendered against a user or ticket, as a test delivery.
#[server(endpoint = "send_test_webhook")]
pub async fn send_test_webhook(form: WebhookTryForm) -> Result<(), AppError> {
    use super::ctx;
    use crate::server::admin::webhooks;
    use crate::server::domain::parse_id;
    ctx::run(ctx::MANAGERS, |c| async move {
        let id = parse_id(&form.id).map_err(|m| AppError::field("id", m))?;
        let sent = webhooks::try_out(&c.state.db, &c.actor, id, &form.target, true).await?;
        c.state.signals.deliveries.notify_one();
        let delivery = sent
            .delivery_id
            .ok_or_else(|| AppError::internal("a test send queued nothing"))?;
        leptos_axum::redirect(&format!("/webhooks/deliveries/{delivery}?notice=test_sent"));
        Ok(())
    })
    .await
}

#[server(endpoint = "load_webhook_log")]
pub async fn load_webhook_log(query: DeliveryQuery) -> Result<WebhookLogView, AppError> {
    use super::ctx;
    use crate::server::admin::webhooks;
    ctx::run(ctx::MANAGERS, |c| async move {
        webhooks::log(&c.state.db, &c.actor, &query).await
    })
    .await
}

#[server(endpoint = "load_delivery")]
pub async fn load_delivery(id: i64) -> Result<DeliveryDetailView, AppError> {
    use super::ctx;
    use crate::server::admin::webhooks;
    ctx::run(ctx::MANAGERS, |c| async move {
        webhooks::delivery(&c.state.db, &c.actor, id).await
    })
    .await
}

/// Sends a delivery again, as it was rendered, as a new delivery.
/// *Resend all* in the webhook log: every matching delivery is sent again (the count the
/// manager saw, confirmed); the replay's page shows the sending.
#[server(endpoint = "replay_deliveries")]
pub async fn replay_deliveries(form: crate::types::ReplayForm) -> Result<(), AppError> {
    use super::ctx;
    use crate::server::admin::webhooks;
    ctx::run(ctx::MANAGERS, |c| async move {
        let id = webhooks::replay(&c.state.db, &c.actor, &form).await?;
        c.state.signals.deliveries.notify_one();
        leptos_axum::redirect(&format!("/webhooks/replays/{id}"));
        Ok(())
    })
    .await
}

/// A bulk replay and how far its sending has got.
#[server(endpoint = "load_replay")]
pub async fn load_replay(id: i32) -> Result<crate::types::ReplayView, AppError> {
    use super::ctx;
    use crate::server::admin::webhooks;
    ctx::run(ctx::MANAGERS, |c| async move {
        webhooks::replay_progress(&c.state.db, &c.actor, id).await
    })
    .await
}

#[server(endpoint = "resend_delivery")]
pub async fn resend_delivery(form: DeleteForm) -> Result<(), AppError> {
    use super::ctx;
    use crate::server::admin::webhooks;
    ctx::run(ctx::MANAGERS, |c| async move {
        let id: i64 = form
            .id
            .trim()
            .parse()
            .map_err(|_| AppError::field("id", "is not a delivery number"))?;
        let new_id = webhooks::resend(&c.state.db, &c.actor, id).await?;
        c.state.signals.deliveries.notify_one();
        leptos_axum::redirect(&format!("/webhooks/deliveries/{new_id}?notice=resent"));
        Ok(())
    })
    .await
}
