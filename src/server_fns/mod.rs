//! Thin `#[server]` adapters for the admin screens: each checks the session and role, then
//! calls one service function. No rule lives here.

pub mod admin;
pub mod auth;
pub mod teams;
pub mod users;

#[cfg(feature = "ssr")]
pub(crate) mod ctx {
    use axum::Extension;
    use leptos::prelude::*;

    use crate::errors::AppError;
    use crate::server::services::Actor;
    use crate::server::state::AppState;
    use crate::server::web::ClientIp;
    use crate::types::{CurrentUserView, Role};

    pub struct Ctx {
        pub state: AppState,
        pub actor: Actor,
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
        let actor = Actor {
            user_id: Some(user.id),
            label: user.email.clone(),
            ip: client_ip().await,
        };
        Ok(Ctx { state, actor })
    }

    pub const MANAGERS: &[Role] = &[Role::CommunityManager, Role::ProjectManager];
    pub const COMMUNITY_MANAGERS: &[Role] = &[Role::CommunityManager];

    /// For loaders: the page's HTTP status follows the error (404 for a missing user …).
    pub fn with_status<T>(result: Result<T, AppError>) -> Result<T, AppError> {
        if let Err(e) = &result {
            if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
                res.set_status(e.status());
            }
        }
        result
    }
}
