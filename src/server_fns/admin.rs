use leptos::prelude::*;

use crate::errors::AppError;
use crate::types::{AuditPage, DashboardStats};

#[server(endpoint = "load_dashboard")]
pub async fn load_dashboard() -> Result<DashboardStats, AppError> {
    use super::ctx;
    use crate::server::admin::community;
    use crate::types::Role;
    ctx::run(ctx::MANAGERS, |c| async move {
        // The audit log is for community managers only, here as on its own screen.
        community::dashboard(&c.state.db, c.role == Role::CommunityManager).await
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
