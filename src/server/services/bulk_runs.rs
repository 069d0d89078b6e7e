//! Bulk runs: a macro run on every user of a filter. Each user's run is queued durably in one
//! transaction with the bulk run itself, and the queue's workers carry them out; the progress
//! is counted from the runs.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

use super::macros::{self, Trigger};
use super::{Actor, audit, filters, format_time};
use crate::errors::{AppError, FieldErrors};
use crate::server::domain::parse_id;
use crate::server::entities::{bulk_run, macro_run, user};
use crate::server::worker::{self, MacroRunJob};
use crate::types::{BulkRunForm, BulkRunView};

/// Queues the macro for every user the filter selects now; returns the bulk run's id.
#[tracing::instrument(skip(db, actor, form), fields(actor = %actor.label))]
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
    if form.confirm.is_none() {
        errors.push(
            "confirm",
            "tick the box to confirm the run on every matching user",
        );
    }
    errors.into_result()?;
    let (filter_id, macro_id) = (filter_id.expect("checked"), macro_id.expect("checked"));
    let filter = filters::get(db, filter_id).await?;
    let m = macros::get(db, macro_id).await?;
    let ids: Vec<i32> = user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .filter(filters::to_condition(&filter.definition)?)
        .order_by_asc(user::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    if ids.is_empty() {
        return Err(AppError::field("filter_id", "no user matches this filter"));
    }
    let (txn, _gate) = crate::server::db::begin_write(db).await?;
    let bulk = bulk_run::ActiveModel {
        macro_id: Set(Some(m.id)),
        macro_name: Set(m.name.clone()),
        filter_name: Set(filter.name.clone()),
        total: Set(ids.len() as i32),
        started_by: Set(actor.user_id),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    for user_id in &ids {
        let run_id = macros::queue_run(&txn, &m, *user_id, Trigger::Bulk, Some(bulk.id)).await?;
        worker::enqueue(
            &txn,
            worker::KIND_MACRO_RUN,
            &MacroRunJob {
                run_id,
                macro_id: m.id,
                user_id: *user_id,
                trigger: Trigger::Bulk,
                actor: actor.label.clone(),
                actor_user_id: actor.user_id,
                actor_ip: actor.ip.clone(),
                listener: None,
            },
        )
        .await?;
    }
    audit::record(
        &txn,
        actor,
        "bulk_run.started",
        &m.name,
        &format!("{} users of filter {}", ids.len(), filter.name),
    )
    .await?;
    txn.commit().await?;
    Ok(bulk.id)
}

/// Where a bulk run stands.
pub async fn progress(db: &impl ConnectionTrait, id: i32) -> Result<BulkRunView, AppError> {
    let bulk = bulk_run::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("bulk run {id}")))?;
    let counts: Vec<(String, String, i64)> = macro_run::Entity::find()
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
        match status.as_str() {
            "completed" => view.completed += n,
            "skipped" => view.skipped += n,
            "failed" => {
                view.failed += n;
                view.failures.push((outcome, n));
            }
            _ => view.waiting += n,
        }
    }
    view.failures
        .sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    Ok(view)
}
