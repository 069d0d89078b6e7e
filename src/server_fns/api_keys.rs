use leptos::prelude::*;

use crate::errors::AppError;
use crate::types::{ApiKeyForm, ApiKeyList, ApiKeyView, DeleteForm, ToggleForm};

/// A key just created travels to the list page in a short-lived HttpOnly cookie (never in
/// the URL, never in the database) and is shown there once.
#[cfg(feature = "ssr")]
mod reveal {
    use http::{HeaderMap, HeaderValue, header};

    use crate::server::settings::Settings;
    use crate::types::CreatedKey;

    const COOKIE: &str = "switchyard_new_key";

    fn cookie(settings: &Settings, value: &str, max_age: u32) -> Option<HeaderValue> {
        let secure = if settings.secure_cookies() {
            "; Secure"
        } else {
            ""
        };
        HeaderValue::from_str(&format!(
            "{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
        ))
        .ok()
    }

    pub fn hand_over(settings: &Settings, created: &CreatedKey) {
        let res = leptos::prelude::expect_context::<leptos_axum::ResponseOptions>();
        if let Some(v) = cookie(settings, &format!("{}.{}", created.id, created.key), 300) {
            res.append_header(header::SET_COOKIE, v);
        }
    }

    /// The key waiting to be shown, if any; the cookie is cleared as it is read.
    pub async fn take(settings: &Settings) -> Option<(i32, String)> {
        let headers: HeaderMap = leptos_axum::extract().await.ok()?;
        let value = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .find_map(|pair| {
                pair.trim()
                    .strip_prefix(&format!("{COOKIE}="))
                    .map(str::to_string)
            })?;
        if let (Some(res), Some(clear)) = (
            leptos::prelude::use_context::<leptos_axum::ResponseOptions>(),
            cookie(settings, "", 0),
        ) {
            res.append_header(header::SET_COOKIE, clear);
        }
        let (id, key) = value.split_once('.')?;
        Some((id.parse().ok()?, key.to_string()))
    }
}

#[server(endpoint = "load_api_keys")]
pub async fn load_api_keys() -> Result<ApiKeyList, AppError> {
    use super::ctx;
    use crate::server::admin::api_keys;
    use crate::types::CreatedKey;
    ctx::run(ctx::COMMUNITY_MANAGERS, |c| async move {
        let keys = api_keys::list(&c.state.db).await?;
        let just_created = reveal::take(&c.state.settings).await.and_then(|(id, key)| {
            keys.iter().find(|k| k.id == id).map(|k| CreatedKey {
                id,
                name: k.name.clone(),
                key,
            })
        });
        Ok(ApiKeyList { keys, just_created })
    })
    .await
}

#[server(endpoint = "load_api_key")]
pub async fn load_api_key(id: i32) -> Result<ApiKeyView, AppError> {
    use super::ctx;
    use crate::server::admin::api_keys;
    ctx::run(ctx::COMMUNITY_MANAGERS, |c| async move {
        api_keys::get(&c.state.db, id).await
    })
    .await
}

/// Creates the key when `form.id` is empty (then shows it once on the list), edits it otherwise.
#[server(endpoint = "save_api_key")]
pub async fn save_api_key(form: ApiKeyForm) -> Result<(), AppError> {
    use super::ctx;
    use crate::server::admin::api_keys;
    ctx::run(ctx::COMMUNITY_MANAGERS, |c| async move {
        if form.id.trim().is_empty() {
            let created = api_keys::create(&c.state.db, &c.actor, &form).await?;
            reveal::hand_over(&c.state.settings, &created);
            leptos_axum::redirect(&format!("/api-keys?created={}", created.id));
        } else {
            let id = api_keys::update(&c.state.db, &c.actor, &form).await?;
            leptos_axum::redirect(&format!("/api-keys/{id}?notice=api_key_updated"));
        }
        Ok(())
    })
    .await
}

#[server(endpoint = "toggle_api_key")]
pub async fn toggle_api_key(form: ToggleForm) -> Result<(), AppError> {
    use super::ctx;
    use crate::server::admin::api_keys;
    ctx::run(ctx::COMMUNITY_MANAGERS, |c| async move {
        let enable = form.enabled == "true";
        let id = api_keys::set_enabled(&c.state.db, &c.actor, &form.id, enable).await?;
        let notice = if enable {
            "api_key_enabled"
        } else {
            "api_key_disabled"
        };
        leptos_axum::redirect(&format!("/api-keys/{id}?notice={notice}"));
        Ok(())
    })
    .await
}

#[server(endpoint = "delete_api_key")]
pub async fn delete_api_key(form: DeleteForm) -> Result<(), AppError> {
    use super::ctx;
    use crate::server::admin::api_keys;
    ctx::run(ctx::COMMUNITY_MANAGERS, |c| async move {
        api_keys::delete(&c.state.db, &c.actor, &form.id, form.confirm.is_some()).await?;
        leptos_axum::redirect("/api-keys?notice=api_key_deleted");
        Ok(())
    })
    .await
}
