//! Bulk runs: a macro run on every user or ticket of a filter. Each one's run is queued
//! durably in one transaction with the bulk run itself, and the queue's workers carry them out;
//! the progress is counted from the runs.

use crate::server::engine::matching;
use crate::shared::vocab::RunStatus;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect,
};

use super::{Actor, format_time};
use crate::errors::{AppError, FieldErrors};
use crate::server::domain::parse_id;
use crate::server::engine::matching::SCOPE_FEEDBACK;
use crate::server::engine::runs::{self, macro_in_scope};
use crate::server::entities::{bulk_run, macro_run};
use crate::shared::vocab::Trigger;
use crate::types::{BulkRunForm, BulkRunView};

/// Queues the macro for every user or ticket the filter selects now; returns the bulk run's
/// id.
#[tracing::instrument(skip(db, actor, form), fields(actor_id = ?actor.user_id))]
pub async fn start(
    db: &DatabaseConnection,
    actor: &Actor,
    form: &BulkRunForm,
) -> Result<i32, AppError> {
    let mut errors = FieldErrors::new();
    let filter_id = errors.check(
        "filter_id",
        parse_id(&form.filter_id).map_err(|_| "choose a filter".to_string()),
    );
    let macro_id = errors.check(
        "macro_id",
        parse_id(&form.macro_id).map_err(|_| "choose the macro to run".to_string()),
    );
    let filter = match filter_id {
        Some(id) => Some(matching::find(db, id).await?),
        None => None,
    };
    if form.confirm.is_none() {
        errors.push(
            "confirm",
            match filter.as_ref().map(|f| f.scope.as_str()) {
                Some(SCOPE_FEEDBACK) => "tick the box to confirm the run on every matching ticket",
                _ => "tick the box to confirm the run on every matching user",
            },
        );
    }
    errors.into_result()?;
    let (filter, macro_id) = (filter.expect("checked"), macro_id.expect("checked"));
    let m = macro_in_scope(db, macro_id, filter.scope.as_str(), "macro_id").await?;
    super::refuse_removal_to_project_managers(actor, m.removes())?;
    let (txn, _gate) = crate::server::db::begin_write(db).await?;
    let Some(id) = runs::queue_bulk(&txn, actor, &m, &filter, Trigger::Bulk).await? else {
        return Err(AppError::field(
            "filter_id",
            if filter.scope == SCOPE_FEEDBACK {
                "no ticket matches this filter"
            } else {
                "no user matches this filter"
            },
        ));
    };
    txn.commit().await?;
    Ok(id)
}

/// Where a bulk run stands.
pub async fn progress(db: &impl ConnectionTrait, id: i32) -> Result<BulkRunView, AppError> {
    let bulk = bulk_run::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("bulk run {id}")))?;
    let counts: Vec<(RunStatus, String, i64)> = macro_run::Entity::find()
        .select_only()
        .column(macro_run::Column::Status)
        .column(macro_run::Column::Outcome)
        .column_as(macro_run::Column::Id.count(), "n")
        .filter(macro_run::Column::BulkRunId.eq(id))
        .group_by(macro_run::Column::Status)
        .group_by(macro_run::Column::Outcome)
        .into_tuple()
        .all(db)
        .await?;
    let mut view = BulkRunView {
        id,
        scope: bulk.scope.to_string(),
        macro_name: bulk.macro_name,
        filter_name: bulk.filter_name,
        started_at: format_time(&bulk.created_at),
        total: bulk.total as u64,
        completed: 0,
        skipped: 0,
        failed: 0,
        waiting: 0,
        failures: Vec::new(),
    };
    for (status, outcome, n) in counts {
        let n = n as u64;
        match status {
            RunStatus::Completed => view.completed += n,
            RunStatus::Skipped => view.skipped += n,
            RunStatus::Failed => {
                view.failed += n;
                view.failures.push((outcome, n));
            }
            RunStatus::Queued => view.waiting += n,
        }
    }
    view.failures
        .sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    Ok(view)
}
