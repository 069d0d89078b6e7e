//! Thin `#[server]` adapters for the admin screens, at stable URLs `/api/<function name>`:
//! each checks the session and role, then
//! calls one service function. No rule lives here.

pub mod admin;
pub mod api_keys;
pub mod auth;
pub mod automation;
pub mod bulk_runs;
pub mod config_transfer;
pub mod external_data;
pub mod feedback;
pub mod filters;
pub mod listener_log;
pub mod listeners;
pub mod macros;
pub mod opt_out;
pub mod teams;
pub mod users;
pub mod webhooks;

#[cfg(feature = "ssr")]
pub(crate) mod ctx {
    use axum::Extension;
    use leptos::prelude::*;

    use crate::errors::AppError;
    use crate::server::admin::Actor;
    use crate::server::state::AppState;
    use crate::server::web::ClientIp;
    use crate::types::{CurrentUserView, Role};

    pub struct Ctx {
        pub state: AppState,
        pub actor: Actor,
        /// The signed-in manager's role (some screens show community managers more).
        pub role: Role,
    }

    pub fn state() -> Result<AppState, AppError> {
        use_context::<AppState>().ok_or_else(|| AppError::internal("AppState missing from context"))
    }

    pub async fn client_ip() -> String {
        leptos_axum::extract::<Extension<ClientIp>>()
            .await
            .map(|Extension(ClientIp(ip))| ip)
            .unwrap_or_default()
    }

    pub async fn signed_in_user() -> Option<CurrentUserView> {
        leptos_axum::extract::<Extension<CurrentUserView>>()
            .await
            .ok()
            .map(|Extension(u)| u)
    }

    /// The signed-in manager, if their role is one of `roles`.
    pub async fn require(roles: &[Role]) -> Result<Ctx, AppError> {
        let state = state()?;
        let user = signed_in_user().await.ok_or(AppError::Unauthorized)?;
        if !roles.contains(&user.role) {
            return Err(AppError::Forbidden(format!(
                "a {} cannot do this",
                user.role.label().to_lowercase()
            )));
        }
        let session = leptos_axum::extract::<http::HeaderMap>()
            .await
            .ok()
            .and_then(|h| {
                h.get(http::header::COOKIE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| {
                        crate::server::admin::auth::token_from_cookie_header(&state.settings, v)
                    })
            })
            .map(|token| crate::server::admin::auth::session_id_for(&token));
        let actor = Actor {
            user_id: Some(user.id),
            label: user.email.clone(),
            ip: client_ip().await,
            session,
            role: Some(user.role),
        };
        Ok(Ctx {
            state,
            actor,
            role: user.role,
        })
    }

    /// Checks the session and role, runs `body`, and sets the HTTP status from its error.
    pub async fn run<T, F, Fut>(roles: &[Role], body: F) -> Result<T, AppError>
    where
        F: FnOnce(Ctx) -> Fut,
        Fut: std::future::Future<Output = Result<T, AppError>>,
    {
        let result = match require(roles).await {
            Ok(c) => body(c).await,
            Err(e) => Err(e),
        };
        with_status(result)
    }

    pub const MANAGERS: &[Role] = &[Role::CommunityManager, Role::ProjectManager];
    pub const COMMUNITY_MANAGERS: &[Role] = &[Role::CommunityManager];

    /// The HTTP status follows the error (422 for a refused form, 404 for a missing user …),
    /// both for a page rendered on the server and for a server-function call. A plain HTML
    /// form post (no JavaScript) is left alone: it must stay a redirect back to the form.
    pub fn with_status<T>(result: Result<T, AppError>) -> Result<T, AppError> {
        if let Err(e) = &result {
            let plain_form_post = use_context::<http::request::Parts>().is_some_and(|p| {
                p.uri.path().starts_with("/api/")
                    && p.headers
                        .get(http::header::ACCEPT)
                        .and_then(|v| v.to_str().ok())
                        .is_some_and(|v| v.contains("text/html"))
            });
            if let (false, Some(res)) = (
                plain_form_post,
                use_context::<leptos_axum::ResponseOptions>(),
            ) {
                res.set_status(e.status());
                if let AppError::TooManyRequests {
                    retry_after_secs, ..
                }
                | AppError::Unavailable {
                    retry_after_secs, ..
                } = e
                {
                    res.insert_header(
                        http::header::RETRY_AFTER,
                        http::HeaderValue::from(*retry_after_secs),
                    );
                }
            }
        }
        result
    }
}
