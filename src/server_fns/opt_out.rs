use leptos::prelude::*;

use crate::errors::AppError;
use crate::types::OptOutDashboard;

/// The opt-out dashboard for the last `days` days (the CSV is the axum route
/// `GET /opt-out.csv`).
#[server(endpoint = "load_opt_out_dashboard")]
pub async fn load_opt_out_dashboard(days: u32) -> Result<OptOutDashboard, AppError> {
    use super::ctx;
    use crate::server::admin::opt_out;
    ctx::run(ctx::COMMUNITY_MANAGERS, |c| async move {
        opt_out::dashboard(&c.state.db, days).await
    })
    .await
}
