use leptos::prelude::*;

use crate::errors::AppError;
use crate::types::{ApplyConfigForm, ConfigImportView, ConfigOverview};

/// The configuration page: what an export holds now, and the latest imports.
#[server(endpoint = "load_config_overview")]
pub async fn load_config_overview() -> Result<ConfigOverview, AppError> {
    use super::ctx;
    use crate::server::admin::config_transfer;
    ctx::run(ctx::COMMUNITY_MANAGERS, |c| async move {
        config_transfer::overview(&c.state.db).await
    })
    .await
}

/// An uploaded configuration: its preview while it waits, or what importing it did.
#[server(endpoint = "load_config_import")]
pub async fn load_config_import(id: i32) -> Result<ConfigImportView, AppError> {
    use super::ctx;
    use crate::server::admin::config_transfer;
    ctx::run(ctx::COMMUNITY_MANAGERS, |c| async move {
        config_transfer::view(&c.state.db, id).await
    })
    .await
}

/// Confirms an uploaded configuration: applies what its preview showed.
#[server(endpoint = "apply_config_import")]
pub async fn apply_config_import(form: ApplyConfigForm) -> Result<(), AppError> {
    use super::ctx;
    use crate::server::admin::config_transfer;
    use crate::server::domain::parse_id;
    ctx::run(ctx::COMMUNITY_MANAGERS, |c| async move {
        let id = parse_id(&form.id).map_err(|m| AppError::field("id", m))?;
        let api_key_id = match form.api_key_id.trim() {
            "" => None,
            raw => Some(parse_id(raw).map_err(|m| AppError::field("api_key_id", m))?),
        };
        config_transfer::confirm(
            &c.state.db,
            &c.state.sealer,
            &c.actor,
            id,
            form.fingerprint.trim(),
            api_key_id,
        )
        .await?;
        leptos_axum::redirect(&format!("/configuration/imports/{id}"));
        Ok(())
    })
    .await
}
