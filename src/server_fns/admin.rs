use leptos::prelude::*;

use crate::errors::AppError;
use crate::types::{AuditPage, DashboardStats};

#[server]
pub async fn load_dashboard() -> Result<DashboardStats, AppError> {
    use super::ctx;
    use crate::server::services::community;
    let c = ctx::require(ctx::MANAGERS).await?;
    community::dashboard(&c.state.db).await
}

#[server]
pub async fn load_audit_page(page: u32) -> Result<AuditPage, AppError> {
    use super::ctx;
    use crate::server::services::audit;
    let c = ctx::require(ctx::COMMUNITY_MANAGERS).await?;
    audit::list(&c.state.db, page).await
}
