use leptos::prelude::*;

use crate::errors::AppError;
use crate::types::{ActionChoice, BulkRunForm, BulkRunView, SelectionRunForm};

/// Starts a bulk run from a filter's page, then shows its progress.
#[server(endpoint = "start_bulk_run")]
pub async fn start_bulk_run(form: BulkRunForm) -> Result<(), AppError> {
    use super::ctx;
    use crate::server::admin::bulk_runs;
    ctx::run(ctx::MANAGERS, |c| async move {
        let id = bulk_runs::start(&c.state.db, &c.actor, &form).await?;
        c.state.signals.work_arrived();
        leptos_axum::redirect(&format!("/bulk-runs/{id}"));
        Ok(())
    })
    .await
}

#[server(endpoint = "load_bulk_run")]
pub async fn load_bulk_run(id: i32) -> Result<BulkRunView, AppError> {
    use super::ctx;
    use crate::server::admin::bulk_runs;
    ctx::run(ctx::MANAGERS, |c| async move {
        bulk_runs::progress(&c.state.db, id).await
    })
    .await
}

/// Runs a macro from the users or feedback list's *Actions*, then shows its progress.
#[server(endpoint = "start_selection_run")]
pub async fn start_selection_run(form: SelectionRunForm) -> Result<(), AppError> {
    use super::ctx;
    use crate::server::admin::bulk_runs;
    ctx::run(ctx::MANAGERS, |c| async move {
        let id = bulk_runs::start_on_selection(&c.state.db, &c.actor, &form).await?;
        c.state.signals.work_arrived();
        leptos_axum::redirect(&format!("/bulk-runs/{id}"));
        Ok(())
    })
    .await
}

/// The macros the users (`scope` "user") or a project's feedback list's *Actions* offer.
#[server(endpoint = "load_list_actions")]
pub async fn load_list_actions(
    scope: String,
    project_id: Option<i32>,
    type_id: Option<i32>,
) -> Result<Vec<ActionChoice>, AppError> {
    use super::ctx;
    use crate::server::admin::bulk_runs;
    use crate::server::engine::matching;
    ctx::run(ctx::MANAGERS, |c| async move {
        bulk_runs::choices(
            &c.state.db,
            &c.actor,
            matching::parse_scope(&scope),
            (project_id, type_id),
        )
        .await
    })
    .await
}
