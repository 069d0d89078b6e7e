use leptos::prelude::*;

use crate::errors::AppError;
use crate::types::{AuditPage, DashboardStats};

#[server(endpoint = "load_dashboard")]
pub async fn load_dashboard() -> Result<DashboardStats, AppError> {
    use super::ctx;
    use crate::server::admin::community;
    ctx::run(ctx::MANAGERS, |c| async move {
        community::dashboard(&c.state.db, &c.actor).await
    })
    .await
}

/// Dismisses a dashboard alert.
#[server(endpoint = "dismiss_alert")]
pub async fn dismiss_alert(id: i32) -> Result<(), AppError> {
    use super::ctx;
    use crate::server::admin::community;
    ctx::run(ctx::MANAGERS, |c| async move {
        community::dismiss_alert(&c.state.db, &c.actor, id).await?;
        leptos_axum::redirect("/");
        Ok(())
    })
    .await
}

/// Hides the dashboard's "Get started" checklist from the signed-in manager (`hidden`), or
/// shows it again.
#[server(endpoint = "set_get_started_hidden")]
pub async fn set_get_started_hidden(hidden: bool) -> Result<(), AppError> {
    use super::ctx;
    use crate::server::admin::get_started;
    ctx::run(ctx::MANAGERS, |c| async move {
        get_started::set_hidden(&c.state.db, &c.actor, hidden).await?;
        leptos_axum::redirect("/");
        Ok(())
    })
    .await
}

#[server(endpoint = "load_audit_page")]
pub async fn load_audit_page(page: u32) -> Result<AuditPage, AppError> {
    use super::ctx;
    use crate::server::admin::audit;
    ctx::run(ctx::COMMUNITY_MANAGERS, |c| async move {
        audit::list(&c.state.db, page).await
    })
    .await
}
