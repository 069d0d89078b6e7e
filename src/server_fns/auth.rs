use leptos::prelude::*;

use crate::errors::AppError;
use crate::types::{CurrentUserView, SignInForm};

#[server(endpoint = "sign_in")]
pub async fn sign_in(form: SignInForm) -> Result<(), AppError> {
    use super::ctx;
    use crate::server::admin::auth::{self, ClientInfo};
    use crate::server::domain::safe_next_path;
    use crate::server::settings::Secret;
    use http::{HeaderMap, HeaderValue, header};

    ctx::with_status(
        async move {
            let state = ctx::state()?;
            let headers: HeaderMap = leptos_axum::extract()
                .await
                .map_err(|e| AppError::internal(e))?;
            let client = ClientInfo {
                ip: ctx::client_ip().await,
                user_agent: headers
                    .get(header::USER_AGENT)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string(),
            };
            let previous = headers
                .get(header::COOKIE)
                .and_then(|v| v.to_str().ok())
                .and_then(|h| auth::token_from_cookie_header(&state.settings, h));
            let signed = auth::sign_in(
                &state.db,
                &state.settings,
                &state.sign_ins,
                &form.email,
                Secret::new(form.password),
                &client,
                previous.as_deref(),
            )
            .await?;
            let cookie = auth::session_cookie(&state.settings, Some(signed.token.expose()));
            let res = expect_context::<leptos_axum::ResponseOptions>();
            res.append_header(
                header::SET_COOKIE,
                HeaderValue::from_str(&cookie).map_err(|e| AppError::internal(e))?,
            );
            leptos_axum::redirect(&safe_next_path(&form.next));
            Ok(())
        }
        .await,
    )
}

#[server(endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    use super::ctx;
    use crate::server::admin::{Actor, auth};
    use http::{HeaderMap, HeaderValue, header};

    ctx::with_status(
        async move {
            let state = ctx::state()?;
            let headers: HeaderMap = leptos_axum::extract()
                .await
                .map_err(|e| AppError::internal(e))?;
            if let Some(token) = headers
                .get(header::COOKIE)
                .and_then(|v| v.to_str().ok())
                .and_then(|h| auth::token_from_cookie_header(&state.settings, h))
            {
                let user = ctx::signed_in_user().await;
                let actor = Actor {
                    user_id: user.as_ref().map(|u| u.id),
                    label: user
                        .map(|u| u.email)
                        .unwrap_or_else(|| "unknown session".into()),
                    ip: ctx::client_ip().await,
                    session: None,
                    role: None,
                };
                auth::sign_out(&state.db, &token, &actor).await?;
            }
            let res = expect_context::<leptos_axum::ResponseOptions>();
            res.append_header(
                header::SET_COOKIE,
                HeaderValue::from_str(&auth::session_cookie(&state.settings, None))
                    .map_err(|e| AppError::internal(e))?,
            );
            leptos_axum::redirect("/login?notice=signed_out");
            Ok(())
        }
        .await,
    )
}

/// The signed-in manager, or None.
#[server(endpoint = "current_user")]
pub async fn current_user() -> Result<Option<CurrentUserView>, AppError> {
    use super::ctx;
    ctx::with_status(async move { Ok(super::ctx::signed_in_user().await) }.await)
}
